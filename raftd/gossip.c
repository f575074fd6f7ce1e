/*
 * What raftd does for gossipd.  apid talks to raftd only, so the gossip
 * operations of the HTTP API (join, leave, force-leave, event, keyring)
 * pass through here unchanged, both ways.  gossipd is chrooted to an
 * empty directory, so raftd keeps its keyring files in data_dir: it
 * reads them once at start-up and writes one whenever gossipd says the
 * keyring of a pool changed.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "fdio.h"
#include "log.h"
#include "mpack.h"
#include "raftd.h"

/* gossipd's bound (gossipd/keyring.h): no keyring file is larger. */
#define KEYRING_FILE_MAX	(64 * 1024)
#define KEYRING_DIR		"serf"

/* Consul's names, by pool: 0 LAN, 1 WAN. */
static const char *const keyring_files[] = {
	KEYRING_DIR "/local.keyring",
	KEYRING_DIR "/remote.keyring"
};

static void
gossip_relay(struct imsgev *from, struct imsgev *to, struct imsg *imsg)
{
	imsg_need_len_between(imsg, 1, IMSG_GOSSIP_MAX, from->name);
	if (imsgev_compose(to, imsg->hdr.type, imsg->hdr.peerid, -1,
	    imsg->data, imsg->len) == -1)
		fatal("gossip: compose");
}

/* apid: an operation for gossipd, which checks what it asks. */
void
gossip_relay_request(struct imsgev *iev, struct imsg *imsg)
{
	gossip_relay(iev, &raftd_child.peers[PROC_GOSSIPD], imsg);
}

/* gossipd: the answer to one, for the apid request of the same id. */
void
gossip_relay_result(struct imsgev *iev, struct imsg *imsg)
{
	gossip_relay(iev, &raftd_child.peers[PROC_APID], imsg);
}

/*
 * Read a keyring file into buf, which holds KEYRING_FILE_MAX + 1 bytes;
 * 0 when there is none.  A file that cannot be read, or is larger than
 * any keyring, stops the agent, as in Consul: starting with other keys
 * than the operator installed would split the cluster.
 */
static int
keyring_read(const char *path, char *buf, size_t *len)
{
	struct stat	 sb;
	ssize_t		 n;
	int		 fd;

	*len = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno == ENOENT)
			return 0;
		fatal("keyring: open %s", path);
	}
	if (fstat(fd, &sb) == -1)
		fatal("keyring: %s", path);
	if (!S_ISREG(sb.st_mode))
		fatalx("keyring: %s is not a regular file", path);
	for (;;) {
		n = read(fd, buf + *len, KEYRING_FILE_MAX + 1 - *len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			fatal("keyring: read %s", path);
		if (n == 0)
			break;
		*len += n;
		if (*len > KEYRING_FILE_MAX)
			fatalx("keyring: %s is larger than %d bytes, which "
			    "no keyring is: remove or repair it", path,
			    KEYRING_FILE_MAX);
	}
	close(fd);
	return 1;
}

static void
keyring_send_pool(struct imsgev *gossipd, uint8_t pool)
{
	struct mpack_out	 out;
	char			 buf[KEYRING_FILE_MAX + 1];
	size_t			 len;

	mpack_out_init(&out);
	msgpack_pack_array(&out.pk, 2);
	msgpack_pack_uint8(&out.pk, pool);
	if (keyring_read(keyring_files[pool], buf, &len))
		mpack_bin(&out.pk, buf, len);
	else
		msgpack_pack_nil(&out.pk);
	if (imsgev_compose(gossipd, IMSG_KEYRING_INIT, 0, -1, out.sbuf.data,
	    out.sbuf.size) == -1)
		fatal("keyring: compose");
	explicit_bzero(buf, len);
	explicit_bzero(out.sbuf.data, out.sbuf.size);
	mpack_out_free(&out);
}

/* Whether a pool's gossip is encrypted: it has a keyring. */
int
keyring_in_use(uint8_t pool)
{
	const char	*e = raftd_child.conf->encrypt;

	if (pool > 1)
		return 0;
	return (e != NULL && *e != '\0') ||
	    access(keyring_files[pool], F_OK) == 0;
}

/* At start, before the node id: the keyrings gossipd starts with. */
void
keyring_send_init(struct child *c)
{
	keyring_send_pool(&c->peers[PROC_GOSSIPD], 0);
	if (c->conf->server)
		keyring_send_pool(&c->peers[PROC_GOSSIPD], 1);
}

/*
 * Replace path with buf atomically: a crash leaves the old keyring or
 * the new one, never a part.  The temporary file is made anew so that
 * it has mode 0600 whatever an earlier attempt left behind.
 */
static int
keyring_write(const char *path, const void *buf, size_t len)
{
	char	 tmp[64];
	int	 fd, dfd, saved;

	if (mkdir(KEYRING_DIR, 0700) == -1 && errno != EEXIST)
		return -1;
	(void)snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (unlink(tmp) == -1 && errno != ENOENT)
		return -1;
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0600)) == -1)
		return -1;
	if (fd_write_all(fd, buf, len) == -1 || fsync(fd) == -1) {
		saved = errno;
		close(fd);
		goto fail;
	}
	if (close(fd) == -1 || rename(tmp, path) == -1) {
		saved = errno;
		goto fail;
	}
	/* The rename lasts once the directory is on disk too. */
	if ((dfd = open(KEYRING_DIR, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1)
		return -1;
	saved = fsync(dfd) == -1 ? errno : 0;
	close(dfd);
	errno = saved;
	return saved == 0 ? 0 : -1;
 fail:
	unlink(tmp);
	errno = saved;
	return -1;
}

/*
 * gossipd: a pool's keyring changed.  A file that cannot be written
 * is logged and the agent goes on with the keys in memory, as Consul
 * does; the next change tries again.
 */
void
keyring_save(struct imsgev *iev, struct imsg *imsg)
{
	msgpack_unpacked	 u;
	const msgpack_object	*a;
	uint64_t		 pool;

	if (mpack_parse(&u, imsg->data, imsg->len) == -1 ||
	    u.data.type != MSGPACK_OBJECT_ARRAY || u.data.via.array.size != 2)
		fatalx("keyring: malformed keyring from %s", iev->name);
	a = u.data.via.array.ptr;
	if (mpack_get_uint(&a[0], &pool) == -1 || pool > 1 ||
	    (pool == 1 && !raftd_child.conf->server) ||
	    a[1].type != MSGPACK_OBJECT_BIN ||
	    a[1].via.bin.size > KEYRING_FILE_MAX)
		fatalx("keyring: malformed keyring from %s", iev->name);
	if (keyring_write(keyring_files[pool], a[1].via.bin.ptr,
	    a[1].via.bin.size) == -1)
		log_warn("keyring: cannot save %s", keyring_files[pool]);
	else
		log_debug("keyring: saved %s", keyring_files[pool]);
	msgpack_unpacked_destroy(&u);
	explicit_bzero(imsg->data, imsg->len);
}
