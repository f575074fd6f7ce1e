/*
 * Our imsg: framing, buffered writes and descriptor passing over a
 * stream socketpair.  Nothing here trusts the peer: a header is checked
 * against IMSG_MAX_SIZE before any payload byte is looked at, and a frame
 * that claims a descriptor only gets one that really arrived.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imsg.h"
#include "log.h"

#define IMSG_RBUF_INITIAL	65536

void
imsgbuf_init(struct imsgbuf *ibuf, int fd)
{
	memset(ibuf, 0, sizeof(*ibuf));
	ibuf->fd = fd;
	ibuf->pid = getpid();
	TAILQ_INIT(&ibuf->wq);
	TAILQ_INIT(&ibuf->fds);
}

void
imsgbuf_clear(struct imsgbuf *ibuf)
{
	struct ibuf	*b;
	struct imsg_fd	*f;

	while ((b = TAILQ_FIRST(&ibuf->wq)) != NULL) {
		TAILQ_REMOVE(&ibuf->wq, b, entry);
		if (b->fd != -1)
			close(b->fd);
		free(b->buf);
		free(b);
	}
	ibuf->queued = 0;
	while ((f = TAILQ_FIRST(&ibuf->fds)) != NULL) {
		TAILQ_REMOVE(&ibuf->fds, f, entry);
		close(f->fd);
		free(f);
	}
	ibuf->nfds = 0;
	free(ibuf->rbuf);
	ibuf->rbuf = NULL;
	ibuf->rsize = ibuf->rlen = 0;
}

/*
 * Read what the socket has.  Returns the number of bytes read, 0 at end
 * of file, -1 on error (errno EAGAIN when there was nothing to read).
 */
ssize_t
imsgbuf_read(struct imsgbuf *ibuf)
{
	struct msghdr	 msg;
	struct cmsghdr	*cmsg;
	struct iovec	 iov;
	struct imsg_fd	*f;
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int) * IMSG_MAX_FDS)];
	} cmsgbuf;
	unsigned char	*nbuf;
	ssize_t		 n;
	size_t		 i, nfd;
	int		 fd;

	if (ibuf->rbuf == NULL) {
		if ((ibuf->rbuf = malloc(IMSG_RBUF_INITIAL)) == NULL)
			return -1;
		ibuf->rsize = IMSG_RBUF_INITIAL;
	}
	if (ibuf->rlen == ibuf->rsize) {
		/* A whole frame is at most IMSG_MAX_SIZE, so is the buffer. */
		if (ibuf->rsize >= IMSG_MAX_SIZE) {
			errno = EMSGSIZE;
			return -1;
		}
		nbuf = realloc(ibuf->rbuf, IMSG_MAX_SIZE);
		if (nbuf == NULL)
			return -1;
		ibuf->rbuf = nbuf;
		ibuf->rsize = IMSG_MAX_SIZE;
	}

	memset(&msg, 0, sizeof(msg));
	memset(&cmsgbuf, 0, sizeof(cmsgbuf));
	iov.iov_base = ibuf->rbuf + ibuf->rlen;
	iov.iov_len = ibuf->rsize - ibuf->rlen;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = &cmsgbuf.buf;
	msg.msg_controllen = sizeof(cmsgbuf.buf);

	do {
		n = recvmsg(ibuf->fd, &msg, MSG_CMSG_CLOEXEC);
	} while (n == -1 && errno == EINTR);
	if (n == -1)
		return -1;

	for (cmsg = CMSG_FIRSTHDR(&msg); cmsg != NULL;
	    cmsg = CMSG_NXTHDR(&msg, cmsg)) {
		if (cmsg->cmsg_level != SOL_SOCKET ||
		    cmsg->cmsg_type != SCM_RIGHTS)
			continue;
		nfd = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < nfd; i++) {
			memcpy(&fd, CMSG_DATA(cmsg) + i * sizeof(int),
			    sizeof(fd));
			if ((f = calloc(1, sizeof(*f))) == NULL) {
				close(fd);
				continue;
			}
			f->fd = fd;
			TAILQ_INSERT_TAIL(&ibuf->fds, f, entry);
			ibuf->nfds++;
		}
	}
	if (msg.msg_flags & MSG_CTRUNC) {
		errno = EMSGSIZE;
		return -1;
	}
	ibuf->rlen += n;
	return n;
}

/*
 * Take the next complete frame out of the read buffer.  Returns 1 and
 * fills imsg, 0 when no complete frame is buffered yet, -1 (errno
 * EBADMSG) when the buffered bytes cannot be a valid frame.
 */
int
imsg_get(struct imsgbuf *ibuf, struct imsg *imsg)
{
	struct imsg_hdr	 hdr;
	struct imsg_fd	*f;
	size_t		 datalen;

	if (ibuf->rlen < IMSG_HEADER_SIZE)
		return 0;
	memcpy(&hdr, ibuf->rbuf, sizeof(hdr));
	if (hdr.len < IMSG_HEADER_SIZE || hdr.len > IMSG_MAX_SIZE ||
	    (hdr.flags & ~IMSG_FLAG_FD) != 0) {
		errno = EBADMSG;
		return -1;
	}
	if (ibuf->rlen < hdr.len)
		return 0;
	if ((hdr.flags & IMSG_FLAG_FD) && TAILQ_EMPTY(&ibuf->fds)) {
		errno = EBADMSG;
		return -1;
	}

	datalen = hdr.len - IMSG_HEADER_SIZE;
	memset(imsg, 0, sizeof(*imsg));
	imsg->hdr = hdr;
	imsg->len = datalen;
	imsg->fd = -1;
	if (datalen > 0) {
		if ((imsg->data = malloc(datalen)) == NULL)
			return -1;
		memcpy(imsg->data, ibuf->rbuf + IMSG_HEADER_SIZE, datalen);
	}
	if (hdr.flags & IMSG_FLAG_FD) {
		f = TAILQ_FIRST(&ibuf->fds);
		TAILQ_REMOVE(&ibuf->fds, f, entry);
		ibuf->nfds--;
		imsg->fd = f->fd;
		free(f);
	}
	ibuf->rlen -= hdr.len;
	memmove(ibuf->rbuf, ibuf->rbuf + hdr.len, ibuf->rlen);
	return 1;
}

void
imsg_free(struct imsg *imsg)
{
	free(imsg->data);
	imsg->data = NULL;
	imsg->len = 0;
}

int
imsg_composev(struct imsgbuf *ibuf, uint32_t type, uint32_t peerid,
    pid_t pid, int fd, const struct iovec *iov, int iovcnt)
{
	struct imsg_hdr	 hdr;
	struct ibuf	*b;
	size_t		 len = IMSG_HEADER_SIZE, off;
	int		 i;

	for (i = 0; i < iovcnt; i++) {
		if (iov[i].iov_len > IMSG_MAX_DATA ||
		    len + iov[i].iov_len > IMSG_MAX_SIZE) {
			errno = ERANGE;
			return -1;
		}
		len += iov[i].iov_len;
	}

	memset(&hdr, 0, sizeof(hdr));
	hdr.type = type;
	hdr.len = len;
	hdr.peerid = peerid;
	hdr.pid = pid ? (uint32_t)pid : (uint32_t)ibuf->pid;
	if (fd != -1)
		hdr.flags |= IMSG_FLAG_FD;

	if ((b = calloc(1, sizeof(*b))) == NULL)
		return -1;
	if ((b->buf = malloc(len)) == NULL) {
		free(b);
		return -1;
	}
	memcpy(b->buf, &hdr, sizeof(hdr));
	off = sizeof(hdr);
	for (i = 0; i < iovcnt; i++) {
		if (iov[i].iov_len > 0)
			memcpy(b->buf + off, iov[i].iov_base, iov[i].iov_len);
		off += iov[i].iov_len;
	}
	b->size = b->wpos = len;
	b->fd = fd;
	TAILQ_INSERT_TAIL(&ibuf->wq, b, entry);
	ibuf->queued += len;
	return 0;
}

int
imsg_compose(struct imsgbuf *ibuf, uint32_t type, uint32_t peerid,
    pid_t pid, int fd, const void *data, size_t len)
{
	struct iovec	 iov;

	iov.iov_base = (void *)data;
	iov.iov_len = len;
	return imsg_composev(ibuf, type, peerid, pid, fd, &iov, len ? 1 : 0);
}

/*
 * Send as much of the queue as the socket takes.  A descriptor goes out
 * alone with the first byte of its frame, so the receiver can pair them.
 * Returns 0 (the rest stays queued on EAGAIN) or -1 on a real error.
 */
int
imsgbuf_write(struct imsgbuf *ibuf)
{
	struct iovec	 iov[64];
	struct msghdr	 msg;
	struct cmsghdr	*cmsg;
	struct ibuf	*b, *next;
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int))];
	} cmsgbuf;
	ssize_t		 n;
	size_t		 left;
	int		 i = 0, fd = -1;

	while (!TAILQ_EMPTY(&ibuf->wq)) {
		memset(&msg, 0, sizeof(msg));
		i = 0;
		fd = -1;
		TAILQ_FOREACH(b, &ibuf->wq, entry) {
			if (i >= (int)(sizeof(iov) / sizeof(iov[0])))
				break;
			if (i > 0 && b->fd != -1)
				break;
			iov[i].iov_base = b->buf + b->rpos;
			iov[i].iov_len = b->wpos - b->rpos;
			if (i == 0 && b->fd != -1)
				fd = b->fd;
			i++;
			if (fd != -1)
				break;
		}
		msg.msg_iov = iov;
		msg.msg_iovlen = i;
		if (fd != -1) {
			memset(&cmsgbuf, 0, sizeof(cmsgbuf));
			msg.msg_control = &cmsgbuf.buf;
			msg.msg_controllen = sizeof(cmsgbuf.buf);
			cmsg = CMSG_FIRSTHDR(&msg);
			cmsg->cmsg_len = CMSG_LEN(sizeof(int));
			cmsg->cmsg_level = SOL_SOCKET;
			cmsg->cmsg_type = SCM_RIGHTS;
			memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
		}
		do {
			n = sendmsg(ibuf->fd, &msg, MSG_NOSIGNAL);
		} while (n == -1 && errno == EINTR);
		if (n == -1) {
			if (errno == EAGAIN || errno == ENOBUFS)
				return 0;
			return -1;
		}
		if (fd != -1) {
			/* The descriptor went with the first byte. */
			b = TAILQ_FIRST(&ibuf->wq);
			close(b->fd);
			b->fd = -1;
		}
		left = n;
		ibuf->queued -= left;
		for (b = TAILQ_FIRST(&ibuf->wq); b != NULL && left > 0;
		    b = next) {
			next = TAILQ_NEXT(b, entry);
			if (left < b->wpos - b->rpos) {
				b->rpos += left;
				break;
			}
			left -= b->wpos - b->rpos;
			TAILQ_REMOVE(&ibuf->wq, b, entry);
			free(b->buf);
			free(b);
		}
	}
	return 0;
}

/* Write until the queue is empty, waiting on a blocking socket. */
int
imsgbuf_flush(struct imsgbuf *ibuf)
{
	while (ibuf->queued > 0) {
		if (imsgbuf_write(ibuf) == -1)
			return -1;
	}
	return 0;
}

int
imsg_len_is(const struct imsg *imsg, size_t len)
{
	return imsg->len == len;
}

int
imsg_len_between(const struct imsg *imsg, size_t min, size_t max)
{
	return imsg->len >= min && imsg->len <= max;
}

/* A peer process that sends a wrong length is broken: stop here. */
void
imsg_need_len(const struct imsg *imsg, size_t len, const char *what)
{
	if (!imsg_len_is(imsg, len))
		fatalx("imsg: %s: type %u has length %zu, want %zu", what,
		    imsg->hdr.type, imsg->len, len);
}

void
imsg_need_len_between(const struct imsg *imsg, size_t min, size_t max,
    const char *what)
{
	if (!imsg_len_between(imsg, min, max))
		fatalx("imsg: %s: type %u has length %zu, want %zu..%zu", what,
		    imsg->hdr.type, imsg->len, min, max);
}
