/*
 * Redis's states through the whole stack (nginx, the pool, a real
 * redis-server, SQLite): a stale connection is replaced and gets Redis's
 * real answer, an erroring Redis fails closed, an unreachable one gets
 * SPEC 3's signature fallback, and nothing minted during an outage
 * outlives it.  Every test that speaks of "every worker" shows that each
 * worker answered (api_burst_every_worker).  Each test starts its own
 * stack, so that it may stop and restart that stack's Redis (only the
 * process that started a server may).  Assertions are on answers, never
 * on durations.
 */
#include <sys/mman.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <hiredis/hiredis.h>
#include <sodium.h>

#include "api_client.h"
#include "fake_redis.h"
#include "harness.h"
#include "redis_server.h"
#include "runner.h"

#define WORKERS		4
/* no mail sender: the Redis clients and log lines counted here are the
   workers' own */
#define CHEAP_ARGON2	"MOCKPIE_PASSWORD_OPSLIMIT=1", \
			"MOCKPIE_PASSWORD_MEMLIMIT=8m", "MOCKPIE_MAIL_SENDER=false"
#define TIMEOUT_S	90
#define HAMMER_CLIENTS	4
#define HAMMER_MAX	4000	/* requests per hammering client */
#define HAMMER_MS	2000
#define KILLS		5
#define PAUSE_MS	4000
#define ENV_MAX		8
#define PATH_MAX_T	512
#define CACHE_ROUNDS	125	/* logouts, each then every worker asked */

static const char *const env_plain[] = { CHEAP_ARGON2, NULL };

/* What the hammering clients saw, in shared memory. */
struct hammer {
	int	 sent;
	int	 live_refused;		/* live token not 200 */
	int	 revoked_accepted;	/* logged-out token 200 */
	int	 other;			/* anything else */
};

static struct stack *
start(int workers, const char *const *env, int no_redis)
{
	struct stack_options	 o;
	struct stack		*st;

	memset(&o, 0, sizeof(o));
	o.workers = workers;
	o.env = env;
	o.no_redis = no_redis;
	ck_assert_msg((st = stack_start(&o)) != NULL,
	    "it_redis_states: the stack did not start");
	return st;
}

static redisReply *
admin(redisContext *c, const char *fmt, ...)
{
	va_list		 ap;
	redisReply	*r;

	va_start(ap, fmt);
	r = redisvCommand(c, fmt, ap);
	va_end(ap);
	ck_assert_msg(r != NULL, "admin: %s", c->errstr);
	ck_assert_msg(r->type != REDIS_REPLY_ERROR, "admin: %s", r->str);
	return r;
}

/* Runs cmd, words split at blanks (no quoting), asserting no error. */
static void
admin_do(redisContext *c, const char *cmd)
{
	char		 buf[256], *argv[16], *w, *save = NULL;
	redisReply	*r;
	int		 argc = 0;

	ck_assert_uint_lt(strlen(cmd), sizeof(buf));
	snprintf(buf, sizeof(buf), "%s", cmd);
	for (w = strtok_r(buf, " ", &save); w != NULL && argc < 16;
	    w = strtok_r(NULL, " ", &save))
		argv[argc++] = w;
	r = redisCommandArgv(c, argc, (const char **)argv, NULL);
	ck_assert_msg(r != NULL, "%s: %s", cmd, c->errstr);
	ck_assert_msg(r->type != REDIS_REPLY_ERROR, "%s: %s", cmd, r->str);
	freeReplyObject(r);
}

/* A live person and a logged-out one, on st. */
static void
two_people(struct stack *st, struct api_person *live,
    struct api_person *out)
{
	api_register(st, live);
	api_register(st, out);
	ck_assert_int_eq(api_logout(st, out->access), 200);
	ck_assert_int_eq(api_me(st, out->access), 401);
}

/*
 * Every worker answers the live token 200 and the logged-out one 401,
 * and nothing else.
 */
static void
assert_exact_on_every_worker(struct stack *st, const struct api_person *live,
    const struct api_person *out)
{
	struct api_tally	 t;

	memset(&t, 0, sizeof(t));
	api_burst_every_worker(st, live->access, &t);
	ck_assert_msg(t.by_status[200] == t.total, "live token: %d of %d "
	    "answers 200 (401: %d, 503: %d)", t.by_status[200], t.total,
	    t.by_status[401], t.by_status[503]);
	memset(&t, 0, sizeof(t));
	api_burst_every_worker(st, out->access, &t);
	ck_assert_msg(t.by_status[401] == t.total, "logged-out token: %d of "
	    "%d answers 401 (200: %d, 503: %d)", t.by_status[401], t.total,
	    t.by_status[200], t.by_status[503]);
}

static unsigned long
sum_workers(struct stack *st, int stale)
{
	struct api_worker	 w[API_WORKERS_MAX];
	unsigned long		 sum = 0;
	int			 i, n;

	n = api_workers(st, w, API_WORKERS_MAX);
	for (i = 0; i < n; i++)
		sum += stale ? w[i].stale_reconnects :
		    w[i].signature_fallbacks;
	return sum;
}

/* The figures of /status, for the README: into the test's log. */
static void
report(struct stack *st, const char *when)
{
	fprintf(stderr, "it_redis_states: %s: %lu stale reconnects, %lu "
	    "signature fallbacks, %d 'redis unavailable' warnings\n", when,
	    sum_workers(st, 1), sum_workers(st, 0),
	    stack_log_count(st, 0, "redis unavailable"));
}

/* Redis's RDB file in the stack's directory, where redis_server keeps it */
static void
dump_path(struct stack *st, char *buf, size_t len)
{
	snprintf(buf, len, "%s/dump.rdb", stack_dir(st));
}

/* ---- restarts ---- */

START_TEST(restart_with_data_keeps_logged_out_tokens_out_on_every_worker)
{
	struct stack		*st = start(WORKERS, env_plain, 0);
	struct api_person	 live, out;
	redisContext		*c;

	two_people(st, &live, &out);
	assert_exact_on_every_worker(st, &live, &out);	/* all warm */
	ck_assert_ptr_nonnull(c = redis_server_client(stack_redis(st)));
	admin_do(c, "SAVE");
	redisFree(c);
	ck_assert_int_eq(redis_server_restart(stack_redis(st)), 0);
	/* every kept connection is stale now: none may fall back */
	assert_exact_on_every_worker(st, &live, &out);
	report(st, "Redis restarted with its data");
	ck_assert_uint_eq(sum_workers(st, 0), 0);
	ck_assert_uint_ge(sum_workers(st, 1), WORKERS);
	stack_stop(st);
}
END_TEST

START_TEST(restart_without_data_lets_no_token_in_on_every_worker)
{
	struct stack		*st = start(WORKERS, env_plain, 0);
	struct api_person	 live, out;
	struct api_tally	 t;
	char			 dump[PATH_MAX_T];

	two_people(st, &live, &out);
	assert_exact_on_every_worker(st, &live, &out);	/* all warm */
	dump_path(st, dump, sizeof(dump));
	unlink(dump);
	ck_assert_int_eq(redis_server_restart(stack_redis(st)), 0);
	memset(&t, 0, sizeof(t));
	api_burst_every_worker(st, live.access, &t);
	api_burst_every_worker(st, out.access, &t);
	report(st, "Redis restarted without its data");
	ck_assert_msg(t.by_status[401] == t.total, "after a restart without "
	    "data: %d of %d answers 401 (200: %d)", t.by_status[401], t.total,
	    t.by_status[200]);
	stack_stop(st);
}
END_TEST

START_TEST(outage_falls_back_on_signature_and_recovery_is_exact)
{
	struct stack		*st = start(WORKERS, env_plain, 0);
	struct api_person	 live, out;
	struct api_tally	 t;
	redisContext		*c;

	two_people(st, &live, &out);
	ck_assert_ptr_nonnull(c = redis_server_client(stack_redis(st)));
	admin_do(c, "SAVE");
	redisFree(c);
	ck_assert_int_eq(redis_server_stop(stack_redis(st)), 0);
	/* SPEC 3: unreachable, so signature and expiry decide */
	memset(&t, 0, sizeof(t));
	api_burst_every_worker(st, live.access, &t);
	ck_assert_msg(t.by_status[200] == t.total, "during the outage %d of "
	    "%d answers 200", t.by_status[200], t.total);
	ck_assert_int_eq(api_logout(st, live.access), 503);
	report(st, "Redis stopped, every worker asked");
	ck_assert_uint_ge(sum_workers(st, 0), (unsigned long)t.total);
	ck_assert_int_eq(stack_log_count(st, 0, "redis unavailable"),
	    WORKERS);	/* once per worker and outage */

	ck_assert_int_eq(redis_server_restart(stack_redis(st)), 0);
	api_wait_redis_connected(st, live.access);
	assert_exact_on_every_worker(st, &live, &out);
	report(st, "Redis back, every worker reconnected");
	stack_stop(st);
}
END_TEST

/* ---- connections closed by Redis while it answers ---- */

START_TEST(idle_timeout_is_not_an_outage)
{
	struct stack		*st = start(WORKERS, env_plain, 0);
	struct api_person	 live, out;
	redisContext		*c;
	redisReply		*r;
	const char		*p;
	long long		 deadline;
	long long		 clients;

	two_people(st, &live, &out);
	assert_exact_on_every_worker(st, &live, &out);	/* all connected */
	ck_assert_ptr_nonnull(c = redis_server_client(stack_redis(st)));
	admin_do(c, "CONFIG SET timeout 1");
	/* until Redis has closed every worker's idle connection */
	deadline = test_now_ms() + 10000;
	do {
		test_sleep_ms(200);
		r = admin(c, "CLIENT LIST TYPE normal");
		for (clients = 0, p = r->str; p != NULL &&
		    (p = strstr(p, "id=")) != NULL; clients++)
			p += 3;
		freeReplyObject(r);
	} while (clients > 1 && test_now_ms() < deadline);
	ck_assert_int_eq(clients, 1);	/* the admin client alone */
	admin_do(c, "CONFIG SET timeout 0");
	redisFree(c);
	assert_exact_on_every_worker(st, &live, &out);
	report(st, "every connection closed by Redis's idle timeout");
	ck_assert_uint_eq(sum_workers(st, 0), 0);
	ck_assert_uint_ge(sum_workers(st, 1), WORKERS);
	ck_assert_int_eq(stack_log_count(st, 0, "redis unavailable"), 0);
	ck_assert_int_eq(stack_log_count(st, 0, "redis down"), 0);
	stack_stop(st);
}
END_TEST

/* One hammering client: live and logged-out tokens in turn, bounded. */
static void
hammer(struct stack *st, const struct api_person *live,
    const struct api_person *out, struct hammer *h)
{
	long long	 until = test_now_ms() + HAMMER_MS;
	int		 i, s;

	for (i = 0; i < HAMMER_MAX && test_now_ms() < until; i++) {
		s = api_me(st, i % 2 ? out->access : live->access);
		h->sent++;
		if (i % 2 == 0 && s != 200)
			h->live_refused++;
		else if (i % 2 == 1 && s == 200)
			h->revoked_accepted++;
		else if (s != 200 && s != 401)
			h->other++;
	}
}

START_TEST(client_kill_under_load_is_not_an_outage)
{
	struct stack		*st = start(WORKERS, env_plain, 0);
	struct api_person	 live, out;
	struct hammer		*h, sum;
	redisContext		*c;
	pid_t			 pids[HAMMER_CLIENTS];
	int			 i, status;

	two_people(st, &live, &out);
	assert_exact_on_every_worker(st, &live, &out);
	h = mmap(NULL, HAMMER_CLIENTS * sizeof(*h), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ck_assert(h != MAP_FAILED);
	memset(h, 0, HAMMER_CLIENTS * sizeof(*h));
	for (i = 0; i < HAMMER_CLIENTS; i++) {
		if ((pids[i] = fork()) == 0) {
			hammer(st, &live, &out, &h[i]);
			_exit(0);
		}
		ck_assert_int_ne(pids[i], -1);
	}
	ck_assert_ptr_nonnull(c = redis_server_client(stack_redis(st)));
	for (i = 0; i < KILLS; i++) {
		test_sleep_ms(HAMMER_MS / (KILLS + 1));	/* pacing the fault */
		admin_do(c, "CLIENT KILL TYPE normal SKIPME yes");
	}
	redisFree(c);
	memset(&sum, 0, sizeof(sum));
	for (i = 0; i < HAMMER_CLIENTS; i++) {
		while (waitpid(pids[i], &status, 0) == -1 && errno == EINTR)
			;
		sum.sent += h[i].sent;
		sum.live_refused += h[i].live_refused;
		sum.revoked_accepted += h[i].revoked_accepted;
		sum.other += h[i].other;
	}
	munmap(h, HAMMER_CLIENTS * sizeof(*h));
	fprintf(stderr, "it_redis_states: CLIENT KILL x %d under %d "
	    "requests\n", KILLS, sum.sent);
	report(st, "after the kills");
	ck_assert_int_gt(sum.sent, 0);
	ck_assert_msg(sum.live_refused == 0 && sum.revoked_accepted == 0 &&
	    sum.other == 0, "of %d requests: live refused %d, logged-out "
	    "accepted %d, other %d", sum.sent, sum.live_refused,
	    sum.revoked_accepted, sum.other);
	ck_assert_uint_ge(sum_workers(st, 1), 1);	/* the kills hit */
	ck_assert_uint_eq(sum_workers(st, 0), 0);
	ck_assert_int_eq(stack_log_count(st, 0, "redis unavailable"), 0);
	assert_exact_on_every_worker(st, &live, &out);
	stack_stop(st);
}
END_TEST

/* ---- Redis up and refusing ---- */

START_TEST(acl_refusal_fails_closed_and_lifts_no_limit)
{
	struct stack		*st = start(WORKERS, env_plain, 0);
	struct api_person	 live, out;
	struct api_tally	 t;
	redisContext		*c;
	int			 i;

	two_people(st, &live, &out);
	ck_assert_ptr_nonnull(c = redis_server_client(stack_redis(st)));
	admin_do(c, "ACL SETUSER default -exists -hget");
	memset(&t, 0, sizeof(t));
	api_burst_every_worker(st, live.access, &t);
	api_burst_every_worker(st, out.access, &t);
	ck_assert_msg(t.by_status[503] == t.total, "session lookup refused: "
	    "%d of %d answers 503 (200: %d, 401: %d)", t.by_status[503],
	    t.total, t.by_status[200], t.by_status[401]);

	admin_do(c, "ACL SETUSER default -evalsha -eval");
	/* no oracle: the right and a wrong password get the same answer */
	ck_assert_int_eq(api_login(st, live.email, live.password, NULL), 503);
	for (i = 0; i < 12; i++)
		ck_assert_int_eq(api_login(st, live.email, "wrong password!",
		    NULL), 503);
	ck_assert_int_eq(api_login(st, live.email, live.password, NULL), 503);

	admin_do(c, "ACL SETUSER default +@all");
	redisFree(c);
	assert_exact_on_every_worker(st, &live, &out);
	/* nothing was counted while refused: the limit was never at 10 */
	ck_assert_int_eq(api_login(st, live.email, live.password, &live),
	    200);
	ck_assert_int_eq(stack_log_count(st, 0, "redis down"), 0);
	stack_stop(st);
}
END_TEST

/* A second stack on st's users, its Redis URL url: 1 worker by default */
static struct stack *
start_beside(struct stack *st, const char *url, int workers,
    char env_buf[][PATH_MAX_T], const char **env)
{
	int	 n = 0;

	env[n++] = "MOCKPIE_PASSWORD_OPSLIMIT=1";
	env[n++] = "MOCKPIE_PASSWORD_MEMLIMIT=8m";
	/* the fake's scripted connections are the workers' */
	env[n++] = "MOCKPIE_MAIL_SENDER=false";
	snprintf(env_buf[0], PATH_MAX_T, "MOCKPIE_REDIS_URL=%s", url);
	env[n++] = env_buf[0];
	snprintf(env_buf[1], PATH_MAX_T, "MOCKPIE_DATABASE=%s/mockpie.db",
	    stack_dir(st));
	env[n++] = env_buf[1];
	env[n] = NULL;
	return start(workers, env, 1);
}

START_TEST(loading_redis_fails_closed)
{
	static const struct fake_conn_spec loading[] = { { FAKE_ERROR, NULL } };
	struct stack		*st = start(1, env_plain, 0), *beside;
	struct api_person	 live, out;
	struct fake_redis	*f;
	struct api_tally	 t;
	struct http_response	 r;
	char			 url[64], env_buf[2][PATH_MAX_T];
	const char		*env[ENV_MAX];

	two_people(st, &live, &out);
	ck_assert_ptr_nonnull(f = fake_redis_start(
	    redis_server_port(stack_redis(st)), loading, 1,
	    "LOADING Redis is loading the dataset in memory"));
	fake_redis_url(f, url, sizeof(url));
	beside = start_beside(st, url, 2, env_buf, env);
	memset(&t, 0, sizeof(t));
	api_burst_every_worker(beside, live.access, &t);
	api_burst_every_worker(beside, out.access, &t);
	ck_assert_msg(t.by_status[503] == t.total, "Redis loading: %d of %d "
	    "answers 503 (200: %d, 401: %d)", t.by_status[503], t.total,
	    t.by_status[200], t.by_status[401]);
	ck_assert_int_eq(api_login(beside, live.email, live.password, NULL),
	    503);
	ck_assert_int_eq(api_login(beside, live.email, "wrong password!",
	    NULL), 503);
	ck_assert_int_eq(http_request(beside, "GET", "/health?ready=1", NULL,
	    NULL, 0, &r), 0);
	ck_assert_int_eq(r.status, 503);
	ck_assert_msg(strstr(r.body, "LOADING") != NULL &&
	    strstr(r.body, "\"status\":\"error\"") != NULL, "%s", r.body);
	http_response_free(&r);
	ck_assert_uint_eq(sum_workers(beside, 0), 0);
	stack_stop(beside);
	fake_redis_stop(f);
	stack_stop(st);
}
END_TEST

START_TEST(readonly_connection_reaches_the_master)
{
	/* the first connection meets a demoted master; later ones pass */
	static const struct fake_conn_spec demoted[] = {
		{ FAKE_ERROR, NULL }, { FAKE_PROXY, NULL }
	};
	struct stack		*st = start(1, env_plain, 0), *beside;
	struct api_person	 live, out;
	struct fake_redis	*f;
	char			 url[64], env_buf[2][PATH_MAX_T];
	const char		*env[ENV_MAX];

	two_people(st, &live, &out);
	ck_assert_ptr_nonnull(f = fake_redis_start(
	    redis_server_port(stack_redis(st)), demoted, 2,
	    "READONLY You can't write against a read only replica."));
	fake_redis_url(f, url, sizeof(url));
	beside = start_beside(st, url, 1, env_buf, env);
	ck_assert_int_eq(api_me(beside, out.access), 401);	/* not 200 */
	ck_assert_int_eq(api_me(beside, live.access), 200);	/* not 401 */
	ck_assert_uint_eq(sum_workers(beside, 1), 1);
	ck_assert_uint_eq(sum_workers(beside, 0), 0);
	stack_stop(beside);
	fake_redis_stop(f);
	stack_stop(st);
}
END_TEST

/* ---- refreshes across an outage ---- */

/* A refresh during the pause: 503 while a worker still waits on Redis */
static void
refresh_during(struct stack *st, const char *refresh, long long until,
    char *access_out, char *refresh_out)
{
	int	 s;

	while ((s = api_refresh(st, refresh, access_out, refresh_out)) ==
	    503 && test_now_ms() < until)
		test_sleep_ms(50);
	ck_assert_msg(s == 200, "refresh during the pause: %d", s);
}

START_TEST(pause_during_refresh_keeps_the_user_and_buys_a_replay_nothing)
{
	static const char *const env_grace1[] = {
		CHEAP_ARGON2, "MOCKPIE_REFRESH_REUSE_GRACE=1", NULL
	};
	struct stack		*st = start(WORKERS, env_grace1, 0);
	struct api_person	 p;
	char			 a2[API_TOKEN_MAX], r2[API_TOKEN_MAX];
	char			 ao[API_TOKEN_MAX], ro[API_TOKEN_MAX];
	char			 ax[API_TOKEN_MAX], rx[API_TOKEN_MAX];
	char			 a4[API_TOKEN_MAX], r4[API_TOKEN_MAX];
	struct api_tally	 t;
	redisContext		*c;
	long long		 paused_until;

	api_register(st, &p);
	ck_assert_int_eq(api_refresh(st, p.refresh, a2, r2), 200);
	test_sleep_ms(1200);		/* p.refresh is past its grace */
	memset(&t, 0, sizeof(t));
	api_burst_every_worker(st, a2, &t);
	ck_assert_int_eq(t.by_status[200], t.total);

	ck_assert_ptr_nonnull(c = redis_server_client(stack_redis(st)));
	admin_do(c, "CLIENT PAUSE 4000 ALL");
	paused_until = test_now_ms() + PAUSE_MS - 500;
	refresh_during(st, r2, paused_until, ao, ro);	/* the user */
	refresh_during(st, p.refresh, paused_until, ax, rx); /* a replay */
	ck_assert_msg(test_now_ms() < paused_until + 500,
	    "the refreshes outlasted the pause: no outage seen");
	test_sleep_ms(paused_until + 600 - test_now_ms());
	redisFree(c);

	api_wait_redis_connected(st, a2);
	memset(&t, 0, sizeof(t));
	api_burst_every_worker(st, ax, &t);
	ck_assert_msg(t.by_status[401] == t.total, "access token from the "
	    "replay: %d of %d answers 401 (200: %d)", t.by_status[401],
	    t.total, t.by_status[200]);
	memset(&t, 0, sizeof(t));
	api_burst_every_worker(st, ao, &t);
	ck_assert_msg(t.by_status[200] == t.total, "the user's access token "
	    "from the outage: %d of %d answers 200", t.by_status[200],
	    t.total);
	/* the outage's refresh token rotates normally: still logged in */
	ck_assert_int_eq(api_refresh(st, ro, a4, r4), 200);
	ck_assert_int_eq(api_me(st, a4), 200);
	ck_assert_int_eq(stack_log_count(st, 0, "reused"), 0);
	/* the replay's refresh token is what it stands for: a reuse */
	ck_assert_int_eq(api_refresh(st, rx, NULL, NULL), 401);
	stack_stop(st);
}
END_TEST

/* The jti claim of a token, into jti (TOKEN_ID_LEN + 1 bytes or more). */
static void
token_jti(const char *token, char *jti, size_t len)
{
	const char	*p, *end, *j;
	char		 json[2048];
	size_t		 n;

	ck_assert_ptr_nonnull(p = strchr(token, '.'));
	p++;
	ck_assert_ptr_nonnull(end = strchr(p, '.'));
	ck_assert_int_eq(sodium_base642bin((unsigned char *)json,
	    sizeof(json) - 1, p, (size_t)(end - p), NULL, &n, NULL,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING), 0);
	json[n] = '\0';
	ck_assert_ptr_nonnull(j = strstr(json, "\"jti\":\""));
	j += 7;
	ck_assert_ptr_nonnull(end = strchr(j, '"'));
	ck_assert_uint_lt((size_t)(end - j), len);
	memcpy(jti, j, (size_t)(end - j));
	jti[end - j] = '\0';
}

START_TEST(rotation_whose_reply_is_lost_gives_the_pair_never_a_reuse)
{
	struct fake_conn_spec	 specs[2] = {
		{ FAKE_PROXY, NULL }, { FAKE_PROXY, NULL }
	};
	struct stack		*st = start(1, env_plain, 0), *beside;
	struct api_person	 p;
	struct fake_redis	*f;
	char			 jti[64], url[64], env_buf[2][PATH_MAX_T];
	char			 a2[API_TOKEN_MAX], r2[API_TOKEN_MAX];
	const char		*env[ENV_MAX];

	api_register(st, &p);
	/* the link dies once Redis has run the rotation of this token */
	token_jti(p.refresh, jti, sizeof(jti));
	specs[0].drop_reply_to = jti;
	ck_assert_ptr_nonnull(f = fake_redis_start(
	    redis_server_port(stack_redis(st)), specs, 2, NULL));
	fake_redis_url(f, url, sizeof(url));
	beside = start_beside(st, url, 1, env_buf, env);
	ck_assert_int_eq(api_me(beside, p.access), 200);  /* proven link */
	ck_assert_int_eq(api_refresh(beside, p.refresh, a2, r2), 200);
	ck_assert_uint_eq(sum_workers(beside, 1), 1);	/* it was resent */
	/* exactly one successor: the pair handed out is the live one */
	ck_assert_int_eq(api_me(beside, a2), 200);
	ck_assert_int_eq(api_refresh(st, r2, NULL, NULL), 200);
	ck_assert_int_eq(stack_log_count(beside, 0, "reused"), 0);
	stack_stop(beside);
	fake_redis_stop(f);
	stack_stop(st);
}
END_TEST

/* ---- redis_client_cache: no round trip on a warm session ---- */

static const char *const env_cache[] = {
	CHEAP_ARGON2, "MOCKPIE_REDIS_CLIENT_CACHE=true", NULL
};

/* Every worker's cache hits, summed. */
static unsigned long
cache_hits(struct stack *st)
{
	struct api_worker	 w[API_WORKERS_MAX];
	unsigned long		 sum = 0;
	int			 i, n;

	n = api_workers(st, w, API_WORKERS_MAX);
	for (i = 0; i < n; i++)
		sum += w[i].session_cache_hits;
	return sum;
}

START_TEST(client_cache_revocation_reaches_every_worker_at_once)
{
	struct stack		*st = start(WORKERS, env_cache, 0);
	struct api_person	 p;
	struct api_tally	 warm, after;
	int			 i;

	api_register(st, &p);
	memset(&after, 0, sizeof(after));
	for (i = 0; i < CACHE_ROUNDS; i++) {
		ck_assert_int_eq(api_login(st, p.email, p.password, &p), 200);
		memset(&warm, 0, sizeof(warm));
		api_burst_every_worker(st, p.access, &warm);
		api_burst_every_worker(st, p.access, &warm);
		ck_assert_int_eq(warm.by_status[200], warm.total);
		ck_assert_int_eq(api_logout(st, p.access), 200);
		api_burst_every_worker(st, p.access, &after);
	}
	fprintf(stderr, "it_redis_states: client cache: %d /auth/me after "
	    "%d logouts, %d answered 401; %lu cache hits\n", after.total,
	    CACHE_ROUNDS, after.by_status[401], cache_hits(st));
	ck_assert_int_ge(after.total, 1000);
	ck_assert_msg(after.by_status[401] == after.total, "after logout: "
	    "%d of %d answers 401 (200: %d)", after.by_status[401],
	    after.total, after.by_status[200]);
	ck_assert_uint_gt(cache_hits(st), 0);	/* the cache was used */
	stack_stop(st);
}
END_TEST

START_TEST(client_cache_forgets_on_restart_and_flushall)
{
	struct stack		*st = start(WORKERS, env_cache, 0);
	struct api_person	 live, out;
	struct api_tally	 t;
	redisContext		*c;
	char			 dump[PATH_MAX_T];

	two_people(st, &live, &out);
	assert_exact_on_every_worker(st, &live, &out);
	assert_exact_on_every_worker(st, &live, &out);	/* from the caches */
	ck_assert_uint_gt(cache_hits(st), 0);
	ck_assert_ptr_nonnull(c = redis_server_client(stack_redis(st)));
	admin_do(c, "FLUSHALL");
	redisFree(c);
	memset(&t, 0, sizeof(t));
	api_burst_every_worker(st, live.access, &t);
	ck_assert_msg(t.by_status[401] == t.total, "after FLUSHALL: %d of %d "
	    "answers 401", t.by_status[401], t.total);

	ck_assert_int_eq(api_login(st, live.email, live.password, &live),
	    200);
	memset(&t, 0, sizeof(t));
	api_burst_every_worker(st, live.access, &t);
	api_burst_every_worker(st, live.access, &t);	/* cached again */
	ck_assert_int_eq(t.by_status[200], t.total);
	dump_path(st, dump, sizeof(dump));
	unlink(dump);
	ck_assert_int_eq(redis_server_restart(stack_redis(st)), 0);
	memset(&t, 0, sizeof(t));
	api_burst_every_worker(st, live.access, &t);
	ck_assert_msg(t.by_status[401] == t.total, "after a restart without "
	    "data: %d of %d answers 401", t.by_status[401], t.total);
	stack_stop(st);
}
END_TEST

Suite *
suite(void)
{
	Suite	*s = suite_create("redis_states");
	TCase	*tc;

	tc = tcase_create("restart");
	tcase_set_timeout(tc, TIMEOUT_S);
	tcase_add_test(tc,
	    restart_with_data_keeps_logged_out_tokens_out_on_every_worker);
	tcase_add_test(tc,
	    restart_without_data_lets_no_token_in_on_every_worker);
	tcase_add_test(tc, outage_falls_back_on_signature_and_recovery_is_exact);
	suite_add_tcase(s, tc);

	tc = tcase_create("stale");
	tcase_set_timeout(tc, TIMEOUT_S);
	tcase_add_test(tc, idle_timeout_is_not_an_outage);
	tcase_add_test(tc, client_kill_under_load_is_not_an_outage);
	suite_add_tcase(s, tc);

	tc = tcase_create("erroring");
	tcase_set_timeout(tc, TIMEOUT_S);
	tcase_add_test(tc, acl_refusal_fails_closed_and_lifts_no_limit);
	tcase_add_test(tc, loading_redis_fails_closed);
	tcase_add_test(tc, readonly_connection_reaches_the_master);
	suite_add_tcase(s, tc);

	tc = tcase_create("refresh");
	tcase_set_timeout(tc, TIMEOUT_S);
	tcase_add_test(tc,
	    pause_during_refresh_keeps_the_user_and_buys_a_replay_nothing);
	tcase_add_test(tc,
	    rotation_whose_reply_is_lost_gives_the_pair_never_a_reuse);
	suite_add_tcase(s, tc);

	tc = tcase_create("client_cache");
	tcase_set_timeout(tc, TIMEOUT_S);
	tcase_add_test(tc, client_cache_revocation_reaches_every_worker_at_once);
	tcase_add_test(tc, client_cache_forgets_on_restart_and_flushall);
	suite_add_tcase(s, tc);
	return s;
}
