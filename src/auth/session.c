/*
 * Session records in Redis (SPEC 3).  One hash per session and one set of
 * sids per user, both under the user's Cluster hash tag {u:<uid>}; every
 * change that touches both runs in one Lua script.  Tokens themselves
 * (signature, expiry, type) are token.c's business.
 */
#include <stdio.h>
#include <string.h>

#include "lib/arena.h"
#include "lib/log.h"
#include "redis/rconn.h"
#include "auth/session.h"
#include "redis/session_cache.h"

#define SESSION_KEY_MAX		320
#define SESSION_NUM_MAX		24	/* a long long in decimal, and NUL */
#define SESSION_ERROR_LOG_MAX	160	/* bytes of a Redis error logged */
#define SESSION_MIRROR_MAX	4160	/* {"token": <4096>, "type": ...} */

/*
 * KEYS[1] the session hash, KEYS[2] the user's set of sids;
 * ARGV[1] refresh jti, ARGV[2] TTL, ARGV[3] sid.  The set's TTL is never
 * shortened: it must outlive every session it lists.  HSET comes first:
 * Redis checks maxmemory at a script's first write only, so a full Redis
 * refuses the login's record instead of half-storing it.
 */
static struct rconn_script create_script = { .source =
	"redis.call('HSET', KEYS[1], 'rt', ARGV[1], 'rot', '0')\n"
	"redis.call('HDEL', KEYS[1], 'prev', 'np', 'na', 'nr')\n"
	"redis.call('EXPIRE', KEYS[1], ARGV[2])\n"
	"redis.call('SADD', KEYS[2], ARGV[3])\n"
	"if redis.call('TTL', KEYS[2]) < tonumber(ARGV[2]) then\n"
	"  redis.call('EXPIRE', KEYS[2], ARGV[2])\n"
	"end\n"
	"return 1\n" };

/*
 * KEYS as above; ARGV[1] presented jti, [2] new jti, [3] the new pair,
 * sealed by the caller (grace_seal.h: Redis never holds a usable token),
 * [4] now, [5] grace, [6] TTL, [7] sid.  Returns {0} no session, {1}
 * rotated, {2, sealed pair} within the grace window, {3} reuse: the
 * session was deleted.  Fields na and nr held the pair in clear before
 * it was sealed; a rotation removes them.
 *
 * A resend after a connection died under the reply (rconn) finds the
 * rotation done with this very request's new jti current: {1} again, so
 * the client gets the pair it was issued, never a false reuse and never
 * a second live successor.
 */
static struct rconn_script rotate_script = { .source =
	"local s = redis.call('HMGET', KEYS[1], 'rt', 'prev', 'rot', 'np')\n"
	"if not s[1] then return {0} end\n"
	"if ARGV[2] == s[1] and ARGV[1] == s[2] then return {1} end\n"
	"if ARGV[1] == s[1] then\n"
	"  redis.call('HSET', KEYS[1], 'prev', s[1], 'rt', ARGV[2],"
	" 'rot', ARGV[4], 'np', ARGV[3])\n"
	"  redis.call('HDEL', KEYS[1], 'na', 'nr')\n"
	"  redis.call('EXPIRE', KEYS[1], ARGV[6])\n"
	"  redis.call('SADD', KEYS[2], ARGV[7])\n"
	"  if redis.call('TTL', KEYS[2]) < tonumber(ARGV[6]) then\n"
	"    redis.call('EXPIRE', KEYS[2], ARGV[6])\n"
	"  end\n"
	"  return {1}\n"
	"end\n"
	"if s[2] and ARGV[1] == s[2] and s[4] and\n"
	"    tonumber(ARGV[4]) - (tonumber(s[3]) or 0) <= tonumber(ARGV[5])"
	" then\n"
	"  return {2, s[4]}\n"
	"end\n"
	"redis.call('DEL', KEYS[1])\n"
	"redis.call('SREM', KEYS[2], ARGV[7])\n"
	"return {3}\n" };

/* KEYS as above; ARGV[1] sid.  Returns the number of hashes deleted. */
static struct rconn_script revoke_script = { .source =
	"local n = redis.call('DEL', KEYS[1])\n"
	"redis.call('SREM', KEYS[2], ARGV[1])\n"
	"return n\n" };

/*
 * KEYS[1] the user's set; ARGV[1] the key prefix of the user's session
 * hashes (same hash tag, so the same Cluster slot).  Returns the number
 * of sessions deleted: members whose hash expired do not count.
 */
static struct rconn_script revoke_all_script = { .source =
	"local n = 0\n"
	"for _, sid in ipairs(redis.call('SMEMBERS', KEYS[1])) do\n"
	"  n = n + redis.call('DEL', ARGV[1] .. sid)\n"
	"end\n"
	"redis.call('DEL', KEYS[1])\n"
	"return n\n" };

/*
 * platform_tokens = original.  The original MockPie backend reads
 * <p>access_token:<uid> and <p>refresh_token:<uid>, each the JSON
 * {"token": ..., "type": "access" | "refresh"} of the user's newest pair.
 * A session hash records the SHA-1 of the values it wrote (pa, pr), so
 * that revoking it deletes those keys only while they still hold its own
 * pair (compare-and-delete): a logout on an old device never signs the
 * newest one out of the rest of the platform.
 */
#define PLATFORM_CAD \
	"local function cad(key, sum)\n" \
	"  local v = redis.call('GET', key)\n" \
	"  if v and sum and redis.sha1hex(v) == sum then\n" \
	"    redis.call('DEL', key)\n" \
	"  end\n" \
	"end\n"

/*
 * create_script's KEYS and ARGV, then KEYS[3], KEYS[4] the access and
 * refresh keys, ARGV[4], ARGV[5] their values, ARGV[6] the access TTL,
 * ARGV[7] "" or a legacy refresh token that refresh_token:<uid> must
 * still hold ({"type": "refresh"}), checked in the same step: 0 if not.
 */
static struct rconn_script create_platform_script = { .source =
	"if ARGV[7] ~= '' then\n"
	"  local v = redis.call('GET', KEYS[4])\n"
	"  if not v then return 0 end\n"
	"  local ok, d = pcall(cjson.decode, v)\n"
	"  if not ok or type(d) ~= 'table' or d.token ~= ARGV[7] or\n"
	"      d.type ~= 'refresh' then return 0 end\n"
	"end\n"
	"redis.call('HSET', KEYS[1], 'rt', ARGV[1], 'rot', '0',"
	" 'pa', redis.sha1hex(ARGV[4]), 'pr', redis.sha1hex(ARGV[5]))\n"
	"redis.call('HDEL', KEYS[1], 'prev', 'np', 'na', 'nr')\n"
	"redis.call('EXPIRE', KEYS[1], ARGV[2])\n"
	"redis.call('SADD', KEYS[2], ARGV[3])\n"
	"if redis.call('TTL', KEYS[2]) < tonumber(ARGV[2]) then\n"
	"  redis.call('EXPIRE', KEYS[2], ARGV[2])\n"
	"end\n"
	"redis.call('SET', KEYS[3], ARGV[4], 'EX', ARGV[6])\n"
	"redis.call('SET', KEYS[4], ARGV[5], 'EX', ARGV[2])\n"
	"return 1\n" };

/*
 * rotate_script with the mirror: KEYS[3], KEYS[4] the platform keys,
 * ARGV[8], ARGV[9] the new pair's values, ARGV[10] the access TTL.  A
 * reuse deletes the keys while they hold the session's pair.
 */
static struct rconn_script rotate_platform_script = { .source =
	PLATFORM_CAD
	"local s = redis.call('HMGET', KEYS[1], 'rt', 'prev', 'rot', 'np',"
	" 'pa', 'pr')\n"
	"if not s[1] then return {0} end\n"
	"if ARGV[2] == s[1] and ARGV[1] == s[2] then return {1} end\n"
	"if ARGV[1] == s[1] then\n"
	"  redis.call('HSET', KEYS[1], 'prev', s[1], 'rt', ARGV[2],"
	" 'rot', ARGV[4], 'np', ARGV[3], 'pa', redis.sha1hex(ARGV[8]),"
	" 'pr', redis.sha1hex(ARGV[9]))\n"
	"  redis.call('HDEL', KEYS[1], 'na', 'nr')\n"
	"  redis.call('EXPIRE', KEYS[1], ARGV[6])\n"
	"  redis.call('SADD', KEYS[2], ARGV[7])\n"
	"  if redis.call('TTL', KEYS[2]) < tonumber(ARGV[6]) then\n"
	"    redis.call('EXPIRE', KEYS[2], ARGV[6])\n"
	"  end\n"
	"  redis.call('SET', KEYS[3], ARGV[8], 'EX', ARGV[10])\n"
	"  redis.call('SET', KEYS[4], ARGV[9], 'EX', ARGV[6])\n"
	"  return {1}\n"
	"end\n"
	"if s[2] and ARGV[1] == s[2] and s[4] and\n"
	"    tonumber(ARGV[4]) - (tonumber(s[3]) or 0) <= tonumber(ARGV[5])"
	" then\n"
	"  return {2, s[4]}\n"
	"end\n"
	"cad(KEYS[3], s[5])\n"
	"cad(KEYS[4], s[6])\n"
	"redis.call('DEL', KEYS[1])\n"
	"redis.call('SREM', KEYS[2], ARGV[7])\n"
	"return {3}\n" };

/* revoke_script with the platform keys as KEYS[3], KEYS[4]. */
static struct rconn_script revoke_platform_script = { .source =
	PLATFORM_CAD
	"local p = redis.call('HMGET', KEYS[1], 'pa', 'pr')\n"
	"cad(KEYS[3], p[1])\n"
	"cad(KEYS[4], p[2])\n"
	"local n = redis.call('DEL', KEYS[1])\n"
	"redis.call('SREM', KEYS[2], ARGV[1])\n"
	"return n\n" };

/*
 * revoke_all_script with the platform keys as KEYS[2], KEYS[3], deleted
 * whatever they hold: every session of the user ends, and so does a
 * pair the original issued before the switch.
 */
static struct rconn_script revoke_all_platform_script = { .source =
	"local n = 0\n"
	"for _, sid in ipairs(redis.call('SMEMBERS', KEYS[1])) do\n"
	"  n = n + redis.call('DEL', ARGV[1] .. sid)\n"
	"end\n"
	"redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])\n"
	"return n\n" };

/*
 * KEYS[1] the access or refresh key; ARGV[1] the token, ARGV[2] "access"
 * or "refresh": 1 when the key holds exactly that token as that type
 * (the original's get_current_user), else 0.
 */
static struct rconn_script platform_check_script = { .source =
	"local v = redis.call('GET', KEYS[1])\n"
	"if not v then return 0 end\n"
	"local ok, d = pcall(cjson.decode, v)\n"
	"if ok and type(d) == 'table' and d.token == ARGV[1] and\n"
	"    d.type == ARGV[2] then return 1 end\n"
	"return 0\n" };

/*
 * A logout with a token the original issued: KEYS[1], KEYS[2] the access
 * and refresh keys; both deleted when the access key holds ARGV[1].
 */
static struct rconn_script platform_revoke_script = { .source =
	"local v = redis.call('GET', KEYS[1])\n"
	"if not v then return 0 end\n"
	"local ok, d = pcall(cjson.decode, v)\n"
	"if not ok or type(d) ~= 'table' or d.token ~= ARGV[1] then\n"
	"  return 0\n"
	"end\n"
	"redis.call('DEL', KEYS[1], KEYS[2])\n"
	"return 1\n" };

enum rotate_code { CODE_NONE, CODE_ROTATED, CODE_GRACE, CODE_REUSE };

/* An identifier (sid, jti) fit for a key or a field: 1, or 0. */
static int
valid_id(const char *s)
{
	size_t	 n;

	return s != NULL && (n = strnlen(s, SESSION_ID_MAX + 1)) > 0 &&
	    n <= SESSION_ID_MAX;
}

static int
valid_token(const char *s)
{
	size_t	 n;

	return s != NULL && (n = strnlen(s, SESSION_TOKEN_MAX + 1)) > 0 &&
	    n <= SESSION_TOKEN_MAX;
}

/*
 * Writes <prefix>{u:<uid>}:<rest><sid> into buf (sid may be ""): 0, or -1
 * (logged) when it does not fit.
 */
static int
session_key(char *buf, size_t len, const struct session_config *cfg,
    long long uid, const char *rest, const char *sid)
{
	int	 n;

	n = snprintf(buf, len, "%s{u:%lld}:%s%s", cfg->prefix, uid, rest,
	    sid);
	if (n < 0 || (size_t)n >= len) {
		log_warnx("session: key prefix too long");
		return -1;
	}
	return 0;
}

/* The session hash and the user's set: 0, or -1 (logged). */
static int
session_keys(char *hash, char *set, const struct session_config *cfg,
    long long uid, const char *sid)
{
	if (!valid_id(sid)) {
		log_warnx("session: bad session id");
		return -1;
	}
	if (session_key(hash, SESSION_KEY_MAX, cfg, uid, "s:", sid) == -1 ||
	    session_key(set, SESSION_KEY_MAX, cfg, uid, "sessions", "") == -1)
		return -1;
	return 0;
}

/* <platform_prefix>access_token:<uid> or refresh_token:<uid>. */
static int
platform_key(char *buf, size_t len, const struct session_config *cfg,
    long long uid, int refresh)
{
	int	 n;

	n = snprintf(buf, len, "%s%s_token:%lld", cfg->platform_prefix != NULL
	    ? cfg->platform_prefix : "", refresh ? "refresh" : "access", uid);
	if (n < 0 || (size_t)n >= len) {
		log_warnx("session: platform key prefix too long");
		return -1;
	}
	return 0;
}

static int
platform_keys(char *access, char *refresh, const struct session_config *cfg,
    long long uid)
{
	return platform_key(access, SESSION_KEY_MAX, cfg, uid, 0) == -1 ||
	    platform_key(refresh, SESSION_KEY_MAX, cfg, uid, 1) == -1 ? -1 : 0;
}

/* The original's value of a key: Python's json.dumps() of the pair. */
static int
platform_value(char *buf, size_t len, const char *token, int refresh)
{
	int	 n;

	if (token == NULL || strnlen(token, len) >= len)
		return -1;
	n = snprintf(buf, len, "{\"token\": \"%s\", \"type\": \"%s\"}",
	    token, refresh ? "refresh" : "access");
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/*
 * What r says of Redis: SESSION_VALID for a usable reply,
 * SESSION_UNAVAILABLE after a connection failure (rconn logged it),
 * SESSION_ERROR for an error reply (logged here: LOADING, NOPERM, OOM,
 * WRONGTYPE...).
 */
static enum session_status
reply_state(const char *what, const redisReply *r)
{
	if (r == NULL)
		return SESSION_UNAVAILABLE;
	if (r->type == REDIS_REPLY_ERROR) {
		log_warnx("session %s: redis error: %.*s", what,
		    (int)(r->len < SESSION_ERROR_LOG_MAX ? r->len :
		    SESSION_ERROR_LOG_MAX), r->str);
		return SESSION_ERROR;
	}
	return SESSION_VALID;
}

/*
 * The count a revoking script answered, 0..max; -1 when Redis could not
 * be reached, answered an error or something else (logged).  Frees r.
 */
static int
count_reply(const char *what, redisReply *r, long long max)
{
	int	 n = -1;

	if (reply_state(what, r) == SESSION_VALID) {
		if (r->type == REDIS_REPLY_INTEGER && r->integer >= 0 &&
		    r->integer <= max)
			n = (int)r->integer;
		else
			log_warnx("session %s: unexpected reply", what);
	}
	if (r != NULL)
		freeReplyObject(r);
	return n;
}

/*
 * A revocation or rotation was sent (done or not: a lost reply may hide
 * one): every worker of the pool stops trusting its client cache before
 * this one answers (session_cache.c).
 */
static void
revoked(const struct session_config *cfg)
{
	if (cfg->revocations != NULL)
		__atomic_add_fetch(cfg->revocations, 1, __ATOMIC_SEQ_CST);
}

static void
set_arg(const char **args, size_t *lens, int i, const char *s)
{
	args[i] = s;
	lens[i] = strlen(s);
}

/*
 * Stores a new session (login, register) with its first refresh jti, in
 * one round trip; a resend on a new connection (rconn) writes the same
 * fields again.  SESSION_VALID once stored; SESSION_UNAVAILABLE when
 * Redis cannot be reached (the caller may issue tokens on signature
 * alone); SESSION_ERROR when Redis refused (logged).
 */
enum session_status
session_create(struct rconn *rc, const struct session_config *cfg,
    long long uid, const char *sid, const char *refresh_jti)
{
	return session_create_mirrored(rc, cfg, uid, sid, refresh_jti, NULL);
}

/*
 * session_create(), and with cfg->platform the pair mirrored for the
 * original backend in the same step (pair must then be given).  With
 * pair->legacy_refresh, the write happens only while the original's
 * refresh key still holds that token: SESSION_REVOKED otherwise.
 */
enum session_status
session_create_mirrored(struct rconn *rc, const struct session_config *cfg,
    long long uid, const char *sid, const char *refresh_jti,
    const struct session_pair *pair)
{
	char		 hash[SESSION_KEY_MAX], set[SESSION_KEY_MAX];
	char		 akey[SESSION_KEY_MAX], rkey[SESSION_KEY_MAX];
	char		 aval[SESSION_MIRROR_MAX], rval[SESSION_MIRROR_MAX];
	char		 ttl[SESSION_NUM_MAX], attl[SESSION_NUM_MAX];
	const char	*args[11];
	size_t		 lens[11];
	redisReply	*r;
	enum session_status st = SESSION_UNAVAILABLE;
	int		 mirror = cfg->platform && pair != NULL;

	if (rc == NULL || session_keys(hash, set, cfg, uid, sid) == -1)
		return SESSION_UNAVAILABLE;
	if (!valid_id(refresh_jti)) {
		log_warnx("session create: bad refresh jti");
		return SESSION_UNAVAILABLE;
	}
	if (cfg->platform && !mirror) {
		log_warnx("session create: platform tokens need the pair");
		return SESSION_ERROR;
	}
	snprintf(ttl, sizeof(ttl), "%ld", cfg->refresh_ttl);
	set_arg(args, lens, 0, hash);
	set_arg(args, lens, 1, set);
	if (!mirror) {
		set_arg(args, lens, 2, refresh_jti);
		set_arg(args, lens, 3, ttl);
		set_arg(args, lens, 4, sid);
		r = rconn_eval(rc, &create_script, 2, 5, args, lens);
	} else {
		if (platform_keys(akey, rkey, cfg, uid) == -1 ||
		    platform_value(aval, sizeof(aval), pair->access, 0) == -1 ||
		    platform_value(rval, sizeof(rval), pair->refresh, 1) == -1) {
			log_warnx("session create: bad platform pair");
			return SESSION_ERROR;
		}
		snprintf(attl, sizeof(attl), "%ld", cfg->access_ttl);
		set_arg(args, lens, 2, akey);
		set_arg(args, lens, 3, rkey);
		set_arg(args, lens, 4, refresh_jti);
		set_arg(args, lens, 5, ttl);
		set_arg(args, lens, 6, sid);
		set_arg(args, lens, 7, aval);
		set_arg(args, lens, 8, rval);
		set_arg(args, lens, 9, attl);
		set_arg(args, lens, 10, pair->legacy_refresh != NULL ?
		    pair->legacy_refresh : "");
		r = rconn_eval(rc, &create_platform_script, 4, 11, args, lens);
	}
	if ((st = reply_state("create", r)) == SESSION_VALID) {
		if (r->type == REDIS_REPLY_INTEGER && r->integer == 0 &&
		    mirror && pair->legacy_refresh != NULL)
			st = SESSION_REVOKED;	/* the original's pair moved on */
		else if (r->type != REDIS_REPLY_INTEGER || r->integer != 1) {
			log_warnx("session create: unexpected reply type %d",
			    r->type);
			st = SESSION_ERROR;
		}
	}
	if (r != NULL)
		freeReplyObject(r);
	return st;
}

/*
 * The answer of HGET <session> rt for a token minted on signature alone
 * from anchor, the refresh jti Redis last knew: live only while that
 * refresh token is still the session's current one.
 */
static enum session_status
anchor_state(const redisReply *r, const char *anchor)
{
	if (r->type == REDIS_REPLY_NIL)
		return SESSION_REVOKED;
	if (r->type == REDIS_REPLY_STRING)
		return strlen(anchor) == r->len &&
		    memcmp(anchor, r->str, r->len) == 0 ? SESSION_VALID :
		    SESSION_REVOKED;
	log_warnx("session check: unexpected reply type %d", r->type);
	return SESSION_ERROR;
}

/*
 * Whether the session is live (/auth/me: one EXISTS; a resend is a read).
 * anchor is NULL or "" for a token issued while Redis held its session;
 * for one minted on signature alone while Redis was unreachable it is the
 * refresh jti the session had then, and the token is live only while the
 * session's current refresh jti is still that one (HGET instead of
 * EXISTS): a rotated-out refresh token replayed during an outage buys
 * nothing that outlives it.  With cfg->client_cache, a session seen live
 * is remembered until until (the token's exp; 0: not at all) or Redis's
 * invalidation, and answered with no round trip.  SESSION_VALID or
 * SESSION_REVOKED;
 * SESSION_UNAVAILABLE when rc is NULL or Redis cannot be reached;
 * SESSION_ERROR when it answered an error (logged).
 */
enum session_status
session_check(struct rconn *rc, const struct session_config *cfg,
    long long uid, const char *sid, const char *anchor, time_t until)
{
	char		 hash[SESSION_KEY_MAX];
	const char	*argv[3];
	size_t		 argvlen[3];
	redisReply	*r;
	enum session_status st;
	int		 anchored = anchor != NULL && *anchor != '\0';
	int		 cacheable;
	size_t		 len;

	if (rc == NULL)
		return SESSION_UNAVAILABLE;
	if (!valid_id(sid))
		return SESSION_REVOKED;	/* cannot be a session of ours */
	if (session_key(hash, sizeof(hash), cfg, uid, "s:", sid) == -1)
		return SESSION_ERROR;
	len = strlen(hash);
	cacheable = cfg->client_cache && !anchored && until > 0;
	if (cacheable && session_cache_live(rc, cfg->redis, cfg->revocations,
	    hash, len, time(NULL)))
		return SESSION_VALID;
	/* the hot path: an argument vector spares hiredis a format parse */
	argv[0] = anchored ? "HGET" : "EXISTS";
	argvlen[0] = anchored ? 4 : 6;
	argv[1] = hash;
	argvlen[1] = len;
	argv[2] = "rt";
	argvlen[2] = 2;
	r = rconn_commandv(rc, anchored ? 3 : 2, argv, argvlen);
	if ((st = reply_state("check", r)) == SESSION_VALID) {
		if (anchored)
			st = anchor_state(r, anchor);
		else if (r->type == REDIS_REPLY_INTEGER)
			st = r->integer > 0 ? SESSION_VALID : SESSION_REVOKED;
		else {
			log_warnx("session check: unexpected reply type %d",
			    r->type);
			st = SESSION_ERROR;
		}
		if (cacheable && st == SESSION_VALID)
			session_cache_store(rc, hash, len, until);
	}
	if (r != NULL)
		freeReplyObject(r);
	return st;
}

static enum session_rotate
rotate_result(const redisReply *r, struct arena *arena,
    const char **grace_successors)
{
	const redisReply	*a;

	if (r->type != REDIS_REPLY_ARRAY || r->elements < 1 ||
	    r->element[0]->type != REDIS_REPLY_INTEGER)
		goto bad;
	switch (r->element[0]->integer) {
	case CODE_NONE:
		return ROTATE_INVALID;
	case CODE_ROTATED:
		return ROTATE_OK;
	case CODE_REUSE:
		return ROTATE_REUSE;
	case CODE_GRACE:
		if (r->elements != 2)
			goto bad;
		a = r->element[1];
		if (a->type != REDIS_REPLY_STRING)
			goto bad;
		*grace_successors = arena_strndup(arena, a->str, a->len);
		return ROTATE_GRACE;
	}
bad:
	log_warnx("session rotate: unexpected reply");
	return ROTATE_ERROR;
}

/*
 * Rotates the session's refresh token (/auth/refresh), atomically:
 * ROTATE_OK when presented_jti was current (new_* are now current);
 * successors is the new pair, sealed by the caller; ROTATE_GRACE when it
 * was the previous one, rotated at most grace seconds before now:
 * *grace_successors is what that rotation stored, copied into arena; ROTATE_REUSE when it is
 * neither: the session was revoked (logged); ROTATE_INVALID when there is
 * no such session; ROTATE_UNAVAILABLE when rc is NULL or Redis cannot be
 * reached; ROTATE_ERROR when it answered an error (logged) or took the
 * script and never answered.
 */
enum session_rotate
session_rotate(struct rconn *rc, const struct session_config *cfg,
    long long uid, const char *sid, const char *presented_jti,
    const char *new_jti, const char *successors, time_t now,
    struct arena *arena, const char **grace_successors)
{
	return session_rotate_mirrored(rc, cfg, uid, sid, presented_jti,
	    new_jti, successors, NULL, now, arena, grace_successors);
}

/*
 * session_rotate(), and with cfg->platform the new pair mirrored for the
 * original backend in the same step (pair must then be given); a reuse
 * also deletes the mirror while it holds this session's pair.
 */
enum session_rotate
session_rotate_mirrored(struct rconn *rc, const struct session_config *cfg,
    long long uid, const char *sid, const char *presented_jti,
    const char *new_jti, const char *successors,
    const struct session_pair *pair, time_t now, struct arena *arena,
    const char **grace_successors)
{
	char		 hash[SESSION_KEY_MAX], set[SESSION_KEY_MAX];
	char		 akey[SESSION_KEY_MAX], rkey[SESSION_KEY_MAX];
	char		 aval[SESSION_MIRROR_MAX], rval[SESSION_MIRROR_MAX];
	char		 snow[SESSION_NUM_MAX], sgrace[SESSION_NUM_MAX];
	char		 ttl[SESSION_NUM_MAX], attl[SESSION_NUM_MAX];
	const char	*args[14];
	size_t		 lens[14];
	redisReply	*r;
	enum session_rotate st = ROTATE_UNAVAILABLE;
	int		 mirror = cfg->platform && pair != NULL, k;

	*grace_successors = NULL;
	if (rc == NULL)
		return ROTATE_UNAVAILABLE;
	if (!valid_id(sid) || !valid_id(presented_jti))
		return ROTATE_INVALID;	/* cannot be a session of ours */
	if (session_keys(hash, set, cfg, uid, sid) == -1)
		return ROTATE_ERROR;
	if (!valid_id(new_jti) || !valid_token(successors)) {
		log_warnx("session rotate: bad new token");
		return ROTATE_ERROR;
	}
	snprintf(snow, sizeof(snow), "%lld", (long long)now);
	snprintf(sgrace, sizeof(sgrace), "%ld", cfg->grace);
	if (cfg->platform && (!mirror || platform_keys(akey, rkey, cfg, uid)
	    == -1 || platform_value(aval, sizeof(aval), pair->access, 0) == -1
	    || platform_value(rval, sizeof(rval), pair->refresh, 1) == -1)) {
		log_warnx("session rotate: bad platform pair");
		return ROTATE_ERROR;
	}
	snprintf(ttl, sizeof(ttl), "%ld", cfg->refresh_ttl);
	snprintf(attl, sizeof(attl), "%ld", cfg->access_ttl);
	k = 0;
	set_arg(args, lens, k++, hash);
	set_arg(args, lens, k++, set);
	if (mirror) {
		set_arg(args, lens, k++, akey);
		set_arg(args, lens, k++, rkey);
	}
	set_arg(args, lens, k++, presented_jti);
	set_arg(args, lens, k++, new_jti);
	set_arg(args, lens, k++, successors);
	set_arg(args, lens, k++, snow);
	set_arg(args, lens, k++, sgrace);
	set_arg(args, lens, k++, ttl);
	set_arg(args, lens, k++, sid);
	if (mirror) {
		set_arg(args, lens, k++, aval);
		set_arg(args, lens, k++, rval);
		set_arg(args, lens, k++, attl);
	}
	session_cache_forget(hash, strlen(hash));
	r = rconn_eval(rc, mirror ? &rotate_platform_script : &rotate_script,
	    mirror ? 4 : 2, k, args, lens);
	revoked(cfg);
	switch (reply_state("rotate", r)) {
	case SESSION_VALID:
		st = rotate_result(r, arena, grace_successors);
		break;
	case SESSION_ERROR:
		st = ROTATE_ERROR;
		break;
	default:
		/*
		 * Sent but never answered (even after rconn's resend): the
		 * rotation may have run, so tokens minted on signature alone
		 * would compete with successors Redis holds.  Fail closed; the
		 * client's retry with the same token gets those successors
		 * within the grace window.
		 */
		if (rconn_unanswered(rc))
			st = ROTATE_ERROR;
		break;
	}
	if (r != NULL)
		freeReplyObject(r);
	if (st == ROTATE_REUSE)
		log_warnx("refresh token reuse for user %lld: session revoked",
		    uid);
	return st;
}

/*
 * Revokes one session (logout).  Returns the number of sessions deleted
 * (0 or 1), or -1 when rc is NULL, Redis is down or answered an error.
 * A resend after the connection died under the reply (rconn) finds the
 * session gone and counts 0: the count may be short, the revocation
 * never is.
 */
int
session_revoke(struct rconn *rc, const struct session_config *cfg,
    long long uid, const char *sid)
{
	char		 hash[SESSION_KEY_MAX], set[SESSION_KEY_MAX];
	char		 akey[SESSION_KEY_MAX], rkey[SESSION_KEY_MAX];
	const char	*args[5];
	size_t		 lens[5];
	redisReply	*r;

	if (rc == NULL || session_keys(hash, set, cfg, uid, sid) == -1 ||
	    (cfg->platform && platform_keys(akey, rkey, cfg, uid) == -1))
		return -1;
	set_arg(args, lens, 0, hash);
	set_arg(args, lens, 1, set);
	session_cache_forget(hash, strlen(hash));
	if (cfg->platform) {
		set_arg(args, lens, 2, akey);
		set_arg(args, lens, 3, rkey);
		set_arg(args, lens, 4, sid);
		r = rconn_eval(rc, &revoke_platform_script, 4, 5, args, lens);
	} else {
		set_arg(args, lens, 2, sid);
		r = rconn_eval(rc, &revoke_script, 2, 3, args, lens);
	}
	revoked(cfg);
	return count_reply("revoke", r, 1);
}

/*
 * Revokes every session of the user, atomically (logout all).  Returns the
 * number of live sessions deleted, or -1 when rc is NULL, Redis is down or
 * answered an error.  A resend counts as session_revoke's does.
 */
int
session_revoke_all(struct rconn *rc, const struct session_config *cfg,
    long long uid)
{
	char		 set[SESSION_KEY_MAX], hprefix[SESSION_KEY_MAX];
	char		 akey[SESSION_KEY_MAX], rkey[SESSION_KEY_MAX];
	const char	*args[4];
	size_t		 lens[4];
	redisReply	*r;

	if (rc == NULL ||
	    session_key(set, sizeof(set), cfg, uid, "sessions", "") == -1 ||
	    session_key(hprefix, sizeof(hprefix), cfg, uid, "s:", "") == -1 ||
	    (cfg->platform && platform_keys(akey, rkey, cfg, uid) == -1))
		return -1;
	set_arg(args, lens, 0, set);
	session_cache_forget_all();
	if (cfg->platform) {
		set_arg(args, lens, 1, akey);
		set_arg(args, lens, 2, rkey);
		set_arg(args, lens, 3, hprefix);
		r = rconn_eval(rc, &revoke_all_platform_script, 3, 4, args,
		    lens);
	} else {
		set_arg(args, lens, 1, hprefix);
		r = rconn_eval(rc, &revoke_all_script, 1, 2, args, lens);
	}
	revoked(cfg);
	return count_reply("revoke all", r, 1000000);
}

/*
 * A token the original backend issued (platform_tokens = original), live
 * exactly when its key holds it, as the original's get_current_user
 * decides: SESSION_VALID or SESSION_REVOKED; SESSION_UNAVAILABLE and
 * SESSION_ERROR as session_check().  One round trip.
 */
enum session_status
session_platform_check(struct rconn *rc, const struct session_config *cfg,
    long long uid, int refresh, const char *token)
{
	char		 key[SESSION_KEY_MAX];
	const char	*args[3];
	size_t		 lens[3];
	redisReply	*r;
	enum session_status st;

	if (rc == NULL)
		return SESSION_UNAVAILABLE;
	if (!cfg->platform || !valid_token(token) ||
	    platform_key(key, sizeof(key), cfg, uid, refresh) == -1)
		return SESSION_REVOKED;
	set_arg(args, lens, 0, key);
	set_arg(args, lens, 1, token);
	set_arg(args, lens, 2, refresh ? "refresh" : "access");
	r = rconn_eval(rc, &platform_check_script, 1, 3, args, lens);
	if ((st = reply_state("platform check", r)) == SESSION_VALID) {
		if (r->type != REDIS_REPLY_INTEGER) {
			log_warnx("session platform check: unexpected reply");
			st = SESSION_ERROR;
		} else if (r->integer != 1)
			st = SESSION_REVOKED;
	}
	if (r != NULL)
		freeReplyObject(r);
	return st;
}

/*
 * Logout with a token the original issued: its pair's keys deleted while
 * the access key holds it.  1, 0 (not held), or -1 when Redis is down or
 * answered an error.
 */
int
session_platform_revoke(struct rconn *rc, const struct session_config *cfg,
    long long uid, const char *token)
{
	char		 akey[SESSION_KEY_MAX], rkey[SESSION_KEY_MAX];
	const char	*args[3];
	size_t		 lens[3];
	redisReply	*r;

	if (rc == NULL || !cfg->platform || !valid_token(token) ||
	    platform_keys(akey, rkey, cfg, uid) == -1)
		return -1;
	set_arg(args, lens, 0, akey);
	set_arg(args, lens, 1, rkey);
	set_arg(args, lens, 2, token);
	r = rconn_eval(rc, &platform_revoke_script, 2, 3, args, lens);
	revoked(cfg);
	return count_reply("platform revoke", r, 1);
}
