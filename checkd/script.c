/*
 * Script checks, as checkd sees them: only their schedule.  checkd
 * cannot exec (its sandbox forbids it, and it should not be able to
 * run programs), so when a script check is due it asks the parent to
 * run it (IMSG_SCRIPT_RUN, with a number for the run) and the parent,
 * which execs it as the unprivileged user and enforces its timeout,
 * answers with the outcome (IMSG_SCRIPT_RESULT).  A check replaced or
 * deleted while its script runs forgets the run; the answer that comes
 * later is dropped.
 */
#include <sys/types.h>
#include <sys/tree.h>

#include <stdlib.h>
#include <string.h>

#include "checkd.h"
#include "log.h"
#include "mpack.h"

struct script_probe {
	RB_ENTRY(script_probe)	 entry;
	uint32_t		 run;
	struct check		*check;
};

RB_HEAD(script_tree, script_probe);

static struct script_tree	 probes = RB_INITIALIZER(&probes);
static size_t			 nprobes;
static uint32_t			 next_run = 1;
static script_run_fn		 run_fn;
static void			*run_arg;

static int
script_cmp(struct script_probe *a, struct script_probe *b)
{
	return a->run < b->run ? -1 : a->run > b->run;
}

RB_GENERATE(script_tree, script_probe, entry, script_cmp)

void
script_init(script_run_fn fn, void *arg)
{
	run_fn = fn;
	run_arg = arg;
}

/* Runs asked for and not answered yet. */
size_t
script_runs(void)
{
	return nprobes;
}

static void
script_prepare(struct check *c)
{
	c->prep = NULL;
}

static void
script_clear(struct check *c)
{
}

static void
script_stop(struct check *c)
{
	struct script_probe	*p = c->probe;

	RB_REMOVE(script_tree, &probes, p);
	nprobes--;
	free(p);
	c->probe = NULL;
}

static void
script_start(struct check *c)
{
	struct script_probe	*p;

	if (run_fn == NULL)
		fatalx("check: %s: no one to run scripts", c->id);
	if ((p = calloc(1, sizeof(*p))) == NULL)
		fatal("check");
	/* Numbers wrap after 2^32 runs; one still waiting is skipped. */
	do {
		p->run = next_run++;
	} while (p->run == 0 || RB_FIND(script_tree, &probes, p) != NULL);
	p->check = c;
	RB_INSERT(script_tree, &probes, p);
	nprobes++;
	c->probe = p;
	run_fn(p->run, c->id, run_arg);
}

/*
 * IMSG_SCRIPT_RESULT for run: report it for its check, or drop it when
 * the check has gone meanwhile.  -1 when malformed.
 */
int
script_result_msg(uint32_t run, const void *buf, size_t len)
{
	msgpack_unpacked	 u;
	const msgpack_object	*o;
	struct script_probe	 key, *p;
	struct check		*c;
	enum check_status	 st;
	char			 status[16];

	if (mpack_parse(&u, buf, len) == -1)
		return -1;
	o = mpack_map_get(&u.data, "output");
	if (u.data.type != MSGPACK_OBJECT_MAP ||
	    mpack_copy_str(mpack_map_get(&u.data, "status"), status,
	    sizeof(status)) == -1 || o == NULL ||
	    o->type != MSGPACK_OBJECT_STR ||
	    o->via.str.size > SCRIPT_RESULT_MAX) {
		msgpack_unpacked_destroy(&u);
		return -1;
	}
	if (strcmp(status, "passing") == 0)
		st = CHECK_PASSING;
	else if (strcmp(status, "warning") == 0)
		st = CHECK_WARNING;
	else if (strcmp(status, "critical") == 0)
		st = CHECK_CRITICAL;
	else {
		msgpack_unpacked_destroy(&u);
		return -1;
	}
	key.run = run;
	if ((p = RB_FIND(script_tree, &probes, &key)) != NULL) {
		c = p->check;
		script_stop(c);
		check_report(c, st, o->via.str.ptr, o->via.str.size);
	}
	msgpack_unpacked_destroy(&u);
	return 0;
}

const struct check_ops script_ops = {
	script_prepare,
	script_start,
	script_stop,
	script_clear
};
