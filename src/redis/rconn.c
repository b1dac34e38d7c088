/*
 * Lazy Redis connection with back-off.  Every (re)connect goes through
 * rconn_connect(): hiredis' redisReconnect neither restores the command
 * timeout nor replays AUTH/SELECT (PITFALLS).  A context whose err is set
 * is useless and is freed.
 *
 * Redis's states, as this handle tells them apart (SPEC 3):
 * - stale: a connection that had answered fails with EOF, a reset or a
 *   broken pipe before any reply byte (Redis closed an idle client,
 *   restarted, failed over; a NAT forgot the flow).  Redis itself may be
 *   fine, so the handle reconnects at once, without back-off, and sends
 *   the command (or the whole pipeline) once more.  -READONLY and
 *   -MASTERDOWN replies get the same treatment: another server may
 *   answer the new connection.
 * - unreachable: a fresh connection cannot be made or fails too, or a
 *   command times out (a hung Redis: resending would double the wait).
 *   The handle backs off; callers take SPEC 3's fallback.
 * - erroring: Redis answers with an error reply.  That is Redis up and
 *   refusing; the reply goes to the caller, who must fail closed.
 *
 * What a resend may do, command by command, is written where each caller
 * builds its command; the rule is that a resend is sent only when no
 * reply byte came back, so Redis ran the command once or not at all.
 *
 * Under Sentinel (SPEC 5) every connect asks the sentinels for the master
 * first, so each of the cases above that makes a new connection (stale,
 * -READONLY, -MASTERDOWN, the next attempt after a back-off) also follows
 * a failover.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>

#include "lib/log.h"
#include "redis/rconn.h"

#define RCONN_ERROR_MAX	320	/* errstr (128) and two addresses */
#define RCONN_SENTINEL_PORT	26379
#define RCONN_PIPE_MAX	(64 * 1024)	/* a pipeline kept for a resend */

struct rconn {
	struct rconn_config	 cfg;
	redisContext		*c;
	int			 proven;	/* c has answered a command */
	int			 unanswered;	/* the last command may have run */
	long long		 retry_at_ms;	/* no connect attempt before */
	long			 backoff_ms;
	unsigned long		 failures;
	unsigned long		 stale_reconnects;
	unsigned long		 generation;	/* connections made */
	int			 down;		/* failed since last answer */
	char			 error[RCONN_ERROR_MAX];

	/* the server connected to: the URL's, or the sentinels' master */
	struct rconn_addr	 cur;
	char			 master[RCONN_ADDR_MAX + 1];
	unsigned long		 master_changes;
	int			 sentinel_first; /* the one that answered last */

	/* the pipeline under way, kept formatted for a resend */
	char			*pipe;
	size_t			 pipe_len, pipe_cap;
	int			 pipe_queued;	/* replies not read yet */
	int			 pipe_read;	/* replies read */
	int			 pipe_resendable;
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

/*
 * Parses redis_sentinels, "host:port,host:port,..." (a port left out is
 * 26379, an IPv6 host goes in brackets), into cfg->sentinels: 0, or -1
 * with *why naming the problem.  An empty list means no Sentinel.
 */
int
rconn_sentinels_parse(const char *list, struct rconn_config *cfg,
    const char **why)
{
	struct rconn_addr	*a;
	const char		*p = list, *end, *host, *hend, *colon;

	cfg->nsentinels = 0;
	*why = NULL;
	while (*p != '\0') {
		p += strspn(p, " \t,");
		if (*p == '\0')
			break;
		end = p + strcspn(p, " \t,");
		if (cfg->nsentinels == RCONN_SENTINELS_MAX)
			return *why = "too many sentinels (at most 16)", -1;
		a = &cfg->sentinels[cfg->nsentinels];
		a->port = RCONN_SENTINEL_PORT;
		if (*p == '[') {
			host = p + 1;
			if ((hend = memchr(p, ']', (size_t)(end - p))) == NULL)
				return *why = "unclosed [ in a sentinel", -1;
			colon = hend + 1;
			if (colon != end && *colon != ':')
				return *why = "bad sentinel address", -1;
		} else {
			host = p;
			colon = memchr(p, ':', (size_t)(end - p));
			hend = colon != NULL ? colon : end;
		}
		if (hend == host || copy_part(a->host, sizeof(a->host), host,
		    (size_t)(hend - host)) == -1)
			return *why = "bad sentinel host", -1;
		if (colon != NULL && colon != end && parse_int(colon + 1,
		    (size_t)(end - colon - 1), 1, 65535, &a->port) == -1)
			return *why = "bad sentinel port", -1;
		cfg->nsentinels++;
		p = end;
	}
	return 0;
}

/* "host:port" ("[host]:port" for IPv6) into buf. */
static void
addr_format(char *buf, size_t len, const char *host, int port)
{
	snprintf(buf, len, strchr(host, ':') != NULL ? "[%s]:%d" : "%s:%d",
	    host, port);
}

/* A connection that connects on first use; never NULL. */
struct rconn *
rconn_new(const struct rconn_config *cfg)
{
	struct rconn	*rc;

	if ((rc = calloc(1, sizeof(*rc))) == NULL)
		log_fatal("rconn: calloc");
	rc->cfg = *cfg;
	if (cfg->nsentinels == 0 && cfg->url.is_unix)
		snprintf(rc->master, sizeof(rc->master), "unix:%s",
		    cfg->url.path);
	else if (cfg->nsentinels == 0)
		addr_format(rc->master, sizeof(rc->master), cfg->url.host,
		    cfg->url.port);
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
	explicit_bzero(&rc->cfg, sizeof(rc->cfg));
	free(rc->pipe);
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
	rc->proven = 0;
	rc->pipe_queued = 0;
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

/*
 * A connection to host:port, or to the unix socket path when path is not
 * NULL, with both timeouts set (PITFALLS: the connect timeout alone
 * bounds only the connect), authenticated when password is not "" and on
 * db when db is not 0.  The context, or NULL with why set.
 */
static redisContext *
redis_open(const struct rconn_config *cfg, const char *host, int port,
    const char *path, const char *user, const char *password, int db,
    char *why, size_t len)
{
	struct timeval	 ctv = ms_to_tv(cfg->connect_timeout_ms);
	redisContext	*c;

	if (path != NULL)
		c = redisConnectUnixWithTimeout(path, ctv);
	else
		c = redisConnectWithTimeout(host, port, ctv);
	if (c == NULL) {
		snprintf(why, len, "cannot allocate context");
		return NULL;
	}
	if (c->err) {
		snprintf(why, len, "connect: %.128s", c->errstr);
		goto fail;
	}
	if (redisSetTimeout(c, ms_to_tv(cfg->command_timeout_ms)) !=
	    REDIS_OK) {
		snprintf(why, len, "set timeout: %.128s", c->errstr);
		goto fail;
	}
	if (password[0] != '\0' && !reply_ok(user[0] != '\0' ?
	    redisCommand(c, "AUTH %s %s", user, password) :
	    redisCommand(c, "AUTH %s", password))) {
		snprintf(why, len, "AUTH refused");
		goto fail;
	}
	if (db != 0 && !reply_ok(redisCommand(c, "SELECT %d", db))) {
		snprintf(why, len, "SELECT %d refused", db);
		goto fail;
	}
	return c;
fail:
	redisFree(c);
	return NULL;
}

/*
 * Asks the sentinel s for the master's address: 0 with *m set, or -1
 * with why set (down, refusing, or not knowing the name).
 */
static int
sentinel_ask(const struct rconn_config *cfg, const struct rconn_addr *s,
    struct rconn_addr *m, char *why, size_t len)
{
	redisContext	*c;
	redisReply	*r;
	int		 rv = -1;

	if ((c = redis_open(cfg, s->host, s->port, NULL, "",
	    cfg->sentinel_password, 0, why, len)) == NULL)
		return -1;
	r = redisCommand(c, "SENTINEL get-master-addr-by-name %s",
	    cfg->master_name);
	if (r == NULL)
		snprintf(why, len, "%.128s", c->errstr[0] ? c->errstr :
		    "no reply");
	else if (r->type == REDIS_REPLY_ERROR)
		snprintf(why, len, "answered %.128s", r->str);
	else if (r->type == REDIS_REPLY_NIL)
		snprintf(why, len, "does not know master %.64s",
		    cfg->master_name);
	else if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
	    r->element[0]->type != REDIS_REPLY_STRING ||
	    r->element[1]->type != REDIS_REPLY_STRING ||
	    r->element[0]->len == 0 ||
	    copy_part(m->host, sizeof(m->host), r->element[0]->str,
	    r->element[0]->len) == -1 ||
	    parse_int(r->element[1]->str, r->element[1]->len, 1, 65535,
	    &m->port) == -1)
		snprintf(why, len, "unexpected answer to "
		    "get-master-addr-by-name");
	else
		rv = 0;
	if (r != NULL)
		freeReplyObject(r);
	redisFree(c);
	return rv;
}

/* 1 when ROLE on c says master, 0 when something else (why set), -1. */
static int
role_is_master(redisContext *c, char *why, size_t len)
{
	redisReply	*r;
	int		 rv = -1;

	if ((r = redisCommand(c, "ROLE")) == NULL) {
		snprintf(why, len, "ROLE: %.128s", c->errstr[0] ? c->errstr :
		    "no reply");
		return -1;
	}
	if (r->type == REDIS_REPLY_ARRAY && r->elements >= 1 &&
	    r->element[0]->type == REDIS_REPLY_STRING) {
		rv = strcmp(r->element[0]->str, "master") == 0;
		if (!rv)
			snprintf(why, len, "is a %.32s, not a master",
			    r->element[0]->str);
	} else if (r->type == REDIS_REPLY_ERROR)
		snprintf(why, len, "ROLE refused: %.128s", r->str);
	else
		snprintf(why, len, "ROLE: unexpected answer");
	freeReplyObject(r);
	return rv;
}

/* Notes the master in use; a new address is logged once per worker. */
static void
rconn_set_master(struct rconn *rc, const struct rconn_addr *m,
    const struct rconn_addr *s)
{
	char	 addr[RCONN_ADDR_MAX + 1], via[RCONN_ADDR_MAX + 1];

	rc->cur = *m;
	addr_format(addr, sizeof(addr), m->host, m->port);
	if (strcmp(addr, rc->master) == 0)
		return;
	addr_format(via, sizeof(via), s->host, s->port);
	if (rc->master[0] == '\0')
		log_debug("redis master %s (from sentinel %s)", addr, via);
	else {
		rc->master_changes++;
		log_info("redis master is now %s, was %s (from sentinel %s)",
		    addr, rc->master, via);
	}
	memcpy(rc->master, addr, sizeof(addr));
}

/*
 * Asks the sentinels in turn, from the one that answered last, for the
 * master (each with the connect and command timeouts), connects to it
 * and confirms with ROLE that it is one: right after a failover a
 * sentinel can still name the demoted master (PITFALLS).  The
 * connection, or NULL with why set to the last problem seen.
 */
static redisContext *
rconn_discover(struct rconn *rc, char *why, size_t len)
{
	const struct rconn_config	*cfg = &rc->cfg;
	const struct rconn_addr		*s;
	struct rconn_addr		 m;
	redisContext			*c;
	char				 err[RCONN_ERROR_MAX];
	int				 k, i;

	snprintf(why, len, "no sentinel");
	for (k = 0; k < cfg->nsentinels; k++) {
		i = (rc->sentinel_first + k) % cfg->nsentinels;
		s = &cfg->sentinels[i];
		if (sentinel_ask(cfg, s, &m, err, sizeof(err)) == -1) {
			snprintf(why, len, "sentinel %.64s:%d: %.160s",
			    s->host, s->port, err);
			continue;
		}
		if ((c = redis_open(cfg, m.host, m.port, NULL, cfg->url.user,
		    cfg->url.password, cfg->url.db, err, sizeof(err))) ==
		    NULL) {
			snprintf(why, len, "master %.64s:%d from sentinel "
			    "%.64s:%d: %.128s", m.host, m.port, s->host,
			    s->port, err);
			continue;
		}
		if (role_is_master(c, err, sizeof(err)) != 1) {
			snprintf(why, len, "%.64s:%d from sentinel %.64s:%d "
			    "%.128s", m.host, m.port, s->host, s->port, err);
			redisFree(c);
			continue;
		}
		rc->sentinel_first = i;
		rconn_set_master(rc, &m, s);
		return c;
	}
	return NULL;
}

static int
rconn_connect(struct rconn *rc)
{
	const struct rconn_url	*u = &rc->cfg.url;
	char			 why[RCONN_ERROR_MAX];

	rc->proven = 0;
	if (rc->cfg.nsentinels > 0)
		rc->c = rconn_discover(rc, why, sizeof(why));
	else
		rc->c = redis_open(&rc->cfg, u->host, u->port,
		    u->is_unix ? u->path : NULL, u->user, u->password, u->db,
		    why, sizeof(why));
	if (rc->c == NULL) {
		rconn_drop(rc, why);
		return -1;
	}
	rc->generation++;
	return 0;
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

/*
 * 1 when the failure that left c->err set (errnum: errno just after it)
 * is a connection closed or reset under a context that had answered:
 * staleness, not an outage.  A timeout is a hung Redis, never stale.
 */
static int
rconn_stale(const struct rconn *rc, int errnum)
{
	if (!rc->proven || rc->c == NULL)
		return 0;
	if (rc->c->err == REDIS_ERR_EOF)
		return 1;
	if (rc->c->err != REDIS_ERR_IO)
		return 0;
	switch (errnum) {
	case ECONNRESET:
	case ECONNABORTED:
	case EPIPE:
	case ENOTCONN:
		return 1;
	default:
		return 0;
	}
}

/*
 * 1 when r is an error reply that another server may not give: a
 * replica that was the master (-READONLY) or one cut off from its master
 * (-MASTERDOWN), seen after a failover.
 */
static int
rconn_wrong_server(const redisReply *r)
{
	return r != NULL && r->type == REDIS_REPLY_ERROR && r->str != NULL &&
	    (strncmp(r->str, "READONLY ", 9) == 0 ||
	    strncmp(r->str, "MASTERDOWN ", 11) == 0);
}

/*
 * Replaces a stale connection (or one to the wrong server) with a new
 * one at once, without back-off: 0, or -1 when the new one cannot be
 * made (then rconn_connect() dropped it and the back-off runs).
 */
static int
rconn_reconnect_now(struct rconn *rc, const char *why)
{
	rc->stale_reconnects++;
	log_debug("redis connection replaced (%s): reconnecting at once",
	    why);
	if (rc->c != NULL) {
		redisFree(rc->c);
		rc->c = NULL;
	}
	rc->proven = 0;
	return rconn_connect(rc);
}

/* The reason c failed, for logs and /health. */
static void
rconn_failure(struct rconn *rc, char *why, size_t len)
{
	snprintf(why, len, "%s", rc->c != NULL && rc->c->errstr[0] ?
	    rc->c->errstr : "no reply");
}

static redisReply *
checked(struct rconn *rc, void *reply)
{
	char	 why[RCONN_ERROR_MAX];

	if (reply == NULL) {
		rc->unanswered = 1;	/* sent, perhaps run: no answer */
		rconn_failure(rc, why, sizeof(why));
		rconn_drop(rc, why);
	} else {
		rc->proven = 1;
		rc->unanswered = 0;
		rconn_answered(rc);
	}
	return reply;
}

/* The next reply on rc->c, or NULL with c->err set. */
static redisReply *
rconn_next_reply(struct rconn *rc)
{
	void	*r;

	return redisGetReply(rc->c, &r) == REDIS_OK ? r : NULL;
}

/* Sends the formatted cmd (len bytes) on rc->c: its reply, or NULL. */
static redisReply *
rconn_send(struct rconn *rc, const char *cmd, size_t len)
{
	if (redisAppendFormattedCommand(rc->c, cmd, len) != REDIS_OK)
		return NULL;
	return rconn_next_reply(rc);
}

/*
 * Whether the first answer *rp to what was sent on rc->c calls for a new
 * connection and a resend: 1 when the connection went stale (no reply)
 * or the server was demoted (the error reply is freed and *rp set to
 * NULL), with why set; 0 to take *rp as it is.
 */
static int
rconn_resend_needed(struct rconn *rc, redisReply **rp, char *why,
    size_t len)
{
	if (*rp == NULL && rconn_stale(rc, errno)) {
		rconn_failure(rc, why, len);
		rc->unanswered = 1;	/* it may have died under the command */
		return 1;
	}
	if (rconn_wrong_server(*rp)) {
		snprintf(why, len, "%.40s", (*rp)->str);
		freeReplyObject(*rp);
		*rp = NULL;
		return 1;
	}
	return 0;
}

/*
 * One round trip of the formatted cmd (len bytes), sent again once on a
 * new connection when the kept one turned out stale or led to a demoted
 * server.  The reply (an error reply included), or NULL when Redis is
 * unreachable.
 */
static redisReply *
rconn_roundtrip(struct rconn *rc, const char *cmd, size_t len)
{
	char		 why[RCONN_ERROR_MAX];
	redisReply	*r;

	r = rconn_send(rc, cmd, len);
	if (rconn_resend_needed(rc, &r, why, sizeof(why))) {
		if (rconn_reconnect_now(rc, why) == -1)
			return NULL;	/* dropped: the back-off runs */
		r = rconn_send(rc, cmd, len);
	}
	return checked(rc, r);
}

/*
 * Runs one command (hiredis format: user data as %s or %b only).  Returns
 * the reply, which the caller frees with freeReplyObject (an error reply
 * included), or NULL when Redis is unreachable.  A stale connection is
 * replaced and the command sent again, once.
 */
redisReply *
rconn_command(struct rconn *rc, const char *fmt, ...)
{
	va_list		 ap;
	char		*cmd;
	int		 len;
	redisReply	*r;

	if (rc != NULL)
		rc->unanswered = 0;
	if (rconn_get(rc) == NULL)
		return NULL;
	va_start(ap, fmt);
	len = redisvFormatCommand(&cmd, fmt, ap);
	va_end(ap);
	if (len < 0)
		log_fatalx("rconn_command: cannot format %s", fmt);
	r = rconn_roundtrip(rc, cmd, (size_t)len);
	redisFreeCommand(cmd);
	return r;
}

/* Like rconn_command() with an argument vector. */
redisReply *
rconn_commandv(struct rconn *rc, int argc, const char **argv,
    const size_t *argvlen)
{
	char		*cmd;
	int		 len;
	redisReply	*r;

	if (rc != NULL)
		rc->unanswered = 0;
	if (rconn_get(rc) == NULL)
		return NULL;
	if ((len = redisFormatCommandArgv(&cmd, argc, argv, argvlen)) < 0)
		log_fatalx("rconn_commandv: cannot format");
	r = rconn_roundtrip(rc, cmd, (size_t)len);
	redisFreeCommand(cmd);
	return r;
}

/* Keeps cmd (len bytes) with the pipeline, for a resend; 0 or -1. */
static int
rconn_pipe_keep(struct rconn *rc, const char *cmd, size_t len)
{
	size_t	 cap;
	char	*p;

	if (rc->pipe_len + len > RCONN_PIPE_MAX)
		return -1;
	if (rc->pipe_len + len > rc->pipe_cap) {
		cap = rc->pipe_cap ? rc->pipe_cap : 1024;
		while (cap < rc->pipe_len + len)
			cap *= 2;
		if ((p = realloc(rc->pipe, cap)) == NULL)
			return -1;
		rc->pipe = p;
		rc->pipe_cap = cap;
	}
	memcpy(rc->pipe + rc->pipe_len, cmd, len);
	rc->pipe_len += len;
	return 0;
}

/*
 * Queues a command for a pipeline; rconn_reply() then reads the replies in
 * order.  The pipeline is kept until its last reply is read, so that a
 * stale connection can be replaced and the whole pipeline sent again.
 * 0, or -1 when Redis is unavailable.
 */
int
rconn_append(struct rconn *rc, const char *fmt, ...)
{
	va_list	 ap;
	char	*cmd;
	int	 len, rv;

	if (rc != NULL)
		rc->unanswered = 0;
	if (rconn_get(rc) == NULL)
		return -1;
	if (rc->pipe_queued == 0) {		/* a new pipeline */
		rc->pipe_len = 0;
		rc->pipe_read = 0;
		rc->pipe_resendable = 1;
	}
	va_start(ap, fmt);
	len = redisvFormatCommand(&cmd, fmt, ap);
	va_end(ap);
	if (len < 0)
		log_fatalx("rconn_append: cannot format %s", fmt);
	if (rconn_pipe_keep(rc, cmd, (size_t)len) == -1)
		rc->pipe_resendable = 0;
	rv = redisAppendFormattedCommand(rc->c, cmd, (size_t)len);
	redisFreeCommand(cmd);
	if (rv != REDIS_OK) {
		rconn_drop(rc, "append failed");
		return -1;
	}
	rc->pipe_queued++;
	return 0;
}

/*
 * The next reply of a pipeline (the first call sends it), or NULL when the
 * connection failed: then the rest of the pipeline is lost as well.  When
 * the first reply fails on a stale connection, or says the server was
 * demoted, the whole pipeline is sent again on a new connection, once.
 */
redisReply *
rconn_reply(struct rconn *rc)
{
	char		 why[RCONN_ERROR_MAX];
	redisReply	*r;

	if (rc->c == NULL || rc->pipe_queued == 0)
		return NULL;
	r = rconn_next_reply(rc);
	if (rc->pipe_read == 0 && rc->pipe_resendable &&
	    rconn_resend_needed(rc, &r, why, sizeof(why))) {
		if (rconn_reconnect_now(rc, why) == -1)
			return NULL;	/* dropped: the back-off runs */
		if (redisAppendFormattedCommand(rc->c, rc->pipe,
		    rc->pipe_len) == REDIS_OK)
			r = rconn_next_reply(rc);
	}
	if (r == NULL) {
		rc->pipe_queued = 0;
		return checked(rc, NULL);
	}
	rc->pipe_read++;
	rc->pipe_queued--;
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

/*
 * Which connection this is: a number that changes with every connection
 * made, so that state tied to one connection (client tracking) can tell
 * that it was lost.  0 before the first.
 */
unsigned long
rconn_generation(const struct rconn *rc)
{
	return rc->c != NULL ? rc->generation : 0;
}

/*
 * One poll, without waiting and without a round trip, of a subscriber and
 * of the main connection whose invalidations it receives:
 * RCONN_SUB_READABLE when messages wait on sub, RCONN_MAIN_READABLE when
 * main, with nothing asked of it, has something to read (the server
 * closed it: CLIENT KILL, a restart, a timeout; or it is out of step).
 * Either may be absent.
 */
int
rconn_poll_quiet(const struct rconn *sub, const struct rconn *main_rc)
{
	struct pollfd	 pfd[2];
	int		 flags = 0;

	pfd[0].fd = sub != NULL && sub->c != NULL ? sub->c->fd : -1;
	pfd[0].events = POLLIN;
	pfd[1].fd = main_rc != NULL && main_rc->c != NULL ?
	    main_rc->c->fd : -1;
	pfd[1].events = POLLIN | POLLRDHUP;
	pfd[0].revents = pfd[1].revents = 0;
	if (poll(pfd, 2, 0) <= 0)
		return 0;
	if (pfd[0].revents != 0)
		flags |= RCONN_SUB_READABLE;
	if (pfd[1].revents != 0)
		flags |= RCONN_MAIN_READABLE;
	return flags;
}

/*
 * For a connection that only receives (a subscriber): hands every message
 * that has already arrived to fn, without waiting and without a round
 * trip: at most one read, and only when rconn_poll_quiet() found it
 * readable.  The number of messages, or -1 when the connection is gone
 * (dropped; the back-off runs).
 */
int
rconn_drain(struct rconn *rc, int readable,
    void (*fn)(void *, const redisReply *), void *arg)
{
	void		*r;
	int		 n = 0;

	if (rc == NULL || rc->c == NULL)
		return -1;
	if (readable && redisBufferRead(rc->c) != REDIS_OK) {
		/* closed under us, like a stale link: the next use reconnects */
		if (rconn_stale(rc, errno)) {
			rc->stale_reconnects++;
			redisFree(rc->c);
			rc->c = NULL;
			rc->proven = 0;
		} else
			rconn_drop(rc, rc->c->errstr[0] ? rc->c->errstr :
			    "subscriber connection lost");
		return -1;
	}
	for (;;) {
		if (redisGetReplyFromReader(rc->c, &r) != REDIS_OK) {
			rconn_drop(rc, "subscriber: protocol error");
			return -1;
		}
		if (r == NULL)
			return n;
		fn(arg, r);
		freeReplyObject(r);
		n++;
	}
}

/*
 * 1 when the last command failed after it was sent (the connection died
 * or timed out under it), so Redis may have run it; 0 when it failed
 * before reaching Redis (no connection, back-off) or did not fail.  A
 * caller whose command is not idempotent fails closed on 1 rather than
 * act as if Redis never saw it.
 */
int
rconn_unanswered(const struct rconn *rc)
{
	return rc != NULL && rc->unanswered;
}

void
rconn_stats(const struct rconn *rc, struct rconn_stats *st)
{
	st->connected = rc->c != NULL;
	st->failures = rc->failures;
	st->stale_reconnects = rc->stale_reconnects;
	st->backoff_ms = rc->backoff_ms;
	st->last_error = rc->error;
	st->sentinel = rc->cfg.nsentinels > 0;
	st->master = rc->master;
	st->master_changes = rc->master_changes;
}

/*
 * Points rc, a second connection (the client cache's subscriber), at the
 * server that leader is connected to, so that both talk to the same
 * master under Sentinel.  1 when rc's server changed (its connection, if
 * any, is closed: whatever it had received is gone), 0 when it already
 * pointed there or leader has nothing to follow (no Sentinel: both use
 * the URL; or leader not connected).
 */
int
rconn_follow(struct rconn *rc, const struct rconn *leader)
{
	struct rconn_url	*u = &rc->cfg.url;

	if (leader->cfg.nsentinels == 0 || leader->c == NULL ||
	    leader->cur.host[0] == '\0')
		return 0;
	rc->cfg.nsentinels = 0;		/* it goes where it is told */
	if (!u->is_unix && strcmp(u->host, leader->cur.host) == 0 &&
	    u->port == leader->cur.port)
		return 0;
	u->is_unix = 0;
	memcpy(u->host, leader->cur.host, sizeof(u->host));
	u->port = leader->cur.port;
	rc->cur = leader->cur;
	memcpy(rc->master, leader->master, sizeof(rc->master));
	if (rc->c != NULL) {
		redisFree(rc->c);
		rc->c = NULL;
	}
	rc->proven = 0;
	rc->pipe_queued = 0;
	rc->retry_at_ms = 0;	/* another server: its own chance at once */
	return 1;
}
