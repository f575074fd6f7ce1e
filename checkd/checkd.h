/*
 * checkd's shared declarations: the table of checks and their schedule
 * (check.c), the connections a probe makes (net.c), the CAs https
 * checks trust (trust.c) and the check types (http.c, tcp.c,
 * script.c).
 * check_proto.h has what crosses to raftd.
 */
#ifndef CONSULD_CHECKD_H
#define CONSULD_CHECKD_H

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/tree.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <event2/event_struct.h>

#include "check_proto.h"

/* Where the CA bundle for https checks is read, before the sandbox. */
#define CHECK_CA_FILE		"/etc/ssl/certs/ca-certificates.crt"

/*
 * A result's output is cut there (a long method or status line could
 * make it larger): one imsg must hold it after the UTF-8 repair, which
 * may triple it.
 */
#define CHECK_RESULT_MAX	(256 * 1024)

/* Intervals and timeouts beyond a year are taken as a year. */
#define CHECK_TIME_MAX_MS	(366ULL * 24 * 3600 * 1000)
/* The first probe of a new check waits up to interval / 8, at most: */
#define CHECK_STAGGER_MAX_MS	500

enum check_status {
	CHECK_PASSING,
	CHECK_WARNING,
	CHECK_CRITICAL
};

struct check_header {
	char			*name;
	char			*value;
};

/* An address a probe connects to, and its text for messages. */
struct check_addr {
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	char			 text[INET6_ADDRSTRLEN + 8];
};

struct check;

/* What each check type does; see http.c and tcp.c. */
struct check_ops {
	/* Parse the target once, when the check is set. */
	void	(*prepare)(struct check *);
	/* Start a probe; it ends with check_report(). */
	void	(*start)(struct check *);
	/* Stop the running probe without a result. */
	void	(*stop)(struct check *);
	/* Free what prepare made. */
	void	(*clear)(struct check *);
};

struct check {
	RB_ENTRY(check)		 entry;
	char			*id;
	enum check_type		 type;
	const struct check_ops	*ops;
	char			*target;
	char			*method;	/* NULL: GET */
	struct check_header	*headers;
	size_t			 nheaders;
	char			*body;		/* NULL: none */
	size_t			 bodylen;
	int			 tls_skip_verify;
	uint64_t		 interval_ms;
	uint64_t		 timeout_ms;
	size_t			 output_max;
	struct event		 tick;
	void			*prep;		/* the type's, from prepare */
	void			*probe;		/* the running probe or NULL */
};

typedef void (*check_result_fn)(const char *, enum check_status,
	    const char *, size_t, void *);
/* Ask for a script check's run: the run's number, the check's id. */
typedef void (*script_run_fn)(uint32_t, const char *, void *);

/* Who sets a check: raftd (http, tcp) or the parent (script). */
enum check_source {
	CHECK_FROM_RAFTD,
	CHECK_FROM_PARENT
};

/* check.c */
void	 checks_init(struct event_base *, check_result_fn, void *);
void	 checks_free(void);
int	 check_set_msg(const void *, size_t, enum check_source);
int	 check_del_msg(const void *, size_t, enum check_source);
size_t	 checks_count(void);
size_t	 checks_probing(void);
struct event_base *check_base(void);
void	 check_report(struct check *, enum check_status, const char *,
	    size_t);
const char *check_status_name(enum check_status);

/* net.c: addresses, non-blocking connections, TLS */
#define CONN_WANT_READ		(-2)
#define CONN_WANT_WRITE		(-3)

struct tls;
struct tls_config;

struct conn {
	struct event_base	*base;
	int			 fd;
	struct tls		*tls;
	struct event		 ev;
	int			 ev_set;
	void			(*cb)(struct conn *, void *);
	void			*arg;
	const struct check_addr	*addr;
	char			 err[256];	/* the last error's text */
};

int	 net_hostport_split(const char *, char *, size_t, char *, size_t);
int	 net_resolve(const char *, const char *, struct check_addr *, char *,
	    size_t);
void	 conn_init(struct conn *);
int	 conn_open(struct conn *, struct event_base *,
	    const struct check_addr *, void (*)(struct conn *, void *),
	    void *);
int	 conn_connected(struct conn *);
void	 conn_wait(struct conn *, short);
int	 conn_starttls(struct conn *, struct tls_config *, const char *);
int	 conn_handshake(struct conn *);
ssize_t	 conn_read(struct conn *, void *, size_t);
ssize_t	 conn_write(struct conn *, const void *, size_t);
void	 conn_close(struct conn *);

/* trust.c: the CAs https checks verify against */
int	 trust_init(const uint8_t *, size_t);
void	 trust_free(void);
int	 trust_have_ca(void);
struct tls_config *trust_config(int);
struct tls_config *trust_for_peer(struct tls *);

/* http.c, tcp.c, script.c */
extern const struct check_ops	 http_ops;
extern const struct check_ops	 tcp_ops;
extern const struct check_ops	 script_ops;

void	 script_init(script_run_fn, void *);
int	 script_result_msg(uint32_t, const void *, size_t);
size_t	 script_runs(void);

#endif
