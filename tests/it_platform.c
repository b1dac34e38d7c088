/*
 * mockpie in front of the MockPie platform (platform_tokens = original,
 * users_table = original on PostgreSQL): a stand-in of the original
 * backend (tests/original_standin.py, named as such), authenticating
 * exactly as its get_current_user does, sits behind the test nginx at
 * /users/profile, sharing Redis and the original `users` table.  Every
 * case is what a user of the platform sees on both sides.
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <libpq-fe.h>

#include "api_client.h"
#include "harness.h"
#include "mail_sink.h"
#include "pg_server.h"
#include "redis_server.h"
#include "runner.h"

#define TIMEOUT_S	120
#define URL_MAX		512
#define ENV_MAX		600
#define CONF_MAX	8192
#define LINE_MAX_	(2 * API_TOKEN_MAX + 8)
#define READY_STEPS	500		/* of 20 ms: the stand-in starts */

struct platform {
	struct pg_server	*pg;
	struct stack		*st;
	pid_t			 standin;
	int			 standin_port;
	char			 url[URL_MAX];
	char			 secret_file[256];
	struct mail_sink	 sink;		/* where the codes go */
};

static struct platform	 P;

/* A file of the source tree (the tests may run in a build tree). */
static const char *
srcpath(const char *rel)
{
	static char	 path[2][512];
	static int	 i;
	const char	*dir = getenv("srcdir");

	i = !i;
	snprintf(path[i], sizeof(path[i]), "%s/%s", dir != NULL ? dir : ".",
	    rel);
	return path[i];
}

/* The original's table, from the SQL in tests/ (as the original has it). */
static void
original_schema(void)
{
	char		 path[512], *sql;
	PGconn		*c;
	PGresult	*r;
	FILE		*f;
	long		 n;

	snprintf(path, sizeof(path), "%s", srcpath("tests/original_users.sql"));
	ck_assert_msg((f = fopen(path, "r")) != NULL, "%s: %s", path,
	    strerror(errno));
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	rewind(f);
	ck_assert_ptr_nonnull(sql = calloc(1, (size_t)n + 1));
	ck_assert_uint_eq(fread(sql, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	c = pg_server_admin(P.pg, "mockpie");
	r = PQexec(c, sql);
	ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK, "schema: %s",
	    PQerrorMessage(c));
	PQclear(r);
	PQfinish(c);
	free(sql);
}

/* One SQL statement on the platform's database, as its admin. */
static void
sql(const char *stmt, const char *arg)
{
	const char	*params[1] = { arg };
	PGconn		*c = pg_server_admin(P.pg, "mockpie");
	PGresult	*r;

	r = PQexecParams(c, stmt, arg != NULL ? 1 : 0, NULL,
	    arg != NULL ? params : NULL, NULL, NULL, 0);
	ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK ||
	    PQresultStatus(r) == PGRES_TUPLES_OK, "%s: %s", stmt,
	    PQerrorMessage(c));
	PQclear(r);
	PQfinish(c);
}

static long long
user_id(const char *email)
{
	const char	*params[1] = { email };
	PGconn		*c = pg_server_admin(P.pg, "mockpie");
	PGresult	*r;
	long long	 id;

	r = PQexecParams(c, "SELECT id FROM users WHERE email = $1", 1, NULL,
	    params, NULL, NULL, 0);
	ck_assert_int_eq(PQntuples(r), 1);
	id = atoll(PQgetvalue(r, 0, 0));
	PQclear(r);
	PQfinish(c);
	return id;
}

static void
standin_start(void)
{
	char	 port[16], rport[16], line[64];
	int	 out[2], i;
	ssize_t	 n;

	snprintf(port, sizeof(port), "%d", P.standin_port);
	snprintf(rport, sizeof(rport), "%d",
	    redis_server_port(stack_redis(P.st)));
	ck_assert_int_eq(pipe(out), 0);
	if ((P.standin = fork()) == 0) {
		dup2(out[1], 1);
		close(out[0]);
		execl("/usr/bin/python3", "python3",
		    srcpath("tests/original_standin.py"), "serve", "--port", port,
		    "--secret-file", P.secret_file, "--redis-port", rport,
		    "--dsn", P.url, (char *)NULL);
		_exit(127);
	}
	close(out[1]);
	fcntl(out[0], F_SETFL, O_NONBLOCK);
	for (i = 0, line[0] = '\0'; i < READY_STEPS; i++) {
		if ((n = read(out[0], line, sizeof(line) - 1)) > 0) {
			line[n] = '\0';
			break;
		}
		usleep(20000);
	}
	close(out[0]);
	ck_assert_msg(strncmp(line, "ready", 5) == 0,
	    "the original's stand-in did not start");
}

/* The shipped example (conf/nginx.platform.example.conf), filled in. */
static void
platform_conf(char *out, size_t size)
{
	char		 in[CONF_MAX], addr[32];
	const char	*p, *at;
	size_t		 n, len = 0;
	FILE		*f;

	ck_assert_ptr_nonnull(f = fopen(srcpath(
	    "conf/nginx.platform.example.conf"), "r"));
	n = fread(in, 1, sizeof(in) - 1, f);
	fclose(f);
	in[n] = '\0';
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", P.standin_port);
	for (p = in; (at = strstr(p, "@PLATFORM@")) != NULL; p = at + 10) {
		ck_assert_uint_lt(len + (size_t)(at - p) + strlen(addr), size);
		memcpy(out + len, p, (size_t)(at - p));
		len += (size_t)(at - p);
		memcpy(out + len, addr, strlen(addr));
		len += strlen(addr);
	}
	ck_assert_uint_lt(len + strlen(p), size);
	memcpy(out + len, p, strlen(p) + 1);
}

static void
platform_start(const char *platform_tokens)
{
	static char		 env_db[ENV_MAX], env_pt[64], conf[CONF_MAX];
	static char		 env_smtp[128];
	static const char	*env[9];
	struct stack_options	 o;
	FILE			*f;

	memset(&P, 0, sizeof(P));
	ck_assert_ptr_nonnull(P.pg = pg_server_start());
	ck_assert_int_eq(pg_server_create_db(P.pg, "mockpie"), 0);
	pg_server_url(P.pg, "mockpie", P.url, sizeof(P.url));
	original_schema();
	snprintf(env_db, sizeof(env_db), "MOCKPIE_DATABASE=%s", P.url);
	snprintf(env_pt, sizeof(env_pt), "MOCKPIE_PLATFORM_TOKENS=%s",
	    platform_tokens);
	env[0] = env_db;
	env[1] = env_pt;
	env[2] = "MOCKPIE_USERS_TABLE=original";
	env[3] = "MOCKPIE_PASSWORD_OPSLIMIT=1";
	env[4] = "MOCKPIE_PASSWORD_MEMLIMIT=8m";
	env[5] = "MOCKPIE_USER_CACHE_TTL=0";	/* a soft delete shows at once */
	mail_sink_start(&P.sink);
	snprintf(env_smtp, sizeof(env_smtp), "MOCKPIE_SMTP_URL=%s",
	    P.sink.url);
	env[6] = env_smtp;
	env[7] = "MOCKPIE_SMTP_STARTTLS=false";	/* the sink speaks plain */
	env[8] = NULL;
	P.standin_port = test_free_port();
	platform_conf(conf, sizeof(conf));
	memset(&o, 0, sizeof(o));
	o.workers = 2;
	o.env = env;
	o.nginx_server_extra = conf;
	ck_assert_msg((P.st = stack_start(&o)) != NULL,
	    "it_platform: the stack did not start");
	/* the platform's SECRET_KEY: the same strong secret on both sides */
	snprintf(P.secret_file, sizeof(P.secret_file), "%s/platform-secret",
	    stack_dir(P.st));
	ck_assert_ptr_nonnull(f = fopen(P.secret_file, "w"));
	fputs(STACK_JWT_SECRET, f);
	fclose(f);
	standin_start();
}

static void
platform_stop(void)
{
	int	 status;

	if (P.standin > 0) {
		kill(P.standin, SIGTERM);
		waitpid(P.standin, &status, 0);
	}
	stack_stop(P.st);
	pg_server_free(P.pg);
	mail_sink_stop(&P.sink);
}

static void
start_original(void)
{
	platform_start("original");
}

static void
start_mockpie(void)
{
	platform_start("mockpie");
}

/* GET path with the access token through nginx: the status. */
static int
get_with(const char *path, const char *access)
{
	struct http_response	 r;
	char			 auth[API_TOKEN_MAX + 32];
	const char		*h[] = { auth, NULL };
	int			 status;

	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", access);
	ck_assert_int_eq(http_request(P.st, "GET", path, h, NULL, 0, &r), 0);
	status = r.status;
	http_response_free(&r);
	return status;
}

static int
profile(const char *access)
{
	return get_with("/users/profile", access);
}

static int
me(const char *access)
{
	return get_with("/auth/me", access);
}

START_TEST(a_login_through_mockpie_opens_the_rest_of_the_platform)
{
	struct api_person	 a, b;

	api_register(P.st, &a);		/* register: both sides at once */
	ck_assert_int_eq(profile(a.access), 200);
	ck_assert_int_eq(me(a.access), 200);
	ck_assert_int_eq(api_login(P.st, a.email, a.password, &b), 200);
	ck_assert_int_eq(profile(b.access), 200);
	ck_assert_int_eq(me(b.access), 200);
}
END_TEST

START_TEST(the_shipped_routes_send_each_path_where_it_belongs)
{
	struct http_response	 r;

	/* the original's account deletion, by exact location */
	ck_assert_int_eq(http_request(P.st, "POST",
	    "/auth/restore-account-otp", NULL, "", 0, &r), 0);
	ck_assert_msg(strstr(r.body, "\"served_by\": \"original\"") != NULL,
	    "restore-account-otp: %d %s", r.status, r.body);
	http_response_free(&r);
	ck_assert_int_eq(http_request(P.st, "DELETE",
	    "/auth/cleanup-temp-user", NULL, NULL, 0, &r), 0);
	ck_assert_ptr_nonnull(strstr(r.body, "served_by"));
	http_response_free(&r);
	/* the email flows and the rest of /auth/ are mockpie's */
	ck_assert_int_eq(http_request(P.st, "GET", "/auth/forgot-password",
	    NULL, NULL, 0, &r), 0);
	ck_assert_int_eq(r.status, 405);
	ck_assert_ptr_null(strstr(r.body, "served_by"));
	http_response_free(&r);
}
END_TEST

START_TEST(the_newest_login_wins_on_the_platform_mockpie_keeps_both)
{
	struct api_person	 a, d1, d2;

	api_register(P.st, &a);
	ck_assert_int_eq(api_login(P.st, a.email, a.password, &d1), 200);
	ck_assert_int_eq(api_login(P.st, a.email, a.password, &d2), 200);
	ck_assert_int_eq(profile(d2.access), 200);
	ck_assert_int_eq(profile(d1.access), 401);	/* the original's rule */
	ck_assert_int_eq(me(d1.access), 200);
	ck_assert_int_eq(me(d2.access), 200);
	/* logout of the older session: the newest still accepted by both */
	ck_assert_int_eq(api_logout(P.st, d1.access), 200);
	ck_assert_int_eq(profile(d2.access), 200);
	ck_assert_int_eq(me(d2.access), 200);
	/* logout of the newest: refused by both */
	ck_assert_int_eq(api_logout(P.st, d2.access), 200);
	ck_assert_int_eq(profile(d2.access), 401);
	ck_assert_int_eq(me(d2.access), 401);
}
END_TEST

START_TEST(a_refresh_moves_the_platform_to_the_new_pair)
{
	struct api_person	 a;
	char			 acc[API_TOKEN_MAX], ref[API_TOKEN_MAX];
	char			 acc2[API_TOKEN_MAX], ref2[API_TOKEN_MAX];

	api_register(P.st, &a);
	ck_assert_int_eq(api_refresh(P.st, a.refresh, acc, ref), 200);
	ck_assert_int_eq(profile(acc), 200);
	ck_assert_int_eq(profile(a.access), 401);
	/* a refresh token two rotations old, past any grace: the family */
	ck_assert_int_eq(api_refresh(P.st, ref, acc2, ref2), 200);
	ck_assert_int_eq(api_refresh(P.st, a.refresh, acc, ref), 401);
	ck_assert_int_eq(profile(acc2), 401);
	ck_assert_int_eq(me(acc2), 401);
}
END_TEST

START_TEST(a_soft_deleted_user_is_refused_on_both_sides)
{
	struct api_person	 a;

	api_register(P.st, &a);
	ck_assert_int_eq(profile(a.access), 200);
	sql("UPDATE users SET deleted_at = now() WHERE email = $1", a.email);
	ck_assert_int_eq(profile(a.access), 401);
	ck_assert_int_eq(me(a.access), 401);
}
END_TEST

/* A pair minted the original's way by the stand-in: "access refresh". */
static void
mint(const struct api_person *p, char *access, char *refresh)
{
	char	 cmd[1024], line[LINE_MAX_], uid[32], rport[16];
	FILE	*f;

	snprintf(uid, sizeof(uid), "%lld", user_id(p->email));
	snprintf(rport, sizeof(rport), "%d",
	    redis_server_port(stack_redis(P.st)));
	snprintf(cmd, sizeof(cmd), "/usr/bin/python3 %s mint --secret-file %s"
	    " --redis-port %s --user-id %s --email %s",
	    srcpath("tests/original_standin.py"), P.secret_file, rport, uid,
	    p->email);
	ck_assert_ptr_nonnull(f = popen(cmd, "r"));
	ck_assert_ptr_nonnull(fgets(line, sizeof(line), f));
	ck_assert_int_eq(pclose(f), 0);
	ck_assert_int_eq(sscanf(line, "%4095s %4095s", access, refresh), 2);
}

START_TEST(a_session_of_the_original_survives_the_switch)
{
	struct api_person	 a;
	char			 oa[API_TOKEN_MAX], orf[API_TOKEN_MAX];
	char			 acc[API_TOKEN_MAX], ref[API_TOKEN_MAX];

	api_register(P.st, &a);
	mint(&a, oa, orf);		/* the user's session before the switch */
	ck_assert_int_eq(profile(oa), 200);
	ck_assert_int_eq(me(oa), 200);
	ck_assert_int_eq(get_with("/auth/verify", oa), 200);
	/* its refresh token buys a mockpie session; the old pair dies */
	ck_assert_int_eq(api_refresh(P.st, orf, acc, ref), 200);
	ck_assert_int_eq(me(acc), 200);
	ck_assert_int_eq(profile(acc), 200);
	ck_assert_int_eq(profile(oa), 401);
	ck_assert_int_eq(me(oa), 401);
	ck_assert_int_eq(api_refresh(P.st, orf, acc, ref), 401);
	/* a logout with the original's token ends its pair on both sides */
	mint(&a, oa, orf);
	ck_assert_int_eq(api_logout(P.st, oa), 200);
	ck_assert_int_eq(profile(oa), 401);
	ck_assert_int_eq(api_refresh(P.st, orf, acc, ref), 401);
}
END_TEST

/* POST path, urlencoded name/value pairs (NULL-ended): the status. */
static int
post_form(const char *path, const char *const *kv, char *body, size_t len)
{
	struct http_response	 r;
	const char		*h[] = {
	    "Content-Type: application/x-www-form-urlencoded", NULL };
	char			 form[1024];
	size_t			 n = 0;
	const char		*c;
	int			 i, status;

	for (i = 0; kv[i] != NULL; i += 2) {
		n += (size_t)snprintf(form + n, sizeof(form) - n, "%s%s=",
		    i > 0 ? "&" : "", kv[i]);
		for (c = kv[i + 1]; *c != '\0'; c++)
			n += (size_t)snprintf(form + n, sizeof(form) - n,
			    *c == '@' || *c == '+' ? "%%%02X" : "%c",
			    (unsigned char)*c);
		ck_assert_uint_lt(n, sizeof(form));
	}
	ck_assert_int_eq(http_request(P.st, "POST", path, h, form, n, &r), 0);
	status = r.status;
	if (body != NULL)
		snprintf(body, len, "%s", r.body != NULL ? r.body : "");
	http_response_free(&r);
	return status;
}

/* The first column of the first row of stmt with one text parameter. */
static void
sql_text(const char *stmt, const char *arg, char *buf, size_t len)
{
	const char	*params[1] = { arg };
	PGconn		*c = pg_server_admin(P.pg, "mockpie");
	PGresult	*r;

	r = PQexecParams(c, stmt, 1, NULL, params, NULL, NULL, 0);
	ck_assert_msg(PQresultStatus(r) == PGRES_TUPLES_OK &&
	    PQntuples(r) == 1, "%s: %s", stmt, PQerrorMessage(c));
	snprintf(buf, len, "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	PQfinish(c);
}

/* Issue 15 on the original's table, as the web client walks it. */
START_TEST(verification_and_reset_work_on_the_original_columns)
{
	struct api_person	 a, again;
	const char		*newpw = "tidal-Lantern-9-quarry";
	char			 code[7], v[64], body[1024];

	api_register(P.st, &a);
	mail_sink_wait_code(&P.sink, a.email, 1, code);
	ck_assert_int_eq(post_form("/auth/verify-otp", (const char *[]){
	    "email", a.email, "otp", code, NULL }, body, sizeof(body)), 200);
	sql_text("SELECT (email_verified_at IS NOT NULL)::text FROM users "
	    "WHERE email = $1", a.email, v, sizeof(v));
	ck_assert_str_eq(v, "true");
	ck_assert_int_eq(post_form("/auth/forgot-password", (const char *[]){
	    "email", a.email, NULL }, NULL, 0), 200);
	mail_sink_wait_code(&P.sink, a.email, 2, code);
	ck_assert_int_eq(post_form("/auth/verify-otp", (const char *[]){
	    "email", a.email, "otp", code, NULL }, body, sizeof(body)), 200);
	ck_assert_ptr_nonnull(strstr(body, "reset_token"));
	ck_assert_int_eq(post_form("/auth/reset-password", (const char *[]){
	    "email", a.email, "new_password", newpw, "confirm_password",
	    newpw, NULL }, body, sizeof(body)), 200);
	/* the original's password column holds the new Argon2id hash */
	sql_text("SELECT left(password, 10) FROM users WHERE email = $1",
	    a.email, v, sizeof(v));
	ck_assert_str_eq(v, "$argon2id$");
	/* the old sessions are dead on both sides, the new password opens
	   both */
	ck_assert_int_eq(me(a.access), 401);
	ck_assert_int_eq(profile(a.access), 401);
	ck_assert_int_eq(api_login(P.st, a.email, a.password, &again), 401);
	ck_assert_int_eq(api_login(P.st, a.email, newpw, &again), 200);
	ck_assert_int_eq(me(again.access), 200);
	ck_assert_int_eq(profile(again.access), 200);
}
END_TEST

START_TEST(without_platform_tokens_the_original_tokens_are_foreign)
{
	struct api_person	 a;
	char			 oa[API_TOKEN_MAX], orf[API_TOKEN_MAX];
	char			 acc[API_TOKEN_MAX], ref[API_TOKEN_MAX];

	api_register(P.st, &a);
	mint(&a, oa, orf);
	ck_assert_int_eq(me(oa), 401);
	ck_assert_int_eq(api_refresh(P.st, orf, acc, ref), 401);
	/* and mockpie's own tokens say nothing to the platform */
	ck_assert_int_eq(profile(a.access), 401);
}
END_TEST

Suite *
suite(void)
{
	Suite	*s = suite_create("it_platform");
	TCase	*tc = tcase_create("platform_tokens_original");
	TCase	*off = tcase_create("platform_tokens_mockpie");

	tcase_set_timeout(tc, TIMEOUT_S);
	tcase_add_unchecked_fixture(tc, start_original, platform_stop);
	tcase_add_test(tc,
	    a_login_through_mockpie_opens_the_rest_of_the_platform);
	tcase_add_test(tc,
	    the_newest_login_wins_on_the_platform_mockpie_keeps_both);
	tcase_add_test(tc, the_shipped_routes_send_each_path_where_it_belongs);
	tcase_add_test(tc, a_refresh_moves_the_platform_to_the_new_pair);
	tcase_add_test(tc, a_soft_deleted_user_is_refused_on_both_sides);
	tcase_add_test(tc, a_session_of_the_original_survives_the_switch);
	tcase_add_test(tc, verification_and_reset_work_on_the_original_columns);
	suite_add_tcase(s, tc);
	tcase_set_timeout(off, TIMEOUT_S);
	tcase_add_unchecked_fixture(off, start_mockpie, platform_stop);
	tcase_add_test(off,
	    without_platform_tokens_the_original_tokens_are_foreign);
	suite_add_tcase(s, off);
	return s;
}
