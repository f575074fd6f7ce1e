/*
 * Logging for every consuld process.  The parent logs to stderr when it
 * runs in the foreground and to syslog as a daemon; children always write
 * "<level>message" lines to their stderr, which is a pipe the parent reads
 * and relays, so a chrooted child needs no syslog socket.
 */
#ifndef CONSULD_LOG_H
#define CONSULD_LOG_H

#include <stdarg.h>

enum log_level {
	LOG_LVL_TRACE,
	LOG_LVL_DEBUG,
	LOG_LVL_INFO,
	LOG_LVL_WARN,
	LOG_LVL_ERR
};

enum log_dest {
	LOG_DEST_STDERR,	/* foreground: timestamped lines on stderr */
	LOG_DEST_SYSLOG,	/* daemon parent */
	LOG_DEST_PARENT		/* child: "<n>message" lines to the parent */
};

void	log_init(enum log_dest, const char *);
void	log_setlevel(enum log_level);
int	log_getlevel(void);
void	log_procname(const char *);
int	log_parse_level(const char *, enum log_level *);
const char *log_level_name(enum log_level);

void	log_emit(enum log_level, const char *, const char *);
void	log_relay_line(const char *, char *);

void	log_trace(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_errorx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	fatal(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

#endif
