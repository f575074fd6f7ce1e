/*
 * checkd, the health check child: runs the http and tcp checks raftd
 * sets and schedules the script checks the parent sets (check_proto.h),
 * each on its own interval, every probe from the one event loop, and
 * sends raftd every result.  Script checks are exec'd by the parent when
 * checkd says they are due, never here.  Before the sandbox it reads the CA
 * bundle for https checks and raises its descriptor limit, since each
 * running probe holds a socket; then it runs chrooted and unprivileged.
 */
#include <sys/types.h>
#include <sys/resource.h>

#include <stdlib.h>
#include <string.h>

#include <tls.h>

#include "checkd.h"
#include "config.h"
#include "log.h"
#include "mpack.h"
#include "proc.h"
#include "sandbox.h"

/* Descriptors beyond the probes: channels, the event loop, slack. */
#define CHECKD_FD_SPARE		64

static struct child	 checkd_child;

static void
checkd_result(const char *id, enum check_status st, const char *output,
    size_t len, void *arg)
{
	struct mpack_out	 out;

	mpack_out_init(&out);
	msgpack_pack_map(&out.pk, 3);
	mpack_kv_str(&out.pk, "id", id);
	mpack_kv_str(&out.pk, "status", check_status_name(st));
	mpack_str(&out.pk, "output");
	msgpack_pack_str(&out.pk, len);
	msgpack_pack_str_body(&out.pk, output, len);
	if (imsgev_compose(&checkd_child.peers[PROC_RAFTD], IMSG_CHECK_RESULT,
	    0, -1, out.sbuf.data, out.sbuf.size) == -1)
		fatal("checkd: compose");
	mpack_out_free(&out);
}

static void
checkd_dispatch_raftd(struct imsgev *iev, struct imsg *imsg)
{
	switch (imsg->hdr.type) {
	case IMSG_CHECK_SET:
		if (check_set_msg(imsg->data, imsg->len,
		    CHECK_FROM_RAFTD) == -1)
			fatalx("checkd: malformed check from %s", iev->name);
		break;
	case IMSG_CHECK_DEL:
		if (check_del_msg(imsg->data, imsg->len,
		    CHECK_FROM_RAFTD) == -1)
			fatalx("checkd: malformed check deletion from %s",
			    iev->name);
		break;
	default:
		fatalx("checkd: unexpected type %u from %s", imsg->hdr.type,
		    iev->name);
	}
}

/* A script check is due: the parent runs it and answers. */
static void
checkd_script_run(uint32_t run, const char *id, void *arg)
{
	struct mpack_out	 out;

	mpack_out_init(&out);
	msgpack_pack_map(&out.pk, 1);
	mpack_kv_str(&out.pk, "id", id);
	if (imsgev_compose(&checkd_child.parent, IMSG_SCRIPT_RUN, run, -1,
	    out.sbuf.data, out.sbuf.size) == -1)
		fatal("checkd: compose");
	mpack_out_free(&out);
}

/* The parent sets and deletes script checks and answers their runs. */
static void
checkd_dispatch_parent(struct child *c, struct imsg *imsg)
{
	switch (imsg->hdr.type) {
	case IMSG_CHECK_SET:
		if (check_set_msg(imsg->data, imsg->len,
		    CHECK_FROM_PARENT) == -1)
			fatalx("checkd: malformed check from parent");
		break;
	case IMSG_CHECK_DEL:
		if (check_del_msg(imsg->data, imsg->len,
		    CHECK_FROM_PARENT) == -1)
			fatalx("checkd: malformed check deletion from parent");
		break;
	case IMSG_SCRIPT_RESULT:
		if (script_result_msg(imsg->hdr.peerid, imsg->data,
		    imsg->len) == -1)
			fatalx("checkd: malformed script result from parent");
		break;
	default:
		fatalx("checkd: unexpected type %u from parent",
		    imsg->hdr.type);
	}
}

/* The CA bundle, read now: the chroot has none. */
static void
checkd_tls(void)
{
	uint8_t	*ca;
	size_t	 len = 0;

	if ((ca = tls_load_file(CHECK_CA_FILE, &len, NULL)) == NULL)
		log_warnx("tls: %s: cannot read the CA certificates, https "
		    "checks that verify will fail", CHECK_CA_FILE);
	if (trust_init(ca, len) == -1)
		fatalx("tls: cannot set up the client configurations");
	if (ca != NULL)
		tls_unload_file(ca, len);
}

/* Every running check may hold a socket. */
static void
checkd_fd_limit(void)
{
	struct rlimit	 rl;
	rlim_t		 want = CHECK_RUNNING_MAX + CHECKD_FD_SPARE;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		fatal("checkd: getrlimit");
	if (rl.rlim_cur >= want)
		return;
	rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
		fatal("checkd: setrlimit");
	if (rl.rlim_cur < want)
		log_info("checkd: at most %llu descriptors: fewer than %d "
		    "checks can probe at once", (unsigned long long)rl.rlim_cur,
		    CHECK_RUNNING_MAX);
}

int
main(int argc, char *argv[])
{
	struct child	*c = &checkd_child;

	proc_child_start(c, PROC_CHECKD, argc, argv);
	proc_child_peer(c, PROC_RAFTD, checkd_dispatch_raftd);
	checkd_fd_limit();
	checkd_tls();
	checks_init(c->base, checkd_result, NULL);
	script_init(checkd_script_run, NULL);
	c->parent_msg = checkd_dispatch_parent;
	sandbox_enter(PROC_CHECKD, PROC_EMPTY_DIR, c->conf->user);
	proc_child_run(c);
	checks_free();
	trust_free();
	return 0;
}
