/*
 * Failed-login rate limit (SPEC 2): one counter per email and one per
 * client address, each in a fixed window from its first failure.  Keys
 * hold a hash of the lower-cased value, never the email or address.  The
 * handler decides what a refused or failed attempt is.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "log.h"
#include "rconn.h"
#include "ratelimit.h"

#define RATELIMIT_HASH_BYTES	16
#define RATELIMIT_KEY_MAX	256
#define RATELIMIT_KEYS		2	/* email, address */
#define RATELIMIT_CHUNK		256	/* bytes lower-cased at a time */
#define RATELIMIT_ERROR_LOG_MAX	160

struct rl_keys {
	int	 n;
	char	 key[RATELIMIT_KEYS][RATELIMIT_KEY_MAX];
};

/*
 * Writes <prefix>fl:<kind>:<hex of a 16-byte BLAKE2b of lower(value)>
 * into key: 0, or -1 (logged) when the prefix is too long.
 */
static int
ratelimit_key(char *key, size_t len, const char *prefix, char kind,
    const char *value)
{
	crypto_generichash_state	 st;
	unsigned char			 chunk[RATELIMIT_CHUNK];
	unsigned char			 h[RATELIMIT_HASH_BYTES];
	char				 hex[RATELIMIT_HASH_BYTES * 2 + 1];
	size_t				 i;
	int				 n;

	crypto_generichash_init(&st, NULL, 0, sizeof(h));
	while (*value != '\0') {
		for (i = 0; i < sizeof(chunk) && value[i] != '\0'; i++)
			chunk[i] = (unsigned char)tolower((unsigned char)
			    value[i]);
		crypto_generichash_update(&st, chunk, i);
		value += i;
	}
	crypto_generichash_final(&st, h, sizeof(h));
	sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
	n = snprintf(key, len, "%sfl:%c:%s", prefix, kind, hex);
	sodium_memzero(chunk, sizeof(chunk));
	if (n < 0 || (size_t)n >= len) {
		log_warnx("ratelimit: key prefix too long");
		return -1;
	}
	return 0;
}

/* The keys of the given values (NULL or "" skipped): 0, or -1. */
static int
ratelimit_keys(struct rl_keys *k, const char *prefix, const char *email,
    const char *addr)
{
	k->n = 0;
	if (email != NULL && *email != '\0' && ratelimit_key(k->key[k->n++],
	    RATELIMIT_KEY_MAX, prefix, 'e', email) == -1)
		return -1;
	if (addr != NULL && *addr != '\0' && ratelimit_key(k->key[k->n++],
	    RATELIMIT_KEY_MAX, prefix, 'a', addr) == -1)
		return -1;
	return 0;
}

/* 1 if r is a reply of the given type, else 0 (logged unless NULL). */
static int
reply_is(const char *what, const redisReply *r, int type)
{
	if (r == NULL)
		return 0;	/* connection failure, logged by rconn */
	if (r->type == type)
		return 1;
	if (r->type == REDIS_REPLY_ERROR)
		log_warnx("ratelimit %s: redis error: %.*s", what,
		    (int)(r->len < RATELIMIT_ERROR_LOG_MAX ? r->len :
		    RATELIMIT_ERROR_LOG_MAX), r->str);
	else
		log_warnx("ratelimit %s: unexpected reply type %d", what,
		    r->type);
	return 0;
}

/* A GET reply as a count: 0 and *count, or -1 (logged). */
static int
reply_count(const redisReply *r, long long *count)
{
	char	*end;

	if (r != NULL && r->type == REDIS_REPLY_NIL) {
		*count = 0;
		return 0;
	}
	if (!reply_is("check", r, REDIS_REPLY_STRING))
		return -1;
	*count = strtoll(r->str, &end, 10);
	if (r->len == 0 || *end != '\0' || *count < 0) {
		log_warnx("ratelimit check: counter is not a count");
		return -1;
	}
	return 0;
}

/*
 * Whether this email or client address may try to log in, in one round
 * trip.  RATELIMIT_OK; RATELIMIT_BLOCKED when either has max_failures
 * failures in its window, with *retry_after the seconds (>= 1) until
 * every blocking window has passed; RATELIMIT_UNAVAILABLE when rc is NULL
 * or Redis is down or answered an error (logged).  NULL or "" skips a
 * value.
 */
enum ratelimit_status
ratelimit_check(struct rconn *rc, const struct ratelimit_config *cfg,
    const char *email, const char *addr, long *retry_after)
{
	struct rl_keys		 k;
	redisReply		*r[RATELIMIT_KEYS * 2] = { NULL };
	long long		 count, wait_ms, max_ms = 0;
	enum ratelimit_status	 st = RATELIMIT_UNAVAILABLE;
	int			 i, blocked = 0;

	*retry_after = 0;
	if (rc == NULL || ratelimit_keys(&k, cfg->prefix, email, addr) == -1)
		return RATELIMIT_UNAVAILABLE;
	for (i = 0; i < k.n; i++)
		if (rconn_append(rc, "GET %s", k.key[i]) == -1 ||
		    rconn_append(rc, "PTTL %s", k.key[i]) == -1)
			return RATELIMIT_UNAVAILABLE;	/* connection dropped */
	/* read every reply, or the next command would get one of ours */
	for (i = 0; i < k.n * 2; i++)
		if ((r[i] = rconn_reply(rc)) == NULL)
			goto done;
	for (i = 0; i < k.n; i++) {
		if (reply_count(r[2 * i], &count) == -1 ||
		    !reply_is("check", r[2 * i + 1], REDIS_REPLY_INTEGER))
			goto done;
		wait_ms = r[2 * i + 1]->integer;
		if (count < cfg->max_failures || wait_ms == -2)
			continue;	/* under the limit, or just expired */
		if (wait_ms < 0)	/* no TTL: cannot happen, bound it */
			wait_ms = cfg->window * 1000LL;
		blocked = 1;
		if (wait_ms > max_ms)
			max_ms = wait_ms;
	}
	st = RATELIMIT_OK;
	if (blocked) {
		st = RATELIMIT_BLOCKED;
		*retry_after = (long)((max_ms + 999) / 1000);
		if (*retry_after < 1)
			*retry_after = 1;
	}
done:
	for (i = 0; i < k.n * 2; i++)
		if (r[i] != NULL)
			freeReplyObject(r[i]);
	return st;
}

/* Logs an EXEC that was aborted or whose commands failed. */
static void
exec_check(const redisReply *r)
{
	size_t	 i;

	if (!reply_is("fail", r, REDIS_REPLY_ARRAY))
		return;
	for (i = 0; i < r->elements; i++)
		if (r->element[i]->type == REDIS_REPLY_ERROR)
			(void)reply_is("fail", r->element[i],
			    REDIS_REPLY_INTEGER);
}

/*
 * Counts one failed login for the email and for the address (NULL or ""
 * skipped), in one round trip; the first failure starts the window.
 * Errors are logged: while Redis is down there is no limit (SPEC 2).
 */
void
ratelimit_fail(struct rconn *rc, const struct ratelimit_config *cfg,
    const char *email, const char *addr)
{
	struct rl_keys	 k;
	redisReply	*r;
	int		 i, j;

	if (rc == NULL || ratelimit_keys(&k, cfg->prefix, email, addr) == -1)
		return;
	/* per key, so each transaction stays in one Cluster slot */
	for (i = 0; i < k.n; i++)
		if (rconn_append(rc, "MULTI") == -1 ||
		    rconn_append(rc, "INCR %s", k.key[i]) == -1 ||
		    rconn_append(rc, "EXPIRE %s %ld NX", k.key[i],
		    cfg->window) == -1 ||
		    rconn_append(rc, "EXEC") == -1)
			return;
	for (i = 0; i < k.n; i++) {
		for (j = 0; j < 4; j++) {
			if ((r = rconn_reply(rc)) == NULL)
				return;	/* the rest is lost with the link */
			if (j < 3 && r->type == REDIS_REPLY_ERROR)
				(void)reply_is("fail", r, REDIS_REPLY_STATUS);
			else if (j == 3)
				exec_check(r);
			freeReplyObject(r);
		}
	}
}

/* Forgets the email's failures (a successful login); errors are logged. */
void
ratelimit_clear(struct rconn *rc, const struct ratelimit_config *cfg,
    const char *email)
{
	struct rl_keys	 k;
	redisReply	*r;

	if (rc == NULL || ratelimit_keys(&k, cfg->prefix, email, NULL) == -1 ||
	    k.n == 0)
		return;
	if ((r = rconn_command(rc, "DEL %s", k.key[0])) == NULL)
		return;
	(void)reply_is("clear", r, REDIS_REPLY_INTEGER);
	freeReplyObject(r);
}
