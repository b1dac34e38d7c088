/*
 * JWT access and refresh tokens (SPEC 3): issue and verify with libjwt,
 * the algorithm pinned to the configured HS* one and every claim checked
 * here, since libjwt checks none.  Sessions and revocation live in session.
 * The program must have called sodium_init() before token_new_id() or
 * token_issue() (randombytes_buf).
 */
#ifndef MOCKPIE_TOKEN_H
#define MOCKPIE_TOKEN_H

#include <stddef.h>
#include <time.h>

#include <jwt.h>

#define TOKEN_MAX_LEN	4096	/* longer ones refused before decoding */
#define TOKEN_ID_LEN	22	/* base64url chars of 128 random bits */
#define TOKEN_SECRET_MIN 32	/* bytes; SPEC 3 */
#define TOKEN_SECRET_MAX 4096	/* bytes; libjwt takes an int length */
#define TOKEN_ISSUER_MAX 255	/* bytes of the iss claim */
#define TOKEN_SUB_MAX	19	/* digits of a positive long long */
#define TOKEN_STAMP_MAX	64	/* bytes of the user's session stamp */
#define TOKEN_EMAIL_MAX	320	/* bytes of an email in "sub" (platform) */

enum token_type { TOKEN_ACCESS, TOKEN_REFRESH };

struct token_config {
	const unsigned char	*secret;	/* TOKEN_SECRET_MIN..MAX */
	size_t			 secret_len;
	jwt_alg_t		 alg;		/* HS256; HS384, HS512 */
	const char		*issuer;	/* "mockpie" */
	long			 access_ttl;	/* 900 s */
	long			 refresh_ttl;	/* 7 days */
	long			 leeway;	/* 30 s */
	/*
	 * platform_tokens = original: "sub" is the user's email and the id
	 * moves to mockpie's own claim "uid"; refresh tokens also carry
	 * "refresh": true, as the original MockPie backend's tokens do.
	 */
	int			 platform;
};

/*
 * A token's claims.  sub is carried in the JWT as a decimal string
 * (RFC 7519 4.1.2: a StringOrURI), e.g. "sub": "42", and must be > 0.
 */
struct token {
	enum token_type	 typ;
	long long	 sub;		/* user id */
	char		 jti[TOKEN_ID_LEN + 1];
	char		 sid[TOKEN_ID_LEN + 1];
	time_t		 iat, exp;
	/*
	 * "" for a token issued while Redis held its session.  A token
	 * minted on signature alone while Redis was unreachable (claim
	 * "anc") carries the refresh jti its session had in Redis then: it
	 * is worth something after the outage only while that refresh
	 * token is still the session's current one (session_check).
	 */
	char		 anchor[TOKEN_ID_LEN + 1];
	/*
	 * The session stamp of the user row the token was issued for
	 * (claim "ust"), "" when the token has none; the handlers compare
	 * it with the row they read.
	 */
	char		 stamp[TOKEN_STAMP_MAX + 1];
	const char	*why;		/* on failure: static, for logs */
};

/* What a new token is issued for. */
struct token_subject {
	long long	 uid;		/* > 0 */
	const char	*sid;		/* an id from token_new_id */
	const char	*stamp;		/* the row's session stamp, or NULL */
	const char	*anchor;	/* NULL, or see struct token */
	const char	*email;		/* "sub" when cfg->platform */
};

/*
 * A token the original MockPie backend issued (platform_tokens =
 * original): signed with the shared secret, "sub" the user's email, no
 * claim of mockpie's own.  What makes it live is Redis's copy
 * (session_platform_check), as for the original.
 */
struct legacy_token {
	char		 email[TOKEN_EMAIL_MAX + 1];
	time_t		 exp;
	const char	*why;		/* on failure: static, for logs */
};

int		 token_config_check(const struct token_config *, const char **);
void		 token_new_id(char [TOKEN_ID_LEN + 1]);
char		*token_issue(const struct token_config *, enum token_type,
		    long long, const char *, time_t, struct token *);
char		*token_issue_for(const struct token_config *,
		    enum token_type, const struct token_subject *, time_t,
		    struct token *);
int		 token_verify(const struct token_config *, enum token_type,
		    const char *, time_t, struct token *);
int		 token_verify_legacy(const struct token_config *,
		    enum token_type, const char *, time_t,
		    struct legacy_token *);
const char	*token_type_name(enum token_type);
void		 token_warm(void);

#endif
