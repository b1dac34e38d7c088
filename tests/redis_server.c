/*
 * Test servers: a real redis-server started with fork and exec (no
 * setsid, so Check's process-group kill reaches it), stopped with SIGTERM
 * then SIGKILL, and a hung listener whose connections are never accepted.
 * The caller owns the directory given for the server's files.
 */
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "redis/rconn.h"
#include "redis_server.h"

#define REDIS_SERVER_ARGS_MAX	32	/* extra arguments */
#define REDIS_SERVER_START_MS	5000	/* until PING answers */
#define REDIS_SERVER_STOP_MS	5000	/* after SIGTERM, before SIGKILL */
#define REDIS_SERVER_TRIES	5	/* fresh ports when one was taken */
#define REDIS_SERVER_PATH_MAX	512
#define HUNG_LISTENER_BACKLOG	64
#define REDIS_HA_SYNC_MS	10000	/* a replica's first sync */

struct redis_server {
	pid_t	 pid;		/* -1 when stopped */
	int	 port;
	char	 portstr[8];
	char	 dir[REDIS_SERVER_PATH_MAX];
	char	 logpath[REDIS_SERVER_PATH_MAX];
	char	*password;	/* from --requirepass, or NULL */
	char	 conf[REDIS_SERVER_PATH_MAX];	/* a sentinel's config */
	char	*argv[REDIS_SERVER_ARGS_MAX + 24];
	int	 first_extra;	/* argv index of the first extra argument */
	int	 nextra;
};

struct hung_listener {
	int	 fd;
	int	 port;
};

/*
 * A lazy Redis connection to url with short timeouts and a quick back-off,
 * for tests that exercise the service's own Redis code; NULL on a bad URL.
 */
struct rconn *
test_rconn_new(const char *url)
{
	struct rconn_config	 rcfg;
	const char		*why;

	memset(&rcfg, 0, sizeof(rcfg));
	if (rconn_url_parse(url, &rcfg.url, &why) == -1)
		return NULL;
	rcfg.connect_timeout_ms = 200;
	rcfg.command_timeout_ms = 1000;
	rcfg.backoff_min_ms = 20;
	rcfg.backoff_max_ms = 100;
	return rconn_new(&rcfg);
}

/* Monotonic milliseconds, for test deadlines. */
long long
test_now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sleeps ms milliseconds, through signals. */
void
test_sleep_ms(long ms)
{
	struct timespec	 ts;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

int
test_bind_loopback(int port, int *fdp)
{
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof(sin);
	int			 fd;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) == -1) {
		close(fd);
		return -1;
	}
	*fdp = fd;
	return ntohs(sin.sin_port);
}

/* A 127.0.0.1 port nobody listened on a moment ago, or -1. */
int
test_free_port(void)
{
	int	 fd, port;

	if ((port = test_bind_loopback(0, &fd)) == -1)
		return -1;
	close(fd);
	return port;
}

/*
 * Creates a fresh directory /tmp/mockpie-test-XXXXXX and writes its path
 * into buf: 0, or -1.
 */
int
test_tmpdir(char *buf, size_t len)
{
	if (snprintf(buf, len, "/tmp/mockpie-test-XXXXXX") >= (int)len)
		return -1;
	return mkdtemp(buf) == NULL ? -1 : 0;
}

/* Removes a directory made by test_tmpdir() and the files in it. */
void
test_tmpdir_remove(const char *dir)
{
	char		 path[REDIS_SERVER_PATH_MAX];
	struct dirent	*de;
	DIR		*d;

	if ((d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) <
		    (int)sizeof(path))
			unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

/*
 * Whether something on the port answers PING as Redis does (+PONG, or
 * -NOAUTH when a password is required): 1, or 0.
 */
static int
answers_ping(int port)
{
	struct sockaddr_in	 sin;
	struct timeval		 tv = { 0, 200000 };
	char			 buf[64];
	ssize_t			 n;
	int			 fd, ok = 0;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return 0;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == -1 ||
	    connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1)
		goto done;
	if (send(fd, "PING\r\n", 6, MSG_NOSIGNAL) != 6)
		goto done;
	if ((n = recv(fd, buf, sizeof(buf) - 1, 0)) <= 0)
		goto done;
	buf[n] = '\0';
	ok = strncmp(buf, "+PONG", 5) == 0 || strncmp(buf, "-NOAUTH", 7) == 0;
done:
	close(fd);
	return ok;
}

static void
close_inherited_fds(void)
{
	long	 fd, max;

#ifdef SYS_close_range
	if (syscall(SYS_close_range, 3U, ~0U, 0U) == 0)
		return;
#endif
	if ((max = sysconf(_SC_OPEN_MAX)) < 0 || max > 65536)
		max = 65536;
	for (fd = 3; fd < max; fd++)
		close((int)fd);
}

/* Forks and execs redis-server on srv->port: 0 once PING answers, or -1. */
static int
spawn(struct redis_server *srv)
{
	sigset_t	 none, all, saved;
	long long	 deadline;
	pid_t		 pid;
	int		 status, fd, sig;

	snprintf(srv->portstr, sizeof(srv->portstr), "%d", srv->port);
	/*
	 * Signals stay blocked across fork until the child has dropped the
	 * test's handlers (Check's SIGTERM handler kills the whole process
	 * group): a signal in that window must not run them in the child.
	 */
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &saved);
	if ((pid = fork()) == -1) {
		sigprocmask(SIG_SETMASK, &saved, NULL);
		fprintf(stderr, "redis_server: fork: %s\n", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		/* only async-signal-safe calls until exec */
		for (sig = 1; sig < NSIG; sig++)
			if (sig != SIGKILL && sig != SIGSTOP)
				signal(sig, SIG_DFL);
		if ((fd = open("/dev/null", O_RDONLY)) != -1)
			dup2(fd, STDIN_FILENO);
		if ((fd = open(srv->logpath, O_WRONLY | O_CREAT | O_APPEND,
		    0600)) != -1) {
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
		}
		close_inherited_fds();
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		execvp(srv->argv[0], srv->argv);
		_exit(127);
	}
	sigprocmask(SIG_SETMASK, &saved, NULL);
	srv->pid = pid;
	deadline = test_now_ms() + REDIS_SERVER_START_MS;
	while (test_now_ms() < deadline) {
		if (waitpid(pid, &status, WNOHANG) == pid) {
			srv->pid = -1;	/* port taken, or no redis-server */
			return -1;
		}
		if (answers_ping(srv->port))
			return 0;
		test_sleep_ms(10);
	}
	fprintf(stderr, "redis_server: no answer on port %d\n", srv->port);
	redis_server_stop(srv);
	return -1;
}

/*
 * Starts redis-server on a free 127.0.0.1 port with its files (log,
 * nothing persisted) in dir, plus extra_args (NULL-terminated, may be
 * NULL), and waits until it answers PING.  Returns the server, which the
 * caller frees with redis_server_free(), or NULL.
 */
struct redis_server *
redis_server_start_args(const char *dir, const char *const *extra)
{
	struct redis_server	*srv;
	const char		*bin;
	int			 i, n, try;

	if ((srv = calloc(1, sizeof(*srv))) == NULL)
		return NULL;
	srv->pid = -1;
	if (snprintf(srv->dir, sizeof(srv->dir), "%s", dir) >=
	    (int)sizeof(srv->dir) || snprintf(srv->logpath,
	    sizeof(srv->logpath), "%s/redis.log", dir) >=
	    (int)sizeof(srv->logpath))
		goto fail;
	if ((bin = getenv("REDIS_SERVER")) == NULL || *bin == '\0')
		bin = "redis-server";
	n = 0;
	srv->argv[n++] = (char *)bin;
	srv->argv[n++] = (char *)"--port";
	srv->argv[n++] = srv->portstr;
	srv->argv[n++] = (char *)"--bind";
	srv->argv[n++] = (char *)"127.0.0.1";
	srv->argv[n++] = (char *)"--dir";
	srv->argv[n++] = srv->dir;
	srv->argv[n++] = (char *)"--save";
	srv->argv[n++] = (char *)"";
	srv->argv[n++] = (char *)"--appendonly";
	srv->argv[n++] = (char *)"no";
	srv->argv[n++] = (char *)"--daemonize";
	srv->argv[n++] = (char *)"no";
	srv->argv[n++] = (char *)"--logfile";
	srv->argv[n++] = (char *)"";
	srv->argv[n++] = (char *)"--loglevel";
	srv->argv[n++] = (char *)"warning";
	srv->first_extra = n;
	for (i = 0; extra != NULL && extra[i] != NULL; i++) {
		if (i >= REDIS_SERVER_ARGS_MAX)
			goto fail;
		if ((srv->argv[n + i] = strdup(extra[i])) == NULL)
			goto fail;
		srv->nextra++;
		if (strcmp(extra[i], "--requirepass") == 0 &&
		    extra[i + 1] != NULL && srv->password == NULL &&
		    (srv->password = strdup(extra[i + 1])) == NULL)
			goto fail;
	}
	srv->argv[n + i] = NULL;
	for (try = 0; try < REDIS_SERVER_TRIES; try++) {
		if ((srv->port = test_free_port()) == -1)
			goto fail;
		if (spawn(srv) == 0)
			return srv;
	}
	fprintf(stderr, "redis_server: cannot start %s (see %s)\n", bin,
	    srv->logpath);
fail:
	redis_server_free(srv);
	return NULL;
}

/* Like redis_server_start_args() with no extra arguments. */
struct redis_server *
redis_server_start(const char *dir)
{
	return redis_server_start_args(dir, NULL);
}

int
redis_server_port(const struct redis_server *srv)
{
	return srv->port;
}

/* Writes redis://127.0.0.1:PORT (no password) into buf. */
void
redis_server_url(const struct redis_server *srv, char *buf, size_t len)
{
	snprintf(buf, len, "redis://127.0.0.1:%d", srv->port);
}

/*
 * A plain hiredis client for test setup and inspection, authenticated
 * when the server requires a password, with 2 s timeouts.  Returns a
 * context the caller frees with redisFree(), or NULL.
 */
redisContext *
redis_server_client(const struct redis_server *srv)
{
	struct timeval	 tv = { 2, 0 };
	redisContext	*c;
	redisReply	*r;

	if ((c = redisConnectWithTimeout("127.0.0.1", srv->port, tv)) ==
	    NULL)
		return NULL;
	if (c->err || redisSetTimeout(c, tv) != REDIS_OK)
		goto fail;
	if (srv->password != NULL) {
		r = redisCommand(c, "AUTH %s", srv->password);
		if (r == NULL || r->type != REDIS_REPLY_STATUS) {
			if (r != NULL)
				freeReplyObject(r);
			goto fail;
		}
		freeReplyObject(r);
	}
	return c;
fail:
	redisFree(c);
	return NULL;
}

/*
 * Stops the server: SIGTERM, then SIGKILL after 5 s.  0 once it is gone,
 * -1 if it could not be waited for.  The server can be restarted.
 */
int
redis_server_stop(struct redis_server *srv)
{
	long long	 deadline;
	pid_t		 w;
	int		 status;

	if (srv == NULL || srv->pid <= 0)
		return 0;
	kill(srv->pid, SIGTERM);
	deadline = test_now_ms() + REDIS_SERVER_STOP_MS;
	while ((w = waitpid(srv->pid, &status, WNOHANG)) == 0 &&
	    test_now_ms() < deadline)
		test_sleep_ms(5);
	if (w == 0) {
		kill(srv->pid, SIGKILL);
		while ((w = waitpid(srv->pid, &status, 0)) == -1 &&
		    errno == EINTR)
			;
	}
	srv->pid = -1;
	return w == -1 ? -1 : 0;
}

/* Starts the server again on the same port: 0, or -1. */
int
redis_server_restart(struct redis_server *srv)
{
	int	 try;

	redis_server_stop(srv);
	for (try = 0; try < REDIS_SERVER_TRIES; try++) {
		if (spawn(srv) == 0)
			return 0;
		test_sleep_ms(50);
	}
	return -1;
}

/* Stops the server if it runs and frees it; takes NULL. */
void
redis_server_free(struct redis_server *srv)
{
	int	 i;

	if (srv == NULL)
		return;
	redis_server_stop(srv);
	for (i = 0; i < srv->nextra; i++)
		free(srv->argv[srv->first_extra + i]);
	free(srv->password);
	free(srv);
}

int
redis_server_pid(const struct redis_server *srv)
{
	return srv->pid;
}

/* Kills the server with SIGKILL (a crash, no goodbye): 0, or -1. */
int
redis_server_kill(struct redis_server *srv)
{
	int	 status;

	if (srv == NULL || srv->pid <= 0)
		return 0;
	kill(srv->pid, SIGKILL);
	while (waitpid(srv->pid, &status, 0) == -1 && errno == EINTR)
		;
	srv->pid = -1;
	return 0;
}

/*
 * Starts redis-server --sentinel on a free 127.0.0.1 port, watching the
 * master name at 127.0.0.1:master_port with quorum, down-after-ms and
 * (unless NULL) a password clients and the other sentinels must give.
 * Its configuration is written into dir, which Sentinel rewrites as it
 * learns (it needs the file writable).  The server, or NULL.
 */
struct redis_server *
redis_sentinel_start(const char *dir, const char *name, int master_port,
    int quorum, int down_after_ms, const char *password)
{
	struct redis_server	*srv;
	const char		*bin;
	FILE			*f;
	int			 n, try;

	if ((srv = calloc(1, sizeof(*srv))) == NULL)
		return NULL;
	srv->pid = -1;
	if (snprintf(srv->dir, sizeof(srv->dir), "%s", dir) >=
	    (int)sizeof(srv->dir) || snprintf(srv->logpath,
	    sizeof(srv->logpath), "%s/sentinel.log", dir) >=
	    (int)sizeof(srv->logpath) || snprintf(srv->conf,
	    sizeof(srv->conf), "%s/sentinel.conf", dir) >=
	    (int)sizeof(srv->conf))
		goto fail;
	if ((f = fopen(srv->conf, "w")) == NULL)
		goto fail;
	fprintf(f, "sentinel monitor %s 127.0.0.1 %d %d\n"
	    "sentinel down-after-milliseconds %s %d\n"
	    "sentinel failover-timeout %s 10000\n", name, master_port, quorum,
	    name, down_after_ms, name);
	if (password != NULL)
		fprintf(f, "requirepass %s\nsentinel sentinel-pass %s\n",
		    password, password);
	if (fclose(f) != 0)
		goto fail;
	if (password != NULL && (srv->password = strdup(password)) == NULL)
		goto fail;
	if ((bin = getenv("REDIS_SERVER")) == NULL || *bin == '\0')
		bin = "redis-server";
	n = 0;
	srv->argv[n++] = (char *)bin;
	srv->argv[n++] = srv->conf;
	srv->argv[n++] = (char *)"--sentinel";
	srv->argv[n++] = (char *)"--port";
	srv->argv[n++] = srv->portstr;
	srv->argv[n++] = (char *)"--bind";
	srv->argv[n++] = (char *)"127.0.0.1";
	srv->argv[n++] = (char *)"--dir";
	srv->argv[n++] = srv->dir;
	srv->argv[n++] = (char *)"--daemonize";
	srv->argv[n++] = (char *)"no";
	srv->argv[n++] = (char *)"--logfile";
	srv->argv[n++] = (char *)"";
	srv->argv[n++] = (char *)"--loglevel";
	srv->argv[n++] = (char *)"notice";
	srv->argv[n] = NULL;
	srv->first_extra = n;
	for (try = 0; try < REDIS_SERVER_TRIES; try++) {
		if ((srv->port = test_free_port()) == -1)
			goto fail;
		if (spawn(srv) == 0)
			return srv;
	}
	fprintf(stderr, "redis_server: cannot start a sentinel (see %s)\n",
	    srv->logpath);
fail:
	redis_server_free(srv);
	return NULL;
}

/* Waits up to ms for the replica's link to its master: 0, or -1. */
static int
replica_synced(struct redis_server *replica, long ms)
{
	long long	 deadline = test_now_ms() + ms;
	redisContext	*c;
	redisReply	*r;
	int		 up;

	do {
		up = 0;
		if ((c = redis_server_client(replica)) != NULL) {
			r = redisCommand(c, "INFO replication");
			up = r != NULL && r->type == REDIS_REPLY_STRING &&
			    strstr(r->str, "master_link_status:up") != NULL;
			if (r != NULL)
				freeReplyObject(r);
			redisFree(c);
		}
		if (up)
			return 0;
		test_sleep_ms(20);
	} while (test_now_ms() < deadline);
	return -1;
}

/*
 * Starts a master, its replica and three sentinels watching it under
 * name (quorum 2, down-after-ms), with a sentinel password unless NULL.
 * The set, freed with redis_ha_free(), or NULL.  Call
 * redis_ha_wait_ready() before counting on a failover.
 */
struct redis_ha *
redis_ha_start(const char *name, int down_after_ms, const char *password)
{
	struct redis_ha	*ha;
	const char	*replica_args[] = { "--replicaof", "127.0.0.1", NULL,
	    NULL };
	char		 port[16];
	int		 i;

	if ((ha = calloc(1, sizeof(*ha))) == NULL)
		return NULL;
	snprintf(ha->name, sizeof(ha->name), "%s", name);
	for (i = 0; i < 2 + REDIS_HA_SENTINELS; i++)
		if (test_tmpdir(ha->dirs[i], sizeof(ha->dirs[i])) == -1)
			goto fail;
	if ((ha->servers[0] = redis_server_start(ha->dirs[0])) == NULL)
		goto fail;
	snprintf(port, sizeof(port), "%d", ha->servers[0]->port);
	replica_args[2] = port;
	if ((ha->servers[1] = redis_server_start_args(ha->dirs[1],
	    replica_args)) == NULL)
		goto fail;
	/* in sync first: the sentinels' first INFO then lists it */
	if (replica_synced(ha->servers[1], REDIS_HA_SYNC_MS) == -1) {
		fprintf(stderr, "redis_server: the replica did not sync\n");
		goto fail;
	}
	for (i = 0; i < REDIS_HA_SENTINELS; i++)
		if ((ha->sentinels[i] = redis_sentinel_start(ha->dirs[2 + i],
		    name, ha->servers[0]->port, 2, down_after_ms, password)) ==
		    NULL)
			goto fail;
	return ha;
fail:
	redis_ha_free(ha);
	return NULL;
}

/* Stops everything and removes the directories; takes NULL. */
void
redis_ha_free(struct redis_ha *ha)
{
	int	 i;

	if (ha == NULL)
		return;
	for (i = 0; i < REDIS_HA_SENTINELS; i++)
		redis_server_free(ha->sentinels[i]);
	for (i = 0; i < 2; i++)
		redis_server_free(ha->servers[i]);
	for (i = 0; i < 2 + REDIS_HA_SENTINELS; i++)
		if (ha->dirs[i][0] != '\0')
			test_tmpdir_remove(ha->dirs[i]);
	free(ha);
}

/* "127.0.0.1:P1,127.0.0.1:P2,..." for redis_sentinels. */
void
redis_ha_sentinel_list(const struct redis_ha *ha, char *buf, size_t len)
{
	size_t	 off = 0;
	int	 i;

	buf[0] = '\0';
	for (i = 0; i < REDIS_HA_SENTINELS && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s127.0.0.1:%d",
		    i ? "," : "", ha->sentinels[i]->port);
}

/* The value of key in a flat key/value array reply, or NULL. */
static const char *
kv_get(const redisReply *r, const char *key)
{
	size_t	 i;

	if (r == NULL || r->type != REDIS_REPLY_ARRAY)
		return NULL;
	for (i = 0; i + 1 < r->elements; i += 2)
		if (r->element[i]->type == REDIS_REPLY_STRING &&
		    strcmp(r->element[i]->str, key) == 0 &&
		    r->element[i + 1]->type == REDIS_REPLY_STRING)
			return r->element[i + 1]->str;
	return NULL;
}

/*
 * 1 when the sentinel sees the replica healthy and knows the other
 * sentinels: a failover can then be forced or elected.
 */
static int
sentinel_ready(struct redis_ha *ha, int i)
{
	redisContext	*c;
	redisReply	*r;
	const char	*v;
	int		 ok = 0;

	if ((c = redis_server_client(ha->sentinels[i])) == NULL)
		return 0;
	r = redisCommand(c, "SENTINEL replicas %s", ha->name);
	if (r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
	    (v = kv_get(r->element[0], "flags")) != NULL &&
	    strcmp(v, "slave") == 0 &&
	    (v = kv_get(r->element[0], "master-link-status")) != NULL &&
	    strcmp(v, "ok") == 0)
		ok = 1;
	if (r != NULL)
		freeReplyObject(r);
	if (ok) {
		r = redisCommand(c, "SENTINEL master %s", ha->name);
		ok = (v = kv_get(r, "num-other-sentinels")) != NULL &&
		    atoi(v) == REDIS_HA_SENTINELS - 1;
		if (r != NULL)
			freeReplyObject(r);
	}
	redisFree(c);
	return ok;
}

/*
 * Waits up to ms for every sentinel to see the replica in sync and the
 * other sentinels: 0, or -1.
 */
int
redis_ha_wait_ready(struct redis_ha *ha, long ms)
{
	long long	 deadline = test_now_ms() + ms;
	int		 i;

	for (i = 0; i < REDIS_HA_SENTINELS; i++)
		while (!sentinel_ready(ha, i)) {
			if (test_now_ms() > deadline)
				return -1;
			test_sleep_ms(50);
		}
	return 0;
}

/*
 * Waits up to ms until every running sentinel names the master on port
 * (0: any port, as long as they agree) and that server's ROLE says
 * master: the port, or -1.
 */
int
redis_ha_master_port(struct redis_ha *ha, int port, long ms)
{
	long long	 deadline = test_now_ms() + ms;
	redisContext	*c;
	redisReply	*r;
	int		 i, seen, agreed, k;

	for (;;) {
		agreed = 1;
		seen = 0;
		for (i = 0; i < REDIS_HA_SENTINELS && agreed; i++) {
			if (ha->sentinels[i]->pid <= 0)
				continue;
			if ((c = redis_server_client(ha->sentinels[i])) ==
			    NULL) {
				agreed = 0;
				break;
			}
			r = redisCommand(c, "SENTINEL get-master-addr-by-name "
			    "%s", ha->name);
			if (r != NULL && r->type == REDIS_REPLY_ARRAY &&
			    r->elements == 2 &&
			    r->element[1]->type == REDIS_REPLY_STRING) {
				k = atoi(r->element[1]->str);
				if ((port != 0 && k != port) ||
				    (seen != 0 && k != seen))
					agreed = 0;
				seen = k;
			} else
				agreed = 0;
			if (r != NULL)
				freeReplyObject(r);
			redisFree(c);
		}
		for (i = 0; agreed && seen != 0 && i < 2; i++) {
			if (ha->servers[i]->port != seen)
				continue;
			if ((c = redis_server_client(ha->servers[i])) == NULL)
				break;
			r = redisCommand(c, "ROLE");
			if (r != NULL && r->type == REDIS_REPLY_ARRAY &&
			    r->elements > 0 &&
			    r->element[0]->type == REDIS_REPLY_STRING &&
			    strcmp(r->element[0]->str, "master") == 0) {
				freeReplyObject(r);
				redisFree(c);
				return seen;
			}
			if (r != NULL)
				freeReplyObject(r);
			redisFree(c);
		}
		if (test_now_ms() > deadline)
			return -1;
		test_sleep_ms(50);
	}
}

/* The server that is master now (by ROLE), or NULL. */
struct redis_server *
redis_ha_master(struct redis_ha *ha)
{
	redisContext	*c;
	redisReply	*r;
	int		 i, is;

	for (i = 0; i < 2; i++) {
		if (ha->servers[i]->pid <= 0 ||
		    (c = redis_server_client(ha->servers[i])) == NULL)
			continue;
		r = redisCommand(c, "ROLE");
		is = r != NULL && r->type == REDIS_REPLY_ARRAY &&
		    r->elements > 0 &&
		    r->element[0]->type == REDIS_REPLY_STRING &&
		    strcmp(r->element[0]->str, "master") == 0;
		if (r != NULL)
			freeReplyObject(r);
		redisFree(c);
		if (is)
			return ha->servers[i];
	}
	return NULL;
}

/* The server that is not redis_ha_master() (the other one), or NULL. */
struct redis_server *
redis_ha_replica(struct redis_ha *ha)
{
	struct redis_server	*m = redis_ha_master(ha);

	if (m == NULL)
		return NULL;
	return m == ha->servers[0] ? ha->servers[1] : ha->servers[0];
}

/*
 * A fake Redis: a 127.0.0.1 socket that listens and never accepts, so
 * the kernel completes the handshake and nothing ever answers.  Returns
 * it, freed with hung_listener_stop(), or NULL.
 */
struct hung_listener *
hung_listener_start(void)
{
	struct hung_listener	*hl;

	if ((hl = calloc(1, sizeof(*hl))) == NULL)
		return NULL;
	if ((hl->port = test_bind_loopback(0, &hl->fd)) == -1) {
		free(hl);
		return NULL;
	}
	if (listen(hl->fd, HUNG_LISTENER_BACKLOG) == -1) {
		close(hl->fd);
		free(hl);
		return NULL;
	}
	return hl;
}

int
hung_listener_port(const struct hung_listener *hl)
{
	return hl->port;
}

/* Closes the listener and frees it; takes NULL. */
void
hung_listener_stop(struct hung_listener *hl)
{
	if (hl == NULL)
		return;
	close(hl->fd);
	free(hl);
}
