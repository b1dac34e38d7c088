/*
 * Issue 15's pieces as the configuration sets them: the one-time code
 * and queue settings the handlers use, and the mail sender, a process
 * of its own that the pool runs beside the workers.
 */
#ifndef MOCKPIE_MAIL_APP_H
#define MOCKPIE_MAIL_APP_H

#include <signal.h>

struct config;
struct mail_stats;
struct mailq_config;
struct otp_config;

void	 mail_app_otp_config(const struct config *, struct otp_config *);
void	 mail_app_queue_config(const struct config *, struct mailq_config *);
int	 mail_sender_run(const struct config *, volatile sig_atomic_t *,
	    struct mail_stats *);

#endif
