/*
 * DNS names of another datacenter (dns_proto.h): dnsd asks, and the
 * question goes out as a ?stale catalog read for that datacenter
 * through the same forwarding as an HTTP request with ?dc= (forward.c:
 * to a server of ours first on a client agent, then to a random alive
 * server there, held no longer than rpc_hold_timeout).  The answer's
 * items go back to dnsd as they come.  When the read fails, a second
 * read (CAT_Q_DC_KNOWN, answered by any server of ours from WAN
 * gossip) tells an unknown datacenter (NXDOMAIN) from one that cannot
 * be reached now (SERVFAIL).  Both reads go out on an internal channel
 * to the handlers apid's requests go to, as dnsfeed.c's do.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "catalog_codec.h"
#include "config.h"
#include "dns_proto.h"
#include "log.h"
#include "mpack.h"
#include "raftd.h"
#include "rpc_codec.h"

/* dnsd bounds what it asks at once; this is a second bound. */
#define REMOTE_PENDING_MAX	1024
/*
 * dnsd gives up on a question after rpc_hold_timeout and a margin; one
 * whose answer never came (a server that took it and hangs) is
 * forgotten here after this long, when room is needed.
 */
#define REMOTE_FORGET_MS	(120 * 1000)

struct remote_req {
	TAILQ_ENTRY(remote_req)	 entry;
	uint32_t		 id;		/* dnsd's */
	uint64_t		 since;		/* monotonic ms */
	int			 known_check;	/* the second read */
	int			 queries;	/* items are queries */
	char			 dc[RPC_DC_MAX];
	char			 error[192];	/* of the first */
};

static TAILQ_HEAD(, remote_req)	 pending = TAILQ_HEAD_INITIALIZER(pending);
static size_t			 npending;
static struct imsgev		 rem_req;	/* the handlers answer here */
static struct imsgev		 rem_back;	/* and we read it here */

static uint64_t
now_ms(void)
{
	struct timespec	 ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		fatal("dnsremote: clock_gettime");
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void	remote_free(struct remote_req *);

/* Room for one more: questions long given up by dnsd go. */
static void
pending_prune(void)
{
	struct remote_req	*r, *next;
	uint64_t		 now = now_ms();

	for (r = TAILQ_FIRST(&pending); r != NULL; r = next) {
		next = TAILQ_NEXT(r, entry);
		if (now - r->since >= REMOTE_FORGET_MS)
			remote_free(r);
	}
}

static void
to_dnsd(uint32_t type, uint32_t id, const void *data, size_t len)
{
	if (imsgev_compose(&raftd_child.peers[PROC_DNSD], type, id, -1, data,
	    len) == -1)
		fatal("dnsremote: compose");
}

static void
remote_end(uint32_t id, int outcome, const char *error)
{
	struct mpack_out	 out;

	mpack_out_init(&out);
	msgpack_pack_array(&out.pk, 2);
	msgpack_pack_uint8(&out.pk, (uint8_t)outcome);
	mpack_str(&out.pk, error);
	to_dnsd(IMSG_DNS_REMOTE_END, id, out.sbuf.data, out.sbuf.size);
	mpack_out_free(&out);
}

/*
 * A ?stale catalog read, [query, arg, 0, 0, stale, 0, token]: under the
 * DNS token, read now (it may change while the agent runs).
 */
static void
pack_read(struct mpack_out *out, int query, const char *arg)
{
	cat_read_pack(&out->pk, query, arg, 0, 0, KV_CONS_STALE, 0,
	    acl_dns_token());
}

/*
 * A prepared query of another datacenter, its token replaced by a mark
 * that it has one (dnsd then asks DNS_REMOTE_QUERY_SERVICE).
 */
static void
query_item(uint32_t id, struct imsg *imsg)
{
	msgpack_unpacked	 u;
	struct cat_pquery	 pq;
	struct mpack_out	 out;
	int			 has;

	if (mpack_parse(&u, imsg->data, imsg->len) == -1 ||
	    cat_pquery_unpack(&u.data, &pq) == -1)
		fatalx("dnsremote: malformed prepared query");
	msgpack_unpacked_destroy(&u);
	if (pq.token != NULL) {
		has = *pq.token != '\0';
		explicit_bzero(pq.token, strlen(pq.token));
		free(pq.token);
		pq.token = NULL;
		if (has && (pq.token = strdup(DNS_QUERY_HAS_TOKEN)) == NULL)
			fatal("dnsremote");
	}
	mpack_out_init(&out);
	cat_pquery_pack(&out.pk, &pq);
	to_dnsd(IMSG_DNS_REMOTE_ITEM, id, out.sbuf.data, out.sbuf.size);
	mpack_out_free(&out);
	cat_pquery_free(&pq);
}

static void
send_read(uint32_t id, uint32_t type, const struct mpack_out *out)
{
	struct imsg	 imsg;

	memset(&imsg, 0, sizeof(imsg));
	imsg.hdr.type = type;
	imsg.hdr.peerid = id;
	imsg.fd = -1;
	imsg.data = out->sbuf.data;
	imsg.len = out->sbuf.size;
	if (type == IMSG_DC_REQ)
		dc_request(&rem_req, &imsg);
	else
		cat_read_request(&rem_req, &imsg);
}

/* IMSG_DNS_REMOTE_REQ from dnsd: [dc, kind, name]. */
void
dnsremote_request(struct imsgev *iev, struct imsg *imsg)
{
	msgpack_unpacked	 u;
	const msgpack_object	*a;
	struct mpack_out	 rd, out;
	struct remote_req	*r;
	char			 dc[RPC_DC_MAX], name[CAT_STR_MAX + 1];
	uint64_t		 kind;
	int			 query, ok;

	if (mpack_parse(&u, imsg->data, imsg->len) == -1)
		fatalx("dnsremote: malformed request from %s", iev->name);
	a = u.data.via.array.ptr;
	ok = u.data.type == MSGPACK_OBJECT_ARRAY &&
	    u.data.via.array.size == 3 &&
	    mpack_copy_str(&a[0], dc, sizeof(dc)) == 0 && dc_name_valid(dc) &&
	    mpack_get_uint(&a[1], &kind) == 0 &&
	    kind < DNS_REMOTE_KIND_MAX &&
	    mpack_copy_str(&a[2], name, sizeof(name)) == 0 &&
	    (*name == '\0') == (kind == DNS_REMOTE_QUERIES ||
	    kind == DNS_REMOTE_DCS);
	msgpack_unpacked_destroy(&u);
	if (!ok)
		fatalx("dnsremote: malformed request from %s", iev->name);
	/* Its ids wrapped: dnsd gave up on the old question long ago. */
	TAILQ_FOREACH(r, &pending, entry)
		if (r->id == imsg->hdr.peerid) {
			remote_free(r);
			break;
		}
	if (npending >= REMOTE_PENDING_MAX)
		pending_prune();
	if (npending >= REMOTE_PENDING_MAX) {
		remote_end(imsg->hdr.peerid, DNS_REMOTE_FAILED,
		    "too many lookups in other datacenters");
		return;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL)
		fatal("dnsremote");
	r->id = imsg->hdr.peerid;
	r->since = now_ms();
	strlcpy(r->dc, dc, sizeof(r->dc));
	TAILQ_INSERT_TAIL(&pending, r, entry);
	npending++;

	if (kind == DNS_REMOTE_DCS) {
		/* Ours, from WAN gossip: no other datacenter to ask. */
		mpack_out_init(&rd);
		pack_read(&rd, CAT_Q_DATACENTERS, "");
		send_read(r->id, IMSG_CAT_READ, &rd);
		mpack_out_free(&rd);
		return;
	}
	query = kind == DNS_REMOTE_SERVICE ? CAT_Q_DNS_SERVICE :
	    kind == DNS_REMOTE_NODE ? CAT_Q_DNS_NODE :
	    kind == DNS_REMOTE_QUERY_SERVICE ? CAT_Q_DNS_QUERY :
	    CAT_Q_PQUERY_ALL;
	r->queries = query == CAT_Q_PQUERY_ALL;
	mpack_out_init(&rd);
	pack_read(&rd, query, name);
	mpack_out_init(&out);
	msgpack_pack_array(&out.pk, 3);
	mpack_str(&out.pk, dc);
	msgpack_pack_uint32(&out.pk, IMSG_CAT_READ);
	msgpack_pack_bin(&out.pk, rd.sbuf.size);
	msgpack_pack_bin_body(&out.pk, rd.sbuf.data, rd.sbuf.size);
	mpack_out_free(&rd);
	send_read(r->id, IMSG_DC_REQ, &out);
	mpack_out_free(&out);
}

static void
remote_free(struct remote_req *r)
{
	TAILQ_REMOVE(&pending, r, entry);
	npending--;
	free(r);
}

/* The first read failed: is the datacenter known at all? */
static void
known_check(struct remote_req *r)
{
	struct mpack_out	 out;

	r->known_check = 1;
	mpack_out_init(&out);
	pack_read(&out, CAT_Q_DC_KNOWN, r->dc);
	send_read(r->id, IMSG_CAT_READ, &out);
	mpack_out_free(&out);
}

static void
remote_dispatch(struct imsgev *iev, struct imsg *imsg)
{
	struct imsg_read_end	 end;
	struct remote_req	*r;

	TAILQ_FOREACH(r, &pending, entry)
		if (r->id == imsg->hdr.peerid)
			break;
	if (r == NULL)
		return;
	switch (imsg->hdr.type) {
	case IMSG_CAT_ITEM:
		if (r->known_check)
			break;
		if (r->queries)
			query_item(r->id, imsg);
		else
			to_dnsd(IMSG_DNS_REMOTE_ITEM, r->id, imsg->data,
			    imsg->len);
		break;
	case IMSG_READ_END:
		imsg_need_len(imsg, sizeof(end), "dnsremote");
		memcpy(&end, imsg->data, sizeof(end));
		end.error[sizeof(end.error) - 1] = '\0';
		if (r->known_check) {
			remote_end(r->id, end.error[0] == '\0' && !end.found ?
			    DNS_REMOTE_NO_DC : DNS_REMOTE_FAILED, r->error);
			remote_free(r);
		} else if (end.error[0] == '\0') {
			remote_end(r->id, DNS_REMOTE_OK, "");
			remote_free(r);
		} else {
			strlcpy(r->error, end.error, sizeof(r->error));
			known_check(r);
		}
		break;
	default:
		log_warnx("dnsremote: unexpected imsg %u", imsg->hdr.type);
	}
}

static void
remote_unexpected(struct imsgev *iev, struct imsg *imsg)
{
	fatalx("dnsremote: unexpected imsg %u on the request side",
	    imsg->hdr.type);
}

/* Before the sandbox: the internal channel. */
void
dnsremote_init(struct child *c)
{
	int	 sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
	    sv) == -1)
		fatal("dnsremote: socketpair");
	imsgev_init(&rem_req, c->base, sv[0], "dnsremote", remote_unexpected,
	    NULL);
	imsgev_init(&rem_back, c->base, sv[1], "dnsremote", remote_dispatch,
	    NULL);
}
