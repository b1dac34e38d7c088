/*
 * Request context: FastCGI params, the query string, the body read with a
 * bound, extra response headers, and ctx_redis(), the one way a handler
 * reaches Redis.  Replies themselves are built in reply.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/arena.h"
#include "http/body.h"
#include "http/ctx.h"

#define CTX_BODY_FIRST_READ	1024	/* bytes read before sizing a body */
#include "lib/log.h"
#include "lib/self.h"
#include "redis/rconn.h"

/*
 * Sets up ctx for the request just accepted in req.  request_id comes from
 * nginx ($request_id) when it passed one, else from the pid and seq, the
 * worker's request count.
 */
void
ctx_init(struct ctx *ctx, struct arena *arena, FCGX_Request *req,
    const struct ctx_deps *deps, unsigned long seq)
{
	const char	*v;

	memset(ctx, 0, sizeof(*ctx));
	ctx->arena = arena;
	ctx->req = req;
	ctx->http = deps->http;
	ctx->config = deps->config;
	ctx->users = deps->users;
	ctx->passlist = deps->passlist;
	ctx->scoreboard = deps->scoreboard;
	ctx->slot = deps->slot;
	ctx->rconn_ = deps->rconn;
	ctx->now = time(NULL);
	ctx->status = 200;
	if ((ctx->method = ctx_param(ctx, "REQUEST_METHOD")) == NULL)
		ctx->method = "GET";
	if ((ctx->path = ctx_param(ctx, "DOCUMENT_URI")) == NULL &&
	    (ctx->path = ctx_param(ctx, "SCRIPT_NAME")) == NULL)
		ctx->path = "/";
	if ((ctx->query = ctx_param(ctx, "QUERY_STRING")) == NULL)
		ctx->query = "";
	/* SPEC 2: CORS headers only for the configured exact origins */
	if ((v = ctx_param(ctx, "HTTP_ORIGIN")) != NULL &&
	    http_origin_allowed(ctx->http, v))
		ctx->origin = v;
	v = ctx_param(ctx, "REQUEST_ID");
	if (v != NULL && strlen(v) <= CTX_REQID_MAX && v[strspn(v,
	    "0123456789abcdefABCDEF-")] == '\0')
		memcpy(ctx->request_id, v, strlen(v) + 1);
	else				/* not behind our nginx */
		snprintf(ctx->request_id, sizeof(ctx->request_id), "%lx-%lx",
		    (unsigned long)self_pid(), seq);
}

/* A FastCGI param (HTTP_* for headers), or NULL; lives until the reply. */
const char *
ctx_param(const struct ctx *ctx, const char *name)
{
	return FCGX_GetParam(name, ctx->req->envp);
}

/*
 * Looks query parameter name up: 1 with *value (decoded, "" for a bare
 * name, in the arena), 0 when absent, -1 when the query is not valid
 * urlencoded UTF-8 or names a parameter twice (the body parser's rules: a
 * query is the same format), so that a caller can tell "absent" from
 * "unreadable" (issue 13.4).  *value is NULL unless 1.
 */
int
ctx_query_lookup(struct ctx *ctx, const char *name, const char **value)
{
	struct body	 b;

	*value = NULL;
	if (ctx->query[0] == '\0')
		return 0;
	if (body_parse(ctx->arena, "application/x-www-form-urlencoded",
	    ctx->query, strlen(ctx->query), &b) != BODY_OK)
		return -1;
	*value = body_get(&b, name);
	return *value != NULL;
}

/*
 * The decoded value of query parameter name ("" for a bare name), or NULL
 * when absent or when the query does not parse (ctx_query_lookup()).
 * Lives in the arena.
 */
const char *
ctx_query_get(struct ctx *ctx, const char *name)
{
	const char	*v;

	return ctx_query_lookup(ctx, name, &v) == 1 ? v : NULL;
}

/*
 * Reads the request body, never more than body_limit + 1 bytes (SPEC 2).
 * Returns 0 with *data (NUL-terminated, in the arena) and *len, or the
 * HTTP status to answer: 413 when the body is over the limit, 400 when it
 * is shorter than its CONTENT_LENGTH or the length is not a number.
 */
/*
 * A body without CONTENT_LENGTH (a FastCGI client other than nginx, which
 * always sends one): read until the stream ends, never more than limit + 1
 * bytes, so an oversized one is a 413 too.  A small first read keeps a
 * body-less POST from reserving the whole limit.
 */
static int
ctx_read_unsized(struct ctx *ctx, size_t limit, const char **data,
    size_t *len)
{
	char	 first[CTX_BODY_FIRST_READ], *buf;
	int	 n, m;

	if ((n = FCGX_GetStr(first, sizeof(first), ctx->req->in)) < 0)
		return 400;
	if ((size_t)n > limit)
		return 413;
	buf = arena_alloc(ctx->arena, (size_t)n < sizeof(first) ?
	    (size_t)n + 1 : limit + 2);
	memcpy(buf, first, (size_t)n);
	if ((size_t)n == sizeof(first)) {
		if ((m = FCGX_GetStr(buf + n, (int)(limit + 1 - (size_t)n),
		    ctx->req->in)) < 0)
			return 400;
		n += m;
		if ((size_t)n > limit)
			return 413;
	}
	buf[n] = '\0';
	*data = buf;
	*len = (size_t)n;
	return 0;
}

int
ctx_read_body(struct ctx *ctx, const char **data, size_t *len)
{
	size_t		 limit = ctx->http->body_limit;
	const char	*cl = ctx_param(ctx, "CONTENT_LENGTH");
	unsigned long long declared = 0;
	char		*buf, *end;
	int		 n;

	*data = "";
	*len = 0;
	if (cl != NULL && *cl != '\0') {
		errno = 0;
		declared = strtoull(cl, &end, 10);
		if (errno != 0 || *end != '\0' || *cl == '-')
			return 400;
	}
	if (declared > limit)
		return 413;
	if (cl == NULL || *cl == '\0')
		return ctx_read_unsized(ctx, limit, data, len);
	if (declared == 0)
		return 0;
	buf = arena_alloc(ctx->arena, (size_t)declared + 1);
	n = FCGX_GetStr(buf, (int)declared, ctx->req->in);
	if (n < 0 || (size_t)n != declared)
		return 400;
	buf[n] = '\0';
	*data = buf;
	*len = (size_t)n;
	return 0;
}

/*
 * The Redis connection, connecting lazily on first use: NULL while Redis
 * is down or the back-off after a failure has not elapsed (SPEC 3).  The
 * connection belongs to the worker and outlives the request.
 */
struct rconn *
ctx_redis(struct ctx *ctx)
{
	return rconn_get(ctx->rconn_);
}

/*
 * Adds "name: value" to the response headers.  0, or -1 when the bounded
 * header buffer is full or the value would split the header.
 */
int
ctx_add_header(struct ctx *ctx, const char *name, const char *value)
{
	size_t	 room = sizeof(ctx->headers) - ctx->headers_len;
	int	 n;

	if (strpbrk(value, "\r\n") != NULL)
		return -1;
	n = snprintf(ctx->headers + ctx->headers_len, room, "%s: %s\r\n",
	    name, value);
	if (n < 0 || (size_t)n >= room) {
		ctx->headers[ctx->headers_len] = '\0';
		return -1;
	}
	ctx->headers_len += (size_t)n;
	return 0;
}

/* Writes raw response bytes: 0, or -1 when the client has gone. */
int
ctx_write(struct ctx *ctx, const char *buf, size_t len)
{
	if (len > 0 && FCGX_PutStr(buf, (int)len, ctx->req->out) != (int)len)
		return -1;
	return 0;
}

/* 1 when origin is one of cors_origins (exact match), else 0. */
int
http_origin_allowed(const struct http_config *http, const char *origin)
{
	size_t	 i;

	for (i = 0; i < http->ncors_origins; i++)
		if (strcmp(http->cors_origins[i], origin) == 0)
			return 1;
	return 0;
}
