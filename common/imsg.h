/*
 * Framed messages between consuld's processes over socketpairs, in the
 * manner of OpenBSD's imsg: a fixed header, a payload, an optional file
 * descriptor carried with SCM_RIGHTS, buffered non-blocking writes.
 * Every frame is bounded by IMSG_MAX_SIZE; a peer that sends a frame
 * outside the bounds is broken and the reader reports it as an error.
 */
#ifndef CONSULD_IMSG_H
#define CONSULD_IMSG_H

#include <sys/types.h>
#include <sys/uio.h>

#include <sys/queue.h>
#include <stddef.h>
#include <stdint.h>

/* Hard upper bound of one frame, header included. */
#define IMSG_MAX_SIZE		(2u * 1024 * 1024)
#define IMSG_FLAG_FD		0x0001
/* At most this many descriptors are accepted in one read. */
#define IMSG_MAX_FDS		16

struct imsg_hdr {
	uint32_t	 type;
	uint32_t	 len;		/* header + payload */
	uint16_t	 flags;
	uint16_t	 pad;
	uint32_t	 peerid;	/* request id, or 0 */
	uint32_t	 pid;
};

#define IMSG_HEADER_SIZE	sizeof(struct imsg_hdr)
#define IMSG_MAX_DATA		(IMSG_MAX_SIZE - IMSG_HEADER_SIZE)

struct ibuf {
	TAILQ_ENTRY(ibuf)	 entry;
	unsigned char		*buf;
	size_t			 size;
	size_t			 wpos;		/* bytes filled */
	size_t			 rpos;		/* bytes already sent */
	int			 fd;		/* sent with the first byte */
};

struct imsg_fd {
	TAILQ_ENTRY(imsg_fd)	 entry;
	int			 fd;
};

struct imsgbuf {
	int			 fd;
	pid_t			 pid;
	TAILQ_HEAD(, ibuf)	 wq;
	size_t			 queued;	/* bytes waiting to be sent */
	unsigned char		*rbuf;
	size_t			 rsize;
	size_t			 rlen;
	TAILQ_HEAD(, imsg_fd)	 fds;
	int			 nfds;
};

struct imsg {
	struct imsg_hdr		 hdr;
	int			 fd;	/* -1 unless IMSG_FLAG_FD */
	void			*data;	/* NULL when the payload is empty */
	size_t			 len;	/* payload length */
};

void	 imsgbuf_init(struct imsgbuf *, int);
void	 imsgbuf_clear(struct imsgbuf *);
ssize_t	 imsgbuf_read(struct imsgbuf *);
int	 imsgbuf_write(struct imsgbuf *);
int	 imsgbuf_flush(struct imsgbuf *);
int	 imsg_get(struct imsgbuf *, struct imsg *);
int	 imsg_compose(struct imsgbuf *, uint32_t, uint32_t, pid_t, int,
	    const void *, size_t);
int	 imsg_composev(struct imsgbuf *, uint32_t, uint32_t, pid_t, int,
	    const struct iovec *, int);
void	 imsg_free(struct imsg *);

int	 imsg_len_is(const struct imsg *, size_t);
int	 imsg_len_between(const struct imsg *, size_t, size_t);
void	 imsg_need_len(const struct imsg *, size_t, const char *);
void	 imsg_need_len_between(const struct imsg *, size_t, size_t,
	    const char *);

#endif
