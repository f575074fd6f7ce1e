/*
 * Every listening socket is opened here, by the parent, before any child
 * exists: children never bind a privileged port and never need the
 * syscalls to do so.  Each socket goes to exactly one child.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <netinet/in.h>

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "consuld.h"
#include "log.h"

#define LISTEN_BACKLOG	1024
/* The receive buffer of the UDP sockets (DNS, gossip). */
#define UDP_RCVBUF	(4 * 1024 * 1024)

static void
listener_add(struct parent *p, enum imsg_socket_kind kind, int fd,
    const char *unix_path)
{
	p->listeners = reallocarray(p->listeners, p->nlisteners + 1,
	    sizeof(*p->listeners));
	if (p->listeners == NULL)
		fatal("listen");
	p->listeners[p->nlisteners].kind = kind;
	p->listeners[p->nlisteners].fd = fd;
	p->listeners[p->nlisteners].unix_path = NULL;
	if (unix_path != NULL &&
	    (p->listeners[p->nlisteners].unix_path = strdup(unix_path)) ==
	    NULL)
		fatal("listen");
	p->nlisteners++;
}

static int
listen_unix(const char *path)
{
	struct sockaddr_un	 sun;
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, path, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path))
		fatalx("listen: unix socket path too long: %s", path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0)) == -1)
		fatal("listen: socket");
	if (unlink(path) == -1 && errno != ENOENT)
		fatal("listen: unlink %s", path);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		fatal("listen: bind unix:%s", path);
	if (listen(fd, LISTEN_BACKLOG) == -1)
		fatal("listen: listen unix:%s", path);
	return fd;
}

static int
listen_inet(const char *addr, int port, int type)
{
	struct addrinfo	 hints, *res;
	char		 portstr[16];
	int		 fd, on = 1, error, rcvbuf = UDP_RCVBUF;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = type;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
	snprintf(portstr, sizeof(portstr), "%d", port);
	if ((error = getaddrinfo(addr, portstr, &hints, &res)) != 0)
		fatalx("listen: bad address \"%s\": %s", addr,
		    gai_strerror(error));
	fd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, 0);
	if (fd == -1)
		fatal("listen: socket");
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1)
		fatal("listen: SO_REUSEADDR");
	if (res->ai_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6,
	    IPV6_V6ONLY, &on, sizeof(on)) == -1)
		fatal("listen: IPV6_V6ONLY");
	if (bind(fd, res->ai_addr, res->ai_addrlen) == -1)
		fatal("listen: bind %s%s%s:%d/%s",
		    res->ai_family == AF_INET6 ? "[" : "", addr,
		    res->ai_family == AF_INET6 ? "]" : "", port,
		    type == SOCK_STREAM ? "tcp" : "udp");
	if (type == SOCK_STREAM && listen(fd, LISTEN_BACKLOG) == -1)
		fatal("listen: listen %s:%d", addr, port);
	/*
	 * A burst of DNS queries or gossip must wait in the socket, not be
	 * dropped, while the child is busy: a receive buffer beyond the
	 * default, forced as root would be, else as large as allowed.
	 */
	if (type == SOCK_DGRAM &&
	    setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf,
	    sizeof(rcvbuf)) == -1 &&
	    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf,
	    sizeof(rcvbuf)) == -1)
		log_debug("listen: cannot enlarge the receive buffer of "
		    "%s:%d/udp", addr, port);
	freeaddrinfo(res);
	return fd;
}

/*
 * addrs is Consul's form: one address, or several separated by spaces;
 * "unix:///path" is a unix socket (stream kinds only).
 */
static void
listen_addrs(struct parent *p, const char *addrs, int port,
    enum imsg_socket_kind tcp_kind, enum imsg_socket_kind udp_kind)
{
	char	*copy, *s, *word;

	if (port <= 0 || addrs == NULL)
		return;
	if ((copy = strdup(addrs)) == NULL)
		fatal("listen");
	s = copy;
	while ((word = strsep(&s, " \t")) != NULL) {
		if (*word == '\0')
			continue;
		if (strncmp(word, "unix://", 7) == 0) {
			if (tcp_kind == SOCKET_KIND_MAX)
				fatalx("listen: %s: unix sockets serve "
				    "streams only", word);
			listener_add(p, tcp_kind, listen_unix(word + 7),
			    word + 7);
			continue;
		}
		if (tcp_kind != SOCKET_KIND_MAX)
			listener_add(p, tcp_kind,
			    listen_inet(word, port, SOCK_STREAM), NULL);
		if (udp_kind != SOCKET_KIND_MAX)
			listener_add(p, udp_kind,
			    listen_inet(word, port, SOCK_DGRAM), NULL);
		log_debug("listen: %s port %d", word, port);
	}
	free(copy);
}

void
listeners_open(struct parent *p)
{
	struct config	*c = p->conf;

	listen_addrs(p, c->addresses.http, c->ports.http, SOCKET_HTTP,
	    SOCKET_KIND_MAX);
	listen_addrs(p, c->addresses.https, c->ports.https, SOCKET_HTTPS,
	    SOCKET_KIND_MAX);
	listen_addrs(p, c->addresses.dns, c->ports.dns, SOCKET_DNS_TCP,
	    SOCKET_DNS_UDP);
	listen_addrs(p, c->bind_addr, c->ports.serf_lan, SOCKET_SERF_LAN_TCP,
	    SOCKET_SERF_LAN_UDP);
	if (c->server) {
		listen_addrs(p, c->bind_addr, c->ports.serf_wan,
		    SOCKET_SERF_WAN_TCP, SOCKET_SERF_WAN_UDP);
		listen_addrs(p, c->bind_addr, c->ports.server,
		    SOCKET_SERVER_RPC, SOCKET_KIND_MAX);
	}
}

/* The unix sockets' files are ours to remove; descriptors went to children. */
void
listeners_close(struct parent *p)
{
	size_t	 i;

	for (i = 0; i < p->nlisteners; i++) {
		if (p->listeners[i].fd != -1)
			close(p->listeners[i].fd);
		if (p->listeners[i].unix_path != NULL) {
			unlink(p->listeners[i].unix_path);
			free(p->listeners[i].unix_path);
		}
	}
	free(p->listeners);
	p->listeners = NULL;
	p->nlisteners = 0;
}
