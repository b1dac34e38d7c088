/*
 * The worker: a wait set of the listening socket and the FastCGI
 * connections it keeps, each request handed to libfcgi once it has fully
 * arrived (conn.c).  The application's state for the process is made
 * after fork (pool_app.worker_init), never in the master, and freed
 * before exit for the leak checker.
 */
#include <sys/types.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "lib/log.h"
#include "pool/conn.h"
#include "pool/pool.h"
#include "pool/scoreboard.h"
#include "pool/worker.h"

#define WORKER_EVENTS		64
#define WORKER_READ_DEADLINE_S	1	/* a read inside a request */
#define WORKER_WRITE_DEADLINE_S	2	/* a write the peer does not read */
#define WORKER_STOP_GRACE_MS	1000	/* for requests half arrived */
#define WORKER_ARRIVAL_MS	1000	/* a new connection's first request,
					   or a request begun, arrives whole */
#define WORKER_FRESH_MAX	64	/* new connections, beyond the kept */
#define WORKER_SCRATCH		4096
#define WORKER_RELISTEN_MS	100	/* after an accept error */
#define WORKER_BALANCE_MS	20	/* a worker leaving accepts to others
					   looks again after this */
#define WORKER_BALANCE_SLACK	2	/* connections more than another */

/* A FastCGI connection the worker keeps, in its wait set. */
struct kept {
	int			 fd;		/* -1: a free entry */
	int			 ready;		/* a whole request queued */
	int			 used;		/* has served a request */
	unsigned long		 ticket;	/* ready order: fairness */
	long long		 since_ms;	/* accepted, or last served */
	long long		 partial_ms;	/* a request begun; 0: none */
	struct conn_scan	 scan;
	FCGX_Request		 req;
};

struct worker {
	const struct pool_app	*app;
	const struct pool_config *config;
	void			*state;		/* the application's */
	struct scoreboard	*scoreboard;
	struct slot		*slot;
	int			 listen_fd;
	const char		*allowed;	/* the peers it accepts */
	int			 ep;		/* the wait set */
	int			 listening;	/* listen_fd is in it */
	struct kept		*kept;
	int			 nkept;		/* open connections */
	int			 maxkept;	/* max_kept_connections */
	int			 cap;		/* entries in kept */
	unsigned long		 tickets;
	char			*window;	/* conn_scan()'s buffer */
	size_t			 window_size;
	struct conn_values	 values;
	unsigned long		 served;
	int			 stopping;
	long long		 stop_deadline_ms;
	long long		 relisten_ms;	/* look at listening again */
	long long		 balance_ms;	/* look at the others again */
	int			 balance_nkept;	/* nkept when last looked */
	int			 defer;		/* leave accepts to others */
};

/* epoll data of the two fds that are not connections */
#define EV_LISTEN	((uint64_t)-1)
#define EV_WAKE		((uint64_t)-2)

static volatile sig_atomic_t	 worker_stopping;
static int			 worker_wake[2] = { -1, -1 };

/*
 * SIGTERM: finish the request in hand, serve the requests that have
 * already arrived on kept connections, then exit.  The wake-up pipe ends
 * a wait; the loop itself leaves the listening socket, since closing a
 * shared socket here would not take it out of the epoll set.
 */
static void
on_sigterm(int sig)
{
	int	 saved = errno;

	(void)sig;
	worker_stopping = 1;
	(void)write(worker_wake[1], "", 1);
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

/* One request, whole: the application serves it; slow ones are logged. */
static void
serve_one(struct worker *w, FCGX_Request *req)
{
	long long	 started = scoreboard_now_ms(), took;

	w->app->serve(w->state, req, ++w->served);
	took = scoreboard_now_ms() - started;
	if (took >= w->config->slow_request_ms) {
		/* the request's names, as the application gave them */
		log_set_request(w->slot->request_id);
		log_warnx("slow request: %s %.64s took %lld ms", w->slot->method,
		    w->slot->path, took);
		log_set_request(NULL);
	}
}

static void
kept_publish(struct worker *w)
{
	w->slot->kept_connections = w->nkept;
}

/* Forgets k, whose fd is closed (which also took it out of the set). */
static void
kept_forget(struct worker *w, struct kept *k)
{
	k->fd = -1;
	k->ready = 0;
	w->nkept--;
	kept_publish(w);
}

static void
kept_close(struct worker *w, struct kept *k, const char *why)
{
	log_debug("FastCGI connection %d closed: %s", k->fd, why);
	conn_close(k->fd);
	kept_forget(w, k);
}

/*
 * Looks at what k's peer has sent (conn_scan) and files k accordingly:
 * ready (at the back of the queue), still waiting, or closed.  hup: the
 * peer will send nothing more, so a half request never completes.
 */
static enum conn_state
kept_scan(struct worker *w, struct kept *k, int hup)
{
	enum conn_state	 st;

	if (k->fd < 0 || k->ready)
		return CONN_REQUEST;
	st = conn_scan(k->fd, w->window, w->window_size,
	    w->config->request_limit, &w->values, &k->scan);
	if (st == CONN_PARTIAL && hup)
		st = CONN_CLOSE;
	switch (st) {
	case CONN_REQUEST:
		k->ready = 1;
		k->ticket = ++w->tickets;
		k->partial_ms = 0;
		break;
	case CONN_CLOSE:
		kept_close(w, k, "closed by the peer or malformed");
		break;
	case CONN_PARTIAL:
		if (k->partial_ms == 0)
			k->partial_ms = scoreboard_now_ms();
		break;
	case CONN_EMPTY:
		k->partial_ms = 0;
		break;
	}
	return st;
}

/*
 * The longest-idle connection that has served a request and has none
 * queued, or NULL; *count: how many such connections there are.
 */
static struct kept *
kept_oldest_idle(struct worker *w, int *count)
{
	struct kept	*k, *old = NULL;
	int		 i, n = 0;

	for (i = 0; i < w->cap; i++) {
		k = &w->kept[i];
		if (k->fd < 0 || k->ready || !k->used || k->scan.need > 0)
			continue;	/* half a request counts as busy */
		n++;
		if (old == NULL || k->since_ms < old->since_ms)
			old = k;
	}
	if (count != NULL)
		*count = n;
	return old;
}

/*
 * Closes the longest-idle kept connections beyond max_kept_connections.
 * Only connections that have served a request count and are closed: a
 * request its peer sends on one as it closes failed on a reused
 * connection, which nginx resends (fastcgi_next_upstream error), while a
 * new connection may be carrying the peer's first request.
 */
static void
kept_trim(struct worker *w)
{
	struct kept	*k;
	int		 n;

	while ((k = kept_oldest_idle(w, &n)) != NULL && n > w->maxkept) {
		/* a request may have arrived since it was last looked at */
		if (kept_scan(w, k, 0) == CONN_EMPTY)
			kept_close(w, k, "max_kept_connections");
	}
}

/*
 * Closes the connections whose first request has not arrived whole within
 * WORKER_ARRIVAL_MS of the accept (libfcgi waited 2 s for a first byte),
 * and those holding a request begun that long ago and still not whole: a
 * peer that connects and sends nothing, or stops half-way, holds no more
 * than an entry for that long, and never the worker.  Returns when the
 * next one falls due, or -1.
 */
static long long
kept_expire(struct worker *w, long long now)
{
	struct kept	*k;
	long long	 due, next = -1;
	int		 i;

	for (i = 0; i < w->cap; i++) {
		k = &w->kept[i];
		if (k->fd < 0 || k->ready)
			continue;
		if (!k->used)
			due = k->since_ms + WORKER_ARRIVAL_MS;
		else if (k->partial_ms != 0)
			due = k->partial_ms + WORKER_ARRIVAL_MS;
		else
			continue;	/* idle between requests */
		if (due <= now)
			kept_close(w, k, "request not whole in time");
		else if (next == -1 || due < next)
			next = due;
	}
	return next;
}

/* The ready connection that has waited longest (FIFO), or NULL. */
static struct kept *
kept_next_ready(struct worker *w)
{
	struct kept	*k, *next = NULL;
	int		 i;

	for (i = 0; i < w->cap; i++) {
		k = &w->kept[i];
		if (k->fd >= 0 && k->ready &&
		    (next == NULL || k->ticket < next->ticket))
			next = k;
	}
	return next;
}

/* Puts the listening socket in the wait set, or takes it out. */
static void
listen_set(struct worker *w, int on)
{
	struct epoll_event	 ev;
	int			 rc;

	if (on == w->listening)
		return;
	if (on) {
		memset(&ev, 0, sizeof(ev));
		/*
		 * Level-triggered and not EPOLLEXCLUSIVE: every idle worker
		 * sees a waiting connection for as long as it waits, so one
		 * with a request queued can leave it to the others (each
		 * connection wakes the idle workers; with kept connections
		 * new ones are few).
		 */
		ev.events = EPOLLIN;
		ev.data.u64 = EV_LISTEN;
		rc = epoll_ctl(w->ep, EPOLL_CTL_ADD, w->listen_fd, &ev);
		if (rc == -1) {
			log_warn("epoll_ctl: listening socket");
			w->relisten_ms = scoreboard_now_ms() +
			    WORKER_RELISTEN_MS;
			return;
		}
	} else
		(void)epoll_ctl(w->ep, EPOLL_CTL_DEL, w->listen_fd, NULL);
	w->listening = on;
}

/* A peer's address as text for the log, "?" when it has none. */
static const char *
peer_name(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	const void	*a;

	if (ss->ss_family == AF_INET)
		a = &((const struct sockaddr_in *)ss)->sin_addr;
	else if (ss->ss_family == AF_INET6)
		a = &((const struct sockaddr_in6 *)ss)->sin6_addr;
	else
		return "?";
	if (inet_ntop(ss->ss_family, a, buf, (socklen_t)len) == NULL)
		return "?";
	return buf;
}

/*
 * Accepts one connection without blocking (another worker may have won
 * it) and adds it to the wait set.  The peer check and TCP_NODELAY are
 * what libfcgi's own accept did.
 */
static void
accept_one(struct worker *w)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len = sizeof(ss);
	struct epoll_event	 ev;
	struct timeval		 tv;
	struct kept		*k = NULL;
	char			 host[INET6_ADDRSTRLEN];
	int			 fd, one = 1, i;

	if ((fd = accept4(w->listen_fd, (struct sockaddr *)&ss, &len,
	    SOCK_CLOEXEC)) == -1) {
		if (errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != EINTR && errno != ECONNABORTED &&
		    errno != EPROTO) {
			log_warn("accept");
			listen_set(w, 0);	/* back after a pause */
			w->relisten_ms = scoreboard_now_ms() +
			    WORKER_RELISTEN_MS;
		}
		return;
	}
	if (!conn_addr_allowed((struct sockaddr *)&ss, w->allowed)) {
		log_warnx("connection refused: peer %s not in %s",
		    peer_name(&ss, host, sizeof(host)),
		    w->config->fcgi_allowed_addrs[0] != '\0' ?
		    "fcgi_allowed_addrs" : "FCGI_WEB_SERVER_ADDRS");
		close(fd);
		return;
	}
	if (ss.ss_family == AF_INET || ss.ss_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one));
	/* a peer stalling inside a request that was too big to see whole */
	tv.tv_sec = WORKER_READ_DEADLINE_S;
	tv.tv_usec = 0;
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	/* and one that sends requests without reading the answers */
	tv.tv_sec = WORKER_WRITE_DEADLINE_S;
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (w->nkept >= w->cap && (k = kept_oldest_idle(w, NULL)) != NULL)
		kept_close(w, k, "full");
	for (i = 0; i < w->cap; i++)
		if (w->kept[i].fd < 0) {
			k = &w->kept[i];
			break;
		}
	if (i == w->cap) {		/* listen_set() prevents this */
		close(fd);
		return;
	}
	memset(k, 0, sizeof(*k));
	FCGX_InitRequest(&k->req, -1, 0);	/* libfcgi never accepts */
	k->req.ipcFd = k->fd = fd;
	k->since_ms = scoreboard_now_ms();
	memset(&ev, 0, sizeof(ev));
	/* edge-triggered: a half request waits for more, not for a poll */
	ev.events = EPOLLIN | EPOLLRDHUP | EPOLLET;
	ev.data.u64 = (uint64_t)i;
	if (epoll_ctl(w->ep, EPOLL_CTL_ADD, fd, &ev) == -1) {
		log_warn("epoll_ctl: connection");
		close(fd);
		k->fd = -1;
		return;
	}
	w->nkept++;
	kept_publish(w);
	(void)kept_scan(w, k, 0);
}

/*
 * Marks the slot stopping, which lets the master start a successor at
 * once, when this worker retires on max_requests or was told to stop by
 * the master (which marked it so already; serving writes idle over it).
 * Not on a SIGTERM from elsewhere: a group SIGTERM reaches the workers
 * before the master reads its own, and a master that saw them stopping
 * could start successors in that instant (issue 8: no respawn during a
 * stop); it learns of such a worker when it exits.
 */
static void
retiring_mark(struct worker *w)
{
	if (w->slot->recycled || w->slot->stop_sent)
		w->slot->state = SLOT_STOPPING;
}

/*
 * Serves the request queued on k with libfcgi, then keeps the connection
 * (FCGI_KEEP_CONN) or closes it.  libfcgi is told to keep it either way,
 * and never to linger on a close (PITFALLS: it waits up to 2 s): the wait
 * set decides.  What the handler left of stdin is read first, so the next
 * request starts at a record boundary.
 */
static void
kept_serve(struct worker *w, struct kept *k)
{
	char		 scratch[WORKER_SCRATCH];
	int		 keep;

	k->ready = 0;
	k->req.keepConnection = 1;
	k->req.detached = 1;
	if (FCGX_Accept_r(&k->req) < 0) {
		/* libfcgi refused what it read and closed the connection */
		log_debug("FastCGI connection %d closed: refused by libfcgi",
		    k->fd);
		kept_forget(w, k);
		return;
	}
	keep = k->req.keepConnection;		/* the peer's flag */
	k->used = 1;
	serve_one(w, &k->req);
	if (k->scan.stdin_whole)
		while (FCGX_GetStr(scratch, sizeof(scratch), k->req.in) > 0)
			;
	else
		keep = 0;	/* the rest of a big body is still coming */
	k->req.keepConnection = 1;
	k->req.detached = 1;
	FCGX_Finish_r(&k->req);
	if (w->app->publish != NULL)
		w->app->publish(w->state);
	scoreboard_idle(w->slot);
	if (w->stopping)
		retiring_mark(w);
	if (k->req.ipcFd == -1) {	/* libfcgi met an error and closed */
		log_debug("FastCGI connection %d closed: error in the request",
		    k->fd);
		kept_forget(w, k);
		return;
	}
	if (!keep) {
		kept_close(w, k, "not kept");
		return;
	}
	k->since_ms = scoreboard_now_ms();
	k->scan.need = 0;
	if (kept_scan(w, k, 0) == CONN_EMPTY && w->stopping)
		kept_close(w, k, "stopping");
	else
		kept_trim(w);
}

/*
 * Leaves the listening socket and closes the idle connections that have
 * served a request: a request the peer sends on one as it closes failed
 * on a reused connection, which nginx resends elsewhere
 * (fastcgi_next_upstream error).  Requests already queued are still
 * served; a half-arrived one, or a connection just accepted whose first
 * request may be on its way, gets WORKER_STOP_GRACE_MS.
 */
static void
stop_begin(struct worker *w, int recycle)
{
	struct kept	*k;
	int		 i;

	w->stopping = 1;
	w->stop_deadline_ms = scoreboard_now_ms() + WORKER_STOP_GRACE_MS;
	listen_set(w, 0);
	if (recycle) {
		log_info("recycling after %lu requests", w->served);
		w->slot->recycled = 1;
	}
	retiring_mark(w);
	for (i = 0; i < w->cap; i++) {
		k = &w->kept[i];
		if (k->fd >= 0 && !k->ready && kept_scan(w, k, 0) ==
		    CONN_EMPTY && k->used)
			kept_close(w, k, "stopping");
	}
}

/*
 * 1 when another worker is asleep in its wait set with the listening
 * socket in it (its slot's accepting flag) and keeps fewer than `below`
 * connections: the connection waiting there wakes it, so this one may
 * leave it.  Not merely between two requests (SLOT_IDLE): a worker with
 * a queue of its own is idle for an instant after each request, and two
 * such workers leaving a connection to each other left it waiting for
 * tens of milliseconds at saturation, the p99 of every kept-connection
 * run.
 */
static int
other_accepting(const struct worker *w, int below)
{
	const struct scoreboard	*sb = w->scoreboard;
	const struct slot	*s;
	int			 i;

	if (sb == NULL)
		return 0;
	for (i = 0; i < SCOREBOARD_SLOTS; i++) {
		s = &sb->slots[i];
		if (s != w->slot && s->pid != 0 && s->sidecar == 0 &&
		    s->kept_connections < below &&
		    __atomic_load_n(&s->accepting, __ATOMIC_ACQUIRE))
			return 1;
	}
	return 0;
}

/*
 * 1 when another worker asleep on the listening socket keeps fewer
 * connections than this one by more than WORKER_BALANCE_SLACK: new
 * connections are better left to it.  nginx reuses the connections it
 * keeps, so a worker that took most of them would serve most requests
 * while the others wait for none.
 */
static int
others_lighter(const struct worker *w)
{
	return other_accepting(w, w->nkept - WORKER_BALANCE_SLACK);
}

/* Milliseconds epoll_wait may sleep, until due (-1: nothing due). */
static int
wait_ms(struct worker *w, long long now, long long due)
{
	if (kept_next_ready(w) != NULL)
		return 0;
	if (w->stopping && (due == -1 || w->stop_deadline_ms < due))
		due = w->stop_deadline_ms;
	if (!w->stopping && !w->listening && w->relisten_ms > now &&
	    (due == -1 || w->relisten_ms < due))
		due = w->relisten_ms;
	if (due == -1)
		return -1;
	return due <= now ? 0 : (int)(due - now);
}

static void
wake_drain(void)
{
	char	 buf[64];

	while (read(worker_wake[0], buf, sizeof(buf)) > 0)
		;
}

/*
 * The wait set (SPEC 4): the listening socket and every kept connection
 * in one epoll set; one request is served at a time, the longest-waiting
 * first, and the set is polled again between requests, so no connection
 * starves and none waits behind an idle one.  Returns when stopped.
 */
static void
worker_loop(struct worker *w, unsigned long limit)
{
	struct epoll_event	 evs[WORKER_EVENTS];
	struct kept		*k;
	long long		 now, due;
	uint64_t		 id;
	int			 n, i, room, incoming, timeout, sleeping;

	for (;;) {
		now = scoreboard_now_ms();
		if (!w->stopping && worker_stopping)
			stop_begin(w, 0);
		else if (!w->stopping && limit != 0 && w->served >= limit)
			stop_begin(w, 1);
		if (w->stopping && kept_next_ready(w) == NULL &&
		    (w->nkept == 0 || now >= w->stop_deadline_ms))
			break;
		due = kept_expire(w, now);
		if (!w->stopping && now >= w->relisten_ms) {
			room = w->nkept < w->cap ||
			    kept_oldest_idle(w, NULL) != NULL;
			/* the scoreboard, read at most every 20 ms */
			if (now >= w->balance_ms ||
			    w->nkept != w->balance_nkept) {
				w->defer = others_lighter(w);
				w->balance_ms = now + WORKER_BALANCE_MS;
				w->balance_nkept = w->nkept;
			}
			if (!room)	/* look again when one may be due */
				w->relisten_ms = now + WORKER_RELISTEN_MS;
			else if (w->defer) {
				room = 0;
				w->relisten_ms = w->balance_ms;
			}
			listen_set(w, room);
		}
		timeout = wait_ms(w, now, due);
		sleeping = timeout != 0 && w->listening;
		if (sleeping)
			__atomic_store_n(&w->slot->accepting, 1,
			    __ATOMIC_RELEASE);
		n = epoll_wait(w->ep, evs, WORKER_EVENTS, timeout);
		if (sleeping)
			__atomic_store_n(&w->slot->accepting, 0,
			    __ATOMIC_RELEASE);
		if (n == -1) {
			if (errno != EINTR)
				log_fatal("epoll_wait");
			n = 0;
		}
		for (i = 0, incoming = 0; i < n; i++) {
			id = evs[i].data.u64;
			if (id == EV_WAKE)
				wake_drain();
			else if (id == EV_LISTEN)
				incoming = 1;
			else if (id < (uint64_t)w->cap) {
				k = &w->kept[id];
				if (k->fd >= 0)
					(void)kept_scan(w, k, (evs[i].events &
					    (EPOLLRDHUP | EPOLLHUP |
					    EPOLLERR)) != 0);
			}
		}
		/*
		 * A worker with a request waiting leaves a new connection to
		 * one asleep on the listening socket, which wakes for it: its
		 * request would wait behind those here (seen: a request on a
		 * connection taken by a worker then busy for a second on a
		 * login, while another sat idle).  With no worker asleep
		 * there it takes it, so no new connection waits behind
		 * workers that each leave it to another.
		 */
		if (incoming && !w->stopping && (kept_next_ready(w) == NULL ||
		    !other_accepting(w, INT_MAX)))
			accept_one(w);
		if ((k = kept_next_ready(w)) != NULL)
			kept_serve(w, k);
	}
}

static void
wait_set_init(struct worker *w)
{
	struct epoll_event	 ev;
	int			 i;

	w->maxkept = w->config->max_kept_connections;
	w->cap = w->maxkept + WORKER_FRESH_MAX;
	if ((w->kept = calloc((size_t)w->cap, sizeof(*w->kept))) == NULL)
		log_fatal("worker: calloc");
	for (i = 0; i < w->cap; i++)
		w->kept[i].fd = -1;
	w->window_size = conn_window(w->config->request_limit);
	if ((w->window = malloc(w->window_size)) == NULL)
		log_fatal("worker: malloc");
	/* what FCGI_GET_VALUES answers: the pool as a whole */
	w->values.max_reqs = w->scoreboard != NULL ?
	    w->scoreboard->workers_wanted : 1;
	w->values.max_conns = w->values.max_reqs * w->cap;
	if ((w->ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		log_fatal("epoll_create1");
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.u64 = EV_WAKE;
	if (epoll_ctl(w->ep, EPOLL_CTL_ADD, worker_wake[0], &ev) == -1)
		log_fatal("epoll_ctl: wake-up pipe");
}

static void
wait_set_fini(struct worker *w)
{
	int	 i;

	for (i = 0; i < w->cap; i++)
		if (w->kept[i].fd >= 0)
			kept_close(w, &w->kept[i], "exit");
	close(w->ep);
	free(w->kept);
	free(w->window);
}

/*
 * Serves requests on listen_fd until SIGTERM or max_requests (plus a
 * per-worker stagger so workers do not recycle together), then exits 0.
 * Signals arrive blocked (the master blocks them across fork) and are
 * let in once this worker's handlers are in place.
 */
void
worker_run(const struct pool_app *app, const void *conf, int listen_fd,
    struct scoreboard *sb, struct slot *slot, unsigned long stagger)
{
	struct worker	 w;
	sigset_t	 none;
	unsigned long	 limit = 0;

	memset(&w, 0, sizeof(w));
	w.app = app;
	w.config = app->pool(conf);
	w.scoreboard = sb;
	w.slot = slot;
	w.listen_fd = listen_fd;
	/* the key first; the variable stays honoured without it (SPEC 5) */
	w.allowed = w.config->fcgi_allowed_addrs[0] != '\0' ?
	    w.config->fcgi_allowed_addrs : getenv("FCGI_WEB_SERVER_ADDRS");
	if (FCGX_Init() != 0)
		log_fatalx("FCGX_Init failed");
	if (pipe2(worker_wake, O_NONBLOCK | O_CLOEXEC) == -1)
		log_fatal("worker: pipe2");
	signals_init();		/* after FCGX_Init, which sets its own */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	w.state = app->worker_init(conf, sb, slot);
	wait_set_init(&w);
	if (w.config->max_requests > 0)
		limit = (unsigned long)w.config->max_requests + stagger;
	listen_set(&w, 1);	/* accepting before it says so: a reload
				   retires an old worker on that word */
	slot->state = SLOT_IDLE;
	worker_loop(&w, limit);
	retiring_mark(&w);
	wait_set_fini(&w);
	app->worker_fini(w.state);
	close(worker_wake[0]);
	close(worker_wake[1]);
	/*
	 * Past the application's own cleanup, the libraries' exit handlers
	 * (OpenSSL's, GnuTLS's through libcurl, ...) only free memory the
	 * kernel is about to take back: 6-7 ms of CPU at every recycle,
	 * most of it copy-on-write faults on pages shared with the master.
	 * LeakSanitizer checks at exit, so sanitizer builds still exit().
	 */
#ifdef __SANITIZE_ADDRESS__
	exit(0);
#else
	_exit(0);
#endif
}

/*
 * Runs one of the application's sidecars in this process: the worker's
 * signals (SIGTERM asks it to stop), then its run function until it
 * returns; its status is the process's.
 */
void
sidecar_run(const struct pool_sidecar *sc, const void *conf, struct slot *slot)
{
	sigset_t	 none;
	int		 rc;

	if (pipe2(worker_wake, O_NONBLOCK | O_CLOEXEC) == -1)
		log_fatal("sidecar: pipe2");
	signals_init();
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	slot->state = SLOT_IDLE;
	log_info("%s started", sc->name);
	rc = sc->run(conf, slot, &worker_stopping);
	close(worker_wake[0]);
	close(worker_wake[1]);
	exit(rc);
}
