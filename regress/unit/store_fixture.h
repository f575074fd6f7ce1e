/*
 * A fresh Berkeley DB store in a temporary directory for each case, for
 * the unit tests of raftd's state (include after raftd/store.c and
 * test.h): fresh() opens one and makes it the working directory, done()
 * closes it and removes the directory.
 */
#include <sys/stat.h>

#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char	 fixture_dir[64];

static int
fixture_rm(const char *p, const struct stat *sb, int f, struct FTW *ftw)
{
	(void)sb;
	(void)f;
	(void)ftw;
	return remove(p);
}

static void
fresh(struct store *s)
{
	strlcpy(fixture_dir, "/tmp/consuld-unit.XXXXXX", sizeof(fixture_dir));
	if (mkdtemp(fixture_dir) == NULL || chdir(fixture_dir) == -1)
		abort();
	CHECK(store_open(s, STORE_DIR) == 0);
}

static void
done(struct store *s)
{
	store_close(s);
	if (chdir("/") == -1)
		abort();
	nftw(fixture_dir, fixture_rm, 8, FTW_DEPTH | FTW_PHYS);
}
