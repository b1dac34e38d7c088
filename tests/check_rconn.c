/*
 * The lazy Redis connection against real redis-servers: URL parsing,
 * AUTH and SELECT, back-off against a dead port, a hung Redis, a restart,
 * and the EVAL fallback after the script cache was flushed.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"
#include "redis/rconn.h"
#include "fake_redis.h"
#include "redis_server.h"
#include "runner.h"

#define PASSWORD	"s3cr@t:/x"
#define PASSWORD_URL	"s3cr%40t%3A%2Fx"	/* the same, escaped */

static struct redis_server	*srv;		/* plain, with a unix socket */
static struct redis_server	*auth_srv;	/* --requirepass PASSWORD */
static char			 srv_dir[64], auth_dir[64];

static double
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

static void
sleep_ms(double ms)
{
	struct timespec	 ts;

	if (ms <= 0)
		return;
	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)((ms - ts.tv_sec * 1000.0) * 1e6);
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static struct rconn *
conn_new(const char *url, int command_timeout_ms, int backoff_min_ms,
    int backoff_max_ms)
{
	struct rconn_config	 cfg;
	const char		*why;

	memset(&cfg, 0, sizeof(cfg));
	ck_assert_msg(rconn_url_parse(url, &cfg.url, &why) == 0, "%s", why);
	cfg.connect_timeout_ms = 200;
	cfg.command_timeout_ms = command_timeout_ms;
	cfg.backoff_min_ms = backoff_min_ms;
	cfg.backoff_max_ms = backoff_max_ms;
	return rconn_new(&cfg);
}

static unsigned long
failures(const struct rconn *rc)
{
	struct rconn_stats	 st;

	rconn_stats(rc, &st);
	return st.failures;
}

static long
backoff(const struct rconn *rc)
{
	struct rconn_stats	 st;

	rconn_stats(rc, &st);
	return st.backoff_ms;
}

/* Runs a command on a plain client and returns its reply (never NULL). */
static redisReply *
admin(redisContext *c, const char *fmt, ...)
{
	va_list		 ap;
	redisReply	*r;

	va_start(ap, fmt);
	r = redisvCommand(c, fmt, ap);
	va_end(ap);
	ck_assert_msg(r != NULL, "admin command failed: %s", c->errstr);
	return r;
}

static long long
connected_clients(redisContext *c)
{
	redisReply	*r = admin(c, "INFO clients");
	const char	*p;
	long long	 n;

	ck_assert_int_eq(r->type, REDIS_REPLY_STRING);
	ck_assert_ptr_nonnull(p = strstr(r->str, "connected_clients:"));
	n = strtoll(p + strlen("connected_clients:"), NULL, 10);
	freeReplyObject(r);
	return n;
}

/* GET key in db on a plain client: the value (static), or NULL for nil. */
static const char *
admin_get(redisContext *c, int db, const char *key)
{
	static char	 buf[64];
	redisReply	*r;
	const char	*v = NULL;

	r = admin(c, "SELECT %d", db);
	freeReplyObject(r);
	r = admin(c, "GET %s", key);
	if (r->type == REDIS_REPLY_STRING) {
		snprintf(buf, sizeof(buf), "%s", r->str);
		v = buf;
	}
	freeReplyObject(r);
	r = admin(c, "SELECT 0");
	freeReplyObject(r);
	return v;
}

static void
command_ok(struct rconn *rc, const char *cmd, const char *a, const char *b)
{
	redisReply	*r;

	r = b != NULL ? rconn_command(rc, cmd, a, b) : rconn_command(rc, cmd,
	    a);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_ne(r->type, REDIS_REPLY_ERROR);
	freeReplyObject(r);
}

static void
servers_start(void)
{
	char		 sock[128];
	const char	*plain_args[] = { "--unixsocket", sock,
			    "--unixsocketperm", "700", NULL };
	const char	*auth_args[] = { "--requirepass", PASSWORD, NULL };

	ck_assert_int_eq(test_tmpdir(srv_dir, sizeof(srv_dir)), 0);
	ck_assert_int_eq(test_tmpdir(auth_dir, sizeof(auth_dir)), 0);
	snprintf(sock, sizeof(sock), "%s/redis.sock", srv_dir);
	ck_assert_ptr_nonnull(srv = redis_server_start_args(srv_dir,
	    plain_args));
	ck_assert_ptr_nonnull(auth_srv = redis_server_start_args(auth_dir,
	    auth_args));
}

static void
servers_stop(void)
{
	redis_server_free(srv);
	redis_server_free(auth_srv);
	srv = auth_srv = NULL;
	test_tmpdir_remove(srv_dir);
	test_tmpdir_remove(auth_dir);
}

/* URLs */

START_TEST(url_with_host_and_port_parses)
{
	struct rconn_url	 u;
	const char		*why;

	ck_assert_int_eq(rconn_url_parse("redis://cache.internal:6380", &u,
	    &why), 0);
	ck_assert_int_eq(u.is_unix, 0);
	ck_assert_str_eq(u.host, "cache.internal");
	ck_assert_int_eq(u.port, 6380);
	ck_assert_int_eq(u.db, 0);
	ck_assert_str_eq(u.password, "");
	ck_assert_str_eq(u.user, "");
}
END_TEST

START_TEST(url_without_port_uses_6379_and_db_after_slash)
{
	struct rconn_url	 u;
	const char		*why;

	ck_assert_int_eq(rconn_url_parse("redis://localhost/3", &u, &why), 0);
	ck_assert_str_eq(u.host, "localhost");
	ck_assert_int_eq(u.port, 6379);
	ck_assert_int_eq(u.db, 3);
	ck_assert_int_eq(rconn_url_parse("redis://localhost/", &u, &why), 0);
	ck_assert_int_eq(u.db, 0);
}
END_TEST

START_TEST(url_credentials_parse_in_every_form)
{
	struct rconn_url	 u;
	const char		*why;

	ck_assert_int_eq(rconn_url_parse("redis://:hunter2@h:1/2", &u, &why),
	    0);
	ck_assert_str_eq(u.user, "");
	ck_assert_str_eq(u.password, "hunter2");
	ck_assert_str_eq(u.host, "h");
	ck_assert_int_eq(u.port, 1);
	ck_assert_int_eq(u.db, 2);
	ck_assert_int_eq(rconn_url_parse("redis://hunter2@h", &u, &why), 0);
	ck_assert_str_eq(u.user, "");
	ck_assert_str_eq(u.password, "hunter2");
	ck_assert_int_eq(rconn_url_parse("redis://app:hunter2@h:7", &u, &why),
	    0);
	ck_assert_str_eq(u.user, "app");
	ck_assert_str_eq(u.password, "hunter2");
	ck_assert_int_eq(rconn_url_parse("redis://:" PASSWORD_URL "@h", &u,
	    &why), 0);
	ck_assert_str_eq(u.password, PASSWORD);
}
END_TEST

START_TEST(url_with_bracketed_ipv6_parses)
{
	struct rconn_url	 u;
	const char		*why;

	ck_assert_int_eq(rconn_url_parse("redis://[::1]:6380", &u, &why), 0);
	ck_assert_str_eq(u.host, "::1");
	ck_assert_int_eq(u.port, 6380);
	ck_assert_int_eq(rconn_url_parse("redis://[::1]", &u, &why), 0);
	ck_assert_str_eq(u.host, "::1");
	ck_assert_int_eq(u.port, 6379);
}
END_TEST

START_TEST(unix_urls_parse_with_optional_db)
{
	struct rconn_url	 u;
	const char		*why;

	ck_assert_int_eq(rconn_url_parse("unix:///tmp/x.sock", &u, &why), 0);
	ck_assert_int_eq(u.is_unix, 1);
	ck_assert_str_eq(u.path, "/tmp/x.sock");
	ck_assert_int_eq(u.db, 0);
	ck_assert_int_eq(rconn_url_parse("unix:///x?db=2", &u, &why), 0);
	ck_assert_str_eq(u.path, "/x");
	ck_assert_int_eq(u.db, 2);
}
END_TEST

START_TEST(bad_urls_are_refused_without_showing_the_password)
{
	static const char *const bad[] = {
		"http://:hunter2@h:6379",
		"hunter2",
		"redis://:hunter2@h:0",
		"redis://:hunter2@h:70000",
		"redis://:hunter2@h:",
		"redis://:hunter2@h:12ab",
		"redis://:hunter2@:6379",
		"redis://:hunter2@",
		"redis://",
		"redis://:hunter2@h/x",
		"redis://:hunter2%zz@h",
		"redis://:hunter2@[::1",
		"redis://:hunter2@[::1]x",
		"unix://relative.sock",
		"unix:///x?db=hunter2",
	};
	char			 long_path[256], long_pass[400];
	struct rconn_url	 u;
	const char		*why;
	size_t			 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		ck_assert_msg(rconn_url_parse(bad[i], &u, &why) == -1,
		    "accepted %s", bad[i]);
		ck_assert_ptr_nonnull(why);
		ck_assert_msg(strstr(why, "hunter2") == NULL, "why: %s", why);
	}
	snprintf(long_path, sizeof(long_path), "unix:///%0200d.sock", 0);
	ck_assert_int_eq(rconn_url_parse(long_path, &u, &why), -1);
	ck_assert_ptr_nonnull(why);
	memset(long_pass, 'p', sizeof(long_pass));
	memcpy(long_pass, "redis://:", 9);
	snprintf(long_pass + 300, sizeof(long_pass) - 300, "@h:1");
	ck_assert_int_eq(rconn_url_parse(long_pass, &u, &why), -1);
	ck_assert_ptr_null(strstr(why, "ppp"));
}
END_TEST

/* a running Redis */

START_TEST(no_connection_is_made_before_first_use)
{
	char		 url[64];
	redisContext	*c;
	struct rconn	*rc;
	struct rconn_stats st;
	long long	 before;
	double		 t0;

	ck_assert_ptr_nonnull(c = redis_server_client(srv));
	redis_server_url(srv, url, sizeof(url));
	before = connected_clients(c);
	rc = conn_new(url, 500, 250, 2000);
	rconn_stats(rc, &st);
	ck_assert_int_eq(st.connected, 0);
	ck_assert_int_eq(connected_clients(c), before);
	ck_assert_ptr_eq(rconn_get(rc), rc);
	rconn_stats(rc, &st);
	ck_assert_int_eq(st.connected, 1);
	for (t0 = now_ms(); now_ms() - t0 < 1000 &&
	    connected_clients(c) == before; sleep_ms(5))
		;			/* Redis accepts at its own pace */
	ck_assert_int_eq(connected_clients(c), before + 1);
	rconn_free(rc);
	redisFree(c);
}
END_TEST

START_TEST(select_puts_keys_in_the_configured_db)
{
	char		 url[64];
	redisContext	*c;
	struct rconn	*rc;

	ck_assert_ptr_nonnull(c = redis_server_client(srv));
	snprintf(url, sizeof(url), "redis://127.0.0.1:%d/5",
	    redis_server_port(srv));
	rc = conn_new(url, 500, 250, 2000);
	command_ok(rc, "SET %s %s", "rconn:select", "five");
	ck_assert_str_eq(admin_get(c, 5, "rconn:select"), "five");
	ck_assert_ptr_null(admin_get(c, 0, "rconn:select"));
	rconn_free(rc);
	redisFree(c);
}
END_TEST

START_TEST(unix_socket_url_connects_to_its_db)
{
	char		 url[128];
	redisContext	*c;
	struct rconn	*rc;

	ck_assert_ptr_nonnull(c = redis_server_client(srv));
	snprintf(url, sizeof(url), "unix://%s/redis.sock?db=3", srv_dir);
	rc = conn_new(url, 500, 250, 2000);
	command_ok(rc, "SET %s %s", "rconn:unix", "three");
	ck_assert_str_eq(admin_get(c, 3, "rconn:unix"), "three");
	ck_assert_ptr_null(admin_get(c, 0, "rconn:unix"));
	rconn_free(rc);
	redisFree(c);
}
END_TEST

START_TEST(pipelined_replies_come_back_in_order)
{
	char		 url[64];
	struct rconn	*rc;
	redisReply	*r;

	redis_server_url(srv, url, sizeof(url));
	rc = conn_new(url, 500, 250, 2000);
	ck_assert_int_eq(rconn_append(rc, "SET %s %s", "rconn:pipe", "a"), 0);
	ck_assert_int_eq(rconn_append(rc, "APPEND %s %s", "rconn:pipe", "b"),
	    0);
	ck_assert_int_eq(rconn_append(rc, "GET %s", "rconn:pipe"), 0);
	ck_assert_ptr_nonnull(r = rconn_reply(rc));
	ck_assert_int_eq(r->type, REDIS_REPLY_STATUS);
	freeReplyObject(r);
	ck_assert_ptr_nonnull(r = rconn_reply(rc));
	ck_assert_int_eq(r->type, REDIS_REPLY_INTEGER);
	ck_assert_int_eq(r->integer, 2);
	freeReplyObject(r);
	ck_assert_ptr_nonnull(r = rconn_reply(rc));
	ck_assert_str_eq(r->str, "ab");
	freeReplyObject(r);
	rconn_free(rc);
}
END_TEST

START_TEST(scripts_still_run_after_the_script_cache_is_flushed)
{
	struct rconn_script script = { .source =
	    "return redis.call('INCRBY', KEYS[1], ARGV[1])" };
	const char	*args[] = { "rconn:script", "5" };
	size_t		 lens[] = { 12, 1 };
	char		 url[64];
	redisContext	*c;
	struct rconn	*rc;
	redisReply	*r;

	ck_assert_ptr_nonnull(c = redis_server_client(srv));
	redis_server_url(srv, url, sizeof(url));
	rc = conn_new(url, 500, 250, 2000);
	ck_assert_ptr_nonnull(r = rconn_eval(rc, &script, 1, 2, args, lens));
	ck_assert_int_eq(r->type, REDIS_REPLY_INTEGER);
	ck_assert_int_eq(r->integer, 5);
	freeReplyObject(r);
	ck_assert_int_eq(strlen(script.sha), 40);
	r = admin(c, "SCRIPT FLUSH");
	ck_assert_int_eq(r->type, REDIS_REPLY_STATUS);
	freeReplyObject(r);
	r = admin(c, "SCRIPT EXISTS %s", script.sha);
	ck_assert_int_eq(r->element[0]->integer, 0);
	freeReplyObject(r);
	ck_assert_ptr_nonnull(r = rconn_eval(rc, &script, 1, 2, args, lens));
	ck_assert_int_eq(r->type, REDIS_REPLY_INTEGER);
	ck_assert_int_eq(r->integer, 10);
	freeReplyObject(r);
	ck_assert_int_eq(failures(rc), 0);
	rconn_free(rc);
	redisFree(c);
}
END_TEST

/* a Redis with a password */

START_TEST(escaped_password_in_url_authenticates_and_selects)
{
	char		 url[128];
	redisContext	*c;
	struct rconn	*rc;

	ck_assert_ptr_nonnull(c = redis_server_client(auth_srv));
	snprintf(url, sizeof(url), "redis://:%s@127.0.0.1:%d/2",
	    PASSWORD_URL, redis_server_port(auth_srv));
	rc = conn_new(url, 500, 250, 2000);
	command_ok(rc, "SET %s %s", "rconn:auth", "two");
	ck_assert_str_eq(admin_get(c, 2, "rconn:auth"), "two");
	ck_assert_ptr_null(admin_get(c, 0, "rconn:auth"));
	rconn_free(rc);
	redisFree(c);
}
END_TEST

START_TEST(user_and_password_in_url_authenticate)
{
	char		 url[128];
	struct rconn	*rc;
	redisReply	*r;

	snprintf(url, sizeof(url), "redis://default:%s@127.0.0.1:%d",
	    PASSWORD_URL, redis_server_port(auth_srv));
	rc = conn_new(url, 500, 250, 2000);
	ck_assert_ptr_nonnull(r = rconn_command(rc, "PING"));
	ck_assert_int_eq(r->type, REDIS_REPLY_STATUS);
	ck_assert_str_eq(r->str, "PONG");
	freeReplyObject(r);
	rconn_free(rc);
}
END_TEST

START_TEST(wrong_password_gives_no_connection_and_no_leak)
{
	char		 url[128];
	struct rconn	*rc;
	struct rconn_stats st;
	redisReply	*r;

	snprintf(url, sizeof(url), "redis://:wrongpass@127.0.0.1:%d",
	    redis_server_port(auth_srv));
	rc = conn_new(url, 500, 250, 2000);
	ck_assert_ptr_null(rconn_get(rc));
	ck_assert_ptr_null(rconn_command(rc, "PING"));
	rconn_stats(rc, &st);
	ck_assert_int_eq(st.connected, 0);
	ck_assert_uint_eq(st.failures, 1);
	ck_assert_str_ne(st.last_error, "");
	ck_assert_ptr_null(strstr(st.last_error, "wrongpass"));
	rconn_free(rc);

	snprintf(url, sizeof(url), "redis://127.0.0.1:%d",
	    redis_server_port(auth_srv));
	rc = conn_new(url, 500, 250, 2000);	/* no password at all */
	ck_assert_ptr_nonnull(r = rconn_command(rc, "GET %s", "rconn:auth"));
	ck_assert_int_eq(r->type, REDIS_REPLY_ERROR);
	ck_assert_msg(strncmp(r->str, "NOAUTH", 6) == 0, "%s", r->str);
	freeReplyObject(r);
	rconn_free(rc);
}
END_TEST

/* an unreachable Redis */

/*
 * Behaviour, not durations: the failure count says whether an attempt
 * was made.  Inside the back-off is shown with a back-off far longer
 * than any scheduling delay (10 s), past it with a short one waited out.
 */
START_TEST(dead_redis_is_not_retried_before_the_backoff)
{
	char		 url[64];
	struct rconn	*rc;
	double		 t1;

	snprintf(url, sizeof(url), "redis://127.0.0.1:%d", test_free_port());
	rc = conn_new(url, 500, 10000, 20000);
	ck_assert_ptr_null(rconn_get(rc));
	ck_assert_uint_eq(failures(rc), 1);
	ck_assert_int_eq(backoff(rc), 10000);
	ck_assert_ptr_null(rconn_get(rc));	/* at once: no attempt */
	ck_assert_ptr_null(rconn_command(rc, "PING"));
	sleep_ms(200);				/* still inside the back-off */
	ck_assert_ptr_null(rconn_get(rc));
	ck_assert_ptr_null(rconn_command(rc, "PING"));
	ck_assert_uint_eq(failures(rc), 1);
	ck_assert_int_eq(backoff(rc), 10000);
	rconn_free(rc);

	rc = conn_new(url, 500, 250, 2000);
	ck_assert_ptr_null(rconn_get(rc));
	t1 = now_ms();
	ck_assert_uint_eq(failures(rc), 1);
	ck_assert_int_eq(backoff(rc), 250);
	sleep_ms(t1 + 260 - now_ms());		/* past it: one new attempt */
	ck_assert_ptr_null(rconn_get(rc));
	ck_assert_uint_eq(failures(rc), 2);
	ck_assert_int_eq(backoff(rc), 500);
	rconn_free(rc);
}
END_TEST

/* Each attempt past the back-off doubles it, up to the cap. */
START_TEST(backoff_doubles_up_to_its_cap)
{
	static const long expect[] = { 40, 80, 160, 320, 320, 320 };
	char		 url[64];
	struct rconn	*rc;
	double		 after;
	size_t		 i;

	snprintf(url, sizeof(url), "redis://127.0.0.1:%d", test_free_port());
	rc = conn_new(url, 500, 40, 320);
	ck_assert_ptr_null(rconn_get(rc));
	after = now_ms();
	for (i = 0; i < sizeof(expect) / sizeof(expect[0]); i++) {
		ck_assert_uint_eq(failures(rc), i + 1);
		ck_assert_int_eq(backoff(rc), expect[i]);
		sleep_ms(after + expect[i] + 2 - now_ms());
		ck_assert_ptr_null(rconn_get(rc));
		after = now_ms();
	}
	rconn_free(rc);
}
END_TEST

START_TEST(hung_redis_times_out_instead_of_hanging)
{
	struct hung_listener	*hl;
	char			 url[64];
	struct rconn		*rc;
	double			 t0, dt;

	ck_assert_ptr_nonnull(hl = hung_listener_start());
	snprintf(url, sizeof(url), "redis://127.0.0.1:%d",
	    hung_listener_port(hl));
	rc = conn_new(url, 200, 250, 2000);
	t0 = now_ms();
	ck_assert_ptr_null(rconn_command(rc, "PING"));
	dt = now_ms() - t0;
	ck_assert_msg(dt < 1500, "took %.0f ms", dt);
	ck_assert_msg(dt >= 150, "gave up after %.0f ms", dt);
	ck_assert_uint_eq(failures(rc), 1);
	rconn_free(rc);

	/* the AUTH at connect time is bounded too */
	snprintf(url, sizeof(url), "redis://:pw@127.0.0.1:%d/1",
	    hung_listener_port(hl));
	rc = conn_new(url, 200, 250, 2000);
	t0 = now_ms();
	ck_assert_ptr_null(rconn_get(rc));
	ck_assert_msg(now_ms() - t0 < 1500, "took %.0f ms", now_ms() - t0);
	rconn_free(rc);
	hung_listener_stop(hl);
}
END_TEST

START_TEST(restarted_redis_is_used_again_by_the_same_connection)
{
	struct redis_server	*own;
	char			 dir[64], url[64];
	struct rconn		*rc;
	redisReply		*r = NULL;
	double			 t0;

	ck_assert_int_eq(test_tmpdir(dir, sizeof(dir)), 0);
	ck_assert_ptr_nonnull(own = redis_server_start(dir));
	redis_server_url(own, url, sizeof(url));
	rc = conn_new(url, 500, 50, 400);
	command_ok(rc, "SET %s %s", "rconn:restart", "x");

	ck_assert_int_eq(redis_server_stop(own), 0);
	ck_assert_ptr_null(rconn_command(rc, "PING"));	/* stale socket */
	ck_assert_ptr_null(rconn_command(rc, "PING"));	/* backing off */
	sleep_ms(120);
	ck_assert_ptr_null(rconn_command(rc, "PING"));	/* refused */
	ck_assert_uint_ge(failures(rc), 2);

	ck_assert_int_eq(redis_server_restart(own), 0);
	t0 = now_ms();
	while (now_ms() - t0 < 3000 &&
	    (r = rconn_command(rc, "PING")) == NULL)
		sleep_ms(10);
	ck_assert_ptr_nonnull(r);
	ck_assert_str_eq(r->str, "PONG");
	freeReplyObject(r);
	ck_assert_msg(now_ms() - t0 < 1000, "took %.0f ms", now_ms() - t0);
	ck_assert_int_eq(backoff(rc), 0);
	rconn_free(rc);
	redis_server_free(own);
	test_tmpdir_remove(dir);
}
END_TEST

/* stale connections: Redis answers, the kept link does not */

static unsigned long
stale_reconnects(const struct rconn *rc)
{
	struct rconn_stats	 st;

	rconn_stats(rc, &st);
	return st.stale_reconnects;
}

/* A connected handle on srv that has answered once. */
static struct rconn *
proven_conn(void)
{
	char		 url[64];
	struct rconn	*rc;

	redis_server_url(srv, url, sizeof(url));
	rc = conn_new(url, 500, 250, 2000);
	command_ok(rc, "SET %s %s", "rconn:stale", "kept");
	return rc;
}

/* Asserts that GET rconn:stale is answered "kept", at the first try. */
static void
get_answered(struct rconn *rc)
{
	redisReply	*r;

	ck_assert_ptr_nonnull(r = rconn_command(rc, "GET %s", "rconn:stale"));
	ck_assert_int_eq(r->type, REDIS_REPLY_STRING);
	ck_assert_str_eq(r->str, "kept");
	freeReplyObject(r);
	ck_assert_uint_eq(failures(rc), 0);
	ck_assert_int_eq(backoff(rc), 0);
}

START_TEST(connection_killed_by_redis_is_replaced_at_once)
{
	redisContext	*c = redis_server_client(srv);
	struct rconn	*rc = proven_conn();
	redisReply	*r;

	r = admin(c, "CLIENT KILL TYPE normal SKIPME yes");
	ck_assert_int_ge(r->integer, 1);
	freeReplyObject(r);
	get_answered(rc);		/* not NULL, no back-off */
	ck_assert_uint_eq(stale_reconnects(rc), 1);
	get_answered(rc);		/* the new connection stays */
	ck_assert_uint_eq(stale_reconnects(rc), 1);
	rconn_free(rc);
	redisFree(c);
}
END_TEST

START_TEST(connection_closed_by_redis_timeout_is_replaced_at_once)
{
	redisContext	*c = redis_server_client(srv);
	struct rconn	*rc = proven_conn();
	long long	 deadline;
	redisReply	*r;

	freeReplyObject(admin(c, "CONFIG SET timeout 1"));
	/* Redis closes idle clients on its own timer: wait for ours */
	deadline = test_now_ms() + 5000;
	while (connected_clients(c) > 1 && test_now_ms() < deadline) {
		/* the admin client must not go idle itself */
		test_sleep_ms(100);
	}
	freeReplyObject(admin(c, "CONFIG SET timeout 0"));
	ck_assert_int_eq(connected_clients(c), 1);
	get_answered(rc);
	ck_assert_uint_eq(stale_reconnects(rc), 1);
	r = admin(c, "PING");
	freeReplyObject(r);
	rconn_free(rc);
	redisFree(c);
}
END_TEST

START_TEST(pipeline_on_a_stale_connection_is_sent_again_whole)
{
	redisContext	*c = redis_server_client(srv);
	struct rconn	*rc = proven_conn();
	redisReply	*set, *get, *del;

	freeReplyObject(admin(c, "CLIENT KILL TYPE normal SKIPME yes"));
	ck_assert_int_eq(rconn_append(rc, "SET %s %s", "rconn:pipe", "v"), 0);
	ck_assert_int_eq(rconn_append(rc, "GET %s", "rconn:pipe"), 0);
	ck_assert_int_eq(rconn_append(rc, "DEL %s", "rconn:pipe"), 0);
	ck_assert_ptr_nonnull(set = rconn_reply(rc));
	ck_assert_ptr_nonnull(get = rconn_reply(rc));
	ck_assert_ptr_nonnull(del = rconn_reply(rc));
	ck_assert_int_eq(set->type, REDIS_REPLY_STATUS);
	ck_assert_str_eq(get->str, "v");
	ck_assert_int_eq(del->integer, 1);
	freeReplyObject(set);
	freeReplyObject(get);
	freeReplyObject(del);
	ck_assert_uint_eq(failures(rc), 0);
	ck_assert_uint_eq(stale_reconnects(rc), 1);
	rconn_free(rc);
	redisFree(c);
}
END_TEST

START_TEST(restarted_redis_answers_the_first_command_after_it)
{
	struct redis_server	*own;
	char			 dir[64], url[64];
	struct rconn		*rc;
	redisReply		*r;

	ck_assert_int_eq(test_tmpdir(dir, sizeof(dir)), 0);
	ck_assert_ptr_nonnull(own = redis_server_start(dir));
	redis_server_url(own, url, sizeof(url));
	rc = conn_new(url, 500, 250, 2000);
	command_ok(rc, "SET %s %s", "rconn:restart", "x");
	ck_assert_int_eq(redis_server_restart(own), 0);	/* data lost */
	ck_assert_ptr_nonnull(r = rconn_command(rc, "EXISTS %s",
	    "rconn:restart"));
	ck_assert_int_eq(r->type, REDIS_REPLY_INTEGER);
	ck_assert_int_eq(r->integer, 0);	/* Redis's answer, not a guess */
	freeReplyObject(r);
	ck_assert_uint_eq(failures(rc), 0);
	ck_assert_uint_eq(stale_reconnects(rc), 1);
	rconn_free(rc);
	redis_server_free(own);
	test_tmpdir_remove(dir);
}
END_TEST

START_TEST(stale_connection_to_a_stopped_redis_is_an_outage)
{
	struct redis_server	*own;
	char			 dir[64], url[64];
	struct rconn		*rc;

	ck_assert_int_eq(test_tmpdir(dir, sizeof(dir)), 0);
	ck_assert_ptr_nonnull(own = redis_server_start(dir));
	redis_server_url(own, url, sizeof(url));
	rc = conn_new(url, 500, 250, 2000);
	command_ok(rc, "SET %s %s", "rconn:stop", "x");
	ck_assert_int_eq(redis_server_stop(own), 0);
	ck_assert_ptr_null(rconn_command(rc, "PING"));
	ck_assert_uint_eq(stale_reconnects(rc), 1);	/* tried once */
	ck_assert_uint_eq(failures(rc), 1);		/* then backed off */
	ck_assert_int_eq(backoff(rc), 250);
	ck_assert_int_eq(rconn_unanswered(rc), 1);
	rconn_free(rc);
	redis_server_free(own);
	test_tmpdir_remove(dir);
}
END_TEST

START_TEST(paused_redis_times_out_once_without_a_resend)
{
	redisContext	*c = redis_server_client(srv);
	struct rconn	*rc;
	char		 url[64];

	redis_server_url(srv, url, sizeof(url));
	rc = conn_new(url, 200, 250, 2000);
	command_ok(rc, "SET %s %s", "rconn:stale", "kept");
	freeReplyObject(admin(c, "CLIENT PAUSE 1000 ALL"));
	ck_assert_ptr_null(rconn_command(rc, "GET %s", "rconn:stale"));
	/* a timeout is a hung Redis, not a stale link: no second wait */
	ck_assert_uint_eq(stale_reconnects(rc), 0);
	ck_assert_uint_eq(failures(rc), 1);
	ck_assert_int_eq(rconn_unanswered(rc), 1);
	test_sleep_ms(1100);
	rconn_free(rc);
	redisFree(c);
}
END_TEST

START_TEST(error_reply_is_an_answer_not_an_outage)
{
	redisContext	*c = redis_server_client(srv);
	struct rconn	*rc = proven_conn();
	redisReply	*r;

	freeReplyObject(admin(c, "HSET %s %s %s", "rconn:hash", "f", "v"));
	ck_assert_ptr_nonnull(r = rconn_command(rc, "GET %s", "rconn:hash"));
	ck_assert_int_eq(r->type, REDIS_REPLY_ERROR);
	ck_assert_msg(strncmp(r->str, "WRONGTYPE", 9) == 0, "%s", r->str);
	freeReplyObject(r);
	ck_assert_uint_eq(failures(rc), 0);
	ck_assert_uint_eq(stale_reconnects(rc), 0);
	get_answered(rc);
	freeReplyObject(admin(c, "DEL %s", "rconn:hash"));
	rconn_free(rc);
	redisFree(c);
}
END_TEST

START_TEST(readonly_reply_is_retried_on_a_new_connection)
{
	/* the fake's first connection is a demoted master, later ones pass */
	static const struct fake_conn_spec specs[] = {
		{ FAKE_ERROR, NULL }, { FAKE_PROXY, NULL }
	};
	redisContext		*c = redis_server_client(srv);
	struct fake_redis	*f;
	struct rconn		*rc;
	char			 url[64];
	redisReply		*r;

	ck_assert_ptr_nonnull(f = fake_redis_start(redis_server_port(srv),
	    specs, 2, "READONLY You can't write against a read only "
	    "replica."));
	fake_redis_url(f, url, sizeof(url));
	rc = conn_new(url, 500, 250, 2000);
	ck_assert_ptr_nonnull(r = rconn_command(rc, "SET %s %s",
	    "rconn:ro", "master"));
	ck_assert_int_eq(r->type, REDIS_REPLY_STATUS);
	freeReplyObject(r);
	ck_assert_str_eq(admin_get(c, 0, "rconn:ro"), "master");
	ck_assert_uint_eq(stale_reconnects(rc), 1);
	ck_assert_uint_eq(failures(rc), 0);
	rconn_free(rc);
	fake_redis_stop(f);
	redisFree(c);
}
END_TEST

START_TEST(loading_redis_error_comes_back_as_an_error)
{
	static const struct fake_conn_spec specs[] = { { FAKE_ERROR, NULL } };
	struct fake_redis	*f;
	struct rconn		*rc;
	char			 url[64];
	redisReply		*r;

	ck_assert_ptr_nonnull(f = fake_redis_start(redis_server_port(srv),
	    specs, 1, "LOADING Redis is loading the dataset in memory"));
	fake_redis_url(f, url, sizeof(url));
	rc = conn_new(url, 500, 250, 2000);
	ck_assert_ptr_nonnull(r = rconn_command(rc, "EXISTS %s", "k"));
	ck_assert_int_eq(r->type, REDIS_REPLY_ERROR);
	ck_assert_msg(strncmp(r->str, "LOADING", 7) == 0, "%s", r->str);
	freeReplyObject(r);
	ck_assert_uint_eq(failures(rc), 0);	/* up, and refusing */
	rconn_free(rc);
	fake_redis_stop(f);
}
END_TEST

Suite *
suite(void)
{
	Suite	*s = suite_create("rconn");
	TCase	*tc;

	log_set_level(LOG_LEVEL_ERROR);		/* outages are expected */
	tc = tcase_create("url");
	tcase_add_test(tc, url_with_host_and_port_parses);
	tcase_add_test(tc, url_without_port_uses_6379_and_db_after_slash);
	tcase_add_test(tc, url_credentials_parse_in_every_form);
	tcase_add_test(tc, url_with_bracketed_ipv6_parses);
	tcase_add_test(tc, unix_urls_parse_with_optional_db);
	tcase_add_test(tc, bad_urls_are_refused_without_showing_the_password);
	suite_add_tcase(s, tc);

	tc = tcase_create("server");
	tcase_add_unchecked_fixture(tc, servers_start, servers_stop);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, no_connection_is_made_before_first_use);
	tcase_add_test(tc, select_puts_keys_in_the_configured_db);
	tcase_add_test(tc, unix_socket_url_connects_to_its_db);
	tcase_add_test(tc, pipelined_replies_come_back_in_order);
	tcase_add_test(tc, scripts_still_run_after_the_script_cache_is_flushed);
	tcase_add_test(tc, escaped_password_in_url_authenticates_and_selects);
	tcase_add_test(tc, user_and_password_in_url_authenticate);
	tcase_add_test(tc, wrong_password_gives_no_connection_and_no_leak);
	suite_add_tcase(s, tc);

	tc = tcase_create("outage");
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, dead_redis_is_not_retried_before_the_backoff);
	tcase_add_test(tc, backoff_doubles_up_to_its_cap);
	tcase_add_test(tc, hung_redis_times_out_instead_of_hanging);
	tcase_add_test(tc,
	    restarted_redis_is_used_again_by_the_same_connection);
	suite_add_tcase(s, tc);

	tc = tcase_create("stale");
	tcase_add_unchecked_fixture(tc, servers_start, servers_stop);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, connection_killed_by_redis_is_replaced_at_once);
	tcase_add_test(tc,
	    connection_closed_by_redis_timeout_is_replaced_at_once);
	tcase_add_test(tc, pipeline_on_a_stale_connection_is_sent_again_whole);
	tcase_add_test(tc, restarted_redis_answers_the_first_command_after_it);
	tcase_add_test(tc, stale_connection_to_a_stopped_redis_is_an_outage);
	tcase_add_test(tc, paused_redis_times_out_once_without_a_resend);
	tcase_add_test(tc, error_reply_is_an_answer_not_an_outage);
	tcase_add_test(tc, readonly_reply_is_retried_on_a_new_connection);
	tcase_add_test(tc, loading_redis_error_comes_back_as_an_error);
	suite_add_tcase(s, tc);
	return s;
}
