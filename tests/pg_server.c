/*
 * Test PostgreSQL: initdb into a fresh directory (password auth, a
 * random password for the superuser "mockpie"), then postgres on a free
 * 127.0.0.1 port with its socket in the same directory, stopped with
 * SIGINT (fast shutdown) then SIGKILL.  As root both run as the postgres
 * user, whose uid the child takes itself before exec, so the pid we wait
 * for is the postmaster's.
 */
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <sodium.h>

#include "pg_server.h"
#include "redis_server.h"	/* test_free_port, test_now_ms, ... */

#define PG_DIR_MAX		256
#define PG_PATH_MAX		512	/* a file in one of those */
#define PG_INITDB_MS		60000
#define PG_START_MS		15000	/* until it accepts connections */
#define PG_STOP_MS		10000	/* after SIGINT, before SIGKILL */
#define PG_TRIES		5	/* fresh ports when one was taken */
#define PG_USER			"mockpie"
#define PG_SYSTEM_USER		"postgres"

struct pg_server {
	pid_t	 pid;			/* the postmaster, -1 when stopped */
	int	 port;
	uid_t	 uid;			/* who runs it */
	gid_t	 gid;
	int	 drop;			/* we are root: become uid first */
	char	 bindir[PG_DIR_MAX];
	char	 dir[PG_DIR_MAX];	/* ours; the socket lives here */
	char	 data[PG_PATH_MAX];
	char	 log[PG_PATH_MAX];
	char	 password[33];
};

static const char *const pg_bindirs[] = {
	"/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/16/bin",
	"/usr/lib/postgresql/17/bin", NULL
};

static const char *
pg_bindir(void)
{
	static char	 buf[PG_PATH_MAX];
	const char	*env = getenv("PG_BINDIR");
	int		 i;

	if (env != NULL && *env != '\0')
		return env;
	for (i = 0; pg_bindirs[i] != NULL; i++) {
		snprintf(buf, sizeof(buf), "%s/postgres", pg_bindirs[i]);
		if (access(buf, X_OK) == 0)
			return pg_bindirs[i];
	}
	return NULL;
}

/*
 * Whether a server can be started here: 1, or 0 with the reason in why
 * (the caller skips, exit 77).
 */
int
pg_server_usable(char *why, size_t len)
{
	const char	*bin;
	char		 path[PG_PATH_MAX];

	if ((bin = pg_bindir()) == NULL) {
		snprintf(why, len, "no PostgreSQL server binaries in "
		    "/usr/lib/postgresql/*/bin (apt-get install postgresql) "
		    "and PG_BINDIR unset");
		return 0;
	}
	snprintf(path, sizeof(path), "%s/initdb", bin);
	if (access(path, X_OK) == -1) {
		snprintf(why, len, "%s: %s", path, strerror(errno));
		return 0;
	}
	if (geteuid() == 0 && getpwnam(PG_SYSTEM_USER) == NULL) {
		snprintf(why, len, "running as root and there is no %s user "
		    "to run PostgreSQL as", PG_SYSTEM_USER);
		return 0;
	}
	return 1;
}

static void
close_fds_from(int lowest)
{
	long	 fd, max;

#ifdef SYS_close_range
	if (syscall(SYS_close_range, (unsigned)lowest, ~0U, 0U) == 0)
		return;
#endif
	if ((max = sysconf(_SC_OPEN_MAX)) < 0 || max > 65536)
		max = 65536;
	for (fd = lowest; fd < max; fd++)
		close((int)fd);
}

/*
 * Forks argv as the server's user, output to the log, dying with us;
 * returns the pid or -1.
 */
static pid_t
pg_spawn(struct pg_server *srv, char *const argv[])
{
	sigset_t	 all, none, saved;
	pid_t		 pid;
	int		 fd, sig;

	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &saved);
	if ((pid = fork()) == -1) {
		sigprocmask(SIG_SETMASK, &saved, NULL);
		return -1;
	}
	if (pid == 0) {
		for (sig = 1; sig < NSIG; sig++)
			if (sig != SIGKILL && sig != SIGSTOP)
				signal(sig, SIG_DFL);
		if ((fd = open("/dev/null", O_RDONLY)) != -1)
			dup2(fd, STDIN_FILENO);
		if ((fd = open(srv->log, O_WRONLY | O_CREAT | O_APPEND,
		    0600)) != -1) {
			if (srv->drop)
				(void)fchown(fd, srv->uid, srv->gid);
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
		}
		close_fds_from(3);
		if (srv->drop && (setgroups(0, NULL) == -1 ||
		    setgid(srv->gid) == -1 || setuid(srv->uid) == -1))
			_exit(126);
		/* after setuid, which clears it: die with the test */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() == 1)
			_exit(125);
		if (chdir(srv->dir) == -1)
			_exit(124);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		execv(argv[0], argv);
		_exit(127);
	}
	sigprocmask(SIG_SETMASK, &saved, NULL);
	return pid;
}

/* Waits for pid until ms have passed: its status, or -1 (killed). */
static int
pg_wait_exit(pid_t pid, long ms)
{
	long long	 deadline = test_now_ms() + ms;
	int		 status;
	pid_t		 w;

	while ((w = waitpid(pid, &status, WNOHANG)) == 0 &&
	    test_now_ms() < deadline)
		test_sleep_ms(10);
	if (w == pid)
		return status;
	kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	return -1;
}

static int
pg_initdb(struct pg_server *srv)
{
	char	 initdb[PG_PATH_MAX], pwfile[PG_PATH_MAX];
	char	 dataopt[PG_PATH_MAX + 16], pwopt[PG_PATH_MAX + 16];
	char	*argv[12];
	pid_t	 pid;
	int	 fd, n = 0, status;

	snprintf(pwfile, sizeof(pwfile), "%s/pw", srv->dir);
	if ((fd = open(pwfile, O_WRONLY | O_CREAT | O_EXCL, 0600)) == -1)
		return -1;
	if (write(fd, srv->password, strlen(srv->password)) == -1 ||
	    write(fd, "\n", 1) != 1 ||
	    (srv->drop && fchown(fd, srv->uid, srv->gid) == -1)) {
		close(fd);
		return -1;
	}
	close(fd);
	snprintf(initdb, sizeof(initdb), "%s/initdb", srv->bindir);
	snprintf(dataopt, sizeof(dataopt), "--pgdata=%s", srv->data);
	snprintf(pwopt, sizeof(pwopt), "--pwfile=%s", pwfile);
	argv[n++] = initdb;
	argv[n++] = dataopt;
	argv[n++] = pwopt;
	argv[n++] = (char *)"--username=" PG_USER;
	argv[n++] = (char *)"--auth=scram-sha-256";
	argv[n++] = (char *)"--encoding=UTF8";
	argv[n++] = (char *)"--locale=C";
	argv[n++] = (char *)"--no-sync";
	argv[n++] = NULL;
	if ((pid = pg_spawn(srv, argv)) == -1)
		return -1;
	status = pg_wait_exit(pid, PG_INITDB_MS);
	unlink(pwfile);
	if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "pg_server: initdb failed (see %s)\n",
		    srv->log);
		return -1;
	}
	return 0;
}

static int
pg_accepts(const struct pg_server *srv)
{
	char	 conninfo[256];

	snprintf(conninfo, sizeof(conninfo), "host=127.0.0.1 port=%d "
	    "dbname=postgres user=" PG_USER " connect_timeout=2", srv->port);
	return PQping(conninfo) == PQPING_OK;
}

/* Starts postgres on srv->port: 0 once it accepts connections, or -1. */
static int
pg_spawn_server(struct pg_server *srv)
{
	char		 bin[PG_PATH_MAX], port[16];
	char		*argv[24];
	long long	 deadline;
	int		 n = 0, status;

	snprintf(bin, sizeof(bin), "%s/postgres", srv->bindir);
	snprintf(port, sizeof(port), "%d", srv->port);
	argv[n++] = bin;
	argv[n++] = (char *)"-D";
	argv[n++] = srv->data;
	argv[n++] = (char *)"-k";
	argv[n++] = srv->dir;
	argv[n++] = (char *)"-p";
	argv[n++] = port;
	argv[n++] = (char *)"-F";		/* fsync off: a test */
	argv[n++] = (char *)"-c";
	argv[n++] = (char *)"listen_addresses=127.0.0.1";
	argv[n++] = (char *)"-c";
	argv[n++] = (char *)"max_connections=60";
	argv[n++] = (char *)"-c";
	argv[n++] = (char *)"shared_buffers=16MB";
	argv[n++] = (char *)"-c";
	argv[n++] = (char *)"log_min_messages=warning";
	argv[n++] = NULL;
	if ((srv->pid = pg_spawn(srv, argv)) == -1)
		return -1;
	deadline = test_now_ms() + PG_START_MS;
	while (test_now_ms() < deadline) {
		if (waitpid(srv->pid, &status, WNOHANG) == srv->pid) {
			srv->pid = -1;	/* port taken, or no server */
			return -1;
		}
		if (pg_accepts(srv))
			return 0;
		test_sleep_ms(20);
	}
	fprintf(stderr, "pg_server: no connection on port %d (see %s)\n",
	    srv->port, srv->log);
	pg_server_stop(srv);
	return -1;
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	remove(path);
	return 0;
}

/*
 * initdb, then postgres on a free port.  Returns the server, which the
 * caller frees with pg_server_free(), or NULL (the reason on stderr).
 */
struct pg_server *
pg_server_start(void)
{
	struct pg_server	*srv;
	struct passwd		*pw;
	unsigned char		 raw[16];
	const char		*bin;
	int			 try;

	if ((bin = pg_bindir()) == NULL || sodium_init() < 0 ||
	    (srv = calloc(1, sizeof(*srv))) == NULL)
		return NULL;
	srv->pid = -1;
	snprintf(srv->bindir, sizeof(srv->bindir), "%s", bin);
	srv->uid = geteuid();
	srv->gid = getegid();
	if (srv->uid == 0) {
		if ((pw = getpwnam(PG_SYSTEM_USER)) == NULL) {
			free(srv);
			return NULL;
		}
		srv->uid = pw->pw_uid;
		srv->gid = pw->pw_gid;
		srv->drop = 1;
	}
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2hex(srv->password, sizeof(srv->password), raw,
	    sizeof(raw));
	if (test_tmpdir(srv->dir, sizeof(srv->dir)) == -1) {
		free(srv);
		return NULL;
	}
	snprintf(srv->data, sizeof(srv->data), "%s/data", srv->dir);
	snprintf(srv->log, sizeof(srv->log), "%s/postgres.log", srv->dir);
	if (srv->drop && chown(srv->dir, srv->uid, srv->gid) == -1)
		goto fail;
	if (pg_initdb(srv) == -1)
		goto fail;
	for (try = 0; try < PG_TRIES; try++) {
		if ((srv->port = test_free_port()) == -1)
			goto fail;
		if (pg_spawn_server(srv) == 0)
			return srv;
	}
	fprintf(stderr, "pg_server: cannot start postgres (see %s)\n",
	    srv->log);
fail:
	pg_server_free(srv);
	return NULL;
}

/*
 * Stops the server: SIGINT (fast shutdown), SIGKILL after 10 s.  0 once
 * it is gone, -1 if it could not be waited for.  It can be restarted.
 */
int
pg_server_stop(struct pg_server *srv)
{
	int	 status;

	if (srv == NULL || srv->pid <= 0)
		return 0;
	kill(srv->pid, SIGCONT);	/* a test may have stopped it */
	kill(srv->pid, SIGINT);
	status = pg_wait_exit(srv->pid, PG_STOP_MS);
	srv->pid = -1;
	return status == -1 ? -1 : 0;
}

/* Starts the server again on the same port and data: 0, or -1. */
int
pg_server_restart(struct pg_server *srv)
{
	if (srv->pid > 0)
		return 0;
	return pg_spawn_server(srv);
}

/* Stops the server and removes its directory; takes NULL. */
void
pg_server_free(struct pg_server *srv)
{
	if (srv == NULL)
		return;
	pg_server_stop(srv);
	if (srv->dir[0] != '\0')
		nftw(srv->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	sodium_memzero(srv->password, sizeof(srv->password));
	free(srv);
}

int
pg_server_port(const struct pg_server *srv)
{
	return srv->port;
}

/* Where the server's unix socket is (.s.PGSQL.PORT). */
const char *
pg_server_socket_dir(const struct pg_server *srv)
{
	return srv->dir;
}

pid_t
pg_server_pid(const struct pg_server *srv)
{
	return srv->pid;
}

const char *
pg_server_password(const struct pg_server *srv)
{
	return srv->password;
}

/* postgresql://mockpie:PASSWORD@127.0.0.1:PORT/db?sslmode=disable */
void
pg_server_url(const struct pg_server *srv, const char *db, char *buf,
    size_t len)
{
	snprintf(buf, len, "postgresql://" PG_USER ":%s@127.0.0.1:%d/%s"
	    "?sslmode=disable", srv->password, srv->port, db);
}

/* A superuser connection to db for setup and inspection, or NULL. */
PGconn *
pg_server_admin(const struct pg_server *srv, const char *db)
{
	char	 url[PG_PATH_MAX];
	PGconn	*c;

	pg_server_url(srv, db, url, sizeof(url));
	c = PQconnectdb(url);
	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "pg_server: %s", PQerrorMessage(c));
		PQfinish(c);
		return NULL;
	}
	return c;
}

/* CREATE DATABASE name (a plain identifier): 0, or -1. */
int
pg_server_create_db(struct pg_server *srv, const char *name)
{
	char		 sql[256];
	PGconn		*c;
	PGresult	*r;
	int		 ok;

	if ((c = pg_server_admin(srv, "postgres")) == NULL)
		return -1;
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s", name);
	r = PQexec(c, sql);
	if (!(ok = PQresultStatus(r) == PGRES_COMMAND_OK))
		fprintf(stderr, "pg_server: %s", PQerrorMessage(c));
	PQclear(r);
	PQfinish(c);
	return ok ? 0 : -1;
}

/*
 * Sends sig to the postmaster and every process it forked (backends):
 * SIGSTOP makes a hung server.  The number signalled, or -1.
 */
int
pg_server_signal_all(const struct pg_server *srv, int sig)
{
	char		 path[64], buf[512], *p;
	struct dirent	*de;
	DIR		*d;
	FILE		*f;
	long		 pid, ppid;
	int		 n = 0;

	if (srv->pid <= 0 || (d = opendir("/proc")) == NULL)
		return -1;
	/* no new backend while stopping, none left behind continuing */
	if (sig == SIGSTOP && kill(srv->pid, sig) == 0)
		n++;
	while ((de = readdir(d)) != NULL) {
		if ((pid = strtol(de->d_name, &p, 10)) <= 0 || *p != '\0')
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		ppid = 0;
		/* pid (comm) state ppid: comm may hold blanks */
		if (fgets(buf, sizeof(buf), f) != NULL &&
		    (p = strrchr(buf, ')')) != NULL)
			sscanf(p + 1, " %*c %ld", &ppid);
		fclose(f);
		if (ppid == srv->pid && kill((pid_t)pid, sig) == 0)
			n++;
	}
	closedir(d);
	if (sig != SIGSTOP && kill(srv->pid, sig) == 0)
		n++;
	return n;
}
