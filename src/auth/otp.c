/*
 * One-time codes (otp.h).  Keys, all under the address's Cluster hash
 * tag and all with a TTL:
 *   <prefix>{otp:<h>}:c:<purpose>   hash: h = the code's keyed hash,
 *                                   n = wrong attempts; TTL otp_ttl
 *   <prefix>{otp:<h>}:cd:<purpose>  the resend cooldown
 *   <prefix>{otp:<h>}:hr            sends in the current hour
 *   <prefix>{otp:<h>}:g             the reset grant: uid, stamp, the
 *                                   reset token's hash, the client's hash
 * where <h> is a keyed hash of the address: no address, code or token is
 * ever stored in Redis as such.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "auth/otp.h"
#include "lib/log.h"
#include "redis/rconn.h"

#define OTP_HASH_BYTES		32
#define OTP_HEX_MAX		(OTP_HASH_BYTES * 2 + 1)
#define OTP_ADDR_BYTES		16
#define OTP_KEY_MAX		256
#define OTP_ERROR_LOG_MAX	160
#define OTP_HOUR		3600
#define OTP_NUM_MAX		24

static struct rconn_script issue_script = { .source =
	"if redis.call('EXISTS', KEYS[2]) == 1 then return 1 end\n"
	"local n = redis.call('INCR', KEYS[3])\n"
	"if redis.call('TTL', KEYS[3]) < 0 then\n"
	"  redis.call('EXPIRE', KEYS[3], ARGV[5])\n"
	"end\n"
	"if n > tonumber(ARGV[4]) then return 2 end\n"
	"redis.call('DEL', KEYS[1])\n"
	"redis.call('HSET', KEYS[1], 'h', ARGV[1], 'n', 0)\n"
	"redis.call('EXPIRE', KEYS[1], ARGV[2])\n"
	"if tonumber(ARGV[3]) > 0 then\n"
	"  redis.call('SET', KEYS[2], '1', 'EX', ARGV[3])\n"
	"end\n"
	"return 0\n"
};

/* A match uses the code up; a miss counts against every live code. */
static struct rconn_script check_script = { .source =
	"for i = 1, 2 do\n"
	"  if redis.call('HGET', KEYS[i], 'h') == ARGV[i] then\n"
	"    redis.call('DEL', KEYS[i])\n"
	"    return i\n"
	"  end\n"
	"end\n"
	"for i = 1, 2 do\n"
	"  if redis.call('EXISTS', KEYS[i]) == 1 and\n"
	"      redis.call('HINCRBY', KEYS[i], 'n', 1) >=\n"
	"      tonumber(ARGV[3]) then\n"
	"    redis.call('DEL', KEYS[i])\n"
	"  end\n"
	"end\n"
	"return 0\n"
};

static struct rconn_script grant_open_script = { .source =
	"redis.call('DEL', KEYS[1])\n"
	"redis.call('HSET', KEYS[1], 'uid', ARGV[1], 'stamp', ARGV[2],\n"
	"    't', ARGV[3], 'c', ARGV[4])\n"
	"redis.call('EXPIRE', KEYS[1], ARGV[5])\n"
	"return 0\n"
};

/*
 * ARGV: the token's hash or "", the client's hash, whether the client
 * alone may pass, whether to use the grant up.
 */
static struct rconn_script grant_take_script = { .source =
	"local g = redis.call('HMGET', KEYS[1], 'uid', 'stamp', 't', 'c')\n"
	"if not g[1] then return 0 end\n"
	"local ok = false\n"
	"if ARGV[1] ~= '' then ok = (g[3] == ARGV[1])\n"
	"elseif ARGV[3] == '1' then ok = (g[4] == ARGV[2]) end\n"
	"if not ok then return 0 end\n"
	"if ARGV[4] == '1' then redis.call('DEL', KEYS[1]) end\n"
	"return {g[1], g[2]}\n"
};

/*
 * A 32-byte key for one use (context) derived from the JWT secret:
 * BLAKE2b(context || NUL || secret), as grace_seal.c derives its own.
 */
void
otp_subkey(const unsigned char *secret, size_t len, const char *context,
    unsigned char out[OTP_KEY_BYTES])
{
	crypto_generichash_state	 st;

	crypto_generichash_init(&st, NULL, 0, OTP_KEY_BYTES);
	crypto_generichash_update(&st, (const unsigned char *)context,
	    strlen(context) + 1);
	crypto_generichash_update(&st, secret, len);
	crypto_generichash_final(&st, out, OTP_KEY_BYTES);
}

const char *
otp_purpose_name(enum otp_purpose p)
{
	return p == OTP_RESET ? "reset" : "verify";
}

/* hex of BLAKE2b keyed with cfg->key over the parts, NUL-separated */
static void
otp_mac(const struct otp_config *cfg, size_t outlen, char *hex,
    size_t hexlen, const char *a, const char *b, const char *c)
{
	crypto_generichash_state	 st;
	unsigned char			 h[OTP_HASH_BYTES];
	const char			*parts[3];
	size_t				 i;

	parts[0] = a;
	parts[1] = b;
	parts[2] = c;
	crypto_generichash_init(&st, cfg->key, OTP_KEY_BYTES, outlen);
	for (i = 0; i < 3; i++)
		if (parts[i] != NULL)
			crypto_generichash_update(&st,
			    (const unsigned char *)parts[i],
			    strlen(parts[i]) + 1);
	crypto_generichash_final(&st, h, outlen);
	sodium_bin2hex(hex, hexlen, h, outlen);
	sodium_memzero(h, sizeof(h));
}

/* <prefix>{otp:<hash of email>}:<what>: 0, or -1 (logged) too long */
static int
otp_key(char key[OTP_KEY_MAX], const struct otp_config *cfg,
    const char *email, const char *what)
{
	char	 hex[OTP_HEX_MAX];
	int	 n;

	otp_mac(cfg, OTP_ADDR_BYTES, hex, sizeof(hex), "address", email,
	    NULL);
	n = snprintf(key, OTP_KEY_MAX, "%s{otp:%s}:%s", cfg->prefix, hex,
	    what);
	if (n < 0 || n >= OTP_KEY_MAX) {
		log_warnx("otp: key prefix too long");
		return -1;
	}
	return 0;
}

/* OTP_OK for a reply to read, else what a NULL or error reply means */
static enum otp_status
otp_reply_state(const char *what, const redisReply *r)
{
	if (r == NULL)
		return OTP_UNAVAILABLE;
	if (r->type == REDIS_REPLY_ERROR) {
		log_warnx("otp %s: redis error: %.*s", what,
		    (int)(r->len < OTP_ERROR_LOG_MAX ? r->len :
		    OTP_ERROR_LOG_MAX), r->str);
		return OTP_ERROR;
	}
	return OTP_OK;
}

static void
set_arg(const char **args, size_t *lens, int i, const char *s)
{
	args[i] = s;
	lens[i] = strlen(s);
}

/*
 * A new code for email (canonical) and purpose, written into code: it
 * replaces any earlier one of that purpose.  OTP_OK when issued (the
 * caller mails it), OTP_COOLDOWN or OTP_CAPPED when not (nothing to
 * send), OTP_UNAVAILABLE or OTP_ERROR.
 */
enum otp_status
otp_issue(struct rconn *rc, const struct otp_config *cfg, const char *email,
    enum otp_purpose purpose, char code[OTP_DIGITS + 1])
{
	char		 kc[OTP_KEY_MAX], kcd[OTP_KEY_MAX], khr[OTP_KEY_MAX];
	char		 what[16], hex[OTP_HEX_MAX], ttl[OTP_NUM_MAX];
	char		 cd[OTP_NUM_MAX], cap[OTP_NUM_MAX], hour[OTP_NUM_MAX];
	const char	*args[8];
	size_t		 lens[8];
	redisReply	*r;
	enum otp_status	 st;

	snprintf(code, OTP_DIGITS + 1, "%06u",
	    (unsigned)randombytes_uniform(1000000));
	if (rc == NULL)
		return OTP_UNAVAILABLE;
	snprintf(what, sizeof(what), "c:%s", otp_purpose_name(purpose));
	if (otp_key(kc, cfg, email, what) == -1)
		return OTP_ERROR;
	snprintf(what, sizeof(what), "cd:%s", otp_purpose_name(purpose));
	if (otp_key(kcd, cfg, email, what) == -1 ||
	    otp_key(khr, cfg, email, "hr") == -1)
		return OTP_ERROR;
	otp_mac(cfg, OTP_HASH_BYTES, hex, sizeof(hex),
	    otp_purpose_name(purpose), email, code);
	snprintf(ttl, sizeof(ttl), "%ld", cfg->ttl);
	snprintf(cd, sizeof(cd), "%ld", cfg->cooldown);
	snprintf(cap, sizeof(cap), "%ld", cfg->hourly_cap);
	snprintf(hour, sizeof(hour), "%d", OTP_HOUR);
	set_arg(args, lens, 0, kc);
	set_arg(args, lens, 1, kcd);
	set_arg(args, lens, 2, khr);
	set_arg(args, lens, 3, hex);
	set_arg(args, lens, 4, ttl);
	set_arg(args, lens, 5, cd);
	set_arg(args, lens, 6, cap);
	set_arg(args, lens, 7, hour);
	r = rconn_eval(rc, &issue_script, 3, 8, args, lens);
	if ((st = otp_reply_state("issue", r)) == OTP_OK) {
		if (r->type != REDIS_REPLY_INTEGER) {
			log_warnx("otp issue: unexpected reply");
			st = OTP_ERROR;
		} else if (r->integer == 1)
			st = OTP_COOLDOWN;
		else if (r->integer == 2)
			st = OTP_CAPPED;
	}
	if (r != NULL)
		freeReplyObject(r);
	if (st != OTP_OK)
		sodium_memzero(code, OTP_DIGITS + 1);
	return st;
}

/* Six ASCII digits, nothing else. */
static int
otp_well_formed(const char *code)
{
	size_t	 i;

	for (i = 0; i < OTP_DIGITS; i++)
		if (code[i] < '0' || code[i] > '9')
			return 0;
	return code[OTP_DIGITS] == '\0';
}

/*
 * Checks code against email's live codes of both purposes (the web
 * client posts both to one endpoint).  OTP_OK with *purpose set: the
 * code matched and is used up.  OTP_NO: wrong, expired, dead or used;
 * a wrong code counts against every live code of the address, each dying
 * at max_attempts.  A malformed code is OTP_NO without a count (it can
 * match nothing).  OTP_UNAVAILABLE, OTP_ERROR.
 */
enum otp_status
otp_check(struct rconn *rc, const struct otp_config *cfg, const char *email,
    const char *code, enum otp_purpose *purpose)
{
	char		 kv[OTP_KEY_MAX], kr[OTP_KEY_MAX];
	char		 hv[OTP_HEX_MAX], hr[OTP_HEX_MAX], max[OTP_NUM_MAX];
	const char	*args[5];
	size_t		 lens[5];
	redisReply	*r;
	enum otp_status	 st;

	if (rc == NULL)
		return OTP_UNAVAILABLE;
	if (otp_key(kv, cfg, email, "c:verify") == -1 ||
	    otp_key(kr, cfg, email, "c:reset") == -1)
		return OTP_ERROR;
	if (!otp_well_formed(code)) {
		/* still a round trip: Redis down is 503 for every caller */
		if ((r = rconn_command(rc, "PING")) == NULL)
			return OTP_UNAVAILABLE;
		st = otp_reply_state("ping", r);
		freeReplyObject(r);
		return st == OTP_OK ? OTP_NO : st;
	}
	otp_mac(cfg, OTP_HASH_BYTES, hv, sizeof(hv), "verify", email, code);
	otp_mac(cfg, OTP_HASH_BYTES, hr, sizeof(hr), "reset", email, code);
	snprintf(max, sizeof(max), "%ld", cfg->max_attempts);
	set_arg(args, lens, 0, kv);
	set_arg(args, lens, 1, kr);
	set_arg(args, lens, 2, hv);
	set_arg(args, lens, 3, hr);
	set_arg(args, lens, 4, max);
	r = rconn_eval(rc, &check_script, 2, 5, args, lens);
	if ((st = otp_reply_state("check", r)) == OTP_OK) {
		if (r->type != REDIS_REPLY_INTEGER) {
			log_warnx("otp check: unexpected reply");
			st = OTP_ERROR;
		} else if (r->integer == 1)
			*purpose = OTP_VERIFY;
		else if (r->integer == 2)
			*purpose = OTP_RESET;
		else
			st = OTP_NO;
	}
	if (r != NULL)
		freeReplyObject(r);
	return st;
}

/* The client as a reset grant remembers it: a keyed hash, in hex. */
static void
otp_client_hash(const struct otp_config *cfg, const char *client,
    char hex[OTP_HEX_MAX])
{
	otp_mac(cfg, OTP_HASH_BYTES, hex, OTP_HEX_MAX, "client",
	    client != NULL ? client : "", NULL);
}

/*
 * Opens the reset grant of email for g (replacing any earlier one), for
 * grant_ttl seconds: usable once, with the reset token written into
 * token (base64url), or without it from the same client (the caller's
 * string of address and User-Agent).  OTP_OK, OTP_UNAVAILABLE,
 * OTP_ERROR.
 */
enum otp_status
otp_grant_open(struct rconn *rc, const struct otp_config *cfg,
    const char *email, const struct otp_grant *g, const char *client,
    char token[OTP_TOKEN_MAX])
{
	unsigned char	 raw[OTP_TOKEN_BYTES];
	char		 kg[OTP_KEY_MAX], ht[OTP_HEX_MAX], hc[OTP_HEX_MAX];
	char		 uid[OTP_NUM_MAX], ttl[OTP_NUM_MAX];
	const char	*args[6];
	size_t		 lens[6];
	redisReply	*r;
	enum otp_status	 st;

	if (rc == NULL)
		return OTP_UNAVAILABLE;
	if (otp_key(kg, cfg, email, "g") == -1)
		return OTP_ERROR;
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2base64(token, OTP_TOKEN_MAX, raw, sizeof(raw),
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof(raw));
	otp_mac(cfg, OTP_HASH_BYTES, ht, sizeof(ht), "token", token, NULL);
	otp_client_hash(cfg, client, hc);
	snprintf(uid, sizeof(uid), "%lld", g->uid);
	snprintf(ttl, sizeof(ttl), "%ld", cfg->grant_ttl);
	set_arg(args, lens, 0, kg);
	set_arg(args, lens, 1, uid);
	set_arg(args, lens, 2, g->stamp);
	set_arg(args, lens, 3, ht);
	set_arg(args, lens, 4, hc);
	set_arg(args, lens, 5, ttl);
	r = rconn_eval(rc, &grant_open_script, 1, 6, args, lens);
	st = otp_reply_state("grant", r);
	if (r != NULL)
		freeReplyObject(r);
	if (st != OTP_OK)
		sodium_memzero(token, OTP_TOKEN_MAX);
	return st;
}

static enum otp_status
otp_grant(struct rconn *rc, const struct otp_config *cfg, const char *email,
    const char *token, const char *client, int client_may, int take,
    struct otp_grant *out)
{
	char		 kg[OTP_KEY_MAX], ht[OTP_HEX_MAX], hc[OTP_HEX_MAX];
	const char	*args[5];
	size_t		 lens[5];
	redisReply	*r;
	enum otp_status	 st;

	memset(out, 0, sizeof(*out));
	if (rc == NULL)
		return OTP_UNAVAILABLE;
	if (otp_key(kg, cfg, email, "g") == -1)
		return OTP_ERROR;
	if (token != NULL && *token != '\0')
		otp_mac(cfg, OTP_HASH_BYTES, ht, sizeof(ht), "token", token,
		    NULL);
	else
		ht[0] = '\0';
	otp_client_hash(cfg, client, hc);
	set_arg(args, lens, 0, kg);
	set_arg(args, lens, 1, ht);
	set_arg(args, lens, 2, hc);
	set_arg(args, lens, 3, client_may ? "1" : "0");
	set_arg(args, lens, 4, take ? "1" : "0");
	r = rconn_eval(rc, &grant_take_script, 1, 5, args, lens);
	if ((st = otp_reply_state("grant take", r)) == OTP_OK) {
		if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
		    r->element[0]->type == REDIS_REPLY_STRING &&
		    r->element[1]->type == REDIS_REPLY_STRING &&
		    r->element[1]->len < sizeof(out->stamp)) {
			out->uid = strtoll(r->element[0]->str, NULL, 10);
			memcpy(out->stamp, r->element[1]->str,
			    r->element[1]->len);
			out->stamp[r->element[1]->len] = '\0';
		} else if (r->type == REDIS_REPLY_INTEGER)
			st = OTP_NO;
		else {
			log_warnx("otp grant take: unexpected reply");
			st = OTP_ERROR;
		}
	}
	if (r != NULL)
		freeReplyObject(r);
	return st;
}

/*
 * The reset grant of email, if the caller may use it: with token when
 * given (non-empty), else from the same client when client_may.  OTP_OK
 * with *out filled, OTP_NO, OTP_UNAVAILABLE, OTP_ERROR.  peek leaves the
 * grant; take uses it up, atomically, so only one caller gets it.
 */
enum otp_status
otp_grant_peek(struct rconn *rc, const struct otp_config *cfg,
    const char *email, const char *token, const char *client, int client_may,
    struct otp_grant *out)
{
	return otp_grant(rc, cfg, email, token, client, client_may, 0, out);
}

enum otp_status
otp_grant_take(struct rconn *rc, const struct otp_config *cfg,
    const char *email, const char *token, const char *client, int client_may,
    struct otp_grant *out)
{
	return otp_grant(rc, cfg, email, token, client, client_may, 1, out);
}
