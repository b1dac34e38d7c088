/*
 * The request context: built by the worker for each accepted request, it
 * holds the FastCGI params, the bounded body, the response being built and
 * the request's dependencies.  It lives in the worker's arena.
 */
#ifndef MOCKPIE_CTX_H
#define MOCKPIE_CTX_H

#include <stddef.h>
#include <time.h>

#include <fcgiapp.h>

struct arena;
struct config;
struct body;
struct passlist;
struct rconn;
struct scoreboard;
struct slot;
struct users;

#define CTX_REQID_MAX		32
#define CTX_HEADERS_MAX		1024	/* extra response headers */
#define HTTP_ORIGINS_MAX	16

/* The HTTP layer's settings, part of the application's configuration. */
struct http_config {
	size_t			 body_limit;	/* bytes, SPEC 2 */
	char			*cors_origins[HTTP_ORIGINS_MAX];
	size_t			 ncors_origins;
	int			 cors_max_age;	/* s */
};

/*
 * What a worker lends each request; owned by the worker.  config, users,
 * passlist and the pool's scoreboard are the handlers' business, carried
 * here untouched.
 */
struct ctx_deps {
	const struct http_config *http;
	const struct config	*config;
	struct rconn		*rconn;
	struct users		*users;
	const struct passlist	*passlist;
	struct scoreboard	*scoreboard;	/* NULL outside the pool */
	struct slot		*slot;		/* this worker's */
};

struct ctx {
	struct arena		*arena;
	const struct http_config *http;
	const struct config	*config;
	struct users		*users;
	const struct passlist	*passlist;
	struct scoreboard	*scoreboard;
	struct slot		*slot;
	FCGX_Request		*req;

	const char		*method;
	const char		*path;		/* normalised by nginx */
	const char		*query;		/* "" when none */
	const char		*origin;	/* allowed CORS origin or NULL */
	char			 request_id[CTX_REQID_MAX + 1];
	time_t			 now;		/* wall clock at accept */

	struct body		*body;		/* parsed on first use */

	/* response */
	char			 headers[CTX_HEADERS_MAX];
	size_t			 headers_len;
	int			 replied;
	int			 status;

	struct rconn		*rconn_;	/* use ctx_redis() */
};

void		 ctx_init(struct ctx *, struct arena *, FCGX_Request *,
		    const struct ctx_deps *, unsigned long);
const char	*ctx_param(const struct ctx *, const char *);
int		 ctx_query_lookup(struct ctx *, const char *, const char **);
const char	*ctx_query_get(struct ctx *, const char *);
int		 ctx_read_body(struct ctx *, const char **, size_t *);
struct rconn	*ctx_redis(struct ctx *);
int		 ctx_add_header(struct ctx *, const char *, const char *);
int		 ctx_write(struct ctx *, const char *, size_t);
int		 http_origin_allowed(const struct http_config *,
		    const char *);

#endif
