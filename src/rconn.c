/*
 * Lazy Redis connection with back-off.  Every (re)connect goes through
 * rconn_connect(): hiredis' redisReconnect neither restores the command
 * timeout nor replays AUTH/SELECT (PITFALLS).  A context whose err is set
 * is useless, so any I/O failure drops it and starts the back-off.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>

#include "log.h"
#include "rconn.h"

#define RCONN_ERROR_MAX	192	/* hiredis errstr is 128 */

struct rconn {
	struct rconn_config	 cfg;
	redisContext		*c;
	long long		 retry_at_ms;	/* no connect attempt before */
	long			 backoff_ms;
	unsigned long		 failures;
	int			 down;		/* failed since last answer */
	char			 error[RCONN_ERROR_MAX];
};

static long long
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct timeval
ms_to_tv(int ms)
{
	struct timeval	 tv;

	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	return tv;
}

/* Copies [s, s + n) into dst of size dstlen: 0, or -1 if it does not fit. */
static int
copy_part(char *dst, size_t dstlen, const char *s, size_t n)
{
	if (n >= dstlen)
		return -1;
	memcpy(dst, s, n);
	dst[n] = '\0';
	return 0;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decodes a userinfo part in place: 0, or -1 on a bad escape. */
static int
percent_decode(char *s)
{
	char	*w = s;
	int	 hi, lo;

	for (; *s != '\0'; s++) {
		if (*s != '%') {
			*w++ = *s;
			continue;
		}
		if ((hi = hexval(s[1])) < 0 || (lo = hexval(s[2])) < 0 ||
		    (hi | lo) == 0)	/* %00 would cut the secret short */
			return -1;
		*w++ = (char)(hi << 4 | lo);
		s += 2;
	}
	*w = '\0';
	return 0;
}

static int
parse_int(const char *s, size_t n, int min, int max, int *out)
{
	long	 v = 0;
	size_t	 i;

	if (n == 0 || n > 10)
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	if (v < min || v > max)
		return -1;
	*out = (int)v;
	return 0;
}

/*
 * Parses redis://[[user]:password@]host[:port][/db] or unix:///path[?db=N]
 * into *u: 0, or -1 with *why naming the problem (never the password).
 */
int
rconn_url_parse(const char *url, struct rconn_url *u, const char **why)
{
	const char	*p, *at, *end, *colon, *slash;

	memset(u, 0, sizeof(*u));
	u->port = 6379;
	*why = NULL;
	if (strncmp(url, "unix://", 7) == 0) {
		u->is_unix = 1;
		p = url + 7;
		if (*p != '/')
			return *why = "unix URL needs an absolute path", -1;
		end = strchr(p, '?');
		if (copy_part(u->path, sizeof(u->path), p,
		    end ? (size_t)(end - p) : strlen(p)) == -1)
			return *why = "unix socket path too long", -1;
		if (end != NULL) {
			if (strncmp(end, "?db=", 4) != 0 || parse_int(end + 4,
			    strlen(end + 4), 0, 1000000, &u->db) == -1)
				return *why = "bad ?db= in unix URL", -1;
		}
		return 0;
	}
	if (strncmp(url, "redis://", 8) != 0)
		return *why = "URL must start with redis:// or unix://", -1;
	p = url + 8;
	end = p + strcspn(p, "/");
	/* the last @: a raw @ in the password must not leak into host */
	if ((at = memrchr(p, '@', (size_t)(end - p))) != NULL) {
		colon = memchr(p, ':', (size_t)(at - p));
		if (colon == NULL)	/* redis://password@host, as redis-cli */
			colon = p - 1;
		if (copy_part(u->user, sizeof(u->user), p,
		    colon < p ? 0 : (size_t)(colon - p)) == -1 ||
		    copy_part(u->password, sizeof(u->password), colon + 1,
		    (size_t)(at - colon - 1)) == -1)
			return *why = "credentials too long", -1;
		if (percent_decode(u->user) == -1 ||
		    percent_decode(u->password) == -1)
			return *why = "bad percent escape in credentials", -1;
		p = at + 1;
	}
	if (*p == '[') {			/* [::1]:6379 */
		if ((colon = memchr(p, ']', (size_t)(end - p))) == NULL)
			return *why = "unclosed [ in host", -1;
		if (copy_part(u->host, sizeof(u->host), p + 1,
		    (size_t)(colon - p - 1)) == -1)
			return *why = "host too long", -1;
		colon++;
		if (colon != end && *colon != ':')
			return *why = "bad host", -1;
	} else {
		colon = memchr(p, ':', (size_t)(end - p));
		if (copy_part(u->host, sizeof(u->host), p,
		    (size_t)((colon ? colon : end) - p)) == -1)
			return *why = "host too long", -1;
	}
	if (u->host[0] == '\0')
		return *why = "missing host", -1;
	if (colon != NULL && colon != end && parse_int(colon + 1,
	    (size_t)(end - colon - 1), 1, 65535, &u->port) == -1)
		return *why = "bad port", -1;
	if (*end == '/' && end[1] != '\0') {
		slash = end + 1;
		if (parse_int(slash, strlen(slash), 0, 1000000, &u->db) == -1)
			return *why = "bad database number", -1;
	}
	return 0;
}

/* A connection that connects on first use; never NULL. */
struct rconn *
rconn_new(const struct rconn_config *cfg)
{
	struct rconn	*rc;

	if ((rc = calloc(1, sizeof(*rc))) == NULL)
		log_fatal("rconn: calloc");
	rc->cfg = *cfg;
	return rc;
}

/* Closes the connection and wipes the password; takes NULL. */
void
rconn_free(struct rconn *rc)
{
	if (rc == NULL)
		return;
	if (rc->c != NULL)
		redisFree(rc->c);
	explicit_bzero(&rc->cfg.url, sizeof(rc->cfg.url));
	free(rc);
}

/*
 * Forgets the connection after a failure and schedules the next connect
 * attempt after the back-off: 250 ms, doubling up to 2 s (SPEC 3).
 */
static void
rconn_drop(struct rconn *rc, const char *why)
{
	if (rc->c != NULL) {
		redisFree(rc->c);
		rc->c = NULL;
	}
	rc->failures++;
	if (rc->backoff_ms == 0)
		rc->backoff_ms = rc->cfg.backoff_min_ms;
	else if ((rc->backoff_ms *= 2) > rc->cfg.backoff_max_ms)
		rc->backoff_ms = rc->cfg.backoff_max_ms;
	rc->retry_at_ms = now_ms() + rc->backoff_ms;
	snprintf(rc->error, sizeof(rc->error), "%s", why);
	/* one warning per outage, then one line per attempt at debug */
	if (!rc->down)
		log_warnx("redis unavailable: %s (next attempt in %ld ms)",
		    why, rc->backoff_ms);
	else
		log_debug("redis still unavailable: %s (next attempt in "
		    "%ld ms)", why, rc->backoff_ms);
	rc->down = 1;
}

/*
 * Redis answered: the outage, if any, is over.  A TCP connect alone does
 * not count, since a hung Redis accepts and never answers.
 */
static void
rconn_answered(struct rconn *rc)
{
	if (!rc->down)
		return;
	rc->down = 0;
	rc->backoff_ms = 0;
	rc->error[0] = '\0';
	log_info("redis connected again");
}

static int
reply_ok(redisReply *r)
{
	int	 ok = r != NULL && r->type == REDIS_REPLY_STATUS;

	if (r != NULL)
		freeReplyObject(r);
	return ok;
}

static int
rconn_connect(struct rconn *rc)
{
	const struct rconn_url	*u = &rc->cfg.url;
	struct timeval		 ctv = ms_to_tv(rc->cfg.connect_timeout_ms);
	char			 why[RCONN_ERROR_MAX];
	redisContext		*c;

	if (u->is_unix)
		c = redisConnectUnixWithTimeout(u->path, ctv);
	else
		c = redisConnectWithTimeout(u->host, u->port, ctv);
	if (c == NULL) {
		rconn_drop(rc, "cannot allocate context");
		return -1;
	}
	rc->c = c;
	if (c->err) {
		snprintf(why, sizeof(why), "connect: %.128s", c->errstr);
		goto fail;
	}
	if (redisSetTimeout(c, ms_to_tv(rc->cfg.command_timeout_ms)) !=
	    REDIS_OK) {
		snprintf(why, sizeof(why), "set timeout: %.128s", c->errstr);
		goto fail;
	}
	if (u->password[0] != '\0' && !reply_ok(u->user[0] != '\0' ?
	    redisCommand(c, "AUTH %s %s", u->user, u->password) :
	    redisCommand(c, "AUTH %s", u->password))) {
		snprintf(why, sizeof(why), "AUTH refused");
		goto fail;
	}
	if (u->db != 0 && !reply_ok(redisCommand(c, "SELECT %d", u->db))) {
		snprintf(why, sizeof(why), "SELECT %d refused", u->db);
		goto fail;
	}
	return 0;
fail:
	rconn_drop(rc, why);
	return -1;
}

/*
 * The connection, connecting first if needed: rc, or NULL while Redis is
 * unreachable or the back-off has not elapsed (rconn_stats says why).
 */
struct rconn *
rconn_get(struct rconn *rc)
{
	if (rc == NULL)
		return NULL;
	if (rc->c != NULL)
		return rc;
	if (now_ms() < rc->retry_at_ms)
		return NULL;
	return rconn_connect(rc) == 0 ? rc : NULL;
}

static redisReply *
checked(struct rconn *rc, void *reply)
{
	char	 why[RCONN_ERROR_MAX];

	if (reply == NULL) {
		snprintf(why, sizeof(why), "%s", rc->c->errstr[0] ?
		    rc->c->errstr : "no reply");
		rconn_drop(rc, why);
	} else
		rconn_answered(rc);
	return reply;
}

/*
 * Runs one command (hiredis format: user data as %s or %b only).  Returns
 * the reply, which the caller frees with freeReplyObject (an error reply
 * included), or NULL when the connection failed and was dropped.
 */
redisReply *
rconn_command(struct rconn *rc, const char *fmt, ...)
{
	va_list	 ap;
	void	*r;

	if (rconn_get(rc) == NULL)
		return NULL;
	va_start(ap, fmt);
	r = redisvCommand(rc->c, fmt, ap);
	va_end(ap);
	return checked(rc, r);
}

/* Like rconn_command() with an argument vector. */
redisReply *
rconn_commandv(struct rconn *rc, int argc, const char **argv,
    const size_t *argvlen)
{
	if (rconn_get(rc) == NULL)
		return NULL;
	return checked(rc, redisCommandArgv(rc->c, argc, argv, argvlen));
}

/*
 * Queues a command for a pipeline; rconn_reply() then reads the replies in
 * order.  0, or -1 when Redis is unavailable.
 */
int
rconn_append(struct rconn *rc, const char *fmt, ...)
{
	va_list	 ap;
	int	 rv;

	if (rconn_get(rc) == NULL)
		return -1;
	va_start(ap, fmt);
	rv = redisvAppendCommand(rc->c, fmt, ap);
	va_end(ap);
	if (rv != REDIS_OK) {
		rconn_drop(rc, "append failed");
		return -1;
	}
	return 0;
}

/*
 * The next reply of a pipeline (the first call sends it), or NULL when the
 * connection failed: then the rest of the pipeline is lost as well.
 */
redisReply *
rconn_reply(struct rconn *rc)
{
	void	*r = NULL;

	if (rc->c == NULL)
		return NULL;
	if (redisGetReply(rc->c, &r) != REDIS_OK)
		r = NULL;
	return checked(rc, r);
}

static int
is_noscript(const redisReply *r)
{
	return r->type == REDIS_REPLY_ERROR &&
	    strncmp(r->str, "NOSCRIPT", 8) == 0;
}

#define RCONN_EVAL_MAX_ARGS	16

/*
 * Runs a Lua script with nkeys keys followed by argc - nkeys arguments:
 * EVALSHA, and EVAL when Redis lost its script cache (SCRIPT FLUSH or a
 * restart).  Returns the reply, or NULL on a connection failure.
 */
redisReply *
rconn_eval(struct rconn *rc, struct rconn_script *s, int nkeys, int argc,
    const char **args, const size_t *lens)
{
	const char	*argv[RCONN_EVAL_MAX_ARGS + 3];
	size_t		 argvlen[RCONN_EVAL_MAX_ARGS + 3];
	char		 nkeys_str[16];
	redisReply	*r;
	int		 i;

	if (argc > RCONN_EVAL_MAX_ARGS || nkeys > argc)
		log_fatalx("rconn_eval: %d arguments", argc);
	if (s->sha[0] == '\0') {
		if ((r = rconn_command(rc, "SCRIPT LOAD %s", s->source)) ==
		    NULL)
			return NULL;
		if (r->type == REDIS_REPLY_STRING && r->len == 40)
			memcpy(s->sha, r->str, 41);
		freeReplyObject(r);
	}
	snprintf(nkeys_str, sizeof(nkeys_str), "%d", nkeys);
	argv[1] = s->sha[0] ? s->sha : s->source;
	argv[2] = nkeys_str;
	for (i = 0; i < argc; i++) {
		argv[i + 3] = args[i];
		argvlen[i + 3] = lens[i];
	}
	argvlen[2] = strlen(nkeys_str);
	if (s->sha[0] != '\0') {
		argv[0] = "EVALSHA";
		argvlen[0] = 7;
		argvlen[1] = 40;
		r = rconn_commandv(rc, argc + 3, argv, argvlen);
		if (r == NULL || !is_noscript(r))
			return r;
		freeReplyObject(r);
		log_info("redis script cache was flushed: using EVAL");
	}
	argv[0] = "EVAL";
	argvlen[0] = 4;
	argv[1] = s->source;
	argvlen[1] = strlen(s->source);
	return rconn_commandv(rc, argc + 3, argv, argvlen);
}

void
rconn_stats(const struct rconn *rc, struct rconn_stats *st)
{
	st->connected = rc->c != NULL;
	st->failures = rc->failures;
	st->backoff_ms = rc->backoff_ms;
	st->last_error = rc->error;
}
