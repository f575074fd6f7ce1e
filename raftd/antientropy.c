/*
 * Anti-entropy, as Consul's agent does it: the catalog's view of this
 * node is made to match the agent's local state (local.c), both ways.
 * A sync reads the node's services and checks from the catalog (through
 * the same request handlers apid's requests go to, so it is forwarded
 * to a server or the leader as they are), then registers every local
 * service and check the catalog lacks or has differently and
 * deregisters what the catalog has that the agent does not (but the
 * serfHealth check and the consul service, which the leader keeps).
 *
 * A sync runs shortly after any local change and every
 * AE_INTERVAL_SEC otherwise, scaled up with the size of the cluster as
 * Consul does, with a random stagger; a failed one is tried again after
 * AE_RETRY_SEC.  Requests go out on an internal channel (a socketpair
 * made before the sandbox) whose answers come back to ae_dispatch().
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <stdlib.h>
#include <string.h>

#include "agent_codec.h"
#include "catalog_codec.h"
#include "config.h"
#include "log.h"
#include "raftd.h"

#define AE_INTERVAL_SEC		60
#define AE_RETRY_SEC		3
#define AE_CHANGE_MS		100	/* gather changes before a sync */

enum ae_phase {
	AE_IDLE,
	AE_READING,
	AE_WRITING
};

static struct imsgev	 ae_req;	/* the handlers answer here */
static struct imsgev	 ae_back;	/* and we read it here */
static struct event	*ae_timer;	/* the next sync */
static struct event	*ae_tick;	/* every second: local_tick() */
static enum ae_phase	 phase;
static int		 dirty;		/* changed since the sync began */
static int		 failed;
static uint32_t		 next_reqid;
static uint32_t		 reads_left, writes_left;
static uint32_t		 read_services_id, read_checks_id;
static int		 node_known;
/* The catalog's view of this node, from the reads. */
static struct cat_service *cservices;
static size_t		 ncservices;
static struct cat_check	*cchecks;
static size_t		 ncchecks;

static void	ae_sync(evutil_socket_t, short, void *);

static void
catalog_view_free(void)
{
	size_t	 i;

	for (i = 0; i < ncservices; i++)
		cat_service_free(&cservices[i]);
	for (i = 0; i < ncchecks; i++)
		cat_check_free(&cchecks[i]);
	free(cservices);
	free(cchecks);
	cservices = NULL;
	cchecks = NULL;
	ncservices = ncchecks = 0;
	node_known = 0;
}

static void
ae_arm(uint64_t ms)
{
	struct timeval	 tv;

	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	if (evtimer_add(ae_timer, &tv) == -1)
		fatalx("antientropy: evtimer_add");
}

static void
count_member(void *arg, const char *name, const char *ip, uint64_t port,
    uint64_t status, const msgpack_object *tags)
{
	(*(size_t *)arg)++;
}

/* Consul's aeScale: 60 s up to 128 nodes, more beyond, plus a stagger. */
static uint64_t
ae_interval_ms(void)
{
	size_t		 n = 0, x;
	uint64_t	 ms, mult = 1;

	/* 1 + ceil(log2(n / 128)) times the interval beyond 128 nodes. */
	members_walk(0, count_member, &n);
	for (x = 128; x < n && mult < 32; x *= 2)
		mult++;
	ms = AE_INTERVAL_SEC * 1000 * mult;
	return ms + arc4random_uniform((uint32_t)(ms / 8 + 1));
}

/* Something changed locally: a sync soon (or after this one). */
void
ae_schedule(void)
{
	if (ae_timer == NULL)
		return;
	dirty = 1;
	if (phase == AE_IDLE)
		ae_arm(AE_CHANGE_MS);
}

static void
ae_done(void)
{
	phase = AE_IDLE;
	catalog_view_free();
	if (failed)
		ae_arm(AE_RETRY_SEC * 1000);
	else if (dirty)
		ae_arm(AE_CHANGE_MS);
	else
		ae_arm(ae_interval_ms());
}

static void
send_req(uint32_t type, uint32_t reqid, struct mpack_out *out)
{
	struct imsg	 imsg;

	memset(&imsg, 0, sizeof(imsg));
	imsg.hdr.type = type;
	imsg.hdr.peerid = reqid;
	imsg.fd = -1;
	imsg.data = out->sbuf.data;
	imsg.len = out->sbuf.size;
	if (type == IMSG_CAT_READ)
		cat_read_request(&ae_req, &imsg);
	else
		cat_write_request(&ae_req, &imsg);
}

static void
read_node(int query, uint32_t reqid)
{
	struct mpack_out	 out;

	mpack_out_init(&out);
	/* With ACLs, what the agent token may read (node and services). */
	cat_read_pack(&out.pk, query, raftd_child.conf->node_name, 0, 0,
	    KV_CONS_DEFAULT, 0, acl_token_agent());
	send_req(IMSG_CAT_READ, reqid, &out);
	explicit_bzero(out.sbuf.data, out.sbuf.size);
	mpack_out_free(&out);
}

static void
ae_sync(evutil_socket_t fd, short events, void *arg)
{
	if (phase != AE_IDLE)
		return;
	phase = AE_READING;
	dirty = 0;
	failed = 0;
	catalog_view_free();
	reads_left = 2;
	read_services_id = imsgev_next_id(&next_reqid);
	read_checks_id = imsgev_next_id(&next_reqid);
	read_node(CAT_Q_NODE, read_services_id);
	read_node(CAT_Q_HEALTH_NODE, read_checks_id);
}

static int
streq(const char *a, const char *b)
{
	return strcmp(a != NULL ? a : "", b != NULL ? b : "") == 0;
}

/* Whether the catalog's service says what the local one does. */
static int
service_same(const struct cat_service *a, const struct cat_service *b)
{
	struct mpack_out	 x, y;
	struct cat_service	 bb = *b;
	int			 same;

	bb.node = a->node;
	bb.create_index = a->create_index;
	bb.modify_index = a->modify_index;
	mpack_out_init(&x);
	mpack_out_init(&y);
	cat_service_pack(&x.pk, a);
	cat_service_pack(&y.pk, &bb);
	same = x.sbuf.size == y.sbuf.size &&
	    memcmp(x.sbuf.data, y.sbuf.data, x.sbuf.size) == 0;
	mpack_out_free(&x);
	mpack_out_free(&y);
	return same;
}

static int
check_same(const struct cat_check *a, const struct agent_check *l)
{
	const struct cat_check	*b = &l->c;

	return streq(a->name, b->name) && streq(a->status, b->status) &&
	    streq(a->notes, b->notes) && streq(a->output, b->output) &&
	    streq(a->service_id, b->service_id) && streq(a->type, b->type) &&
	    streq(a->interval, b->interval) && streq(a->timeout, b->timeout) &&
	    streq(a->http, b->http) && streq(a->tcp, b->tcp);
}

/* The node part of every registration: ours, kept if it exists. */
static void
fill_node(struct cat_node *n)
{
	struct config	*c = raftd_child.conf;

	memset(n, 0, sizeof(*n));
	n->node = c->node_name;
	n->id = raftd_node_id;
	n->address = c->advertise_addr;
	n->datacenter = c->datacenter;
}

/*
 * A registration, signed with the token the service or check was
 * registered with, else the agent token (acl.tokens.agent, else
 * default).
 */
static void
write_register(struct cat_register *reg, const char *token)
{
	struct mpack_out	 out;

	mpack_out_init(&out);
	msgpack_pack_array(&out.pk, 3);
	msgpack_pack_uint8(&out.pk, CAT_WRITE_REGISTER);
	cat_register_pack(&out.pk, reg);
	mpack_str(&out.pk, token != NULL ? token : acl_token_agent());
	writes_left++;
	send_req(IMSG_CAT_WRITE, imsgev_next_id(&next_reqid), &out);
	explicit_bzero(out.sbuf.data, out.sbuf.size);
	mpack_out_free(&out);
}

static void
write_deregister(const char *sid, const char *cid)
{
	struct cat_deregister	 d;
	struct mpack_out	 out;

	memset(&d, 0, sizeof(d));
	d.node = raftd_child.conf->node_name;
	d.service_id = (char *)sid;
	d.check_id = (char *)cid;
	mpack_out_init(&out);
	msgpack_pack_array(&out.pk, 3);
	msgpack_pack_uint8(&out.pk, CAT_WRITE_DEREGISTER);
	cat_deregister_pack(&out.pk, &d);
	mpack_str(&out.pk, acl_token_agent());
	writes_left++;
	send_req(IMSG_CAT_WRITE, imsgev_next_id(&next_reqid), &out);
	explicit_bzero(out.sbuf.data, out.sbuf.size);
	mpack_out_free(&out);
}

/* Local checks, gathered for one registration. */
struct ae_gather {
	const char		*sid;		/* NULL: node checks */
	struct cat_check	*checks;
	size_t			 n;
	int			 differ;
};

static void
gather_check(void *arg, const struct agent_check *l)
{
	struct ae_gather	*g = arg;
	size_t			 i;
	int			 found = 0;

	if (!streq(g->sid, l->c.service_id) || (g->sid == NULL &&
	    l->c.service_id != NULL) || g->n >= CAT_LIST_MAX)
		return;
	g->checks[g->n] = l->c;
	g->checks[g->n].node = raftd_child.conf->node_name;
	g->checks[g->n].service_name = NULL;
	g->checks[g->n].service_tags = NULL;
	g->checks[g->n].nservice_tags = 0;
	g->n++;
	for (i = 0; i < ncchecks; i++)
		if (strcmp(cchecks[i].check_id, l->c.check_id) == 0) {
			found = 1;
			if (!check_same(&cchecks[i], l))
				g->differ = 1;
		}
	if (!found)
		g->differ = 1;
}

static void
sync_service(void *arg, const struct agent_service *l)
{
	struct cat_register	 reg;
	struct cat_service	 s = l->s;
	struct ae_gather	 g;
	const char		*tok, *cfg;
	size_t			 i;
	int			 same = 0;

	s.node = raftd_child.conf->node_name;
	for (i = 0; i < ncservices; i++)
		if (strcmp(cservices[i].id, s.id) == 0)
			same = service_same(&s, &cservices[i]);
	memset(&g, 0, sizeof(g));
	g.sid = s.id;
	if ((g.checks = calloc(CAT_LIST_MAX, sizeof(*g.checks))) == NULL)
		fatal("antientropy");
	local_checks(gather_check, &g);
	if (!same || g.differ || !node_known) {
		memset(&reg, 0, sizeof(reg));
		fill_node(&reg.node);
		reg.skip_node_update = 1;
		reg.service = &s;
		reg.checks = g.checks;
		reg.nchecks = g.n;
		tok = local_service_token(s.id);
		/* Consul's token for the configuration's services. */
		cfg = acl_token("config_file_service_registration");
		if (tok == NULL && l->from_config && *cfg != '\0')
			tok = cfg;
		write_register(&reg, tok);
	}
	free(g.checks);
}

/* Node checks, each with its own token. */
static void
sync_node_checks(void)
{
	struct cat_register	 reg;
	struct ae_gather	 g;
	size_t			 i;

	memset(&g, 0, sizeof(g));
	if ((g.checks = calloc(CAT_LIST_MAX, sizeof(*g.checks))) == NULL)
		fatal("antientropy");
	local_checks(gather_check, &g);
	if (g.n > 0 && (g.differ || !node_known)) {
		memset(&reg, 0, sizeof(reg));
		fill_node(&reg.node);
		reg.skip_node_update = 1;
		for (i = 0; i < g.n; i++) {
			reg.checks = &g.checks[i];
			reg.nchecks = 1;
			write_register(&reg,
			    local_check_token(g.checks[i].check_id));
		}
	}
	free(g.checks);
}

struct ae_find {
	const char	*id;
	int		 found;
};

static void
find_service(void *arg, const struct agent_service *l)
{
	struct ae_find	*f = arg;

	if (strcmp(l->s.id, f->id) == 0)
		f->found = 1;
}

static void
find_check(void *arg, const struct agent_check *l)
{
	struct ae_find	*f = arg;

	if (strcmp(l->c.check_id, f->id) == 0)
		f->found = 1;
}

/* Both reads are in: make the catalog say what we do. */
static void
ae_write(void)
{
	struct ae_find	 f;
	size_t		 i;

	phase = AE_WRITING;
	writes_left = 0;
	/* What the catalog has and we do not. */
	for (i = 0; i < ncservices; i++) {
		if (strcmp(cservices[i].id, "consul") == 0 &&
		    raftd_child.conf->server)
			continue;
		memset(&f, 0, sizeof(f));
		f.id = cservices[i].id;
		local_services(find_service, &f);
		if (!f.found)
			write_deregister(cservices[i].id, NULL);
	}
	for (i = 0; i < ncchecks; i++) {
		if (strcmp(cchecks[i].check_id, "serfHealth") == 0)
			continue;
		memset(&f, 0, sizeof(f));
		f.id = cchecks[i].check_id;
		local_checks(find_check, &f);
		if (!f.found)
			write_deregister(NULL, cchecks[i].check_id);
	}
	/* What we have and the catalog lacks, or has otherwise. */
	local_services(sync_service, NULL);
	sync_node_checks();
	if (writes_left == 0)
		ae_done();
}

static void
read_item(struct imsg *imsg)
{
	msgpack_unpacked	 u;
	const msgpack_object	*a;
	void			*p;

	if (mpack_parse(&u, imsg->data, imsg->len) == -1)
		fatalx("antientropy: malformed item");
	a = u.data.via.array.ptr;
	if (imsg->hdr.peerid == read_services_id) {
		if (u.data.type != MSGPACK_OBJECT_ARRAY ||
		    u.data.via.array.size != 2 ||
		    a[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER)
			fatalx("antientropy: malformed node item");
		if (a[0].via.u64 == 0)
			node_known = 1;
		else {
			if ((p = reallocarray(cservices, ncservices + 1,
			    sizeof(*cservices))) == NULL)
				fatal("antientropy");
			cservices = p;
			if (cat_service_unpack(&a[1],
			    &cservices[ncservices]) == -1)
				fatalx("antientropy: malformed service");
			ncservices++;
		}
	} else if (imsg->hdr.peerid == read_checks_id) {
		if ((p = reallocarray(cchecks, ncchecks + 1,
		    sizeof(*cchecks))) == NULL)
			fatal("antientropy");
		cchecks = p;
		if (cat_check_unpack(&u.data, &cchecks[ncchecks]) == -1)
			fatalx("antientropy: malformed check");
		ncchecks++;
	}
	msgpack_unpacked_destroy(&u);
}

static void
ae_dispatch(struct imsgev *iev, struct imsg *imsg)
{
	struct imsg_read_end	 end;
	msgpack_unpacked	 u;
	char			 err[256];

	switch (imsg->hdr.type) {
	case IMSG_CAT_ITEM:
		if (phase == AE_READING)
			read_item(imsg);
		break;
	case IMSG_READ_END:
		if (phase != AE_READING)
			break;
		imsg_need_len(imsg, sizeof(end), "antientropy");
		memcpy(&end, imsg->data, sizeof(end));
		end.error[sizeof(end.error) - 1] = '\0';
		if (end.error[0] != '\0') {
			if (!failed)
				log_debug("antientropy: cannot read the "
				    "catalog: %s", end.error);
			failed = 1;
		}
		if (--reads_left > 0)
			break;
		if (failed)
			ae_done();
		else
			ae_write();
		break;
	case IMSG_WRITE_RESULT:
		if (phase != AE_WRITING)
			break;
		if (mpack_parse(&u, imsg->data, imsg->len) == 0) {
			if (u.data.type == MSGPACK_OBJECT_ARRAY &&
			    u.data.via.array.size == 6 &&
			    (u.data.via.array.ptr[0].type !=
			    MSGPACK_OBJECT_BOOLEAN ||
			    !u.data.via.array.ptr[0].via.boolean)) {
				failed = 1;
				if (mpack_copy_str(&u.data.via.array.ptr[1],
				    err, sizeof(err)) == 0 && err[0] != '\0')
					log_debug("antientropy: %s", err);
				else if (mpack_copy_str(
				    &u.data.via.array.ptr[4], err,
				    sizeof(err)) == 0)
					log_warnx("antientropy: the catalog "
					    "refused a registration: %s", err);
			}
			msgpack_unpacked_destroy(&u);
		}
		if (--writes_left == 0)
			ae_done();
		break;
	default:
		fatalx("antientropy: unexpected type %u", imsg->hdr.type);
	}
}

static void
ae_unexpected(struct imsgev *iev, struct imsg *imsg)
{
	fatalx("antientropy: unexpected message on the request channel");
}

static void
ae_second(evutil_socket_t fd, short events, void *arg)
{
	local_tick();
}

/* Before the sandbox: the channel.  After: ae_start(). */
void
ae_init(struct child *c)
{
	int	 sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
	    sv) == -1)
		fatal("antientropy: socketpair");
	imsgev_init(&ae_req, c->base, sv[0], "antientropy", ae_unexpected,
	    NULL);
	imsgev_init(&ae_back, c->base, sv[1], "antientropy", ae_dispatch,
	    NULL);
}

void
ae_start(struct child *c)
{
	struct timeval	 one = { 1, 0 };

	if ((ae_timer = evtimer_new(c->base, ae_sync, NULL)) == NULL ||
	    (ae_tick = event_new(c->base, -1, EV_PERSIST, ae_second,
	    NULL)) == NULL || event_add(ae_tick, &one) == -1)
		fatalx("antientropy: cannot set up timers");
	/* The first sync once the agent has had a chance to join. */
	dirty = 1;
	ae_arm(2000);
}
