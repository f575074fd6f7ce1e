/*
 * Logging: one event per line, a level, the process name first.  See
 * log.h for where lines go.  Levels below the configured one are dropped
 * in the process that logs, so the parent relays child lines as they come.
 */
#include <sys/types.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static enum log_dest	 log_dest = LOG_DEST_STDERR;
static enum log_level	 log_level = LOG_LVL_INFO;
static const char	*log_name = "consuld";

static const struct {
	const char	*name;
	int		 prio;
} levels[] = {
	[LOG_LVL_TRACE] = { "TRACE", LOG_DEBUG },
	[LOG_LVL_DEBUG] = { "DEBUG", LOG_DEBUG },
	[LOG_LVL_INFO] = { "INFO", LOG_INFO },
	[LOG_LVL_WARN] = { "WARN", LOG_WARNING },
	[LOG_LVL_ERR] = { "ERROR", LOG_ERR },
};

void
log_init(enum log_dest dest, const char *name)
{
	log_dest = dest;
	log_name = name;
	if (dest == LOG_DEST_SYSLOG)
		openlog("consuld", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	else if (dest == LOG_DEST_PARENT)
		setvbuf(stderr, NULL, _IOLBF, 0);
}

void
log_setlevel(enum log_level level)
{
	log_level = level;
}

int
log_getlevel(void)
{
	return log_level;
}

void
log_procname(const char *name)
{
	log_name = name;
}

/* Consul's names (TRACE, DEBUG, INFO, WARN, ERR), any case; ERROR too. */
int
log_parse_level(const char *s, enum log_level *level)
{
	if (strcasecmp(s, "trace") == 0)
		*level = LOG_LVL_TRACE;
	else if (strcasecmp(s, "debug") == 0)
		*level = LOG_LVL_DEBUG;
	else if (strcasecmp(s, "info") == 0)
		*level = LOG_LVL_INFO;
	else if (strcasecmp(s, "warn") == 0 || strcasecmp(s, "warning") == 0)
		*level = LOG_LVL_WARN;
	else if (strcasecmp(s, "err") == 0 || strcasecmp(s, "error") == 0)
		*level = LOG_LVL_ERR;
	else
		return -1;
	return 0;
}

const char *
log_level_name(enum log_level level)
{
	if (level > LOG_LVL_ERR)
		return "?";
	return levels[level].name;
}

/*
 * Write one finished line for process "name".  Used for our own lines
 * and for lines relayed from a child.
 */
void
log_emit(enum log_level level, const char *name, const char *msg)
{
	struct timespec	 ts;
	struct tm	 tm;
	char		 stamp[32];
	int		 saved_errno = errno;

	switch (log_dest) {
	case LOG_DEST_SYSLOG:
		syslog(levels[level].prio, "%s: %s", name, msg);
		break;
	case LOG_DEST_PARENT:
		fprintf(stderr, "<%d>%s\n", (int)level, msg);
		break;
	case LOG_DEST_STDERR:
		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
		fprintf(stderr, "%s.%03ldZ [%s] %s: %s\n", stamp,
		    ts.tv_nsec / 1000000, levels[level].name, name, msg);
		fflush(stderr);
		break;
	}
	errno = saved_errno;
}

/*
 * A line read from a child's stderr.  Lines the child wrote through this
 * module start with "<level>"; anything else (a sanitizer report, a
 * library's complaint) is relayed as a warning so it is never lost.
 */
void
log_relay_line(const char *name, char *line)
{
	enum log_level	 level = LOG_LVL_WARN;

	if (line[0] == '<' && line[1] >= '0' && line[1] <= '4' &&
	    line[2] == '>') {
		level = line[1] - '0';
		line += 3;
	}
	log_emit(level, name, line);
}

static void
vlog(enum log_level level, int with_errno, const char *fmt, va_list ap)
{
	char	 msg[1024];
	int	 saved_errno = errno;
	size_t	 len;

	if (level < log_level)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (with_errno) {
		len = strlen(msg);
		snprintf(msg + len, sizeof(msg) - len, ": %s",
		    strerror(saved_errno));
	}
	log_emit(level, log_name, msg);
}

#define LOG_FUNC(fn, level, with_errno)				\
void								\
fn(const char *fmt, ...)					\
{								\
	va_list	 ap;						\
								\
	va_start(ap, fmt);					\
	vlog(level, with_errno, fmt, ap);			\
	va_end(ap);						\
}

LOG_FUNC(log_trace, LOG_LVL_TRACE, 0)
LOG_FUNC(log_debug, LOG_LVL_DEBUG, 0)
LOG_FUNC(log_info, LOG_LVL_INFO, 0)
LOG_FUNC(log_warn, LOG_LVL_WARN, 1)
LOG_FUNC(log_warnx, LOG_LVL_WARN, 0)
LOG_FUNC(log_errorx, LOG_LVL_ERR, 0)

void
fatal(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog(LOG_LVL_ERR, 1, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog(LOG_LVL_ERR, 0, fmt, ap);
	va_end(ap);
	exit(1);
}
