/*
 * Master loop.  Signal handlers only write the signal number to a
 * self-pipe; the loop reads it and acts, so nothing async-unsafe runs in a
 * handler.  States: running, reloading (workers replaced one at a time,
 * each new one ready before an old one is told to stop), stopping
 * (SIGTERM to workers, then SIGKILL after shutdown_timeout).  The
 * application's sidecars are kept running next to the workers.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"
#include "pool/master.h"
#include "pool/pool.h"
#include "pool/scoreboard.h"
#include "pool/worker.h"

#define MASTER_TICK_MS		100
#define RESPAWN_DELAY_MAX_MS	60000

enum master_state { MASTER_RUNNING, MASTER_RELOADING, MASTER_STOPPING };

struct master {
	const struct pool_app	*app;
	void			*conf;		/* the application's */
	const struct pool_config *config;	/* its pool part */
	struct scoreboard	*sb;
	int			 listen_fd;
	enum master_state	 state;
	unsigned		 generation;
	long long		 stop_deadline_ms;
	long long		 respawn_at_ms;	/* crash-loop back-off */
	long			 respawn_delay_ms;
	long long		 crash_window_ms;
	long long		 last_crash_ms;
	int			 crashes;	/* in the current window */
	unsigned long		 spawned;
	pid_t			 pid;
};

static int			 sigpipe_fds[2] = { -1, -1 };
static volatile sig_atomic_t	 stop_signal;	/* SIGTERM or SIGINT seen */

/*
 * Records the signal in the self-pipe.  A stop is also flagged at once:
 * under a group SIGTERM a worker can exit, and the loop reap it, before
 * the loop has read the pipe, and that worker must count as stopped and
 * not be replaced (issue 8).
 */
static void
on_signal(int sig)
{
	unsigned char	 c = (unsigned char)sig;
	int		 saved = errno;

	if (sig == SIGTERM || sig == SIGINT)
		stop_signal = sig;
	(void)write(sigpipe_fds[1], &c, 1);
	errno = saved;
}

static void
signals_init(void)
{
	struct sigaction	 sa;

	if (pipe2(sigpipe_fds, O_NONBLOCK | O_CLOEXEC) == -1)
		log_fatal("pipe2");
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGCHLD, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
}

/* Workers start with the master's handlers reset. */
static void
signals_reset_in_child(void)
{
	struct sigaction	 sa;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = SIG_DFL;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGCHLD, &sa, NULL);
	close(sigpipe_fds[0]);
	close(sigpipe_fds[1]);
}

/* Gives the unix socket to listen_owner/listen_group (nginx's group). */
static int
socket_chown(const char *path, const struct pool_config *cfg, char *err,
    size_t errlen)
{
	struct passwd	*pw;
	struct group	*gr;
	uid_t		 uid = (uid_t)-1;
	gid_t		 gid = (gid_t)-1;

	if (cfg->listen_owner[0] != '\0') {
		if ((pw = getpwnam(cfg->listen_owner)) == NULL) {
			snprintf(err, errlen, "listen_owner: no user %s",
			    cfg->listen_owner);
			return -1;
		}
		uid = pw->pw_uid;
	}
	if (cfg->listen_group[0] != '\0') {
		if ((gr = getgrnam(cfg->listen_group)) == NULL) {
			snprintf(err, errlen, "listen_group: no group %s",
			    cfg->listen_group);
			return -1;
		}
		gid = gr->gr_gid;
	}
	if ((uid != (uid_t)-1 || gid != (gid_t)-1) &&
	    chown(path, uid, gid) == -1) {
		snprintf(err, errlen, "listen: chown %s: %s", path,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Opens the listening socket for cfg->listen: "unix:/path" (listen_mode,
 * owner and group; a stale socket file replaced) or "host:port", with
 * listen_backlog.  The fd, or -1 with err set.
 */
int
master_listen(const struct pool_config *cfg, char *err, size_t errlen)
{
	const char		*addr = cfg->listen;
	struct sockaddr_un	 sun;
	struct addrinfo		 hints, *res = NULL;
	char			 host[256];
	const char		*colon, *path;
	int			 fd = -1, one = 1, rc;

	if (strncmp(addr, "unix:", 5) == 0) {
		path = addr + 5;
		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		if (strlen(path) >= sizeof(sun.sun_path) || *path == '\0') {
			snprintf(err, errlen, "listen: bad unix socket path");
			return -1;
		}
		memcpy(sun.sun_path, path, strlen(path) + 1);
		if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1)
			goto syserr;
		(void)unlink(path);
		if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
		    chmod(path, (mode_t)cfg->listen_mode) == -1)
			goto syserr;
		if (socket_chown(path, cfg, err, errlen) == -1) {
			(void)unlink(path);
			close(fd);
			return -1;
		}
	} else {
		if ((colon = strrchr(addr, ':')) == NULL ||
		    (size_t)(colon - addr) >= sizeof(host)) {
			snprintf(err, errlen, "listen: expected unix:/path "
			    "or host:port");
			return -1;
		}
		memcpy(host, addr, (size_t)(colon - addr));
		host[colon - addr] = '\0';
		memset(&hints, 0, sizeof(hints));
		hints.ai_family = AF_UNSPEC;
		hints.ai_socktype = SOCK_STREAM;
		hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV;
		if ((rc = getaddrinfo(host, colon + 1, &hints, &res)) != 0) {
			snprintf(err, errlen, "listen %s: %s", addr,
			    gai_strerror(rc));
			return -1;
		}
		if ((fd = socket(res->ai_family, SOCK_STREAM, 0)) == -1)
			goto syserr;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, res->ai_addr, res->ai_addrlen) == -1)
			goto syserr;
		freeaddrinfo(res);
		res = NULL;
	}
	if (listen(fd, cfg->listen_backlog) == -1)
		goto syserr;
	return fd;
syserr:
	snprintf(err, errlen, "listen %s: %s", addr, strerror(errno));
	if (res != NULL)
		freeaddrinfo(res);
	if (fd != -1)
		close(fd);
	return -1;
}

static const char *
signame(int sig)
{
	switch (sig) {
	case SIGKILL: return "SIGKILL";
	case SIGTERM: return "SIGTERM";
	case SIGSEGV: return "SIGSEGV";
	case SIGABRT: return "SIGABRT";
	case SIGBUS: return "SIGBUS";
	case SIGILL: return "SIGILL";
	case SIGFPE: return "SIGFPE";
	case SIGINT: return "SIGINT";
	case SIGPIPE: return "SIGPIPE";
	default: return "signal";
	}
}

static int
slots_count(const struct master *m, unsigned gen, int starting_only)
{
	const struct slot	*s;
	int			 i, n = 0;

	for (i = 0; i < SCOREBOARD_SLOTS; i++) {
		s = &m->sb->slots[i];
		if (s->pid == 0 || s->generation != gen || s->sidecar != 0)
			continue;
		if (starting_only && s->state != SLOT_STARTING)
			continue;
		if (!starting_only && s->state == SLOT_STOPPING)
			continue;
		n++;
	}
	return n;
}

/* "worker", or the sidecar's name, for messages. */
static const char *
slot_name(const struct master *m, const struct slot *s)
{
	if (s->sidecar > 0 && (size_t)s->sidecar <= m->app->nsidecars)
		return m->app->sidecars[s->sidecar - 1].name;
	return "worker";
}

/*
 * Extra requests before this worker recycles, spread over a quarter of
 * max_requests so that workers started together do not all leave
 * together (issue 4).  A multiplicative hash of the spawn count: spread,
 * and the same every run.
 */
static unsigned long
stagger(const struct master *m)
{
	unsigned long	 span = (unsigned long)m->config->max_requests / 4 + 1;

	return (m->spawned * 2654435761UL) % span;
}

/*
 * Starts a worker (sidecar 0) or the application's sidecar number
 * sidecar - 1 in a free slot.  0, or -1.
 */
static int
spawn(struct master *m, int sidecar)
{
	struct slot	*s = NULL;
	sigset_t	 all, old;
	pid_t		 pid;
	int		 i;

	for (i = 0; i < SCOREBOARD_SLOTS; i++)
		if (m->sb->slots[i].pid == 0) {
			s = &m->sb->slots[i];
			break;
		}
	if (s == NULL) {
		log_errorx("no free scoreboard slot");
		return -1;
	}
	memset(s, 0, sizeof(*s));
	s->sidecar = sidecar;
	s->state = SLOT_STARTING;
	s->generation = m->generation;
	s->started_ms = scoreboard_now_ms();
	/*
	 * Signals stay blocked across fork (issue 8): one that reaches the
	 * child before its own handlers are in place waits for them (the
	 * worker unblocks), rather than running the master's handler or
	 * libfcgi's in the child.
	 */
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	switch ((pid = fork())) {
	case -1:
		log_warn("fork");
		sigprocmask(SIG_SETMASK, &old, NULL);
		s->state = SLOT_FREE;
		return -1;
	case 0:
		signals_reset_in_child();
		/* a worker must not outlive a master killed with SIGKILL */
		if (prctl(PR_SET_PDEATHSIG, SIGTERM) == -1 ||
		    getppid() != m->pid)
			_exit(1);
		if (sidecar != 0) {
			/* its own name in ps and top: not a worker */
			(void)prctl(PR_SET_NAME, m->app->sidecars[sidecar -
			    1].name);
			close(m->listen_fd);
			sidecar_run(&m->app->sidecars[sidecar - 1], m->conf, s);
		}
		worker_run(m->app, m->conf, m->listen_fd, m->sb, s, stagger(m));
		/* NOTREACHED */
	default:
		s->pid = pid;
		sigprocmask(SIG_SETMASK, &old, NULL);
		m->spawned++;
		log_debug("%s %ld started", slot_name(m, s), (long)pid);
		return 0;
	}
}

static void
signal_generation(struct master *m, int sig, int old_only)
{
	struct slot	*s;
	int		 i;

	for (i = 0; i < SCOREBOARD_SLOTS; i++) {
		s = &m->sb->slots[i];
		if (s->pid == 0 || (old_only && s->generation == m->generation))
			continue;
		if (sig == SIGTERM) {
			s->state = SLOT_STOPPING;
			s->stop_sent = 1;
		}
		kill(s->pid, sig);
	}
}

static enum exit_cause
exit_cause(const struct master *m, const struct slot *s, int status)
{
	if (s->timed_out)
		return EXIT_TIMEOUT;
	if (s->recycled && WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return EXIT_RECYCLED;
	/*
	 * A worker told to stop, or any worker once the pool stops (a group
	 * SIGTERM reaches them before the master does), stopped; SIGKILL
	 * after the stop grace too.  The worker's own state can be stale:
	 * it writes busy and idle itself.
	 */
	if (WIFSIGNALED(status))
		return s->stop_sent || s->state == SLOT_STOPPING ||
		    (m->state == MASTER_STOPPING && (WTERMSIG(status) ==
		    SIGTERM || WTERMSIG(status) == SIGKILL)) ?
		    EXIT_STOPPED : EXIT_CRASHED;
	if (WEXITSTATUS(status) != 0)
		return EXIT_FAILED;
	return s->stop_sent || s->state == SLOT_STOPPING ||
	    m->state == MASTER_STOPPING ? EXIT_STOPPED : EXIT_RECYCLED;
}

/*
 * Crash loop (issue 4): more than crash_threshold abnormal exits within
 * crash_interval slow respawning down (doubling, up to a minute) until a
 * crash_interval passes without one.  The master itself stays up.
 */
static void
count_crash(struct master *m, long long now)
{
	if (now - m->crash_window_ms > (long long)m->config->crash_interval *
	    1000) {
		m->crash_window_ms = now;
		m->crashes = 0;
	}
	m->last_crash_ms = now;
	if (++m->crashes <= m->config->crash_threshold)
		return;
	m->respawn_delay_ms = m->respawn_delay_ms == 0 ? 500 :
	    m->respawn_delay_ms * 2;
	if (m->respawn_delay_ms > RESPAWN_DELAY_MAX_MS)
		m->respawn_delay_ms = RESPAWN_DELAY_MAX_MS;
	m->respawn_at_ms = now + m->respawn_delay_ms;
	m->sb->crash_loop = 1;
	log_errorx("CRASH LOOP: %d workers died abnormally within %d s; "
	    "next respawn in %ld ms", m->crashes, m->config->crash_interval,
	    m->respawn_delay_ms);
}

static void
stop(struct master *m, int sig)
{
	if (m->state == MASTER_STOPPING)
		return;
	log_info("%s: stopping, in-flight requests finish (up to %d s)",
	    sig == SIGINT ? "SIGINT" : "SIGTERM", m->config->shutdown_timeout);
	m->state = MASTER_STOPPING;
	m->stop_deadline_ms = scoreboard_now_ms() +
	    (long long)m->config->shutdown_timeout * 1000;
	signal_generation(m, SIGTERM, 0);
}

static void
reap(struct master *m)
{
	struct slot	*s;
	long long	 now = scoreboard_now_ms(), lived;
	enum exit_cause	 cause;
	pid_t		 pid;
	int		 status, i;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		/*
		 * A group SIGTERM is pending for the master before any
		 * worker it killed can be waited for, so its handler has
		 * run by the time waitpid returns.
		 */
		if (stop_signal != 0)
			stop(m, stop_signal);
		s = NULL;
		for (i = 0; i < SCOREBOARD_SLOTS; i++)
			if (m->sb->slots[i].pid == pid)
				s = &m->sb->slots[i];
		if (s == NULL)
			continue;
		lived = now - s->started_ms;
		cause = exit_cause(m, s, status);
		m->sb->exits[cause]++;
		m->sb->retired_requests += s->requests;
		if (WIFSIGNALED(status))
			log_warnx("%s %ld ended (%s) by %s after %lld ms, "
			    "%lu requests", slot_name(m, s), (long)pid,
			    scoreboard_exit_name(cause),
			    signame(WTERMSIG(status)), lived, s->requests);
		else if (cause == EXIT_FAILED)
			log_warnx("%s %ld ended (failed) with status %d "
			    "after %lld ms, %lu requests", slot_name(m, s),
			    (long)pid,
			    WEXITSTATUS(status), lived, s->requests);
		else
			log_info("%s %ld ended (%s) after %lld ms, %lu "
			    "requests", slot_name(m, s), (long)pid,
			    scoreboard_exit_name(cause),
			    lived, s->requests);
		if ((cause == EXIT_CRASHED || cause == EXIT_FAILED) &&
		    m->state != MASTER_STOPPING)
			count_crash(m, now);
		memset(s, 0, sizeof(*s));
	}
	if (m->sb->crash_loop && now - m->last_crash_ms >
	    (long long)m->config->crash_interval * 1000) {
		m->sb->crash_loop = 0;
		m->respawn_delay_ms = 0;
		log_info("crash loop over: no abnormal exit for %d s",
		    m->config->crash_interval);
	}
}

/* Kills workers busy on one request for longer than request_timeout. */
static void
kill_stuck(struct master *m)
{
	struct slot	*s;
	long long	 now = scoreboard_now_ms(), busy;
	int		 i;

	for (i = 0; i < SCOREBOARD_SLOTS; i++) {
		s = &m->sb->slots[i];
		if (s->pid == 0 || __atomic_load_n(&s->state,
		    __ATOMIC_ACQUIRE) != SLOT_BUSY)
			continue;
		busy = now - s->busy_since_ms;
		if (busy <= (long long)m->config->request_timeout * 1000)
			continue;
		log_errorx("worker %ld stuck for %lld ms on request %.32s "
		    "(%.7s %.63s): killing it", (long)s->pid, busy,
		    s->request_id, s->method, s->path);
		s->timed_out = 1;
		kill(s->pid, SIGKILL);
		s->state = SLOT_STOPPING;
	}
}

/*
 * SIGHUP: the configuration loaded afresh (kept as it is when invalid),
 * then new workers replace the old one at a time.  Old sidecars stop at
 * once; new ones start with the new configuration.
 */
static void
reload(struct master *m)
{
	const struct pool_config	*pc;
	struct slot			*s;
	void				*fresh;
	char				 err[256];
	int				 i;

	if ((fresh = m->app->load(m->app->arg, err, sizeof(err))) == NULL) {
		log_errorx("reload refused, keeping the running configuration:"
		    " %s", err);
		return;
	}
	pc = m->app->pool(fresh);
	if (strcmp(pc->listen, m->config->listen) != 0)
		log_warnx("reload: a new listen address needs a restart");
	/* live workers run on their own copy since fork */
	m->app->unload(m->conf);
	m->conf = fresh;
	m->config = pc;
	log_set_level(m->config->log_level);
	m->sb->workers_wanted = m->config->workers;
	for (i = 0; i < SCOREBOARD_SLOTS; i++) {
		s = &m->sb->slots[i];
		if (s->pid != 0 && s->sidecar != 0) {
			s->state = SLOT_STOPPING;
			s->stop_sent = 1;
			kill(s->pid, SIGTERM);
		}
	}
	m->generation++;
	m->state = MASTER_RELOADING;
	log_info("reloading: replacing workers one at a time");
}

/* A worker of an older generation not yet told to stop, or NULL. */
static struct slot *
old_worker(struct master *m)
{
	struct slot	*s;
	int		 i;

	for (i = 0; i < SCOREBOARD_SLOTS; i++) {
		s = &m->sb->slots[i];
		if (s->pid != 0 && s->generation != m->generation &&
		    s->state != SLOT_STOPPING && s->sidecar == 0)
			return s;
	}
	return NULL;
}

/*
 * One step of a reload, each tick: retire one old worker once a new one
 * accepts, and start the next new one, so capacity never drops.
 */
static void
reload_step(struct master *m)
{
	struct slot	*old;
	int		 fresh = slots_count(m, m->generation, 0);

	if (slots_count(m, m->generation, 1) > 0)
		return;		/* wait until the newest one accepts */
	if (fresh > 0 && (old = old_worker(m)) != NULL) {
		old->state = SLOT_STOPPING;
		old->stop_sent = 1;
		kill(old->pid, SIGTERM);
	}
	if (fresh < m->config->workers)
		spawn(m, 0);
	else if (old_worker(m) == NULL) {
		m->state = MASTER_RUNNING;
		log_info("reload done: %d workers", fresh);
	}
}

static int
live_workers(const struct master *m)
{
	int	 i, n = 0;

	for (i = 0; i < SCOREBOARD_SLOTS; i++)
		if (m->sb->slots[i].pid != 0)
			n++;
	return n;
}

/* Starts the wanted sidecars that are not running (once workers are). */
static void
sidecars_keep(struct master *m)
{
	const struct slot	*s;
	size_t			 k;
	int			 i, running;

	for (k = 0; k < m->app->nsidecars; k++) {
		if (!m->app->sidecars[k].wanted(m->conf))
			continue;
		running = 0;
		for (i = 0; i < SCOREBOARD_SLOTS && !running; i++) {
			s = &m->sb->slots[i];
			running = s->pid != 0 && s->sidecar == (int)k + 1 &&
			    s->state != SLOT_STOPPING;
		}
		if (!running)
			(void)spawn(m, (int)k + 1);
	}
}

static void
tick(struct master *m)
{
	long long	 now = scoreboard_now_ms();

	if (stop_signal != 0)
		stop(m, stop_signal);
	if (m->state == MASTER_STOPPING) {
		if (now >= m->stop_deadline_ms && live_workers(m) > 0) {
			log_warnx("shutdown_timeout passed: killing %d workers",
			    live_workers(m));
			signal_generation(m, SIGKILL, 0);
			m->stop_deadline_ms = now + 60000;
		}
		return;
	}
	kill_stuck(m);
	if (now < m->respawn_at_ms)
		return;
	if (m->state == MASTER_RELOADING) {
		reload_step(m);
		return;
	}
	while (slots_count(m, m->generation, 0) < m->config->workers &&
	    spawn(m, 0) == 0)
		if (m->respawn_delay_ms > 0)
			return;	/* one at a time while crash-looping */
	sidecars_keep(m);
}

/* RLIMIT_NOFILE and RLIMIT_CORE from the configuration (issue 4). */
static void
limits_apply(const struct pool_config *cfg)
{
	struct rlimit	 rl;

	if (cfg->rlimit_nofile > 0) {
		rl.rlim_cur = rl.rlim_max = (rlim_t)cfg->rlimit_nofile;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			log_warn("rlimit_nofile %ld", cfg->rlimit_nofile);
	}
	if (cfg->rlimit_core >= 0) {
		rl.rlim_cur = rl.rlim_max = (rlim_t)cfg->rlimit_core;
		if (setrlimit(RLIMIT_CORE, &rl) == -1)
			log_warn("rlimit_core %ld", cfg->rlimit_core);
	}
}

static void
pidfile_write(const char *path)
{
	FILE	*f;

	if (path == NULL || *path == '\0')
		return;
	if ((f = fopen(path, "w")) == NULL) {
		log_warn("pidfile %s", path);
		return;
	}
	fprintf(f, "%ld\n", (long)getpid());
	fclose(f);
}

/*
 * Runs the pool of app on listen_fd until SIGTERM/SIGINT and every worker
 * is reaped.  conf is app's configuration, from its load(); the master
 * owns it from here (unload() at the end, or at a reload).  Returns the
 * process exit status.
 */
int
master_run(const struct pool_app *app, void *conf, int listen_fd)
{
	struct master	 m;
	struct pollfd	 pfd;
	unsigned char	 sigs[32];
	ssize_t		 n, i;
	int		 fl;

	memset(&m, 0, sizeof(m));
	m.app = app;
	m.conf = conf;
	m.config = app->pool(conf);
	m.listen_fd = listen_fd;
	m.pid = getpid();
	m.sb = scoreboard_new();
	m.sb->started_at = (long long)time(NULL);
	m.sb->workers_wanted = m.config->workers;
	signals_init();
	limits_apply(m.config);
	/*
	 * Workers accept without blocking (issue 8): the one that loses the
	 * race for a connection goes back to its wait set.  The flag is on
	 * the shared open file, so it is set once here.
	 */
	if ((fl = fcntl(listen_fd, F_GETFL)) == -1 ||
	    fcntl(listen_fd, F_SETFL, fl | O_NONBLOCK) == -1)
		log_fatal("listening socket: O_NONBLOCK");
	pidfile_write(m.config->pidfile);
	log_info("master started: %d workers, max_requests %ld, "
	    "request_timeout %d s", m.config->workers, m.config->max_requests,
	    m.config->request_timeout);
	tick(&m);
	pfd.fd = sigpipe_fds[0];
	pfd.events = POLLIN;
	for (;;) {
		/* the pipe is read even when poll was interrupted */
		(void)poll(&pfd, 1, MASTER_TICK_MS);
		while ((n = read(sigpipe_fds[0], sigs, sizeof(sigs))) > 0) {
			/*
			 * A stop first (issue 8): under a group SIGTERM, the
			 * workers' deaths must be read as stopped, and
			 * nothing respawned.
			 */
			for (i = 0; i < n; i++)
				if (sigs[i] == SIGTERM || sigs[i] == SIGINT)
					stop(&m, sigs[i]);
			for (i = 0; i < n; i++) {
				if (sigs[i] == SIGCHLD)
					reap(&m);
				else if (sigs[i] == SIGHUP &&
				    m.state != MASTER_STOPPING)
					reload(&m);
			}
		}
		reap(&m);
		if (m.state == MASTER_STOPPING && live_workers(&m) == 0)
			break;
		tick(&m);
	}
	log_info("master stopped");
	if (m.config->pidfile[0] != '\0')
		(void)unlink(m.config->pidfile);
	app->unload(m.conf);
	scoreboard_free(m.sb);
	close(sigpipe_fds[0]);
	close(sigpipe_fds[1]);
	return 0;
}
