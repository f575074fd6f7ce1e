/*
 * The process picture shared by the parent and its children: the
 * process table, which pairs talk, and the start-up of a child (take the
 * config and descriptors from the parent, then hand over to the child's
 * own code to open what it needs and enter its sandbox).
 */
#ifndef CONSULD_PROC_H
#define CONSULD_PROC_H

#include <event2/event.h>

#include "imsgev.h"
#include "imsg_types.h"

enum proc_id {
	PROC_PARENT,
	PROC_RAFTD,
	PROC_GOSSIPD,
	PROC_APID,
	PROC_DNSD,
	PROC_CHECKD,
	PROC_MAX
};

/* The parent's end of the channel is always this descriptor in a child. */
#define PROC_PARENT_FD		3
/* The argument the parent passes so a child knows who started it. */
#define PROC_CHILD_FLAG		"-C"
/* Where children without a data directory are chrooted. */
#define PROC_EMPTY_DIR		"/run/consuld/empty"

#define PROC_MAX_SOCKETS	32

struct config;
struct tls_material;

struct proc_socket {
	enum imsg_socket_kind	 kind;
	int			 fd;
};

struct child {
	enum proc_id		 id;
	const char		*name;
	struct config		*conf;
	struct event_base	*base;
	struct imsgev		 parent;
	int			 parent_open;
	struct imsgev		 peers[PROC_MAX];
	int			 peer_fds[PROC_MAX];
	struct proc_socket	 sockets[PROC_MAX_SOCKETS];
	int			 nsockets;
	struct event		*sigev[1];
	/* Called after a reload (conf is the new one) with the old, or NULL. */
	void			(*reload)(struct child *, struct config *);
	/* The last IMSG_CTL_TLS, until the child takes it; or NULL. */
	struct tls_material	*tls;
	/* Messages from the parent beyond the common ones, or NULL. */
	void			(*parent_msg)(struct child *, struct imsg *);
};

extern const char *const proc_names[PROC_MAX];

int	 proc_channel_between(enum proc_id, enum proc_id);
void	 proc_child_start(struct child *, enum proc_id, int, char **);
void	 proc_child_parent(struct child *);
void	 proc_child_run(struct child *);
int	 proc_child_socket(struct child *, enum imsg_socket_kind);
void	 proc_child_peer(struct child *, enum proc_id, imsgev_dispatch_fn);
void	 proc_child_shutdown(struct child *);
struct tls_material *proc_child_take_tls(struct child *);

#endif
