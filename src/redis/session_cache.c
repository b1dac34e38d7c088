/*
 * Server-assisted client-side caching of live sessions (session_cache.h).
 *
 * The rules that keep revocation immediate:
 * - an entry is made only from an EXISTS answered 1 on a main connection
 *   whose tracking is on and redirected to the current subscriber;
 * - before any entry is trusted, every invalidation already received is
 *   applied (one poll, at most one read: no round trip).  Redis buffers
 *   an invalidation while it runs the command that changes the key and
 *   writes it in the same event-loop pass as that command's reply, so by
 *   the time a logout's answer has gone through its worker and nginx the
 *   message is in every worker's socket on this host;
 * - anything that may have lost a message empties the table: the
 *   subscriber's connection lost or replaced, the main connection closed
 *   by the server or replaced (its tracking went with it; one poll of
 *   its socket tells), FLUSHALL (a null payload), a new master under
 *   Sentinel (the old one's invalidations are lost with it);
 * - under Sentinel the subscriber connects to the server the main
 *   connection uses, never a master of its own finding: a REDIRECT to a
 *   client id of another server would send the invalidations to whoever
 *   holds that id there;
 * - an entry lives at most until the token's exp, and Redis invalidates
 *   a key that expires;
 * - within one pool, a revocation or rotation bumps a counter in shared
 *   memory before it is answered, and every worker empties its table when
 *   the counter moved: Redis writes the revoking reply and the
 *   invalidations in one event-loop pass, but a descheduled Redis could
 *   let a request reach another worker in between.  Other pools (other
 *   hosts) rely on the invalidation alone.
 * One table per process, made afresh after fork, like token_cache.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "lib/log.h"
#include "lib/self.h"
#include "redis/rconn.h"
#include "redis/session_cache.h"

#define INVALIDATE_CHANNEL	"__redis__:invalidate"
#define SESSION_CACHE_RETRY_S	60	/* after Redis refused the set-up */

struct entry {
	unsigned long	 gen;	/* cache.gen when stored; another: free */
	time_t	 until;		/* 0: free */
	size_t	 len;
	char	 key[SESSION_CACHE_KEY_MAX];
};

static struct {
	pid_t				 owner;
	struct rconn			*sub;
	unsigned long			 sub_gen;	/* subscribed on */
	unsigned long			 main_gen;	/* tracking on */
	time_t				 refused_until;	/* set-up refused */
	unsigned long			 epoch;	/* revocations seen */
	long long			 client_id;	/* of sub */
	unsigned char			 hkey[crypto_shorthash_KEYBYTES];
	struct session_cache_stats	 st;
	unsigned long			 gen;	/* of the live entries */
} cache;

static struct entry	 slots[SESSION_CACHE_SLOTS];

/*
 * Empties the table by generation: O(1) (it runs at every revocation in
 * the pool) and no page of it touched, so a worker's table costs memory
 * only as it fills.
 */
static void
cache_reset(void)
{
	cache.gen++;
	cache.st.resets++;
}

/* A forked child starts with nothing: no table, no subscriber. */
static void
cache_own(void)
{
	unsigned long	 gen = cache.gen;

	if (cache.owner == self_pid())
		return;
	memset(&cache, 0, sizeof(cache));	/* the parent's sub is not ours */
	cache.gen = gen + 1;			/* nor its entries */
	crypto_shorthash_keygen(cache.hkey);
	cache.owner = self_pid();
}

static struct entry *
slot_of(const char *key, size_t len)
{
	unsigned char	 h[crypto_shorthash_BYTES];
	unsigned long	 i;

	crypto_shorthash(h, (const unsigned char *)key, len, cache.hkey);
	memcpy(&i, h, sizeof(i));
	return &slots[i % SESSION_CACHE_SLOTS];
}

void
session_cache_forget(const char *key, size_t len)
{
	struct entry	*e;

	if (cache.owner != self_pid())
		return;
	e = slot_of(key, len);
	if (e->gen == cache.gen && e->until != 0 && e->len == len &&
	    memcmp(e->key, key, len) == 0)
		e->until = 0;
}

void
session_cache_forget_all(void)
{
	if (cache.owner == self_pid())
		cache_reset();
}

/* One message of the subscriber: an invalidation applies at once. */
static void
on_message(void *arg, const redisReply *r)
{
	const redisReply	*keys;
	size_t			 i;

	(void)arg;
	if (r->type != REDIS_REPLY_ARRAY || r->elements != 3 ||
	    r->element[0]->type != REDIS_REPLY_STRING ||
	    strcmp(r->element[0]->str, "message") != 0)
		return;			/* subscribe confirmations */
	keys = r->element[2];
	cache.st.invalidations++;
	if (keys->type != REDIS_REPLY_ARRAY) {	/* null: FLUSHALL/FLUSHDB */
		cache_reset();
		return;
	}
	for (i = 0; i < keys->elements; i++)
		if (keys->element[i]->type == REDIS_REPLY_STRING)
			session_cache_forget(keys->element[i]->str,
			    keys->element[i]->len);
}

/*
 * The subscriber, connected and subscribed: 0, or -1 (no caching now).
 * A new subscriber connection means messages may have been lost.
 */
static int
subscriber_ready(struct rconn *main_rc, const struct rconn_config *cfg)
{
	redisReply	*r;
	long long	 id;

	if (cache.sub == NULL)
		cache.sub = rconn_new(cfg);
	if (rconn_follow(cache.sub, main_rc))
		cache.sub_gen = 0;	/* another master: set up afresh */
	if (cache.sub_gen != 0 && rconn_generation(cache.sub) ==
	    cache.sub_gen)
		return 0;
	cache_reset();
	cache.sub_gen = cache.main_gen = 0;
	if ((r = rconn_command(cache.sub, "CLIENT ID")) == NULL)
		return -1;
	id = r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
	freeReplyObject(r);
	if (id < 0 || (r = rconn_command(cache.sub, "SUBSCRIBE %s",
	    INVALIDATE_CHANNEL)) == NULL)
		return -1;
	if (r->type != REDIS_REPLY_ARRAY) {
		log_warnx("redis client cache: SUBSCRIBE refused: off for %d s",
		    SESSION_CACHE_RETRY_S);
		cache.refused_until = time(NULL) + SESSION_CACHE_RETRY_S;
		freeReplyObject(r);
		return -1;
	}
	freeReplyObject(r);
	cache.client_id = id;
	cache.sub_gen = rconn_generation(cache.sub);
	return 0;
}

/* Tracking on the main connection, redirected to the subscriber: 0/-1. */
static int
tracking_on(struct rconn *main_rc)
{
	redisReply	*r;
	int		 ok;

	if (cache.main_gen != 0 && rconn_generation(main_rc) ==
	    cache.main_gen)
		return 0;
	cache_reset();		/* entries of a connection that is gone */
	cache.main_gen = 0;
	if ((r = rconn_command(main_rc, "CLIENT TRACKING on REDIRECT %lld",
	    cache.client_id)) == NULL)
		return -1;
	ok = r->type == REDIS_REPLY_STATUS;
	if (!ok) {
		log_warnx("redis client cache: CLIENT TRACKING refused (%.*s): "
		    "off for %d s", (int)(r->len < 160 ? r->len : 160),
		    r->str ? r->str : "", SESSION_CACHE_RETRY_S);
		cache.refused_until = time(NULL) + SESSION_CACHE_RETRY_S;
	}
	freeReplyObject(r);
	if (!ok)
		return -1;
	cache.main_gen = rconn_generation(main_rc);
	return 0;
}

/*
 * 1 when the session key (len bytes) is known live at now, without a
 * round trip; 0 when Redis must be asked (unknown, or caching cannot be
 * trusted right now: it is then set up again, a round trip or two once
 * per connection).
 */
int
session_cache_live(struct rconn *main_rc, const struct rconn_config *cfg,
    const volatile unsigned long *revocations, const char *key, size_t len,
    time_t now)
{
	struct entry	*e;
	unsigned long	 epoch;
	int		 ready;

	cache_own();
	/*
	 * A revocation answered by any worker of this pool since the last
	 * look: forget everything, whether or not Redis's message is in yet
	 * (a Redis descheduled between writing the revoking reply and the
	 * invalidations would otherwise leave a window).
	 */
	if (revocations != NULL && (epoch = *revocations) != cache.epoch) {
		cache_reset();
		cache.epoch = epoch;
	}
	if (len > SESSION_CACHE_KEY_MAX || rconn_generation(main_rc) == 0 ||
	    now < cache.refused_until)	/* no round trip per request */
		return 0;
	if (subscriber_ready(main_rc, cfg) == -1)
		return 0;
	ready = rconn_poll_quiet(cache.sub, main_rc);	/* one poll for both */
	if (rconn_drain(cache.sub, ready & RCONN_SUB_READABLE, on_message,
	    NULL) == -1) {
		cache_reset();
		cache.sub_gen = cache.main_gen = 0;
		return 0;
	}
	/*
	 * A main connection closed under us took its tracking along: keys
	 * changed since then send no invalidation.  Forget everything; the
	 * next command replaces the connection and tracking starts again.
	 */
	if (ready & RCONN_MAIN_READABLE) {
		cache_reset();
		cache.main_gen = 0;
	}
	if (tracking_on(main_rc) == -1)
		return 0;
	/*
	 * The main connection may have been replaced while it was asked
	 * (stale, -READONLY) and found another master: its tracking then
	 * points at a client id of the old one.  Start over next time.
	 */
	if (rconn_follow(cache.sub, main_rc)) {
		cache_reset();
		cache.sub_gen = cache.main_gen = 0;
		return 0;
	}
	e = slot_of(key, len);
	if (e->gen == cache.gen && e->until > now && e->len == len &&
	    memcmp(e->key, key, len) == 0) {
		cache.st.hits++;
		return 1;
	}
	cache.st.misses++;
	return 0;
}

/*
 * Redis just answered, on main_rc, that the session key is live: keep it
 * until until (the token's exp) unless an invalidation comes first.
 * Nothing is kept unless tracking is on for that very connection.
 */
void
session_cache_store(struct rconn *main_rc, const char *key, size_t len,
    time_t until)
{
	struct entry	*e;

	if (cache.owner != self_pid() || cache.main_gen == 0 ||
	    rconn_generation(main_rc) != cache.main_gen ||
	    len > SESSION_CACHE_KEY_MAX)
		return;
	e = slot_of(key, len);
	memcpy(e->key, key, len);
	e->len = len;
	e->until = until;
	e->gen = cache.gen;
}

void
session_cache_stats(struct session_cache_stats *st)
{
	*st = cache.st;
}
