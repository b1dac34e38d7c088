/*
 * The pre-forked pool through nginx (SPEC 4; issue 2 items 2 and 9): a
 * killed worker is replaced, SIGHUP replaces every worker without a
 * failed request, SIGTERM lets requests in flight finish and leaves no
 * process behind, --check-config names the bad key, and the listening
 * socket can come from spawn-fcgi on fd 0.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <hiredis/hiredis.h>
#include <json-c/json.h>

#include "harness.h"
#include "redis_server.h"
#include "runner.h"

#define WORKERS		3
#define PIDS_MAX	64
#define REPLACE_MS	2000	/* a killed worker is back within this */
#define RELOAD_MS	5000	/* every worker replaced within this */
#define STOP_MS		5000	/* SIGTERM to everything gone */
#define PAUSE_MS	400	/* Redis held still (< the 500 ms command timeout) */
#define IN_FLIGHT	(WORKERS - 1)	/* one worker left for /status */
#define OUTPUT_MAX	4096
#define SECRET_OK	"0123456789abcdef0123456789abcdef01234567"

extern char	**environ;

static struct stack	*st;

static void
start(int inherit)
{
	struct stack_options	 o;

	memset(&o, 0, sizeof(o));
	o.workers = WORKERS;
	o.inherit_socket = inherit;
	st = stack_start(&o);
	ck_assert_msg(st != NULL, "the stack did not start");
}

static void
setup(void)
{
	start(0);
}

static void
setup_inherit(void)
{
	start(1);
}

static void
teardown(void)
{
	stack_stop(st);
	st = NULL;
}

static int
health_status(void)
{
	struct http_response	 r;
	int			 status;

	if (http_request(st, "GET", "/health", NULL, NULL, 0, &r) == -1)
		return -1;
	status = r.status;
	http_response_free(&r);
	return status;
}

/*
 * POST /health: 405 from the app.  nginx may send it twice when the first
 * try met a kept connection a retiring worker closed (the shipped config
 * has fastcgi_next_upstream error non_idempotent): harmless here, since
 * the answer is the same.
 */
static int
post_status(void)
{
	struct http_response	 r;
	int			 status;

	if (http_request(st, "POST", "/health", NULL, "", 0, &r) == -1)
		return -1;
	status = r.status;
	http_response_free(&r);
	return status;
}

/* ---- workers ---- */

START_TEST(killed_worker_is_replaced_and_requests_keep_succeeding)
{
	pid_t		 before[PIDS_MAX], after[PIDS_MAX], victim;
	long long	 deadline;
	int		 n, i;

	ck_assert_int_eq(stack_wait_workers(st, WORKERS, REPLACE_MS), WORKERS);
	n = stack_worker_pids(st, before, PIDS_MAX);
	victim = before[0];
	ck_assert_int_eq(kill(victim, SIGKILL), 0);
	deadline = test_now_ms() + REPLACE_MS;
	do {
		n = stack_worker_pids(st, after, PIDS_MAX);
		if (n == WORKERS && !stack_pids_contain(after, n, victim))
			break;
		test_sleep_ms(20);
	} while (test_now_ms() < deadline);
	ck_assert_int_eq(n, WORKERS);
	ck_assert_msg(!stack_pids_contain(after, n, victim),
	    "worker %ld still listed", (long)victim);
	ck_assert(!stack_pid_alive(victim));
	for (i = 0; i < 10; i++)
		ck_assert_int_eq(health_status(), 200);
}
END_TEST

START_TEST(sighup_replaces_every_worker_without_failing_a_request)
{
	pid_t		 before[PIDS_MAX], now[PIDS_MAX];
	long long	 deadline;
	int		 nb, n = 0, i, replaced = 0, requests = 0, status;

	ck_assert_int_eq(stack_wait_workers(st, WORKERS, REPLACE_MS), WORKERS);
	nb = stack_worker_pids(st, before, PIDS_MAX);
	ck_assert_int_eq(kill(stack_master_pid(st), SIGHUP), 0);
	deadline = test_now_ms() + RELOAD_MS;
	while (test_now_ms() < deadline) {
		status = health_status();
		requests++;
		ck_assert_msg(status == 200, "GET %d during the reload got %d",
		    requests, status);
		status = post_status();
		ck_assert_msg(status == 405, "POST %d during the reload got %d",
		    requests, status);
		n = stack_worker_pids(st, now, PIDS_MAX);
		for (i = 0, replaced = 1; i < nb; i++)
			if (stack_pids_contain(now, n, before[i]))
				replaced = 0;
		if (replaced && n == WORKERS)
			break;
	}
	ck_assert_msg(replaced, "old workers still running %d ms after "
	    "SIGHUP", RELOAD_MS);
	ck_assert_int_eq(n, WORKERS);
	for (i = 0; i < 10; i++)
		ck_assert_int_eq(health_status(), 200);
}
END_TEST

/* ---- shutdown ---- */

START_TEST(sigterm_stops_the_master_and_every_worker_and_removes_the_socket)
{
	pid_t		 workers[PIDS_MAX], master = stack_master_pid(st);
	struct stat	 sb;
	char		 pidfile[512];
	long long	 deadline;
	int		 n, i, alive;

	ck_assert_int_eq(stack_wait_workers(st, WORKERS, REPLACE_MS), WORKERS);
	n = stack_worker_pids(st, workers, PIDS_MAX);
	ck_assert_int_eq(stack_stop_pool(st, SIGTERM, STOP_MS), 0);
	deadline = test_now_ms() + STOP_MS;
	do {
		for (i = 0, alive = 0; i < n; i++)
			alive += stack_pid_alive(workers[i]);
		if (alive == 0)
			break;
		test_sleep_ms(20);
	} while (test_now_ms() < deadline);
	ck_assert_msg(alive == 0, "%d workers left after SIGTERM", alive);
	ck_assert(!stack_pid_alive(master));
	ck_assert_msg(stat(stack_socket_path(st), &sb) == -1 &&
	    errno == ENOENT, "%s left behind", stack_socket_path(st));
	snprintf(pidfile, sizeof(pidfile), "%s/mockpie.pid", stack_dir(st));
	ck_assert_msg(access(pidfile, F_OK) == -1, "%s left behind", pidfile);
	ck_assert_int_ne(health_status(), 200);		/* nginx: 502 */
}
END_TEST

/* Waits until none of the n pids in before is a worker any more. */
static int
workers_replaced(const pid_t *before, int n, int ms)
{
	pid_t		 now[PIDS_MAX];
	long long	 deadline = test_now_ms() + ms;
	int		 i, k, replaced;

	do {
		k = stack_worker_pids(st, now, PIDS_MAX);
		for (i = 0, replaced = k == WORKERS; i < n; i++)
			if (stack_pids_contain(now, k, before[i]))
				replaced = 0;
		if (replaced)
			return 1;
		test_sleep_ms(20);
	} while (test_now_ms() < deadline);
	return 0;
}

START_TEST(sigterm_after_a_reload_still_removes_the_socket_and_pidfile)
{
	pid_t		 before[PIDS_MAX];
	struct stat	 sb;
	char		 pidfile[512];
	int		 n;

	ck_assert_int_eq(stack_wait_workers(st, WORKERS, REPLACE_MS), WORKERS);
	n = stack_worker_pids(st, before, PIDS_MAX);
	ck_assert_int_eq(kill(stack_master_pid(st), SIGHUP), 0);
	ck_assert_msg(workers_replaced(before, n, RELOAD_MS),
	    "workers not replaced %d ms after SIGHUP", RELOAD_MS);
	ck_assert_int_eq(health_status(), 200);
	ck_assert_int_eq(stack_stop_pool(st, SIGTERM, STOP_MS), 0);
	/* --listen and --pidfile hold across the reload */
	ck_assert_msg(stat(stack_socket_path(st), &sb) == -1 &&
	    errno == ENOENT, "%s left behind", stack_socket_path(st));
	snprintf(pidfile, sizeof(pidfile), "%s/mockpie.pid", stack_dir(st));
	ck_assert_msg(access(pidfile, F_OK) == -1, "%s left behind", pidfile);
}
END_TEST

/*
 * Polls /status until n workers are busy on path: 1, or 0 after ms.  A
 * worker that answers /status is not one of them.
 */
static int
wait_busy_on(const char *path, int n, long ms)
{
	struct http_response	 r;
	struct json_object	*o, *list, *w, *cur, *p;
	long long		 deadline = test_now_ms() + stack_ms(ms);
	size_t			 i;
	int			 busy;

	do {
		if (http_request(st, "GET", "/status", NULL, NULL, 0, &r) != 0)
			continue;
		busy = 0;
		if ((o = http_json(&r)) != NULL &&
		    json_object_object_get_ex(o, "workers", &list))
			for (i = 0; i < json_object_array_length(list); i++) {
				w = json_object_array_get_idx(list, i);
				if (json_object_object_get_ex(w,
				    "current_request", &cur) && cur != NULL &&
				    json_object_object_get_ex(cur, "path", &p) &&
				    strcmp(json_object_get_string(p), path) == 0)
					busy++;
			}
		json_object_put(o);
		http_response_free(&r);
		if (busy >= n)
			return 1;
		test_sleep_ms(10);
	} while (test_now_ms() < deadline);
	return 0;
}

START_TEST(requests_in_flight_when_sigterm_arrives_complete)
{
	struct http_conn	 c[WORKERS];
	struct http_response	 r;
	redisContext		*rc;
	redisReply		*rep;
	int			 i;

	ck_assert_int_eq(stack_wait_workers(st, WORKERS, REPLACE_MS), WORKERS);
	/* every worker's /health now waits on Redis for PAUSE_MS */
	ck_assert_ptr_nonnull(rc = redis_server_client(stack_redis(st)));
	rep = redisCommand(rc, "CLIENT PAUSE %d", PAUSE_MS);
	ck_assert_ptr_nonnull(rep);
	ck_assert_int_eq(rep->type, REDIS_REPLY_STATUS);
	freeReplyObject(rep);
	redisFree(rc);
	for (i = 0; i < IN_FLIGHT; i++)
		ck_assert_int_eq(http_start(st, &c[i], "GET", "/health", NULL,
		    NULL, 0), 0);
	/* the last worker, still free, shows them held by the others */
	ck_assert_msg(wait_busy_on("/health", IN_FLIGHT, PAUSE_MS / 2),
	    "the requests did not reach %d workers", IN_FLIGHT);
	ck_assert_int_eq(kill(stack_master_pid(st), SIGTERM), 0);
	for (i = 0; i < IN_FLIGHT; i++) {
		ck_assert_int_eq(http_finish(&c[i], &r), 0);
		ck_assert_msg(r.status == 200, "request %d in flight got %d: "
		    "%s", i, r.status, r.body);
		/* it really was in flight when SIGTERM came */
		ck_assert_msg(r.elapsed_ms >= PAUSE_MS / 2, "request %d took "
		    "only %.0f ms", i, r.elapsed_ms);
		http_response_free(&r);
	}
	ck_assert_int_eq(stack_stop_pool(st, 0, STOP_MS), 0);
}
END_TEST

/* ---- the socket from spawn-fcgi ---- */

START_TEST(pool_serves_on_a_socket_inherited_on_fd0)
{
	int	 i;

	ck_assert_int_eq(stack_wait_workers(st, WORKERS, REPLACE_MS), WORKERS);
	for (i = 0; i < 5; i++)
		ck_assert_int_eq(health_status(), 200);
	ck_assert_int_eq(stack_stop_pool(st, SIGTERM, STOP_MS), 0);
}
END_TEST

/* ---- --check-config ---- */

/*
 * Runs mockpie-fcgi [-c conf] --check-config with our environment minus
 * MOCKPIE_*, plus env: its exit status, and its output in out.
 */
static int
check_config(const char *conf, const char *const *env, char *out,
    size_t outlen)
{
	char		 bin[1024], *argv[5], **envp;
	const char	*dir = getenv("MOCKPIE_BUILDDIR");
	size_t		 n = 0, i, len = 0;
	ssize_t		 got;
	pid_t		 pid;
	int		 p[2], status, a = 0;

	snprintf(bin, sizeof(bin), "%s/src/mockpie-fcgi", dir ? dir : ".");
	argv[a++] = bin;
	if (conf != NULL) {
		argv[a++] = (char *)"-c";
		argv[a++] = (char *)conf;
	}
	argv[a++] = (char *)"--check-config";
	argv[a] = NULL;
	for (i = 0; environ[i] != NULL; i++)
		;
	ck_assert_ptr_nonnull(envp = calloc(i + 16, sizeof(*envp)));
	for (i = 0; environ[i] != NULL; i++)
		if (strncmp(environ[i], "MOCKPIE_", 8) != 0)
			envp[n++] = environ[i];
	for (i = 0; env != NULL && env[i] != NULL && i < 15; i++)
		envp[n++] = (char *)env[i];
	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_ne(pid = fork(), -1);
	if (pid == 0) {
		dup2(p[1], STDOUT_FILENO);
		dup2(p[1], STDERR_FILENO);
		close(p[0]);
		close(p[1]);
		execve(bin, argv, envp);
		_exit(127);
	}
	close(p[1]);
	while (len + 1 < outlen && (got = read(p[0], out + len,
	    outlen - len - 1)) > 0)
		len += (size_t)got;
	out[len] = '\0';
	close(p[0]);
	free(envp);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	return WEXITSTATUS(status);
}

START_TEST(shipped_configuration_passes_check_config)
{
	static const char *const env[] = { "MOCKPIE_JWT_SECRET=" SECRET_OK,
	    NULL };
	char		 conf[1024], out[OUTPUT_MAX];
	const char	*src = getenv("MOCKPIE_SRCDIR");

	snprintf(conf, sizeof(conf), "%s/conf/mockpie.conf", src ? src : ".");
	ck_assert_msg(check_config(conf, env, out, sizeof(out)) == 0,
	    "%s refused: %s", conf, out);
	ck_assert_msg(check_config(NULL, env, out, sizeof(out)) == 0,
	    "the defaults refused: %s", out);
}
END_TEST

START_TEST(non_numeric_worker_count_is_refused_naming_the_key)
{
	static const char *const env[] = { "MOCKPIE_JWT_SECRET=" SECRET_OK,
	    "MOCKPIE_WORKERS=abc", NULL };
	char	 out[OUTPUT_MAX];

	ck_assert_int_ne(check_config(NULL, env, out, sizeof(out)), 0);
	ck_assert_msg(strstr(out, "workers") != NULL, "message: %s", out);
}
END_TEST

START_TEST(short_jwt_secret_is_refused_naming_the_key)
{
	static const char *const env[] = {
	    "MOCKPIE_JWT_SECRET=only-31-bytes-is-not-enough-xyz", NULL };
	char	 out[OUTPUT_MAX];

	ck_assert_int_ne(check_config(NULL, env, out, sizeof(out)), 0);
	ck_assert_msg(strstr(out, "jwt_secret") != NULL ||
	    strstr(out, "JWT_SECRET") != NULL, "message: %s", out);
	ck_assert_msg(strstr(out, "only-31-bytes") == NULL,
	    "the secret was echoed: %s", out);
}
END_TEST

START_TEST(missing_jwt_secret_is_refused)
{
	char	 out[OUTPUT_MAX];

	ck_assert_int_ne(check_config(NULL, NULL, out, sizeof(out)), 0);
	ck_assert_msg(strstr(out, "secret") != NULL, "message: %s", out);
}
END_TEST

START_TEST(unknown_key_in_a_file_is_refused_with_file_and_line)
{
	static const char *const env[] = { "MOCKPIE_JWT_SECRET=" SECRET_OK,
	    NULL };
	char	 path[] = "/tmp/mockpie-conf-XXXXXX", out[OUTPUT_MAX];
	char	 want[sizeof(path) + 8];
	int	 fd;

	ck_assert_int_ne(fd = mkstemp(path), -1);
	ck_assert(write(fd, "workers = 4\nworkres = 5\n", 24) == 24);
	close(fd);
	ck_assert_int_ne(check_config(path, env, out, sizeof(out)), 0);
	unlink(path);
	snprintf(want, sizeof(want), "%s:2:", path);
	ck_assert_msg(strstr(out, want) != NULL && strstr(out, "workres") !=
	    NULL, "message: %s", out);
}
END_TEST

Suite *
suite(void)
{
	Suite	*s = suite_create("it_pool");
	TCase	*workers = tcase_create("workers");
	TCase	*shutdown = tcase_create("shutdown");
	TCase	*inherit = tcase_create("spawn_fcgi");
	TCase	*config = tcase_create("check_config");

	tcase_add_unchecked_fixture(workers, setup, teardown);
	tcase_set_timeout(workers, 15);
	tcase_add_test(workers,
	    killed_worker_is_replaced_and_requests_keep_succeeding);
	tcase_add_test(workers,
	    sighup_replaces_every_worker_without_failing_a_request);
	suite_add_tcase(s, workers);

	/* a stack per test, in the test's process, which waits for it */
	tcase_add_checked_fixture(shutdown, setup, teardown);
	tcase_set_timeout(shutdown, 15);
	tcase_add_test(shutdown,
	    sigterm_stops_the_master_and_every_worker_and_removes_the_socket);
	tcase_add_test(shutdown,
	    requests_in_flight_when_sigterm_arrives_complete);
	tcase_add_test(shutdown,
	    sigterm_after_a_reload_still_removes_the_socket_and_pidfile);
	suite_add_tcase(s, shutdown);

	tcase_add_checked_fixture(inherit, setup_inherit, teardown);
	tcase_set_timeout(inherit, 15);
	tcase_add_test(inherit, pool_serves_on_a_socket_inherited_on_fd0);
	suite_add_tcase(s, inherit);

	tcase_set_timeout(config, 10);
	tcase_add_test(config, shipped_configuration_passes_check_config);
	tcase_add_test(config,
	    non_numeric_worker_count_is_refused_naming_the_key);
	tcase_add_test(config, short_jwt_secret_is_refused_naming_the_key);
	tcase_add_test(config, missing_jwt_secret_is_refused);
	tcase_add_test(config,
	    unknown_key_in_a_file_is_refused_with_file_and_line);
	suite_add_tcase(s, config);
	return s;
}
