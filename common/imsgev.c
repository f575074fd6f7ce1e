/*
 * libevent glue for imsg channels.  The event is re-armed after every
 * callback with EV_WRITE only while something is queued, so an idle
 * channel costs nothing.
 */
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "imsgev.h"
#include "imsg_types.h"
#include "log.h"

static void	imsgev_handler(evutil_socket_t, short, void *);

void
imsgev_init(struct imsgev *iev, struct event_base *base, int fd,
    const char *name, imsgev_dispatch_fn dispatch, void *arg)
{
	int	 flags;

	if ((flags = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, flags | O_NONBLOCK) == -1)
		fatal("imsgev: %s: fcntl", name);
	imsgbuf_init(&iev->ibuf, fd);
	iev->base = base;
	iev->name = name;
	iev->dispatch = dispatch;
	iev->closed = NULL;
	iev->broken = NULL;
	iev->arg = arg;
	iev->events = 0;
	imsgev_update(iev);
}

void
imsgev_update(struct imsgev *iev)
{
	short	 events = EV_READ;

	if (iev->ibuf.queued > 0)
		events |= EV_WRITE;
	if (iev->events == events)
		return;
	if (iev->events != 0)
		event_del(&iev->ev);
	iev->events = events;
	event_assign(&iev->ev, iev->base, iev->ibuf.fd, events | EV_PERSIST,
	    imsgev_handler, iev);
	if (event_add(&iev->ev, NULL) == -1)
		fatalx("imsgev: %s: event_add failed", iev->name);
}

int
imsgev_compose(struct imsgev *iev, uint32_t type, uint32_t peerid, int fd,
    const void *data, size_t len)
{
	if (imsg_compose(&iev->ibuf, type, peerid, 0, fd, data, len) == -1)
		return -1;
	imsgev_update(iev);
	return 0;
}

void
imsgev_clear(struct imsgev *iev)
{
	if (iev->events != 0)
		event_del(&iev->ev);
	iev->events = 0;
	imsgbuf_clear(&iev->ibuf);
}

static void
imsgev_lost(struct imsgev *iev)
{
	if (iev->closed != NULL) {
		iev->closed(iev);
		return;
	}
	fatalx("imsg: %s closed the channel", iev->name);
}

static void
imsgev_broken(struct imsgev *iev, const char *why)
{
	if (iev->broken != NULL) {
		iev->broken(iev, why);
		return;
	}
	fatalx("imsg: %s from %s", why, iev->name);
}

static void
imsgev_handler(evutil_socket_t fd, short events, void *arg)
{
	struct imsgev	*iev = arg;
	struct imsg	 imsg;
	ssize_t		 n;
	int		 r;

	if (events & EV_WRITE) {
		if (imsgbuf_write(&iev->ibuf) == -1) {
			if (errno == EPIPE || errno == ECONNRESET) {
				imsgev_lost(iev);
				return;
			}
			fatal("imsg: write to %s", iev->name);
		}
	}
	if (events & EV_READ) {
		n = imsgbuf_read(&iev->ibuf);
		if (n == -1 && errno != EAGAIN) {
			if (errno == ECONNRESET) {
				imsgev_lost(iev);
				return;
			}
			fatal("imsg: read from %s", iev->name);
		}
		if (n == 0) {
			imsgev_lost(iev);
			return;
		}
		for (;;) {
			r = imsg_get(&iev->ibuf, &imsg);
			if (r == 0)
				break;
			if (r == -1) {
				imsgev_broken(iev, "malformed frame");
				return;
			}
			if (imsg.hdr.type == 0 ||
			    imsg.hdr.type >= IMSG_TYPE_MAX) {
				if (imsg.fd != -1)
					close(imsg.fd);
				imsg_free(&imsg);
				imsgev_broken(iev, "unknown message type");
				return;
			}
			iev->dispatch(iev, &imsg);
			if (imsg.fd != -1)
				close(imsg.fd);
			imsg_free(&imsg);
		}
	}
	imsgev_update(iev);
}

/* The next request id of a counter: never 0, which means "none". */
uint32_t
imsgev_next_id(uint32_t *counter)
{
	if (++*counter == 0)
		*counter = 1;
	return *counter;
}
