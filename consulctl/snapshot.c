/*
 * consulctl snapshot save|restore|inspect: save the agent's state to a
 * file (checked before it is kept), restore one, and describe one
 * without an agent.  The format is consuld's own (snapshot_format.h).
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "consulctl.h"
#include "snapshot_format.h"

static int
read_file(const char *path, unsigned char **buf, size_t *len)
{
	struct stat	 sb;
	FILE		*f;

	if ((f = fopen(path, "rb")) == NULL)
		return -1;
	if (fstat(fileno(f), &sb) == -1 || sb.st_size < 0 ||
	    (uint64_t)sb.st_size > SNAPSHOT_UPLOAD_MAX) {
		fclose(f);
		errno = EFBIG;
		return -1;
	}
	*len = sb.st_size;
	if ((*buf = malloc(*len ? *len : 1)) == NULL ||
	    fread(*buf, 1, *len, f) != *len) {
		fclose(f);
		free(*buf);
		return -1;
	}
	fclose(f);
	return 0;
}

static int
one_file(const char *cmd, int argc, char **argv, struct http_opts *http)
{
	int	 first;

	if ((first = cflags_parse(cmd, NULL, 0, http, argc, argv)) == -1)
		return -1;
	if (argc - first != 1) {
		fprintf(stderr, "This command takes one argument: <file>\n");
		return -1;
	}
	return first;
}

int
cmd_snapshot_save(int argc, char **argv)
{
	struct http_opts	 http;
	struct http_response	 resp;
	struct snapshot_info	 info;
	const char		*why, *path;
	char			 err[1024], tmp[4096];
	FILE			*f;
	int			 i, rc;

	if ((i = one_file("snapshot save", argc, argv, &http)) == -1)
		return 1;
	path = argv[i];
	rc = http_send(&http, "GET", "/v1/snapshot", NULL, NULL, 0, &resp,
	    err, sizeof(err));
	if (rc != 0) {
		fprintf(stderr, "Error saving snapshot: %s\n", err);
		return 1;
	}
	if (resp.status != 200) {
		http_unexpected(&resp, err, sizeof(err));
		fprintf(stderr, "Error saving snapshot: %s\n", err);
		http_response_free(&resp);
		return 1;
	}
	if (snapshot_parse(resp.body, resp.len, &info, NULL, NULL,
	    &why) == -1) {
		fprintf(stderr, "Error verifying snapshot file: %s\n", why);
		http_response_free(&resp);
		return 1;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if ((f = fopen(tmp, "wb")) == NULL ||
	    fwrite(resp.body, 1, resp.len, f) != resp.len ||
	    fflush(f) == EOF || fsync(fileno(f)) == -1 || fclose(f) == EOF ||
	    rename(tmp, path) == -1) {
		fprintf(stderr, "Error writing snapshot file: %s: %s\n", path,
		    strerror(errno));
		unlink(tmp);
		http_response_free(&resp);
		return 1;
	}
	printf("Saved and verified snapshot to index %llu\n",
	    (unsigned long long)info.index);
	http_response_free(&resp);
	return 0;
}

int
cmd_snapshot_restore(int argc, char **argv)
{
	struct http_opts	 http;
	struct http_response	 resp;
	unsigned char		*buf;
	char			 err[1024];
	size_t			 len;
	int			 i, rc;

	if ((i = one_file("snapshot restore", argc, argv, &http)) == -1)
		return 1;
	if (read_file(argv[i], &buf, &len) == -1) {
		fprintf(stderr, "Error opening snapshot file: %s: %s\n",
		    argv[i], strerror(errno));
		return 1;
	}
	rc = http_send(&http, "PUT", "/v1/snapshot", NULL, buf, len, &resp,
	    err, sizeof(err));
	free(buf);
	if (rc != 0) {
		fprintf(stderr, "Error restoring snapshot: %s\n", err);
		return 1;
	}
	if (resp.status != 200) {
		http_unexpected(&resp, err, sizeof(err));
		fprintf(stderr, "Error restoring snapshot: %s\n", err);
		http_response_free(&resp);
		return 1;
	}
	http_response_free(&resp);
	printf("Restored snapshot\n");
	return 0;
}

int
cmd_snapshot_inspect(int argc, char **argv)
{
	static const char *const names[SNAP_REC_MAX] = {
		[SNAP_REC_KV] = "KVS",
		[SNAP_REC_TOMBSTONE] = "Tombstone",
		[SNAP_REC_TABLE] = "Index",
		[SNAP_REC_CAT_NODE] = "Node",
		[SNAP_REC_CAT_SERVICE] = "Service",
		[SNAP_REC_CAT_CHECK] = "Check",
		[SNAP_REC_SESSION] = "Session",
		[SNAP_REC_PQUERY] = "PreparedQuery",
		[SNAP_REC_COORD] = "Coordinate",
		[SNAP_REC_ACL_TOKEN] = "ACLToken",
		[SNAP_REC_ACL_POLICY] = "ACLPolicy",
		[SNAP_REC_ACL_ROLE] = "ACLRole",
	};
	struct snapshot_info	 info;
	unsigned char		*buf;
	const char		*why;
	size_t			 len;
	uint64_t		 total = 0;
	int			 i, t;

	if ((i = cflags_parse("snapshot inspect", NULL, 0, NULL, argc,
	    argv)) == -1)
		return 1;
	if (argc - i != 1) {
		fprintf(stderr, "This command takes one argument: <file>\n");
		return 1;
	}
	if (read_file(argv[i], &buf, &len) == -1) {
		fprintf(stderr, "Error opening snapshot file: %s: %s\n",
		    argv[i], strerror(errno));
		return 1;
	}
	if (snapshot_parse(buf, len, &info, NULL, NULL, &why) == -1) {
		fprintf(stderr, "Error inspecting snapshot: %s\n", why);
		free(buf);
		return 1;
	}
	free(buf);
	printf(" ID           %llu-%llu-%llu\n", (unsigned long long)info.term,
	    (unsigned long long)info.index,
	    (unsigned long long)info.created * 1000);
	printf(" Size         %zu\n", info.size);
	printf(" Index        %llu\n", (unsigned long long)info.index);
	printf(" Term         %llu\n", (unsigned long long)info.term);
	printf(" Version      %llu\n\n", (unsigned long long)info.version);
	printf(" %-20s %-10s %s\n", "Type", "Count", "Size");
	printf(" %-20s %-10s %s\n", "----", "----", "----");
	for (t = SNAP_REC_KV; t < SNAP_REC_MAX; t++) {
		if (info.count[t] == 0)
			continue;
		printf(" %-20s %-10llu %llu\n", names[t],
		    (unsigned long long)info.count[t],
		    (unsigned long long)info.bytes[t]);
		total += info.bytes[t];
	}
	printf(" %-20s %-10s %s\n", "----", "----", "----");
	printf(" %-20s %-10s %llu\n", "Total", "", (unsigned long long)total);
	return 0;
}
