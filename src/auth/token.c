/*
 * JWT issue and verify (SPEC 3) on libjwt 1.10.2, which checks the
 * signature and nothing else: the algorithm is pinned and every claim is
 * checked here (PITFALLS libjwt).  Claims are read with libjwt's typed
 * getters from the payload it verified.  Session liveness is session's
 * business.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jwt.h>
#include <sodium.h>

#include "lib/log.h"
#include "auth/token.h"

#define TOKEN_ID_BYTES		16		/* 128 random bits */
#define TOKEN_TTL_MAX		(366L * 24 * 3600)	/* one year */
#define TOKEN_LEEWAY_MAX	3600L		/* one hour */

/* The base64url alphabet (RFC 4648 5), without padding. */
static int
token_b64url_char(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/* 1 when s is TOKEN_ID_LEN base64url characters, as token_new_id makes. */
static int
token_id_valid(const char *s, size_t len)
{
	size_t	 i;

	if (s == NULL || len != TOKEN_ID_LEN)
		return 0;
	for (i = 0; i < len; i++)
		if (!token_b64url_char((unsigned char)s[i]))
			return 0;
	return 1;
}

/*
 * 1 when str (len bytes) is three non-empty base64url segments joined by
 * dots, the compact JWS form (RFC 7515 7.1); anything else never reaches
 * libjwt.
 */
static int
token_shape_valid(const char *str, size_t len)
{
	size_t	 i, dots = 0, seg = 0;

	for (i = 0; i < len; i++) {
		if (str[i] == '.') {
			if (seg == 0 || ++dots > 2)
				return 0;
			seg = 0;
		} else if (token_b64url_char((unsigned char)str[i]))
			seg++;
		else
			return 0;
	}
	return dots == 2 && seg > 0;
}

/* The claim's name for a token type, "access" or "refresh". */
const char *
token_type_name(enum token_type typ)
{
	return typ == TOKEN_REFRESH ? "refresh" : "access";
}

/*
 * Checks a configuration before any token is made or read: 0 when usable,
 * -1 with *why (static text, may be NULL) naming the first problem.  An
 * empty key would make libjwt skip verification (PITFALLS libjwt).
 */
int
token_config_check(const struct token_config *cfg, const char **why)
{
	const char	*reason = NULL;

	if (cfg == NULL)
		reason = "no token configuration";
	else if (cfg->secret == NULL || cfg->secret_len < TOKEN_SECRET_MIN)
		reason = "jwt secret shorter than 32 bytes";
	else if (cfg->secret_len > TOKEN_SECRET_MAX)
		reason = "jwt secret longer than 4096 bytes";
	else if (cfg->alg != JWT_ALG_HS256 && cfg->alg != JWT_ALG_HS384 &&
	    cfg->alg != JWT_ALG_HS512)
		reason = "jwt algorithm must be HS256, HS384 or HS512";
	else if (cfg->issuer == NULL || cfg->issuer[0] == '\0' ||
	    strnlen(cfg->issuer, TOKEN_ISSUER_MAX + 1) > TOKEN_ISSUER_MAX)
		reason = "jwt issuer empty or longer than 255 bytes";
	else if (cfg->access_ttl <= 0 || cfg->access_ttl > TOKEN_TTL_MAX ||
	    cfg->refresh_ttl <= 0 || cfg->refresh_ttl > TOKEN_TTL_MAX)
		reason = "token lifetimes must be between 1 s and one year";
	else if (cfg->leeway < 0 || cfg->leeway > TOKEN_LEEWAY_MAX)
		reason = "token leeway must be between 0 and 3600 s";
	if (why != NULL)
		*why = reason;
	return reason == NULL ? 0 : -1;
}

/*
 * Writes a fresh id of 128 random bits as TOKEN_ID_LEN base64url
 * characters and a NUL into out.  Needs sodium_init() done.
 */
void
token_new_id(char out[TOKEN_ID_LEN + 1])
{
	unsigned char	 raw[TOKEN_ID_BYTES];

	randombytes_buf(raw, sizeof(raw));
	sodium_bin2base64(out, TOKEN_ID_LEN + 1, raw, sizeof(raw),
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

/*
 * Issues a token of type typ for user sub (> 0) in session sid (an id from
 * token_new_id) at time now, with a fresh jti.  Returns the signed token,
 * which the caller free()s, and fills *out with its claims; NULL on
 * failure (bad arguments, libjwt fault; logged).
 */
char *
token_issue(const struct token_config *cfg, enum token_type typ,
    long long sub, const char *sid, time_t now, struct token *out)
{
	struct token_subject	 subj = { sub, sid, NULL, NULL, NULL };

	return token_issue_for(cfg, typ, &subj, now, out);
}

/* 1 when s (len bytes) is a stamp: 1 to TOKEN_STAMP_MAX base64url chars */
static int
token_stamp_valid(const char *s, size_t len)
{
	size_t	 i;

	if (s == NULL || len == 0 || len > TOKEN_STAMP_MAX)
		return 0;
	for (i = 0; i < len; i++)
		if (!token_b64url_char((unsigned char)s[i]))
			return 0;
	return 1;
}

/*
 * token_issue() with all a token can be bound to: the user row's session
 * stamp (claim "ust") and, for a token minted on signature alone while
 * Redis was unreachable, the refresh jti its session had in Redis (claim
 * "anc").  Either may be NULL.
 */
char *
token_issue_for(const struct token_config *cfg, enum token_type typ,
    const struct token_subject *subj, time_t now, struct token *out)
{
	long long	 sub = subj->uid;
	const char	*sid = subj->sid, *anchor = subj->anchor;
	const char	*stamp = subj->stamp, *email = subj->email;
	jwt_t		*jwt = NULL;
	char		*str = NULL;
	char		 subs[TOKEN_SUB_MAX + 1];
	const char	*why;
	long		 ttl;
	int		 rc;

	memset(out, 0, sizeof(*out));
	if (token_config_check(cfg, &why) == -1) {
		log_errorx("token issue: %s", why);
		goto fail;
	}
	if (sub <= 0 || (typ != TOKEN_ACCESS && typ != TOKEN_REFRESH)) {
		log_errorx("token issue: bad subject or type");
		goto fail;
	}
	if (sid == NULL ||
	    !token_id_valid(sid, strnlen(sid, TOKEN_ID_LEN + 1)) ||
	    (anchor != NULL &&
	    !token_id_valid(anchor, strnlen(anchor, TOKEN_ID_LEN + 1))) ||
	    (stamp != NULL && !token_stamp_valid(stamp,
	    strnlen(stamp, TOKEN_STAMP_MAX + 1)))) {
		log_errorx("token issue: bad session id, anchor or stamp");
		goto fail;
	}
	if (cfg->platform && (email == NULL || *email == '\0' ||
	    strnlen(email, TOKEN_EMAIL_MAX + 1) > TOKEN_EMAIL_MAX)) {
		log_errorx("token issue: platform tokens need the email");
		goto fail;
	}
	ttl = typ == TOKEN_ACCESS ? cfg->access_ttl : cfg->refresh_ttl;
	out->typ = typ;
	out->sub = sub;
	token_new_id(out->jti);
	memcpy(out->sid, sid, TOKEN_ID_LEN + 1);
	if (anchor != NULL)
		memcpy(out->anchor, anchor, TOKEN_ID_LEN + 1);
	if (stamp != NULL)
		snprintf(out->stamp, sizeof(out->stamp), "%s", stamp);
	out->iat = now;
	out->exp = now + ttl;
	(void)snprintf(subs, sizeof(subs), "%lld", sub);

	if ((rc = jwt_new(&jwt)) != 0 ||
	    (rc = jwt_set_alg(jwt, cfg->alg, cfg->secret,
	    (int)cfg->secret_len)) != 0 ||
	    (rc = jwt_add_grant(jwt, "iss", cfg->issuer)) != 0 ||
	    (rc = jwt_add_grant(jwt, "sub", cfg->platform ? email : subs)) !=
	    0 ||
	    (cfg->platform && (rc = jwt_add_grant(jwt, "uid", subs)) != 0) ||
	    (cfg->platform && typ == TOKEN_REFRESH &&
	    (rc = jwt_add_grant_bool(jwt, "refresh", 1)) != 0) ||
	    (rc = jwt_add_grant_int(jwt, "iat", (long)out->iat)) != 0 ||
	    (rc = jwt_add_grant_int(jwt, "exp", (long)out->exp)) != 0 ||
	    (rc = jwt_add_grant(jwt, "jti", out->jti)) != 0 ||
	    (rc = jwt_add_grant(jwt, "sid", out->sid)) != 0 ||
	    (rc = jwt_add_grant(jwt, "typ", token_type_name(typ))) != 0 ||
	    (stamp != NULL &&
	    (rc = jwt_add_grant(jwt, "ust", stamp)) != 0) ||
	    (anchor != NULL &&
	    (rc = jwt_add_grant(jwt, "anc", anchor)) != 0)) {
		log_errorx("token issue: libjwt: %s", strerror(rc));
		goto fail;
	}
	if ((str = jwt_encode_str(jwt)) == NULL) {
		log_errorx("token issue: libjwt: %s", strerror(errno));
		goto fail;
	}
	if (strlen(str) > TOKEN_MAX_LEN) {	/* verify would refuse it */
		log_errorx("token issue: token longer than %d bytes",
		    TOKEN_MAX_LEN);
		free(str);
		str = NULL;
		goto fail;
	}
	jwt_free(jwt);
	return str;
fail:
	jwt_free(jwt);		/* harmless on NULL */
	memset(out, 0, sizeof(*out));
	out->why = "token not issued";
	return NULL;
}

/*
 * The claim's value when it is a JSON string, else NULL (jwt_get_grant
 * gives NULL for other types; jansson refuses "\u0000" when parsing).
 */
static const char *
token_claim_str(jwt_t *jwt, const char *name, size_t *lenp)
{
	const char	*s;

	if ((s = jwt_get_grant(jwt, name)) == NULL)
		return NULL;
	*lenp = strlen(s);
	return s;
}

/*
 * 0 and *val when the claim is a positive JSON integer.  jwt_get_grant_int
 * reads a string or a real as 0 and a missing claim as -1 with ENOENT:
 * none of them is a positive time, so all are refused here.
 */
static int
token_claim_time(jwt_t *jwt, const char *name, long long *val)
{
	long	 v;

	errno = 0;
	v = jwt_get_grant_int(jwt, name);
	if (errno != 0 || v <= 0)
		return -1;
	*val = v;
	return 0;
}

/* 0 and *val when s (len bytes) is a decimal user id > 0, no sign or 0s. */
static int
token_parse_sub(const char *s, size_t len, long long *val)
{
	long long	 n = 0;
	size_t		 i;

	if (len == 0 || len > TOKEN_SUB_MAX || s[0] == '0')
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		if (n > (LLONG_MAX - (s[i] - '0')) / 10)
			return -1;
		n = n * 10 + (s[i] - '0');
	}
	*val = n;
	return 0;
}

/* The reason the claims fail, or NULL when they are those of a good token. */
static const char *
token_check_claims(const struct token_config *cfg, enum token_type want,
    jwt_t *claims, time_t now, struct token *out)
{
	const char	*s;
	size_t		 len;
	long long	 exp, iat, sub;

	if (token_claim_time(claims, "exp", &exp) == -1)
		return "token exp missing or not an integer";
	if (exp <= (long long)now - cfg->leeway)
		return "token expired";
	if (token_claim_time(claims, "iat", &iat) == -1)
		return "token iat missing or not an integer";
	if (iat > (long long)now + cfg->leeway)
		return "token issued in the future";
	if ((s = token_claim_str(claims, "iss", &len)) == NULL ||
	    strcmp(s, cfg->issuer) != 0)
		return "token issuer mismatch";
	if ((s = token_claim_str(claims, "typ", &len)) == NULL ||
	    strcmp(s, token_type_name(want)) != 0)
		return "token type mismatch";
	/* platform tokens carry the id in "uid", "sub" being the email */
	if ((s = token_claim_str(claims, "uid", &len)) == NULL)
		s = token_claim_str(claims, "sub", &len);
	if (s == NULL || token_parse_sub(s, len, &sub) == -1)
		return "token sub missing or invalid";
	out->sub = sub;
	if ((s = token_claim_str(claims, "jti", &len)) == NULL ||
	    !token_id_valid(s, len))
		return "token jti missing or invalid";
	memcpy(out->jti, s, TOKEN_ID_LEN + 1);
	if ((s = token_claim_str(claims, "sid", &len)) == NULL ||
	    !token_id_valid(s, len))
		return "token sid missing or invalid";
	memcpy(out->sid, s, TOKEN_ID_LEN + 1);
	/*
	 * Optional claims: anc only on tokens minted while Redis was
	 * unreachable, ust on every token mockpie issues for a user row.
	 * libjwt sets errno ENOENT for a missing claim, EINVAL for one that
	 * is not a string.
	 */
	errno = 0;
	if ((s = token_claim_str(claims, "anc", &len)) != NULL) {
		if (!token_id_valid(s, len))
			return "token anc invalid";
		memcpy(out->anchor, s, TOKEN_ID_LEN + 1);
	} else if (errno != ENOENT)
		return "token anc invalid";
	errno = 0;
	if ((s = token_claim_str(claims, "ust", &len)) != NULL) {
		if (!token_stamp_valid(s, len))
			return "token ust invalid";
		memcpy(out->stamp, s, len + 1);
	} else if (errno != ENOENT)
		return "token ust invalid";
	out->typ = want;
	out->iat = (time_t)iat;
	out->exp = (time_t)exp;
	return NULL;
}

/*
 * Signs and checks one throwaway token, for the master to call before it
 * forks.  OpenSSL 3 builds its provider tables at a process's first HMAC
 * (measured: 3 to 4 ms and 2.5 MiB of resident memory here); done once in
 * the master, every worker inherits them instead of paying at its first
 * request, and each recycled worker again.  The key is a constant: it
 * signs nothing else.
 */
void
token_warm(void)
{
	static const unsigned char	 key[32] = "mockpie: a warm-up, no secret.";
	jwt_t				*jwt = NULL, *back = NULL;
	char				*str = NULL;

	if (jwt_new(&jwt) == 0 &&
	    jwt_set_alg(jwt, JWT_ALG_HS256, key, sizeof(key)) == 0 &&
	    (str = jwt_encode_str(jwt)) != NULL &&
	    jwt_decode(&back, str, key, sizeof(key)) == 0)
		jwt_free(back);
	free(str);
	jwt_free(jwt);
}

/*
 * Decodes str with the secret, the algorithm pinned: NULL and *jwtp, or
 * the reason it is refused.
 */
static const char *
token_decode(const struct token_config *cfg, const char *str, jwt_t **jwtp)
{
	const char	*why, *alg;
	size_t		 len;

	*jwtp = NULL;
	if (token_config_check(cfg, &why) == -1)	/* never key_len 0 */
		return why;
	if (str == NULL || (len = strnlen(str, TOKEN_MAX_LEN + 1)) == 0)
		return "token empty";
	if (len > TOKEN_MAX_LEN)	/* libjwt alloca()s its length */
		return "token too long";
	if (!token_shape_valid(str, len))
		return "token malformed";
	if (jwt_decode(jwtp, str, cfg->secret, (int)cfg->secret_len) != 0) {
		*jwtp = NULL;
		return "token signature or encoding invalid";
	}
	/*
	 * libjwt takes the algorithm from the token: pin it, and the header's
	 * spelling too, since libjwt accepts "hs256" (RFC 7515 4.1.1 says
	 * case-sensitive).
	 */
	alg = jwt_get_header(*jwtp, "alg");
	if (jwt_get_alg(*jwtp) != cfg->alg || alg == NULL ||
	    strcmp(alg, jwt_alg_str(cfg->alg)) != 0)
		return "token algorithm not allowed";
	return NULL;
}

/*
 * Verifies str as a token of type want at time now (SPEC 3): 0 with *out
 * filled, or -1 with out->why set to a static reason (never the token)
 * and the other fields zeroed.  Nothing is logged; the caller decides.
 */
int
token_verify(const struct token_config *cfg, enum token_type want,
    const char *str, time_t now, struct token *out)
{
	jwt_t		*jwt;
	const char	*why;

	memset(out, 0, sizeof(*out));
	if ((why = token_decode(cfg, str, &jwt)) != NULL)
		goto fail;
	/* read with libjwt's typed getters: no second parse on the hot path */
	if ((why = token_check_claims(cfg, want, jwt, now, out)) != NULL)
		goto fail;
	jwt_free(jwt);
	return 0;
fail:
	jwt_free(jwt);		/* harmless on NULL */
	memset(out, 0, sizeof(*out));
	out->why = why;
	return -1;
}

/*
 * Verifies str as a token the original MockPie backend issued, the way its
 * get_current_user decodes one (PyJWT: signature, the pinned algorithm,
 * exp when present, which the original always sets) plus what tells it
 * from mockpie's: no "typ" claim; "sub" a string, the email; for want ==
 * TOKEN_REFRESH, "refresh": true.  Only with cfg->platform.  0 with *out,
 * or -1 with out->why.  Whether it is live is Redis's answer.
 */
int
token_verify_legacy(const struct token_config *cfg, enum token_type want,
    const char *str, time_t now, struct legacy_token *out)
{
	jwt_t		*jwt;
	const char	*why, *s;
	size_t		 len;
	long long	 exp;

	memset(out, 0, sizeof(*out));
	why = "platform tokens are off";
	if (!cfg->platform) {
		jwt = NULL;
		goto fail;
	}
	if ((why = token_decode(cfg, str, &jwt)) != NULL)
		goto fail;
	why = "token exp missing or expired";
	if (token_claim_time(jwt, "exp", &exp) == -1 || exp <= (long long)now)
		goto fail;
	why = "token is mockpie's";
	errno = 0;
	if (token_claim_str(jwt, "typ", &len) != NULL || errno != ENOENT)
		goto fail;
	why = "token sub missing or not an email";
	if ((s = token_claim_str(jwt, "sub", &len)) == NULL || len == 0 ||
	    len > TOKEN_EMAIL_MAX || memchr(s, '@', len) == NULL)
		goto fail;
	memcpy(out->email, s, len + 1);
	why = "token refresh claim mismatch";
	if (want == TOKEN_REFRESH && jwt_get_grant_bool(jwt, "refresh") != 1)
		goto fail;
	out->exp = (time_t)exp;
	jwt_free(jwt);
	return 0;
fail:
	jwt_free(jwt);
	memset(out, 0, sizeof(*out));
	out->why = why;
	return -1;
}
