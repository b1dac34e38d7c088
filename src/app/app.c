/*
 * mockpie as the pool's application: the configuration loaded for the
 * master, and in each worker (after fork, never in the master: PITFALLS,
 * hiredis and SQLite) the Redis handle, the user store, the password list
 * and the arena each request context lives in.  Its one sidecar is the
 * mail sender (issue 15).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fcgiapp.h>
#include <sodium.h>

#include "app/app.h"
#include "app/config.h"
#include "app/mail_app.h"
#include "auth/passlist.h"
#include "auth/token.h"
#include "http/ctx.h"
#include "http/reply.h"
#include "http/router.h"
#include "lib/arena.h"
#include "lib/log.h"
#include "mail/sender.h"
#include "redis/rconn.h"
#include "redis/session_cache.h"
#include "store/users.h"

#define APP_ARENA_CHUNK	(64 * 1024)

/* What a worker owns for its life. */
struct app_worker {
	const struct config	*config;
	struct arena		*arena;
	struct ctx_deps		 deps;
	struct slot		*slot;
};

/* The configuration from its source, or NULL and why in err. */
struct config *
app_load(const struct app_source *src, char *err, size_t errlen)
{
	struct config	*c;
	char		 why[256];

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (config_load_with(c, src->path, src->overrides, err, errlen) ==
	    -1) {
		app_unload(c);
		return NULL;
	}
	/*
	 * Here, in the master, once: every worker shares the list (no
	 * private copy and no 30,000-line sort at each worker's start), a
	 * reload reads it again, and one that cannot is refused.  OpenSSL's
	 * one-time set-up too, before any fork (token_warm() says why).
	 */
	token_warm();
	if ((c->passlist = passlist_load(c->common_passwords_file, why,
	    sizeof(why))) == NULL) {
		snprintf(err, errlen, "common_passwords_file: %s", why);
		app_unload(c);
		return NULL;
	}
	return c;
}

void
app_unload(struct config *c)
{
	if (c == NULL)
		return;
	passlist_free(c->passlist);
	config_fini(c);
	free(c);
}

void
app_users_settings(const struct config *cfg, struct users_settings *set)
{
	memset(set, 0, sizeof(*set));
	set->database = cfg->database;
	set->busy_timeout_ms = cfg->database_busy_timeout_ms;
	set->connect_timeout_ms = cfg->database_connect_timeout_ms;
	set->statement_timeout_ms = cfg->database_statement_timeout_ms;
	set->original = cfg->users_table_original;
}

static void *
load(void *arg, char *err, size_t errlen)
{
	return app_load(arg, err, errlen);
}

static const struct pool_config *
pool_part(const void *conf)
{
	return &((const struct config *)conf)->pool;
}

static void
unload(void *conf)
{
	app_unload(conf);
}

static void *
worker_init(const void *conf, struct scoreboard *sb, struct slot *slot)
{
	const struct config	*cfg = conf;
	struct users_settings	 set;
	struct app_worker	*w;
	char			 err[256];

	if (sodium_init() < 0)
		log_fatalx("sodium_init failed");
	if ((w = calloc(1, sizeof(*w))) == NULL)
		log_fatal("worker: calloc");
	w->config = cfg;
	w->slot = slot;
	w->arena = arena_new(APP_ARENA_CHUNK);
	w->deps.http = &cfg->http;
	w->deps.config = cfg;
	w->deps.scoreboard = sb;
	w->deps.slot = slot;
	w->deps.rconn = rconn_new(&cfg->redis);
	/* PostgreSQL connects at the first request; err has no password */
	app_users_settings(cfg, &set);
	if ((w->deps.users = users_open_settings(&set, err, sizeof(err))) ==
	    NULL)
		log_errorx("%s", err);
	/*
	 * Before the worker accepts: its first token check writes to pages
	 * it shares with the master (OpenSSL's and the allocator's), each
	 * write a copy-on-write fault, and a request waiting on that paid
	 * for all of them.
	 */
	token_warm();
	w->deps.passlist = cfg->passlist;	/* the master's */
	return w;
}

static void
serve(void *state, FCGX_Request *req, unsigned long seq)
{
	struct app_worker	*w = state;
	struct ctx		*ctx;
	long long		 started = scoreboard_now_ms();

	ctx = arena_alloc(w->arena, sizeof(*ctx));
	ctx_init(ctx, w->arena, req, &w->deps, seq);
	log_set_request(ctx->request_id);
	scoreboard_busy(w->slot, ctx->request_id, ctx->method, ctx->path);
	if (route_dispatch(ctx, route_tables) == -1 && !ctx->replied) {
		log_errorx("%s %.64s: handler failed", ctx->method, ctx->path);
		reply_error(ctx, 500, "Internal Server Error");
	}
	log_debug("%s %.64s %d %lld ms", ctx->method, ctx->path, ctx->status,
	    scoreboard_now_ms() - started);
	log_set_request(NULL);
	arena_reset(w->arena);
}

/* The Redis handle's state, for /status. */
static void
publish(void *state)
{
	struct app_worker		*w = state;
	struct app_counters		*c = app_counters(w->slot);
	struct rconn_stats		 st;
	struct session_cache_stats	 cs;

	rconn_stats(w->deps.rconn, &st);
	c->redis_connected = (unsigned long)st.connected;
	c->redis_failures = st.failures;
	c->redis_backoff_ms = st.backoff_ms;
	c->redis_stale_reconnects = st.stale_reconnects;
	session_cache_stats(&cs);
	c->session_cache_hits = cs.hits;
}

static void
worker_fini(void *state)
{
	struct app_worker	*w = state;

	rconn_free(w->deps.rconn);
	users_close(w->deps.users);
	arena_free(w->arena);
	free(w);
}

_Static_assert(sizeof(struct mail_stats) <= SCOREBOARD_APP_BYTES,
    "the mail sender's counters fit its slot");

/* Without smtp_url it logs the mail, masked; several hosts may share
   the queue, or leave it to some (mail_sender = false on the others). */
static int
mail_sender_wanted(const void *conf)
{
	return ((const struct config *)conf)->mail_sender;
}

/* The mail sender's process: its counters live in its slot. */
static int
mail_sender(const void *conf, struct slot *slot, volatile sig_atomic_t *stop)
{
	if (sodium_init() < 0) {
		log_errorx("mail sender: sodium_init failed");
		return 1;
	}
	return mail_sender_run(conf, stop,
	    (struct mail_stats *)(void *)slot->app) == 0 ? 0 : 1;
}

static const struct pool_sidecar app_sidecars[] = {
	{ "mail sender", mail_sender_wanted, mail_sender },
};

/* mockpie for the pool; src must outlive it (reloads read it again). */
struct pool_app
app_pool(struct app_source *src)
{
	struct pool_app	 app;

	memset(&app, 0, sizeof(app));
	app.load = load;
	app.pool = pool_part;
	app.unload = unload;
	app.worker_init = worker_init;
	app.serve = serve;
	app.publish = publish;
	app.worker_fini = worker_fini;
	app.sidecars = app_sidecars;
	app.nsidecars = sizeof(app_sidecars) / sizeof(app_sidecars[0]);
	app.arg = src;
	return app;
}
