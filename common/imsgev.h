/*
 * An imsg channel driven by libevent: reads are dispatched one message
 * at a time to the owner's function, writes are queued and flushed when
 * the socket is writable.  A peer that closes the channel or sends a
 * frame that cannot be parsed is reported; by default both are fatal,
 * since a process whose sibling is gone or broken must not go on.
 * A dispatch function that keeps imsg->fd sets it to -1; otherwise the
 * descriptor is closed once the function returns.
 */
#ifndef CONSULD_IMSGEV_H
#define CONSULD_IMSGEV_H

#include <event2/event.h>
#include <event2/event_struct.h>

#include "imsg.h"

struct imsgev;
typedef void (*imsgev_dispatch_fn)(struct imsgev *, struct imsg *);

struct imsgev {
	struct imsgbuf		 ibuf;
	struct event		 ev;
	struct event_base	*base;
	short			 events;
	const char		*name;		/* the peer, for messages */
	imsgev_dispatch_fn	 dispatch;
	void			(*closed)(struct imsgev *);
	/* A malformed frame; when NULL it is fatal. */
	void			(*broken)(struct imsgev *, const char *);
	void			*arg;
};

void	imsgev_init(struct imsgev *, struct event_base *, int, const char *,
	    imsgev_dispatch_fn, void *);
void	imsgev_update(struct imsgev *);
int	imsgev_compose(struct imsgev *, uint32_t, uint32_t, int, const void *,
	    size_t);
void	imsgev_clear(struct imsgev *);
uint32_t imsgev_next_id(uint32_t *);

#endif
