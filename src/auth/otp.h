/*
 * One-time codes mailed for email verification and password reset
 * (issue 15): six digits from the CSPRNG, kept in Redis only as a keyed
 * hash, per address and purpose, with a TTL, an attempt limit, a resend
 * cooldown and an hourly cap, each enforced by one Lua script.  Also the
 * reset grant a checked reset code opens.  Needs sodium_init().
 */
#ifndef MOCKPIE_OTP_H
#define MOCKPIE_OTP_H

#include <stddef.h>

struct arena;
struct rconn;

#define OTP_DIGITS		6
#define OTP_KEY_BYTES		32
#define OTP_TOKEN_BYTES		32	/* a reset token's randomness */
#define OTP_TOKEN_MAX		64	/* as base64url, and NUL */
#define OTP_STAMP_MAX		64	/* a user row's session stamp */

enum otp_purpose {
	OTP_VERIFY,
	OTP_RESET
};

struct otp_config {
	const char	*prefix;		/* "mockpie:" */
	long		 ttl;			/* otp_ttl, seconds */
	long		 max_attempts;		/* wrong tries per code */
	long		 cooldown;		/* between sends, seconds */
	long		 hourly_cap;		/* sends per address per hour */
	long		 grant_ttl;		/* reset grant, seconds */
	unsigned char	 key[OTP_KEY_BYTES];	/* otp_subkey() */
};

/*
 * What Redis said.  UNAVAILABLE: not reachable; ERROR: it answered an
 * error.  Either way the caller answers 503: no code is sent or checked
 * without its limits.
 */
enum otp_status {
	OTP_OK,			/* issued; matched; grant taken */
	OTP_COOLDOWN,		/* issue: a code was sent moments ago */
	OTP_CAPPED,		/* issue: the hourly cap is reached */
	OTP_NO,			/* check: wrong, expired, dead or used */
	OTP_UNAVAILABLE,
	OTP_ERROR
};

/* What a reset grant is bound to. */
struct otp_grant {
	long long	 uid;
	char		 stamp[OTP_STAMP_MAX];	/* the row's session stamp */
};

void		 otp_subkey(const unsigned char *, size_t, const char *,
		    unsigned char [OTP_KEY_BYTES]);
enum otp_status	 otp_issue(struct rconn *, const struct otp_config *,
		    const char *, enum otp_purpose, char [OTP_DIGITS + 1]);
enum otp_status	 otp_check(struct rconn *, const struct otp_config *,
		    const char *, const char *, enum otp_purpose *);
enum otp_status	 otp_grant_open(struct rconn *, const struct otp_config *,
		    const char *, const struct otp_grant *, const char *,
		    char [OTP_TOKEN_MAX]);
enum otp_status	 otp_grant_take(struct rconn *, const struct otp_config *,
		    const char *, const char *, const char *, int,
		    struct otp_grant *);
enum otp_status	 otp_grant_peek(struct rconn *, const struct otp_config *,
		    const char *, const char *, const char *, int,
		    struct otp_grant *);
const char	*otp_purpose_name(enum otp_purpose);

#endif
