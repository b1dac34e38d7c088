/*
 * A worker's memory of sessions it has seen live in Redis, kept only as
 * long as Redis's client tracking says nothing changed (redis_client_cache,
 * SPEC 3): /auth/me on a warm session then costs no Redis round trip.
 * hiredis 0.14 speaks RESP2, so invalidations come on a second connection
 * subscribed to __redis__:invalidate, to which the main connection's
 * tracking is redirected; before an entry is trusted, whatever that
 * connection has received is drained without waiting.
 */
#ifndef MOCKPIE_SESSION_CACHE_H
#define MOCKPIE_SESSION_CACHE_H

#include <stddef.h>
#include <time.h>

struct rconn;
struct rconn_config;

#define SESSION_CACHE_SLOTS	1024	/* direct-mapped, per worker */
#define SESSION_CACHE_KEY_MAX	320	/* as session.c's keys */

struct session_cache_stats {
	unsigned long	 hits, misses, invalidations, resets;
};

int	 session_cache_live(struct rconn *, const struct rconn_config *,
	    const volatile unsigned long *, const char *, size_t, time_t);
void	 session_cache_store(struct rconn *, const char *, size_t, time_t);
void	 session_cache_forget(const char *, size_t);
void	 session_cache_forget_all(void);
void	 session_cache_stats(struct session_cache_stats *);

#endif
