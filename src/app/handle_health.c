/*
 * GET /health: liveness with the state of each dependency, and readiness
 * with ?ready=1 (SPEC 2).  The Redis read/write test uses a key of this
 * worker's own, so concurrent checks never see each other's writes, and
 * sends SET, GET and DEL pipelined in one round trip.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "lib/arena.h"
#include "http/boolean.h"
#include "app/config.h"
#include "http/ctx.h"
#include "lib/jsonh.h"
#include "lib/self.h"
#include "redis/rconn.h"
#include "http/reply.h"
#include "http/router.h"
#include "pool/scoreboard.h"
#include "store/users.h"

#define HEALTH_KEY_TTL_MS	10000
#define HEALTH_MSG_MAX		256
#define HEALTH_ERROR_LOG_MAX	160	/* bytes of a Redis error shown */

static int	handle_health(struct ctx *);

const struct route handle_health_routes[] = {
	{ "GET", "/health", handle_health },
	{ NULL, NULL, NULL }
};

/* This worker's private key: random, made once per process. */
static const char *
health_key(const struct config *cfg)
{
	static char	 key[128];
	static pid_t	 owner;
	unsigned char	 id[8];
	char		 hex[sizeof(id) * 2 + 1];

	if (owner != self_pid()) {
		randombytes_buf(id, sizeof(id));
		sodium_bin2hex(hex, sizeof(hex), id, sizeof(id));
		snprintf(key, sizeof(key), "%shealth:%s", cfg->redis_prefix,
		    hex);
		owner = self_pid();
	}
	return key;
}

/*
 * 1 when the pipelined SET/GET/DEL round trip worked (*latency_ms set), 0
 * when Redis answered wrong or with an error, -1 when it was unreachable;
 * a stale connection is replaced and the pipeline resent by rconn.
 */
static int
redis_check(struct ctx *ctx, struct rconn *rc, double *latency_ms,
    char *msg, size_t msglen)
{
	const char	*key = health_key(ctx->config);
	redisReply	*set, *get = NULL, *del = NULL, *err;
	struct timespec	 a, b;
	int		 ok;

	clock_gettime(CLOCK_MONOTONIC, &a);
	if (rconn_append(rc, "SET %s %s PX %d", key, ctx->request_id,
	    HEALTH_KEY_TTL_MS) == -1 ||
	    rconn_append(rc, "GET %s", key) == -1 ||
	    rconn_append(rc, "DEL %s", key) == -1 ||
	    (set = rconn_reply(rc)) == NULL) {
		snprintf(msg, msglen, "Redis connection failed");
		return -1;
	}
	if ((get = rconn_reply(rc)) == NULL || (del = rconn_reply(rc)) ==
	    NULL) {
		freeReplyObject(set);
		if (get != NULL)
			freeReplyObject(get);
		snprintf(msg, msglen, "Redis connection failed");
		return -1;
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	*latency_ms = (double)(b.tv_sec - a.tv_sec) * 1e3 +
	    (double)(b.tv_nsec - a.tv_nsec) / 1e6;
	ok = set->type == REDIS_REPLY_STATUS && get->type ==
	    REDIS_REPLY_STRING && strcmp(get->str, ctx->request_id) == 0;
	if ((err = set)->type == REDIS_REPLY_ERROR ||
	    (err = get)->type == REDIS_REPLY_ERROR ||
	    (err = del)->type == REDIS_REPLY_ERROR)
		/* up and refusing (LOADING, NOPERM, OOM...): an error */
		snprintf(msg, msglen, "Redis answered with an error: %.*s",
		    (int)(err->len < HEALTH_ERROR_LOG_MAX ? err->len :
		    HEALTH_ERROR_LOG_MAX), err->str);
	else if (!ok)
		snprintf(msg, msglen, "read/write test failed: value differs");
	freeReplyObject(set);
	freeReplyObject(get);
	freeReplyObject(del);
	return ok;
}

static int
add_redis(struct ctx *ctx, struct json_object *o)
{
	struct json_object	*r = jsonh_object();
	struct rconn		*rc = ctx_redis(ctx);
	struct rconn_stats	 st;
	char			 msg[HEALTH_MSG_MAX] = "";
	double			 latency = 0;
	int			 ok = -1;

	if (rc != NULL)
		ok = redis_check(ctx, rc, &latency, msg, sizeof(msg));
	else {
		rconn_stats(ctx->rconn_, &st);
		snprintf(msg, sizeof(msg), "Redis unavailable: %s",
		    st.last_error[0] ? st.last_error : "not connected");
	}
	jsonh_add_str(r, "status", ok == 1 ? "connected" : "error");
	jsonh_add_str(r, "message", ok == 1 ? "Redis connection is healthy" :
	    msg);
	jsonh_add_str(r, "read_write_test", ok == 1 ? "passed" : "failed");
	jsonh_add(r, "latency_ms", ok != 1 ? NULL :
	    json_object_new_double_s(latency,
	    arena_printf(ctx->arena, "%.3f", latency)));
	/* SPEC 5: which server this worker uses, found how */
	rconn_stats(ctx->rconn_, &st);
	jsonh_add_str(r, "mode", st.sentinel ? "sentinel" : "direct");
	jsonh_add(r, "master", st.master[0] == '\0' ? NULL :
	    json_object_new_string(st.master));
	jsonh_add(o, "redis", r);
	return ok == 1;
}

static int
add_database(struct ctx *ctx, struct json_object *o)
{
	struct json_object	*d = jsonh_object();
	char			 msg[HEALTH_MSG_MAX];
	int			 ok;

	if (ctx->users == NULL) {
		snprintf(msg, sizeof(msg), "database could not be opened");
		ok = 0;
	} else
		ok = users_ping(ctx->users, msg, sizeof(msg)) == 0;
	jsonh_add_str(d, "status", ok ? "connected" : "error");
	jsonh_add_str(d, "message", ok ? "Database connection is healthy" :
	    msg);
	jsonh_add(o, "database", d);
	return ok;
}

/* The pool's state (issue 4): degraded while workers crash-loop. */
static int
add_pool(struct ctx *ctx, struct json_object *o)
{
	const struct scoreboard	*sb = ctx->scoreboard;
	struct json_object	*p;
	int			 i, live = 0;

	if (sb == NULL)
		return 1;
	for (i = 0; i < SCOREBOARD_SLOTS; i++)
		if (sb->slots[i].pid != 0 && sb->slots[i].sidecar == 0)
			live++;
	p = jsonh_object();
	jsonh_add_str(p, "status", sb->crash_loop ? "degraded" : "ok");
	jsonh_add_int(p, "workers", live);
	jsonh_add_int(p, "workers_wanted", sb->workers_wanted);
	jsonh_add(p, "crash_loop", json_object_new_boolean(sb->crash_loop));
	jsonh_add(o, "pool", p);
	return !sb->crash_loop;
}

/* GET /health[?ready=1] (SPEC 2). */
static int
handle_health(struct ctx *ctx)
{
	struct json_object	*o = jsonh_object();
	struct reply_field_error e;
	int			 healthy, rc, ready;

	arena_defer(ctx->arena, jsonh_put, o);
	/* issue 13.4: the same booleans as logout's "all" */
	if (boolean_param(ctx, NULL, "ready", &ready, &e) == -1)
		return reply_invalid(ctx, &e, 1);
	jsonh_add_str(o, "status", "ok");	/* placeholder keeps key order */
	healthy = add_redis(ctx, o);
	healthy &= add_database(ctx, o);
	healthy &= add_pool(ctx, o);
	jsonh_add_str(o, "status", healthy ? "ok" : "degraded");
	jsonh_add_time(o, "timestamp", ctx->now);
	rc = reply_json(ctx, !healthy && ready ? 503 : 200, o);
	return rc;
}
