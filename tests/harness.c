/*
 * The integration stack: redis-server (tests/redis_server.c), the pool
 * ($MOCKPIE_BUILDDIR/src/mockpie-fcgi) and nginx with conf/nginx.conf.in
 * filled in, in a fresh directory; and an HTTP/1.1 client with
 * Connection: close.  No setsid/setpgid: Check's kill of a timed-out
 * test's process group must reach every server a test started.
 * MOCKPIE_TEST_WRAPPER (e.g. "valgrind --trace-children=yes ...") runs the
 * pool inside a command, with longer time limits (stack_ms()).
 */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "redis_server.h"

#define STACK_PATH_MAX		512
#define STACK_ENV_MAX		64	/* options->env entries */
#define STACK_ORIGINS_MAX	2048
#define STACK_DEFAULT_WORKERS	3
#define STACK_READY_MS		10000	/* until GET /health answers 200 */
#define STACK_NGINX_UP_MS	5000	/* until nginx accepts */
#define STACK_STOP_MS		5000	/* after SIGTERM, before SIGKILL */
#define STACK_PORT_TRIES	5	/* nginx on a port taken meanwhile */
#define STACK_KIDS_MAX		64
#define STACK_WRAPPER_WORDS	32	/* MOCKPIE_TEST_WRAPPER words */
#define STACK_WRAPPER_MAX	4096	/* and its length */
#define STACK_WRAPPER_SCALE	25	/* its time limits are this many
					   times longer (valgrind: 20-50x
					   slower) */
#define TEMPLATE_MAX		(64 * 1024)
#define HTTP_TIMEOUT_MS		5000
#define STACK_DOWN_AFTER_MS	1000	/* sentinel down-after-milliseconds */
#define STACK_HA_READY_MS	30000	/* the sentinels see the replica */
#define HTTP_HEAD_MAX		(64 * 1024)
#define HTTP_RESPONSE_MAX	(4 * 1024 * 1024)
#define HTTP_PATH_MAX		8192

struct stack {
	char			 dir[STACK_PATH_MAX];
	char			 socket[STACK_PATH_MAX];
	struct redis_server	*redis;
	struct redis_ha		*ha;		/* options->sentinel */
	char			 sentinels[256];
	pid_t			 master;	/* -1 once stopped */
	pid_t			 nginx;
	int			 port;
	int			 workers;
	int			 nginx_workers;
	int			 keepalive;
	int			 own_group;
	const char		*server_extra;	/* the caller's, or "" */
};

extern char	**environ;

static long long
now_us(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int
path_join(char *dst, size_t size, const char *dir, const char *name)
{
	int	 n = snprintf(dst, size, "%s/%s", dir, name);

	return n < 0 || (size_t)n >= size ? -1 : 0;
}

static const char *
env_or(const char *name, const char *fallback)
{
	const char	*v = getenv(name);

	return v != NULL && *v != '\0' ? v : fallback;
}

/*
 * 1 when MOCKPIE_TEST_WRAPPER names a command (e.g. valgrind and its
 * options) that stack_start() runs the pool inside, else 0.
 */
int
stack_under_wrapper(void)
{
	return env_or("MOCKPIE_TEST_WRAPPER", NULL) != NULL;
}

/*
 * A time limit of ms as it should be for the pool at hand: ms, or ms times
 * STACK_WRAPPER_SCALE when the pool runs inside MOCKPIE_TEST_WRAPPER.
 */
long
stack_ms(long ms)
{
	return stack_under_wrapper() ? ms * STACK_WRAPPER_SCALE : ms;
}

/*
 * The state letter of pid from /proc/<pid>/stat ('R', 'S', 'Z'...), or 0
 * when there is no such process.
 */
static char
proc_state(pid_t pid, pid_t *ppid)
{
	char	 path[64], buf[1024], *p;
	ssize_t	 n;
	long	 pp;
	int	 fd;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* "pid (comm) S ppid ...": comm may hold spaces and parentheses */
	if ((p = strrchr(buf, ')')) == NULL || p[1] != ' ' || p[2] == '\0')
		return 0;
	if (ppid != NULL) {
		*ppid = 0;
		if (sscanf(p + 3, "%ld", &pp) == 1)
			*ppid = (pid_t)pp;
	}
	return p[2];
}

/* 1 when pid is one of pids[n], else 0. */
int
stack_pids_contain(const pid_t *pids, int n, pid_t pid)
{
	int	 i;

	for (i = 0; i < n; i++)
		if (pids[i] == pid)
			return 1;
	return 0;
}

/* 1 when pid exists and is not a zombie, else 0. */
int
stack_pid_alive(pid_t pid)
{
	char	 st;

	if (pid <= 0)
		return 0;
	st = proc_state(pid, NULL);
	return st != 0 && st != 'Z' && st != 'X';
}

/*
 * The live (non-zombie) children of parent, at most max into out: their
 * number.  From /proc/<pid>/task/<pid>/children, else by scanning every
 * /proc/<pid>/stat for the parent pid.
 */
static int
children_of(pid_t parent, pid_t *out, int max)
{
	char		 path[64];
	FILE		*f;
	DIR		*d;
	struct dirent	*de;
	pid_t		 ppid;
	long		 pid;
	int		 n = 0;
	char		*end;

	snprintf(path, sizeof(path), "/proc/%ld/task/%ld/children",
	    (long)parent, (long)parent);
	if ((f = fopen(path, "re")) != NULL) {
		while (n < max && fscanf(f, "%ld", &pid) == 1)
			if (stack_pid_alive((pid_t)pid))
				out[n++] = (pid_t)pid;
		fclose(f);
		return n;
	}
	if ((d = opendir("/proc")) == NULL)
		return 0;
	while (n < max && (de = readdir(d)) != NULL) {
		pid = strtol(de->d_name, &end, 10);
		if (*end != '\0' || pid <= 0)
			continue;
		if (proc_state((pid_t)pid, &ppid) != 0 && ppid == parent &&
		    stack_pid_alive((pid_t)pid))
			out[n++] = (pid_t)pid;
	}
	closedir(d);
	return n;
}

/* /proc/<pid>/comm without its newline: 0, or -1. */
static int
proc_comm(pid_t pid, char *buf, size_t len)
{
	char	 path[64];
	FILE	*f;

	snprintf(path, sizeof(path), "/proc/%ld/comm", (long)pid);
	if ((f = fopen(path, "re")) == NULL)
		return -1;
	if (fgets(buf, (int)len, f) == NULL) {
		fclose(f);
		return -1;
	}
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

/*
 * Waits up to ms for our child pid to exit: its exit status (128 + the
 * signal when killed), or -1 on timeout.  A process that is not our child
 * is polled in /proc instead (gone or zombie counts as exited: 0).
 */
static int
wait_exit(pid_t pid, long ms)
{
	long long	 deadline = now_us() + ms * 1000LL;
	pid_t		 w;
	int		 status;

	for (;;) {
		w = waitpid(pid, &status, WNOHANG);
		if (w == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) :
			    128 + WTERMSIG(status);
		if (w == -1 && errno == ECHILD && !stack_pid_alive(pid))
			return 0;
		if (now_us() >= deadline)
			return -1;
		test_sleep_ms(5);
	}
}

/* SIGTERM, wait up to ms, then SIGKILL to pid and its children. */
static void
terminate(pid_t pid, long ms)
{
	pid_t	 kids[STACK_KIDS_MAX];
	int	 n, i;

	if (pid <= 0)
		return;
	kill(pid, SIGTERM);
	if (wait_exit(pid, ms) != -1)
		return;
	fprintf(stderr, "harness: pid %ld ignored SIGTERM for %ld ms: "
	    "SIGKILL\n", (long)pid, ms);
	n = children_of(pid, kids, STACK_KIDS_MAX);
	kill(pid, SIGKILL);
	for (i = 0; i < n; i++)
		kill(kids[i], SIGKILL);
	(void)wait_exit(pid, ms);
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		(void)rmdir(path);
	else
		(void)unlink(path);
	return 0;	/* go on past what cannot be removed */
}

/* Removes dir and everything under it (nginx makes *_temp directories). */
static void
rm_tree(const char *dir)
{
	if (dir[0] != '\0')
		(void)nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void
close_from(int lowfd)
{
	long	 fd, max;

#ifdef SYS_close_range
	if (syscall(SYS_close_range, (unsigned)lowfd, ~0U, 0U) == 0)
		return;
#endif
	if ((max = sysconf(_SC_OPEN_MAX)) < 0 || max > 65536)
		max = 65536;
	for (fd = lowfd; fd < max; fd++)
		close((int)fd);
}

/*
 * Forks and execs argv with envp (NULL: ours), stdout and stderr appended
 * to logpath, stdin from fd0 (-1: /dev/null), in a process group of its
 * own when own_group.  The child gets SIGTERM when we die.  Its pid, or
 * -1.
 */
static pid_t
spawn(char *const argv[], char *const envp[], const char *logpath, int fd0,
    int own_group)
{
	struct sigaction sa;
	sigset_t	 all, saved;
	pid_t		 parent = getpid(), pid;
	int		 fd, sig;

	/*
	 * Signals stay blocked until the child has dropped our handlers:
	 * Check's SIGTERM handler, inherited across fork, would kill the
	 * whole test process group from a child not yet exec'd.
	 */
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &saved);
	if ((pid = fork()) != 0) {
		if (pid == -1)
			fprintf(stderr, "harness: fork: %s\n", strerror(errno));
		sigprocmask(SIG_SETMASK, &saved, NULL);
		return pid;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;	/* the runner ignores SIGPIPE too */
	for (sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			(void)sigaction(sig, &sa, NULL);
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) == -1 || getppid() != parent)
		_exit(127);
	if (own_group && setpgid(0, 0) == -1)
		_exit(127);
	if (fd0 != -1) {
		if (fd0 != STDIN_FILENO && dup2(fd0, STDIN_FILENO) == -1)
			_exit(127);
	} else if ((fd = open("/dev/null", O_RDONLY)) != -1)
		dup2(fd, STDIN_FILENO);
	if ((fd = open(logpath, O_WRONLY | O_CREAT | O_APPEND, 0600)) != -1) {
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
	}
	close_from(3);
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	if (envp != NULL)
		environ = (char **)envp;
	execvp(argv[0], argv);
	(void)write(STDERR_FILENO, "harness: exec failed\n", 21);
	_exit(127);
}

/* A malloc'd formatted string, or NULL. */
static char *
xprintf(const char *fmt, ...)
{
	va_list	 ap;
	char	*s;
	int	 n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	return n == -1 ? NULL : s;
}

/* The value of KEY in a "KEY=VALUE" list, or NULL. */
static const char *
env_find(const char *const *env, const char *key)
{
	size_t	 klen = strlen(key);

	for (; env != NULL && *env != NULL; env++)
		if (strncmp(*env, key, klen) == 0 && (*env)[klen] == '=')
			return *env + klen + 1;
	return NULL;
}

/*
 * The pool's environment: ours without any MOCKPIE_* (a developer's
 * shell must not leak into the test), then options->env, then the
 * stack's settings for the keys options->env leaves unset.  getenv()
 * takes the first match, so options->env wins.  Entries are malloc'd;
 * free with env_free().
 */
static char **
pool_env(const struct stack *s, const struct stack_options *o,
    const char *redis_url)
{
	char		**env, *def[6];
	const char	*keys[6] = { "MOCKPIE_REDIS_URL", "MOCKPIE_DATABASE",
	    "MOCKPIE_JWT_SECRET", "MOCKPIE_WORKERS",
	    "MOCKPIE_REDIS_SENTINELS", "MOCKPIE_REDIS_MASTER_NAME" };
	size_t		 ndef = s->sentinels[0] != '\0' ? 6 : 4;
	size_t		 n = 0, i, max;
	const char	*const *e;

	memset(def, 0, sizeof(def));
	for (i = 0; environ[i] != NULL; i++)
		;
	max = i + STACK_ENV_MAX + 8;
	if ((env = calloc(max, sizeof(*env))) == NULL)
		return NULL;
	for (i = 0; environ[i] != NULL; i++)
		if (strncmp(environ[i], "MOCKPIE_", 8) != 0 &&
		    (env[n++] = strdup(environ[i])) == NULL)
			goto fail;
	for (e = o->env, i = 0; e != NULL && *e != NULL; e++, i++) {
		if (i == STACK_ENV_MAX || strchr(*e, '=') == NULL) {
			fprintf(stderr, "harness: bad or too many env "
			    "entries\n");
			goto fail;
		}
		if ((env[n++] = strdup(*e)) == NULL)
			goto fail;
	}
	if ((def[0] = xprintf("%s=%s", keys[0], redis_url)) == NULL ||
	    (def[1] = xprintf("%s=%s/mockpie.db", keys[1], s->dir)) == NULL ||
	    (def[2] = xprintf("%s=%s", keys[2], STACK_JWT_SECRET)) == NULL ||
	    (def[3] = xprintf("%s=%d", keys[3], s->workers)) == NULL)
		goto fail;
	if (ndef == 6 && ((def[4] = xprintf("%s=%s", keys[4],
	    s->sentinels)) == NULL || (def[5] = xprintf("%s=%s", keys[5],
	    "mymaster")) == NULL))
		goto fail;
	for (i = 0; i < ndef; i++)
		if (env_find(o->env, keys[i]) == NULL) {
			env[n++] = def[i];
			def[i] = NULL;
		}
	for (i = 0; i < 6; i++)
		free(def[i]);
	return env;
fail:
	for (i = 0; i < 6; i++)
		free(def[i]);
	for (i = 0; i < max; i++)
		free(env[i]);
	free(env);
	return NULL;
}

static void
env_free(char **env)
{
	size_t	 i;

	if (env == NULL)
		return;
	for (i = 0; env[i] != NULL; i++)
		free(env[i]);
	free(env);
}

/* The CORS_MAP lines for a comma-separated origin list. */
static int
cors_map(char *dst, size_t size, const char *origins)
{
	const char	*p = origins, *end;
	size_t		 len = 0, n;
	int		 w;

	dst[0] = '\0';
	while (*p != '\0') {
		p += strspn(p, ", \t");
		if (*p == '\0')
			break;
		end = p + strcspn(p, ", \t");
		n = (size_t)(end - p);
		if (memchr(p, '"', n) != NULL || memchr(p, '\\', n) != NULL)
			return -1;
		w = snprintf(dst + len, size - len, "%s\"%.*s\" $http_origin;",
		    len ? "\n\t\t" : "", (int)n, p);
		if (w < 0 || (size_t)w >= size - len)
			return -1;
		len += (size_t)w;
		p = end;
	}
	return 0;
}

struct subst {
	const char	*name;
	const char	*value;
};

/*
 * Copies template in to out with every @NAME@ of subst replaced; an
 * unknown @NAME@ is an error, so a typo cannot reach nginx.  0, or -1.
 */
static int
fill_template(const char *in, const struct subst *subst, FILE *out)
{
	const char		*p = in, *at, *end;
	const struct subst	*s;
	size_t			 n;

	while ((at = strchr(p, '@')) != NULL) {
		fwrite(p, 1, (size_t)(at - p), out);
		end = at + 1 + strspn(at + 1,
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ_0123456789");
		if (*end != '@' || end == at + 1) {
			fputc('@', out);	/* a lone @ is text */
			p = at + 1;
			continue;
		}
		n = (size_t)(end - at - 1);
		for (s = subst; s->name != NULL; s++)
			if (strlen(s->name) == n && memcmp(s->name, at + 1, n)
			    == 0)
				break;
		if (s->name == NULL) {
			fprintf(stderr, "harness: nginx.conf.in: unknown "
			    "placeholder @%.*s@\n", (int)n, at + 1);
			return -1;
		}
		fputs(s->value, out);
		p = end + 1;
	}
	fputs(p, out);
	return ferror(out) ? -1 : 0;
}

static char *
read_file(const char *path, size_t max)
{
	FILE	*f;
	char	*buf;
	size_t	 n;

	if ((f = fopen(path, "re")) == NULL) {
		fprintf(stderr, "harness: %s: %s\n", path, strerror(errno));
		return NULL;
	}
	if ((buf = malloc(max + 1)) == NULL) {
		fclose(f);
		return NULL;
	}
	n = fread(buf, 1, max + 1, f);
	fclose(f);
	if (n > max) {
		fprintf(stderr, "harness: %s: larger than %zu bytes\n", path,
		    max);
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	return buf;
}

/* Writes $DIR/nginx.conf for port: 0, or -1. */
static int
nginx_conf(struct stack *s, char *const *env, int port)
{
	char		 tpl_path[STACK_PATH_MAX], conf[STACK_PATH_MAX];
	char		 map[STACK_ORIGINS_MAX], portstr[16];
	const char	*const *cenv = (const char *const *)env;
	const char	*origins, *limit;
	char		*tpl;
	char		 workers[16], keepalive[16];
	FILE		*f;
	int		 rc = -1;
	struct subst	 subst[] = {
		{ "USER_LINE", geteuid() == 0 ? "user root root;" : "" },
		{ "RUN_DIR", s->dir },
		{ "NGINX_WORKERS", workers },
		{ "HTTP_PORT", portstr },
		{ "SOCKET", s->socket },
		{ "KEEPALIVE", keepalive },
		{ "BODY_LIMIT", "64k" },
		{ "CORS_MAP", map },
		{ "SERVER_EXTRA", s->server_extra },
		{ NULL, NULL }
	};

	snprintf(portstr, sizeof(portstr), "%d", port);
	snprintf(workers, sizeof(workers), "%d", s->nginx_workers);
	snprintf(keepalive, sizeof(keepalive), "%d", s->keepalive);
	/* nginx takes the same origins and body limit as the pool */
	if ((origins = env_find(cenv, "MOCKPIE_CORS_ORIGINS")) == NULL)
		origins = "http://localhost:3000";
	if (cors_map(map, sizeof(map), origins) == -1) {
		fprintf(stderr, "harness: bad MOCKPIE_CORS_ORIGINS\n");
		return -1;
	}
	if ((limit = env_find(cenv, "MOCKPIE_BODY_LIMIT")) != NULL)
		subst[6].value = limit;
	if (path_join(tpl_path, sizeof(tpl_path), env_or("MOCKPIE_SRCDIR",
	    "."), "conf/nginx.conf.in") == -1 ||
	    path_join(conf, sizeof(conf), s->dir, "nginx.conf") == -1)
		return -1;
	if ((tpl = read_file(tpl_path, TEMPLATE_MAX)) == NULL)
		return -1;
	if ((f = fopen(conf, "we")) == NULL) {
		fprintf(stderr, "harness: %s: %s\n", conf, strerror(errno));
		goto done;
	}
	rc = fill_template(tpl, subst, f);
	if (fclose(f) == EOF)
		rc = -1;
done:
	free(tpl);
	return rc;
}

/* 1 when something accepts TCP connections on 127.0.0.1:port. */
static int
port_accepts(int port)
{
	struct sockaddr_in	 sin;
	int			 fd, ok;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return 0;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0;
	close(fd);
	return ok;
}

/* Starts nginx on a free port (retrying if one was taken): 0, or -1. */
static int
nginx_start(struct stack *s, char *const *env)
{
	char		 conf[STACK_PATH_MAX], errlog[STACK_PATH_MAX];
	char		 log[STACK_PATH_MAX], prefix[STACK_PATH_MAX];
	const char	*bin = env_or("NGINX", NULL);
	long long	 deadline;
	int		 try, port;
	char		*argv[] = { NULL, (char *)"-p", prefix, (char *)"-c",
	    conf, (char *)"-e", errlog, (char *)"-g", (char *)"daemon off;",
	    NULL };

	if (bin == NULL)
		bin = access("/usr/sbin/nginx", X_OK) == 0 ? "/usr/sbin/nginx" :
		    "nginx";
	argv[0] = (char *)bin;
	if (snprintf(prefix, sizeof(prefix), "%s/", s->dir) >=
	    (int)sizeof(prefix) ||
	    path_join(conf, sizeof(conf), s->dir, "nginx.conf") == -1 ||
	    path_join(errlog, sizeof(errlog), s->dir, "nginx-error.log") ==
	    -1 || path_join(log, sizeof(log), s->dir, "nginx.log") == -1)
		return -1;
	for (try = 0; try < STACK_PORT_TRIES; try++) {
		if ((port = test_free_port()) == -1 ||
		    nginx_conf(s, env, port) == -1)
			return -1;
		if ((s->nginx = spawn(argv, NULL, log, -1, 0)) == -1)
			return -1;
		deadline = now_us() + STACK_NGINX_UP_MS * 1000LL;
		while (now_us() < deadline) {
			if (waitpid(s->nginx, NULL, WNOHANG) == s->nginx) {
				s->nginx = -1;
				break;	/* port taken meanwhile, or bad conf */
			}
			if (port_accepts(port)) {
				s->port = port;
				return 0;
			}
			test_sleep_ms(10);
		}
		if (s->nginx != -1) {
			terminate(s->nginx, STACK_STOP_MS);
			s->nginx = -1;
		}
	}
	fprintf(stderr, "harness: nginx did not start (see %s and %s)\n",
	    log, errlog);
	return -1;
}

/* A listening unix socket at path, mode 0660, as spawn-fcgi makes it. */
static int
unix_listener(const char *path)
{
	struct sockaddr_un	 sun;
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path))
		return -1;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    chmod(path, 0660) == -1 || listen(fd, 1024) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Splits MOCKPIE_TEST_WRAPPER at blanks (no quoting) into words[], which
 * point into buf: the number of words (0 when unset), or -1 when it has
 * more than max - 1 words or does not fit buf.
 */
static int
wrapper_words(char *buf, size_t size, char **words, int max)
{
	const char	*w = env_or("MOCKPIE_TEST_WRAPPER", NULL);
	char		*p;
	int		 n = 0;

	if (w == NULL)
		return 0;
	if (strlen(w) >= size)
		return -1;
	memcpy(buf, w, strlen(w) + 1);
	for (p = strtok(buf, " \t"); p != NULL; p = strtok(NULL, " \t")) {
		if (n == max - 1)
			return -1;
		words[n++] = p;
	}
	return n;
}

/*
 * Starts mockpie-fcgi, inside MOCKPIE_TEST_WRAPPER when set (the wrapper
 * must exec the program in its own process, as valgrind does, so that
 * the master's pid is the one we started): 0, or -1.
 */
static int
pool_start(struct stack *s, char *const *env, int inherit)
{
	char	 bin[STACK_PATH_MAX], log[STACK_PATH_MAX];
	char	 listen_arg[STACK_PATH_MAX + 8], pidfile[STACK_PATH_MAX];
	char	 wrapbuf[STACK_WRAPPER_MAX];
	char	*args[] = { bin, (char *)"--listen", listen_arg,
	    (char *)"--pidfile", pidfile, NULL };
	char	*argv[STACK_WRAPPER_WORDS + 8];
	int	 fd = -1, nw, i;

	if (path_join(bin, sizeof(bin), env_or("MOCKPIE_BUILDDIR", "."),
	    "src/mockpie-fcgi") == -1 ||
	    path_join(log, sizeof(log), s->dir, "mockpie.log") == -1 ||
	    path_join(pidfile, sizeof(pidfile), s->dir, "mockpie.pid") == -1 ||
	    snprintf(listen_arg, sizeof(listen_arg), "unix:%s", s->socket) >=
	    (int)sizeof(listen_arg))
		return -1;
	if (access(bin, X_OK) == -1) {
		fprintf(stderr, "harness: %s: %s (set MOCKPIE_BUILDDIR)\n", bin,
		    strerror(errno));
		return -1;
	}
	if (inherit) {
		if ((fd = unix_listener(s->socket)) == -1) {
			fprintf(stderr, "harness: listen %s: %s\n", s->socket,
			    strerror(errno));
			return -1;
		}
		args[1] = (char *)"--pidfile";	/* no --listen: fd 0 */
		args[2] = pidfile;
		args[3] = NULL;
	}
	if ((nw = wrapper_words(wrapbuf, sizeof(wrapbuf), argv,
	    STACK_WRAPPER_WORDS)) == -1) {
		fprintf(stderr, "harness: MOCKPIE_TEST_WRAPPER: more than %d "
		    "words or too long\n", STACK_WRAPPER_WORDS - 1);
		if (fd != -1)
			close(fd);
		return -1;
	}
	for (i = 0; args[i] != NULL; i++)
		argv[nw + i] = args[i];
	argv[nw + i] = NULL;
	s->master = spawn(argv, env, log, fd, s->own_group);
	if (fd != -1)
		close(fd);
	return s->master == -1 ? -1 : 0;
}

/*
 * 1 when GET /status shows as many workers accepting (idle or busy) as
 * the pool wants, or when the pool has no /status (status_enabled off);
 * else 0.
 */
static int
workers_ready(struct stack *s)
{
	struct http_response	 r;
	struct json_object	*o, *pool, *v;
	long long		 wanted = -1, ready = 0;
	int			 ok = 0;

	if (http_request(s, "GET", "/status", NULL, NULL, 0, &r) == -1)
		return 0;
	if (r.status == 404) {
		http_response_free(&r);
		return 1;
	}
	if (r.status == 200 && (o = http_json(&r)) != NULL) {
		if (json_object_object_get_ex(o, "pool", &pool)) {
			if (json_object_object_get_ex(pool, "workers_wanted",
			    &v))
				wanted = json_object_get_int64(v);
			if (json_object_object_get_ex(pool, "idle_workers", &v))
				ready += json_object_get_int64(v);
			if (json_object_object_get_ex(pool, "active_workers",
			    &v))
				ready += json_object_get_int64(v);
		}
		ok = wanted >= 0 && ready >= wanted;
		json_object_put(o);
	}
	http_response_free(&r);
	return ok;
}

/*
 * Waits until GET /health answers 200 through nginx, then until every
 * worker accepts (slow to start under MOCKPIE_TEST_WRAPPER, and a
 * request queued for a worker still starting is no request in flight):
 * 0, or -1.
 */
static int
wait_ready(struct stack *s)
{
	struct http_response	 r;
	long long		 deadline = now_us() +
				    stack_ms(STACK_READY_MS) * 1000LL;
	int			 last = 0;

	while (now_us() < deadline) {
		if (waitpid(s->master, NULL, WNOHANG) == s->master) {
			s->master = -1;
			fprintf(stderr, "harness: mockpie-fcgi exited at start "
			    "(see %s/mockpie.log)\n", s->dir);
			return -1;
		}
		if (last != 200 &&
		    http_request(s, "GET", "/health", NULL, NULL, 0, &r) == 0) {
			last = r.status;
			http_response_free(&r);
		}
		if (last == 200 && workers_ready(s))
			return 0;
		test_sleep_ms(20);
	}
	if (last == 200) {
		fprintf(stderr, "harness: not every worker accepted within "
		    "%ld ms (see %s/mockpie.log)\n", stack_ms(STACK_READY_MS),
		    s->dir);
		return -1;
	}
	fprintf(stderr, "harness: GET /health did not answer 200 within %ld ms "
	    "(last status %d; see %s/*.log)\n", stack_ms(STACK_READY_MS), last,
	    s->dir);
	return -1;
}

/*
 * Starts Redis (unless o->no_redis; under Sentinel with o->sentinel),
 * the pool and nginx in a fresh directory, and waits until GET /health
 * answers 200 through nginx.
 * Returns the stack, stopped and freed with stack_stop(), or NULL with a
 * message on stderr.
 */
struct stack *
stack_start(const struct stack_options *o)
{
	static const struct stack_options	 none;
	struct stack				*s;
	char					 url[STACK_PATH_MAX];
	char					**env = NULL;

	if (o == NULL)
		o = &none;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->master = s->nginx = -1;
	s->workers = o->workers > 0 ? o->workers : STACK_DEFAULT_WORKERS;
	s->nginx_workers = o->nginx_workers > 0 ? o->nginx_workers : 1;
	s->keepalive = o->keepalive > 0 ? o->keepalive : 1;
	s->own_group = o->own_group;
	s->server_extra = o->nginx_server_extra != NULL ?
	    o->nginx_server_extra : "";
	if (test_tmpdir(s->dir, sizeof(s->dir)) == -1) {
		fprintf(stderr, "harness: mkdtemp: %s\n", strerror(errno));
		s->dir[0] = '\0';
		goto fail;
	}
	if (path_join(s->socket, sizeof(s->socket), s->dir, "mockpie.sock") ==
	    -1)
		goto fail;
	if (o->no_redis || o->sentinel)	/* a port nobody listens on */
		snprintf(url, sizeof(url), "redis://127.0.0.1:%d",
		    test_free_port());
	if (o->sentinel) {
		if ((s->ha = redis_ha_start("mymaster", STACK_DOWN_AFTER_MS,
		    NULL)) == NULL ||
		    redis_ha_wait_ready(s->ha, STACK_HA_READY_MS) == -1) {
			fprintf(stderr, "harness: Redis under Sentinel did "
			    "not start\n");
			goto fail;
		}
		redis_ha_sentinel_list(s->ha, s->sentinels,
		    sizeof(s->sentinels));
	} else if (!o->no_redis) {
		if ((s->redis = redis_server_start(s->dir)) == NULL) {
			fprintf(stderr, "harness: redis-server did not "
			    "start\n");
			goto fail;
		}
		redis_server_url(s->redis, url, sizeof(url));
	}
	if ((env = pool_env(s, o, url)) == NULL ||
	    pool_start(s, env, o->inherit_socket) == -1 ||
	    nginx_start(s, env) == -1 ||
	    wait_ready(s) == -1)
		goto fail;
	env_free(env);
	return s;
fail:
	env_free(env);
	stack_stop(s);
	return NULL;
}

/*
 * Stops nginx and the pool (SIGTERM, both at once; SIGKILL after 5 s),
 * then Redis, and removes the directory (kept, and named on stderr, when
 * MOCKPIE_TEST_KEEP is set).  Takes NULL.
 */
void
stack_stop(struct stack *s)
{
	pid_t	 kids[STACK_KIDS_MAX];
	int	 n = 0, i;

	if (s == NULL)
		return;
	if (s->master > 0)
		n = children_of(s->master, kids, STACK_KIDS_MAX);
	if (s->nginx > 0)
		kill(s->nginx, SIGTERM);
	if (s->master > 0)
		kill(s->master, SIGTERM);
	terminate(s->nginx, STACK_STOP_MS);
	terminate(s->master, stack_ms(STACK_STOP_MS));
	for (i = 0; i < n; i++)		/* workers of a master killed */
		if (stack_pid_alive(kids[i]))
			kill(kids[i], SIGKILL);
	redis_server_free(s->redis);
	redis_ha_free(s->ha);
	if (getenv("MOCKPIE_TEST_KEEP") != NULL && s->dir[0] != '\0')
		fprintf(stderr, "harness: kept %s\n", s->dir);
	else
		rm_tree(s->dir);
	free(s);
}

/*
 * Sends sig (0: none) to the pool's master and waits up to ms (times
 * stack_ms()'s scale under MOCKPIE_TEST_WRAPPER) for it to exit: its exit
 * status (128 + signal when killed), or -1 on timeout or when there is no
 * master.  Call it from the process that started the stack; elsewhere it
 * can only poll /proc.
 */
int
stack_stop_pool(struct stack *s, int sig, int ms)
{
	int	 rc;

	if (s->master <= 0)
		return -1;
	if (sig != 0)
		kill(s->master, sig);
	if ((rc = wait_exit(s->master, stack_ms(ms))) != -1)
		s->master = -1;
	return rc;
}

struct redis_server *
stack_redis(struct stack *s)
{
	return s->redis;
}

/* The master, replica and sentinels of a stack started with sentinel. */
struct redis_ha *
stack_redis_ha(struct stack *s)
{
	return s->ha;
}

const char *
stack_dir(struct stack *s)
{
	return s->dir;
}

int
stack_http_port(struct stack *s)
{
	return s->port;
}

/* The pool's master, or -1 once stack_stop_pool() saw it exit. */
pid_t
stack_master_pid(struct stack *s)
{
	return s->master;
}

const char *
stack_socket_path(struct stack *s)
{
	return s->socket;
}

/* The master's live workers, at most max into out: their number. */
int
stack_worker_pids(struct stack *s, pid_t *out, int max)
{
	char	 mine[32], theirs[32];
	int	 n, i, k;

	if (s->master <= 0)
		return 0;
	n = children_of(s->master, out, max);
	/* the application's sidecars (the mail sender) take a name of
	   their own; workers keep the master's */
	if (proc_comm(s->master, mine, sizeof(mine)) == -1)
		return n;
	for (i = k = 0; i < n; i++)
		if (proc_comm(out[i], theirs, sizeof(theirs)) == -1 ||
		    strcmp(mine, theirs) == 0)
			out[k++] = out[i];
	return k;
}

/*
 * Waits up to ms (times stack_ms()'s scale under MOCKPIE_TEST_WRAPPER)
 * until the master has exactly n live workers: n, or the last count seen.
 */
int
stack_wait_workers(struct stack *s, int n, int ms)
{
	pid_t		 pids[STACK_KIDS_MAX];
	long long	 deadline = now_us() + stack_ms(ms) * 1000LL;
	int		 got;

	while ((got = stack_worker_pids(s, pids, STACK_KIDS_MAX)) != n &&
	    now_us() < deadline)
		test_sleep_ms(10);
	return got;
}

/* The size of the pool's log, to count lines written after it. */
long
stack_log_size(struct stack *s)
{
	char		 path[STACK_PATH_MAX];
	struct stat	 st;

	if (path_join(path, sizeof(path), s->dir, "mockpie.log") == -1 ||
	    stat(path, &st) == -1)
		return 0;
	return (long)st.st_size;
}

/*
 * The number of lines of the pool's log past offset from that contain
 * needle, or -1 when the log cannot be read.
 */
int
stack_log_count(struct stack *s, long from, const char *needle)
{
	char	 path[STACK_PATH_MAX], *line = NULL;
	size_t	 cap = 0;
	FILE	*f;
	int	 n = 0;

	if (path_join(path, sizeof(path), s->dir, "mockpie.log") == -1 ||
	    (f = fopen(path, "re")) == NULL)
		return -1;
	if (fseek(f, from, SEEK_SET) == -1) {
		fclose(f);
		return -1;
	}
	while (getline(&line, &cap, f) != -1)
		if (strstr(line, needle) != NULL)
			n++;
	free(line);
	fclose(f);
	return n;
}

/* Writes all of buf unless the peer is gone: 0, or -1. */
static int
send_all(int fd, const char *buf, size_t len)
{
	ssize_t	 n;

	while (len > 0) {
		if ((n = send(fd, buf, len, MSG_NOSIGNAL)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Connects to the stack's nginx and sends one HTTP/1.1 request with
 * Connection: close; headers are "Name: value" lines (NULL-terminated, or
 * NULL), and a body (NULL: none) gets its Content-Length.  0 with c set,
 * or -1.  A server that answers before taking the whole body (413) is
 * not an error: http_finish() reads its answer.
 */
int
http_start(struct stack *s, struct http_conn *c, const char *method,
    const char *path, const char *const *headers, const char *body,
    size_t body_len)
{
	struct sockaddr_in	 sin;
	struct timeval		 tv = { stack_ms(HTTP_TIMEOUT_MS) / 1000, 0 };
	char			*head = NULL;
	size_t			 headlen = 0;
	FILE			*f;
	int			 fd;

	c->fd = -1;
	c->head = strcmp(method, "HEAD") == 0;
	c->started_us = now_us();
	if (strlen(path) > HTTP_PATH_MAX || strpbrk(method, " \r\n") != NULL
	    || strpbrk(path, " \r\n") != NULL)
		return -1;
	if ((f = open_memstream(&head, &headlen)) == NULL)
		return -1;
	fprintf(f, "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
	    "Connection: close\r\n", method, path, s->port);
	for (; headers != NULL && *headers != NULL; headers++)
		fprintf(f, "%s\r\n", *headers);
	if (body != NULL)
		fprintf(f, "Content-Length: %zu\r\n", body_len);
	fputs("\r\n", f);
	if (fclose(f) == EOF || headlen > HTTP_HEAD_MAX) {
		free(head);
		return -1;
	}
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		goto fail;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)s->port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == -1 ||
	    connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1)
		goto fail;
	if (send_all(fd, head, headlen) == 0 && body != NULL)
		(void)send_all(fd, body, body_len);
	free(head);
	c->fd = fd;
	return 0;
fail:
	free(head);
	if (fd != -1)
		close(fd);
	return -1;
}

/* Decodes a chunked body in place: its length, or -1 when malformed. */
static long
dechunk(char *buf, size_t len)
{
	char	*in = buf, *end = buf + len, *out = buf, *eol, *stop;
	unsigned long size;

	for (;;) {
		if ((eol = memmem(in, (size_t)(end - in), "\r\n", 2)) == NULL)
			return -1;
		errno = 0;
		size = strtoul(in, &stop, 16);
		if (stop == in || errno != 0 || size > (size_t)(end - eol - 2))
			return -1;
		in = eol + 2;
		if (size == 0)
			return (long)(out - buf);
		memmove(out, in, size);
		out += size;
		in += size;
		if (end - in < 2 || in[0] != '\r' || in[1] != '\n')
			return -1;
		in += 2;
	}
}

/* The headers' value of name in a raw header block, or NULL. */
static const char *
header_find(const char *headers, const char *name, const char **next,
    size_t *vlen)
{
	const char	*p = headers, *eol, *v;
	size_t		 nlen = strlen(name);

	for (; p != NULL && *p != '\0'; p = eol[0] ? eol + 1 : eol) {
		eol = p + strcspn(p, "\n");
		if ((size_t)(eol - p) <= nlen || p[nlen] != ':' ||
		    strncasecmp(p, name, nlen) != 0)
			continue;
		v = p + nlen + 1;
		while (*v == ' ' || *v == '\t')
			v++;
		*vlen = (size_t)(eol - v);
		while (*vlen > 0 && isspace((unsigned char)v[*vlen - 1]))
			(*vlen)--;
		*next = eol;
		return v;
	}
	return NULL;
}

/*
 * Reads the answer to the request c sent and closes c: 0 with out filled
 * (free it with http_response_free()), or -1 when the connection failed
 * or nothing complete came within 5 s.
 */
int
http_finish(struct http_conn *c, struct http_response *out)
{
	struct pollfd	 pfd;
	char		*buf = NULL, *p, *hend;
	const char	*v, *next;
	size_t		 len = 0, cap = 0, vlen, hlen;
	long long	 deadline = c->started_us +
			    stack_ms(HTTP_TIMEOUT_MS) * 1000LL;
	long		 blen;
	ssize_t		 n;
	int		 ms, rc = -1;
	char		 num[32];
	unsigned long long cl;

	memset(out, 0, sizeof(*out));
	if (c->fd == -1)
		return -1;
	pfd.fd = c->fd;
	pfd.events = POLLIN;
	for (;;) {
		if ((ms = (int)((deadline - now_us()) / 1000)) <= 0)
			goto done;
		if (poll(&pfd, 1, ms) == -1) {
			if (errno == EINTR)
				continue;
			goto done;
		}
		if (cap - len < 16384) {
			if (cap >= HTTP_RESPONSE_MAX)
				goto done;
			cap = cap ? cap * 2 : 65536;
			if ((p = realloc(buf, cap + 1)) == NULL)
				goto done;
			buf = p;
		}
		n = recv(c->fd, buf + len, cap - len, 0);
		if (n == 0 || (n == -1 && errno == ECONNRESET && len > 0))
			break;
		if (n == -1) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			goto done;
		}
		len += (size_t)n;
	}
	if (buf == NULL)
		goto done;
	buf[len] = '\0';
	if ((hend = memmem(buf, len, "\r\n\r\n", 4)) == NULL ||
	    strncmp(buf, "HTTP/1.", 7) != 0 || len < 12 ||
	    sscanf(buf + 9, "%3d", &out->status) != 1)
		goto done;
	p = strstr(buf, "\r\n") + 2;
	hlen = (size_t)(hend + 2 - p);
	if ((out->headers = malloc(hlen + 1)) == NULL)
		goto done;
	/* lines end in "\n" alone, which header_find() expects */
	for (vlen = 0; p < hend + 2; p++)
		if (*p != '\r')
			out->headers[vlen++] = *p;
	out->headers[vlen] = '\0';
	p = hend + 4;
	blen = (long)(len - (size_t)(p - buf));
	if (c->head || out->status == 204 || out->status == 304)
		blen = 0;	/* RFC 9112 6.3: no body, whatever it says */
	else if ((v = header_find(out->headers, "Transfer-Encoding",
	    &next, &vlen)) != NULL && vlen == 7 &&
	    strncasecmp(v, "chunked", 7) == 0) {
		if ((blen = dechunk(p, (size_t)blen)) == -1)
			goto done;
	} else if ((v = header_find(out->headers, "Content-Length",
	    &next, &vlen)) != NULL) {
		if (vlen == 0 || vlen >= sizeof(num))
			goto done;
		memcpy(num, v, vlen);
		num[vlen] = '\0';
		cl = strtoull(num, NULL, 10);
		if (cl > (unsigned long long)blen)
			goto done;	/* cut short */
		blen = (long)cl;
	}
	if ((out->body = malloc((size_t)blen + 1)) == NULL)
		goto done;
	memcpy(out->body, p, (size_t)blen);
	out->body[blen] = '\0';
	out->body_len = (size_t)blen;
	out->elapsed_ms = (double)(now_us() - c->started_us) / 1000.0;
	rc = 0;
done:
	free(buf);
	close(c->fd);
	c->fd = -1;
	if (rc == -1)
		http_response_free(out);
	return rc;
}

/*
 * One request to the stack's nginx (see http_start()): 0 with out filled
 * (free it with http_response_free()), or -1 on connection failure or
 * timeout (5 s).
 */
int
http_request(struct stack *s, const char *method, const char *path,
    const char *const *headers, const char *body, size_t body_len,
    struct http_response *out)
{
	struct http_conn	 c;

	if (http_start(s, &c, method, path, headers, body, body_len) == -1) {
		memset(out, 0, sizeof(*out));
		return -1;
	}
	return http_finish(&c, out);
}

/*
 * The first value of header name (any case) copied into buf, or NULL
 * when the response has no such header.
 */
const char *
http_header(const struct http_response *r, const char *name, char *buf,
    size_t len)
{
	const char	*v, *next;
	size_t		 vlen;

	if (r->headers == NULL || len == 0 ||
	    (v = header_find(r->headers, name, &next, &vlen)) == NULL)
		return NULL;
	snprintf(buf, len, "%.*s", (int)vlen, v);
	return buf;
}

/* How many times header name appears (to catch doubled headers). */
int
http_header_count(const struct http_response *r, const char *name)
{
	const char	*p = r->headers, *next;
	size_t		 vlen;
	int		 n = 0;

	while (p != NULL && header_find(p, name, &next, &vlen) != NULL) {
		n++;
		p = next;
	}
	return n;
}

/*
 * The body parsed as strict JSON, or NULL; the caller puts it with
 * json_object_put().
 */
struct json_object *
http_json(const struct http_response *r)
{
	struct json_tokener	*tok;
	struct json_object	*o;

	if (r->body == NULL || r->body_len > INT32_MAX ||
	    (tok = json_tokener_new()) == NULL)
		return NULL;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
	    JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(tok, r->body, (int)r->body_len);
	if (o != NULL && (json_tokener_get_error(tok) != json_tokener_success
	    || json_tokener_get_parse_end(tok) != r->body_len)) {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	return o;
}

/* Frees what http_finish() filled; takes a zeroed response. */
void
http_response_free(struct http_response *r)
{
	free(r->headers);
	free(r->body);
	r->headers = r->body = NULL;
	r->body_len = 0;
}
