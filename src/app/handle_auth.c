/*
 * The /auth endpoints.  Tokens are JWTs (token.c) whose sessions live in
 * Redis (session.c) as an allow-list; users live in the user store
 * (users.h).  With Redis down, tokens are issued and accepted on signature
 * and expiry alone unless redis_required is set (SPEC 3).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "app/app.h"
#include "lib/arena.h"
#include "http/body.h"
#include "http/boolean.h"
#include "app/config.h"
#include "http/ctx.h"
#include "app/handle_auth.h"
#include "auth/grace_seal.h"
#include "lib/jsonh.h"
#include "lib/log.h"
#include "auth/password.h"
#include "auth/ratelimit.h"
#include "redis/rconn.h"
#include "http/reply.h"
#include "http/router.h"
#include "pool/scoreboard.h"
#include "auth/session.h"
#include "auth/token.h"
#include "auth/token_cache.h"
#include "store/user_cache.h"
#include "app/user_json.h"
#include "store/users.h"
#include "auth/validate.h"

static int	handle_register(struct ctx *);
static int	handle_login(struct ctx *);
static int	handle_refresh(struct ctx *);
static int	handle_logout(struct ctx *);
static int	handle_me(struct ctx *);
static int	handle_verify(struct ctx *);

const struct route handle_auth_routes[] = {
	{ "POST", "/auth/register", handle_register },
	{ "POST", "/auth/login", handle_login },
	{ "POST", "/auth/refresh", handle_refresh },
	{ "POST", "/auth/logout", handle_logout },
	{ "GET", "/auth/me", handle_me },
	{ "GET", "/auth/verify", handle_verify },
	{ NULL, NULL, NULL }
};

#define MSG_BAD_TOKEN	"Invalid or expired token"	/* the original's */
#define MSG_BAD_LOGIN	"Invalid username or password"
#define MSG_BAD_REFRESH	"Invalid refresh token"

static void
token_config_of(const struct config *cfg, struct token_config *tc)
{
	tc->secret = cfg->jwt_secret;
	tc->secret_len = cfg->jwt_secret_len;
	tc->alg = cfg->jwt_alg;
	tc->issuer = cfg->jwt_issuer;
	tc->access_ttl = cfg->access_token_ttl;
	tc->refresh_ttl = cfg->refresh_token_ttl;
	tc->leeway = cfg->jwt_leeway;
	tc->platform = cfg->platform_tokens;
}

void
session_config_of(struct ctx *ctx, struct session_config *sc)
{
	const struct config	*cfg = ctx->config;

	sc->prefix = cfg->redis_prefix;
	sc->refresh_ttl = cfg->refresh_token_ttl;
	sc->grace = cfg->refresh_reuse_grace;
	sc->client_cache = cfg->redis_client_cache;
	sc->redis = &cfg->redis;
	sc->revocations = ctx->scoreboard != NULL ?
	    &app_shared(ctx->scoreboard)->revocations : NULL;
	sc->platform = cfg->platform_tokens;
	sc->platform_prefix = cfg->platform_key_prefix;
	sc->access_ttl = cfg->access_token_ttl;
}

static void
password_params_of(const struct config *cfg, struct password_params *pp)
{
	pp->opslimit = cfg->password_opslimit;
	pp->memlimit = cfg->password_memlimit;
}

/*
 * Reads and parses the body into *b.  1 when there are fields to read,
 * 0 when an error (413, 400, 415, 422) was answered, -1 on a fault.
 */
int
read_fields(struct ctx *ctx, struct body *b)
{
	struct reply_field_error	 e;
	const char			*data;
	size_t				 len;
	int				 status;

	memset(b, 0, sizeof(*b));
	if ((status = ctx_read_body(ctx, &data, &len)) == 413)
		return reply_error(ctx, 413, "Request body too large") == 0 ?
		    0 : -1;
	if (status != 0)
		return reply_error(ctx, 400, "Malformed request body") == 0 ?
		    0 : -1;
	switch (body_parse(ctx->arena, ctx_param(ctx, "CONTENT_TYPE"), data,
	    len, b)) {
	case BODY_OK:
		return 1;
	case BODY_UNSUPPORTED_TYPE:
		return reply_error(ctx, 415, "Unsupported media type: send "
		    "application/json, application/x-www-form-urlencoded or "
		    "multipart/form-data") == 0 ? 0 : -1;
	case BODY_INVALID:
		e.field = b->err_field;
		e.msg = b->err_msg;
		e.type = b->err_type;
		return reply_invalid(ctx, &e, 1) == 0 ? 0 : -1;
	}
	return -1;
}

/* The 422 list of fe's fields (SPEC 2). */
int
reply_field_errors(struct ctx *ctx, const struct field_errors *fe)
{
	struct reply_field_error	 e[VALIDATE_MAX_ERRORS];
	size_t				 i;

	for (i = 0; i < fe->n; i++) {
		e[i].field = fe->e[i].field;
		e[i].msg = fe->e[i].msg;
		e[i].type = fe->e[i].type;
	}
	return reply_invalid(ctx, e, fe->n);
}

/* Token responses are never cached (RFC 6749 5.1). */
static int
reply_tokens(struct ctx *ctx, int status, const char *access,
    const char *refresh, const struct user *u)
{
	struct json_object	*o = jsonh_object();

	arena_defer(ctx->arena, jsonh_put, o);
	jsonh_add_str(o, "access_token", access);
	jsonh_add_str(o, "refresh_token", refresh);
	jsonh_add_str(o, "token_type", "bearer");
	jsonh_add_int(o, "expires_in", ctx->config->access_token_ttl);
	if (u != NULL)
		jsonh_add(o, "user", user_json(u));
	ctx_add_header(ctx, "Cache-Control", "no-store");
	ctx_add_header(ctx, "Pragma", "no-cache");
	return reply_json(ctx, status, o);
}

/*
 * SPEC 3's fallback was taken: Redis could not be reached (a stale
 * connection is replaced by rconn and is not this), so a request was
 * answered on the token's signature and expiry alone.  Counted per
 * worker for /status, so that fallback windows are measured.
 */
static void
signature_fallback_taken(struct ctx *ctx)
{
	if (ctx->slot != NULL)
		app_counters(ctx->slot)->signature_fallbacks++;
}

/*
 * A signed token for subj living in the arena; NULL on a libjwt fault.
 */
static const char *
issue(struct ctx *ctx, enum token_type typ, const struct token_subject *subj,
    struct token *claims)
{
	struct token_config	 tc;
	char			*s;

	token_config_of(ctx->config, &tc);
	if ((s = token_issue_for(&tc, typ, subj, ctx->now, claims)) == NULL) {
		log_errorx("token_issue failed");
		return NULL;
	}
	arena_defer(ctx->arena, free, s);
	return s;
}

/*
 * Opens a session for u and answers status with its tokens (register,
 * login; /auth/refresh with a token the original backend issued, given
 * as legacy_refresh, which the session replaces).  With Redis down the
 * tokens live on signature alone (SPEC 3), except in that exchange.
 */
static int
open_session(struct ctx *ctx, int status, const struct user *u,
    const char *legacy_refresh)
{
	struct session_config	 sc;
	struct session_pair	 pair;
	struct token		 claims;
	struct token_subject	 subj;
	const char		*access, *refresh;
	char			 sid[TOKEN_ID_LEN + 1];

	token_new_id(sid);
	subj.uid = u->id;
	subj.sid = sid;
	subj.stamp = u->session_stamp;
	subj.anchor = NULL;
	subj.email = u->email;
	if ((access = issue(ctx, TOKEN_ACCESS, &subj, &claims)) == NULL ||
	    (refresh = issue(ctx, TOKEN_REFRESH, &subj, &claims)) == NULL)
		return -1;
	session_config_of(ctx, &sc);
	pair.access = access;
	pair.refresh = refresh;
	pair.legacy_refresh = legacy_refresh;
	switch (session_create_mirrored(ctx_redis(ctx), &sc, u->id, sid,
	    claims.jti, &pair)) {
	case SESSION_VALID:
		break;
	case SESSION_REVOKED:	/* the original's pair moved on meanwhile */
		return reply_unauthorized(ctx, MSG_BAD_REFRESH, 0);
	case SESSION_UNAVAILABLE:
		if (legacy_refresh != NULL)	/* only Redis knows it */
			return reply_error(ctx, 503,
			    "Token check unavailable");
		if (ctx->config->redis_required)
			return reply_error(ctx, 503,
			    "Token storage unavailable");
		log_warnx("redis down: session for user %lld issued on "
		    "signature alone", u->id);
		signature_fallback_taken(ctx);
		break;
	default:
		/*
		 * A Redis that is up but refused the write (full, ACL,
		 * loading) would refuse these tokens at once: fail rather
		 * than hand them out.
		 */
		return reply_error(ctx, 503, "Token storage unavailable");
	}
	return reply_tokens(ctx, status, access, refresh, u);
}

/* POST /auth/register (SPEC 2). */
static int
handle_register(struct ctx *ctx)
{
	struct register_input	 in;
	struct field_errors	 fe;
	struct password_params	 pp;
	struct body		 b;
	struct user		 nu, u;
	enum users_result	 res;
	char			 hash[PASSWORD_HASH_MAX];
	int			 rc;

	if ((rc = read_fields(ctx, &b)) != 1)
		return rc;
	in.first_name = body_get(&b, "first_name");
	in.last_name = body_get(&b, "last_name");
	in.email = body_get(&b, "email");
	in.username = body_get(&b, "username");
	in.phone_number = body_get(&b, "phone_number");
	in.password = body_get(&b, "password");
	in.password_confirmation = body_get(&b, "password_confirmation");
	in.gender = body_get(&b, "gender");
	validate_register(&in, ctx->passlist, ctx->arena, &fe);
	if (fe.n > 0)
		return reply_field_errors(ctx, &fe);
	if (!validate_passwords_match(in.password, in.password_confirmation))
		return reply_error(ctx, 400, "Passwords do not match");
	if (ctx->users == NULL)
		return reply_error(ctx, 503, "User store unavailable");
	/* fail closed before storing a user whose session cannot be */
	if (ctx->config->redis_required && ctx_redis(ctx) == NULL)
		return reply_error(ctx, 503, "Token storage unavailable");
	password_params_of(ctx->config, &pp);
	if (password_hash(&pp, in.password, strlen(in.password), hash) == -1)
		return -1;
	memset(&nu, 0, sizeof(nu));
	nu.first_name = in.first_name;
	nu.last_name = in.last_name;
	nu.email = validate_email_canonical(ctx->arena, in.email);
	nu.username = in.username;
	nu.phone_number = in.phone_number;
	nu.gender = in.gender;
	nu.password_hash = hash;
	res = users_create(ctx->users, &nu, ctx->arena, &u);
	explicit_bzero(hash, sizeof(hash));
	switch (res) {
	case USERS_OK:
		break;
	case USERS_DUP_EMAIL:
		return reply_error(ctx, 400, "Email address already registered");
	case USERS_DUP_USERNAME:
		return reply_error(ctx, 400, "Username already taken");
	case USERS_DUP_PHONE:
		return reply_error(ctx, 400, "Phone number already registered");
	case USERS_BUSY:
		return reply_error(ctx, 503, "User store busy, retry");
	case USERS_UNAVAILABLE:		/* SPEC 5 */
		return reply_error(ctx, 503, "Database unavailable");
	case USERS_ERROR:
		return -1;
	}
	log_info("user %lld registered", u.id);
	email_queue_verification(ctx, &u);	/* issue 15, as the original */
	return open_session(ctx, 201, &u, NULL);
}

/*
 * After a successful login: a hash made with other Argon2id parameters
 * than the configured ones, or a legacy bcrypt hash of the original
 * MockPie backend (unless rehash_legacy is off), is replaced, since only
 * now is the password at hand.  The store replaces it only if the row
 * still holds the hash just verified; on the original's table the
 * session stamp changes with it and *u gets the new one.  When the row
 * changed meanwhile (a concurrent login re-hashed it first) the row is
 * read again and kept if the password verifies against it.  A failure
 * here is logged and the login goes on.
 */
static void
rehash_if_stale(struct ctx *ctx, const struct password_params *pp,
    struct user *u, const char *password)
{
	struct user	 now;
	char		 hash[PASSWORD_HASH_MAX];
	int		 legacy;

	if (password_needs_rehash(pp, u->password_hash) != 1)
		return;
	legacy = password_is_legacy(u->password_hash);
	if (legacy && !ctx->config->rehash_legacy)
		return;
	user_cache_forget(u->id);
	if (password_hash(pp, password, strlen(password), hash) == -1)
		return;
	switch (users_set_password_hash(ctx->users, u, hash, ctx->arena)) {
	case 1:
		log_info("user %lld: password re-hashed with the configured "
		    "Argon2id parameters%s", u->id, legacy ?
		    " (was bcrypt)" : "");
		break;
	case 0:
		log_info("user %lld: password changed during the login; not "
		    "re-hashed", u->id);
		if (users_find_by_email(ctx->users, u->email, ctx->arena,
		    &now) == 1 && now.id == u->id && password_verify(pp,
		    now.password_hash, password, strlen(password)) == 1)
			*u = now;
		break;
	default:
		break;	/* logged by the store */
	}
	explicit_bzero(hash, sizeof(hash));
}

static int
reply_too_many(struct ctx *ctx, long retry_after)
{
	char	 s[24];

	snprintf(s, sizeof(s), "%ld", retry_after < 1 ? 1 : retry_after);
	ctx_add_header(ctx, "Retry-After", s);
	return reply_error(ctx, 429, "Too many failed login attempts");
}

/*
 * POST /auth/login (SPEC 2): equal time for unknown email and bad
 * password.  The attempt is counted as a failure before the password is
 * checked, so parallel guesses cannot get past the limit; a success
 * takes that back.
 */
static int
handle_login(struct ctx *ctx)
{
	struct ratelimit_config	 rl;
	struct password_params	 pp;
	struct field_errors	 fe;
	struct body		 b;
	struct user		 u;
	const char		*email, *password, *addr;
	long			 retry_after = 0;
	int			 rc, found, ok, reserved = 0;

	if ((rc = read_fields(ctx, &b)) != 1)
		return rc;
	email = body_get(&b, "email");
	password = body_get(&b, "password");
	validate_login(ctx->arena, email, password, &fe);
	if (fe.n > 0)
		return reply_field_errors(ctx, &fe);
	email = validate_email_canonical(ctx->arena, email);
	if ((addr = ctx_param(ctx, "REMOTE_ADDR")) == NULL)
		addr = "";
	if (ctx->users == NULL)
		return reply_error(ctx, 503, "User store unavailable");
	rl.prefix = ctx->config->redis_prefix;
	rl.max_failures = ctx->config->login_max_failures;
	rl.window = ctx->config->login_failure_window;
	switch (ratelimit_reserve(ctx_redis(ctx), &rl, email, addr,
	    &retry_after)) {
	case RATELIMIT_OK:
		reserved = 1;
		break;
	case RATELIMIT_BLOCKED:
		return reply_too_many(ctx, retry_after);
	case RATELIMIT_UNAVAILABLE:
		log_warnx("redis down: login attempts are not limited");
		break;
	case RATELIMIT_ERROR:
		/*
		 * Redis is up and refusing: answer before the password is
		 * checked, so the limit is never lifted and a right and a
		 * wrong password get the same answer.
		 */
		return reply_error(ctx, 503, "Login temporarily unavailable");
	}
	if ((found = users_find_by_email(ctx->users, email, ctx->arena, &u))
	    == -1)
		goto fault;
	if (found == USERS_FIND_UNAVAILABLE) {	/* SPEC 5; not a failure */
		if (reserved)
			ratelimit_release(ctx_redis(ctx), &rl, email, addr);
		return reply_error(ctx, 503, "Database unavailable");
	}
	password_params_of(ctx->config, &pp);
	/* an unknown email spends a verify all the same */
	ok = password_verify(&pp, found ? u.password_hash : NULL, password,
	    strlen(password));
	if (ok == -1)
		goto fault;
	if (!found || !ok)	/* counted by the reservation */
		return reply_unauthorized(ctx, MSG_BAD_LOGIN, 0);
	if (reserved)
		ratelimit_succeeded(ctx_redis(ctx), &rl, email, addr);
	/* issue 15: only with require_verified_email, off the hot path */
	if (ctx->config->require_verified_email &&
	    (rc = email_login_allowed(ctx, &u)) != 1)
		return rc;
	rehash_if_stale(ctx, &pp, &u, password);
	return open_session(ctx, 200, &u, NULL);
fault:
	/* not a failed login: give the reservation back */
	if (reserved)
		ratelimit_release(ctx_redis(ctx), &rl, email, addr);
	return -1;
}

/*
 * The user row a verified token was issued for: 1 with *u filled; 0 when
 * there is no such row or the row is not the one the token was issued for
 * (another session stamp: a restored database gave its id to someone
 * else, or the stamp was changed to log the user out everywhere), and the
 * caller answers 401; otherwise the answer made or -1 (a store fault).
 */
static int
row_of_token(struct ctx *ctx, const struct token *tok, struct user *u)
{
	int	 found, try;

	if (ctx->users == NULL) {
		reply_error(ctx, 503, "User store unavailable");
		return -1;
	}
	for (try = 0; ; try++) {
		if ((found = user_cache_find(ctx->users, tok->sub,
		    try == 0 ? ctx->config->user_cache_ttl : 0, ctx->arena,
		    u)) == -1)
			return -1;	/* store fault, logged where it was */
		if (found == USERS_FIND_UNAVAILABLE) {	/* SPEC 5 */
			reply_error(ctx, 503, "Database unavailable");
			return -1;
		}
		if (!found)
			return 0;
		if (tok->stamp[0] != '\0' && u->session_stamp != NULL &&
		    strcmp(tok->stamp, u->session_stamp) == 0)
			return 1;
		/*
		 * This worker may have cached the row before its stamp
		 * changed (a re-hash on the original's table, SPEC 5):
		 * the store decides, once.
		 */
		if (try > 0 || ctx->config->user_cache_ttl <= 0)
			break;
		user_cache_forget(tok->sub);
	}
	log_info("token of user %lld refused: issued for another row or "
	    "before a log-out everywhere", tok->sub);
	return 0;
}

/*
 * The active user a token the original backend issued names (its "sub",
 * the stored email): 1 with *u; 0 when there is none (a soft-deleted row
 * counts as none in the store), and the caller answers 401; otherwise
 * the answer made (503) or -1.
 */
static int
row_of_legacy(struct ctx *ctx, const struct legacy_token *lt, struct user *u)
{
	int	 found;

	if (ctx->users == NULL) {
		reply_error(ctx, 503, "User store unavailable");
		return -1;
	}
	found = users_find_by_email(ctx->users, lt->email, ctx->arena, u);
	if (found == USERS_FIND_UNAVAILABLE) {
		reply_error(ctx, 503, "Database unavailable");
		return -1;
	}
	return found;
}

/*
 * /auth/refresh with a refresh token the original backend issued before
 * the switch (platform_tokens = original): while refresh_token:<id> holds
 * it, it buys a full mockpie session, opened in the same step that
 * replaces the original's pair, so it is dead afterwards.
 */
static int
refresh_legacy(struct ctx *ctx, const struct token_config *tc,
    const char *presented, const char *why_not_ours)
{
	struct legacy_token	 lt;
	struct user		 u;
	int			 rc;

	if (token_verify_legacy(tc, TOKEN_REFRESH, presented, ctx->now, &lt)
	    == -1) {
		log_info("refresh refused: %s; %s", why_not_ours, lt.why);
		return reply_unauthorized(ctx, MSG_BAD_REFRESH, 0);
	}
	if ((rc = row_of_legacy(ctx, &lt, &u)) == 0)
		return reply_unauthorized(ctx, MSG_BAD_REFRESH, 0);
	if (rc == -1)
		return ctx->replied ? 0 : -1;
	log_info("user %lld: the original's refresh token exchanged for a "
	    "session", u.id);
	return open_session(ctx, 200, &u, presented);
}

/*
 * POST /auth/refresh (SPEC 2): rotation, grace window, reuse detection.
 * A refresh token minted on signature alone during an outage stands for
 * the refresh token it descends from (its anchor): once Redis is back it
 * rotates normally while that one is still current, and counts as a
 * reuse of it otherwise.  During an outage the new pair inherits the
 * anchor.
 */
static int
handle_refresh(struct ctx *ctx)
{
	struct token_config	 tc;
	struct session_config	 sc;
	struct field_errors	 fe;
	struct token		 old, fresh;
	struct token_subject	 subj;
	struct session_pair	 pair;
	struct user		 u;
	struct body		 b;
	const char		*presented, *access, *refresh, *stands_for;
	const char		*sealed, *grace = NULL;
	int			 rc;

	if ((rc = read_fields(ctx, &b)) != 1)
		return rc;
	if ((presented = body_get(&b, "refresh_token")) == NULL ||
	    *presented == '\0') {
		fe.n = 1;
		fe.e[0].field = "refresh_token";
		fe.e[0].msg = "Field required";
		fe.e[0].type = "missing";
		return reply_field_errors(ctx, &fe);
	}
	token_config_of(ctx->config, &tc);
	if (token_verify(&tc, TOKEN_REFRESH, presented, ctx->now, &old) == -1) {
		if (tc.platform)	/* the original's, before the switch? */
			return refresh_legacy(ctx, &tc, presented, old.why);
		log_info("refresh refused: %s", old.why);
		return reply_unauthorized(ctx, MSG_BAD_REFRESH, 0);
	}
	if ((rc = row_of_token(ctx, &old, &u)) == 0)
		return reply_unauthorized(ctx, MSG_BAD_REFRESH, 0);
	if (rc == -1)
		return ctx->replied ? 0 : -1;
	stands_for = old.anchor[0] != '\0' ? old.anchor : old.jti;
	subj.uid = u.id;
	subj.sid = old.sid;
	subj.stamp = u.session_stamp;
	subj.anchor = NULL;
	subj.email = u.email;
	if ((access = issue(ctx, TOKEN_ACCESS, &subj, &fresh)) == NULL ||
	    (refresh = issue(ctx, TOKEN_REFRESH, &subj, &fresh)) == NULL ||
	    (sealed = grace_seal(ctx->config->jwt_secret,
	    ctx->config->jwt_secret_len, access, refresh, ctx->arena)) == NULL)
		return -1;
	session_config_of(ctx, &sc);
	pair.access = access;
	pair.refresh = refresh;
	pair.legacy_refresh = NULL;
	switch (session_rotate_mirrored(ctx_redis(ctx), &sc, old.sub, old.sid,
	    stands_for, fresh.jti, sealed, &pair, ctx->now, ctx->arena,
	    &grace)) {
	case ROTATE_OK:
		break;
	case ROTATE_GRACE:	/* another tab got there first: same answer */
		if (grace_unseal(ctx->config->jwt_secret,
		    ctx->config->jwt_secret_len, grace, ctx->arena, &access,
		    &refresh) == -1)
			return reply_unauthorized(ctx, MSG_BAD_REFRESH, 0);
		break;
	case ROTATE_REUSE:
		log_warnx("refresh token reused after rotation: session of "
		    "user %lld revoked", old.sub);
		return reply_unauthorized(ctx, MSG_BAD_REFRESH, 0);
	case ROTATE_INVALID:
		return reply_unauthorized(ctx, MSG_BAD_REFRESH, 0);
	case ROTATE_UNAVAILABLE:
		if (ctx->config->redis_required)
			return reply_error(ctx, 503, "Token check unavailable");
		/* the pair Redis never saw says where it comes from */
		subj.anchor = stands_for;
		if ((access = issue(ctx, TOKEN_ACCESS, &subj, &fresh)) ==
		    NULL || (refresh = issue(ctx, TOKEN_REFRESH, &subj,
		    &fresh)) == NULL)
			return -1;
		log_warnx("redis down: refresh for user %lld accepted on "
		    "signature, rotation not tracked", old.sub);
		signature_fallback_taken(ctx);
		break;
	case ROTATE_ERROR:
		return reply_error(ctx, 503, "Token check unavailable");
	}
	return reply_tokens(ctx, 200, access, refresh, NULL);
}

/*
 * The access token of the Authorization header, verified: 0, or -1 after
 * answering 401 (SPEC 2, RFC 6750).
 */
static int
bearer(struct ctx *ctx, struct token *tok)
{
	struct token_config	 tc;
	const char		*h = ctx_param(ctx, "HTTP_AUTHORIZATION");

	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0) {
		reply_unauthorized(ctx, MSG_BAD_TOKEN, 0);
		return -1;
	}
	for (h += 7; *h == ' '; h++)
		;
	token_config_of(ctx->config, &tc);
	if (token_verify_cached(&tc, TOKEN_ACCESS, h, ctx->now, tok) == -1) {
		log_debug("bearer refused: %s", tok->why);
		if (!tc.platform)
			reply_unauthorized(ctx, MSG_BAD_TOKEN, 1);
		/* else the caller tries it as the original's (bearer_legacy) */
		return -1;
	}
	return 0;
}

/*
 * With platform_tokens = original, after bearer() refused the token as
 * mockpie's: the user it names when it is an access token the original
 * backend issued and its key holds it (the original's own rule).  1 with
 * *u; otherwise the answer was made (401, 503) or -1.
 */
static int
bearer_legacy(struct ctx *ctx, struct user *u, const char **token)
{
	struct token_config	 tc;
	struct session_config	 sc;
	struct legacy_token	 lt;
	const char		*h = ctx_param(ctx, "HTTP_AUTHORIZATION");
	int			 rc;

	for (h += 7; *h == ' '; h++)		/* bearer() checked "Bearer " */
		;
	*token = h;
	token_config_of(ctx->config, &tc);
	if (token_verify_legacy(&tc, TOKEN_ACCESS, h, ctx->now, &lt) == -1) {
		log_debug("bearer refused: %s", lt.why);
		reply_unauthorized(ctx, MSG_BAD_TOKEN, 1);
		return -1;
	}
	if ((rc = row_of_legacy(ctx, &lt, u)) != 1) {
		if (rc == 0)
			reply_unauthorized(ctx, MSG_BAD_TOKEN, 1);
		return -1;
	}
	session_config_of(ctx, &sc);
	switch (session_platform_check(ctx_redis(ctx), &sc, u->id, 0, h)) {
	case SESSION_VALID:
		return 1;
	case SESSION_REVOKED:
		reply_unauthorized(ctx, MSG_BAD_TOKEN, 1);
		return -1;
	default:		/* only Redis can say: neither 200 nor 401 */
		reply_error(ctx, 503, "Token check unavailable");
		return -1;
	}
}

static int
reply_logged_out(struct ctx *ctx, int revoked)
{
	struct json_object	*o = jsonh_object();

	arena_defer(ctx->arena, jsonh_put, o);
	jsonh_add_str(o, "message", "Logged out");
	jsonh_add_int(o, "revoked_sessions", revoked);
	return reply_json(ctx, 200, o);
}

/* Logout with an access token the original issued: its pair's keys go. */
static int
logout_legacy(struct ctx *ctx)
{
	struct session_config	 sc;
	struct user		 u;
	const char		*token;

	if (bearer_legacy(ctx, &u, &token) != 1)
		return ctx->replied ? 0 : -1;
	session_config_of(ctx, &sc);
	switch (session_platform_revoke(ctx_redis(ctx), &sc, u.id, token)) {
	case 1:
		return reply_logged_out(ctx, 1);
	case 0:		/* replaced since the check */
		return reply_unauthorized(ctx, MSG_BAD_TOKEN, 1);
	default:
		return reply_error(ctx, 503, "Token revocation unavailable");
	}
}

/* POST /auth/logout (SPEC 2): never reports a revocation that failed. */
static int
handle_logout(struct ctx *ctx)
{
	struct session_config	 sc;
	struct token		 tok;
	struct user		 u;
	struct body		 b;
	struct reply_field_error e;
	int			 rc, n, all;

	if (bearer(ctx, &tok) == -1)
		return ctx->replied ? 0 : logout_legacy(ctx);
	if ((rc = read_fields(ctx, &b)) != 1)
		return rc;
	/* issue 13.4: a value we cannot read revokes nothing */
	if (boolean_param(ctx, &b, "all", &all, &e) == -1)
		return reply_invalid(ctx, &e, 1);
	/* a token of another row must not log out the row now at its id */
	if ((rc = row_of_token(ctx, &tok, &u)) == 0)
		return reply_unauthorized(ctx, MSG_BAD_TOKEN, 1);
	if (rc == -1)
		return ctx->replied ? 0 : -1;
	session_config_of(ctx, &sc);
	switch (session_check(ctx_redis(ctx), &sc, tok.sub, tok.sid,
	    tok.anchor, 0)) {
	case SESSION_VALID:
		break;
	case SESSION_REVOKED:
		return reply_unauthorized(ctx, MSG_BAD_TOKEN, 1);
	case SESSION_UNAVAILABLE:
	case SESSION_ERROR:
		return reply_error(ctx, 503, "Token revocation unavailable");
	}
	if (all)
		n = session_revoke_all(ctx_redis(ctx), &sc, tok.sub);
	else
		n = session_revoke(ctx_redis(ctx), &sc, tok.sub, tok.sid);
	if (n == -1)
		return reply_error(ctx, 503, "Token revocation unavailable");
	return reply_logged_out(ctx, n);
}

/*
 * The user behind the request's access token, checked as /auth/me and
 * /auth/verify both must (SPEC 2, 3): signature and claims, the session
 * in Redis (or the signature fallback), the user row and its stamp.  1
 * with *tok and *u filled; otherwise the answer (401, 503) was made, or
 * -1 on a fault, and the caller returns ctx->replied ? 0 : -1.
 */
static int
authenticate(struct ctx *ctx, struct token *tok, struct user *u)
{
	struct session_config	 sc;
	const char		*token;
	int			 found;

	if (bearer(ctx, tok) == -1) {
		if (ctx->replied || bearer_legacy(ctx, u, &token) != 1)
			return -1;
		/* the original's token: no session of mockpie's */
		memset(tok, 0, sizeof(*tok));
		tok->sub = u->id;
		return 1;
	}
	session_config_of(ctx, &sc);
	switch (session_check(ctx_redis(ctx), &sc, tok->sub, tok->sid,
	    tok->anchor, tok->exp)) {
	case SESSION_VALID:
		break;
	case SESSION_REVOKED:
		reply_unauthorized(ctx, MSG_BAD_TOKEN, 1);
		return -1;
	case SESSION_UNAVAILABLE:	/* signature and expiry suffice */
		if (ctx->config->redis_required) {
			reply_error(ctx, 503, "Token check unavailable");
			return -1;
		}
		log_warnx("redis down: token accepted on signature");
		signature_fallback_taken(ctx);
		break;
	case SESSION_ERROR:	/* up and refusing: neither 200 nor 401 */
		reply_error(ctx, 503, "Token check unavailable");
		return -1;
	}
	if ((found = row_of_token(ctx, tok, u)) == 0)
		reply_unauthorized(ctx, MSG_BAD_TOKEN, 1);
	return found == 1 ? 1 : -1;
}

/* GET /auth/me: the user behind a valid access token (SPEC 2, 3). */
static int
handle_me(struct ctx *ctx)
{
	struct token		 tok;
	struct user		 u;
	const char		*text;
	size_t			 len;

	if (authenticate(ctx, &tok, &u) != 1)
		return ctx->replied ? 0 : -1;
	/* the hot path: written directly, no json-c tree (user_json.h) */
	if ((text = user_json_text(&u, ctx->arena, &len)) == NULL) {
		log_errorx("user %lld: answer too large", u.id);
		return -1;
	}
	return reply_raw(ctx, 200, text, len);
}

/*
 * GET /auth/verify, for nginx auth_request in front of other services:
 * the token checked exactly as /auth/me, then 200 with no body and who
 * the user is in headers that nginx hands on with auth_request_set.
 */
static int
handle_verify(struct ctx *ctx)
{
	struct token		 tok;
	struct user		 u;
	char			 id[TOKEN_SUB_MAX + 1];

	if (ctx->slot != NULL)
		app_counters(ctx->slot)->verify_requests++;
	if (authenticate(ctx, &tok, &u) != 1)
		return ctx->replied ? 0 : -1;
	snprintf(id, sizeof(id), "%lld", u.id);
	if (ctx_add_header(ctx, "X-User-Id", id) == -1 ||
	    ctx_add_header(ctx, "X-User-Email", u.email) == -1 ||
	    ctx_add_header(ctx, "X-Session-Id", tok.sid) == -1)
		return -1;
	ctx_add_header(ctx, "Cache-Control", "no-store");
	return reply_typed(ctx, 200, NULL, "", 0);
}
