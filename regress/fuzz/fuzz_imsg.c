/*
 * libFuzzer target for the imsg reader: arbitrary bytes arrive on the
 * channel, as from a compromised peer process.  Every frame imsg_get()
 * returns must lie inside what was sent; a malformed frame must be
 * refused, never read past.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imsg.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imsgbuf	 ibuf;
	struct imsg	 imsg;
	size_t		 off = 0, chunk, total = 0;
	int		 sv[2], r;
	ssize_t		 n;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
		abort();
	imsgbuf_init(&ibuf, sv[1]);
	/* The first byte picks the write size, to vary fragmentation. */
	chunk = size > 0 ? (size_t)data[0] + 1 : 1;
	while (off < size) {
		n = write(sv[0], data + off,
		    size - off < chunk ? size - off : chunk);
		if (n <= 0)
			break;
		off += n;
		if (imsgbuf_read(&ibuf) <= 0)
			break;
		while ((r = imsg_get(&ibuf, &imsg)) == 1) {
			if (imsg.len + IMSG_HEADER_SIZE != imsg.hdr.len)
				abort();
			total += imsg.hdr.len;
			if (total > off)
				abort();
			if (imsg.len > 0)
				memset(imsg.data, 0, imsg.len);
			imsg_free(&imsg);
		}
		if (r == -1)
			break;
	}
	imsgbuf_clear(&ibuf);
	close(sv[0]);
	close(sv[1]);
	return 0;
}
