/*
 * The gossip snapshots, serf/local.snapshot (LAN) and serf/remote.snapshot
 * (WAN) in data_dir, as Consul keeps them: the members last seen alive,
 * and "leave" once this agent left the pool gracefully.  A restarted
 * agent joins those members again, unless it had left and
 * rejoin_after_leave is false: a leave is meant to be permanent.
 *
 * A snapshot is a hint, rewritten (without fsync) 250 ms after the
 * members change; a line that cannot be read is skipped.  The format is
 * lines of "alive: <name> <ip>:<port>" (IPv6 in brackets) and "leave".
 * A -dev agent keeps none, as Consul.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "mpack.h"
#include "raftd.h"

#define SNAP_DIR		"serf"
#define SNAP_DELAY_MS		250
#define SNAP_REJOIN_MAX		1024	/* addresses sent to gossipd */
#define SNAP_LINE_MAX		512

static const char *const snap_files[2] = {
	SNAP_DIR "/local.snapshot",
	SNAP_DIR "/remote.snapshot"
};

static struct event	*snap_timer[2];
static int		 snap_left[2];	/* our leave is the last word */
/* What the file had at start, kept while no other member is alive. */
static char		**snap_prev[2];
static size_t		 snap_nprev[2];

struct snap_out {
	FILE		*f;
	const char	*self;
	size_t		 n;
};

static void
snap_line(void *arg, const char *name, const char *ip, uint64_t port,
    uint64_t status, const msgpack_object *tags)
{
	struct snap_out	*o = arg;

	if (status != 1 || strcmp(name, o->self) == 0)
		return;
	fprintf(o->f, strchr(ip, ':') != NULL ? "alive: %s [%s]:%llu\n" :
	    "alive: %s %s:%llu\n", name, ip, (unsigned long long)port);
	o->n++;
}

static void
snap_prev_free(uint8_t pool)
{
	size_t	 i;

	for (i = 0; i < snap_nprev[pool]; i++)
		free(snap_prev[pool][i]);
	free(snap_prev[pool]);
	snap_prev[pool] = NULL;
	snap_nprev[pool] = 0;
}

static void
snap_self(uint8_t pool, char *buf, size_t len)
{
	struct config	*c = raftd_child.conf;

	if (pool == 0)
		strlcpy(buf, c->node_name, len);
	else
		snprintf(buf, len, "%s.%s", c->node_name, c->datacenter);
}

static void
snap_write(evutil_socket_t fd, short events, void *arg)
{
	uint8_t		 pool = arg == &snap_left[0] ? 0 : 1;
	struct snap_out	 o;
	char		 tmp[64], self[256];
	size_t		 i;

	snap_self(pool, self, sizeof(self));
	snprintf(tmp, sizeof(tmp), "%s.tmp", snap_files[pool]);
	if (mkdir(SNAP_DIR, 0700) == -1 && errno != EEXIST) {
		log_warn("serf snapshot: mkdir %s", SNAP_DIR);
		return;
	}
	if ((o.f = fopen(tmp, "we")) == NULL) {
		log_warn("serf snapshot: %s", tmp);
		return;
	}
	o.self = self;
	o.n = 0;
	members_walk(pool, snap_line, &o);
	/* Alone (not joined yet, or not rejoining): keep whom we knew. */
	if (o.n == 0) {
		for (i = 0; i < snap_nprev[pool]; i++)
			fputs(snap_prev[pool][i], o.f);
	} else
		snap_prev_free(pool);
	if (snap_left[pool])
		fputs("leave\n", o.f);
	if (fclose(o.f) != 0 || rename(tmp, snap_files[pool]) == -1) {
		log_warn("serf snapshot: %s", snap_files[pool]);
		unlink(tmp);
	}
}

/* members.c: a member of pool changed; self: it is this agent. */
void
serf_snapshot_changed(uint8_t pool, int self, uint64_t status)
{
	struct timeval	 tv = { 0, SNAP_DELAY_MS * 1000 };

	if (pool > 1 || raftd_child.conf->dev)
		return;
	if (self)
		snap_left[pool] = status == 3;
	/* The agent shuts down right after it left: write it now. */
	if (self && status == 3) {
		if (snap_timer[pool] != NULL)
			evtimer_del(snap_timer[pool]);
		snap_write(-1, 0, &snap_left[pool]);
		return;
	}
	if (snap_timer[pool] == NULL && (snap_timer[pool] = evtimer_new(
	    raftd_child.base, snap_write, &snap_left[pool])) == NULL)
		fatalx("serf snapshot: evtimer");
	if (!evtimer_pending(snap_timer[pool], NULL))
		evtimer_add(snap_timer[pool], &tv);
}

/* The addresses of a snapshot, unless it ends with our leave. */
static void
snap_send(struct child *c, uint8_t pool)
{
	struct mpack_out	 out;
	FILE			*f;
	char			 line[SNAP_LINE_MAX], name[256], addr[128];
	char			**addrs = NULL;
	size_t			 n = 0, i;
	int			 left = 0;

	if ((f = fopen(snap_files[pool], "re")) == NULL) {
		if (errno != ENOENT)
			log_warn("serf snapshot: %s", snap_files[pool]);
		return;
	}
	if ((addrs = calloc(SNAP_REJOIN_MAX, sizeof(*addrs))) == NULL ||
	    (snap_prev[pool] = calloc(SNAP_REJOIN_MAX,
	    sizeof(*snap_prev[pool]))) == NULL)
		fatal("serf snapshot");
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strcmp(line, "leave\n") == 0) {
			left = 1;
			continue;
		}
		if (sscanf(line, "alive: %255s %127s", name, addr) != 2 ||
		    n == SNAP_REJOIN_MAX || strchr(line, '\n') == NULL)
			continue;
		left = 0;
		if ((addrs[n] = strdup(addr)) == NULL ||
		    (snap_prev[pool][n] = strdup(line)) == NULL)
			fatal("serf snapshot");
		n++;
	}
	snap_nprev[pool] = n;
	fclose(f);
	if (left && !c->conf->rejoin_after_leave) {
		log_info("serf snapshot: %s: this agent left last time; not "
		    "rejoining its %zu members (rejoin_after_leave is false)",
		    snap_files[pool], n);
		n = 0;
	}
	snap_left[pool] = left;
	if (n > 0) {
		mpack_out_init(&out);
		msgpack_pack_array(&out.pk, 2);
		msgpack_pack_uint8(&out.pk, pool);
		msgpack_pack_array(&out.pk, n);
		for (i = 0; i < n; i++)
			mpack_str(&out.pk, addrs[i]);
		if (imsgev_compose(&c->peers[PROC_GOSSIPD], IMSG_GOSSIP_REJOIN,
		    0, -1, out.sbuf.data, out.sbuf.size) == -1)
			fatal("serf snapshot: compose");
		mpack_out_free(&out);
	}
	for (i = 0; i < SNAP_REJOIN_MAX && addrs[i] != NULL; i++)
		free(addrs[i]);
	free(addrs);
}

/* At start, before the node id: whom gossipd joins again. */
void
serf_snapshot_rejoin(struct child *c)
{
	if (c->conf->dev)
		return;
	snap_send(c, 0);
	if (c->conf->server)
		snap_send(c, 1);
}
