/*
 * Autopilot, the parts Consul runs by default: the leader keeps the
 * Raft configuration in step with the servers gossip shows.
 *
 *   - an alive server of this datacenter that is not in the
 *     configuration is added as a non-voter;
 *   - a non-voter is made a voter once its log trails the leader's by
 *     at most autopilot.max_trailing_logs and it has been in the
 *     configuration for autopilot.server_stabilization_time;
 *   - a server that left the LAN pool is removed, and one that failed
 *     too with autopilot.cleanup_dead_servers, as long as the voters
 *     that remain alive are a majority of what is left and at least
 *     autopilot.min_quorum of them remain.
 *
 * Raft changes the configuration one server at a time, so each check
 * (every second, on the leader) proposes at most one change; the next
 * waits for it to commit.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "mpack.h"
#include "raftd.h"

#define AP_SERVERS_MAX		RAFT_SERVERS_MAX
#define AP_HEARD_TICKS		10	/* a second of node.c's ticks */

struct ap_server {
	char			 id[RAFT_ID_MAX];
	char			 addr[RAFT_ADDR_MAX];
	char			 name[128];
	uint64_t		 status;	/* 1 alive, 3 left, 4 failed */
};

struct ap_scan {
	struct ap_server	 s[AP_SERVERS_MAX];
	size_t			 n;
};

/* When each non-voter was added, by id, for the stabilization time. */
static struct {
	char			 id[RAFT_ID_MAX];
	uint64_t		 since_ms;
}			 ap_added[AP_SERVERS_MAX];
static size_t		 ap_nadded;
static uint64_t		 ap_clock_ms;

static void
ap_member(void *arg, const struct member_server *m)
{
	struct ap_scan		*a = arg;
	struct ap_server	*s;

	if (a->n == AP_SERVERS_MAX)
		return;
	s = &a->s[a->n++];
	strlcpy(s->id, m->id, sizeof(s->id));
	strlcpy(s->addr, m->addr, sizeof(s->addr));
	strlcpy(s->name, m->name, sizeof(s->name));
	s->status = m->status;
}

static struct ap_server *
ap_find(struct ap_scan *a, const char *id)
{
	size_t	 i;

	for (i = 0; i < a->n; i++)
		if (strcmp(a->s[i].id, id) == 0)
			return &a->s[i];
	return NULL;
}

static int
ap_find_conf(const struct raft_conf *conf, const char *id)
{
	size_t	 i;

	for (i = 0; i < conf->n; i++)
		if (strcmp(conf->servers[i].id, id) == 0)
			return (int)i;
	return -1;
}

static uint64_t
ap_added_since(const char *id)
{
	size_t	 i;

	for (i = 0; i < ap_nadded; i++)
		if (strcmp(ap_added[i].id, id) == 0)
			return ap_added[i].since_ms;
	if (ap_nadded < AP_SERVERS_MAX) {
		strlcpy(ap_added[ap_nadded].id, id, sizeof(ap_added[0].id));
		ap_added[ap_nadded++].since_ms = ap_clock_ms;
	}
	return ap_clock_ms;
}

/* Propose conf with server i changed (added, promoted or removed). */
static void
ap_propose(struct raftd *r, const struct raft_conf *conf, const char *what,
    const char *name)
{
	if (raft_propose_conf(r->raft, conf) != 0) {
		log_info("autopilot: %s %s", what, name);
		node_schedule_flush(r);
	}
}

/* Called every second by node.c; elapsed_ms since the last call. */
void
autopilot_check(struct raftd *r, uint64_t elapsed_ms)
{
	struct config		*c = r->child->conf;
	const struct raft_conf	*cur;
	struct raft_conf	 next;
	struct ap_scan		*a;
	struct ap_server	*s;
	uint64_t		 match, last, ago;
	size_t			 i, voters = 0, alive = 0;

	ap_clock_ms += elapsed_ms;
	if (!node_is_leader(r))
		return;
	cur = raft_config(r->raft);
	if ((a = calloc(1, sizeof(*a))) == NULL)
		fatal("autopilot");
	members_servers(ap_member, a);
	if ((next.servers = calloc(cur->n + 1, sizeof(*next.servers))) ==
	    NULL)
		fatal("autopilot");
	memcpy(next.servers, cur->servers, cur->n * sizeof(*cur->servers));
	next.n = cur->n;

	/* A new server: in as a non-voter. */
	for (i = 0; i < a->n; i++) {
		s = &a->s[i];
		if (s->status != 1 || strcmp(s->id, raftd_node_id) == 0)
			continue;
		if (ap_find_conf(cur, s->id) != -1)
			continue;
		memset(&next.servers[next.n], 0, sizeof(next.servers[0]));
		strlcpy(next.servers[next.n].id, s->id,
		    sizeof(next.servers[0].id));
		strlcpy(next.servers[next.n].addr, s->addr,
		    sizeof(next.servers[0].addr));
		next.n++;
		ap_propose(r, &next, "adding non-voter", s->name);
		goto done;
	}
	/* A caught-up, stable non-voter: a voter. */
	last = raft_last_index(r->raft);
	for (i = 0; i < cur->n; i++) {
		if (cur->servers[i].voter ||
		    raft_match_index(r->raft, cur->servers[i].id, &match) == -1 ||
		    match == 0 ||
		    match + (uint64_t)c->autopilot.max_trailing_logs < last ||
		    ap_clock_ms - ap_added_since(cur->servers[i].id) <
		    (uint64_t)(c->autopilot.server_stabilization_time / 1000000))
			continue;
		s = ap_find(a, cur->servers[i].id);
		if (s == NULL || s->status != 1)
			continue;
		next.servers[i].voter = 1;
		ap_propose(r, &next, "promoting to voter", s->name);
		goto done;
	}
	/*
	 * A server gone: out, if what remains keeps a majority of healthy
	 * voters: alive in gossip and heard from by Raft lately, as
	 * Consul's autopilot judges health (gossip alone lags behind).
	 */
	for (i = 0; i < cur->n; i++) {
		if (!cur->servers[i].voter)
			continue;
		voters++;
		s = ap_find(a, cur->servers[i].id);
		if (strcmp(cur->servers[i].id, raftd_node_id) == 0 ||
		    (s != NULL && s->status == 1 &&
		    raft_peer_heard(r->raft, s->id, &ago) == 0 &&
		    ago <= AP_HEARD_TICKS))
			alive++;
	}
	for (i = 0; i < cur->n; i++) {
		if (strcmp(cur->servers[i].id, raftd_node_id) == 0 ||
		    (s = ap_find(a, cur->servers[i].id)) == NULL ||
		    (s->status != 3 && (s->status != 4 ||
		    !c->autopilot.cleanup_dead_servers)))
			continue;
		/* Removing a voter leaves voters - 1, alive of them. */
		if (cur->servers[i].voter &&
		    (alive <= (voters - 1) / 2 ||
		    alive < (size_t)c->autopilot.min_quorum))
			continue;
		memmove(&next.servers[i], &next.servers[i + 1],
		    (next.n - i - 1) * sizeof(next.servers[0]));
		next.n--;
		ap_propose(r, &next, s->status == 3 ? "removing left server" :
		    "removing dead server", s->name);
		goto done;
	}
 done:
	free(next.servers);
	free(a);
}
