/*
 * Failed-login limit in Redis (SPEC 2, POST /auth/login 429): per email
 * and per client address, in a fixed window from the first failure.  An
 * attempt reserves a failure before the password is checked, so parallel
 * attempts cannot overtake the limit.  The program must have called
 * sodium_init().
 */
#ifndef MOCKPIE_RATELIMIT_H
#define MOCKPIE_RATELIMIT_H

#define RATELIMIT_CLIENT_MAX	64	/* an IPv6 /64 as text, and more */

struct rconn;

struct ratelimit_config {
	const char	*prefix;	/* "mockpie:" */
	long		 max_failures;	/* 10 */
	long		 window;	/* seconds, 900 */
};

enum ratelimit_status {
	RATELIMIT_OK,		/* reserved: counted as a failure for now */
	RATELIMIT_BLOCKED,	/* refused, nothing counted */
	RATELIMIT_UNAVAILABLE,	/* Redis unreachable: no limit (SPEC 2) */
	RATELIMIT_ERROR		/* Redis answered an error: refuse the
				   attempt, the limit is never lifted */
};

enum ratelimit_status	 ratelimit_reserve(struct rconn *,
			    const struct ratelimit_config *, const char *,
			    const char *, long *);
void			 ratelimit_succeeded(struct rconn *,
			    const struct ratelimit_config *, const char *,
			    const char *);
const char		*ratelimit_client(char [RATELIMIT_CLIENT_MAX],
			    const char *);
void			 ratelimit_release(struct rconn *,
			    const struct ratelimit_config *, const char *,
			    const char *);

#endif
