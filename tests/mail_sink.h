/*
 * The tests' SMTP sink (tests/smtp_sink.py, Debian's python3-aiosmtpd),
 * from C: started on a free port, one file per message in its directory,
 * and the codes read back from the mail as a user would read them.
 */
#ifndef MOCKPIE_MAIL_SINK_H
#define MOCKPIE_MAIL_SINK_H

#include <sys/types.h>

#include <stddef.h>

#define MAIL_SINK_WAIT_MS	20000	/* a mail's way through the queue */

struct mail_sink {
	pid_t	 pid;
	int	 port;
	char	 dir[256];
	char	 url[64];		/* smtp://127.0.0.1:<port> */
};

void	mail_sink_start(struct mail_sink *);
void	mail_sink_stop(struct mail_sink *);
int	mail_sink_count(const struct mail_sink *, const char *, char *,
	    size_t);
void	mail_sink_wait_code(const struct mail_sink *, const char *, int,
	    char [7]);

#endif
