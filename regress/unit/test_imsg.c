/*
 * imsg framing: round trips, many frames in one read, frames split over
 * many reads, descriptor passing, and frames that must be refused.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imsg.h"
#include "test.h"

static int	 sv[2];
static struct imsgbuf	 wb, rb;

static void
setup(void)
{
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
		abort();
	imsgbuf_init(&wb, sv[0]);
	imsgbuf_init(&rb, sv[1]);
}

static void
teardown(void)
{
	imsgbuf_clear(&wb);
	imsgbuf_clear(&rb);
	close(sv[0]);
	close(sv[1]);
}

static void
test_roundtrip(void)
{
	struct imsg	 imsg;

	setup();
	CHECK(imsg_compose(&wb, 7, 42, 0, -1, "hello", 5) == 0);
	CHECK(imsgbuf_flush(&wb) == 0);
	CHECK(imsgbuf_read(&rb) == (ssize_t)(IMSG_HEADER_SIZE + 5));
	CHECK(imsg_get(&rb, &imsg) == 1);
	CHECK(imsg.hdr.type == 7);
	CHECK(imsg.hdr.peerid == 42);
	CHECK(imsg.hdr.pid == (uint32_t)getpid());
	CHECK(imsg.len == 5 && memcmp(imsg.data, "hello", 5) == 0);
	CHECK(imsg.fd == -1);
	imsg_free(&imsg);
	CHECK(imsg_get(&rb, &imsg) == 0);
	teardown();
}

static void
test_empty_payload(void)
{
	struct imsg	 imsg;

	setup();
	CHECK(imsg_compose(&wb, 3, 0, 0, -1, NULL, 0) == 0);
	CHECK(imsgbuf_flush(&wb) == 0);
	CHECK(imsgbuf_read(&rb) > 0);
	CHECK(imsg_get(&rb, &imsg) == 1);
	CHECK(imsg.len == 0 && imsg.data == NULL);
	CHECK(imsg_len_is(&imsg, 0));
	CHECK(!imsg_len_is(&imsg, 1));
	CHECK(imsg_len_between(&imsg, 0, 4));
	imsg_free(&imsg);
	teardown();
}

static void
test_many_in_one_read(void)
{
	struct imsg	 imsg;
	uint32_t	 i, v;
	int		 got = 0;

	setup();
	for (i = 0; i < 100; i++)
		CHECK(imsg_compose(&wb, 1, i, 0, -1, &i, sizeof(i)) == 0);
	CHECK(imsgbuf_flush(&wb) == 0);
	while (got < 100 && imsgbuf_read(&rb) > 0) {
		while (imsg_get(&rb, &imsg) == 1) {
			memcpy(&v, imsg.data, sizeof(v));
			CHECK(v == (uint32_t)got);
			CHECK(imsg.hdr.peerid == (uint32_t)got);
			got++;
			imsg_free(&imsg);
		}
	}
	CHECK(got == 100);
	teardown();
}

/* Feed a frame one byte at a time: nothing appears until it is whole. */
static void
test_fragmented(void)
{
	struct imsgbuf	 tmp;
	struct imsg	 imsg;
	struct ibuf	*b;
	size_t		 i;
	int		 done = 0;

	setup();
	imsgbuf_init(&tmp, -1);
	CHECK(imsg_compose(&tmp, 9, 5, 0, -1, "fragmented!", 11) == 0);
	b = TAILQ_FIRST(&tmp.wq);
	for (i = 0; i < b->wpos; i++) {
		CHECK(write(sv[0], b->buf + i, 1) == 1);
		CHECK(imsgbuf_read(&rb) == 1);
		if (i + 1 < b->wpos)
			CHECK(imsg_get(&rb, &imsg) == 0);
		else {
			CHECK(imsg_get(&rb, &imsg) == 1);
			CHECK(imsg.len == 11 &&
			    memcmp(imsg.data, "fragmented!", 11) == 0);
			imsg_free(&imsg);
			done = 1;
		}
	}
	CHECK(done);
	imsgbuf_clear(&tmp);
	teardown();
}

static void
test_fd_passing(void)
{
	struct imsg	 imsg;
	int		 p[2];
	char		 c = 0;

	setup();
	CHECK(pipe(p) == 0);
	CHECK(imsg_compose(&wb, 2, 0, 0, p[1], "fd", 2) == 0);
	CHECK(imsg_compose(&wb, 2, 1, 0, -1, "nofd", 4) == 0);
	CHECK(imsgbuf_flush(&wb) == 0);
	while (rb.rlen < 2 * IMSG_HEADER_SIZE + 6)
		CHECK(imsgbuf_read(&rb) > 0);
	CHECK(imsg_get(&rb, &imsg) == 1);
	CHECK(imsg.fd >= 0);
	CHECK(write(imsg.fd, "x", 1) == 1);
	CHECK(read(p[0], &c, 1) == 1 && c == 'x');
	close(imsg.fd);
	imsg_free(&imsg);
	CHECK(imsg_get(&rb, &imsg) == 1);
	CHECK(imsg.fd == -1);
	imsg_free(&imsg);
	close(p[0]);
	teardown();
}

static void
send_header(uint32_t len, uint16_t flags)
{
	struct imsg_hdr	 hdr;

	memset(&hdr, 0, sizeof(hdr));
	hdr.type = 1;
	hdr.len = len;
	hdr.flags = flags;
	CHECK(write(sv[0], &hdr, sizeof(hdr)) == sizeof(hdr));
}

static void
test_oversize_rejected(void)
{
	struct imsg	 imsg;

	setup();
	send_header(IMSG_MAX_SIZE + 1, 0);
	CHECK(imsgbuf_read(&rb) > 0);
	errno = 0;
	CHECK(imsg_get(&rb, &imsg) == -1 && errno == EBADMSG);
	teardown();

	setup();
	CHECK(imsg_compose(&wb, 1, 0, 0, -1, "x", IMSG_MAX_DATA + 1) == -1);
	CHECK(errno == ERANGE);
	teardown();
}

static void
test_short_header_rejected(void)
{
	struct imsg	 imsg;

	setup();
	send_header(IMSG_HEADER_SIZE - 1, 0);
	CHECK(imsgbuf_read(&rb) > 0);
	CHECK(imsg_get(&rb, &imsg) == -1);
	teardown();
}

static void
test_bad_flags_rejected(void)
{
	struct imsg	 imsg;

	setup();
	send_header(IMSG_HEADER_SIZE, 0x8000);
	CHECK(imsgbuf_read(&rb) > 0);
	CHECK(imsg_get(&rb, &imsg) == -1);
	teardown();

	/* Claims a descriptor that never came. */
	setup();
	send_header(IMSG_HEADER_SIZE, IMSG_FLAG_FD);
	CHECK(imsgbuf_read(&rb) > 0);
	CHECK(imsg_get(&rb, &imsg) == -1);
	teardown();
}

/* A frame cut off by the peer's exit: incomplete, then end of file. */
static void
test_truncated_frame(void)
{
	struct imsg	 imsg;

	setup();
	send_header(IMSG_HEADER_SIZE + 100, 0);
	CHECK(write(sv[0], "abc", 3) == 3);
	close(sv[0]);
	CHECK(imsgbuf_read(&rb) > 0);
	CHECK(imsg_get(&rb, &imsg) == 0);
	CHECK(imsgbuf_read(&rb) == 0);
	sv[0] = open("/dev/null", O_RDONLY);
	teardown();
}

/* A frame near the maximum through a non-blocking socket. */
static void
test_large_nonblocking(void)
{
	struct imsg	 imsg;
	unsigned char	*big;
	size_t		 len = IMSG_MAX_DATA, i;
	int		 got = 0;

	setup();
	CHECK(fcntl(sv[0], F_SETFL, O_NONBLOCK) == 0);
	CHECK(fcntl(sv[1], F_SETFL, O_NONBLOCK) == 0);
	if ((big = malloc(len)) == NULL)
		abort();
	for (i = 0; i < len; i++)
		big[i] = i * 7;
	CHECK(imsg_compose(&wb, 4, 0, 0, -1, big, len) == 0);
	while (!got) {
		CHECK(imsgbuf_write(&wb) == 0);
		if (imsgbuf_read(&rb) == -1)
			CHECK(errno == EAGAIN);
		if (imsg_get(&rb, &imsg) == 1) {
			CHECK(imsg.len == len &&
			    memcmp(imsg.data, big, len) == 0);
			imsg_free(&imsg);
			got = 1;
		}
	}
	CHECK(wb.queued == 0);
	free(big);
	teardown();
}

int
main(void)
{
	const struct test_case	 cases[] = {
		TEST_CASE(test_roundtrip),
		TEST_CASE(test_empty_payload),
		TEST_CASE(test_many_in_one_read),
		TEST_CASE(test_fragmented),
		TEST_CASE(test_fd_passing),
		TEST_CASE(test_oversize_rejected),
		TEST_CASE(test_short_header_rejected),
		TEST_CASE(test_bad_flags_rejected),
		TEST_CASE(test_truncated_frame),
		TEST_CASE(test_large_nonblocking),
	};

	return test_main(cases, sizeof(cases) / sizeof(cases[0]));
}
