/*
 * Failed-login counters in Redis (SPEC 2, POST /auth/login 429): per email
 * and per client address, in a fixed window from the first failure.
 * The program must have called sodium_init().
 */
#ifndef MOCKPIE_RATELIMIT_H
#define MOCKPIE_RATELIMIT_H

struct rconn;

struct ratelimit_config {
	const char	*prefix;	/* "mockpie:" */
	long		 max_failures;	/* 10 */
	long		 window;	/* seconds, 900 */
};

enum ratelimit_status {
	RATELIMIT_OK,
	RATELIMIT_BLOCKED,
	RATELIMIT_UNAVAILABLE
};

enum ratelimit_status	 ratelimit_check(struct rconn *,
			    const struct ratelimit_config *, const char *,
			    const char *, long *);
void			 ratelimit_fail(struct rconn *,
			    const struct ratelimit_config *, const char *,
			    const char *);
void			 ratelimit_clear(struct rconn *,
			    const struct ratelimit_config *, const char *);

#endif
