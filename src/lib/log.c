/*
 * Event log on stderr, one line per event.  Workers are single-threaded,
 * so the current request id is process state set by the worker loop.
 * Each line is built in one buffer and written with one write(2) so lines
 * from concurrent workers do not interleave.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/self.h"

#define LOG_LINE_MAX	1024
#define LOG_REQID_MAX	32

static const char	*log_name = "mockpie";
static enum log_level	 log_min = LOG_LEVEL_INFO;
static char		 log_reqid[LOG_REQID_MAX + 1] = "-";

static const char *const level_names[] = { "debug", "info", "warn", "error" };

void
log_init(const char *name, enum log_level level)
{
	log_name = name;
	log_min = level;
}

void
log_set_level(enum log_level level)
{
	log_min = level;
}

/* Parses "debug", "info", "warn" or "error": 0, or -1 if unknown. */
int
log_level_parse(const char *s, enum log_level *out)
{
	size_t	 i;

	for (i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (strcasecmp(s, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	return -1;
}

/* The request id that following lines carry; NULL between requests. */
void
log_set_request(const char *id)
{
	if (id == NULL)
		id = "-";
	if (memccpy(log_reqid, id, '\0', sizeof(log_reqid)) == NULL)
		log_reqid[sizeof(log_reqid) - 1] = '\0';
}

static void log_emit(enum log_level, int, const char *, va_list)
    __attribute__((format(printf, 3, 0)));

static void
log_emit(enum log_level level, int errnum, const char *fmt, va_list ap)
{
	char		 msg[LOG_LINE_MAX], line[LOG_LINE_MAX * 2];
	struct timespec	 ts;
	struct tm	 tm;
	size_t		 n, i;
	int		 len;

	if (level < log_min)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	len = snprintf(line, sizeof(line),
	    "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s %s pid=%ld req=%s ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, log_name,
	    level_names[level], (long)self_pid(), log_reqid);
	n = len < 0 ? 0 : (size_t)len;
	/* escape control characters: a message never spans two lines */
	for (i = 0; msg[i] != '\0' && n + 5 < sizeof(line); i++) {
		unsigned char	 c = (unsigned char)msg[i];

		if (c < 0x20 || c == 0x7f || c == '\\') {
			if (c == '\\') {
				line[n++] = '\\';
				line[n++] = '\\';
			} else
				n += (size_t)snprintf(line + n, 5, "\\x%02x",
				    c);
		} else
			line[n++] = (char)c;
	}
	if (errnum != 0)
		n += (size_t)snprintf(line + n, sizeof(line) - n - 1, ": %s",
		    strerror(errnum));
	if (n >= sizeof(line))
		n = sizeof(line) - 1;
	line[n++] = '\n';
	(void)write(STDERR_FILENO, line, n);
}

#define LOG_FN(name, level, with_errno)					\
void									\
name(const char *fmt, ...)						\
{									\
	va_list	 ap;							\
	int	 saved = errno;						\
									\
	va_start(ap, fmt);						\
	log_emit(level, with_errno ? saved : 0, fmt, ap);		\
	va_end(ap);							\
	errno = saved;							\
}

LOG_FN(log_debug, LOG_LEVEL_DEBUG, 0)
LOG_FN(log_info, LOG_LEVEL_INFO, 0)
LOG_FN(log_warnx, LOG_LEVEL_WARN, 0)
LOG_FN(log_warn, LOG_LEVEL_WARN, 1)
LOG_FN(log_errorx, LOG_LEVEL_ERROR, 0)

void
log_fatal(const char *fmt, ...)
{
	va_list	 ap;
	int	 saved = errno;

	va_start(ap, fmt);
	log_emit(LOG_LEVEL_ERROR, saved, fmt, ap);
	va_end(ap);
	exit(1);
}

void
log_fatalx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_emit(LOG_LEVEL_ERROR, 0, fmt, ap);
	va_end(ap);
	exit(1);
}
