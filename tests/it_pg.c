/*
 * The PostgreSQL user store through the whole stack (issue 10.1): nginx,
 * the pool with MOCKPIE_DATABASE set to a postgresql:// URL, a real
 * redis-server and a real PostgreSQL 15 that each test starts itself
 * (only the process that started a server may stop it).  Registration,
 * login and /auth/me; concurrent registrations of one email; PostgreSQL
 * stopped or hung gives 503 "Database unavailable" within the timeouts
 * and /health says so; back, the pool recovers without a restart.  With
 * users_table = original (issue 10.2): users the original MockPie
 * backend registered (bcrypt from python3-bcrypt) log in and are
 * re-hashed, soft-deleted ones are refused like unknown ones, and a
 * registration writes a row the original reads.  Skipped (77) with the
 * reason when no PostgreSQL can run here.
 */
#include <sys/wait.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <json-c/json.h>
#include <libpq-fe.h>

#include "api_client.h"
#include "bcrypt_py.h"
#include "harness.h"
#include "pg_server.h"
#include "store/users.h"
#include "redis_server.h"
#include "runner.h"

#define WORKERS		3
#define TIMEOUT_S	120
#define URL_MAX		512
#define ENV_MAX		(URL_MAX + 32)
#define RACERS		8
#define CONNECT_MS	500	/* the pool's timeouts in these tests */
#define STATEMENT_MS	1000
#define SLACK_MS	250	/* users_pg.c's, past statement_timeout */
#define NGINX_MS	500	/* nginx and the client, on a shared box */
#define RECOVER_MS	8000	/* back-off 2 s at most, then connect */

struct pg_stack {
	struct pg_server	*pg;
	struct stack		*st;
	char			 url[URL_MAX];
	char			 env_db[ENV_MAX];
};

/*
 * The stack on the database mockpie: a fresh server whose schema the
 * pool makes or, when ps->pg is already running, whatever the caller put
 * there; extra: more environment, NULL-terminated, or NULL.
 */
static void
start_with(struct pg_stack *ps, const char *const *extra)
{
	static const char	*env[12];
	struct stack_options	 o;
	size_t			 n = 0;

	if (ps->pg == NULL) {
		ck_assert_ptr_nonnull(ps->pg = pg_server_start());
		ck_assert_int_eq(pg_server_create_db(ps->pg, "mockpie"), 0);
	}
	pg_server_url(ps->pg, "mockpie", ps->url, sizeof(ps->url));
	snprintf(ps->env_db, sizeof(ps->env_db), "MOCKPIE_DATABASE=%s",
	    ps->url);
	env[n++] = ps->env_db;
	env[n++] = "MOCKPIE_DATABASE_CONNECT_TIMEOUT_MS=500";
	env[n++] = "MOCKPIE_DATABASE_STATEMENT_TIMEOUT_MS=1000";
	env[n++] = "MOCKPIE_PASSWORD_OPSLIMIT=1";
	env[n++] = "MOCKPIE_PASSWORD_MEMLIMIT=8m";
	for (; extra != NULL && *extra != NULL; extra++) {
		ck_assert_uint_lt(n, sizeof(env) / sizeof(env[0]) - 1);
		env[n++] = *extra;
	}
	env[n] = NULL;
	memset(&o, 0, sizeof(o));
	o.workers = WORKERS;
	o.env = env;
	ck_assert_msg((ps->st = stack_start(&o)) != NULL,
	    "it_pg: the stack did not start");
}

static void
start(struct pg_stack *ps)
{
	start_with(ps, NULL);
}

static void
stop(struct pg_stack *ps)
{
	/* the password never reached the log */
	ck_assert_int_eq(stack_log_count(ps->st, 0,
	    pg_server_password(ps->pg)), 0);
	stack_stop(ps->st);
	pg_server_free(ps->pg);
}

static const char *
detail(const struct http_response *r, char *buf, size_t len)
{
	struct json_object	*o = http_json(r), *d;

	buf[0] = '\0';
	if (o != NULL && json_object_object_get_ex(o, "detail", &d) &&
	    json_object_is_type(d, json_type_string))
		snprintf(buf, len, "%s", json_object_get_string(d));
	json_object_put(o);
	return buf;
}

/* /health's database.status, and the HTTP status of ?ready=1. */
static void
health(struct stack *st, char *db_status, size_t len, int *ready)
{
	struct http_response	 r;
	struct json_object	*o, *d, *s;

	ck_assert_int_eq(http_request(st, "GET", "/health", NULL, NULL, 0,
	    &r), 0);
	ck_assert_int_eq(r.status, 200);
	o = http_json(&r);
	db_status[0] = '\0';
	if (o != NULL && json_object_object_get_ex(o, "database", &d) &&
	    json_object_object_get_ex(d, "status", &s))
		snprintf(db_status, len, "%s", json_object_get_string(s));
	json_object_put(o);
	http_response_free(&r);
	ck_assert_int_eq(http_request(st, "GET", "/health?ready=1", NULL,
	    NULL, 0, &r), 0);
	*ready = r.status;
	http_response_free(&r);
}

/* The JSON body of a registration; the caller frees it. */
static char *
register_body(const char *email, const char *user, const char *phone)
{
	struct json_object	*o = json_object_new_object();
	char			*s;

	json_object_object_add(o, "first_name", json_object_new_string("Ann"));
	json_object_object_add(o, "last_name", json_object_new_string("Lee"));
	json_object_object_add(o, "email", json_object_new_string(email));
	json_object_object_add(o, "username", json_object_new_string(user));
	json_object_object_add(o, "phone_number",
	    json_object_new_string(phone));
	json_object_object_add(o, "password",
	    json_object_new_string("correct horse battery"));
	json_object_object_add(o, "password_confirmation",
	    json_object_new_string("correct horse battery"));
	json_object_object_add(o, "gender", json_object_new_string("female"));
	s = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	ck_assert_ptr_nonnull(s);
	return s;
}

/* mockpie-fcgi --init-db against url: its exit status; output checked. */
static int
init_db(const struct pg_stack *ps)
{
	char		 cmd[2048], out[4096];
	const char	*build = getenv("MOCKPIE_BUILDDIR");
	size_t		 n;
	FILE		*p;
	int		 status;

	snprintf(cmd, sizeof(cmd), "MOCKPIE_DATABASE='%s' "
	    "MOCKPIE_JWT_SECRET='%s' '%s/src/mockpie-fcgi' --init-db 2>&1",
	    ps->url, STACK_JWT_SECRET, build != NULL ? build : ".");
	ck_assert_ptr_nonnull(p = popen(cmd, "r"));
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	status = pclose(p);
	ck_assert_msg(strstr(out, "is at schema version") != NULL, "%s", out);
	ck_assert_msg(strstr(out, pg_server_password(ps->pg)) == NULL,
	    "the password was printed: %s", out);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static long long
rows(const struct pg_stack *ps, const char *sql)
{
	PGconn		*c = pg_server_admin(ps->pg, "mockpie");
	PGresult	*r;
	long long	 v;

	ck_assert_ptr_nonnull(c);
	r = PQexec(c, sql);
	ck_assert_msg(PQresultStatus(r) == PGRES_TUPLES_OK, "%s: %s", sql,
	    PQerrorMessage(c));
	v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	PQfinish(c);
	return v;
}

START_TEST(register_login_and_me_work_through_nginx_on_postgresql)
{
	struct pg_stack		 ps;
	struct api_person	 p, again;
	char			 db[32];
	int			 ready;

	memset(&ps, 0, sizeof(ps));
	start(&ps);
	/* created by the pool's first connection; --init-db is a no-op */
	api_register(ps.st, &p);
	ck_assert_int_eq(init_db(&ps), 0);
	ck_assert_int_eq(init_db(&ps), 0);
	ck_assert_int_eq(api_me(ps.st, p.access), 200);
	ck_assert_int_eq(api_login(ps.st, p.email, p.password, &again), 200);
	ck_assert_int_eq(api_me(ps.st, again.access), 200);
	ck_assert_int_eq(api_login(ps.st, p.email, "wrong password 1", NULL),
	    401);
	ck_assert_int_eq(rows(&ps, "SELECT count(*) FROM users"), 1);
	health(ps.st, db, sizeof(db), &ready);
	ck_assert_str_eq(db, "connected");
	ck_assert_int_eq(ready, 200);
	stop(&ps);
}
END_TEST

START_TEST(init_db_creates_the_schema_before_the_pool_starts)
{
	struct pg_stack		 ps;
	struct api_person	 p;

	memset(&ps, 0, sizeof(ps));
	ck_assert_ptr_nonnull(ps.pg = pg_server_start());
	ck_assert_int_eq(pg_server_create_db(ps.pg, "mockpie"), 0);
	pg_server_url(ps.pg, "mockpie", ps.url, sizeof(ps.url));
	ck_assert_int_eq(init_db(&ps), 0);
	ck_assert_int_eq(rows(&ps, "SELECT version FROM schema_version"),
	    users_schema_version());
	ck_assert_int_eq(init_db(&ps), 0);
	ck_assert_int_eq(rows(&ps, "SELECT count(*) FROM users"), 0);
	pg_server_free(ps.pg);
	memset(&ps, 0, sizeof(ps));
	start(&ps);
	api_register(ps.st, &p);
	stop(&ps);
}
END_TEST

START_TEST(concurrent_registrations_of_one_email_give_exactly_one_201)
{
	struct pg_stack		 ps;
	struct http_conn	 c[RACERS];
	struct http_response	 r;
	const char		*h[] = { "Content-Type: application/json",
				    NULL };
	char			*body[RACERS], user[32], phone[32], d[128];
	int			 i, created = 0, taken = 0, round;

	memset(&ps, 0, sizeof(ps));
	start(&ps);
	for (round = 0; round < 3; round++) {
		char	 email[64];

		snprintf(email, sizeof(email), "Same.%d@Example.com", round);
		for (i = 0; i < RACERS; i++) {
			snprintf(user, sizeof(user), "racer_%d_%d", round, i);
			snprintf(phone, sizeof(phone), "+1555%03d%04d", round,
			    i);
			body[i] = register_body(email, user, phone);
		}
		for (i = 0; i < RACERS; i++)
			ck_assert_int_eq(http_start(ps.st, &c[i], "POST",
			    "/auth/register", h, body[i], strlen(body[i])), 0);
		for (i = 0; i < RACERS; i++) {
			ck_assert_int_eq(http_finish(&c[i], &r), 0);
			if (r.status == 201)
				created++;
			else {
				ck_assert_msg(r.status == 400, "status %d: %s",
				    r.status, r.body);
				ck_assert_str_eq(detail(&r, d, sizeof(d)),
				    "Email address already registered");
				taken++;
			}
			http_response_free(&r);
			free(body[i]);
		}
		ck_assert_int_eq(created, round + 1);
	}
	ck_assert_int_eq(taken, 3 * (RACERS - 1));
	ck_assert_int_eq(rows(&ps, "SELECT count(*) FROM users"), 3);
	stop(&ps);
}
END_TEST

/* n requests that need a user: each 503 "Database unavailable" in time. */
static void
assert_unavailable(struct pg_stack *ps, const struct api_person *p, int n,
    long bound_ms, const char *what)
{
	double			 worst = 0;
	struct http_response	 r;
	char			 auth[API_TOKEN_MAX + 32], d[128];
	const char		*h[] = { auth, NULL };
	const char		*jh[] = { "Content-Type: application/json",
				    NULL };
	char			*body;
	int			 i;

	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", p->access);
	for (i = 0; i < n; i++) {
		ck_assert_int_eq(http_request(ps->st, "GET", "/auth/me", h,
		    NULL, 0, &r), 0);
		ck_assert_msg(r.status == 503, "me: %d %s", r.status, r.body);
		ck_assert_str_eq(detail(&r, d, sizeof(d)),
		    "Database unavailable");
		ck_assert_msg(r.elapsed_ms < bound_ms, "me took %.0f ms",
		    r.elapsed_ms);
		if (r.elapsed_ms > worst)
			worst = r.elapsed_ms;
		http_response_free(&r);
	}
	/* the figures for the README */
	fprintf(stderr, "it_pg: %s: %d /auth/me answered 503 in %.0f ms at "
	    "most (bound %ld ms)\n", what, n, worst, bound_ms);
	ck_assert_int_eq(api_login(ps->st, p->email, p->password, NULL), 503);
	body = register_body("new.one@example.com", "new_one", "+15559990001");
	ck_assert_int_eq(http_request(ps->st, "POST", "/auth/register", jh,
	    body, strlen(body), &r), 0);
	free(body);
	ck_assert_int_eq(r.status, 503);
	ck_assert_str_eq(detail(&r, d, sizeof(d)), "Database unavailable");
	ck_assert_msg(r.elapsed_ms < bound_ms, "register took %.0f ms",
	    r.elapsed_ms);
	http_response_free(&r);
}

/* Bursts until every answer is 200 again; then every worker answers. */
static void
assert_recovers(struct pg_stack *ps, const struct api_person *p,
    const pid_t *workers, int nworkers)
{
	struct api_tally	 t;
	pid_t			 now[WORKERS * 2];
	char			 db[32];
	long long		 t0 = test_now_ms(), deadline = t0 + RECOVER_MS;
	int			 ready, n, i;

	/* every worker, each past its own back-off (up to 2 s) */
	do {
		memset(&t, 0, sizeof(t));
		api_burst_every_worker(ps->st, p->access, &t);
		if (t.by_status[200] == t.total)
			break;
		test_sleep_ms(100);
	} while (test_now_ms() < deadline);
	ck_assert_msg(t.by_status[200] == t.total, "not recovered on every "
	    "worker: %d of %d answers 200", t.by_status[200], t.total);
	fprintf(stderr, "it_pg: every answer of every worker 200 again %lld "
	    "ms after PostgreSQL came back\n", test_now_ms() - t0);
	health(ps->st, db, sizeof(db), &ready);
	ck_assert_str_eq(db, "connected");
	ck_assert_int_eq(ready, 200);
	/* the same workers: nothing was restarted */
	n = stack_worker_pids(ps->st, now, WORKERS * 2);
	ck_assert_int_eq(n, nworkers);
	for (i = 0; i < nworkers; i++)
		ck_assert(stack_pids_contain(now, n, workers[i]));
}

START_TEST(stopped_postgresql_gives_503_at_once_and_the_pool_recovers)
{
	struct pg_stack		 ps;
	struct api_person	 p;
	pid_t			 workers[WORKERS * 2];
	char			 db[32];
	int			 n, ready;

	memset(&ps, 0, sizeof(ps));
	start(&ps);
	api_register(ps.st, &p);
	ck_assert_int_eq(stack_wait_workers(ps.st, WORKERS, 5000), WORKERS);
	n = stack_worker_pids(ps.st, workers, WORKERS * 2);
	ck_assert_int_eq(pg_server_stop(ps.pg), 0);
	/* refused at once: no wait for any timeout */
	assert_unavailable(&ps, &p, 3 * WORKERS, CONNECT_MS + NGINX_MS,
	    "stopped");
	health(ps.st, db, sizeof(db), &ready);
	ck_assert_str_eq(db, "error");
	ck_assert_int_eq(ready, 503);
	ck_assert_int_eq(pg_server_restart(ps.pg), 0);
	assert_recovers(&ps, &p, workers, n);
	ck_assert_int_eq(rows(&ps, "SELECT count(*) FROM users"), 1);
	stop(&ps);
}
END_TEST

START_TEST(hung_postgresql_gives_503_within_the_timeouts_and_recovers)
{
	struct pg_stack		 ps;
	struct api_person	 p;
	pid_t			 workers[WORKERS * 2];
	char			 db[32];
	int			 n, ready;

	memset(&ps, 0, sizeof(ps));
	start(&ps);
	api_register(ps.st, &p);
	ck_assert_int_eq(stack_wait_workers(ps.st, WORKERS, 5000), WORKERS);
	n = stack_worker_pids(ps.st, workers, WORKERS * 2);
	ck_assert_int_gt(pg_server_signal_all(ps.pg, SIGSTOP), 0);
	/* a kept connection waits out its statement, a new one its connect */
	assert_unavailable(&ps, &p, 3 * WORKERS,
	    STATEMENT_MS + SLACK_MS + NGINX_MS, "hung (SIGSTOP)");
	health(ps.st, db, sizeof(db), &ready);
	ck_assert_str_eq(db, "error");
	ck_assert_int_eq(ready, 503);
	ck_assert_int_gt(pg_server_signal_all(ps.pg, SIGCONT), 0);
	assert_recovers(&ps, &p, workers, n);
	stop(&ps);
}
END_TEST

START_TEST(postgresql_restarted_between_requests_costs_no_503)
{
	struct pg_stack		 ps;
	struct api_person	 p, q;
	struct api_tally	 t;

	memset(&ps, 0, sizeof(ps));
	start(&ps);
	api_register(ps.st, &p);
	memset(&t, 0, sizeof(t));
	api_burst_every_worker(ps.st, p.access, &t);	/* all connected */
	ck_assert_int_eq(t.by_status[200], t.total);
	ck_assert_int_eq(pg_server_stop(ps.pg), 0);
	ck_assert_int_eq(pg_server_restart(ps.pg), 0);
	/* every kept connection was closed: each worker sees it first */
	memset(&t, 0, sizeof(t));
	api_burst_every_worker(ps.st, p.access, &t);
	ck_assert_msg(t.by_status[200] == t.total, "%d of %d answers 200",
	    t.by_status[200], t.total);
	api_register(ps.st, &q);
	ck_assert_int_eq(stack_log_count(ps.st, 0, "unavailable"), 0);
	stop(&ps);
}
END_TEST

/* users_table = original (issue 10.2) */

#define OG_PASSWORD	"the original's Passw0rd"

/* Runs sql (several statements) on the database mockpie. */
static void
og_exec(const struct pg_stack *ps, const char *sql)
{
	PGconn		*c = pg_server_admin(ps->pg, "mockpie");
	PGresult	*r;

	ck_assert_ptr_nonnull(c);
	r = PQexec(c, sql);
	ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK ||
	    PQresultStatus(r) == PGRES_TUPLES_OK, "%.60s: %s", sql,
	    PQerrorMessage(c));
	PQclear(r);
	PQfinish(c);
}

/* The first value of sql's answer, as text. */
static void
og_text(const struct pg_stack *ps, const char *sql, char *buf, size_t len)
{
	PGconn		*c = pg_server_admin(ps->pg, "mockpie");
	PGresult	*r;

	ck_assert_ptr_nonnull(c);
	r = PQexec(c, sql);
	ck_assert_msg(PQresultStatus(r) == PGRES_TUPLES_OK &&
	    PQntuples(r) == 1, "%s: %s", sql, PQerrorMessage(c));
	snprintf(buf, len, "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	PQfinish(c);
}

/*
 * A PostgreSQL with the original's table (tests/original_users.sql),
 * holding one user the original registered: email, OG_PASSWORD as
 * python3-bcrypt hashes it with the original's cost 12.  The bcrypt
 * hash is left in hash.
 */
/* tests/original_users.sql on the database mockpie. */
static void
og_load(const struct pg_stack *ps)
{
	char	 sql[4096];
	size_t	 n;
	FILE	*f;

	ck_assert_ptr_nonnull(f = fopen(MOCKPIE_TESTDIR "/original_users.sql",
	    "r"));
	n = fread(sql, 1, sizeof(sql) - 1, f);
	fclose(f);
	sql[n] = '\0';
	og_exec(ps, sql);
}

static void
og_start(struct pg_stack *ps, const char *email, const char *rehash,
    char hash[BCRYPT_PY_HASH_MAX])
{
	static char	 env_rehash[64];
	const char	*extra[4];
	char		 sql[1024];

	memset(ps, 0, sizeof(*ps));
	ck_assert_ptr_nonnull(ps->pg = pg_server_start());
	ck_assert_int_eq(pg_server_create_db(ps->pg, "mockpie"), 0);
	og_load(ps);
	ck_assert_msg(bcrypt_py_hash(OG_PASSWORD, 12, "2b", hash) == 0,
	    "python3-bcrypt made no hash (see stderr)");
	snprintf(sql, sizeof(sql), "INSERT INTO users (first_name, last_name,"
	    " username, email, phone_number, gender, password, remember_token)"
	    " VALUES ('Orig', 'Inal', 'orig_user', '%s', '+15551230000', "
	    "'MALE', '%s', '')", email, hash);
	og_exec(ps, sql);
	snprintf(env_rehash, sizeof(env_rehash), "MOCKPIE_REHASH_LEGACY=%s",
	    rehash);
	extra[0] = "MOCKPIE_USERS_TABLE=original";
	extra[1] = "MOCKPIE_USER_CACHE_TTL=0";	/* SQL changes seen at once */
	extra[2] = env_rehash;
	extra[3] = NULL;
	start_with(ps, extra);
}

/* POST /auth/login's whole answer; the caller frees it. */
static void
og_login(struct pg_stack *ps, const char *email, const char *password,
    struct http_response *r)
{
	struct json_object	*o = json_object_new_object();
	const char		*h[] = { "Content-Type: application/json",
				    NULL };
	const char		*body;

	json_object_object_add(o, "email", json_object_new_string(email));
	json_object_object_add(o, "password",
	    json_object_new_string(password));
	body = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	ck_assert_int_eq(http_request(ps->st, "POST", "/auth/login", h, body,
	    strlen(body), r), 0);
	json_object_put(o);
}

START_TEST(original_user_logs_in_with_its_password_and_is_rehashed)
{
	struct pg_stack		 ps;
	struct api_person	 p, q;
	char			 hash[BCRYPT_PY_HASH_MAX], v[256];

	og_start(&ps, "Orig.User@Example.com", "true", hash);
	ck_assert_int_eq(api_login(ps.st, "orig.user@example.com",
	    "wrong password 1", NULL), 401);
	og_text(&ps, "SELECT password FROM users", v, sizeof(v));
	ck_assert_str_eq(v, hash);		/* a failure changes nothing */
	ck_assert_int_eq(api_login(ps.st, "orig.user@example.com",
	    OG_PASSWORD, &p), 200);
	ck_assert_int_eq(api_me(ps.st, p.access), 200);
	/* re-hashed at that login: Argon2id now, and still the password */
	og_text(&ps, "SELECT password FROM users", v, sizeof(v));
	ck_assert_msg(strncmp(v, "$argon2id$", 10) == 0, "%s", v);
	ck_assert_int_eq(stack_log_count(ps.st, 0, "(was bcrypt)"), 1);
	ck_assert_int_eq(api_login(ps.st, "Orig.User@Example.com",
	    OG_PASSWORD, &q), 200);
	ck_assert_int_eq(api_me(ps.st, q.access), 200);
	ck_assert_int_eq(api_me(ps.st, p.access), 200);	/* first token too */
	ck_assert_int_eq(api_login(ps.st, "orig.user@example.com",
	    "wrong password 2", NULL), 401);
	/* the bcrypt hash never reached the log */
	ck_assert_int_eq(stack_log_count(ps.st, 0, hash + 29), 0);
	/* a password the original's code set again ends the sessions */
	snprintf(v, sizeof(v), "UPDATE users SET password = '%s'", hash);
	og_exec(&ps, v);
	ck_assert_int_eq(api_me(ps.st, q.access), 401);
	ck_assert_int_eq(api_login(ps.st, "orig.user@example.com",
	    OG_PASSWORD, &q), 200);
	ck_assert_int_eq(api_me(ps.st, q.access), 200);
	stop(&ps);
}
END_TEST

START_TEST(with_rehash_legacy_off_the_bcrypt_hash_stays)
{
	struct pg_stack		 ps;
	struct api_person	 p;
	char			 hash[BCRYPT_PY_HASH_MAX], v[256];
	int			 i;

	og_start(&ps, "keep@example.com", "false", hash);
	for (i = 0; i < 2; i++) {
		ck_assert_int_eq(api_login(ps.st, "keep@example.com",
		    OG_PASSWORD, &p), 200);
		ck_assert_int_eq(api_me(ps.st, p.access), 200);
	}
	og_text(&ps, "SELECT password FROM users", v, sizeof(v));
	ck_assert_str_eq(v, hash);
	ck_assert_int_eq(api_login(ps.st, "keep@example.com", "wrong one 1",
	    NULL), 401);
	stop(&ps);
}
END_TEST

START_TEST(soft_deleted_user_is_refused_exactly_like_an_unknown_one)
{
	struct pg_stack		 ps;
	struct api_person	 p;
	struct http_response	 gone, unknown;
	char			 hash[BCRYPT_PY_HASH_MAX], ha[128], hb[128];
	const char		*a, *b;

	og_start(&ps, "soon.gone@example.com", "true", hash);
	ck_assert_int_eq(api_login(ps.st, "soon.gone@example.com",
	    OG_PASSWORD, &p), 200);
	ck_assert_int_eq(api_me(ps.st, p.access), 200);
	og_exec(&ps, "UPDATE users SET deleted_at = now()");
	/* a token issued before: the row is gone for mockpie */
	ck_assert_int_eq(api_me(ps.st, p.access), 401);
	og_login(&ps, "soon.gone@example.com", OG_PASSWORD, &gone);
	og_login(&ps, "never.was@example.com", OG_PASSWORD, &unknown);
	ck_assert_int_eq(gone.status, 401);
	ck_assert_int_eq(unknown.status, 401);
	ck_assert_str_eq(gone.body, unknown.body);
	ck_assert_str_eq(gone.body,
	    "{\"detail\":\"Invalid username or password\"}");
	a = http_header(&gone, "WWW-Authenticate", ha, sizeof(ha));
	b = http_header(&unknown, "WWW-Authenticate", hb, sizeof(hb));
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	ck_assert_str_eq(a, b);
	http_response_free(&gone);
	http_response_free(&unknown);
	stop(&ps);
}
END_TEST

START_TEST(registration_writes_a_row_the_original_reads_and_refuses_dups)
{
	struct pg_stack		 ps;
	struct http_response	 r;
	struct api_person	 p;
	const char		*h[] = { "Content-Type: application/json",
				    NULL };
	char			 hash[BCRYPT_PY_HASH_MAX], v[256], d[128];
	char			*body;
	struct json_object	*o, *u, *g;

	og_start(&ps, "orig@example.com", "true", hash);
	body = register_body("Fresh@Example.com", "fresh_one",
	    "+15559870000");
	ck_assert_int_eq(http_request(ps.st, "POST", "/auth/register", h,
	    body, strlen(body), &r), 0);
	free(body);
	ck_assert_msg(r.status == 201, "%d %s", r.status, r.body);
	o = http_json(&r);
	ck_assert(json_object_object_get_ex(o, "user", &u));
	ck_assert(json_object_object_get_ex(u, "gender", &g));
	ck_assert_str_eq(json_object_get_string(g), "female");
	json_object_put(o);
	http_response_free(&r);
	/* a plain SELECT, as the original reads it */
	og_text(&ps, "SELECT gender::text || ' ' || email || ' ' || "
	    "(created_at IS NOT NULL AND updated_at IS NOT NULL AND "
	    "deleted_at IS NULL)::text || ' ' || left(password, 10) FROM users "
	    "WHERE username = 'fresh_one'", v, sizeof(v));
	ck_assert_str_eq(v, "FEMALE fresh@example.com true $argon2id$");
	ck_assert_int_eq(api_login(ps.st, "fresh@example.com",
	    "correct horse battery", &p), 200);
	ck_assert_int_eq(api_me(ps.st, p.access), 200);
	/* duplicates of the original's row: email in another case, phone */
	body = register_body("ORIG@example.com", "someone_else",
	    "+15559870001");
	ck_assert_int_eq(http_request(ps.st, "POST", "/auth/register", h,
	    body, strlen(body), &r), 0);
	free(body);
	ck_assert_int_eq(r.status, 400);
	ck_assert_str_eq(detail(&r, d, sizeof(d)),
	    "Email address already registered");
	http_response_free(&r);
	body = register_body("another@example.com", "someone_else",
	    "+15551230000");
	ck_assert_int_eq(http_request(ps.st, "POST", "/auth/register", h,
	    body, strlen(body), &r), 0);
	free(body);
	ck_assert_int_eq(r.status, 400);
	ck_assert_str_eq(detail(&r, d, sizeof(d)),
	    "Phone number already registered");
	http_response_free(&r);
	ck_assert_int_eq(rows(&ps, "SELECT count(*) FROM users"), 2);
	/* no mockpie schema next to the original's */
	ck_assert_int_eq(rows(&ps, "SELECT count(*) FROM pg_class WHERE "
	    "relname = 'schema_version'"), 0);
	stop(&ps);
}
END_TEST

START_TEST(init_db_on_the_original_checks_the_table_and_creates_nothing)
{
	struct pg_stack	 ps;
	char		 cmd[2048], out[4096];
	const char	*build = getenv("MOCKPIE_BUILDDIR");
	size_t		 n;
	FILE		*p;
	int		 status, round;

	memset(&ps, 0, sizeof(ps));
	ck_assert_ptr_nonnull(ps.pg = pg_server_start());
	ck_assert_int_eq(pg_server_create_db(ps.pg, "mockpie"), 0);
	pg_server_url(ps.pg, "mockpie", ps.url, sizeof(ps.url));
	snprintf(cmd, sizeof(cmd), "MOCKPIE_DATABASE='%s' "
	    "MOCKPIE_USERS_TABLE=original MOCKPIE_JWT_SECRET='%s' "
	    "'%s/src/mockpie-fcgi' --init-db 2>&1", ps.url, STACK_JWT_SECRET,
	    build != NULL ? build : ".");
	for (round = 0; round < 2; round++) {
		if (round == 1)
			og_load(&ps);
		ck_assert_ptr_nonnull(p = popen(cmd, "r"));
		n = fread(out, 1, sizeof(out) - 1, p);
		out[n] = '\0';
		status = pclose(p);
		ck_assert(WIFEXITED(status));
		ck_assert_msg(strstr(out, pg_server_password(ps.pg)) == NULL,
		    "the password was printed: %s", out);
		if (round == 0) {
			/* no table: refused, and none made */
			ck_assert_msg(WEXITSTATUS(status) != 0, "%s", out);
			ck_assert_msg(strstr(out, "no table users") != NULL,
			    "%s", out);
			ck_assert_int_eq(rows(&ps, "SELECT count(*) FROM "
			    "pg_class WHERE relname = 'users'"), 0);
		} else {
			ck_assert_msg(WEXITSTATUS(status) == 0, "%s", out);
			ck_assert_msg(strstr(out, "nothing created") != NULL,
			    "%s", out);
		}
		ck_assert_int_eq(rows(&ps, "SELECT count(*) FROM pg_class "
		    "WHERE relname = 'schema_version'"), 0);
	}
	pg_server_free(ps.pg);
}
END_TEST

Suite *
suite(void)
{
	Suite	*s = suite_create("pg");
	TCase	*tc;
	char	 why[256];

	if (!pg_server_usable(why, sizeof(why))) {
		printf("SKIP it_pg: %s\n", why);
		exit(77);
	}
	tc = tcase_create("postgresql");
	tcase_set_timeout(tc, TIMEOUT_S);
	tcase_add_test(tc,
	    register_login_and_me_work_through_nginx_on_postgresql);
	tcase_add_test(tc, init_db_creates_the_schema_before_the_pool_starts);
	tcase_add_test(tc,
	    concurrent_registrations_of_one_email_give_exactly_one_201);
	tcase_add_test(tc,
	    stopped_postgresql_gives_503_at_once_and_the_pool_recovers);
	tcase_add_test(tc,
	    hung_postgresql_gives_503_within_the_timeouts_and_recovers);
	tcase_add_test(tc, postgresql_restarted_between_requests_costs_no_503);
	suite_add_tcase(s, tc);

	tc = tcase_create("original");
	tcase_set_timeout(tc, TIMEOUT_S);
	tcase_add_test(tc,
	    original_user_logs_in_with_its_password_and_is_rehashed);
	tcase_add_test(tc, with_rehash_legacy_off_the_bcrypt_hash_stays);
	tcase_add_test(tc,
	    soft_deleted_user_is_refused_exactly_like_an_unknown_one);
	tcase_add_test(tc,
	    registration_writes_a_row_the_original_reads_and_refuses_dups);
	tcase_add_test(tc,
	    init_db_on_the_original_checks_the_table_and_creates_nothing);
	suite_add_tcase(s, tc);
	return s;
}
