/*
 * The pool as a part of its own: this program links src/pool and
 * src/lib/log.c only, none of mockpie, and serves an application of its
 * own (an echo responder with a sidecar) through pool.h.  It shows the
 * interface is the whole contract, and tests the sidecar's supervision
 * (started with the workers, restarted when killed, stopped with them)
 * and the peer check of a TCP listener (fcgi_allowed_addrs).
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "fcgi_client.h"
#include "lib/log.h"
#include "pool/master.h"
#include "pool/pool.h"
#include "pool/scoreboard.h"
#include "runner.h"

#define ANSWER_MS	5000
#define WAIT_STEPS	500		/* of 10 ms: at most 5 s */

struct echo_conf {
	struct pool_config	 pool;
	char			 dir[64];
};

static struct echo_conf	 conf;
static char		 sock_path[128];

static void *
echo_load(void *arg, char *err, size_t errlen)
{
	(void)err;
	(void)errlen;
	return arg;		/* a reload keeps the same settings */
}

static const struct pool_config *
echo_pool(const void *c)
{
	return &((const struct echo_conf *)c)->pool;
}

static void
echo_unload(void *c)
{
	(void)c;
}

static void *
echo_worker_init(const void *c, struct scoreboard *sb, struct slot *slot)
{
	(void)c;
	(void)sb;
	return slot;
}

/* "echo <path> <pid>" for every request. */
static void
echo_serve(void *state, FCGX_Request *req, unsigned long seq)
{
	struct slot	*slot = state;
	const char	*path = FCGX_GetParam("DOCUMENT_URI", req->envp);
	const char	*method = FCGX_GetParam("REQUEST_METHOD", req->envp);
	char		 id[32];

	snprintf(id, sizeof(id), "echo-%lu", seq);
	scoreboard_busy(slot, id, method ? method : "GET", path ? path : "/");
	FCGX_FPrintF(req->out, "Status: 200 OK\r\nContent-Type: text/plain"
	    "\r\n\r\necho %s %ld", path ? path : "/", (long)getpid());
}

static void
echo_worker_fini(void *state)
{
	(void)state;
}

static void
file_write(const char *name, const char *text)
{
	char	 path[128];
	FILE	*f;

	snprintf(path, sizeof(path), "%s/%s", conf.dir, name);
	if ((f = fopen(path, "w")) != NULL) {
		fputs(text, f);
		fclose(f);
	}
}

static int
ticker_wanted(const void *c)
{
	(void)c;
	return 1;
}

/* Says it runs (its pid in "ticker"), until stopped ("ticker.stopped"). */
static int
ticker_run(const void *c, struct slot *slot, volatile sig_atomic_t *stop)
{
	char	 pid[32];

	(void)c;
	(void)slot;
	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	file_write("ticker", pid);
	while (!*stop)
		usleep(10000);
	file_write("ticker.stopped", pid);
	return 0;
}

static const struct pool_sidecar echo_sidecars[] = {
	{ "ticker", ticker_wanted, ticker_run },
};

/* listen: "" for a unix socket of the pool's directory */
static pid_t
pool_start_on(const char *listen, const char *allowed)
{
	struct pool_app	 app;
	char		 err[256];
	pid_t		 pid;
	int		 fd;

	memset(&conf, 0, sizeof(conf));
	snprintf(conf.dir, sizeof(conf.dir), "/tmp/pool-app-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(conf.dir));
	snprintf(sock_path, sizeof(sock_path), "%s/pool.sock", conf.dir);
	conf.pool.workers = 2;
	if (*listen == '\0')
		snprintf(conf.pool.listen, sizeof(conf.pool.listen),
		    "unix:%s", sock_path);
	else
		snprintf(conf.pool.listen, sizeof(conf.pool.listen), "%s",
		    listen);
	snprintf(conf.pool.fcgi_allowed_addrs,
	    sizeof(conf.pool.fcgi_allowed_addrs), "%s", allowed);
	conf.pool.listen_backlog = 64;
	conf.pool.listen_mode = 0600;
	conf.pool.max_kept_connections = 4;
	conf.pool.request_limit = 4096;
	conf.pool.request_timeout = 10;
	conf.pool.shutdown_timeout = 5;
	conf.pool.slow_request_ms = 5000;
	conf.pool.crash_threshold = 5;
	conf.pool.crash_interval = 10;
	conf.pool.rlimit_core = -1;
	conf.pool.log_level = LOG_LEVEL_ERROR;
	memset(&app, 0, sizeof(app));
	app.load = echo_load;
	app.pool = echo_pool;
	app.unload = echo_unload;
	app.worker_init = echo_worker_init;
	app.serve = echo_serve;
	app.worker_fini = echo_worker_fini;
	app.sidecars = echo_sidecars;
	app.nsidecars = 1;
	app.arg = &conf;
	if ((pid = fork()) == 0) {
		log_init("pool-app", LOG_LEVEL_ERROR);
		if ((fd = master_listen(&conf.pool, err, sizeof(err))) == -1)
			_exit(2);
		_exit(master_run(&app, &conf, fd));
	}
	ck_assert_int_gt(pid, 0);
	return pid;
}

static pid_t
pool_start(void)
{
	return pool_start_on("", "");
}

/* The text of the file name in the pool's directory, or "" (bounded). */
static void
file_read(const char *name, char *buf, size_t len)
{
	char	 path[128];
	FILE	*f;

	buf[0] = '\0';
	snprintf(path, sizeof(path), "%s/%s", conf.dir, name);
	if ((f = fopen(path, "r")) == NULL)
		return;
	if (fgets(buf, (int)len, f) == NULL)
		buf[0] = '\0';
	fclose(f);
}

/* Waits until file name holds something other than not; its pid. */
static long
file_wait(const char *name, long not)
{
	char	 buf[32];
	int	 i;

	for (i = 0; i < WAIT_STEPS; i++) {
		file_read(name, buf, sizeof(buf));
		if (buf[0] != '\0' && atol(buf) != not)
			return atol(buf);
		usleep(10000);
	}
	return -1;
}

static int
echo_request(const char *path, struct fcgi_reply *r)
{
	const char	*params[] = { "REQUEST_METHOD=GET", NULL, NULL };
	unsigned char	 buf[4096];
	char		 uri[128];
	size_t		 len;
	int		 fd, i, rc;

	snprintf(uri, sizeof(uri), "DOCUMENT_URI=%s", path);
	params[1] = uri;
	for (i = 0; i < WAIT_STEPS; i++) {	/* the socket comes up */
		if ((fd = fcgi_connect(sock_path)) != -1)
			break;
		usleep(10000);
	}
	if (fd == -1)
		return -1;
	len = fcgi_request(buf, sizeof(buf), 1, 0, params, "", 0, 1);
	rc = len == 0 || fcgi_write(fd, buf, len) == -1 ? -1 :
	    fcgi_read_reply(fd, 1, ANSWER_MS, r);
	close(fd);
	return rc;
}

/* The master's exit status after SIGTERM, or -1 if it did not exit. */
static int
pool_stop(pid_t master)
{
	int	 status, i;

	kill(master, SIGTERM);
	for (i = 0; i < WAIT_STEPS * 2; i++) {
		if (waitpid(master, &status, WNOHANG) == master)
			return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
		usleep(10000);
	}
	kill(master, SIGKILL);
	waitpid(master, &status, 0);
	return -1;
}

START_TEST(another_application_is_served_by_the_pool)
{
	struct fcgi_reply	 r;
	pid_t			 master = pool_start();

	ck_assert_int_eq(echo_request("/hello", &r), 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_msg(strncmp(r.body, "echo /hello ", 12) == 0, "%s", r.body);
	ck_assert_int_eq(pool_stop(master), 0);
}
END_TEST

START_TEST(a_sidecar_is_restarted_when_killed_and_stopped_with_the_pool)
{
	struct fcgi_reply	 r;
	pid_t			 master = pool_start();
	long			 first, second;

	first = file_wait("ticker", 0);
	ck_assert_msg(first > 0, "the sidecar never started");
	ck_assert_int_eq(kill((pid_t)first, SIGKILL), 0);
	second = file_wait("ticker", first);
	ck_assert_msg(second > 0, "the sidecar was not restarted");
	/* the workers went on serving meanwhile */
	ck_assert_int_eq(echo_request("/after", &r), 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_int_eq(pool_stop(master), 0);
	ck_assert_int_eq(file_wait("ticker.stopped", 0), second);
}
END_TEST

/* A 127.0.0.1 port free a moment ago (the kernel's pick). */
static int
free_port(void)
{
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof(sin);
	int			 fd, port;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_ne(fd = socket(AF_INET, SOCK_STREAM, 0), -1);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	port = ntohs(sin.sin_port);
	close(fd);
	return port;
}

/*
 * A request to 127.0.0.1:port from the source address from (any address
 * of 127.0.0.0/8 is the loopback's): 1 answered, 0 closed unanswered,
 * -1 when no connection was made within the bound.
 */
static int
tcp_request_from(const char *from, int port)
{
	const char		*params[] = { "REQUEST_METHOD=GET",
				    "DOCUMENT_URI=/peer", NULL };
	struct sockaddr_in	 src, dst;
	struct fcgi_reply	 r;
	unsigned char		 buf[4096];
	size_t			 len;
	int			 fd = -1, i, rc;

	memset(&src, 0, sizeof(src));
	src.sin_family = AF_INET;
	ck_assert_int_eq(inet_pton(AF_INET, from, &src.sin_addr), 1);
	memset(&dst, 0, sizeof(dst));
	dst.sin_family = AF_INET;
	dst.sin_port = htons((unsigned short)port);
	dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (i = 0; i < WAIT_STEPS; i++) {	/* the socket comes up */
		ck_assert_int_ne(fd = socket(AF_INET, SOCK_STREAM, 0), -1);
		ck_assert_int_eq(bind(fd, (struct sockaddr *)&src,
		    sizeof(src)), 0);
		if (connect(fd, (struct sockaddr *)&dst, sizeof(dst)) == 0)
			break;
		close(fd);
		fd = -1;
		usleep(10000);
	}
	if (fd == -1)
		return -1;
	len = fcgi_request(buf, sizeof(buf), 1, 0, params, "", 0, 1);
	ck_assert_uint_gt(len, 0);
	/* a refused peer's write may meet the reset already */
	rc = fcgi_write(fd, buf, len) == 0 &&
	    fcgi_read_reply(fd, 1, ANSWER_MS, &r) == 0 && r.status == 200 &&
	    strncmp(r.body, "echo /peer ", 11) == 0;
	close(fd);
	return rc;
}

START_TEST(a_tcp_listener_serves_only_the_peers_fcgi_allowed_addrs_names)
{
	char	 listen[64];
	int	 port = free_port();
	pid_t	 master;

	snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
	unsetenv("FCGI_WEB_SERVER_ADDRS");
	master = pool_start_on(listen, "127.0.0.2, 127.0.0.3");
	ck_assert_int_eq(tcp_request_from("127.0.0.2", port), 1);
	ck_assert_int_eq(tcp_request_from("127.0.0.3", port), 1);
	ck_assert_int_eq(tcp_request_from("127.0.0.1", port), 0);
	ck_assert_int_eq(tcp_request_from("127.0.0.4", port), 0);
	/* the pool goes on serving the allowed peer after a refusal */
	ck_assert_int_eq(tcp_request_from("127.0.0.2", port), 1);
	ck_assert_int_eq(pool_stop(master), 0);
}
END_TEST

START_TEST(without_the_key_fcgi_web_server_addrs_is_honoured_and_the_key_wins)
{
	char	 listen[64];
	int	 port = free_port();
	pid_t	 master;

	snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
	setenv("FCGI_WEB_SERVER_ADDRS", "127.0.0.2", 1);
	master = pool_start_on(listen, "");
	ck_assert_int_eq(tcp_request_from("127.0.0.2", port), 1);
	ck_assert_int_eq(tcp_request_from("127.0.0.1", port), 0);
	ck_assert_int_eq(pool_stop(master), 0);

	port = free_port();
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
	master = pool_start_on(listen, "127.0.0.1");
	ck_assert_int_eq(tcp_request_from("127.0.0.1", port), 1);
	ck_assert_int_eq(tcp_request_from("127.0.0.2", port), 0);
	ck_assert_int_eq(pool_stop(master), 0);
	unsetenv("FCGI_WEB_SERVER_ADDRS");

	/* neither: every peer, as libfcgi does */
	port = free_port();
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
	master = pool_start_on(listen, "");
	ck_assert_int_eq(tcp_request_from("127.0.0.1", port), 1);
	ck_assert_int_eq(tcp_request_from("127.0.0.5", port), 1);
	ck_assert_int_eq(pool_stop(master), 0);
}
END_TEST

/*
 * Workers holding kept connections still accept new ones while the
 * sidecar is running: a sidecar's slot is idle with no connection, and
 * a worker that left accepts to it (as to a lighter worker) left them to
 * no one (seen: every new connection of a second nginx upstream waiting
 * in the backlog until nginx gave up).
 */
START_TEST(kept_connections_and_a_sidecar_leave_no_new_connection_unserved)
{
	const char		*params[] = { "REQUEST_METHOD=GET",
				    "DOCUMENT_URI=/kept", NULL };
	struct fcgi_reply	 r;
	unsigned char		 buf[4096];
	size_t			 len;
	int			 fds[8], i, j;
	pid_t			 master = pool_start();

	ck_assert_msg(file_wait("ticker", 0) > 0, "the sidecar never started");
	len = fcgi_request(buf, sizeof(buf), 1, 1, params, "", 0, 1);
	ck_assert_uint_gt(len, 0);
	for (i = 0; i < 8; i++) {
		ck_assert_int_ne(fds[i] = fcgi_connect(sock_path), -1);
		/* each served once and kept open: a kept connection */
		ck_assert_int_eq(fcgi_write(fds[i], buf, len), 0);
		ck_assert_int_eq(fcgi_read_reply(fds[i], 1, ANSWER_MS, &r), 0);
		ck_assert_int_eq(r.status, 200);
	}
	for (j = 0; j < 4; j++) {	/* new connections, one at a time */
		ck_assert_int_eq(echo_request("/new", &r), 0);
		ck_assert_int_eq(r.status, 200);
	}
	for (i = 0; i < 8; i++)
		close(fds[i]);
	ck_assert_int_eq(pool_stop(master), 0);
}
END_TEST

Suite *
suite(void)
{
	Suite	*s = suite_create("check_pool_app");
	TCase	*tc = tcase_create("pool_app");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, another_application_is_served_by_the_pool);
	tcase_add_test(tc,
	    a_sidecar_is_restarted_when_killed_and_stopped_with_the_pool);
	tcase_add_test(tc,
	    kept_connections_and_a_sidecar_leave_no_new_connection_unserved);
	tcase_add_test(tc,
	    a_tcp_listener_serves_only_the_peers_fcgi_allowed_addrs_names);
	tcase_add_test(tc,
	    without_the_key_fcgi_web_server_addrs_is_honoured_and_the_key_wins);
	suite_add_tcase(s, tc);
	return s;
}
