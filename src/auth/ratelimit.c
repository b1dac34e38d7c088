/*
 * Failed-login rate limit (SPEC 2): one counter per email and one per
 * client address, each in a fixed window from its first failure.  An
 * attempt is counted when it starts (a reservation, one Lua script per
 * key so each stays in its own Cluster slot) and given back if it
 * succeeds.  Keys hold a hash of the lower-cased value, never the email
 * or address.  The handler decides what a failed attempt is.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "lib/log.h"
#include "redis/rconn.h"
#include "auth/ratelimit.h"

#define RATELIMIT_HASH_BYTES	16
#define RATELIMIT_KEY_MAX	256
#define RATELIMIT_KEYS		2	/* email, address */
#define RATELIMIT_CHUNK		256	/* bytes lower-cased at a time */
#define RATELIMIT_ERROR_LOG_MAX	160
#define RATELIMIT_NUM_MAX	24	/* a long in decimal */

/*
 * KEYS[1] a counter; ARGV[1] max failures, ARGV[2] the window in seconds.
 * Returns 0 when the attempt was counted (the first count starts the
 * window), or the milliseconds (>= 1) until the window ends when the
 * counter is at the limit: then nothing is counted.  A counter without a
 * TTL gets one, so no key blocks for ever.
 */
static struct rconn_script reserve_script = { .source =
	"local v = redis.call('GET', KEYS[1])\n"
	"local n = 0\n"
	"if v then\n"
	"  if not string.match(v, '^%d+$') then\n"
	"    return redis.error_reply('ratelimit counter is not a count')\n"
	"  end\n"
	"  n = tonumber(v)\n"
	"end\n"
	"if n >= tonumber(ARGV[1]) then\n"
	"  local t = redis.call('PTTL', KEYS[1])\n"
	"  if t < 0 then\n"
	"    redis.call('EXPIRE', KEYS[1], ARGV[2])\n"
	"    t = tonumber(ARGV[2]) * 1000\n"
	"  end\n"
	"  if t < 1 then t = 1 end\n"
	"  return t\n"
	"end\n"
	"redis.call('INCR', KEYS[1])\n"
	"if redis.call('TTL', KEYS[1]) < 0 then\n"
	"  redis.call('EXPIRE', KEYS[1], ARGV[2])\n"
	"end\n"
	"return 0\n" };

/*
 * KEYS[1] a counter.  Takes one reservation back: never below 0, and a
 * counter back at 0 is deleted, so the next failure starts a new window.
 * A missing counter (its window passed) or a garbled one is left alone.
 * Returns the count left.
 */
static struct rconn_script release_script = { .source =
	"local v = redis.call('GET', KEYS[1])\n"
	"if not v or not string.match(v, '^%d+$') then return 0 end\n"
	"if tonumber(v) <= 1 then\n"
	"  redis.call('DEL', KEYS[1])\n"
	"  return 0\n"
	"end\n"
	"return redis.call('DECR', KEYS[1])\n" };

static struct rconn_script *const rl_scripts[] = {
	&reserve_script, &release_script
};
#define RL_SCRIPTS	(sizeof(rl_scripts) / sizeof(rl_scripts[0]))

struct rl_keys {
	int	 n;
	char	 kind[RATELIMIT_KEYS];		/* 'e' email, 'a' address */
	char	 key[RATELIMIT_KEYS][RATELIMIT_KEY_MAX];
};

/* One command of a pipeline: a script on one key, or DEL of the key. */
struct rl_op {
	struct rconn_script	*script;	/* NULL: DEL */
	const char		*key;
	const char		*arg[2];	/* reserve_script's ARGV */
	redisReply		*reply;
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

/*
 * The client address as counted (issue 13.5): an IPv6 address by its /64
 * ("2001:db8:1:2::/64"), since one host or one customer's network holds a
 * whole /64; an IPv4-mapped IPv6 address as its IPv4 address; written
 * into buf (RATELIMIT_CLIENT_MAX bytes).  IPv4 and anything that is not
 * an address (a unix socket) are addr itself.
 */
const char *
ratelimit_client(char buf[RATELIMIT_CLIENT_MAX], const char *addr)
{
	struct in6_addr	 a6;

	if (inet_pton(AF_INET6, addr, &a6) != 1)
		return addr;
	if (IN6_IS_ADDR_V4MAPPED(&a6)) {
		if (inet_ntop(AF_INET, &a6.s6_addr[12], buf,
		    RATELIMIT_CLIENT_MAX) == NULL)
			return addr;
		return buf;
	}
	memset(&a6.s6_addr[8], 0, 8);
	if (inet_ntop(AF_INET6, &a6, buf, RATELIMIT_CLIENT_MAX - 3) == NULL)
		return addr;
	strcat(buf, "/64");	/* fits: 3 bytes were kept */
	return buf;
}

/* The keys of the given values (NULL or "" skipped): 0, or -1. */
static int
ratelimit_keys(struct rl_keys *k, const char *prefix, const char *email,
    const char *addr)
{
	char	 client[RATELIMIT_CLIENT_MAX];

	k->n = 0;
	if (email != NULL && *email != '\0') {
		k->kind[k->n] = 'e';
		if (ratelimit_key(k->key[k->n++], RATELIMIT_KEY_MAX, prefix,
		    'e', email) == -1)
			return -1;
	}
	if (addr != NULL && *addr != '\0') {
		k->kind[k->n] = 'a';
		if (ratelimit_key(k->key[k->n++], RATELIMIT_KEY_MAX, prefix,
		    'a', ratelimit_client(client, addr)) == -1)
			return -1;
	}
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

static int
is_noscript(const redisReply *r)
{
	return r->type == REDIS_REPLY_ERROR && r->len >= 8 &&
	    strncmp(r->str, "NOSCRIPT", 8) == 0;
}

/*
 * Queues op: EVALSHA, or EVAL with the source when the script's SHA is
 * not known yet or eval is set.  0, or -1 when the connection is gone.
 */
static int
op_append(struct rconn *rc, const struct rl_op *op, int eval)
{
	const char	*cmd = "EVALSHA", *body;

	if (op->script == NULL)
		return rconn_append(rc, "DEL %s", op->key);
	body = op->script->sha;
	if (eval || *body == '\0') {
		cmd = "EVAL";
		body = op->script->source;
	}
	if (op->arg[0] == NULL)
		return rconn_append(rc, "%s %s 1 %s", cmd, body, op->key);
	return rconn_append(rc, "%s %s 1 %s %s %s", cmd, body, op->key,
	    op->arg[0], op->arg[1]);
}

static void
ops_free(struct rl_op *ops, int n)
{
	int	 i;

	for (i = 0; i < n; i++) {
		if (ops[i].reply != NULL)
			freeReplyObject(ops[i].reply);
		ops[i].reply = NULL;
	}
}

/*
 * Runs ops in one round trip; a script whose SHA is not known yet is
 * loaded in the same round trip and run with EVAL.  A node that lost its
 * script cache (restart, SCRIPT FLUSH) answers NOSCRIPT: that op alone
 * runs again with EVAL.  Returns 0 with every op's reply set (error
 * replies included), or -1 with none when the connection failed: then
 * whatever Redis did stays done.
 */
static int
ops_run(struct rconn *rc, struct rl_op *ops, int n)
{
	redisReply	*r;
	int		 load[RL_SCRIPTS] = { 0 };
	size_t		 j;
	int		 i;

	for (i = 0; i < n; i++)
		ops[i].reply = NULL;
	for (j = 0; j < RL_SCRIPTS; j++) {
		if (rl_scripts[j]->sha[0] != '\0')
			continue;
		for (i = 0; i < n; i++)
			if (ops[i].script == rl_scripts[j])
				load[j] = 1;
		if (load[j] && rconn_append(rc, "SCRIPT LOAD %s",
		    rl_scripts[j]->source) == -1)
			return -1;
	}
	for (i = 0; i < n; i++)
		if (op_append(rc, &ops[i], 0) == -1)
			return -1;
	/* read every reply, or the next command would get one of ours */
	for (j = 0; j < RL_SCRIPTS; j++) {
		if (!load[j])
			continue;
		if ((r = rconn_reply(rc)) == NULL)
			return -1;	/* the rest is lost with the link */
		if (reply_is("script load", r, REDIS_REPLY_STRING) &&
		    r->len == sizeof(rl_scripts[j]->sha) - 1)
			memcpy(rl_scripts[j]->sha, r->str, r->len + 1);
		freeReplyObject(r);
	}
	for (i = 0; i < n; i++)
		if ((ops[i].reply = rconn_reply(rc)) == NULL)
			goto fail;
	for (i = 0; i < n; i++) {
		if (ops[i].script == NULL || !is_noscript(ops[i].reply))
			continue;
		freeReplyObject(ops[i].reply);
		ops[i].reply = NULL;
		log_info("redis script cache was flushed: using EVAL");
		if (op_append(rc, &ops[i], 1) == -1 ||
		    (ops[i].reply = rconn_reply(rc)) == NULL)
			goto fail;
	}
	return 0;
fail:
	ops_free(ops, n);
	return -1;
}

/*
 * Gives back one reservation on each key of k, except that the email's
 * counter is deleted when clear_email is set, in one round trip.  Errors
 * are logged.
 */
static void
ratelimit_settle(struct rconn *rc, const struct rl_keys *k, int clear_email)
{
	struct rl_op	 ops[RATELIMIT_KEYS];
	int		 i;

	if (rc == NULL || k->n == 0)
		return;
	memset(ops, 0, sizeof(ops));
	for (i = 0; i < k->n; i++) {
		ops[i].key = k->key[i];
		if (!clear_email || k->kind[i] != 'e')
			ops[i].script = &release_script;
	}
	if (ops_run(rc, ops, k->n) == -1)
		return;
	for (i = 0; i < k->n; i++)
		(void)reply_is(ops[i].script == NULL ? "clear" : "release",
		    ops[i].reply, REDIS_REPLY_INTEGER);
	ops_free(ops, k->n);
}

/*
 * Whether this email and this client address may try to log in, and if
 * so counts the attempt as a failure for both at once (one round trip),
 * so that parallel attempts cannot get past the limit.  Returns:
 * RATELIMIT_OK: counted; call ratelimit_succeeded() if the login works,
 * ratelimit_release() if it could not be decided, nothing if it failed.
 * RATELIMIT_BLOCKED: either is at max_failures in its window; nothing is
 * counted, and *retry_after is the seconds (>= 1) until every blocking
 * window has passed.
 * RATELIMIT_UNAVAILABLE: rc is NULL or Redis cannot be reached; there is
 * no limit, and nothing is counted unless the link died mid-way.
 * RATELIMIT_ERROR: Redis answered an error (logged): up and refusing, so
 * the caller refuses the attempt rather than lift the limit.
 * A resend on a new connection (rconn) may count an attempt twice when
 * the first connection died after Redis ran it: that errs towards the
 * limit, never past it.
 * NULL or "" skips a value; *retry_after is 0 unless blocked.
 */
enum ratelimit_status
ratelimit_reserve(struct rconn *rc, const struct ratelimit_config *cfg,
    const char *email, const char *addr, long *retry_after)
{
	struct rl_keys	 k, undo;
	struct rl_op	 ops[RATELIMIT_KEYS];
	char		 max[RATELIMIT_NUM_MAX], window[RATELIMIT_NUM_MAX];
	long long	 ms, max_ms = 0;
	int		 i, failed = 0;

	*retry_after = 0;
	if (rc == NULL || ratelimit_keys(&k, cfg->prefix, email, addr) == -1)
		return RATELIMIT_UNAVAILABLE;
	snprintf(max, sizeof(max), "%ld", cfg->max_failures);
	snprintf(window, sizeof(window), "%ld", cfg->window);
	memset(ops, 0, sizeof(ops));
	for (i = 0; i < k.n; i++) {
		ops[i].script = &reserve_script;
		ops[i].key = k.key[i];
		ops[i].arg[0] = max;
		ops[i].arg[1] = window;
	}
	if (ops_run(rc, ops, k.n) == -1)
		return RATELIMIT_UNAVAILABLE;	/* an INCR that landed counts */
	undo.n = 0;
	for (i = 0; i < k.n; i++) {
		ms = -1;
		if (reply_is("reserve", ops[i].reply, REDIS_REPLY_INTEGER) &&
		    (ms = ops[i].reply->integer) < 0)
			log_warnx("ratelimit reserve: bad answer %lld", ms);
		if (ms < 0)
			failed = 1;
		else if (ms == 0) {
			undo.kind[undo.n] = k.kind[i];
			memcpy(undo.key[undo.n++], k.key[i], RATELIMIT_KEY_MAX);
		} else if (ms > max_ms)
			max_ms = ms;
	}
	ops_free(ops, k.n);
	if (max_ms == 0 && !failed)
		return RATELIMIT_OK;
	/* refused attempts do not count (SPEC 2): take back the others */
	ratelimit_settle(rc, &undo, 0);
	if (max_ms == 0)
		return RATELIMIT_ERROR;
	*retry_after = (long)((max_ms + 999) / 1000);
	return RATELIMIT_BLOCKED;
}

/*
 * A successful login after RATELIMIT_OK: clears the email's count (SPEC
 * 2) and gives back the address's reservation, in one round trip.  NULL
 * or "" skips a value; errors are logged (no limit while Redis is down).
 */
void
ratelimit_succeeded(struct rconn *rc, const struct ratelimit_config *cfg,
    const char *email, const char *addr)
{
	struct rl_keys	 k;

	if (rc == NULL || ratelimit_keys(&k, cfg->prefix, email, addr) == -1)
		return;
	ratelimit_settle(rc, &k, 1);
}

/*
 * An attempt after RATELIMIT_OK that was neither a success nor a failure
 * (a fault, the user store down): gives back both reservations, in one
 * round trip.  NULL or "" skips a value; errors are logged.
 */
void
ratelimit_release(struct rconn *rc, const struct ratelimit_config *cfg,
    const char *email, const char *addr)
{
	struct rl_keys	 k;

	if (rc == NULL || ratelimit_keys(&k, cfg->prefix, email, addr) == -1)
		return;
	ratelimit_settle(rc, &k, 0);
}
