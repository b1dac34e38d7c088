/*
 * What an operator sees of the pool (issue 4 items 4 to 7), against the
 * real stack: a crash loop (back-off, degraded /health, the end of it),
 * GET /status in JSON and Prometheus text and nginx keeping it to this
 * host, the slow request log, RLIMIT_NOFILE and RLIMIT_CORE, the socket's
 * mode and owners, and --check-config refusing timeouts that contradict
 * each other.
 */
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <json-c/json.h>

#include "harness.h"
#include "redis_server.h"
#include "runner.h"

#define CHEAP_ARGON2	"MOCKPIE_PASSWORD_OPSLIMIT=1", \
			"MOCKPIE_PASSWORD_MEMLIMIT=8m"
#define WORKERS		3
#define PIDS_MAX	64
#define POLL_MS		20
#define REPLACE_MS	1000	/* a killed worker's successor is forked */
#define ANSWER_MS	2000	/* a request retried until it is answered */
#define CRASH_THRESHOLD	2
#define CRASH_INTERVAL	3	/* s */
#define FIRST_DELAY_MS	500	/* src/pool/master.c: the first back-off */
#define SLACK_MS	50	/* clock rounding between two processes */
#define NOFILE		512
#define FIELD_MAX	128
#define BODY_MAX	1024
#define TEXT_MAX	256
#define RAW_MAX		(64 * 1024)
#define OUTPUT_MAX	4096
#define RUN_MS		5000	/* a mockpie-fcgi that must exit at once */
#define RELOAD_MS	5000	/* SIGHUP: every worker replaced */
#define SHUTDOWN_BOUND_MS 6000	/* shutdown_timeout 1 s, and slack */
#define SECRET_OK	"0123456789abcdef0123456789abcdef01234567"

extern char	**environ;

static struct stack	*st;

static void
start(int workers, const char *const *env)
{
	struct stack_options	 o;

	memset(&o, 0, sizeof(o));
	o.workers = workers;
	o.env = env;
	st = stack_start(&o);
	ck_assert_msg(st != NULL, "the stack did not start");
	ck_assert_int_eq(stack_wait_workers(st, workers, REPLACE_MS), workers);
}

static void
teardown(void)
{
	stack_stop(st);
	st = NULL;
}

/* ---- JSON ---- */

/* The member at a path of keys (NULL-terminated), or NULL. */
static struct json_object *
at(struct json_object *o, const char *key, const char *key2)
{
	struct json_object	*v;

	if (o == NULL || !json_object_object_get_ex(o, key, &v))
		return NULL;
	if (key2 == NULL)
		return v;
	if (v == NULL || !json_object_object_get_ex(v, key2, &v))
		return NULL;
	return v;
}

static const char *
str_at(struct json_object *o, const char *key, const char *key2)
{
	struct json_object	*v = at(o, key, key2);

	return json_object_is_type(v, json_type_string) ?
	    json_object_get_string(v) : NULL;
}

/* An integer member (asserted to be one). */
static long long
int_at(struct json_object *o, const char *key, const char *key2)
{
	struct json_object	*v = at(o, key, key2);

	ck_assert_msg(json_object_is_type(v, json_type_int), "%s.%s is not "
	    "an integer in %s", key, key2 ? key2 : "",
	    json_object_to_json_string(o));
	return json_object_get_int64(v);
}

/* A boolean member (asserted to be one). */
static int
bool_at(struct json_object *o, const char *key, const char *key2)
{
	struct json_object	*v = at(o, key, key2);

	ck_assert_msg(json_object_is_type(v, json_type_boolean), "%s.%s is "
	    "not a boolean in %s", key, key2 ? key2 : "",
	    json_object_to_json_string(o));
	return json_object_get_boolean(v);
}

/*
 * GET path until it answers want with a JSON body, up to ms (a worker
 * killed on nginx's kept connection, a pool respawning slowly): the body,
 * for the caller to put, or NULL with the last answer in last.
 */
static struct json_object *
get_json(const char *path, int want, long ms, char *last, size_t lastlen)
{
	struct http_response	 r;
	struct json_object	*o;
	long long		 deadline = test_now_ms() + stack_ms(ms);

	snprintf(last, lastlen, "no answer");
	do {
		if (http_request(st, "GET", path, NULL, NULL, 0, &r) == 0) {
			snprintf(last, lastlen, "%d %.200s", r.status, r.body);
			o = r.status == want ? http_json(&r) : NULL;
			http_response_free(&r);
			if (o != NULL)
				return o;
		}
		test_sleep_ms(POLL_MS);
	} while (test_now_ms() < deadline);
	return NULL;
}

/* GET /status as JSON, asserted to answer 200. */
static struct json_object *
status_json(void)
{
	struct json_object	*o;
	char			 last[TEXT_MAX];

	o = get_json("/status", 200, ANSWER_MS, last, sizeof(last));
	ck_assert_msg(o != NULL, "GET /status: %s", last);
	return o;
}

/* ---- workers ---- */

/*
 * Waits up to ms for a live worker that is none of known[n]: its pid, or
 * -1.  *when is the time it was first seen.
 */
static pid_t
new_worker(const pid_t *known, int n, long ms, long long *when)
{
	pid_t		 now[PIDS_MAX];
	long long	 deadline = test_now_ms() + ms;
	int		 k, i;

	do {
		k = stack_worker_pids(st, now, PIDS_MAX);
		*when = test_now_ms();
		for (i = 0; i < k; i++)
			if (!stack_pids_contain(known, n, now[i]))
				return now[i];
		test_sleep_ms(5);
	} while (test_now_ms() < deadline);
	return -1;
}

/* Waits up to ms until pid is gone (reaped or a zombie): 1, or 0. */
static int
gone(pid_t pid, long ms)
{
	long long	 deadline = test_now_ms() + ms;

	while (stack_pid_alive(pid))
		if (test_now_ms() >= deadline)
			return 0;
		else
			test_sleep_ms(5);
	return 1;
}

/* Waits up to ms until the pool log has a line with needle: 1, or 0. */
static int
logged(long from, const char *needle, long ms)
{
	long long	 deadline = test_now_ms() + stack_ms(ms);

	while (stack_log_count(st, from, needle) < 1)
		if (test_now_ms() >= deadline)
			return 0;
		else
			test_sleep_ms(POLL_MS);
	return 1;
}

/* ---- crash loop ---- */

/*
 * Workers killed with SIGKILL one after another (each replacement too):
 * the fourth death within crash_interval doubles the back-off.  The
 * master counts an exit when it reaps it, after our kill(), so a
 * respawn it delays cannot be seen earlier than the delay after kill().
 */
START_TEST(workers_dying_in_a_loop_degrade_the_pool_until_a_quiet_interval)
{
	static const char *const env[] = { "MOCKPIE_CRASH_THRESHOLD=2",
	    "MOCKPIE_CRASH_INTERVAL=3", NULL };
	struct json_object	*o;
	pid_t			 seen[PIDS_MAX], fresh;
	long long		 t_first, t_kill, t_seen;
	long			 from;
	char			 last[TEXT_MAX], line[TEXT_MAX];
	int			 n, kills;

	start(WORKERS, env);
	from = stack_log_size(st);
	n = stack_worker_pids(st, seen, PIDS_MAX);
	ck_assert_int_eq(n, WORKERS);

	/* two deaths: replaced at once, as any crash */
	t_first = test_now_ms();
	fresh = seen[0];
	for (kills = 0; kills < CRASH_THRESHOLD; kills++) {
		ck_assert_int_eq(kill(fresh, SIGKILL), 0);
		fresh = new_worker(seen, n, stack_ms(REPLACE_MS), &t_seen);
		ck_assert_msg(fresh != -1, "death %d not replaced within %ld "
		    "ms", kills + 1, stack_ms(REPLACE_MS));
		seen[n++] = fresh;
	}
	ck_assert_int_eq(stack_log_count(st, from, "CRASH LOOP"), 0);

	/* the third, the replacement again: a crash loop, 500 ms back-off */
	t_kill = test_now_ms();
	ck_assert_int_eq(kill(fresh, SIGKILL), 0);
	kills++;
	ck_assert_msg(t_kill - t_first < CRASH_INTERVAL * 1000, "the machine "
	    "is too slow: 3 kills took %lld ms", t_kill - t_first);
	snprintf(line, sizeof(line), "CRASH LOOP: 3 workers died abnormally "
	    "within %d s; next respawn in %d ms", CRASH_INTERVAL,
	    FIRST_DELAY_MS);
	ck_assert_msg(logged(from, line, ANSWER_MS), "no \"%s\" in "
	    "%s/mockpie.log", line, stack_dir(st));
	fresh = new_worker(seen, n, stack_ms(FIRST_DELAY_MS + REPLACE_MS),
	    &t_seen);
	ck_assert_msg(fresh != -1, "no respawn in the crash loop");
	seen[n++] = fresh;
	ck_assert_msg(t_seen - t_kill >= FIRST_DELAY_MS - SLACK_MS,
	    "respawned %lld ms after the third death: no back-off",
	    t_seen - t_kill);

	/* a fourth, an original worker: the back-off doubles */
	t_kill = test_now_ms();
	ck_assert_int_eq(kill(seen[1], SIGKILL), 0);
	kills++;
	ck_assert(gone(seen[1], stack_ms(REPLACE_MS)));
	ck_assert_msg(t_kill - t_first < CRASH_INTERVAL * 1000, "the machine "
	    "is too slow: 4 kills took %lld ms", t_kill - t_first);
	snprintf(line, sizeof(line), "CRASH LOOP: 4 workers died abnormally "
	    "within %d s; next respawn in %d ms", CRASH_INTERVAL,
	    2 * FIRST_DELAY_MS);
	ck_assert_msg(logged(from, line, ANSWER_MS), "no \"%s\" in "
	    "%s/mockpie.log", line, stack_dir(st));

	/* while it lasts: the master is up, /status and /health say so */
	ck_assert(stack_pid_alive(stack_master_pid(st)));
	o = status_json();
	ck_assert_msg(bool_at(o, "pool", "crash_loop"), "/status: %s",
	    json_object_to_json_string(o));
	ck_assert_int_eq(int_at(at(o, "pool", "worker_exits"), "crashed",
	    NULL), kills);
	json_object_put(o);
	o = get_json("/health", 200, ANSWER_MS, last, sizeof(last));
	ck_assert_msg(o != NULL, "GET /health in the crash loop: %s", last);
	ck_assert_pstr_eq(str_at(o, "status", NULL), "degraded");
	ck_assert_pstr_eq(str_at(o, "pool", "status"), "degraded");
	ck_assert(bool_at(o, "pool", "crash_loop"));
	ck_assert_int_eq(int_at(o, "pool", "workers_wanted"), WORKERS);
	ck_assert_pstr_eq(str_at(o, "redis", "status"), "connected");
	json_object_put(o);
	o = get_json("/health?ready=1", 503, ANSWER_MS, last, sizeof(last));
	ck_assert_msg(o != NULL, "GET /health?ready=1 in the crash loop: %s",
	    last);
	ck_assert_pstr_eq(str_at(o, "pool", "status"), "degraded");
	json_object_put(o);

	fresh = new_worker(seen, n, stack_ms(2 * FIRST_DELAY_MS + REPLACE_MS),
	    &t_seen);
	ck_assert_msg(fresh != -1, "no respawn after the fourth death");
	ck_assert_msg(t_seen - t_kill >= 2 * FIRST_DELAY_MS - SLACK_MS,
	    "respawned %lld ms after the fourth death: the back-off did not "
	    "grow", t_seen - t_kill);

	/* a quiet crash_interval ends it, and not before */
	for (;;) {
		o = status_json();
		if (!bool_at(o, "pool", "crash_loop"))
			break;
		json_object_put(o);
		ck_assert_msg(test_now_ms() - t_kill < stack_ms(CRASH_INTERVAL *
		    1000 + 3000), "still a crash loop %lld ms after the last "
		    "death", test_now_ms() - t_kill);
		test_sleep_ms(50);
	}
	t_seen = test_now_ms();
	ck_assert_int_eq(int_at(at(o, "pool", "worker_exits"), "crashed",
	    NULL), kills);
	json_object_put(o);
	ck_assert_msg(t_seen - t_kill >= CRASH_INTERVAL * 1000 - SLACK_MS,
	    "the crash loop ended %lld ms after the last death",
	    t_seen - t_kill);
	snprintf(line, sizeof(line), "crash loop over: no abnormal exit for "
	    "%d s", CRASH_INTERVAL);
	ck_assert_int_eq(stack_log_count(st, from, line), 1);
	ck_assert_int_eq(stack_wait_workers(st, WORKERS, REPLACE_MS), WORKERS);
	o = get_json("/health?ready=1", 200, ANSWER_MS, last, sizeof(last));
	ck_assert_msg(o != NULL, "GET /health?ready=1 after the loop: %s",
	    last);
	ck_assert_pstr_eq(str_at(o, "status", NULL), "ok");
	ck_assert_pstr_eq(str_at(o, "pool", "status"), "ok");
	ck_assert(!bool_at(o, "pool", "crash_loop"));
	ck_assert_int_eq(int_at(o, "pool", "workers"), WORKERS);
	json_object_put(o);
	ck_assert(stack_pid_alive(stack_master_pid(st)));
	fprintf(stderr, "it_ops: crash loop: 4 deaths in %lld ms, over %lld "
	    "ms after the last\n", t_kill - t_first, t_seen - t_kill);
}
END_TEST

/* ---- GET /status: one stack for the read-only checks ---- */

static void
plain_setup(void)
{
	start(WORKERS, NULL);
}

/* "2024-05-01T12:00:00Z" as seconds since the epoch, or -1. */
static long long
iso8601(const char *s)
{
	struct tm	 tm;
	const char	*end;

	if (s == NULL || strlen(s) != 20)
		return -1;
	memset(&tm, 0, sizeof(tm));
	if ((end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm)) == NULL ||
	    *end != '\0')
		return -1;
	return (long long)timegm(&tm);
}

static int
is_state(const char *s)
{
	return s != NULL && (strcmp(s, "idle") == 0 || strcmp(s, "busy") == 0
	    || strcmp(s, "starting") == 0 || strcmp(s, "stopping") == 0);
}

START_TEST(status_shows_the_pool_each_worker_and_exits_by_cause)
{
	static const char *const causes[] = { "recycled", "stopped",
	    "timeout", "crashed", "failed" };
	struct http_response	 r;
	struct json_object	*o, *o2, *pool, *ws, *w, *cur, *redis;
	pid_t			 pids[PIDS_MAX];
	long long		 started, stamp, first;
	char			 id[FIELD_MAX];
	size_t			 i;
	int			 n, busy_self = 0;

	ck_assert_int_eq(http_request(st, "GET", "/status", NULL, NULL, 0,
	    &r), 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_ptr_nonnull(http_header(&r, "X-Request-Id", id,
	    sizeof(id)));
	ck_assert_msg((o = http_json(&r)) != NULL, "not JSON: %s", r.body);
	http_response_free(&r);
	ck_assert_ptr_nonnull(pool = at(o, "pool", NULL));
	started = iso8601(str_at(pool, "started_at", NULL));
	ck_assert_msg(started > 0, "started_at: %s",
	    json_object_to_json_string(pool));
	stamp = iso8601(str_at(o, "timestamp", NULL));
	ck_assert(stamp >= started);
	ck_assert_int_ge(int_at(pool, "uptime_s", NULL), 0);
	ck_assert_int_le(llabs(int_at(pool, "uptime_s", NULL) -
	    (stamp - started)), 1);
	first = int_at(pool, "accepted_requests", NULL);
	ck_assert_int_ge(first, 1);
	ck_assert_int_eq(int_at(pool, "workers_wanted", NULL), WORKERS);
	ck_assert_int_eq(int_at(pool, "workers", NULL), WORKERS);
	/* the worker answering is busy with this very request */
	ck_assert_int_ge(int_at(pool, "active_workers", NULL), 1);
	ck_assert_int_le(int_at(pool, "active_workers", NULL) +
	    int_at(pool, "idle_workers", NULL), WORKERS);
	ck_assert(!bool_at(pool, "crash_loop", NULL));
	ck_assert_int_eq(json_object_object_length(at(pool, "worker_exits",
	    NULL)), 5);
	for (i = 0; i < sizeof(causes) / sizeof(causes[0]); i++)
		ck_assert_int_eq(int_at(pool, "worker_exits", causes[i]), 0);

	ws = at(o, "workers", NULL);
	ck_assert(json_object_is_type(ws, json_type_array));
	ck_assert_int_eq(json_object_array_length(ws), WORKERS);
	n = stack_worker_pids(st, pids, PIDS_MAX);
	for (i = 0; i < json_object_array_length(ws); i++) {
		w = json_object_array_get_idx(ws, i);
		ck_assert_msg(stack_pids_contain(pids, n,
		    (pid_t)int_at(w, "pid", NULL)), "pid %lld is not a worker",
		    int_at(w, "pid", NULL));
		ck_assert_msg(is_state(str_at(w, "state", NULL)), "state: %s",
		    json_object_to_json_string(w));
		ck_assert_int_ge(int_at(w, "requests", NULL), 0);
		ck_assert_msg(json_object_object_get_ex(w, "current_request",
		    &cur), "no current_request: %s",
		    json_object_to_json_string(w));
		if (cur != NULL) {
			ck_assert_pstr_eq(str_at(w, "state", NULL), "busy");
			ck_assert_msg(str_at(cur, "id", NULL) != NULL &&
			    *str_at(cur, "id", NULL) != '\0', "no id");
			ck_assert_int_ge(int_at(cur, "duration_ms", NULL), 0);
			/* its own request, as the worker saw it */
			if (strcmp(str_at(cur, "id", NULL), id) == 0) {
				ck_assert_pstr_eq(str_at(cur, "method", NULL),
				    "GET");
				ck_assert_pstr_eq(str_at(cur, "path", NULL),
				    "/status");
				busy_self++;
			}
		}
		ck_assert_ptr_nonnull(redis = at(w, "redis", NULL));
		/* connected is what the worker saw after its last request */
		(void)bool_at(redis, "connected", NULL);
		ck_assert_int_ge(int_at(redis, "failures", NULL), 0);
		ck_assert_int_ge(int_at(redis, "backoff_ms", NULL), 0);
	}
	ck_assert_msg(busy_self == 1, "no worker busy with request %s: %s",
	    id, json_object_to_json_string(ws));

	o2 = status_json();
	ck_assert_msg(int_at(o2, "pool", "accepted_requests") > first,
	    "accepted_requests %lld, then %lld", first,
	    int_at(o2, "pool", "accepted_requests"));
	json_object_put(o2);
	json_object_put(o);
}
END_TEST

/* The value of the sample line "name value" in text, or -1. */
static double
sample(const char *text, const char *name)
{
	const char	*p = text;
	size_t		 len = strlen(name);
	char		*end;
	double		 v;

	while ((p = strstr(p, name)) != NULL) {
		if ((p == text || p[-1] == '\n') && p[len] == ' ') {
			v = strtod(p + len + 1, &end);
			if (end != p + len + 1 && *end == '\n')
				return v;
		}
		p += len;
	}
	return -1;
}

START_TEST(status_in_prometheus_text_has_help_and_type_for_each_metric)
{
	struct http_response	 r;
	char			 ct[TEXT_MAX], name[FIELD_MAX], want[TEXT_MAX];
	const char		*line, *eol;
	size_t			 nlen;
	int			 samples = 0;

	ck_assert_int_eq(http_request(st, "GET", "/status?format=prometheus",
	    NULL, NULL, 0, &r), 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_ptr_nonnull(http_header(&r, "Content-Type", ct,
	    sizeof(ct)));
	ck_assert_msg(strncmp(ct, "text/plain", 10) == 0, "Content-Type: %s",
	    ct);
	ck_assert_msg(r.body_len > 0 && r.body[r.body_len - 1] == '\n',
	    "the text does not end in a newline");
	ck_assert_msg(sample(r.body, "mockpie_requests_total") >= 1,
	    "%s", r.body);
	ck_assert_msg(sample(r.body, "mockpie_workers{state=\"idle\"}") >= 0,
	    "%s", r.body);
	ck_assert_msg(sample(r.body, "mockpie_workers{state=\"busy\"}") >= 1,
	    "%s", r.body);
	ck_assert_msg(sample(r.body,
	    "mockpie_worker_exits_total{cause=\"crashed\"}") == 0, "%s",
	    r.body);
	ck_assert_msg(sample(r.body, "mockpie_workers_wanted") == WORKERS,
	    "%s", r.body);
	ck_assert_msg(sample(r.body, "mockpie_crash_loop") == 0, "%s",
	    r.body);
	/* every sample's metric has its # HELP and # TYPE lines */
	for (line = r.body; *line != '\0'; line = *eol ? eol + 1 : eol) {
		eol = line + strcspn(line, "\n");
		if (*line == '#' || eol == line)
			continue;
		nlen = strcspn(line, "{ \n");
		ck_assert_msg(nlen > 0 && nlen < sizeof(name), "line: %.*s",
		    (int)(eol - line), line);
		memcpy(name, line, nlen);
		name[nlen] = '\0';
		snprintf(want, sizeof(want), "# HELP %s ", name);
		ck_assert_msg(strstr(r.body, want) != NULL, "no %s", want);
		snprintf(want, sizeof(want), "# TYPE %s %s\n", name,
		    strstr(name, "_total") != NULL ? "counter" : "gauge");
		ck_assert_msg(strstr(r.body, want) != NULL, "no %s", want);
		samples++;
	}
	ck_assert_int_ge(samples, 10);
	http_response_free(&r);
}
END_TEST

START_TEST(status_in_an_unknown_format_is_refused_with_400_json)
{
	struct http_response	 r;
	struct json_object	*o;

	ck_assert_int_eq(http_request(st, "GET", "/status?format=xml", NULL,
	    NULL, 0, &r), 0);
	ck_assert_int_eq(r.status, 400);
	ck_assert_ptr_nonnull(o = http_json(&r));
	ck_assert_msg(str_at(o, "detail", NULL) != NULL &&
	    strstr(str_at(o, "detail", NULL), "prometheus") != NULL,
	    "body: %s", r.body);
	json_object_put(o);
	http_response_free(&r);
}
END_TEST

/*
 * GET path from the address src to nginx at 127.0.0.1 (any 127/8
 * address is this host on Linux, but not 127.0.0.1 to nginx): the
 * status, with the body (not chunked: nginx sends a Content-Length for
 * what it answers itself and for the pool's answers) in body.
 */
static int
raw_get_from(const char *src, const char *path, char *body, size_t bodylen)
{
	struct sockaddr_in	 sin;
	struct timeval		 tv = { 5, 0 };
	char			*buf, req[TEXT_MAX];
	const char		*p;
	size_t			 len = 0, head;
	ssize_t			 got;
	int			 fd, status = -1;

	ck_assert_ptr_nonnull(buf = malloc(RAW_MAX + 1));
	ck_assert_int_ne(fd = socket(AF_INET, SOCK_STREAM, 0), -1);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	ck_assert_int_eq(inet_pton(AF_INET, src, &sin.sin_addr), 1);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1)
		ck_abort_msg("cannot bind %s: %s", src, strerror(errno));
	sin.sin_port = htons((unsigned short)stack_http_port(st));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv,
	    sizeof(tv)), 0);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sin, sizeof(sin)),
	    0);
	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
	    "Connection: close\r\n\r\n", path, stack_http_port(st));
	ck_assert(send(fd, req, strlen(req), MSG_NOSIGNAL) ==
	    (ssize_t)strlen(req));
	while (len < RAW_MAX && (got = recv(fd, buf + len, RAW_MAX - len,
	    0)) > 0)
		len += (size_t)got;
	buf[len] = '\0';
	ck_assert_msg(sscanf(buf, "HTTP/1.1 %3d ", &status) == 1,
	    "answer: %.200s", buf);
	ck_assert_msg((p = strstr(buf, "\r\n\r\n")) != NULL, "answer: %.200s",
	    buf);
	head = (size_t)(p - buf);
	ck_assert_msg(memmem(buf, head, "\r\nTransfer-Encoding:", 20) ==
	    NULL, "a chunked answer: %.*s", (int)head, buf);
	snprintf(body, bodylen, "%s", p + 4);
	close(fd);
	free(buf);
	return status;
}

START_TEST(status_is_forbidden_to_another_address_than_this_host)
{
	struct json_object	*o;
	char			 body[RAW_MAX];
	int			 status;

	/* the same raw client from 127.0.0.1 gets the pool's answer */
	ck_assert_int_eq(raw_get_from("127.0.0.1", "/status", body,
	    sizeof(body)), 200);
	ck_assert_msg(strstr(body, "\"workers_wanted\"") != NULL, "%s", body);
	status = raw_get_from("127.0.0.2", "/status", body, sizeof(body));
	ck_assert_int_eq(status, 403);
	ck_assert_ptr_nonnull(o = json_tokener_parse(body));
	ck_assert_pstr_eq(str_at(o, "detail", NULL), "Forbidden");
	json_object_put(o);
	status = raw_get_from("127.0.0.2", "/status?format=prometheus", body,
	    sizeof(body));
	ck_assert_int_eq(status, 403);
	/* only /status: the rest of the API answers that address */
	ck_assert_int_eq(raw_get_from("127.0.0.2", "/health", body,
	    sizeof(body)), 200);
}
END_TEST

START_TEST(pool_socket_is_group_writable_only_by_default)
{
	struct stat	 sb;

	ck_assert_int_eq(stat(stack_socket_path(st), &sb), 0);
	ck_assert(S_ISSOCK(sb.st_mode));
	ck_assert_msg((sb.st_mode & 07777) == 0660, "mode %04o",
	    (unsigned)(sb.st_mode & 07777));
}
END_TEST

START_TEST(fast_requests_are_not_logged_as_slow_by_default)
{
	struct http_response	 r;
	long			 from = stack_log_size(st);
	int			 i;

	for (i = 0; i < 5; i++) {
		ck_assert_int_eq(http_request(st, "GET", "/health", NULL, NULL,
		    0, &r), 0);
		ck_assert_int_eq(r.status, 200);
		/* the server's time is below the client's, below 1000 ms */
		ck_assert_msg(r.elapsed_ms < 900, "GET /health took %.0f ms",
		    r.elapsed_ms);
		http_response_free(&r);
	}
	ck_assert_int_eq(stack_log_count(st, from, "slow request"), 0);
}
END_TEST

/* ---- a stack tuned by the operator ---- */

static char	 env_owner[FIELD_MAX], env_group[FIELD_MAX];
static char	 env_core[FIELD_MAX];
static uid_t	 want_uid;
static gid_t	 want_gid;
static long	 want_core;

/*
 * Owner and group for the socket: nobody and nogroup as root, which
 * chown(2) changes for real; else our own names (all we may give, and
 * then pool_socket_takes_listen_mode_owner_and_group() cannot tell).
 */
static void
owners_pick(void)
{
	struct passwd	*pw = NULL;
	struct group	*gr = NULL;

	if (geteuid() == 0) {
		pw = getpwnam("nobody");
		if ((gr = getgrnam("nogroup")) == NULL)
			gr = getgrnam("nobody");
	}
	if (pw == NULL)
		pw = getpwuid(geteuid());
	if (gr == NULL)
		gr = getgrgid(getegid());
	ck_assert_ptr_nonnull(pw);
	ck_assert_ptr_nonnull(gr);
	want_uid = pw->pw_uid;
	want_gid = gr->gr_gid;
	snprintf(env_owner, sizeof(env_owner), "MOCKPIE_LISTEN_OWNER=%s",
	    pw->pw_name);
	snprintf(env_group, sizeof(env_group), "MOCKPIE_LISTEN_GROUP=%s",
	    gr->gr_name);
}

/* A core size limit other than ours, so that the pool's is its own. */
static void
core_pick(void)
{
	struct rlimit	 rl;

	ck_assert_int_eq(getrlimit(RLIMIT_CORE, &rl), 0);
	want_core = 0;
	if (rl.rlim_cur == 0)
		want_core = rl.rlim_max == RLIM_INFINITY ||
		    rl.rlim_max >= 1048576 ? 1048576 : (long)rl.rlim_max;
	snprintf(env_core, sizeof(env_core), "MOCKPIE_RLIMIT_CORE=%ld",
	    want_core);
}

static void
tuned_setup(void)
{
	static const char	*env[] = { CHEAP_ARGON2,
	    "MOCKPIE_SLOW_REQUEST_MS=1", "MOCKPIE_RLIMIT_NOFILE=512",
	    "MOCKPIE_LISTEN_MODE=0600", "MOCKPIE_STATUS_ENABLED=false",
	    NULL, NULL, NULL, NULL };

	owners_pick();
	core_pick();
	env[6] = env_owner;
	env[7] = env_group;
	env[8] = env_core;
	start(WORKERS, env);
}

START_TEST(argon2_login_is_logged_as_slow_with_its_request_id)
{
	static const char *const form[] = { "Content-Type: "
	    "application/x-www-form-urlencoded", NULL };
	struct http_response	 r;
	char			 body[BODY_MAX], id[FIELD_MAX], line[TEXT_MAX];
	long			 pid = (long)getpid(), from;

	snprintf(body, sizeof(body), "first_name=Ada&last_name=Lovelace&"
	    "email=ada.%ld@example.com&username=ada_%ld&phone_number="
	    "%%2B1555%07ld&password=copper-Heron-7-quay&"
	    "password_confirmation=copper-Heron-7-quay&gender=female", pid,
	    pid, pid % 10000000);
	ck_assert_int_eq(http_request(st, "POST", "/auth/register", form,
	    body, strlen(body), &r), 0);
	ck_assert_msg(r.status == 201, "register: %d %s", r.status, r.body);
	http_response_free(&r);

	from = stack_log_size(st);
	snprintf(body, sizeof(body), "email=ada.%ld%%40example.com&"
	    "password=copper-Heron-7-quay", pid);
	ck_assert_int_eq(http_request(st, "POST", "/auth/login", form, body,
	    strlen(body), &r), 0);
	ck_assert_msg(r.status == 200, "login: %d %s", r.status, r.body);
	ck_assert_ptr_nonnull(http_header(&r, "X-Request-Id", id,
	    sizeof(id)));
	http_response_free(&r);
	/* an Argon2id verify takes several ms even at opslimit 1, 8 MiB */
	snprintf(line, sizeof(line), "req=%s slow request: POST /auth/login "
	    "took ", id);
	ck_assert_msg(logged(from, line, ANSWER_MS), "no \"%s\" in "
	    "%s/mockpie.log", line, stack_dir(st));
}
END_TEST

/*
 * The soft and hard values of the limit called name ("Max open files")
 * of pid, from /proc/<pid>/limits; -1 for "unlimited".
 */
static void
limit_of(pid_t pid, const char *name, long *soft, long *hard)
{
	char	 path[64], s[32], h[32], *line = NULL;
	size_t	 cap = 0, len = strlen(name);
	FILE	*f;
	int	 found = 0;

	snprintf(path, sizeof(path), "/proc/%ld/limits", (long)pid);
	ck_assert_ptr_nonnull(f = fopen(path, "re"));
	while (getline(&line, &cap, f) != -1)
		if (strncmp(line, name, len) == 0 && line[len] == ' ' &&
		    sscanf(line + len, "%31s %31s", s, h) == 2)
			found = 1;
	free(line);
	fclose(f);
	ck_assert_msg(found, "no \"%s\" in %s", name, path);
	*soft = strcmp(s, "unlimited") == 0 ? -1 : atol(s);
	*hard = strcmp(h, "unlimited") == 0 ? -1 : atol(h);
}

/* The limit called name of pid is want, soft and hard. */
static void
assert_limit(pid_t pid, const char *name, long want)
{
	long	 soft, hard;

	limit_of(pid, name, &soft, &hard);
	ck_assert_msg(soft == want && hard == want, "pid %ld: %s %ld %ld, "
	    "not %ld", (long)pid, name, soft, hard, want);
}

/*
 * valgrind (MOCKPIE_TEST_WRAPPER) keeps setrlimit(RLIMIT_NOFILE) to
 * itself and /proc shows the kernel's limit: nothing to see there.
 */
START_TEST(rlimits_hold_for_the_master_and_each_worker)
{
	pid_t	 pids[PIDS_MAX];
	int	 n, i;

	if (stack_under_wrapper()) {
		fprintf(stderr, "it_ops: rlimits not checked under "
		    "MOCKPIE_TEST_WRAPPER\n");
		return;
	}
	assert_limit(stack_master_pid(st), "Max open files", NOFILE);
	assert_limit(stack_master_pid(st), "Max core file size", want_core);
	ck_assert_int_eq(n = stack_worker_pids(st, pids, PIDS_MAX), WORKERS);
	for (i = 0; i < n; i++) {
		assert_limit(pids[i], "Max open files", NOFILE);
		assert_limit(pids[i], "Max core file size", want_core);
	}
}
END_TEST

START_TEST(pool_socket_takes_listen_mode_owner_and_group)
{
	struct stat	 sb;

	ck_assert_int_eq(stat(stack_socket_path(st), &sb), 0);
	ck_assert(S_ISSOCK(sb.st_mode));
	ck_assert_msg((sb.st_mode & 07777) == 0600, "mode %04o",
	    (unsigned)(sb.st_mode & 07777));
	/*
	 * Only root can give the socket to another user: without root the
	 * names passed are our own, which the socket has whether or not the
	 * pool applied them, and an assertion here could not fail.
	 */
	if (geteuid() != 0) {
		fprintf(stderr, "it_ops: socket owner and group not checked: "
		    "not root, so no other owner could be given\n");
		return;
	}
	ck_assert_int_ne(want_uid, 0);
	ck_assert_int_ne(want_gid, 0);
	ck_assert_int_eq(sb.st_uid, want_uid);
	ck_assert_int_eq(sb.st_gid, want_gid);
}
END_TEST

START_TEST(status_disabled_answers_404_from_the_pool)
{
	struct http_response	 r;
	struct json_object	*o;
	char			 id[FIELD_MAX];

	ck_assert_int_eq(http_request(st, "GET", "/status", NULL, NULL, 0,
	    &r), 0);
	ck_assert_int_eq(r.status, 404);
	ck_assert_msg(http_header(&r, "X-Request-Id", id, sizeof(id)) != NULL,
	    "the 404 is nginx's, not the pool's");
	ck_assert_ptr_nonnull(o = http_json(&r));
	ck_assert_pstr_eq(str_at(o, "detail", NULL), "Not Found");
	json_object_put(o);
	http_response_free(&r);
	ck_assert_int_eq(http_request(st, "GET", "/status?format=prometheus",
	    NULL, NULL, 0, &r), 0);
	ck_assert_int_eq(r.status, 404);
	http_response_free(&r);
}
END_TEST

/* ---- the process model: reload, shutdown_timeout, a killed master ---- */

static char	 conf_dir[512], conf_path[600], env_conf[640];

/* Writes text as the pool's configuration file (MOCKPIE_CONFIG). */
static void
conf_write(const char *text)
{
	char	 tmp[700];
	FILE	*f;

	snprintf(tmp, sizeof(tmp), "%s.new", conf_path);
	ck_assert_ptr_nonnull(f = fopen(tmp, "we"));
	ck_assert_int_ge(fputs(text, f), 0);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(rename(tmp, conf_path), 0);	/* whole or not */
}

static void
conf_setup(void)
{
	ck_assert_int_eq(test_tmpdir(conf_dir, sizeof(conf_dir)), 0);
	snprintf(conf_path, sizeof(conf_path), "%s/mockpie.conf", conf_dir);
	snprintf(env_conf, sizeof(env_conf), "MOCKPIE_CONFIG=%s", conf_path);
}

static void
conf_teardown(void)
{
	teardown();
	test_tmpdir_remove(conf_dir);
}

/*
 * 1 when the pool's answer to GET /health from origin carries
 * Access-Control-Allow-Origin with that origin (cors_origins), else 0.
 */
static int
origin_allowed(const char *origin)
{
	struct http_response	 r;
	char			 h[TEXT_MAX], v[TEXT_MAX];
	const char		*hs[] = { h, NULL };
	int			 yes;

	snprintf(h, sizeof(h), "Origin: %s", origin);
	ck_assert_int_eq(http_request(st, "GET", "/health", hs, NULL, 0, &r),
	    0);
	ck_assert_int_eq(r.status, 200);
	yes = http_header(&r, "Access-Control-Allow-Origin", v, sizeof(v)) !=
	    NULL && strcmp(v, origin) == 0;
	http_response_free(&r);
	return yes;
}

/* Waits up to ms until none of old[n] is a live worker and n are: 1/0. */
static int
all_replaced(const pid_t *old, int n, long ms)
{
	pid_t		 now[PIDS_MAX];
	long long	 deadline = test_now_ms() + stack_ms(ms);
	int		 k, i, ok;

	do {
		k = stack_worker_pids(st, now, PIDS_MAX);
		for (ok = k == n, i = 0; ok && i < k; i++)
			ok = !stack_pids_contain(old, n, now[i]);
		if (ok)
			return 1;
		test_sleep_ms(POLL_MS);
	} while (test_now_ms() < deadline);
	return 0;
}

/*
 * SPEC 4: SIGHUP re-reads the configuration (here cors_origins, which
 * every answer of the pool shows) and replaces the workers; a bad file
 * is refused, and the running configuration and workers keep serving.
 */
START_TEST(sighup_rereads_the_configuration_and_refuses_a_bad_one)
{
	const char	*env[] = { env_conf, NULL };
	pid_t		 before[PIDS_MAX], after[PIDS_MAX];
	long		 from;
	int		 n, k, i;

	conf_write("cors_origins = http://a.example\n");
	start(WORKERS, env);
	ck_assert(origin_allowed("http://a.example"));
	ck_assert(!origin_allowed("http://b.example"));

	n = stack_worker_pids(st, before, PIDS_MAX);
	ck_assert_int_eq(n, WORKERS);
	conf_write("cors_origins = http://b.example\n");
	from = stack_log_size(st);
	ck_assert_int_eq(kill(stack_master_pid(st), SIGHUP), 0);
	ck_assert_msg(all_replaced(before, n, RELOAD_MS), "the workers were "
	    "not all replaced %ld ms after SIGHUP", stack_ms(RELOAD_MS));
	ck_assert(logged(from, "reload done", ANSWER_MS));
	/* every worker is new, forked with the file as it is now */
	ck_assert(origin_allowed("http://b.example"));
	ck_assert(!origin_allowed("http://a.example"));

	/* a bad file: refused, nothing replaced, the old one serves */
	n = stack_worker_pids(st, before, PIDS_MAX);
	conf_write("cors_origins = http://c.example\nno_such_key = 1\n");
	from = stack_log_size(st);
	ck_assert_int_eq(kill(stack_master_pid(st), SIGHUP), 0);
	ck_assert_msg(logged(from, "reload refused, keeping the running "
	    "configuration:", ANSWER_MS), "no refusal in %s/mockpie.log",
	    stack_dir(st));
	ck_assert_int_eq(stack_log_count(st, from, "reloading:"), 0);
	ck_assert(stack_pid_alive(stack_master_pid(st)));
	k = stack_worker_pids(st, after, PIDS_MAX);
	ck_assert_int_eq(k, n);
	for (i = 0; i < n; i++)
		ck_assert_msg(stack_pids_contain(after, k, before[i]),
		    "worker %ld was replaced after a refused reload",
		    (long)before[i]);
	ck_assert(origin_allowed("http://b.example"));
	ck_assert(!origin_allowed("http://c.example"));
}
END_TEST

/* A worker /status shows busy on path: its pid, or -1 (one look). */
static pid_t
busy_on(const char *path)
{
	struct json_object	*o = status_json(), *ws, *w, *cur;
	pid_t			 pid = -1;
	size_t			 i;

	ck_assert_ptr_nonnull(ws = at(o, "workers", NULL));
	for (i = 0; i < json_object_array_length(ws) && pid == -1; i++) {
		w = json_object_array_get_idx(ws, i);
		cur = at(w, "current_request", NULL);
		if (cur != NULL && str_at(cur, "path", NULL) != NULL &&
		    strcmp(str_at(cur, "path", NULL), path) == 0)
			pid = (pid_t)int_at(w, "pid", NULL);
	}
	json_object_put(o);
	return pid;
}

/*
 * SPEC 4: on SIGTERM in-flight requests get up to shutdown_timeout, then
 * SIGKILL.  A login made slow (opslimit 6 at 64 MiB, about 300 ms here)
 * is caught in flight and its worker stopped (SIGSTOP): a straggler that
 * can never finish.  The master waits the grace, not less, then kills it
 * and exits; the client gets no login.
 */
START_TEST(shutdown_timeout_sigkills_a_worker_still_in_a_request)
{
	static const char *const env[] = { "MOCKPIE_SHUTDOWN_TIMEOUT=1",
	    "MOCKPIE_PASSWORD_OPSLIMIT=6", "MOCKPIE_PASSWORD_MEMLIMIT=64m",
	    NULL };
	static const char *const form[] = { "Content-Type: "
	    "application/x-www-form-urlencoded", NULL };
	static const char	 body[] =
	    "email=nobody%40example.com&password=slow-enough-1";
	struct http_conn	 c;
	struct http_response	 r;
	pid_t			 workers[PIDS_MAX], straggler = -1;
	long long		 deadline, t0, took;
	long			 from;
	int			 n, i, rc;

	start(WORKERS, env);
	n = stack_worker_pids(st, workers, PIDS_MAX);
	ck_assert_int_eq(http_start(st, &c, "POST", "/auth/login", form, body,
	    strlen(body)), 0);
	deadline = test_now_ms() + stack_ms(ANSWER_MS);
	while ((straggler = busy_on("/auth/login")) == -1 &&
	    test_now_ms() < deadline)
		test_sleep_ms(5);
	ck_assert_msg(straggler != -1, "no worker seen busy on the login");
	ck_assert_int_eq(kill(straggler, SIGSTOP), 0);
	from = stack_log_size(st);
	t0 = test_now_ms();
	rc = stack_stop_pool(st, SIGTERM, SHUTDOWN_BOUND_MS);
	took = test_now_ms() - t0;
	kill(straggler, SIGCONT);	/* harmless once it is gone */
	fprintf(stderr, "it_ops: shutdown_timeout 1 s: master exited %d "
	    "after %lld ms\n", rc, took);
	ck_assert_msg(rc == 0, "the master did not exit cleanly within %ld "
	    "ms: %d", stack_ms(SHUTDOWN_BOUND_MS), rc);
	ck_assert_msg(took >= 1000 - SLACK_MS, "the master gave up on the "
	    "request after %lld ms, before shutdown_timeout", took);
	ck_assert_msg(!stack_pid_alive(straggler), "the stopped worker %ld "
	    "outlived the master", (long)straggler);
	for (i = 0; i < n; i++)
		ck_assert(!stack_pid_alive(workers[i]));
	ck_assert_int_eq(stack_log_count(st, from, "shutdown_timeout passed: "
	    "killing 1 workers"), 1);
	if (http_finish(&c, &r) == 0) {
		ck_assert_msg(r.status != 200 && r.status != 401, "the killed "
		    "login was answered %d", r.status);
		http_response_free(&r);
	}
}
END_TEST

/* SPEC 4: no worker outlives a master killed with SIGKILL. */
START_TEST(workers_exit_when_the_master_is_sigkilled)
{
	pid_t		 workers[PIDS_MAX];
	long long	 deadline;
	int		 n, i, alive;

	start(WORKERS, NULL);
	n = stack_worker_pids(st, workers, PIDS_MAX);
	ck_assert_int_eq(n, WORKERS);
	ck_assert_int_eq(stack_stop_pool(st, SIGKILL, REPLACE_MS),
	    128 + SIGKILL);
	deadline = test_now_ms() + stack_ms(ANSWER_MS);
	do {
		for (alive = 0, i = 0; i < n; i++)
			alive += stack_pid_alive(workers[i]);
		if (alive > 0)
			test_sleep_ms(POLL_MS);
	} while (alive > 0 && test_now_ms() < deadline);
	ck_assert_msg(alive == 0, "%d of %d workers outlived their master by "
	    "%ld ms", alive, n, stack_ms(ANSWER_MS));
}
END_TEST

/* ---- mockpie-fcgi run by hand: --check-config and a bad start ---- */

/*
 * Runs mockpie-fcgi with args (NULL-terminated) and an environment of
 * ours minus MOCKPIE_* plus env, for up to RUN_MS: its exit status, and
 * its stderr in err.
 */
static int
run_fcgi(const char *const *args, const char *const *env, char *err,
    size_t errlen)
{
	char		 bin[1024], *argv[8], **envp;
	const char	*dir = getenv("MOCKPIE_BUILDDIR");
	long long	 deadline;
	size_t		 n = 0, i, len = 0;
	ssize_t		 got;
	pid_t		 pid, w;
	int		 p[2], status, a = 0, fd;

	snprintf(bin, sizeof(bin), "%s/src/mockpie-fcgi", dir ? dir : ".");
	argv[a++] = bin;
	for (i = 0; args[i] != NULL && a < 7; i++)
		argv[a++] = (char *)args[i];
	argv[a] = NULL;
	for (i = 0; environ[i] != NULL; i++)
		;
	ck_assert_ptr_nonnull(envp = calloc(i + 16, sizeof(*envp)));
	for (i = 0; environ[i] != NULL; i++)
		if (strncmp(environ[i], "MOCKPIE_", 8) != 0)
			envp[n++] = environ[i];
	for (i = 0; env != NULL && env[i] != NULL && i < 15; i++)
		envp[n++] = (char *)env[i];
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	ck_assert_int_ne(pid = fork(), -1);
	if (pid == 0) {
		if ((fd = open("/dev/null", O_RDWR)) != -1) {
			dup2(fd, STDIN_FILENO);
			dup2(fd, STDOUT_FILENO);
		}
		dup2(p[1], STDERR_FILENO);
		signal(SIGPIPE, SIG_DFL);
		execve(bin, argv, envp);
		_exit(127);
	}
	close(p[1]);
	free(envp);
	(void)fcntl(p[0], F_SETFL, O_NONBLOCK);
	deadline = test_now_ms() + stack_ms(RUN_MS);
	for (;;) {
		while (len + 1 < errlen && (got = read(p[0], err + len,
		    errlen - len - 1)) > 0)
			len += (size_t)got;
		if ((w = waitpid(pid, &status, WNOHANG)) == pid)
			break;
		if (test_now_ms() >= deadline) {
			kill(pid, SIGKILL);
			(void)waitpid(pid, &status, 0);
			close(p[0]);
			ck_abort_msg("mockpie-fcgi still running after %ld ms",
			    stack_ms(RUN_MS));
		}
		test_sleep_ms(5);
	}
	while (len + 1 < errlen && (got = read(p[0], err + len,
	    errlen - len - 1)) > 0)
		len += (size_t)got;
	err[len] = '\0';
	close(p[0]);
	ck_assert(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static int
check_config(const char *const *env, char *err, size_t errlen)
{
	static const char *const args[] = { "--check-config", NULL };

	return run_fcgi(args, env, err, errlen);
}

#define SECRET	"MOCKPIE_JWT_SECRET=" SECRET_OK

/* --check-config refuses env, exit 1, naming key in its message. */
static void
refused_naming(const char *const *env, const char *key)
{
	char	 err[OUTPUT_MAX];

	ck_assert_msg(check_config(env, err, sizeof(err)) == 1,
	    "%s accepted: %s", env[1], err);
	ck_assert_msg(strstr(err, key) != NULL, "message does not name %s: "
	    "%s", key, err);
}

START_TEST(slow_request_ms_not_below_request_timeout_is_refused)
{
	static const char *const env[] = { SECRET,
	    "MOCKPIE_SLOW_REQUEST_MS=40000", NULL };
	static const char *const edge[] = { SECRET,
	    "MOCKPIE_SLOW_REQUEST_MS=30000", NULL };

	refused_naming(env, "slow_request_ms");
	refused_naming(edge, "slow_request_ms");
}
END_TEST

START_TEST(redis_command_timeout_not_below_request_timeout_is_refused)
{
	static const char *const env[] = { SECRET,
	    "MOCKPIE_REDIS_COMMAND_TIMEOUT_MS=31000", NULL };

	refused_naming(env, "redis_command_timeout_ms");
}
END_TEST

/* Each Redis timeout is named on its own: the operator sees the key he set. */
START_TEST(redis_connect_timeout_not_below_request_timeout_is_refused)
{
	static const char *const env[] = { SECRET,
	    "MOCKPIE_REDIS_CONNECT_TIMEOUT_MS=31000", NULL };

	refused_naming(env, "redis_connect_timeout_ms");
}
END_TEST

START_TEST(database_busy_timeout_not_below_request_timeout_is_refused)
{
	static const char *const env[] = { SECRET,
	    "MOCKPIE_DATABASE_BUSY_TIMEOUT_MS=30000", NULL };

	refused_naming(env, "database_busy_timeout_ms");
}
END_TEST

START_TEST(listen_mode_that_is_not_octal_or_too_wide_is_refused)
{
	static const char *const env[] = { SECRET,
	    "MOCKPIE_LISTEN_MODE=999", NULL };
	static const char *const wide[] = { SECRET,
	    "MOCKPIE_LISTEN_MODE=1777", NULL };

	refused_naming(env, "listen_mode");
	refused_naming(wide, "listen_mode");
}
END_TEST

START_TEST(timeouts_below_request_timeout_pass_check_config)
{
	static const char *const env[] = { SECRET,
	    "MOCKPIE_SLOW_REQUEST_MS=29999",
	    "MOCKPIE_REDIS_COMMAND_TIMEOUT_MS=29999",
	    "MOCKPIE_REDIS_CONNECT_TIMEOUT_MS=29999",
	    "MOCKPIE_DATABASE_BUSY_TIMEOUT_MS=29999",
	    "MOCKPIE_LISTEN_MODE=0640", "MOCKPIE_RLIMIT_NOFILE=4096",
	    "MOCKPIE_CRASH_THRESHOLD=2", "MOCKPIE_CRASH_INTERVAL=3", NULL };
	/* the limit moves with request_timeout: a cross-check, no bound */
	static const char *const longer[] = { SECRET,
	    "MOCKPIE_REQUEST_TIMEOUT=60", "MOCKPIE_SLOW_REQUEST_MS=40000",
	    "MOCKPIE_REDIS_COMMAND_TIMEOUT_MS=31000", NULL };
	char	 err[OUTPUT_MAX];

	ck_assert_msg(check_config(env, err, sizeof(err)) == 0, "refused: %s",
	    err);
	ck_assert_msg(check_config(longer, err, sizeof(err)) == 0,
	    "refused: %s", err);
}
END_TEST

START_TEST(listen_group_that_does_not_exist_stops_the_pool_at_start)
{
	static const char *const env[] = { SECRET,
	    "MOCKPIE_LISTEN_GROUP=mockpie-no-such-group", NULL };
	char		 dir[512], listen[600], db[600], err[OUTPUT_MAX];
	char		 dbenv[640];
	const char	*args[] = { "--listen", listen, NULL };
	const char	*envp[4];
	int		 rc;

	ck_assert_int_eq(test_tmpdir(dir, sizeof(dir)), 0);
	snprintf(listen, sizeof(listen), "unix:%s/mockpie.sock", dir);
	snprintf(db, sizeof(db), "%s/mockpie.db", dir);
	snprintf(dbenv, sizeof(dbenv), "MOCKPIE_DATABASE=%s", db);
	envp[0] = env[0];
	envp[1] = env[1];
	envp[2] = dbenv;
	envp[3] = NULL;
	rc = run_fcgi(args, envp, err, sizeof(err));
	test_tmpdir_remove(dir);
	ck_assert_msg(rc == 1, "exit %d: %s", rc, err);
	ck_assert_msg(strstr(err, "listen_group") != NULL &&
	    strstr(err, "mockpie-no-such-group") != NULL, "message: %s", err);
}
END_TEST

Suite *
suite(void)
{
	Suite	*s = suite_create("it_ops");
	TCase	*loop = tcase_create("crash_loop");
	TCase	*status = tcase_create("status");
	TCase	*tuned = tcase_create("tuned");
	TCase	*config = tcase_create("check_config");
	TCase	*process = tcase_create("process");

	/* a stack of its own, in the test's process, which waits for it */
	tcase_add_checked_fixture(loop, NULL, teardown);
	tcase_set_timeout(loop, 20);
	tcase_add_test(loop,
	    workers_dying_in_a_loop_degrade_the_pool_until_a_quiet_interval);
	suite_add_tcase(s, loop);

	/* read-only checks share one stack each */
	tcase_add_unchecked_fixture(status, plain_setup, teardown);
	tcase_set_timeout(status, 10);
	tcase_add_test(status,
	    status_shows_the_pool_each_worker_and_exits_by_cause);
	tcase_add_test(status,
	    status_in_prometheus_text_has_help_and_type_for_each_metric);
	tcase_add_test(status,
	    status_in_an_unknown_format_is_refused_with_400_json);
	tcase_add_test(status,
	    status_is_forbidden_to_another_address_than_this_host);
	tcase_add_test(status, pool_socket_is_group_writable_only_by_default);
	tcase_add_test(status, fast_requests_are_not_logged_as_slow_by_default);
	suite_add_tcase(s, status);

	tcase_add_unchecked_fixture(tuned, tuned_setup, teardown);
	tcase_set_timeout(tuned, 10);
	tcase_add_test(tuned,
	    argon2_login_is_logged_as_slow_with_its_request_id);
	tcase_add_test(tuned, rlimits_hold_for_the_master_and_each_worker);
	tcase_add_test(tuned, pool_socket_takes_listen_mode_owner_and_group);
	tcase_add_test(tuned, status_disabled_answers_404_from_the_pool);
	suite_add_tcase(s, tuned);

	/* a stack per test, in the test's process, which waits for it */
	tcase_add_checked_fixture(process, conf_setup, conf_teardown);
	tcase_set_timeout(process, 20);
	tcase_add_test(process,
	    sighup_rereads_the_configuration_and_refuses_a_bad_one);
	tcase_add_test(process,
	    shutdown_timeout_sigkills_a_worker_still_in_a_request);
	tcase_add_test(process, workers_exit_when_the_master_is_sigkilled);
	suite_add_tcase(s, process);

	tcase_set_timeout(config, 10);
	tcase_add_test(config,
	    slow_request_ms_not_below_request_timeout_is_refused);
	tcase_add_test(config,
	    redis_command_timeout_not_below_request_timeout_is_refused);
	tcase_add_test(config,
	    redis_connect_timeout_not_below_request_timeout_is_refused);
	tcase_add_test(config,
	    database_busy_timeout_not_below_request_timeout_is_refused);
	tcase_add_test(config,
	    listen_mode_that_is_not_octal_or_too_wide_is_refused);
	tcase_add_test(config,
	    timeouts_below_request_timeout_pass_check_config);
	tcase_add_test(config,
	    listen_group_that_does_not_exist_stops_the_pool_at_start);
	suite_add_tcase(s, config);
	return s;
}
