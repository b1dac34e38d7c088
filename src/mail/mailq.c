/*
 * The mail queue (mailq.h).  Keys, under one Cluster hash tag so each
 * script touches one slot:
 *   <prefix>{mail}:q       stream; group "senders"; fields m (the sealed
 *                          message) and n (failed tries so far)
 *   <prefix>{mail}:retry   sorted set by due time (ms): "<n>:<sealed>"
 *   <prefix>{mail}:dead    list of sealed messages given up on
 *   <prefix>{mail}:stats   hash: sent, retried, dead
 * A message leaves the stream only in the script that acknowledges it,
 * so whichever sender acknowledges first is the one that counts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "lib/log.h"
#include "mail/mailq.h"
#include "redis/rconn.h"

#define MAILQ_GROUP		"senders"
#define MAILQ_KEYNAME_MAX	128
#define MAILQ_PLAIN_MAX							\
	(MAILQ_PURPOSE_MAX + MAILQ_ADDR_MAX + MAILQ_CODE_MAX + 24)
#define MAILQ_BOX_MAX							\
	(crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES +	\
	    MAILQ_PLAIN_MAX)
#define MAILQ_STREAM_MAX	"100000"	/* ~ bound of the stream */
#define MAILQ_DEAD_MAX		"9999"		/* last index kept */
#define MAILQ_RETRY_CAP_MS	(3600LL * 1000)
#define MAILQ_NUM_MAX		24
#define MAILQ_ERROR_LOG_MAX	160

static struct rconn_script promote_script = { .source =
	"local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1],\n"
	"    'LIMIT', 0, 16)\n"
	"for _, m in ipairs(due) do\n"
	"  redis.call('ZREM', KEYS[1], m)\n"
	"  local sep = string.find(m, ':', 1, true)\n"
	"  if sep then\n"
	"    redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*',\n"
	"        'm', string.sub(m, sep + 1), 'n', string.sub(m, 1, sep - 1))\n"
	"  end\n"
	"end\n"
	"return #due\n"
};

static struct rconn_script done_script = { .source =
	"if redis.call('XACK', KEYS[1], 'senders', ARGV[1]) == 0 then\n"
	"  return 0\n"
	"end\n"
	"redis.call('XDEL', KEYS[1], ARGV[1])\n"
	"redis.call('HINCRBY', KEYS[2], 'sent', 1)\n"
	"return 1\n"
};

/* ARGV: id, tries after this one, max tries, due (ms), sealed */
static struct rconn_script failed_script = { .source =
	"if redis.call('XACK', KEYS[1], 'senders', ARGV[1]) == 0 then\n"
	"  return 0\n"
	"end\n"
	"redis.call('XDEL', KEYS[1], ARGV[1])\n"
	"if tonumber(ARGV[2]) >= tonumber(ARGV[3]) then\n"
	"  redis.call('LPUSH', KEYS[3], ARGV[5])\n"
	"  redis.call('LTRIM', KEYS[3], 0, ARGV[6])\n"
	"  redis.call('HINCRBY', KEYS[4], 'dead', 1)\n"
	"  return 2\n"
	"end\n"
	"redis.call('ZADD', KEYS[2], ARGV[4], ARGV[2] .. ':' .. ARGV[5])\n"
	"redis.call('HINCRBY', KEYS[4], 'retried', 1)\n"
	"return 1\n"
};

/* <prefix>{mail}:<what> into key: 0, or -1 (logged) when too long */
static int
mailq_key(char key[MAILQ_KEYNAME_MAX], const struct mailq_config *cfg,
    const char *what)
{
	int	 n;

	n = snprintf(key, MAILQ_KEYNAME_MAX, "%s{mail}:%s", cfg->prefix,
	    what);
	if (n < 0 || n >= MAILQ_KEYNAME_MAX) {
		log_warnx("mail queue: key prefix too long");
		return -1;
	}
	return 0;
}

/* 0 for a reply to read; -1 for none or an error reply (logged). */
static int
mailq_reply_ok(const char *what, const redisReply *r)
{
	if (r == NULL)
		return -1;	/* unreachable, logged by rconn */
	if (r->type == REDIS_REPLY_ERROR) {
		log_warnx("mail queue %s: redis error: %.*s", what,
		    (int)(r->len < MAILQ_ERROR_LOG_MAX ? r->len :
		    MAILQ_ERROR_LOG_MAX), r->str);
		return -1;
	}
	return 0;
}

/* m sealed into box: its length, or 0 (logged) when a field is too long */
static size_t
mailq_seal(const struct mailq_config *cfg, const struct mail_msg *m,
    unsigned char box[MAILQ_BOX_MAX])
{
	unsigned char	 plain[MAILQ_PLAIN_MAX];
	int		 n;

	n = snprintf((char *)plain, sizeof(plain), "%s%c%s%c%s%c%ld",
	    m->purpose, 0, m->to, 0, m->code, 0, m->ttl);
	if (n < 0 || (size_t)n >= sizeof(plain)) {
		log_warnx("mail queue: message too long");
		return 0;
	}
	randombytes_buf(box, crypto_secretbox_NONCEBYTES);
	crypto_secretbox_easy(box + crypto_secretbox_NONCEBYTES, plain,
	    (size_t)n, box, cfg->key);
	sodium_memzero(plain, sizeof(plain));
	return crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES +
	    (size_t)n;
}

/* box opened into m: 0, or -1 when it does not open or parse */
static int
mailq_open(const struct mailq_config *cfg, const char *box, size_t len,
    struct mail_msg *m)
{
	unsigned char	 plain[MAILQ_PLAIN_MAX + 1];
	const char	*f[4];
	size_t		 plen, i, nf;
	char		*end;
	int		 rc = -1;

	memset(m, 0, sizeof(*m));
	if (len < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES ||
	    len > MAILQ_BOX_MAX)
		return -1;
	plen = len - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES;
	if (crypto_secretbox_open_easy(plain, (const unsigned char *)box +
	    crypto_secretbox_NONCEBYTES, len - crypto_secretbox_NONCEBYTES,
	    (const unsigned char *)box, cfg->key) != 0)
		return -1;
	plain[plen] = '\0';
	f[0] = (const char *)plain;
	for (i = 0, nf = 1; i < plen && nf < 4; i++)
		if (plain[i] == '\0')
			f[nf++] = (const char *)plain + i + 1;
	if (nf != 4 || strlen(f[0]) >= sizeof(m->purpose) ||
	    strlen(f[1]) >= sizeof(m->to) || strlen(f[2]) >= sizeof(m->code))
		goto done;
	memcpy(m->purpose, f[0], strlen(f[0]) + 1);
	memcpy(m->to, f[1], strlen(f[1]) + 1);
	memcpy(m->code, f[2], strlen(f[2]) + 1);
	m->ttl = strtol(f[3], &end, 10);
	if (*end != '\0' || m->ttl < 0)
		goto done;
	rc = 0;
done:
	sodium_memzero(plain, sizeof(plain));
	return rc;
}

/*
 * Puts m on the queue, sealed.  0, or -1 when Redis is unreachable or
 * refused (logged): the caller goes on without the mail.
 */
int
mailq_enqueue(struct rconn *rc, const struct mailq_config *cfg,
    const struct mail_msg *m)
{
	unsigned char	 box[MAILQ_BOX_MAX];
	char		 q[MAILQ_KEYNAME_MAX];
	size_t		 len;
	redisReply	*r;
	int		 ret;

	if (rc == NULL || mailq_key(q, cfg, "q") == -1 ||
	    (len = mailq_seal(cfg, m, box)) == 0)
		return -1;
	r = rconn_command(rc, "XADD %s MAXLEN ~ " MAILQ_STREAM_MAX
	    " * m %b n 0", q, box, len);
	ret = mailq_reply_ok("enqueue", r);
	if (r != NULL)
		freeReplyObject(r);
	return ret;
}

/*
 * Creates the stream and its group unless they exist (the group reads
 * from the start: mail queued before any sender ran is sent).  0, or -1.
 */
int
mailq_group(struct rconn *rc, const struct mailq_config *cfg)
{
	char		 q[MAILQ_KEYNAME_MAX];
	redisReply	*r;
	int		 ret = -1;

	if (rc == NULL || mailq_key(q, cfg, "q") == -1)
		return -1;
	r = rconn_command(rc, "XGROUP CREATE %s " MAILQ_GROUP " 0 MKSTREAM",
	    q);
	if (r != NULL && r->type == REDIS_REPLY_ERROR &&
	    strncmp(r->str, "BUSYGROUP", 9) == 0)
		ret = 0;
	else
		ret = mailq_reply_ok("group", r);
	if (r != NULL)
		freeReplyObject(r);
	return ret;
}

/* Moves retries due by now_ms back into the stream: 0, or -1. */
int
mailq_promote(struct rconn *rc, const struct mailq_config *cfg,
    long long now_ms)
{
	char		 q[MAILQ_KEYNAME_MAX], retry[MAILQ_KEYNAME_MAX];
	char		 now[MAILQ_NUM_MAX];
	const char	*args[4];
	size_t		 lens[4];
	redisReply	*r;
	int		 ret;

	if (rc == NULL || mailq_key(q, cfg, "q") == -1 ||
	    mailq_key(retry, cfg, "retry") == -1)
		return -1;
	snprintf(now, sizeof(now), "%lld", now_ms);
	args[0] = retry;
	args[1] = q;
	args[2] = now;
	args[3] = MAILQ_STREAM_MAX;
	for (ret = 0; ret < 4; ret++)
		lens[ret] = strlen(args[ret]);
	r = rconn_eval(rc, &promote_script, 2, 4, args, lens);
	ret = mailq_reply_ok("promote", r);
	if (r != NULL)
		freeReplyObject(r);
	return ret;
}

void
mailq_entry_free(struct mailq_entry *e)
{
	if (e->blob != NULL) {
		free(e->blob);
		e->blob = NULL;
	}
	sodium_memzero(&e->msg, sizeof(e->msg));
}

/* One stream entry [id, [field, value, ...]] into e: 0, or -1 skip it. */
static int
mailq_entry_read(const struct mailq_config *cfg, const redisReply *x,
    struct mailq_entry *e)
{
	const redisReply	*f, *k, *v;
	size_t			 i;

	memset(e, 0, sizeof(*e));
	if (x->type != REDIS_REPLY_ARRAY || x->elements != 2 ||
	    x->element[0]->type != REDIS_REPLY_STRING ||
	    x->element[0]->len >= sizeof(e->id))
		return -1;
	memcpy(e->id, x->element[0]->str, x->element[0]->len);
	f = x->element[1];
	if (f->type != REDIS_REPLY_ARRAY)	/* deleted meanwhile: nil */
		return -1;
	for (i = 0; i + 1 < f->elements; i += 2) {
		k = f->element[i];
		v = f->element[i + 1];
		if (k->type != REDIS_REPLY_STRING ||
		    v->type != REDIS_REPLY_STRING)
			continue;
		if (k->len == 1 && k->str[0] == 'm' && e->blob == NULL) {
			if ((e->blob = malloc(v->len + 1)) == NULL)
				log_fatal("malloc");
			memcpy(e->blob, v->str, v->len);
			e->blob[v->len] = '\0';	/* strlen stays bounded */
			e->bloblen = v->len;
		} else if (k->len == 1 && k->str[0] == 'n')
			e->tries = strtol(v->str, NULL, 10);
	}
	if (e->blob == NULL)
		return -1;
	e->sealed_ok = mailq_open(cfg, e->blob, e->bloblen, &e->msg) == 0;
	return 0;
}

/* The entries of an array reply into out: how many were read. */
static int
mailq_entries(const struct mailq_config *cfg, const redisReply *list,
    struct mailq_entry *out, int max)
{
	size_t	 i;
	int	 n = 0;

	if (list == NULL || list->type != REDIS_REPLY_ARRAY)
		return 0;
	for (i = 0; i < list->elements && n < max; i++)
		if (mailq_entry_read(cfg, list->element[i], &out[n]) == 0)
			n++;
	return n;
}

/*
 * Up to max entries for consumer: first those another sender claimed
 * and left idle past claim_idle_ms (it died), else new ones, waiting up
 * to block_ms for them.  The number read (0 on a quiet queue), or -1
 * when Redis failed (the caller calls mailq_group again: a lost stream
 * lost its group).  Each entry is freed with mailq_entry_free.
 */
int
mailq_claim(struct rconn *rc, const struct mailq_config *cfg,
    const char *consumer, int block_ms, struct mailq_entry *out, int max)
{
	char		 q[MAILQ_KEYNAME_MAX];
	redisReply	*r;
	int		 n = 0;

	if (rc == NULL || mailq_key(q, cfg, "q") == -1)
		return -1;
	r = rconn_command(rc, "XAUTOCLAIM %s " MAILQ_GROUP " %s %ld 0-0 "
	    "COUNT %d", q, consumer, cfg->claim_idle_ms, max);
	if (mailq_reply_ok("autoclaim", r) == -1) {
		if (r != NULL)
			freeReplyObject(r);
		return -1;
	}
	if (r->type == REDIS_REPLY_ARRAY && r->elements >= 2)
		n = mailq_entries(cfg, r->element[1], out, max);
	freeReplyObject(r);
	if (n > 0)
		return n;
	r = rconn_command(rc, "XREADGROUP GROUP " MAILQ_GROUP " %s COUNT %d "
	    "BLOCK %d STREAMS %s >", consumer, max, block_ms, q);
	if (mailq_reply_ok("read", r) == -1) {
		if (r != NULL)
			freeReplyObject(r);
		return -1;
	}
	/* [[stream, [entry, ...]]], or nil when nothing came */
	if (r->type == REDIS_REPLY_ARRAY && r->elements >= 1 &&
	    r->element[0]->type == REDIS_REPLY_ARRAY &&
	    r->element[0]->elements == 2)
		n = mailq_entries(cfg, r->element[0]->element[1], out, max);
	freeReplyObject(r);
	return n;
}

/* e was sent: 1 acknowledged, 0 another sender had done so, -1 failed. */
int
mailq_done(struct rconn *rc, const struct mailq_config *cfg,
    const struct mailq_entry *e)
{
	char		 q[MAILQ_KEYNAME_MAX], stats[MAILQ_KEYNAME_MAX];
	const char	*args[3];
	size_t		 lens[3];
	redisReply	*r;
	int		 ret = -1;

	if (rc == NULL || mailq_key(q, cfg, "q") == -1 ||
	    mailq_key(stats, cfg, "stats") == -1)
		return -1;
	args[0] = q;
	args[1] = stats;
	args[2] = e->id;
	lens[0] = strlen(q);
	lens[1] = strlen(stats);
	lens[2] = strlen(e->id);
	r = rconn_eval(rc, &done_script, 2, 3, args, lens);
	if (mailq_reply_ok("done", r) == 0 && r->type == REDIS_REPLY_INTEGER)
		ret = (int)r->integer;
	if (r != NULL)
		freeReplyObject(r);
	return ret;
}

/*
 * e could not be sent: rescheduled with back-off (1), dead-lettered
 * after max_tries or when it cannot be opened (2), or left to the
 * sender that acknowledged it meanwhile (0); -1 when Redis failed (the
 * entry stays pending and is claimed again after claim_idle_ms).
 */
int
mailq_failed(struct rconn *rc, const struct mailq_config *cfg,
    const struct mailq_entry *e, long long now_ms)
{
	char		 q[MAILQ_KEYNAME_MAX], retry[MAILQ_KEYNAME_MAX];
	char		 dead[MAILQ_KEYNAME_MAX], stats[MAILQ_KEYNAME_MAX];
	char		 tries[MAILQ_NUM_MAX], max[MAILQ_NUM_MAX];
	char		 due[MAILQ_NUM_MAX];
	const char	*args[10];
	size_t		 lens[10];
	redisReply	*r;
	long long	 delay;
	long		 n = e->sealed_ok ? e->tries + 1 : cfg->max_tries;
	int		 i, ret = -1;

	if (rc == NULL || mailq_key(q, cfg, "q") == -1 ||
	    mailq_key(retry, cfg, "retry") == -1 ||
	    mailq_key(dead, cfg, "dead") == -1 ||
	    mailq_key(stats, cfg, "stats") == -1)
		return -1;
	delay = cfg->retry_base * 1000LL;
	for (i = 1; i < n && delay < MAILQ_RETRY_CAP_MS; i++)
		delay *= 2;
	if (delay > MAILQ_RETRY_CAP_MS)
		delay = MAILQ_RETRY_CAP_MS;
	snprintf(tries, sizeof(tries), "%ld", n);
	snprintf(max, sizeof(max), "%ld", cfg->max_tries);
	snprintf(due, sizeof(due), "%lld", now_ms + delay);
	args[0] = q;
	args[1] = retry;
	args[2] = dead;
	args[3] = stats;
	args[4] = e->id;
	args[5] = tries;
	args[6] = max;
	args[7] = due;
	args[8] = e->blob;
	args[9] = MAILQ_DEAD_MAX;
	for (i = 0; i < 10; i++)
		lens[i] = strlen(args[i]);
	lens[8] = e->bloblen;		/* binary */
	r = rconn_eval(rc, &failed_script, 4, 10, args, lens);
	if (mailq_reply_ok("failed", r) == 0 && r->type == REDIS_REPLY_INTEGER)
		ret = (int)r->integer;
	if (r != NULL)
		freeReplyObject(r);
	return ret;
}

static long long
mailq_int(redisReply *r)
{
	long long	 v = 0;

	if (r == NULL)
		return 0;
	if (r->type == REDIS_REPLY_INTEGER)
		v = r->integer;
	else if (r->type == REDIS_REPLY_STRING)
		v = strtoll(r->str, NULL, 10);
	return v;
}

/*
 * The queue's state for /status into d: 0, or -1 when Redis is
 * unreachable or refused.
 */
int
mailq_depth(struct rconn *rc, const struct mailq_config *cfg,
    struct mailq_depth *d)
{
	char		 q[MAILQ_KEYNAME_MAX], retry[MAILQ_KEYNAME_MAX];
	char		 dead[MAILQ_KEYNAME_MAX], stats[MAILQ_KEYNAME_MAX];
	redisReply	*r;

	memset(d, 0, sizeof(*d));
	if (rc == NULL || mailq_key(q, cfg, "q") == -1 ||
	    mailq_key(retry, cfg, "retry") == -1 ||
	    mailq_key(dead, cfg, "dead") == -1 ||
	    mailq_key(stats, cfg, "stats") == -1)
		return -1;
	if (mailq_reply_ok("depth", r = rconn_command(rc, "XLEN %s", q)) ==
	    -1)
		goto fail;
	d->queued = mailq_int(r);
	freeReplyObject(r);
	/* no group yet (no sender ever ran): nothing is pending */
	if ((r = rconn_command(rc, "XPENDING %s " MAILQ_GROUP, q)) == NULL)
		return -1;
	if (r->type == REDIS_REPLY_ARRAY && r->elements >= 1)
		d->pending = mailq_int(r->element[0]);
	freeReplyObject(r);
	if (mailq_reply_ok("depth", r = rconn_command(rc, "ZCARD %s",
	    retry)) == -1)
		goto fail;
	d->retrying = mailq_int(r);
	freeReplyObject(r);
	if (mailq_reply_ok("depth", r = rconn_command(rc, "LLEN %s", dead)) ==
	    -1)
		goto fail;
	d->dead = mailq_int(r);
	freeReplyObject(r);
	if (mailq_reply_ok("depth", r = rconn_command(rc, "HMGET %s sent "
	    "retried dead", stats)) == -1)
		goto fail;
	if (r->type == REDIS_REPLY_ARRAY && r->elements == 3) {
		d->sent = mailq_int(r->element[0]);
		d->retried = mailq_int(r->element[1]);
		d->dead_total = mailq_int(r->element[2]);
	}
	freeReplyObject(r);
	return 0;
fail:
	if (r != NULL)
		freeReplyObject(r);
	return -1;
}
