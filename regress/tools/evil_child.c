/*
 * A child gone bad, for the parent's side of the imsg trust boundary:
 * it takes the place of one child in a test tree, completes the start-up
 * handshake like a real child, then sends what EVIL_MODE says:
 *   type       a frame with an unknown message type
 *   oversize   a header claiming more than IMSG_MAX_SIZE
 *   short      a header shorter than a header
 *   ready      IMSG_CTL_READY twice
 *   left       IMSG_CTL_LEFT, which only gossipd may send
 *   syscall    enters apid's seccomp filter, then calls socket(2)
 * The parent must log it, kill this process and take the suite down.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imsg.h"
#include "imsg_types.h"
#include "proc.h"
#include "sandbox.h"

static void
raw_header(int fd, uint32_t type, uint32_t len)
{
	struct imsg_hdr	 hdr;

	memset(&hdr, 0, sizeof(hdr));
	hdr.type = type;
	hdr.len = len;
	if (write(fd, &hdr, sizeof(hdr)) != sizeof(hdr))
		exit(2);
}

int
main(int argc, char *argv[])
{
	struct imsgbuf	 ibuf;
	struct imsg	 imsg;
	const char	*mode = getenv("EVIL_MODE");
	ssize_t		 n;
	int		 r, started = 0;

	if (mode == NULL)
		mode = "type";
	imsgbuf_init(&ibuf, PROC_PARENT_FD);
	while (!started) {
		n = imsgbuf_read(&ibuf);
		if (n <= 0 && errno != EAGAIN)
			exit(2);
		while ((r = imsg_get(&ibuf, &imsg)) == 1) {
			if (imsg.hdr.type == IMSG_CTL_START)
				started = 1;
			/* Descriptors stay open, as a real child keeps them. */
			imsg_free(&imsg);
		}
	}
	fprintf(stderr, "<2>evil: sending %s\n", mode);
	if (strcmp(mode, "type") == 0)
		raw_header(PROC_PARENT_FD, 9999, IMSG_HEADER_SIZE);
	else if (strcmp(mode, "oversize") == 0)
		raw_header(PROC_PARENT_FD, IMSG_CTL_READY, IMSG_MAX_SIZE + 1);
	else if (strcmp(mode, "short") == 0)
		raw_header(PROC_PARENT_FD, IMSG_CTL_READY, 4);
	else if (strcmp(mode, "left") == 0)
		raw_header(PROC_PARENT_FD, IMSG_CTL_LEFT, IMSG_HEADER_SIZE);
	else if (strcmp(mode, "syscall") == 0) {
		sandbox_filter(PROC_APID);
		(void)socket(AF_INET, SOCK_DGRAM, 0);
	}
	else {
		raw_header(PROC_PARENT_FD, IMSG_CTL_READY, IMSG_HEADER_SIZE);
		raw_header(PROC_PARENT_FD, IMSG_CTL_READY, IMSG_HEADER_SIZE);
	}
	/* Wait to be killed; never exit on our own. */
	for (;;)
		pause();
}
