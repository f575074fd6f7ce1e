/*
 * A minimal TAP producer for the C unit tests: each TEST is a function,
 * CHECK records a failure with its place and goes on, and test_main()
 * prints "ok N - name" / "not ok N - name" per test and exits non-zero
 * when any failed.  regress/run.sh adds the lines up.
 */
#ifndef CONSULD_TEST_H
#define CONSULD_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int	 test_current_failed;

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "# %s:%d: CHECK failed: %s\n",		\
		    __FILE__, __LINE__, #cond);				\
		test_current_failed = 1;				\
	}								\
} while (0)

#define CHECK_STR(a, b) do {						\
	const char *check_a_ = (a), *check_b_ = (b);			\
	if (check_a_ == NULL || check_b_ == NULL ||			\
	    strcmp(check_a_, check_b_) != 0) {				\
		fprintf(stderr, "# %s:%d: CHECK_STR failed: %s == %s "	\
		    "(\"%s\" vs \"%s\")\n", __FILE__, __LINE__, #a, #b,	\
		    check_a_ ? check_a_ : "(null)",			\
		    check_b_ ? check_b_ : "(null)");			\
		test_current_failed = 1;				\
	}								\
} while (0)

struct test_case {
	const char	*name;
	void		(*fn)(void);
};

#define TEST_CASE(fn)	{ #fn, fn }

static int
test_main(const struct test_case *cases, size_t n)
{
	size_t	 i;
	int	 failed = 0;

	printf("1..%zu\n", n);
	for (i = 0; i < n; i++) {
		test_current_failed = 0;
		cases[i].fn();
		printf("%sok %zu - %s\n", test_current_failed ? "not " : "",
		    i + 1, cases[i].name);
		fflush(stdout);
		failed += test_current_failed;
	}
	return failed ? 1 : 0;
}

#endif
