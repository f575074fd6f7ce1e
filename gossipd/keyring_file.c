/*
 * The keyring file on disk (Consul's serf/local.keyring): read into a
 * keyring, or written from one with mode 0600 through a temporary file
 * and a rename, so a crash leaves the old file or the new one.  Kept
 * apart from keyring.c, which touches no file.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "keyring.h"

int
keyring_read_file(struct keyring *kr, const char *path)
{
	char	 buf[KEYRING_FILE_MAX + 1];
	size_t	 len = 0;
	ssize_t	 n;
	int	 fd, rc = -1;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	for (;;) {
		n = read(fd, buf + len, sizeof(buf) - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			goto out;
		if (n == 0)
			break;
		len += (size_t)n;
		if (len == sizeof(buf)) {	/* larger than any keyring */
			errno = EFBIG;
			goto out;
		}
	}
	if ((rc = keyring_load(kr, buf, len)) == -1)
		errno = EINVAL;
out:
	sodium_memzero(buf, sizeof(buf));
	close(fd);
	return rc;
}

int
keyring_write_file(const struct keyring *kr, const char *path)
{
	char	 buf[KEYRING_FILE_MAX], tmp[4096];
	size_t	 len, off = 0;
	ssize_t	 n;
	int	 fd, saved;

	if (keyring_save(kr, buf, sizeof(buf), &len) == -1) {
		errno = ENOSPC;
		return -1;
	}
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >=
	    sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) == -1)
		goto fail;
	while (off < len) {
		n = write(fd, buf + off, len - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			goto fail_fd;
		off += (size_t)n;
	}
	if (fsync(fd) == -1)
		goto fail_fd;
	if (close(fd) == -1) {
		fd = -1;
		goto fail_fd;
	}
	sodium_memzero(buf, sizeof(buf));
	if (rename(tmp, path) == -1) {
		saved = errno;
		unlink(tmp);
		errno = saved;
		return -1;
	}
	return 0;
fail_fd:
	saved = errno;
	if (fd != -1)
		close(fd);
	unlink(tmp);
	errno = saved;
fail:
	sodium_memzero(buf, sizeof(buf));
	return -1;
}
