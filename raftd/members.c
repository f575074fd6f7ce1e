/*
 * The gossip members as gossipd reports them, kept here because raftd
 * is where the agent's state meets: servers will use them for
 * bootstrap_expect and the serfHealth check, clients to find servers,
 * and apid asks for them for /v1/agent/members.  A record is kept as
 * the checked MessagePack gossipd sent, and sent on as it is.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "mpack.h"
#include "raftd.h"

#define MEMBERS_MAX	(64 * 1024)

struct member {
	TAILQ_ENTRY(member)	 entry;
	uint8_t			 pool;
	char			*name;
	void			*rec;
	size_t			 len;
};
static TAILQ_HEAD(, member)	 members = TAILQ_HEAD_INITIALIZER(members);
static size_t			 nmembers;

/* Check a record; fill pool, name (malloc'd) and status. */
static int
member_check(const void *buf, size_t len, uint8_t *pool, char **name,
    uint64_t *status)
{
	msgpack_unpacked	 u;
	const msgpack_object	*a;
	uint64_t		 p, port;
	char			*ip = NULL;
	uint32_t		 i;
	int			 rc = -1;

	*name = NULL;
	if (mpack_parse(&u, buf, len) == -1)
		return -1;
	if (u.data.type != MSGPACK_OBJECT_ARRAY || u.data.via.array.size != 6)
		goto done;
	a = u.data.via.array.ptr;
	if (mpack_get_uint(&a[0], &p) == -1 || p > 1 ||
	    mpack_get_str(&a[1], name) == -1 || *name == NULL ||
	    mpack_get_str(&a[2], &ip) == -1 || ip == NULL ||
	    mpack_get_uint(&a[3], &port) == -1 || port > 65535 ||
	    a[4].type != MSGPACK_OBJECT_MAP ||
	    mpack_get_uint(&a[5], status) == -1 || *status > 4)
		goto done;
	for (i = 0; i < a[4].via.map.size; i++)
		if (a[4].via.map.ptr[i].key.type != MSGPACK_OBJECT_STR ||
		    a[4].via.map.ptr[i].val.type != MSGPACK_OBJECT_STR)
			goto done;
	*pool = p;
	rc = 0;
 done:
	free(ip);
	if (rc == -1) {
		free(*name);
		*name = NULL;
	}
	msgpack_unpacked_destroy(&u);
	return rc;
}

static int
member_is_self(uint8_t pool, const char *name)
{
	struct config	*c = raftd_child.conf;
	size_t		 n = strlen(c->node_name);

	if (strncmp(name, c->node_name, n) != 0)
		return 0;
	if (pool == 0)
		return name[n] == '\0';
	return name[n] == '.' && strcmp(name + n + 1, c->datacenter) == 0;
}

/*
 * A WAN member must be a server named <node>.<dc> whose "dc" tag is that
 * datacenter, a valid name: anything else could route requests for a
 * datacenter to a stranger.  gossipd already refuses a second address
 * for a name that is held.
 */
static int
wan_member_valid(const void *buf, size_t len, const char *name)
{
	msgpack_unpacked	 u;
	const msgpack_object	*tags;
	const char		*dot;
	char			 role[16], dc[64];
	int			 ok;

	if (mpack_parse(&u, buf, len) == -1)
		return 0;
	tags = &u.data.via.array.ptr[4];
	dot = strrchr(name, '.');
	ok = dot != NULL && dot != name &&
	    mpack_copy_str(mpack_map_get(tags, "role"), role,
	    sizeof(role)) == 0 && strcmp(role, "consul") == 0 &&
	    mpack_copy_str(mpack_map_get(tags, "dc"), dc, sizeof(dc)) == 0 &&
	    dc_name_valid(dc) && strcmp(dot + 1, dc) == 0;
	msgpack_unpacked_destroy(&u);
	return ok;
}

static void
member_free(struct member *m)
{
	TAILQ_REMOVE(&members, m, entry);
	nmembers--;
	free(m->name);
	free(m->rec);
	free(m);
}

/* gossipd: a member joined, changed, left, failed or was reaped. */
void
member_update(struct imsgev *iev, struct imsg *imsg)
{
	struct member	*m;
	uint64_t	 status;
	uint8_t		 pool;
	char		*name;

	if (member_check(imsg->data, imsg->len, &pool, &name, &status) == -1)
		fatalx("members: malformed member from %s", iev->name);
	serf_snapshot_changed(pool, member_is_self(pool, name), status);
	TAILQ_FOREACH(m, &members, entry)
		if (m->pool == pool && strcmp(m->name, name) == 0)
			break;
	if (pool == 1 && status != 0 &&
	    !wan_member_valid(imsg->data, imsg->len, name)) {
		log_warnx("members: WAN member %s is no server named "
		    "<node>.<datacenter> of a valid datacenter; ignored", name);
		if (m != NULL)
			member_free(m);
		free(name);
		return;
	}
	if (status == 0) {
		coord_member_gone(pool, name);
		if (m != NULL)
			member_free(m);
		free(name);
		return;
	}
	if (m == NULL) {
		if (nmembers >= MEMBERS_MAX) {
			log_warnx("members: more than %d members, %s ignored",
			    MEMBERS_MAX, name);
			free(name);
			return;
		}
		if ((m = calloc(1, sizeof(*m))) == NULL)
			fatal("members");
		m->pool = pool;
		m->name = name;
		TAILQ_INSERT_TAIL(&members, m, entry);
		nmembers++;
	} else {
		free(name);
		free(m->rec);
	}
	if ((m->rec = malloc(imsg->len)) == NULL)
		fatal("members");
	memcpy(m->rec, imsg->data, imsg->len);
	m->len = imsg->len;
	if (pool == 0 && status == 1)
		node_expect_check(&raftd);
}

/* Each member of a pool: name, ip, port, status, tags (a map). */
void
members_walk(uint8_t pool, void (*fn)(void *, const char *, const char *,
    uint64_t, uint64_t, const msgpack_object *), void *arg)
{
	msgpack_unpacked	 u;
	const msgpack_object	*a;
	struct member		*m;
	char			 ip[64];
	uint64_t		 port, status;

	TAILQ_FOREACH(m, &members, entry) {
		if (m->pool != pool || mpack_parse(&u, m->rec, m->len) == -1)
			continue;
		a = u.data.via.array.ptr;
		if (mpack_copy_str(&a[2], ip, sizeof(ip)) == 0 &&
		    mpack_get_uint(&a[3], &port) == 0 &&
		    mpack_get_uint(&a[5], &status) == 0)
			fn(arg, m->name, ip, port, status, &a[4]);
		msgpack_unpacked_destroy(&u);
	}
}

struct servers_walk {
	void	(*fn)(void *, const struct member_server *);
	void	 *arg;
};

static void
servers_member(void *arg, const char *name, const char *ip, uint64_t port,
    uint64_t status, const msgpack_object *tags)
{
	struct servers_walk	*w = arg;
	struct member_server	 s;
	char			 role[16], dc[128], rport[8], expect[16];

	if (mpack_copy_str(mpack_map_get(tags, "role"), role,
	    sizeof(role)) == -1 || strcmp(role, "consul") != 0 ||
	    mpack_copy_str(mpack_map_get(tags, "dc"), dc, sizeof(dc)) == -1 ||
	    strcmp(dc, raftd_child.conf->datacenter) != 0 ||
	    mpack_copy_str(mpack_map_get(tags, "port"), rport,
	    sizeof(rport)) == -1 ||
	    mpack_copy_str(mpack_map_get(tags, "id"), s.id,
	    sizeof(s.id)) == -1 || s.id[0] == '\0')
		return;
	s.name = name;
	s.status = status;
	snprintf(s.addr, sizeof(s.addr), strchr(ip, ':') != NULL ?
	    "[%s]:%s" : "%s:%s", ip, rport);
	s.expect = 0;
	if (mpack_copy_str(mpack_map_get(tags, "expect"), expect,
	    sizeof(expect)) == 0)
		s.expect = (int)strtol(expect, NULL, 10);
	w->fn(w->arg, &s);
}

/* The servers of this datacenter in the LAN pool, with their RPC address. */
void
members_servers(void (*fn)(void *, const struct member_server *), void *arg)
{
	struct servers_walk	 w;

	w.fn = fn;
	w.arg = arg;
	members_walk(0, servers_member, &w);
}

struct addr_find {
	const char	*id;
	char		*buf;
	size_t		 len;
	int		 found;
};

static void
addr_find_server(void *arg, const struct member_server *s)
{
	struct addr_find	*f = arg;

	if (f->found || s->status != 1 || strcmp(s->id, f->id) != 0)
		return;
	strlcpy(f->buf, s->addr, f->len);
	f->found = 1;
}

/* The RPC address of the server with node id id, from gossip; -1: none. */
int
members_server_addr(const char *id, char *buf, size_t len)
{
	struct addr_find	 f;

	memset(&f, 0, sizeof(f));
	f.id = id;
	f.buf = buf;
	f.len = len;
	members_servers(addr_find_server, &f);
	return f.found ? 0 : -1;
}

/* apid: GET /v1/agent/members. */
void
members_request(struct imsgev *iev, struct imsg *imsg)
{
	struct imsg_read_end	 end;
	struct member		*m;
	uint8_t			 wan;

	imsg_need_len(imsg, sizeof(wan), iev->name);
	memcpy(&wan, imsg->data, sizeof(wan));
	TAILQ_FOREACH(m, &members, entry) {
		if (m->pool != (wan ? 1 : 0))
			continue;
		if (imsgev_compose(iev, IMSG_MEMBER, imsg->hdr.peerid, -1,
		    m->rec, m->len) == -1)
			fatal("members: compose");
	}
	memset(&end, 0, sizeof(end));
	end.index = 1;
	end.found = 1;
	end.known_leader = node_leader_addr(&raftd)[0] != '\0';
	if (imsgev_compose(iev, IMSG_READ_END, imsg->hdr.peerid, -1, &end,
	    sizeof(end)) == -1)
		fatal("members: compose");
}
