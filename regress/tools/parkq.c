/*
 * parkq: park many blocking queries on an agent at once.
 *   parkq ADDR PORT PATH N SECONDS
 * opens N connections to ADDR:PORT (loopback only, as every test), sends
 * "GET PATH" on each, prints "sent N", then waits up to SECONDS for the
 * answers and prints "answered K of N, status 200: M, last after T ms".
 * Exits 0 when every query was answered with status 200.
 */
#include <sys/types.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static long
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
main(int argc, char *argv[])
{
	struct sockaddr_in	 sin;
	struct pollfd		*pfd;
	struct rlimit		 rl;
	char			 req[1024], buf[4096];
	long			 start, deadline, last = 0;
	int			 n, i, answered = 0, ok = 0, left, *done;
	ssize_t			 r;

	if (argc != 6) {
		fprintf(stderr, "usage: parkq addr port path n seconds\n");
		return 2;
	}
	n = atoi(argv[4]);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(atoi(argv[2]));
	if (n <= 0 || inet_pton(AF_INET, argv[1], &sin.sin_addr) != 1 ||
	    (ntohl(sin.sin_addr.s_addr) >> 24) != 127) {
		fprintf(stderr, "parkq: loopback addresses only\n");
		return 2;
	}
	rl.rlim_cur = rl.rlim_max = n + 64;
	setrlimit(RLIMIT_NOFILE, &rl);
	if ((pfd = calloc(n, sizeof(*pfd))) == NULL ||
	    (done = calloc(n, sizeof(*done))) == NULL)
		return 2;
	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s\r\n"
	    "Connection: close\r\n\r\n", argv[3], argv[1]);
	for (i = 0; i < n; i++) {
		pfd[i].fd = socket(AF_INET, SOCK_STREAM, 0);
		if (pfd[i].fd == -1 || connect(pfd[i].fd,
		    (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
		    write(pfd[i].fd, req, strlen(req)) != (ssize_t)strlen(req)) {
			fprintf(stderr, "parkq: connection %d: %s\n", i,
			    strerror(errno));
			return 1;
		}
		pfd[i].events = POLLIN;
	}
	printf("sent %d\n", n);
	fflush(stdout);
	start = now_ms();
	deadline = start + atol(argv[5]) * 1000;
	left = n;
	while (left > 0 && now_ms() < deadline) {
		if (poll(pfd, n, 100) == -1 && errno != EINTR)
			return 1;
		for (i = 0; i < n; i++) {
			if (done[i] || !(pfd[i].revents & (POLLIN | POLLHUP)))
				continue;
			r = read(pfd[i].fd, buf, sizeof(buf) - 1);
			if (r > 0 && done[i] == 0) {
				buf[r] = '\0';
				if (strncmp(buf, "HTTP/1.1 200", 12) == 0)
					ok++;
				answered++;
				last = now_ms() - start;
			}
			/* One answer per connection is all we wait for. */
			done[i] = 1;
			pfd[i].fd = -pfd[i].fd - 1;
			left--;
		}
	}
	printf("answered %d of %d, status 200: %d, last after %ld ms\n",
	    answered, n, ok, last);
	return ok == n ? 0 : 1;
}
