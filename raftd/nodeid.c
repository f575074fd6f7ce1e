/*
 * The node id: a UUID that names this agent for its whole life.  It is
 * taken from the configuration when set, else read from data_dir, else
 * made from random bytes and written there (atomically: a temporary
 * file, fsync, rename), so a restart keeps it.
 */
#include <sys/types.h>
#include <sys/random.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "raftd.h"

#define UUID_LEN	36

/* 8-4-4-4-12 hex digits, any case, as Consul accepts. */
int
node_id_valid(const char *s)
{
	int	 i;

	if (strlen(s) != UUID_LEN)
		return 0;
	for (i = 0; i < UUID_LEN; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return 0;
		} else if (!isxdigit((unsigned char)s[i]))
			return 0;
	}
	return 1;
}

static char *
node_id_generate(void)
{
	unsigned char	 b[16];
	char		*id;

	if (getrandom(b, sizeof(b), 0) != sizeof(b))
		fatal("nodeid: getrandom");
	b[6] = (b[6] & 0x0f) | 0x40;	/* version 4 */
	b[8] = (b[8] & 0x3f) | 0x80;	/* RFC 4122 variant */
	if (asprintf(&id, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
	    "%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3], b[4], b[5],
	    b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
	    b[15]) == -1)
		fatal("nodeid");
	return id;
}

static int
node_id_write(const char *id)
{
	const char	*tmp = NODE_ID_FILE ".tmp";
	int		 fd;

	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) == -1)
		return -1;
	if (write(fd, id, strlen(id)) != (ssize_t)strlen(id) ||
	    fsync(fd) == -1) {
		close(fd);
		unlink(tmp);
		return -1;
	}
	if (close(fd) == -1 || rename(tmp, NODE_ID_FILE) == -1) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* Called with data_dir as the working directory. */
char *
node_id_load(const char *configured)
{
	char	 buf[UUID_LEN + 2];
	char	*id;
	ssize_t	 n;
	int	 fd;

	if (configured != NULL && *configured != '\0') {
		if (!node_id_valid(configured))
			fatalx("nodeid: node_id \"%s\" is not a UUID",
			    configured);
		if ((id = strdup(configured)) == NULL)
			fatal("nodeid");
		return id;
	}
	if ((fd = open(NODE_ID_FILE, O_RDONLY | O_CLOEXEC)) != -1) {
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n < 0)
			fatal("nodeid: read %s", NODE_ID_FILE);
		buf[n] = '\0';
		buf[strcspn(buf, " \t\r\n")] = '\0';
		if (!node_id_valid(buf))
			fatalx("nodeid: %s holds no UUID: remove it to make "
			    "a new one", NODE_ID_FILE);
		if ((id = strdup(buf)) == NULL)
			fatal("nodeid");
		return id;
	}
	if (errno != ENOENT)
		fatal("nodeid: open %s", NODE_ID_FILE);
	id = node_id_generate();
	if (node_id_write(id) == -1)
		fatal("nodeid: write %s", NODE_ID_FILE);
	log_info("nodeid: generated node id %s", id);
	return id;
}
