/*
 * Host names in retry_join and retry_join_wan, resolved by the parent:
 * gossipd is sandboxed without a resolver.  Each name becomes its first
 * address once, at start-up and on reload; a name that does not resolve
 * is kept, and gossipd says it cannot join it.  Consul's cloud auto-join
 * ("provider=...") is not supported and is said so.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netdb.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "consuld.h"
#include "log.h"

/* Split "host", "host:port" or "[host]:port"; 0 if it is an address. */
static int
split_host(const char *s, char *host, size_t hlen, char *port, size_t plen)
{
	unsigned char	 buf[16];
	const char	*colon, *end;

	*port = '\0';
	if (s[0] == '[') {
		if ((end = strchr(s, ']')) == NULL ||
		    (size_t)(end - s - 1) >= hlen)
			return -1;
		memcpy(host, s + 1, end - s - 1);
		host[end - s - 1] = '\0';
		if (end[1] == ':')
			strlcpy(port, end + 2, plen);
	} else if ((colon = strchr(s, ':')) != NULL &&
	    strchr(colon + 1, ':') == NULL) {
		if ((size_t)(colon - s) >= hlen)
			return -1;
		memcpy(host, s, colon - s);
		host[colon - s] = '\0';
		strlcpy(port, colon + 1, plen);
	} else if (strlcpy(host, s, hlen) >= hlen)
		return -1;
	if (inet_pton(AF_INET, host, buf) == 1 ||
	    inet_pton(AF_INET6, host, buf) == 1)
		return 0;
	return 1;
}

static void
resolve_list(struct config_strlist *l, const char *key)
{
	struct addrinfo	 hints, *res, *ai;
	char		 host[256], port[16], ip[INET6_ADDRSTRLEN], *s;
	size_t		 i;
	int		 rc;

	for (i = 0; i < l->n; i++) {
		if (strncmp(l->v[i], "provider=", 9) == 0) {
			log_warnx("config: %s: cloud auto-join (\"%s\") is not "
			    "supported", key, l->v[i]);
			continue;
		}
		if (split_host(l->v[i], host, sizeof(host), port,
		    sizeof(port)) != 1)
			continue;
		memset(&hints, 0, sizeof(hints));
		hints.ai_family = AF_UNSPEC;
		hints.ai_socktype = SOCK_DGRAM;
		if ((rc = getaddrinfo(host, NULL, &hints, &res)) != 0) {
			log_warnx("config: %s: cannot resolve \"%s\": %s", key,
			    host, gai_strerror(rc));
			continue;
		}
		/* IPv4 first, as Go's resolver orders them for Consul. */
		for (ai = res; ai != NULL && ai->ai_family != AF_INET;
		    ai = ai->ai_next)
			;
		if (ai == NULL)
			ai = res;
		if (getnameinfo(ai->ai_addr, ai->ai_addrlen, ip, sizeof(ip),
		    NULL, 0, NI_NUMERICHOST) != 0) {
			freeaddrinfo(res);
			continue;
		}
		if (asprintf(&s, ai->ai_family == AF_INET6 ? "[%s]%s%s" :
		    "%s%s%s", ip, *port != '\0' ? ":" : "", port) == -1)
			fatal(NULL);
		freeaddrinfo(res);
		log_info("config: %s: %s is %s", key, l->v[i], s);
		free(l->v[i]);
		l->v[i] = s;
	}
}

void
resolve_joins(struct config *conf)
{
	resolve_list(&conf->retry_join, "retry_join");
	resolve_list(&conf->retry_join_wan, "retry_join_wan");
}
