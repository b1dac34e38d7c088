/*
 * A pool that cannot stall (SPEC 4; issue 8): pools of one and two
 * workers behind an nginx that keeps more FastCGI connections than there
 * are workers still answer every request, racing clients included; a
 * FastCGI client on the socket itself is answered while nginx holds its
 * connections, and the protocol's edges (management records, short
 * stdin, malformed records, silent peers) never take a worker out of
 * service; workers killed, reloaded or stopped as a group fail no
 * request.  Every check is on answers; a deadline only bounds a wait.
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <fastcgi.h>
#include <hiredis/hiredis.h>
#include <json-c/json.h>

#include "fcgi_client.h"
#include "harness.h"
#include "redis_server.h"
#include "runner.h"

#define CHEAP_ARGON2	"MOCKPIE_PASSWORD_OPSLIMIT=1", \
			"MOCKPIE_PASSWORD_MEMLIMIT=8m"
#define CLIENTS		32		/* concurrent /auth/me */
#define RACERS		8		/* racing refreshes, registrations */
#define LOAD_BATCH	8		/* requests in flight per round */
#define LOAD_ROUNDS	40
#define PIDS_MAX	64
#define FIELD_MAX	128
#define BODY_MAX	1024
#define TOKEN_MAX	4200
#define HEADER_MAX	(TOKEN_MAX + 32)
#define REQ_MAX		(16 * 1024)
#define ANSWER_MS	5000		/* bounds a wait for an answer */
#define WHOLE_MS	5000		/* a pool whole again */
#define STOP_MS		5000		/* a stopped pool gone */
#define PAUSE_MS	400		/* Redis held still (< 500 ms) */
#define TIMEOUT_S	30

struct user {
	char		 email[FIELD_MAX];
	char		 access[TOKEN_MAX];
	char		 refresh[TOKEN_MAX];
};

/* What a load saw. */
struct tally {
	int		 sent;
	int		 ok;
	char		 first_bad[256];
};

static struct stack	*st;
static unsigned		 seq;

static const char *const cheap_env[] = { CHEAP_ARGON2, NULL };
static const char *const kept2_env[] = { CHEAP_ARGON2,
    "MOCKPIE_MAX_KEPT_CONNECTIONS=2", NULL };
static const char *const stop_env[] = { CHEAP_ARGON2,
    "MOCKPIE_SHUTDOWN_TIMEOUT=4", NULL };
static const char *const recycle_env[] = { CHEAP_ARGON2,
    "MOCKPIE_MAX_REQUESTS=50", NULL };

static void
start(int workers, int nginx_workers, int keepalive, int own_group,
    const char *const *env)
{
	struct stack_options	 o;

	memset(&o, 0, sizeof(o));
	o.workers = workers;
	o.nginx_workers = nginx_workers;
	o.keepalive = keepalive;
	o.own_group = own_group;
	o.env = env;
	st = stack_start(&o);
	ck_assert_msg(st != NULL, "the stack did not start");
	ck_assert_int_eq(stack_wait_workers(st, workers, WHOLE_MS), workers);
}

/* 1 worker, nginx 2 workers x keepalive 8: 16 kept connections. */
static void
setup_one(void)
{
	start(1, 2, 8, 0, cheap_env);
}

/*
 * 2 workers, nginx 1 worker x keepalive 8, as many as the load below
 * keeps in flight: its requests travel on kept connections, which nginx
 * resends a request on when the pool closes them (a worker killed, or
 * retiring).
 */
static void
setup_two(void)
{
	start(2, 1, 8, 0, cheap_env);
}

/* 2 workers recycling every 50 requests or so, nginx keeping 8. */
static void
setup_recycle(void)
{
	start(2, 1, 8, 0, recycle_env);
}

/* 1 worker keeping at most 2 connections, nginx keeping 8. */
static void
setup_kept2(void)
{
	start(1, 1, 8, 0, kept2_env);
}

/* 2 workers in a process group of their own, for kill -- -PGID; nginx
   keeps 4 connections. */
static void
setup_group(void)
{
	start(2, 1, 4, 1, stop_env);
}

static void
teardown(void)
{
	stack_stop(st);
	st = NULL;
}

/* ---- through nginx ---- */

/* The string member name of o, copied to dst; 0, or -1. */
static int
json_str(struct json_object *o, const char *name, char *dst, size_t size)
{
	struct json_object	*v;

	if (o == NULL || !json_object_object_get_ex(o, name, &v) ||
	    !json_object_is_type(v, json_type_string))
		return -1;
	return snprintf(dst, size, "%s", json_object_get_string(v)) <
	    (int)size ? 0 : -1;
}

static size_t
register_body(char *body, size_t size, const char *email, unsigned n)
{
	long	 pid = (long)getpid();

	return (size_t)snprintf(body, size, "first_name=Ada&last_name=Byron&"
	    "email=%s&username=ada_%ld_%u&phone_number=%%2B1%07ld%03u&"
	    "password=lamp-Otter-%u-quay&password_confirmation=lamp-Otter-%u"
	    "-quay&gender=female", email, pid, n, pid, n % 1000, n, n);
}

static const char *const form[] = {
	"Content-Type: application/x-www-form-urlencoded", NULL
};

static void
user_register(struct user *u)
{
	struct http_response	 r;
	struct json_object	*o;
	char			 body[BODY_MAX];
	size_t			 len;
	unsigned		 n = ++seq;

	memset(u, 0, sizeof(*u));
	snprintf(u->email, sizeof(u->email), "ada.%ld.%u@example.com",
	    (long)getpid(), n);
	len = register_body(body, sizeof(body), u->email, n);
	ck_assert_int_eq(http_request(st, "POST", "/auth/register", form, body,
	    len, &r), 0);
	ck_assert_msg(r.status == 201, "register: %d %s", r.status, r.body);
	o = http_json(&r);
	ck_assert_int_eq(json_str(o, "access_token", u->access,
	    sizeof(u->access)), 0);
	ck_assert_int_eq(json_str(o, "refresh_token", u->refresh,
	    sizeof(u->refresh)), 0);
	json_object_put(o);
	http_response_free(&r);
}

/* n concurrent GET /auth/me with token: how many were answered 200. */
static int
concurrent_me(const char *token, int n)
{
	struct http_conn	 c[CLIENTS];
	struct http_response	 r;
	char			 auth[HEADER_MAX];
	const char		*h[] = { auth, NULL };
	int			 i, ok = 0, started[CLIENTS];

	ck_assert_int_le(n, CLIENTS);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
	for (i = 0; i < n; i++)
		started[i] = http_start(st, &c[i], "GET", "/auth/me", h, NULL,
		    0) == 0;
	for (i = 0; i < n; i++) {
		if (!started[i] || http_finish(&c[i], &r) == -1)
			continue;
		if (r.status == 200)
			ok++;
		else
			fprintf(stderr, "it_stall: /auth/me %d: %d %s\n", i,
			    r.status, r.body);
		http_response_free(&r);
	}
	return ok;
}

/*
 * The "kept_connections" of every worker in GET /status, summed; the
 * largest in *max_one.
 */
static int
kept_connections(int *max_one)
{
	struct http_response	 r;
	struct json_object	*o, *workers, *w, *v;
	size_t			 i;
	int			 sum = 0, k;

	*max_one = 0;
	ck_assert_int_eq(http_request(st, "GET", "/status", NULL, NULL, 0,
	    &r), 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_ptr_nonnull(o = http_json(&r));
	ck_assert(json_object_object_get_ex(o, "pool", &w));
	ck_assert_msg(json_object_object_get_ex(w, "kept_connections", &v),
	    "no pool.kept_connections in /status");
	ck_assert(json_object_object_get_ex(o, "workers", &workers));
	for (i = 0; i < json_object_array_length(workers); i++) {
		w = json_object_array_get_idx(workers, i);
		ck_assert_msg(json_object_object_get_ex(w, "kept_connections",
		    &v), "no kept_connections in /status");
		k = json_object_get_int(v);
		sum += k;
		if (k > *max_one)
			*max_one = k;
	}
	json_object_put(o);
	http_response_free(&r);
	return sum;
}

START_TEST(one_worker_answers_32_concurrent_clients_behind_16_kept_conns)
{
	struct user	 u;
	int		 round, max_one;

	user_register(&u);
	for (round = 0; round < 3; round++)
		ck_assert_int_eq(concurrent_me(u.access, CLIENTS), CLIENTS);
	/* nginx now holds connections to the one worker, idle */
	ck_assert_int_ge(kept_connections(&max_one), 2);
	ck_assert_int_eq(concurrent_me(u.access, CLIENTS), CLIENTS);
}
END_TEST

START_TEST(two_workers_answer_32_concurrent_clients)
{
	struct user	 u;
	int		 round;

	user_register(&u);
	for (round = 0; round < 3; round++)
		ck_assert_int_eq(concurrent_me(u.access, CLIENTS), CLIENTS);
}
END_TEST

START_TEST(eight_racing_refreshes_of_one_token_all_get_the_same_successors)
{
	struct http_conn	 c[RACERS];
	struct http_response	 r;
	struct json_object	*o;
	struct user		 u;
	char			 body[TOKEN_MAX + 32];
	char			 access[RACERS][TOKEN_MAX];
	char			 refresh[RACERS][TOKEN_MAX];
	size_t			 len;
	int			 i;

	user_register(&u);
	len = (size_t)snprintf(body, sizeof(body), "refresh_token=%s",
	    u.refresh);
	for (i = 0; i < RACERS; i++)
		ck_assert_int_eq(http_start(st, &c[i], "POST", "/auth/refresh",
		    form, body, len), 0);
	for (i = 0; i < RACERS; i++) {
		ck_assert_int_eq(http_finish(&c[i], &r), 0);
		ck_assert_msg(r.status == 200, "refresh %d: %d %s", i,
		    r.status, r.body);
		o = http_json(&r);
		ck_assert_int_eq(json_str(o, "access_token", access[i],
		    TOKEN_MAX), 0);
		ck_assert_int_eq(json_str(o, "refresh_token", refresh[i],
		    TOKEN_MAX), 0);
		json_object_put(o);
		http_response_free(&r);
	}
	for (i = 1; i < RACERS; i++) {
		ck_assert_str_eq(access[i], access[0]);
		ck_assert_str_eq(refresh[i], refresh[0]);
	}
	ck_assert_str_ne(refresh[0], u.refresh);
}
END_TEST

START_TEST(eight_concurrent_registrations_of_one_email_make_one_account)
{
	struct http_conn	 c[RACERS];
	struct http_response	 r;
	char			 email[FIELD_MAX], body[RACERS][BODY_MAX];
	size_t			 len[RACERS];
	int			 i, created = 0, duplicate = 0;

	snprintf(email, sizeof(email), "race.%ld.%u@example.com",
	    (long)getpid(), ++seq);
	for (i = 0; i < RACERS; i++)
		len[i] = register_body(body[i], sizeof(body[i]), email, ++seq);
	for (i = 0; i < RACERS; i++)
		ck_assert_int_eq(http_start(st, &c[i], "POST",
		    "/auth/register", form, body[i], len[i]), 0);
	for (i = 0; i < RACERS; i++) {
		ck_assert_int_eq(http_finish(&c[i], &r), 0);
		if (r.status == 201)
			created++;
		else if (r.status == 400 && strstr(r.body,
		    "Email address already registered") != NULL)
			duplicate++;
		else
			ck_abort_msg("registration %d: %d %s", i, r.status,
			    r.body);
		http_response_free(&r);
	}
	ck_assert_int_eq(created, 1);
	ck_assert_int_eq(duplicate, RACERS - 1);
}
END_TEST

START_TEST(a_worker_keeps_at_most_max_kept_connections)
{
	struct user	 u;
	int		 round, max_one;

	user_register(&u);
	for (round = 0; round < 3; round++)
		ck_assert_int_eq(concurrent_me(u.access, CLIENTS), CLIENTS);
	(void)kept_connections(&max_one);
	/* the 2 kept idle, and maybe a new one carrying GET /status */
	ck_assert_int_le(max_one, 2 + 1);
}
END_TEST

/* ---- under load ---- */

static void
tally_add(struct tally *t, const struct http_response *r, int want,
    const char *what)
{
	t->sent++;
	if (r != NULL && r->status == want) {
		t->ok++;
		return;
	}
	if (t->first_bad[0] == '\0')
		snprintf(t->first_bad, sizeof(t->first_bad), "%s: %d %.160s",
		    what, r != NULL ? r->status : -1, r != NULL ? r->body :
		    "(no answer)");
}

/*
 * One round of LOAD_BATCH requests in flight at once, half GET /auth/me
 * (200) and half POST /health (405: a POST nginx resends only with
 * non_idempotent); act (if not NULL) runs while they are in flight.
 */
static void
load_round(const char *token, struct tally *t, void (*act)(void))
{
	struct http_conn	 c[LOAD_BATCH];
	struct http_response	 r;
	char			 auth[HEADER_MAX];
	const char		*h[] = { auth, NULL };
	int			 i, started[LOAD_BATCH];

	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
	for (i = 0; i < LOAD_BATCH; i++)
		started[i] = (i % 2 == 0 ? http_start(st, &c[i], "GET",
		    "/auth/me", h, NULL, 0) : http_start(st, &c[i], "POST",
		    "/health", NULL, "", 0)) == 0;
	if (act != NULL)
		act();
	for (i = 0; i < LOAD_BATCH; i++) {
		if (!started[i] || http_finish(&c[i], &r) == -1) {
			tally_add(t, NULL, 0, i % 2 == 0 ? "GET /auth/me" :
			    "POST /health");
			continue;
		}
		tally_add(t, &r, i % 2 == 0 ? 200 : 405, i % 2 == 0 ?
		    "GET /auth/me" : "POST /health");
		http_response_free(&r);
	}
}

static void
kill_a_worker(void)
{
	pid_t	 pids[PIDS_MAX];

	ck_assert_int_ge(stack_worker_pids(st, pids, PIDS_MAX), 1);
	ck_assert_int_eq(kill(pids[0], SIGKILL), 0);
}

static void
reload_the_pool(void)
{
	ck_assert_int_eq(kill(stack_master_pid(st), SIGHUP), 0);
}

/* Rounds of load with act in the middle one; every request answered. */
static void
load_with(void (*act)(void), const char *what)
{
	struct tally	 t;
	struct user	 u;
	int		 round;

	user_register(&u);
	memset(&t, 0, sizeof(t));
	for (round = 0; round < LOAD_ROUNDS; round++)
		load_round(u.access, &t, round == LOAD_ROUNDS / 4 ? act : NULL);
	ck_assert_int_eq(stack_wait_workers(st, 2, WHOLE_MS), 2);
	for (round = 0; round < LOAD_ROUNDS / 4; round++)
		load_round(u.access, &t, NULL);
	fprintf(stderr, "it_stall: %s under load at 2 workers: %d requests, "
	    "%d failed\n", what, t.sent, t.sent - t.ok);
	ck_assert_msg(t.ok == t.sent, "%d of %d requests failed; first: %s",
	    t.sent - t.ok, t.sent, t.first_bad);
}

START_TEST(a_worker_killed_under_load_fails_no_request)
{
	long	 from = stack_log_size(st);

	load_with(kill_a_worker, "a worker SIGKILLed");
	ck_assert_int_eq(stack_log_count(st, from, "(crashed)"), 1);
}
END_TEST

/* Waits up to ms for needle in the pool's log after from: 1, or 0. */
static int
log_shows(long from, const char *needle, long ms)
{
	long long	 deadline = test_now_ms() + ms;

	do {
		if (stack_log_count(st, from, needle) > 0)
			return 1;
		test_sleep_ms(20);
	} while (test_now_ms() < deadline);
	return 0;
}

START_TEST(a_reload_under_load_fails_no_request)
{
	long	 from = stack_log_size(st);

	load_with(reload_the_pool, "SIGHUP");
	ck_assert_msg(log_shows(from, "reload done", WHOLE_MS),
	    "the reload did not finish");
}
END_TEST

START_TEST(workers_recycling_under_load_fail_no_request)
{
	long	 from = stack_log_size(st);

	load_with(NULL, "recycling every 50 requests");
	ck_assert_int_ge(stack_log_count(st, from, "recycling after"), 2);
	ck_assert_int_eq(stack_log_count(st, from, "(crashed)"), 0);
}
END_TEST

/* ---- a FastCGI client on the socket ---- */

static int
direct_connect(void)
{
	int	 fd = fcgi_connect(stack_socket_path(st));

	ck_assert_msg(fd != -1, "connect %s: %s", stack_socket_path(st),
	    strerror(errno));
	return fd;
}

/* Sends a whole request on fd and reads its answer into r: 0, or -1. */
static int
direct_request(int fd, int id, int keep, const char *method,
    const char *path, const char *body, struct fcgi_reply *r)
{
	unsigned char	 buf[REQ_MAX];
	char		 m[64], p[256], cl[64];
	const char	*params[] = { m, p, cl, "REMOTE_ADDR=127.0.0.1",
	    "CONTENT_TYPE=application/x-www-form-urlencoded", NULL };
	size_t		 blen = body != NULL ? strlen(body) : 0, len;

	snprintf(m, sizeof(m), "REQUEST_METHOD=%s", method);
	snprintf(p, sizeof(p), "DOCUMENT_URI=%s", path);
	snprintf(cl, sizeof(cl), "CONTENT_LENGTH=%zu", blen);
	len = fcgi_request(buf, sizeof(buf), id, keep, params, body, blen, 1);
	ck_assert_uint_gt(len, 0);
	if (fcgi_write(fd, buf, len) == -1)
		return -1;
	return fcgi_read_reply(fd, id, ANSWER_MS, r);
}

/* Fills nginx's cache of connections to the pool with idle ones. */
static void
nginx_keeps_connections(void)
{
	struct user	 u;
	int		 max_one;

	user_register(&u);
	ck_assert_int_eq(concurrent_me(u.access, CLIENTS), CLIENTS);
	ck_assert_int_ge(kept_connections(&max_one), 2);
}

START_TEST(a_direct_fastcgi_client_is_answered_while_nginx_keeps_connections)
{
	struct fcgi_reply	 r;
	int			 fd, i;

	nginx_keeps_connections();
	fd = direct_connect();
	for (i = 1; i <= 3; i++) {	/* one connection, three requests */
		ck_assert_int_eq(direct_request(fd, i, 1, "GET", "/health",
		    NULL, &r), 0);
		ck_assert_msg(r.status == 200, "GET /health: %d %s", r.status,
		    r.out);
		ck_assert_ptr_nonnull(strstr(r.body, "\"status\""));
	}
	close(fd);
	fd = direct_connect();		/* and one without FCGI_KEEP_CONN */
	ck_assert_int_eq(direct_request(fd, 1, 0, "GET", "/health", NULL, &r),
	    0);
	ck_assert_int_eq(r.status, 200);
	ck_assert(fcgi_closed(fd, ANSWER_MS));
	close(fd);
}
END_TEST

/* The value of name in a FCGI_GET_VALUES_RESULT's content, or NULL. */
static const char *
nv_find(const unsigned char *c, size_t len, const char *name, char *out,
    size_t size)
{
	size_t	 at = 0, nl, vl;

	while (at + 2 <= len) {
		nl = c[at];
		vl = c[at + 1];
		at += 2;
		if (nl >= 128 || vl >= 128 || at + nl + vl > len)
			return NULL;
		if (nl == strlen(name) && memcmp(c + at, name, nl) == 0 &&
		    vl < size) {
			memcpy(out, c + at + nl, vl);
			out[vl] = '\0';
			return out;
		}
		at += nl + vl;
	}
	return NULL;
}

START_TEST(get_values_is_answered_and_other_management_records_are_unknown)
{
	unsigned char		 rec[512], in[512];
	unsigned char		 ask[] = {
	    14, 0, 'F', 'C', 'G', 'I', '_', 'M', 'A', 'X', '_', 'C', 'O', 'N',
	    'N', 'S',
	    13, 0, 'F', 'C', 'G', 'I', '_', 'M', 'A', 'X', '_', 'R', 'E', 'Q',
	    'S',
	    15, 0, 'F', 'C', 'G', 'I', '_', 'M', 'P', 'X', 'S', '_', 'C', 'O',
	    'N', 'N', 'S' };
	struct fcgi_reply	 r;
	char			 v[32];
	size_t			 len;
	int			 fd, type, id;

	nginx_keeps_connections();
	fd = direct_connect();
	len = fcgi_record(rec, sizeof(rec), FCGI_GET_VALUES, 0, ask,
	    sizeof(ask));
	ck_assert_int_eq(fcgi_write(fd, rec, len), 0);
	ck_assert_int_eq(fcgi_read_record(fd, ANSWER_MS, &type, &id, in,
	    sizeof(in), &len), 0);
	ck_assert_int_eq(type, FCGI_GET_VALUES_RESULT);
	ck_assert_int_eq(id, 0);
	ck_assert_ptr_nonnull(nv_find(in, len, "FCGI_MPXS_CONNS", v,
	    sizeof(v)));
	ck_assert_str_eq(v, "0");
	ck_assert_ptr_nonnull(nv_find(in, len, "FCGI_MAX_REQS", v, sizeof(v)));
	ck_assert_str_eq(v, "1");		/* one worker */
	ck_assert_ptr_nonnull(nv_find(in, len, "FCGI_MAX_CONNS", v,
	    sizeof(v)));
	ck_assert_int_ge(atoi(v), 1);
	/* a management type FastCGI 1.0 does not define */
	len = fcgi_record(rec, sizeof(rec), 42, 0, NULL, 0);
	ck_assert_int_eq(fcgi_write(fd, rec, len), 0);
	ck_assert_int_eq(fcgi_read_record(fd, ANSWER_MS, &type, &id, in,
	    sizeof(in), &len), 0);
	ck_assert_int_eq(type, FCGI_UNKNOWN_TYPE);
	ck_assert_uint_eq(len, 8);
	ck_assert_int_eq(in[0], 42);
	/* the connection still serves requests */
	ck_assert_int_eq(direct_request(fd, 1, 1, "GET", "/health", NULL, &r),
	    0);
	ck_assert_int_eq(r.status, 200);
	close(fd);
}
END_TEST

START_TEST(stdin_ending_before_content_length_is_answered_400)
{
	unsigned char		 buf[REQ_MAX];
	const char		*params[] = { "REQUEST_METHOD=POST",
	    "DOCUMENT_URI=/auth/login", "CONTENT_LENGTH=100",
	    "CONTENT_TYPE=application/x-www-form-urlencoded",
	    "REMOTE_ADDR=127.0.0.1", NULL };
	struct fcgi_reply	 r;
	size_t			 len;
	int			 fd;

	fd = direct_connect();
	len = fcgi_request(buf, sizeof(buf), 1, 1, params, "email=a", 7, 1);
	ck_assert_int_eq(fcgi_write(fd, buf, len), 0);
	ck_assert_int_eq(fcgi_read_reply(fd, 1, ANSWER_MS, &r), 0);
	ck_assert_msg(r.status == 400, "short stdin: %d %s", r.status, r.out);
	close(fd);
}
END_TEST

START_TEST(a_request_whose_body_went_unread_leaves_its_connection_usable)
{
	struct fcgi_reply	 r;
	int			 fd;

	fd = direct_connect();
	/* 405 before any body is read */
	ck_assert_int_eq(direct_request(fd, 1, 1, "PUT", "/health",
	    "a=1&b=2&c=3", &r), 0);
	ck_assert_int_eq(r.status, 405);
	ck_assert_int_eq(direct_request(fd, 2, 1, "GET", "/health", NULL, &r),
	    0);
	ck_assert_int_eq(r.status, 200);
	close(fd);
}
END_TEST

START_TEST(a_malformed_record_closes_that_connection_only)
{
	static const unsigned char	 bad[8] = { 7, 1, 0, 1, 0, 8, 0, 0 };
	struct fcgi_reply		 r;
	int				 fd, other;

	other = direct_connect();
	fd = direct_connect();
	ck_assert_int_eq(fcgi_write(fd, bad, sizeof(bad)), 0);
	ck_assert_msg(fcgi_closed(fd, ANSWER_MS), "malformed record: the "
	    "connection stayed open");
	close(fd);
	ck_assert_int_eq(direct_request(other, 1, 1, "GET", "/health", NULL,
	    &r), 0);
	ck_assert_int_eq(r.status, 200);
	close(other);
}
END_TEST

START_TEST(silent_and_half_sent_peers_do_not_take_the_worker_out_of_service)
{
	unsigned char		 buf[REQ_MAX];
	const char		*params[] = { "REQUEST_METHOD=POST",
	    "DOCUMENT_URI=/auth/login", "CONTENT_LENGTH=40",
	    "CONTENT_TYPE=application/x-www-form-urlencoded", NULL };
	struct fcgi_reply	 r;
	struct user		 u;
	size_t			 len;
	int			 silent, half, short_body, fd, i;

	user_register(&u);
	silent = direct_connect();		/* connects, sends nothing */
	half = direct_connect();		/* stops inside a record */
	short_body = direct_connect();		/* stops inside its stdin */
	len = fcgi_request(buf, sizeof(buf), 1, 1, params, NULL, 0, 0);
	ck_assert_int_eq(fcgi_write(half, buf, len - 5), 0);
	len = fcgi_request(buf, sizeof(buf), 1, 1, params, "email=", 6, 0);
	ck_assert_int_eq(fcgi_write(short_body, buf, len - 3), 0);
	/* the one worker answers nginx's clients and a direct one */
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(concurrent_me(u.access, LOAD_BATCH),
		    LOAD_BATCH);
	fd = direct_connect();
	ck_assert_int_eq(direct_request(fd, 1, 0, "GET", "/health", NULL, &r),
	    0);
	ck_assert_int_eq(r.status, 200);
	close(fd);
	/* the pool closes them, having kept only an entry for each */
	ck_assert_msg(fcgi_closed(silent, ANSWER_MS), "silent peer kept");
	ck_assert_msg(fcgi_closed(half, ANSWER_MS), "half record kept");
	ck_assert_msg(fcgi_closed(short_body, ANSWER_MS), "half stdin kept");
	close(silent);
	close(half);
	close(short_body);
	ck_assert_int_eq(concurrent_me(u.access, LOAD_BATCH), LOAD_BATCH);
}
END_TEST

START_TEST(a_kept_connection_that_stops_mid_request_is_closed)
{
	unsigned char		 buf[REQ_MAX];
	const char		*params[] = { "REQUEST_METHOD=GET",
	    "DOCUMENT_URI=/health", NULL };
	struct fcgi_reply	 r;
	size_t			 len;
	int			 fd, other;

	fd = direct_connect();
	ck_assert_int_eq(direct_request(fd, 1, 1, "GET", "/health", NULL, &r),
	    0);
	ck_assert_int_eq(r.status, 200);
	len = fcgi_request(buf, sizeof(buf), 2, 1, params, NULL, 0, 1);
	ck_assert_int_eq(fcgi_write(fd, buf, len - 4), 0);
	other = direct_connect();
	ck_assert_int_eq(direct_request(other, 1, 1, "GET", "/health", NULL,
	    &r), 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_msg(fcgi_closed(fd, ANSWER_MS), "half request kept");
	close(fd);
	close(other);
}
END_TEST

/* ---- a stop sent to the whole process group ---- */

/* Waits for the pool to exit after SIGTERM to its process group. */
static void
group_stop(const pid_t *workers, int n, long from)
{
	long long	 deadline;
	int		 i, alive;

	ck_assert_int_eq(kill(-stack_master_pid(st), SIGTERM), 0);
	ck_assert_int_eq(stack_stop_pool(st, 0, STOP_MS), 0);
	deadline = test_now_ms() + STOP_MS;
	do {
		for (i = 0, alive = 0; i < n; i++)
			alive += stack_pid_alive(workers[i]);
		if (alive == 0)
			break;
		test_sleep_ms(20);
	} while (test_now_ms() < deadline);
	ck_assert_msg(alive == 0, "%d workers left after the group SIGTERM",
	    alive);
	ck_assert_int_eq(stack_log_count(st, from, "(crashed)"), 0);
	ck_assert_int_eq(stack_log_count(st, from, "(failed)"), 0);
	ck_assert_int_eq(stack_log_count(st, from, "shutdown_timeout passed"),
	    0);
	/* the workers it had and its mail sender, none started during the
	   stop */
	ck_assert_int_eq(stack_log_count(st, from, "ended (stopped)"), n + 1);
	ck_assert_int_eq(stack_log_count(st, from, " ended ("), n + 1);
	ck_assert_int_eq(stack_log_count(st, from, "mail sender "), 1);
	ck_assert_int_eq(stack_log_count(st, from, "master stopped"), 1);
}

START_TEST(sigterm_to_the_process_group_while_idle_stops_everything)
{
	pid_t	 workers[PIDS_MAX];
	long	 from = stack_log_size(st);
	int	 n;

	n = stack_worker_pids(st, workers, PIDS_MAX);
	ck_assert_int_eq(n, 2);
	group_stop(workers, n, from);
}
END_TEST

START_TEST(sigterm_to_the_process_group_under_load_finishes_requests)
{
	struct http_conn	 c[LOAD_BATCH];
	struct http_response	 r;
	pid_t			 workers[PIDS_MAX];
	redisContext		*rc;
	redisReply		*rep;
	long			 from = stack_log_size(st);
	int			 n, i;

	n = stack_worker_pids(st, workers, PIDS_MAX);
	ck_assert_int_eq(n, 2);
	/* every /health now waits on Redis for PAUSE_MS */
	ck_assert_ptr_nonnull(rc = redis_server_client(stack_redis(st)));
	rep = redisCommand(rc, "CLIENT PAUSE %d", PAUSE_MS);
	ck_assert_ptr_nonnull(rep);
	freeReplyObject(rep);
	redisFree(rc);
	for (i = 0; i < 2; i++)
		ck_assert_int_eq(http_start(st, &c[i], "GET", "/health", NULL,
		    NULL, 0), 0);
	test_sleep_ms(PAUSE_MS / 4);	/* the requests reach the workers */
	group_stop(workers, n, from);
	for (i = 0; i < 2; i++) {
		ck_assert_int_eq(http_finish(&c[i], &r), 0);
		ck_assert_msg(r.status == 200, "request %d in flight: %d %s",
		    i, r.status, r.body);
		http_response_free(&r);
	}
}
END_TEST

Suite *
suite(void)
{
	Suite	*s = suite_create("it_stall");
	TCase	*one = tcase_create("one_worker");
	TCase	*two = tcase_create("two_workers");
	TCase	*kept = tcase_create("max_kept_connections");
	TCase	*recycle = tcase_create("recycling");
	TCase	*group = tcase_create("group_stop");

	tcase_add_unchecked_fixture(one, setup_one, teardown);
	tcase_set_timeout(one, TIMEOUT_S);
	tcase_add_test(one,
	    one_worker_answers_32_concurrent_clients_behind_16_kept_conns);
	tcase_add_test(one,
	    a_direct_fastcgi_client_is_answered_while_nginx_keeps_connections);
	tcase_add_test(one,
	    get_values_is_answered_and_other_management_records_are_unknown);
	tcase_add_test(one, stdin_ending_before_content_length_is_answered_400);
	tcase_add_test(one,
	    a_request_whose_body_went_unread_leaves_its_connection_usable);
	tcase_add_test(one, a_malformed_record_closes_that_connection_only);
	tcase_add_test(one,
	    silent_and_half_sent_peers_do_not_take_the_worker_out_of_service);
	tcase_add_test(one, a_kept_connection_that_stops_mid_request_is_closed);
	suite_add_tcase(s, one);

	tcase_add_unchecked_fixture(two, setup_two, teardown);
	tcase_set_timeout(two, TIMEOUT_S);
	tcase_add_test(two, two_workers_answer_32_concurrent_clients);
	tcase_add_test(two,
	    eight_racing_refreshes_of_one_token_all_get_the_same_successors);
	tcase_add_test(two,
	    eight_concurrent_registrations_of_one_email_make_one_account);
	tcase_add_test(two, a_worker_killed_under_load_fails_no_request);
	tcase_add_test(two, a_reload_under_load_fails_no_request);
	suite_add_tcase(s, two);

	tcase_add_unchecked_fixture(recycle, setup_recycle, teardown);
	tcase_set_timeout(recycle, TIMEOUT_S);
	tcase_add_test(recycle, workers_recycling_under_load_fail_no_request);
	suite_add_tcase(s, recycle);

	tcase_add_unchecked_fixture(kept, setup_kept2, teardown);
	tcase_set_timeout(kept, TIMEOUT_S);
	tcase_add_test(kept, a_worker_keeps_at_most_max_kept_connections);
	suite_add_tcase(s, kept);

	tcase_add_checked_fixture(group, setup_group, teardown);
	tcase_set_timeout(group, TIMEOUT_S);
	tcase_add_test(group,
	    sigterm_to_the_process_group_while_idle_stops_everything);
	tcase_add_test(group,
	    sigterm_to_the_process_group_under_load_finishes_requests);
	suite_add_tcase(s, group);
	return s;
}
