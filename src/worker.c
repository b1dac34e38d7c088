/*
 * The worker loop.  Everything a worker owns (Redis connection, SQLite
 * handle, password list, arena) is made after fork, never in the master
 * (PITFALLS: hiredis, SQLite), and freed before exit for the leak checker.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fcgiapp.h>
#include <sodium.h>

#include "arena.h"
#include "config.h"
#include "ctx.h"
#include "log.h"
#include "passlist.h"
#include "rconn.h"
#include "reply.h"
#include "router.h"
#include "scoreboard.h"
#include "users.h"
#include "worker.h"

#define WORKER_ARENA_CHUNK	(64 * 1024)

struct worker {
	const struct config	*config;
	struct arena		*arena;
	struct ctx_deps		 deps;
	struct slot		*slot;
	FCGX_Request		 req;
};

static volatile sig_atomic_t	 worker_stopping;
static volatile sig_atomic_t	 worker_in_request;
static int			 worker_listen_fd = -1;
static FCGX_Request		*worker_req;

/*
 * SIGTERM: finish the request in hand, then exit.  Closing our copy of the
 * listening socket makes the next (or the interrupted, restarted) accept
 * fail at once, so there is no window in which the flag is missed; an
 * idle kept-alive connection is shut so its blocked read returns.
 */
static void
on_sigterm(int sig)
{
	int	 saved = errno;

	(void)sig;
	worker_stopping = 1;
	if (worker_listen_fd != -1) {
		close(worker_listen_fd);
		worker_listen_fd = -1;
	}
	if (!worker_in_request && worker_req != NULL &&
	    worker_req->ipcFd >= 0)
		shutdown(worker_req->ipcFd, SHUT_RDWR);
	errno = saved;
}

static void
signals_init(void)
{
	struct sigaction	 sa;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_sigterm;
	sa.sa_flags = SA_RESTART;	/* reads inside a request restart */
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sa.sa_flags = 0;
	sigaction(SIGPIPE, &sa, NULL);	/* PITFALLS: hiredis write(2) */
	sigaction(SIGINT, &sa, NULL);	/* the master decides */
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = SIG_DFL;
	sigaction(SIGCHLD, &sa, NULL);
}

static void
deps_init(struct worker *w)
{
	const struct config	*cfg = w->config;
	char			 err[256];

	w->deps.config = cfg;
	w->deps.slot = w->slot;
	w->deps.rconn = rconn_new(&cfg->redis);
	w->deps.users = users_open(cfg->database,
	    cfg->database_busy_timeout_ms, err, sizeof(err));
	if (w->deps.users == NULL)
		log_errorx("database %s: %s", cfg->database, err);
	w->deps.passlist = passlist_load(cfg->common_passwords_file, err,
	    sizeof(err));
	if (w->deps.passlist == NULL)	/* registration would skip a rule */
		log_fatalx("common_passwords_file: %s", err);
}

static void
deps_fini(struct worker *w)
{
	rconn_free(w->deps.rconn);
	users_close(w->deps.users);
	passlist_free((struct passlist *)w->deps.passlist);
	arena_free(w->arena);
}

/* The Redis handle's state, for /status. */
static void
redis_stats_publish(struct worker *w)
{
	struct rconn_stats	 st;

	rconn_stats(w->deps.rconn, &st);
	w->slot->redis_connected = st.connected;
	w->slot->redis_failures = st.failures;
	w->slot->redis_backoff_ms = st.backoff_ms;
}

static void
serve_one(struct worker *w, unsigned long seq)
{
	struct ctx	*ctx;
	long long	 started = scoreboard_now_ms(), took;

	ctx = arena_alloc(w->arena, sizeof(*ctx));
	ctx_init(ctx, w->arena, &w->req, &w->deps, seq);
	log_set_request(ctx->request_id);
	scoreboard_busy(w->slot, ctx->request_id, ctx->method, ctx->path);
	if (route_dispatch(ctx, route_tables) == -1 && !ctx->replied) {
		log_errorx("%s %.64s: handler failed", ctx->method, ctx->path);
		reply_error(ctx, 500, "Internal Server Error");
	}
	took = scoreboard_now_ms() - started;
	if (took >= w->config->slow_request_ms)
		log_warnx("slow request: %s %.64s took %lld ms", ctx->method,
		    ctx->path, took);
	else
		log_debug("%s %.64s %d %lld ms", ctx->method, ctx->path,
		    ctx->status, took);
	log_set_request(NULL);
}

/*
 * Serves requests on listen_fd until SIGTERM or max_requests (plus a
 * per-worker stagger so workers do not recycle together), then exits 0.
 */
void
worker_run(const struct config *cfg, int listen_fd, struct scoreboard *sb,
    struct slot *slot, unsigned long stagger)
{
	struct worker	 w;
	unsigned long	 limit = 0, served = 0;

	memset(&w, 0, sizeof(w));
	w.config = cfg;
	w.slot = slot;
	w.deps.scoreboard = sb;
	w.arena = arena_new(WORKER_ARENA_CHUNK);
	if (FCGX_Init() != 0)
		log_fatalx("FCGX_Init failed");
	signals_init();		/* after FCGX_Init, which sets its own */
	if (sodium_init() < 0)
		log_fatalx("sodium_init failed");
	worker_listen_fd = listen_fd;
	if (FCGX_InitRequest(&w.req, listen_fd, 0) != 0)
		log_fatalx("FCGX_InitRequest failed");
	worker_req = &w.req;
	deps_init(&w);
	if (cfg->max_requests > 0)
		limit = (unsigned long)cfg->max_requests + stagger;
	slot->state = SLOT_IDLE;
	while (!worker_stopping && (limit == 0 || served < limit)) {
		worker_in_request = 0;
		if (worker_stopping || FCGX_Accept_r(&w.req) < 0)
			break;
		worker_in_request = 1;
		serve_one(&w, ++served);
		FCGX_Finish_r(&w.req);
		arena_reset(w.arena);
		redis_stats_publish(&w);
		scoreboard_idle(slot);
	}
	worker_in_request = 1;		/* the handler must not touch ipcFd */
	FCGX_Finish_r(&w.req);
	if (!worker_stopping && limit != 0 && served >= limit) {
		log_info("recycling after %lu requests", served);
		slot->recycled = 1;
	}
	slot->state = SLOT_STOPPING;	/* the master may start a successor */
	deps_fini(&w);
	exit(0);
}
