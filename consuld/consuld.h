/*
 * The parent process: command line, configuration, listening sockets,
 * the children and their lifetimes.
 */
#ifndef CONSULD_CONSULD_H
#define CONSULD_CONSULD_H

#include <sys/types.h>

#include <event2/event.h>

#include "imsgev.h"
#include "proc.h"
#include "tlsconf.h"

struct config;

/* Where the configuration comes from, kept so SIGHUP can read it again. */
enum source_kind {
	SOURCE_FILE,
	SOURCE_DIR
};

struct source {
	enum source_kind	 kind;
	const char		*path;
};

struct flag_setting {
	const char		*key;		/* config key path */
	const char		*value;
	const char		*origin;	/* the flag, for messages */
};

struct options {
	int			 dev;
	int			 foreground;
	int			 configtest;
	struct source		*sources;
	size_t			 nsources;
	struct flag_setting	*settings;
	size_t			 nsettings;
};

struct child_proc {
	enum proc_id		 id;
	const char		*name;
	pid_t			 pid;
	int			 alive;
	int			 ready;
	struct imsgev		 iev;
	int			 errfd;		/* the child's stderr */
	struct event		*errev;
	char			 errbuf[4096];
	size_t			 errlen;
	int			 violation;	/* last seccomp report, or -1 */
	/* IMSG_CTL_RELOADs sent, IMSG_CTL_RELOAD_DONEs received */
	uint64_t		 reloads_sent;
	uint64_t		 reloads_done;
};

struct listener {
	enum imsg_socket_kind	 kind;
	int			 fd;
	char			*unix_path;	/* unlinked at exit */
};

/* A graceful leave of the gossip pools, before the shutdown. */
enum leave_state {
	LEAVE_NONE,
	LEAVE_ASKED,		/* on a signal: waiting for gossipd */
	LEAVE_DONE		/* gossipd left: shutting down soon */
};

struct parent {
	struct options		 opts;
	struct config		*conf;
	struct event_base	*base;
	struct child_proc	 children[PROC_MAX];
	struct listener		*listeners;
	size_t			 nlisteners;
	char			*dev_dir;	/* removed at exit */
	int			 shutting_down;
	int			 exit_code;
	struct event		*killtimer;
	enum leave_state	 leave;
	struct event		*leavetimer;
	/* The TLS files' bytes, read as root, for raftd and apid. */
	struct tls_material	 tls;
	/* Who script checks run as: dropped to when we are root. */
	int			 script_drop;
	uid_t			 script_uid;
	gid_t			 script_gid;
};

/* flags.c */
void	 flags_parse(struct options *, int, char **);
char	*absolute_path(const char *);
void	 flags_usage(void) __attribute__((noreturn));

/* consuld.c */
struct config *parent_load_config(const struct options *);
void	 parent_complete_config(struct parent *, struct config *);
void	 parent_shutdown(struct parent *, int);
void	 parent_child_ready(struct parent *);
void	 parent_left(struct parent *);

/* reload.c */
int	 parent_reload(struct parent *, const char *, char *, size_t);
void	 reload_request(struct parent *, uint32_t);
int	 reload_done(struct parent *, struct child_proc *);

/* children.c, for reload.c */
void	 children_send_tls(struct parent *, struct imsgbuf *,
	    struct imsgev *);

/* resolve.c */
void	 resolve_joins(struct config *);

/* children.c */
void	 children_start(struct parent *);
void	 children_reap(struct parent *);
void	 children_signal(struct parent *, int);
void	 children_send_reload(struct parent *);
int	 children_send_leave(struct parent *);
int	 children_alive(struct parent *);
const char *children_path(const char *);

/* script.c */
int	 script_set_msg(struct parent *, const void *, size_t);
int	 script_del_msg(struct parent *, const void *, size_t);
int	 script_run_msg(struct parent *, uint32_t, const void *, size_t);
void	 script_checkd_ready(struct parent *);
int	 script_reap(struct parent *, pid_t);
void	 script_kill_all(void);

/* listen.c */
void	 listeners_open(struct parent *);
void	 listeners_close(struct parent *);

/* sdnotify.c */
void	 sd_notify_state(const char *);

#endif
