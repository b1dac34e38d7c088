/*
 * mockpie as the pool's application (pool/pool.h): its configuration,
 * what each worker owns, how one request is served, and the counters a
 * worker publishes in its scoreboard slot for /status.
 */
#ifndef MOCKPIE_APP_H
#define MOCKPIE_APP_H

#include <stddef.h>

#include "pool/pool.h"
#include "pool/scoreboard.h"

struct config;
struct config_overrides;
struct users_settings;

/* Where the configuration comes from, at start and on each reload. */
struct app_source {
	const char			*path;	/* NULL: defaults + env */
	const struct config_overrides	*overrides;
};

/* A worker's counters, in its slot's app area. */
struct app_counters {
	volatile unsigned long	 redis_connected;
	volatile unsigned long	 redis_failures;
	volatile long		 redis_backoff_ms;
	volatile unsigned long	 redis_stale_reconnects; /* not outages */
	volatile unsigned long	 signature_fallbacks;	/* answered on the
							   signature alone */
	volatile unsigned long	 session_cache_hits;	/* no round trip */
	volatile unsigned long	 verify_requests;	/* GET /auth/verify */
};

/* The counters all workers share, in the scoreboard's app area. */
struct app_shared {
	/* bumped by a worker before it answers a revocation or rotation */
	volatile unsigned long	 revocations;
};

_Static_assert(sizeof(struct app_counters) <= SCOREBOARD_APP_BYTES,
    "app counters fit the slot");
_Static_assert(sizeof(struct app_shared) <= SCOREBOARD_APP_BYTES,
    "shared counters fit the scoreboard");

static inline struct app_counters *
app_counters(struct slot *s)
{
	return (struct app_counters *)(void *)s->app;
}

static inline const struct app_counters *
app_counters_of(const struct slot *s)
{
	return (const struct app_counters *)(const void *)s->app;
}

static inline struct app_shared *
app_shared(struct scoreboard *sb)
{
	return (struct app_shared *)(void *)sb->app;
}

struct config	*app_load(const struct app_source *, char *, size_t);
void		 app_unload(struct config *);
struct pool_app	 app_pool(struct app_source *);
void		 app_users_settings(const struct config *,
		    struct users_settings *);

#endif
