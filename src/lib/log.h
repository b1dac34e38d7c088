/*
 * One line per event on stderr: time, level, pid, request id, message.
 * Control characters are escaped so a request cannot forge log lines.
 */
#ifndef MOCKPIE_LOG_H
#define MOCKPIE_LOG_H

enum log_level { LOG_LEVEL_DEBUG, LOG_LEVEL_INFO, LOG_LEVEL_WARN,
    LOG_LEVEL_ERROR };

void	log_init(const char *, enum log_level);
void	log_set_level(enum log_level);
int	log_level_parse(const char *, enum log_level *);
void	log_set_request(const char *);
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_errorx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_fatal(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	log_fatalx(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

#endif
