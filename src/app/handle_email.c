/*
 * The email flows of the original's /auth router (issue 15), as the
 * MockPie web client walks them: send-verification-otp, verify-otp,
 * forgot-password, reset-password.  Codes and grants live in Redis
 * (auth/otp.h), mail goes through the queue (mail/mailq.h), never on the
 * request path.  Unknown and known addresses get the same answers.
 */
#include <stdio.h>
#include <string.h>

#include "lib/arena.h"
#include "lib/jsonh.h"
#include "lib/log.h"
#include "redis/rconn.h"
#include "store/user_cache.h"
#include "store/users.h"
#include "auth/otp.h"
#include "auth/password.h"
#include "auth/session.h"
#include "auth/validate.h"
#include "mail/mailq.h"
#include "http/body.h"
#include "http/ctx.h"
#include "http/reply.h"
#include "http/router.h"
#include "app/config.h"
#include "app/handle_auth.h"
#include "app/mail_app.h"

static int	handle_send_verification(struct ctx *);
static int	handle_verify_otp(struct ctx *);
static int	handle_forgot(struct ctx *);
static int	handle_reset(struct ctx *);

const struct route handle_email_routes[] = {
	{ "POST", "/auth/send-verification-otp", handle_send_verification },
	{ "POST", "/auth/verify-otp", handle_verify_otp },
	{ "POST", "/auth/forgot-password", handle_forgot },
	{ "POST", "/auth/reset-password", handle_reset },
	{ NULL, NULL, NULL }
};

/* the original's words where they say nothing about accounts */
#define MSG_BAD_OTP	"Invalid OTP provided"
#define MSG_VERIFIED	"Email verified successfully"
#define MSG_RESET_DONE	"Password has been successfully reset"
#define MSG_NO_GRANT	"Session expired. Please request a new password " \
			"reset or re-verify your email."
#define MSG_NOT_VERIFIED "Email address not verified"
#define MSG_SENT_VERIFY	"If this address belongs to an account that is " \
			"not verified yet, a verification code has been " \
			"sent to it"
#define MSG_SENT_RESET	"If this address belongs to an account, a " \
			"password reset code has been sent to it"
#define MSG_CODES_DOWN	"Verification codes unavailable"
#define MSG_DB_DOWN	"Database unavailable"

#define CLIENT_MAX	1024	/* address and User-Agent, as bound */

/* Puts purpose's code for email on the mail queue; failures logged. */
static void
queue_code(struct ctx *ctx, const char *email, enum otp_purpose purpose,
    const char *code)
{
	struct mailq_config	 qc;
	struct mail_msg		 m;

	memset(&m, 0, sizeof(m));
	snprintf(m.purpose, sizeof(m.purpose), "%s",
	    otp_purpose_name(purpose));
	if (strlen(email) >= sizeof(m.to)) {
		log_warnx("mail: address too long to queue");
		return;
	}
	memcpy(m.to, email, strlen(email) + 1);
	snprintf(m.code, sizeof(m.code), "%s", code);
	m.ttl = ctx->config->otp_ttl;
	mail_app_queue_config(ctx->config, &qc);
	if (mailq_enqueue(ctx_redis(ctx), &qc, &m) == -1)
		log_warnx("mail: %s code not queued (Redis)",
		    otp_purpose_name(purpose));
	explicit_bzero(&m, sizeof(m));
	explicit_bzero(&qc, sizeof(qc));
}

/*
 * Issues a code of purpose for email and queues it when send is set.
 * The code is issued, and its limits applied, for an unknown address
 * too, so that Redis sees the same work and answers the same way for
 * every address.  0, or -1 when Redis is unavailable (no code is ever
 * handed out without its limits; the caller answers 503).
 */
static int
issue_and_queue(struct ctx *ctx, const char *email, enum otp_purpose purpose,
    int send)
{
	struct otp_config	 oc;
	char			 code[OTP_DIGITS + 1];
	enum otp_status		 st;

	mail_app_otp_config(ctx->config, &oc);
	st = otp_issue(ctx_redis(ctx), &oc, email, purpose, code);
	explicit_bzero(&oc, sizeof(oc));
	switch (st) {
	case OTP_OK:
		if (send)
			queue_code(ctx, email, purpose, code);
		explicit_bzero(code, sizeof(code));
		return 0;
	case OTP_COOLDOWN:
	case OTP_CAPPED:
		if (send)
			log_info("%s code not sent: %s", otp_purpose_name(
			    purpose), st == OTP_COOLDOWN ? "resend cooldown" :
			    "hourly cap reached");
		return 0;
	default:
		return -1;
	}
}

/*
 * POST /auth/register's verification code (issue 15: as the original,
 * registration mails one).  Never fails the registration: logged.
 */
void
email_queue_verification(struct ctx *ctx, const struct user *u)
{
	if (issue_and_queue(ctx, u->email, OTP_VERIFY, 1) == -1)
		log_warnx("redis unavailable: no verification code queued "
		    "for user %lld", u->id);
}

/*
 * require_verified_email at login, once the password was right: 1 when
 * the address is verified; otherwise the answer (403, 503) was made and
 * 0 returned, or -1 on a fault.
 */
int
email_login_allowed(struct ctx *ctx, const struct user *u)
{
	switch (users_email_verified(ctx->users, u->id)) {
	case 1:
		return 1;
	case 0:
		return reply_error(ctx, 403, MSG_NOT_VERIFIED) == 0 ? 0 : -1;
	case USERS_FIND_UNAVAILABLE:
		return reply_error(ctx, 503, MSG_DB_DOWN) == 0 ? 0 : -1;
	default:
		return -1;
	}
}

static int
reply_message(struct ctx *ctx, const char *msg)
{
	struct json_object	*o = jsonh_object();

	arena_defer(ctx->arena, jsonh_put, o);
	jsonh_add_str(o, "message", msg);
	return reply_json(ctx, 200, o);
}

/*
 * The body's email, checked (422 answered) and canonical: 1 with *email
 * set, else the read_fields()-style result (0 answered, -1 fault).
 * otp, when not NULL, receives the otp field, which must be present.
 */
static int
email_of(struct ctx *ctx, struct body *b, const char **email,
    const char **otp)
{
	struct field_errors	 fe;
	int			 rc;

	if ((rc = read_fields(ctx, b)) != 1)
		return rc;
	*email = body_get(b, "email");
	if (otp != NULL)
		*otp = body_get(b, "otp");
	validate_email_field(ctx->arena, *email, otp != NULL ?
	    (*otp != NULL ? *otp : "") : NULL, &fe);
	if (fe.n > 0)
		return reply_field_errors(ctx, &fe) == 0 ? 0 : -1;
	*email = validate_email_canonical(ctx->arena, *email);
	return 1;
}

/*
 * The user of email: 1 found, 0 not; otherwise the answer was made (503)
 * and 2 returned, or -1 on a fault.
 */
static int
user_of(struct ctx *ctx, const char *email, struct user *u)
{
	int	 found;

	if (ctx->users == NULL)
		return reply_error(ctx, 503, "User store unavailable") == 0 ?
		    2 : -1;
	found = users_find_by_email(ctx->users, email, ctx->arena, u);
	if (found == USERS_FIND_UNAVAILABLE)
		return reply_error(ctx, 503, MSG_DB_DOWN) == 0 ? 2 : -1;
	return found;
}

/*
 * POST /auth/send-verification-otp (issue 15): the same 200 for every
 * address; a code is mailed only to an account not yet verified.
 */
static int
handle_send_verification(struct ctx *ctx)
{
	struct body	 b;
	struct user	 u;
	const char	*email;
	int		 rc, send = 0;

	if ((rc = email_of(ctx, &b, &email, NULL)) != 1)
		return rc;
	if ((rc = user_of(ctx, email, &u)) == -1 || rc == 2)
		return rc == 2 ? 0 : -1;
	if (rc == 1) {
		switch (users_email_verified(ctx->users, u.id)) {
		case 0:
			send = 1;
			break;
		case 1:
			break;
		case USERS_FIND_UNAVAILABLE:
			return reply_error(ctx, 503, MSG_DB_DOWN);
		default:
			return -1;
		}
	}
	if (issue_and_queue(ctx, email, OTP_VERIFY, send) == -1)
		return reply_error(ctx, 503, MSG_CODES_DOWN);
	return reply_message(ctx, MSG_SENT_VERIFY);
}

/* POST /auth/forgot-password (issue 15): the same 200 for every address. */
static int
handle_forgot(struct ctx *ctx)
{
	struct body	 b;
	struct user	 u;
	const char	*email;
	int		 rc;

	if ((rc = email_of(ctx, &b, &email, NULL)) != 1)
		return rc;
	if ((rc = user_of(ctx, email, &u)) == -1 || rc == 2)
		return rc == 2 ? 0 : -1;
	if (issue_and_queue(ctx, email, OTP_RESET, rc == 1) == -1)
		return reply_error(ctx, 503, MSG_CODES_DOWN);
	return reply_message(ctx, MSG_SENT_RESET);
}

/* What a reset grant without its token is bound to: address and agent. */
static const char *
client_of(struct ctx *ctx)
{
	const char	*addr = ctx_param(ctx, "REMOTE_ADDR");
	const char	*ua = ctx_param(ctx, "HTTP_USER_AGENT");

	return arena_printf(ctx->arena, "%.64s\n%.900s",
	    addr != NULL ? addr : "", ua != NULL ? ua : "");
}

/*
 * POST /auth/verify-otp (issue 15): a verify code marks the address
 * verified; a reset code does too (it was read from that mailbox) and
 * opens the reset grant, whose token is returned.  Anything else is one
 * 400, whatever the reason.
 */
static int
handle_verify_otp(struct ctx *ctx)
{
	struct otp_config	 oc;
	struct otp_grant	 g;
	struct json_object	*o;
	struct body		 b;
	struct user		 u;
	enum otp_purpose	 purpose = OTP_VERIFY;
	enum otp_status		 st;
	const char		*email, *otp;
	char			 token[OTP_TOKEN_MAX];
	int			 rc;

	if ((rc = email_of(ctx, &b, &email, &otp)) != 1)
		return rc;
	mail_app_otp_config(ctx->config, &oc);
	st = otp_check(ctx_redis(ctx), &oc, email, otp, &purpose);
	if (st == OTP_NO) {
		rc = reply_error(ctx, 400, MSG_BAD_OTP);
		goto out;
	}
	if (st != OTP_OK) {
		rc = reply_error(ctx, 503, MSG_CODES_DOWN);
		goto out;
	}
	if ((rc = user_of(ctx, email, &u)) == -1 || rc == 2) {
		rc = rc == 2 ? 0 : -1;
		goto out;
	}
	if (rc == 0) {		/* the account went away meanwhile */
		rc = reply_error(ctx, 400, MSG_BAD_OTP);
		goto out;
	}
	switch (users_set_email_verified(ctx->users, u.id, ctx->now)) {
	case 0:
		break;
	case USERS_FIND_UNAVAILABLE:
		rc = reply_error(ctx, 503, MSG_DB_DOWN);
		goto out;
	default:
		rc = -1;
		goto out;
	}
	o = jsonh_object();
	arena_defer(ctx->arena, jsonh_put, o);
	jsonh_add_str(o, "message", MSG_VERIFIED);
	jsonh_add(o, "verified", json_object_new_boolean(1));
	if (purpose == OTP_RESET) {
		memset(&g, 0, sizeof(g));
		g.uid = u.id;
		snprintf(g.stamp, sizeof(g.stamp), "%s",
		    u.session_stamp != NULL ? u.session_stamp : "");
		if (otp_grant_open(ctx_redis(ctx), &oc, email, &g,
		    client_of(ctx), token) != OTP_OK) {
			rc = reply_error(ctx, 503, MSG_CODES_DOWN);
			goto out;
		}
		jsonh_add_str(o, "reset_token", token);
		explicit_bzero(token, sizeof(token));
		log_info("user %lld: reset code checked, grant open", u.id);
	} else
		log_info("user %lld: email verified", u.id);
	ctx_add_header(ctx, "Cache-Control", "no-store");
	ctx_add_header(ctx, "Pragma", "no-cache");
	rc = reply_json(ctx, 200, o);
out:
	explicit_bzero(&oc, sizeof(oc));
	return rc;
}

/*
 * POST /auth/reset-password (issue 15): registration's password policy,
 * then the reset grant (with reset_token, or from the client that
 * checked the code, unless reset_requires_token), bound to the row; the
 * new hash and a new session stamp are stored and every session is
 * revoked.  Every reason for no grant is the same 400.
 */
static int
handle_reset(struct ctx *ctx)
{
	const struct config	*cfg = ctx->config;
	struct session_config	 sc;
	struct password_params	 pp;
	struct otp_config	 oc;
	struct otp_grant	 g;
	struct field_errors	 fe;
	struct body		 b;
	struct user		 u;
	enum otp_status		 st;
	const char		*email, *pw, *confirm, *token, *client;
	char			 hash[PASSWORD_HASH_MAX];
	int			 rc, n;

	if ((rc = read_fields(ctx, &b)) != 1)
		return rc;
	email = body_get(&b, "email");
	pw = body_get(&b, "new_password");
	confirm = body_get(&b, "confirm_password");
	token = body_get(&b, "reset_token");
	validate_reset(ctx->arena, email, pw, confirm, NULL, ctx->passlist,
	    &fe);
	if (fe.n > 0)
		return reply_field_errors(ctx, &fe);
	if (!validate_passwords_match(pw, confirm))
		return reply_error(ctx, 400, "Passwords do not match");
	email = validate_email_canonical(ctx->arena, email);
	if (token == NULL)
		token = "";
	if (cfg->reset_requires_token && *token == '\0')
		return reply_error(ctx, 400, MSG_NO_GRANT);
	client = client_of(ctx);
	mail_app_otp_config(cfg, &oc);
	st = otp_grant_peek(ctx_redis(ctx), &oc, email, token, client,
	    !cfg->reset_requires_token, &g);
	if (st != OTP_OK) {
		rc = reply_error(ctx, st == OTP_NO ? 400 : 503,
		    st == OTP_NO ? MSG_NO_GRANT : MSG_CODES_DOWN);
		goto out;
	}
	if ((rc = user_of(ctx, email, &u)) == -1 || rc == 2) {
		rc = rc == 2 ? 0 : -1;
		goto out;
	}
	/* bound to the row: not another row at that id, not an old stamp */
	if (rc == 0 || u.id != g.uid || u.session_stamp == NULL ||
	    strcmp(u.session_stamp, g.stamp) != 0) {
		rc = reply_error(ctx, 400, MSG_NO_GRANT);
		goto out;
	}
	validate_reset(ctx->arena, u.email, pw, confirm, u.username, NULL,
	    &fe);
	if (fe.n > 0) {
		rc = reply_field_errors(ctx, &fe);
		goto out;
	}
	/* used up here, atomically: of two racing resets one gets it */
	st = otp_grant_take(ctx_redis(ctx), &oc, email, token, client,
	    !cfg->reset_requires_token, &g);
	if (st != OTP_OK || g.uid != u.id) {
		rc = reply_error(ctx, st == OTP_NO || st == OTP_OK ? 400 : 503,
		    st == OTP_NO || st == OTP_OK ? MSG_NO_GRANT :
		    MSG_CODES_DOWN);
		goto out;
	}
	pp.opslimit = cfg->password_opslimit;
	pp.memlimit = cfg->password_memlimit;
	if (password_hash(&pp, pw, strlen(pw), hash) == -1) {
		rc = -1;
		goto out;
	}
	rc = users_reset_password(ctx->users, u.id, hash, ctx->now);
	explicit_bzero(hash, sizeof(hash));
	user_cache_forget(u.id);
	if (rc == USERS_FIND_UNAVAILABLE) {
		rc = reply_error(ctx, 503, MSG_DB_DOWN);
		goto out;
	}
	if (rc == -1)
		goto out;
	/* the new stamp already refuses every token; Redis forgets them */
	session_config_of(ctx, &sc);
	if ((n = session_revoke_all(ctx_redis(ctx), &sc, u.id)) == -1)
		log_warnx("user %lld: password reset, sessions left to the "
		    "new stamp (Redis)", u.id);
	else
		log_info("user %lld: password reset, %d sessions revoked",
		    u.id, n);
	rc = reply_message(ctx, MSG_RESET_DONE);
out:
	explicit_bzero(&oc, sizeof(oc));
	return rc;
}
