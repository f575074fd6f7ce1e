/*
 * imsg throughput between two processes over a socketpair: small frames
 * (the request/answer traffic) and large ones (KV values near 512 KiB).
 * Prints numbers; asserts nothing.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "imsg.h"

static double
now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
run(const char *label, size_t size, int count)
{
	struct imsgbuf	 ib;
	struct imsg	 imsg;
	unsigned char	*payload;
	double		 t0, dt;
	pid_t		 pid;
	int		 sv[2], got = 0, i, r, status;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1 ||
	    (payload = calloc(1, size ? size : 1)) == NULL)
		exit(1);
	t0 = now();
	if ((pid = fork()) == 0) {
		close(sv[1]);
		imsgbuf_init(&ib, sv[0]);
		for (i = 0; i < count; i++) {
			if (imsg_compose(&ib, 1, i, 0, -1, payload, size) == -1)
				_exit(1);
			if (ib.queued > 4 * 1024 * 1024 &&
			    imsgbuf_flush(&ib) == -1)
				_exit(1);
		}
		_exit(imsgbuf_flush(&ib) == -1);
	}
	close(sv[0]);
	imsgbuf_init(&ib, sv[1]);
	while (got < count) {
		if (imsgbuf_read(&ib) <= 0)
			break;
		while ((r = imsg_get(&ib, &imsg)) == 1) {
			got++;
			imsg_free(&imsg);
		}
	}
	dt = now() - t0;
	waitpid(pid, &status, 0);
	printf("imsg %-6s %8zu B x %7d: %10.0f msg/s %8.1f MiB/s\n", label,
	    size, got, got / dt, got * (double)size / dt / 1048576);
	imsgbuf_clear(&ib);
	close(sv[1]);
	free(payload);
}

int
main(void)
{
	run("small", 64, 500000);
	run("medium", 4096, 100000);
	run("large", 512 * 1024, 2000);
	return 0;
}
