/*
 * GET /api/redis-test: runs the cache's own operations (a plain SET/GET,
 * then a session stored and revoked through session.c) under a private
 * key namespace, so it never touches real users' keys (SPEC 2).  It can
 * be switched off with redis_test_enabled = false.
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "lib/arena.h"
#include "app/config.h"
#include "http/ctx.h"
#include "lib/jsonh.h"
#include "redis/rconn.h"
#include "http/reply.h"
#include "http/router.h"
#include "auth/session.h"

#define REDIS_TEST_TTL		30	/* seconds: the keys expire anyway */
#define REDIS_TEST_UID		1	/* inside the private namespace */

static int	handle_redis_test(struct ctx *);

const struct route handle_redis_test_routes[] = {
	{ "GET", "/api/redis-test", handle_redis_test },
	{ NULL, NULL, NULL }
};

static struct json_object *
result(const char *status, const char *message)
{
	struct json_object	*r = jsonh_object();

	jsonh_add_str(r, "status", status);
	jsonh_add_str(r, "message", message);
	return r;
}

static struct json_object *
basic_set_get(struct ctx *ctx, const char *ns)
{
	const char	*key = arena_printf(ctx->arena, "%sbasic", ns);
	redisReply	*r;
	int		 ok;

	if ((r = rconn_command(ctx_redis(ctx), "SET %s %s EX %d", key,
	    ctx->request_id, REDIS_TEST_TTL)) == NULL)
		return result("error", "Redis unavailable");
	freeReplyObject(r);
	if ((r = rconn_command(ctx_redis(ctx), "GET %s", key)) == NULL)
		return result("error", "Redis unavailable");
	ok = r->type == REDIS_REPLY_STRING &&
	    strcmp(r->str, ctx->request_id) == 0;
	freeReplyObject(r);
	if ((r = rconn_command(ctx_redis(ctx), "DEL %s", key)) != NULL)
		freeReplyObject(r);
	return ok ? result("success", "SET then GET returned the value") :
	    result("failed", "GET did not return the value SET");
}

static const char *
session_word(enum session_status st)
{
	switch (st) {
	case SESSION_VALID: return "valid";
	case SESSION_REVOKED: return "revoked";
	default: return "unavailable";
	}
}

static struct json_object *
token_storage(struct ctx *ctx, const struct session_config *sc,
    const char *sid)
{
	enum session_status	 st;

	if (session_create(ctx_redis(ctx), sc, REDIS_TEST_UID, sid,
	    "redis-test-refresh") != SESSION_VALID)
		return result("error", "Redis unavailable");
	st = session_check(ctx_redis(ctx), sc, REDIS_TEST_UID, sid, NULL, 0);
	if (st == SESSION_UNAVAILABLE || st == SESSION_ERROR)
		return result("error", st == SESSION_ERROR ?
		    "Redis answered with an error" : "Redis unavailable");
	return st == SESSION_VALID ?
	    result("success", "stored session is valid") :
	    result("failed", arena_printf(ctx->arena, "stored session is %s",
	    session_word(st)));
}

static struct json_object *
token_revocation(struct ctx *ctx, const struct session_config *sc,
    const char *sid)
{
	enum session_status	 st;

	if (session_revoke(ctx_redis(ctx), sc, REDIS_TEST_UID, sid) == -1)
		return result("error", "Redis unavailable");
	st = session_check(ctx_redis(ctx), sc, REDIS_TEST_UID, sid, NULL, 0);
	if (st == SESSION_UNAVAILABLE || st == SESSION_ERROR)
		return result("error", st == SESSION_ERROR ?
		    "Redis answered with an error" : "Redis unavailable");
	return st == SESSION_REVOKED ?
	    result("success", "revoked session is refused") :
	    result("failed", arena_printf(ctx->arena, "revoked session is %s",
	    session_word(st)));
}

/* GET /api/redis-test (SPEC 2). */
static int
handle_redis_test(struct ctx *ctx)
{
	struct json_object	*o, *res;
	struct session_config	 sc;
	unsigned char		 id[8];
	char			 hex[sizeof(id) * 2 + 1];
	const char		*ns;

	if (!ctx->config->redis_test_enabled)
		return reply_error(ctx, 404, "Not Found");
	randombytes_buf(id, sizeof(id));
	sodium_bin2hex(hex, sizeof(hex), id, sizeof(id));
	ns = arena_printf(ctx->arena, "%sredis-test:%s:",
	    ctx->config->redis_prefix, hex);
	memset(&sc, 0, sizeof(sc));	/* no client cache, no pool counter */
	sc.prefix = ns;
	sc.refresh_ttl = REDIS_TEST_TTL;
	o = jsonh_object();
	arena_defer(ctx->arena, jsonh_put, o);
	res = jsonh_object();
	jsonh_add(res, "basic_set_get", basic_set_get(ctx, ns));
	jsonh_add(res, "token_storage", token_storage(ctx, &sc, hex));
	jsonh_add(res, "token_revocation", token_revocation(ctx, &sc, hex));
	jsonh_add(o, "redis_test_results", res);
	jsonh_add_time(o, "timestamp", ctx->now);
	return reply_json(ctx, 200, o);
}
