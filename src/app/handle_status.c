/*
 * GET /status: the pool as the master and its workers see it, in
 * PHP-FPM's spirit (issue 4): JSON by default, Prometheus text with
 * ?format=prometheus.  Read from the shared scoreboard; nginx exposes it
 * to 127.0.0.1 only.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "app/app.h"
#include "lib/arena.h"
#include "app/config.h"
#include "http/ctx.h"
#include "lib/jsonh.h"
#include "http/reply.h"
#include "http/router.h"
#include "pool/scoreboard.h"
#include "app/mail_app.h"
#include "mail/mailq.h"
#include "redis/rconn.h"

#define STATUS_TEXT_MAX		(256 * 1024)
#define PROMETHEUS_TYPE		"text/plain; version=0.0.4; charset=utf-8"

static int	handle_status(struct ctx *);

const struct route handle_status_routes[] = {
	{ "GET", "/status", handle_status },
	{ NULL, NULL, NULL }
};

struct pool_totals {
	unsigned long	 accepted;
	int		 busy, idle, starting, stopping, live;
	long		 kept;		/* FastCGI connections open */
};

static const char *
state_name(int state)
{
	switch (state) {
	case SLOT_STARTING: return "starting";
	case SLOT_IDLE: return "idle";
	case SLOT_BUSY: return "busy";
	case SLOT_STOPPING: return "stopping";
	default: return "free";
	}
}

static void
totals(const struct scoreboard *sb, struct pool_totals *t)
{
	const struct slot	*s;
	int			 i;

	memset(t, 0, sizeof(*t));
	t->accepted = sb->retired_requests;
	for (i = 0; i < SCOREBOARD_SLOTS; i++) {
		s = &sb->slots[i];
		if (s->pid == 0 || s->sidecar != 0)
			continue;
		t->live++;
		t->accepted += s->requests;
		t->kept += s->kept_connections;
		switch (s->state) {
		case SLOT_BUSY: t->busy++; t->accepted++; break;
		case SLOT_IDLE: t->idle++; break;
		case SLOT_STARTING: t->starting++; break;
		default: t->stopping++; break;
		}
	}
}

static struct json_object *
worker_json(const struct slot *s, long long now_ms)
{
	struct json_object	*w = jsonh_object(), *r, *redis;

	jsonh_add_int(w, "pid", s->pid);
	jsonh_add_str(w, "state", state_name(s->state));
	jsonh_add_int(w, "requests", (long long)s->requests);
	jsonh_add_int(w, "kept_connections", s->kept_connections);
	jsonh_add_int(w, "verify_requests", (long long)app_counters_of(s)->verify_requests);
	jsonh_add_int(w, "uptime_ms", now_ms - s->started_ms);
	r = NULL;
	if (s->state == SLOT_BUSY) {
		r = jsonh_object();
		jsonh_add_str(r, "id", s->request_id);
		jsonh_add_str(r, "method", s->method);
		jsonh_add_str(r, "path", s->path);
		jsonh_add_int(r, "duration_ms", now_ms - s->busy_since_ms);
	}
	jsonh_add(w, "current_request", r);
	redis = jsonh_object();
	jsonh_add(redis, "connected", json_object_new_boolean(
	    app_counters_of(s)->redis_connected));
	jsonh_add_int(redis, "failures", (long long)app_counters_of(s)->redis_failures);
	jsonh_add_int(redis, "backoff_ms", app_counters_of(s)->redis_backoff_ms);
	jsonh_add_int(redis, "stale_reconnects",
	    (long long)app_counters_of(s)->redis_stale_reconnects);
	jsonh_add_int(redis, "signature_fallbacks",
	    (long long)app_counters_of(s)->signature_fallbacks);
	jsonh_add_int(redis, "session_cache_hits",
	    (long long)app_counters_of(s)->session_cache_hits);
	jsonh_add(w, "redis", redis);
	return w;
}

/*
 * The mail queue as Redis holds it now (issue 15), shared by every
 * sender: null while Redis cannot be read.
 */
static struct json_object *
mail_json(struct ctx *ctx)
{
	struct mailq_config	 qc;
	struct mailq_depth	 d;
	struct json_object	*m;
	int			 rc;

	mail_app_queue_config(ctx->config, &qc);
	rc = mailq_depth(ctx_redis(ctx), &qc, &d);
	explicit_bzero(&qc, sizeof(qc));
	if (rc == -1)
		return NULL;
	m = jsonh_object();
	jsonh_add_int(m, "queue_depth", d.queued + d.retrying);
	jsonh_add_int(m, "queued", d.queued);
	jsonh_add_int(m, "sending", d.pending);
	jsonh_add_int(m, "waiting_retry", d.retrying);
	jsonh_add_int(m, "dead_letters", d.dead);
	jsonh_add_int(m, "sent", d.sent);
	jsonh_add_int(m, "retried", d.retried);
	jsonh_add_int(m, "dead", d.dead_total);
	return m;
}

/*
 * The Redis server that the worker answering uses (SPEC 5): under
 * Sentinel, the master it last found; every worker finds its own.
 */
static struct json_object *
redis_json(struct ctx *ctx)
{
	struct json_object	*r;
	struct rconn_stats	 st;

	if (ctx->rconn_ == NULL)
		return NULL;
	rconn_stats(ctx->rconn_, &st);
	r = jsonh_object();
	jsonh_add_str(r, "mode", st.sentinel ? "sentinel" : "direct");
	jsonh_add(r, "master", st.master[0] == '\0' ? NULL :
	    json_object_new_string(st.master));
	jsonh_add(r, "connected", json_object_new_boolean(st.connected));
	jsonh_add_int(r, "master_changes", (long long)st.master_changes);
	return r;
}

static int
status_json(struct ctx *ctx, const struct scoreboard *sb)
{
	struct json_object	*o = jsonh_object(), *pool, *exits, *workers;
	struct pool_totals	 t;
	long long		 now_ms = scoreboard_now_ms();
	int			 i;

	arena_defer(ctx->arena, jsonh_put, o);
	totals(sb, &t);
	pool = jsonh_object();
	jsonh_add_time(pool, "started_at", (time_t)sb->started_at);
	jsonh_add_int(pool, "uptime_s", (long long)ctx->now - sb->started_at);
	jsonh_add_int(pool, "accepted_requests", (long long)t.accepted);
	jsonh_add_int(pool, "workers_wanted", sb->workers_wanted);
	jsonh_add_int(pool, "workers", t.live);
	jsonh_add_int(pool, "active_workers", t.busy);
	jsonh_add_int(pool, "idle_workers", t.idle);
	jsonh_add_int(pool, "kept_connections", t.kept);
	jsonh_add(pool, "crash_loop", json_object_new_boolean(sb->crash_loop));
	exits = jsonh_object();
	for (i = 0; i < EXIT_CAUSES; i++)
		jsonh_add_int(exits, scoreboard_exit_name(i),
		    (long long)sb->exits[i]);
	jsonh_add(pool, "worker_exits", exits);
	jsonh_add(o, "pool", pool);
	if ((workers = json_object_new_array()) == NULL)
		return -1;
	for (i = 0; i < SCOREBOARD_SLOTS; i++)
		if (sb->slots[i].pid != 0 && sb->slots[i].sidecar == 0)
			json_object_array_add(workers,
			    worker_json(&sb->slots[i], now_ms));
	jsonh_add(o, "workers", workers);
	jsonh_add(o, "mail", mail_json(ctx));
	jsonh_add(o, "redis", redis_json(ctx));
	jsonh_add_time(o, "timestamp", ctx->now);
	return reply_json(ctx, 200, o);
}

/* Appends to a bounded text buffer; the caller checks *len at the end. */
static void
emit(char *buf, size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
emit(char *buf, size_t *len, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	if (*len >= STATUS_TEXT_MAX)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *len, STATUS_TEXT_MAX - *len, fmt, ap);
	va_end(ap);
	*len = n < 0 ? STATUS_TEXT_MAX : *len + (size_t)n;
}

/* The mail queue's gauges and counters; none while Redis is away. */
static void
status_prometheus_mail(struct ctx *ctx, char *buf, size_t *len)
{
	struct mailq_config	 qc;
	struct mailq_depth	 d;
	int			 rc;

	mail_app_queue_config(ctx->config, &qc);
	rc = mailq_depth(ctx_redis(ctx), &qc, &d);
	explicit_bzero(&qc, sizeof(qc));
	if (rc == -1)
		return;
	emit(buf, len, "# HELP mockpie_mail_queue_depth Mail not sent yet "
	    "(queued or waiting for a retry).\n# TYPE "
	    "mockpie_mail_queue_depth gauge\nmockpie_mail_queue_depth %lld\n",
	    d.queued + d.retrying);
	emit(buf, len, "# HELP mockpie_mail_total Mail by outcome, every "
	    "sender.\n# TYPE mockpie_mail_total counter\n"
	    "mockpie_mail_total{outcome=\"sent\"} %lld\n"
	    "mockpie_mail_total{outcome=\"retried\"} %lld\n"
	    "mockpie_mail_total{outcome=\"dead\"} %lld\n",
	    d.sent, d.retried, d.dead_total);
}

static int
status_prometheus(struct ctx *ctx, const struct scoreboard *sb)
{
	char			*buf = arena_alloc(ctx->arena, STATUS_TEXT_MAX);
	const struct slot	*s;
	struct pool_totals	 t;
	size_t			 len = 0;
	int			 i;

	totals(sb, &t);
	emit(buf, &len, "# HELP mockpie_requests_total Requests accepted "
	    "by the pool.\n# TYPE mockpie_requests_total counter\n"
	    "mockpie_requests_total %lu\n", t.accepted);
	emit(buf, &len, "# HELP mockpie_uptime_seconds Seconds since the "
	    "master started.\n# TYPE mockpie_uptime_seconds gauge\n"
	    "mockpie_uptime_seconds %lld\n",
	    (long long)ctx->now - sb->started_at);
	emit(buf, &len, "# HELP mockpie_workers Pool workers by state.\n"
	    "# TYPE mockpie_workers gauge\n"
	    "mockpie_workers{state=\"busy\"} %d\n"
	    "mockpie_workers{state=\"idle\"} %d\n"
	    "mockpie_workers{state=\"starting\"} %d\n"
	    "mockpie_workers{state=\"stopping\"} %d\n",
	    t.busy, t.idle, t.starting, t.stopping);
	emit(buf, &len, "# HELP mockpie_workers_wanted Configured workers.\n"
	    "# TYPE mockpie_workers_wanted gauge\nmockpie_workers_wanted %d\n",
	    sb->workers_wanted);
	emit(buf, &len, "# HELP mockpie_crash_loop 1 while respawning is "
	    "backed off.\n# TYPE mockpie_crash_loop gauge\n"
	    "mockpie_crash_loop %d\n", sb->crash_loop ? 1 : 0);
	emit(buf, &len, "# HELP mockpie_worker_exits_total Worker exits by "
	    "cause.\n# TYPE mockpie_worker_exits_total counter\n");
	for (i = 0; i < EXIT_CAUSES; i++)
		emit(buf, &len, "mockpie_worker_exits_total{cause=\"%s\"} %lu\n",
		    scoreboard_exit_name(i), sb->exits[i]);
	emit(buf, &len, "# HELP mockpie_worker_requests_total Requests "
	    "served per worker.\n# TYPE mockpie_worker_requests_total "
	    "counter\n");
	for (i = 0; i < SCOREBOARD_SLOTS; i++)
		if ((s = &sb->slots[i])->pid != 0 && s->sidecar == 0)
			emit(buf, &len, "mockpie_worker_requests_total"
			    "{pid=\"%ld\"} %lu\n", (long)s->pid, s->requests);
	emit(buf, &len, "# HELP mockpie_worker_kept_connections FastCGI "
	    "connections the worker keeps open.\n# TYPE "
	    "mockpie_worker_kept_connections gauge\n");
	for (i = 0; i < SCOREBOARD_SLOTS; i++)
		if ((s = &sb->slots[i])->pid != 0 && s->sidecar == 0)
			emit(buf, &len, "mockpie_worker_kept_connections"
			    "{pid=\"%ld\"} %d\n", (long)s->pid,
			    s->kept_connections);
	emit(buf, &len, "# HELP mockpie_verify_requests_total GET /auth/verify"
	    " (nginx auth_request) served per worker.\n# TYPE "
	    "mockpie_verify_requests_total counter\n");
	for (i = 0; i < SCOREBOARD_SLOTS; i++)
		if ((s = &sb->slots[i])->pid != 0 && s->sidecar == 0)
			emit(buf, &len, "mockpie_verify_requests_total"
			    "{pid=\"%ld\"} %lu\n", (long)s->pid,
			    app_counters_of(s)->verify_requests);
	emit(buf, &len, "# HELP mockpie_redis_connected 1 when the worker's "
	    "Redis handle is connected.\n# TYPE mockpie_redis_connected "
	    "gauge\n");
	for (i = 0; i < SCOREBOARD_SLOTS; i++)
		if ((s = &sb->slots[i])->pid != 0 && s->sidecar == 0)
			emit(buf, &len, "mockpie_redis_connected{pid=\"%ld\"} "
			    "%d\n", (long)s->pid, app_counters_of(s)->redis_connected ? 1 : 0);
	emit(buf, &len, "# HELP mockpie_redis_failures_total Redis connect "
	    "or command failures per worker.\n# TYPE "
	    "mockpie_redis_failures_total counter\n");
	for (i = 0; i < SCOREBOARD_SLOTS; i++)
		if ((s = &sb->slots[i])->pid != 0 && s->sidecar == 0)
			emit(buf, &len, "mockpie_redis_failures_total"
			    "{pid=\"%ld\"} %lu\n", (long)s->pid,
			    app_counters_of(s)->redis_failures);
	emit(buf, &len, "# HELP mockpie_redis_stale_reconnects_total Kept "
	    "Redis connections found closed and replaced at once (not "
	    "outages).\n# TYPE mockpie_redis_stale_reconnects_total "
	    "counter\n");
	for (i = 0; i < SCOREBOARD_SLOTS; i++)
		if ((s = &sb->slots[i])->pid != 0 && s->sidecar == 0)
			emit(buf, &len, "mockpie_redis_stale_reconnects_total"
			    "{pid=\"%ld\"} %lu\n", (long)s->pid,
			    app_counters_of(s)->redis_stale_reconnects);
	emit(buf, &len, "# HELP mockpie_signature_fallbacks_total Requests "
	    "answered on the token's signature alone while Redis was "
	    "unreachable.\n# TYPE mockpie_signature_fallbacks_total "
	    "counter\n");
	for (i = 0; i < SCOREBOARD_SLOTS; i++)
		if ((s = &sb->slots[i])->pid != 0 && s->sidecar == 0)
			emit(buf, &len, "mockpie_signature_fallbacks_total"
			    "{pid=\"%ld\"} %lu\n", (long)s->pid,
			    app_counters_of(s)->signature_fallbacks);
	status_prometheus_mail(ctx, buf, &len);
	if (len >= STATUS_TEXT_MAX)
		return -1;
	return reply_typed(ctx, 200, PROMETHEUS_TYPE, buf, len);
}

/* GET /status[?format=prometheus] (issue 4). */
static int
handle_status(struct ctx *ctx)
{
	const char	*format = ctx_query_get(ctx, "format");

	if (!ctx->config->status_enabled || ctx->scoreboard == NULL)
		return reply_error(ctx, 404, "Not Found");
	if (format != NULL && strcmp(format, "prometheus") == 0)
		return status_prometheus(ctx, ctx->scoreboard);
	if (format != NULL && strcmp(format, "json") != 0)
		return reply_error(ctx, 400, "format must be json or "
		    "prometheus");
	return status_json(ctx, ctx->scoreboard);
}
