/*
 * The worker loop.  Everything a worker owns (Redis connection, SQLite
 * handle, password list, arena) is made after fork, never in the master
 * (PITFALLS: hiredis, SQLite), and freed before exit for the leak checker.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <fcgiapp.h>
#include <sodium.h>

#include "arena.h"
#include "config.h"
#include "ctx.h"
#include "log.h"
#include "passlist.h"
#include "rconn.h"
#include "session_cache.h"
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
static int			 worker_listen_fd = -1;
static int			 worker_wake[2] = { -1, -1 };

/*
 * SIGTERM: finish the request in hand, then exit.  Closing our copy of the
 * listening socket makes the next (or the interrupted, restarted) accept
 * fail at once, so there is no window in which the flag is missed; the
 * wake-up pipe ends the wait on an idle kept-alive connection.  A
 * connection just accepted is never touched: nginx would not resend its
 * request.
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
	(void)write(worker_wake[1], "", 1);
	errno = saved;
}

/*
 * With a kept-alive connection (fastcgi_keep_conn), waits until nginx
 * sends on it or SIGTERM comes: 1 to go on, 0 to stop.  Stopping then
 * closes an idle connection; nginx resends a request that raced with
 * that, since the connection was a reused one.
 */
static int
wait_kept(const FCGX_Request *req)
{
	struct pollfd	 p[2];

	if (req->ipcFd < 0)
		return 1;	/* FCGX_Accept_r accepts a new one */
	p[0].fd = req->ipcFd;
	p[0].events = POLLIN;
	p[1].fd = worker_wake[0];
	p[1].events = POLLIN;
	for (;;) {
		if (poll(p, 2, -1) == -1) {
			if (errno == EINTR)
				continue;
			return 1;	/* let libfcgi meet the error */
		}
		if (p[1].revents != 0)
			return 0;
		return 1;
	}
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
	/* PostgreSQL connects at the first request; err has no password */
	if ((w->deps.users = users_open_config(cfg, err, sizeof(err))) ==
	    NULL)
		log_errorx("%s", err);
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
	struct rconn_stats		 st;
	struct session_cache_stats	 cs;

	rconn_stats(w->deps.rconn, &st);
	w->slot->redis_connected = st.connected;
	w->slot->redis_failures = st.failures;
	w->slot->redis_backoff_ms = st.backoff_ms;
	w->slot->redis_stale_reconnects = st.stale_reconnects;
	session_cache_stats(&cs);
	w->slot->session_cache_hits = cs.hits;
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
	if (pipe2(worker_wake, O_NONBLOCK | O_CLOEXEC) == -1)
		log_fatal("worker: pipe2");
	signals_init();		/* after FCGX_Init, which sets its own */
	if (sodium_init() < 0)
		log_fatalx("sodium_init failed");
	worker_listen_fd = listen_fd;
	if (FCGX_InitRequest(&w.req, listen_fd, 0) != 0)
		log_fatalx("FCGX_InitRequest failed");
	deps_init(&w);
	if (cfg->max_requests > 0)
		limit = (unsigned long)cfg->max_requests + stagger;
	slot->state = SLOT_IDLE;
	while (!worker_stopping && (limit == 0 || served < limit)) {
		if (!wait_kept(&w.req) || worker_stopping ||
		    FCGX_Accept_r(&w.req) < 0)
			break;
		serve_one(&w, ++served);
		FCGX_Finish_r(&w.req);
		arena_reset(w.arena);
		redis_stats_publish(&w);
		scoreboard_idle(slot);
	}
	FCGX_Finish_r(&w.req);
	FCGX_Free(&w.req, 1);		/* an idle kept connection too */
	if (!worker_stopping && limit != 0 && served >= limit) {
		log_info("recycling after %lu requests", served);
		slot->recycled = 1;
	}
	slot->state = SLOT_STOPPING;	/* the master may start a successor */
	deps_fini(&w);
	exit(0);
}
