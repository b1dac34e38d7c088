/*
 * The configuration's mail and code settings handed to the layers that
 * use them (auth/otp.h, mail/mailq.h, mail/sender.h), with their keys
 * derived from the JWT secret, one per use.
 */
#include <string.h>

#include "app/config.h"
#include "app/mail_app.h"
#include "auth/otp.h"
#include "mail/mailq.h"
#include "mail/sender.h"

#define OTP_CONTEXT	"mockpie one-time codes v1"
#define MAILQ_CONTEXT	"mockpie mail queue v1"
#define SENDER_TIMEOUT_MS	(SENDER_BLOCK_MS + 1000)

void
mail_app_otp_config(const struct config *cfg, struct otp_config *oc)
{
	memset(oc, 0, sizeof(*oc));
	oc->prefix = cfg->redis_prefix;
	oc->ttl = cfg->otp_ttl;
	oc->max_attempts = cfg->otp_max_attempts;
	oc->cooldown = cfg->otp_resend_cooldown;
	oc->hourly_cap = cfg->otp_hourly_cap;
	oc->grant_ttl = cfg->reset_grant_ttl;
	otp_subkey(cfg->jwt_secret, cfg->jwt_secret_len, OTP_CONTEXT,
	    oc->key);
}

void
mail_app_queue_config(const struct config *cfg, struct mailq_config *qc)
{
	memset(qc, 0, sizeof(*qc));
	qc->prefix = cfg->redis_prefix;
	qc->max_tries = cfg->mail_max_tries;
	qc->retry_base = cfg->mail_retry_base;
	qc->claim_idle_ms = cfg->mail_claim_idle * 1000L;
	otp_subkey(cfg->jwt_secret, cfg->jwt_secret_len, MAILQ_CONTEXT,
	    qc->key);
}

/*
 * The mail sender, for the pool to run in a child process of its own
 * (signals set up by the caller): loops until *stop, counting into
 * *stats.  0 when stopped, -1 when it cannot start (logged).
 */
int
mail_sender_run(const struct config *cfg, volatile sig_atomic_t *stop,
    struct mail_stats *stats)
{
	struct mail_sender_config	 sc;
	int				 rc;

	memset(&sc, 0, sizeof(sc));
	mail_app_queue_config(cfg, &sc.q);
	sc.redis = cfg->redis;
	/* the queue read blocks up to SENDER_BLOCK_MS */
	if (sc.redis.command_timeout_ms < SENDER_TIMEOUT_MS)
		sc.redis.command_timeout_ms = SENDER_TIMEOUT_MS;
	sc.smtp_url = cfg->smtp_url;
	sc.smtp_user = cfg->smtp_user;
	sc.smtp_password_file = cfg->smtp_password_file;
	sc.smtp_starttls = cfg->smtp_starttls;
	sc.smtp_ca_file = cfg->smtp_ca_file;
	sc.smtp_timeout_ms = cfg->smtp_timeout_ms;
	sc.mail_from = cfg->mail_from;
	sc.templates_dir = cfg->mail_templates_dir;
	rc = mail_sender_loop(&sc, stop, stats);
	explicit_bzero(&sc, sizeof(sc));
	return rc;
}
