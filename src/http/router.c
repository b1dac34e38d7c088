/*
 * Dispatch: the matching route's handler, else 404, 405 with Allow, or
 * the CORS preflight answer.  The handlers' tables are listed here; the
 * prefixes nginx routes to us are in conf/nginx.conf.in.
 */
#include <stdio.h>
#include <string.h>

#include "http/ctx.h"
#include "http/reply.h"
#include "http/router.h"

extern const struct route handle_health_routes[];
extern const struct route handle_redis_test_routes[];
extern const struct route handle_auth_routes[];
extern const struct route handle_status_routes[];
extern const struct route handle_email_routes[];

const struct route *const route_tables[] = {
	handle_health_routes,
	handle_redis_test_routes,
	handle_auth_routes,
	handle_status_routes,
	handle_email_routes,
	NULL
};

static void
allow_add(char *allow, size_t size, const char *method)
{
	size_t	 len = strlen(allow);

	if (strstr(allow, method) != NULL)	/* methods are distinct words */
		return;
	snprintf(allow + len, size - len, "%s%s", len ? ", " : "", method);
}

/*
 * The route for method and path, or NULL.  When the path exists under
 * other methods, allow receives them ("GET, OPTIONS"); else it is "".
 */
const struct route *
route_find(const struct route *const *tables, const char *method,
    const char *path, char *allow, size_t allowlen)
{
	const struct route	*r, *const *t;

	allow[0] = '\0';
	for (t = tables; *t != NULL; t++)
		for (r = *t; r->path != NULL; r++) {
			if (strcmp(r->path, path) != 0)
				continue;
			if (strcmp(r->method, method) == 0)
				return r;
			allow_add(allow, allowlen, r->method);
		}
	if (allow[0] != '\0')
		allow_add(allow, allowlen, "OPTIONS");
	return NULL;
}

/* CORS preflight (SPEC 2): 204, and the grants only for allowed origins */
static int
preflight(struct ctx *ctx, const char *allow)
{
	char	 age[16];

	if (ctx->origin != NULL) {
		snprintf(age, sizeof(age), "%d", ctx->http->cors_max_age);
		ctx_add_header(ctx, "Access-Control-Allow-Methods", allow);
		ctx_add_header(ctx, "Access-Control-Allow-Headers",
		    "Authorization, Content-Type");
		ctx_add_header(ctx, "Access-Control-Max-Age", age);
	}
	return reply_empty(ctx, 204);
}

/* Runs the handler for ctx's request: the handler's result, 0 or -1. */
int
route_dispatch(struct ctx *ctx, const struct route *const *tables)
{
	const struct route	*r;
	char			 allow[64];

	if ((r = route_find(tables, ctx->method, ctx->path, allow,
	    sizeof(allow))) != NULL)
		return r->handler(ctx);
	if (allow[0] == '\0')
		return reply_error(ctx, 404, "Not Found");
	if (strcmp(ctx->method, "OPTIONS") == 0)
		return preflight(ctx, allow);
	ctx_add_header(ctx, "Allow", allow);
	return reply_error(ctx, 405, "Method Not Allowed");
}
