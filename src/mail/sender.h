/*
 * The mail sender (issue 15): a loop, run in a process of its own, that
 * claims messages from the queue (mailq.h), renders them from the
 * templates (<dir>/<purpose>.txt) and sends them through libcurl's SMTP,
 * or logs them with the code masked when no SMTP URL is set.  Failures
 * are retried with back-off, then dead-lettered.
 */
#ifndef MOCKPIE_SENDER_H
#define MOCKPIE_SENDER_H

#include <signal.h>
#include <stddef.h>

#include "mail/mailq.h"
#include "redis/rconn.h"

#define SENDER_BLOCK_MS		250	/* longest wait on the queue: a stop
					   is seen within it */

struct mail_sender_config {
	struct mailq_config	 q;
	struct rconn_config	 redis;
	const char		*smtp_url;	/* "": log, do not send */
	const char		*smtp_user;	/* "": no AUTH */
	const char		*smtp_password_file;
	int			 smtp_starttls;	/* smtp://: require it */
	const char		*smtp_ca_file;	/* "": the system store */
	long			 smtp_timeout_ms;
	const char		*mail_from;
	const char		*templates_dir;
};

/* Counters of this sender process, for the pool's /status. */
struct mail_stats {
	volatile unsigned long	 sent;
	volatile unsigned long	 retried;
	volatile unsigned long	 dead;
	volatile unsigned long	 redis_failures;
	volatile long long	 last_sent_ms;	/* 0: none yet */
};

int	 mail_templates_check(const char *, char *, size_t);
int	 mail_sender_loop(const struct mail_sender_config *,
	    volatile sig_atomic_t *, struct mail_stats *);

#endif
