/*
 * Session records in Redis, one per session (SPEC 3): an allow-list that
 * /auth/me checks, /auth/refresh rotates and /auth/logout revokes.
 */
#ifndef MOCKPIE_SESSION_H
#define MOCKPIE_SESSION_H

#include <time.h>

struct arena;
struct rconn;
struct rconn_config;

#define SESSION_ID_MAX		64	/* sid and jti, as stored */
#define SESSION_TOKEN_MAX	12288	/* the sealed successors kept for
					   the grace window */

struct session_config {
	const char	*prefix;	/* "mockpie:" */
	long		 refresh_ttl;	/* seconds, every key's TTL */
	long		 grace;		/* refresh_reuse_grace, seconds */
	/* redis_client_cache: live sessions remembered (session_cache.h) */
	int				 client_cache;
	const struct rconn_config	*redis;	/* for its subscriber */
	/*
	 * The pool's count of revocations and rotations (shared memory):
	 * bumped before a worker answers one, so every worker of the pool
	 * stops trusting what it remembers at once.  NULL outside a pool.
	 */
	volatile unsigned long		*revocations;
	/*
	 * platform_tokens = original: every session write also mirrors the
	 * newest pair where the original MockPie backend reads it,
	 * <platform_prefix>access_token:<uid> and refresh_token:<uid>.
	 */
	int				 platform;
	const char			*platform_prefix;	/* "" */
	long				 access_ttl;	/* the access key's */
};

/* The pair a session write mirrors (platform), as issued. */
struct session_pair {
	const char	*access;
	const char	*refresh;
	/*
	 * A refresh token the original issued before the switch, exchanged
	 * for this session (/auth/refresh): the write happens only while
	 * refresh_token:<uid> still holds it, in the same step.
	 */
	const char	*legacy_refresh;
};

/*
 * UNAVAILABLE is a Redis that cannot be reached (SPEC 3's signature
 * fallback applies); ERROR is a Redis that answered with an error reply:
 * up and refusing, so the caller fails closed.
 */
enum session_status {
	SESSION_VALID,
	SESSION_REVOKED,
	SESSION_UNAVAILABLE,
	SESSION_ERROR
};

enum session_rotate {
	ROTATE_OK,
	ROTATE_GRACE,
	ROTATE_REUSE,
	ROTATE_INVALID,
	ROTATE_UNAVAILABLE,
	ROTATE_ERROR
};

enum session_status	 session_create(struct rconn *,
			    const struct session_config *, long long,
			    const char *, const char *);
enum session_status	 session_check(struct rconn *,
			    const struct session_config *, long long,
			    const char *, const char *, time_t);
enum session_rotate	 session_rotate(struct rconn *,
			    const struct session_config *, long long,
			    const char *, const char *, const char *,
			    const char *, time_t, struct arena *,
			    const char **);
int			 session_revoke(struct rconn *,
			    const struct session_config *, long long,
			    const char *);
int			 session_revoke_all(struct rconn *,
			    const struct session_config *, long long);

enum session_status	 session_create_mirrored(struct rconn *,
			    const struct session_config *, long long,
			    const char *, const char *,
			    const struct session_pair *);
enum session_rotate	 session_rotate_mirrored(struct rconn *,
			    const struct session_config *, long long,
			    const char *, const char *, const char *,
			    const char *, const struct session_pair *, time_t,
			    struct arena *, const char **);
enum session_status	 session_platform_check(struct rconn *,
			    const struct session_config *, long long, int,
			    const char *);
int			 session_platform_revoke(struct rconn *,
			    const struct session_config *, long long,
			    const char *);

#endif
