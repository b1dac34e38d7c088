/*
 * /health, /api/redis-test, the routing nginx does, CORS and nginx's own
 * JSON errors, over HTTP through nginx with a real redis-server and pool
 * (SPEC 2, 3; issue 2 item 9).
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <hiredis/hiredis.h>
#include <json-c/json.h>

#include "api_client.h"
#include "harness.h"
#include "redis_server.h"
#include "runner.h"

#define ORIGIN_OK	"http://localhost:3000"
#define ORIGIN_EVIL	"http://evil.example"
#define JSON_TYPE	"application/json; charset=utf-8"
#define VALUE_MAX	256
#define BIG_BODY	(100 * 1024)
#define FAST_MS		1000	/* a bound on hanging, not a benchmark */
#define STORM_MS	1000	/* bursts at every worker, Redis down */
#define MAX_ATTEMPTS	4	/* per worker in that time (SPEC 3) */
#define RECOVER_MS	5000
#define RW_REQUESTS	10	/* /health read/write tests counted */
#define MONITOR_ROUNDS	4	/* concurrent bursts of /health, at least */
#define MONITOR_MS	10000	/* more until two workers answered them */
#define MONITOR_BURST	6
#define KEYS_MAX	256
#define KEY_MAX		256
#define CHUNK		4096
#define FCGI_CHUNK	16384	/* STDIN record size */
#define FCGI_ANSWER_MS	5000
#define CONF_MAX	(64 * 1024)
#define PIDS_MAX	64
#define RELOAD_MS	5000

static struct stack	*st;	/* the TCase's stack */

static void
start(const char *const *env)
{
	struct stack_options	 o;

	memset(&o, 0, sizeof(o));
	o.workers = 3;
	o.env = env;
	st = stack_start(&o);
	ck_assert_msg(st != NULL, "the stack did not start");
}

static void
up_setup(void)
{
	start(NULL);
}

static void
debug_setup(void)
{
	/* debug: the pool logs every Redis connect attempt */
	static const char *const env[] = { "MOCKPIE_LOG_LEVEL=debug", NULL };

	start(env);
}

static void
teardown(void)
{
	stack_stop(st);
	st = NULL;
}

static void
get(const char *path, const char *origin, struct http_response *r)
{
	char		 h[VALUE_MAX];
	const char	*headers[] = { h, NULL };

	snprintf(h, sizeof(h), "Origin: %s", origin ? origin : "");
	ck_assert_msg(http_request(st, "GET", path, origin ? headers : NULL,
	    NULL, 0, r) == 0, "GET %s: no answer", path);
}

static const char *
header(const struct http_response *r, const char *name)
{
	static char	 buf[4][VALUE_MAX];
	static int	 i;

	i = (i + 1) % 4;
	return http_header(r, name, buf[i], sizeof(buf[i]));
}

static json_object *
body_json(const struct http_response *r)
{
	json_object	*o = http_json(r);

	ck_assert_msg(o != NULL, "body is not JSON: %.200s", r->body);
	ck_assert_msg(json_object_is_type(o, json_type_object),
	    "body is not a JSON object: %.200s", r->body);
	return o;
}

/* The string at a path of keys ("redis", "status", NULL), or NULL. */
static const char *
str_at(json_object *o, const char *k1, const char *k2)
{
	json_object	*v;

	if (!json_object_object_get_ex(o, k1, &v))
		return NULL;
	if (k2 != NULL && !json_object_object_get_ex(v, k2, &v))
		return NULL;
	return json_object_is_type(v, json_type_string) ?
	    json_object_get_string(v) : NULL;
}

static json_object *
at(json_object *o, const char *k1, const char *k2)
{
	json_object	*v = NULL;

	ck_assert_msg(json_object_object_get_ex(o, k1, &v), "no \"%s\"", k1);
	if (k2 != NULL)
		ck_assert_msg(json_object_object_get_ex(v, k2, &v),
		    "no \"%s\".\"%s\"", k1, k2);
	return v;
}

/* An ISO 8601 UTC time with Z and no fraction: 2026-11-25T23:59:59Z. */
static int
is_utc_time(const char *s)
{
	static const char	 shape[] = "dddd-dd-ddTdd:dd:ddZ";
	size_t			 i;

	if (s == NULL || strlen(s) != sizeof(shape) - 1)
		return 0;
	for (i = 0; shape[i] != '\0'; i++)
		if (shape[i] == 'd' ? s[i] < '0' || s[i] > '9' :
		    s[i] != shape[i])
			return 0;
	return 1;
}

/* status, JSON type and {"detail": detail}. */
static void
assert_detail(const struct http_response *r, int status, const char *detail)
{
	json_object	*o;

	ck_assert_int_eq(r->status, status);
	ck_assert_str_eq(header(r, "Content-Type"), JSON_TYPE);
	o = body_json(r);
	ck_assert_pstr_eq(str_at(o, "detail", NULL), detail);
	json_object_put(o);
}

/* The three CORS headers of an allowed origin, each exactly once. */
static void
assert_cors(const struct http_response *r)
{
	ck_assert_pstr_eq(header(r, "Access-Control-Allow-Origin"), ORIGIN_OK);
	ck_assert_pstr_eq(header(r, "Vary"), "Origin");
	ck_assert_pstr_eq(header(r, "Access-Control-Expose-Headers"),
	    "Retry-After, WWW-Authenticate");
	ck_assert_int_eq(http_header_count(r, "Access-Control-Allow-Origin"),
	    1);
	ck_assert_int_eq(http_header_count(r, "Vary"), 1);
	ck_assert_int_eq(http_header_count(r,
	    "Access-Control-Expose-Headers"), 1);
}

static void
assert_no_cors(const struct http_response *r)
{
	ck_assert_ptr_null(header(r, "Access-Control-Allow-Origin"));
	ck_assert_ptr_null(header(r, "Access-Control-Expose-Headers"));
	ck_assert_ptr_null(header(r, "Access-Control-Allow-Methods"));
	ck_assert_ptr_null(header(r, "Vary"));
}

/* ---- everything up ---- */

START_TEST(health_reports_redis_and_database_connected)
{
	struct http_response	 r;
	json_object		*o, *lat;

	get("/health", NULL, &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(header(&r, "Content-Type"), JSON_TYPE);
	o = body_json(&r);
	ck_assert_pstr_eq(str_at(o, "status", NULL), "ok");
	ck_assert_pstr_eq(str_at(o, "redis", "status"), "connected");
	ck_assert_pstr_eq(str_at(o, "redis", "read_write_test"), "passed");
	ck_assert_ptr_nonnull(str_at(o, "redis", "message"));
	lat = at(o, "redis", "latency_ms");
	ck_assert_msg(json_object_is_type(lat, json_type_double) ||
	    json_object_is_type(lat, json_type_int),
	    "latency_ms is not a number: %s", r.body);
	ck_assert(json_object_get_double(lat) >= 0);
	ck_assert(json_object_get_double(lat) < FAST_MS);
	ck_assert_pstr_eq(str_at(o, "database", "status"), "connected");
	ck_assert_ptr_nonnull(str_at(o, "database", "message"));
	ck_assert_msg(is_utc_time(str_at(o, "timestamp", NULL)),
	    "timestamp is not ISO 8601 UTC with Z: %s", r.body);
	json_object_put(o);
	http_response_free(&r);
}
END_TEST

START_TEST(readiness_is_200_while_every_dependency_is_up)
{
	struct http_response	 r;
	json_object		*o;

	get("/health?ready=1", NULL, &r);
	ck_assert_int_eq(r.status, 200);
	o = body_json(&r);
	ck_assert_pstr_eq(str_at(o, "status", NULL), "ok");
	json_object_put(o);
	http_response_free(&r);
}
END_TEST

START_TEST(redis_test_reports_each_cache_operation_succeeding)
{
	static const char *const names[] = { "basic_set_get", "token_storage",
	    "token_revocation" };
	struct http_response	 r;
	json_object		*o, *res;
	size_t			 i;

	get("/api/redis-test", NULL, &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(header(&r, "Content-Type"), JSON_TYPE);
	o = body_json(&r);
	res = at(o, "redis_test_results", NULL);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		ck_assert_msg(str_at(res, names[i], "status") != NULL &&
		    strcmp(str_at(res, names[i], "status"), "success") == 0,
		    "%s did not succeed: %s", names[i], r.body);
	ck_assert(is_utc_time(str_at(o, "timestamp", NULL)));
	json_object_put(o);
	http_response_free(&r);
}
END_TEST

/* Runs a command on an admin client, asserting a reply (not an error). */
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

/* INFO stats' total_reads_processed: reads Redis made from clients. */
static long long
redis_reads(redisContext *c)
{
	redisReply	*r = admin(c, "INFO stats");
	const char	*p;
	long long	 n;

	p = strstr(r->str, "total_reads_processed:");
	ck_assert_msg(p != NULL, "no total_reads_processed in INFO stats");
	n = atoll(p + strlen("total_reads_processed:"));
	freeReplyObject(r);
	return n;
}

/* One MONITOR line: the client's address, the command and its key. */
struct monitored {
	char	 client[64];
	char	 cmd[16];
	char	 key[KEY_MAX];
	int	 ttl;		/* SET with PX or EX */
};

/* Parses `TIME [DB ADDR] "CMD" "KEY" ...` into m: 1, or 0. */
static int
monitor_parse(const char *line, struct monitored *m)
{
	const char	*a, *b;

	memset(m, 0, sizeof(*m));
	if ((a = strchr(line, '[')) == NULL || (b = strchr(a, ']')) == NULL ||
	    (a = strchr(a, ' ')) == NULL || a > b)
		return 0;
	snprintf(m->client, sizeof(m->client), "%.*s", (int)(b - a - 1),
	    a + 1);
	if (sscanf(b + 1, " \"%15[^\"]\" \"%255[^\"]\"", m->cmd, m->key) < 1)
		return 0;
	m->ttl = strstr(b, "\"PX\"") != NULL || strstr(b, "\"px\"") !=
	    NULL || strstr(b, "\"EX\"") != NULL || strstr(b, "\"ex\"") != NULL;
	return 1;
}

/*
 * One concurrent burst of /health, then MONITOR read up to a marker:
 * each client that SETs is added to set (its key must not change), and a
 * GET or DEL must follow a SET of the same client and key.
 */
static void
monitor_burst(redisContext *rc, redisContext *mon, struct monitored *set,
    int *nset)
{
	struct http_conn	 c[MONITOR_BURST];
	struct http_response	 r;
	struct monitored	 m;
	redisReply		*rep;
	int			 i, j, done;

	for (i = 0; i < MONITOR_BURST; i++)
		ck_assert_int_eq(http_start(st, &c[i], "GET", "/health",
		    NULL, NULL, 0), 0);
	for (i = 0; i < MONITOR_BURST; i++) {
		ck_assert_int_eq(http_finish(&c[i], &r), 0);
		ck_assert_int_eq(r.status, 200);
		http_response_free(&r);
	}
	freeReplyObject(admin(rc, "ECHO %s", "it-health-end"));
	for (done = 0; !done; ) {
		ck_assert_msg(redisGetReply(mon, (void **)&rep) == REDIS_OK,
		    "MONITOR: %s", mon->errstr);
		if (monitor_parse(rep->str, &m)) {
			done = strcasecmp(m.cmd, "ECHO") == 0 &&
			    strcmp(m.key, "it-health-end") == 0;
			for (j = 0; j < *nset && strcmp(set[j].client,
			    m.client) != 0; j++)
				;
			if (strcasecmp(m.cmd, "SET") == 0) {
				ck_assert_msg(m.ttl, "SET without a TTL: %s",
				    rep->str);
				if (j == *nset) {
					ck_assert_int_lt(*nset, KEYS_MAX);
					set[(*nset)++] = m;
				} else
					ck_assert_str_eq(set[j].key, m.key);
			} else if (strcasecmp(m.cmd, "GET") == 0 ||
			    strcasecmp(m.cmd, "DEL") == 0) {
				ck_assert_msg(j < *nset, "%s before SET: %s",
				    m.cmd, rep->str);
				ck_assert_str_eq(set[j].key, m.key);
			}
		}
		freeReplyObject(rep);
	}
}

/*
 * SPEC 2: /health's read/write test uses a key of its own (per worker or
 * per request, with a TTL) and sends its commands pipelined in one round
 * trip.  Round trips: Redis's count of reads from clients (INFO stats)
 * across sequential /health requests on warm workers is one per request,
 * where SET, GET and DEL sent one after the other would take three.
 * Keys: MONITOR during concurrent bursts that reach several workers.
 */
START_TEST(health_read_write_test_uses_its_own_key_in_one_round_trip)
{
	struct api_person	 p;
	struct api_tally	 t;
	struct monitored	 set[KEYS_MAX];
	struct http_response	 r;
	redisContext		*rc, *mon;
	struct timeval		 tv = { 5, 0 };
	long long		 r0, r1, reads, deadline;
	int			 i, j, k, nset = 0, clients = 0;

	api_register(st, &p);
	memset(&t, 0, sizeof(t));
	api_burst_every_worker(st, p.access, &t);	/* every handle warm */
	ck_assert_ptr_nonnull(rc = redis_server_client(stack_redis(st)));
	r0 = redis_reads(rc);
	for (i = 0; i < RW_REQUESTS; i++) {
		get("/health", NULL, &r);
		ck_assert_int_eq(r.status, 200);
		ck_assert_ptr_nonnull(strstr(r.body,
		    "\"read_write_test\":\"passed\""));
		http_response_free(&r);
	}
	r1 = redis_reads(rc);
	reads = r1 - r0 - 1;		/* the second INFO is a read too */
	fprintf(stderr, "it_health: %d /health read/write tests: %lld reads "
	    "by Redis\n", RW_REQUESTS, reads);
	ck_assert_msg(reads >= RW_REQUESTS && reads <= RW_REQUESTS + 2,
	    "%lld reads by Redis for %d /health requests: not one round trip "
	    "each", reads, RW_REQUESTS);

	ck_assert_ptr_nonnull(mon = redis_server_client(stack_redis(st)));
	redisSetTimeout(mon, tv);
	freeReplyObject(admin(mon, "MONITOR"));
	/*
	 * A busy worker leaves new connections to an idle one, but which
	 * worker answers a burst is the scheduler's: rounds go on until two
	 * workers have set their keys, or the time is out.
	 */
	deadline = test_now_ms() + MONITOR_MS;
	for (k = 0; k < MONITOR_ROUNDS ||
	    (nset < 2 && test_now_ms() < deadline); k++)
		monitor_burst(rc, mon, set, &nset);
	redisFree(mon);
	redisFree(rc);
	/* a key per worker: no two connections share one */
	for (i = 0; i < nset; i++) {
		ck_assert_msg(strstr(set[i].key, "health") != NULL, "key %s",
		    set[i].key);
		for (j = i + 1; j < nset; j++)
			ck_assert_msg(strcmp(set[i].key, set[j].key) != 0,
			    "workers %s and %s share the key %s",
			    set[i].client, set[j].client, set[i].key);
		clients++;
	}
	fprintf(stderr, "it_health: MONITOR: %d workers, each its own key "
	    "(%s ...)\n", clients, nset > 0 ? set[0].key : "none");
	ck_assert_msg(clients >= 2, "the bursts reached %d worker", clients);
}
END_TEST

/* Every key of Redis, with its serialized value and remaining life. */
struct keyset {
	int		 n;
	char		*key[KEYS_MAX];
	char		*dump[KEYS_MAX];
	size_t		 dumplen[KEYS_MAX];
	long long	 pttl[KEYS_MAX];
};

static void
keys_read(redisContext *c, struct keyset *ks)
{
	redisReply	*all, *r;
	size_t		 i;

	memset(ks, 0, sizeof(*ks));
	all = admin(c, "KEYS *");
	ck_assert_uint_le(all->elements, KEYS_MAX);
	for (i = 0; i < all->elements; i++) {
		ks->key[ks->n] = strdup(all->element[i]->str);
		r = admin(c, "DUMP %s", all->element[i]->str);
		ck_assert_int_eq(r->type, REDIS_REPLY_STRING);
		ks->dump[ks->n] = malloc(r->len);
		memcpy(ks->dump[ks->n], r->str, r->len);
		ks->dumplen[ks->n] = r->len;
		freeReplyObject(r);
		r = admin(c, "PTTL %s", all->element[i]->str);
		ks->pttl[ks->n] = r->integer;
		freeReplyObject(r);
		ks->n++;
	}
	freeReplyObject(all);
}

static void
keys_free(struct keyset *ks)
{
	int	 i;

	for (i = 0; i < ks->n; i++) {
		free(ks->key[i]);
		free(ks->dump[i]);
	}
	ks->n = 0;
}

/*
 * SPEC 2: /api/redis-test never touches a user's key.  Every key of
 * Redis before (a user's session among them) is there after with the
 * same value and no longer a life; a key it leaves is in its own
 * namespace, with a TTL.
 */
START_TEST(redis_test_never_touches_a_users_keys)
{
	struct api_person	 p;
	struct keyset		 before, after;
	struct http_response	 r;
	redisContext		*rc;
	int			 i, j;

	api_register(st, &p);
	ck_assert_ptr_nonnull(rc = redis_server_client(stack_redis(st)));
	keys_read(rc, &before);
	ck_assert_int_gt(before.n, 0);
	for (i = 0; i < 3; i++) {
		get("/api/redis-test", NULL, &r);
		ck_assert_int_eq(r.status, 200);
		ck_assert_ptr_null(strstr(r.body, "\"failed\""));
		ck_assert_ptr_null(strstr(r.body, "\"error\""));
		http_response_free(&r);
	}
	keys_read(rc, &after);
	for (i = 0; i < before.n; i++) {
		for (j = 0; j < after.n && strcmp(after.key[j],
		    before.key[i]) != 0; j++)
			;
		ck_assert_msg(j < after.n, "%s is gone", before.key[i]);
		ck_assert_msg(after.dumplen[j] == before.dumplen[i] &&
		    memcmp(after.dump[j], before.dump[i], before.dumplen[i]) ==
		    0, "%s changed", before.key[i]);
		ck_assert_msg(after.pttl[j] <= before.pttl[i], "%s lives "
		    "longer: %lld ms, was %lld ms", before.key[i],
		    after.pttl[j], before.pttl[i]);
	}
	for (j = 0; j < after.n; j++) {
		for (i = 0; i < before.n && strcmp(after.key[j],
		    before.key[i]) != 0; i++)
			;
		if (i < before.n)
			continue;
		ck_assert_msg(strstr(after.key[j], "redis-test:") != NULL &&
		    after.pttl[j] > 0, "left behind: %s (pttl %lld)",
		    after.key[j], after.pttl[j]);
	}
	keys_free(&before);
	keys_free(&after);
	redisFree(rc);
}
END_TEST

START_TEST(unknown_paths_under_routed_prefixes_get_the_apps_json_404)
{
	static const char *const paths[] = { "/health/x", "/auth",
	    "/auth/nope", "/health/" };
	struct http_response	 r;
	size_t			 i;

	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		get(paths[i], NULL, &r);
		assert_detail(&r, 404, "Not Found");
		/* the pool answered: it tags each response */
		ck_assert_msg(header(&r, "X-Request-Id") != NULL,
		    "%s was not answered by the pool", paths[i]);
		http_response_free(&r);
	}
}
END_TEST

START_TEST(paths_outside_mockpie_get_nginxs_json_404)
{
	static const char *const paths[] = { "/nope", "/", "/healthz",
	    "/authx", "/api/other", "/api/redis-test/x" };
	struct http_response	 r;
	size_t			 i;

	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		get(paths[i], NULL, &r);
		assert_detail(&r, 404, "Not Found");
		ck_assert_msg(header(&r, "X-Request-Id") == NULL,
		    "%s reached the pool", paths[i]);
		http_response_free(&r);
	}
}
END_TEST

START_TEST(pool_status_is_served_to_this_host)
{
	struct http_response	 r;
	json_object		*o;

	get("/status", NULL, &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_msg(header(&r, "X-Request-Id") != NULL,
	    "/status was not answered by the pool");
	o = body_json(&r);
	json_object_put(o);
	http_response_free(&r);
}
END_TEST

START_TEST(post_to_health_gets_405_with_allow)
{
	struct http_response	 r;

	ck_assert_int_eq(http_request(st, "POST", "/health", NULL, "", 0, &r),
	    0);
	assert_detail(&r, 405, "Method Not Allowed");
	ck_assert_pstr_eq(header(&r, "Allow"), "GET, OPTIONS");
	http_response_free(&r);
}
END_TEST

START_TEST(allowed_origin_gets_cors_headers_once)
{
	struct http_response	 r;

	get("/health", ORIGIN_OK, &r);
	ck_assert_int_eq(r.status, 200);
	assert_cors(&r);
	http_response_free(&r);
	get("/health/x", ORIGIN_OK, &r);	/* the app's errors too */
	ck_assert_int_eq(r.status, 404);
	assert_cors(&r);
	http_response_free(&r);
}
END_TEST

START_TEST(other_origins_get_no_cors_headers)
{
	struct http_response	 r;

	get("/health", ORIGIN_EVIL, &r);
	ck_assert_int_eq(r.status, 200);
	assert_no_cors(&r);
	http_response_free(&r);
	get("/nope", ORIGIN_EVIL, &r);		/* nor on nginx's errors */
	ck_assert_int_eq(r.status, 404);
	assert_no_cors(&r);
	http_response_free(&r);
	get("/health", NULL, &r);
	assert_no_cors(&r);
	http_response_free(&r);
}
END_TEST

START_TEST(preflight_from_allowed_origin_gets_204_with_grants)
{
	static const char *const h[] = { "Origin: " ORIGIN_OK,
	    "Access-Control-Request-Method: GET",
	    "Access-Control-Request-Headers: authorization", NULL };
	struct http_response	 r;
	const char		*v;

	ck_assert_int_eq(http_request(st, "OPTIONS", "/health", h, NULL, 0,
	    &r), 0);
	ck_assert_int_eq(r.status, 204);
	ck_assert_uint_eq(r.body_len, 0);
	v = header(&r, "Access-Control-Allow-Methods");
	ck_assert_msg(v != NULL && strstr(v, "GET") != NULL,
	    "Allow-Methods: %s", v ? v : "(none)");
	ck_assert_pstr_eq(header(&r, "Access-Control-Allow-Headers"),
	    "Authorization, Content-Type");
	v = header(&r, "Access-Control-Max-Age");
	ck_assert_msg(v != NULL && atoi(v) > 0, "Max-Age: %s",
	    v ? v : "(none)");
	assert_cors(&r);
	http_response_free(&r);
}
END_TEST

START_TEST(preflight_from_other_origin_gets_no_grants)
{
	static const char *const h[] = { "Origin: " ORIGIN_EVIL,
	    "Access-Control-Request-Method: GET", NULL };
	struct http_response	 r;

	ck_assert_int_eq(http_request(st, "OPTIONS", "/health", h, NULL, 0,
	    &r), 0);
	ck_assert_int_eq(r.status, 204);
	assert_no_cors(&r);
	ck_assert_ptr_null(header(&r, "Access-Control-Allow-Headers"));
	ck_assert_ptr_null(header(&r, "Access-Control-Max-Age"));
	http_response_free(&r);
}
END_TEST

START_TEST(oversized_body_gets_nginxs_json_413_with_cors)
{
	static const char *const h[] = { "Origin: " ORIGIN_OK,
	    "Content-Type: application/json", NULL };
	struct http_response	 r;
	char			*big;

	ck_assert_ptr_nonnull(big = malloc(BIG_BODY));
	memset(big, 'a', BIG_BODY);
	ck_assert_int_eq(http_request(st, "POST", "/auth/login", h, big,
	    BIG_BODY, &r), 0);
	free(big);
	assert_detail(&r, 413, "Request body too large");
	assert_cors(&r);
	ck_assert_msg(header(&r, "X-Request-Id") == NULL,
	    "the body reached the pool");
	http_response_free(&r);
}
END_TEST

START_TEST(oversized_body_from_no_origin_gets_413_without_cors)
{
	struct http_response	 r;
	char			*big;

	ck_assert_ptr_nonnull(big = calloc(1, BIG_BODY));
	ck_assert_int_eq(http_request(st, "POST", "/auth/register", NULL, big,
	    BIG_BODY, &r), 0);
	free(big);
	assert_detail(&r, 413, "Request body too large");
	assert_no_cors(&r);
	http_response_free(&r);
}
END_TEST

/*
 * A request with a chunked body of body bytes (in 4 KiB chunks) to path,
 * the last chunk sent only when finish: the answer in r (asserted).
 */
static void
chunked_post(const char *path, size_t body, int finish, const char *data,
    struct http_response *r)
{
	static char	 filler[CHUNK];
	FILE		*f;
	char		*raw = NULL;
	size_t		 len = 0, off, n;

	memset(filler, 'a', sizeof(filler));
	ck_assert_ptr_nonnull(f = open_memstream(&raw, &len));
	fprintf(f, "POST %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
	    "Connection: close\r\nOrigin: %s\r\nContent-Type: "
	    "application/json\r\nTransfer-Encoding: chunked\r\n\r\n", path,
	    stack_http_port(st), ORIGIN_OK);
	for (off = 0; off < body; off += n) {
		n = body - off < CHUNK ? body - off : CHUNK;
		fprintf(f, "%zx\r\n", n);
		fwrite(data != NULL ? data + off : filler, 1, n, f);
		fputs("\r\n", f);
	}
	if (finish)
		fputs("0\r\n\r\n", f);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_msg(api_request_from(st, "127.0.0.1", raw, len, r) == 0,
	    "POST %s chunked: no complete answer within 5 s", path);
	free(raw);
}

/*
 * SPEC 2: 413 for a body over the limit however it comes.  Chunked (no
 * Content-Length to refuse it by): nginx answers its JSON 413 once the
 * body passes 64 KiB, without waiting for the last chunk, which never
 * comes; and a chunked body within the limit is read as any other.
 */
START_TEST(chunked_upload_over_the_limit_gets_413_before_it_ends)
{
	static const char	 login[] =
	    "{\"email\": \"nobody@example.com\", \"password\": \"whatever-1\"}";
	struct http_response	 r;

	chunked_post("/auth/login", BIG_BODY, 0, NULL, &r);
	assert_detail(&r, 413, "Request body too large");
	assert_cors(&r);
	ck_assert_msg(header(&r, "X-Request-Id") == NULL,
	    "the body reached the pool");
	http_response_free(&r);

	chunked_post("/auth/login", strlen(login), 1, login, &r);
	assert_detail(&r, 401, "Invalid username or password");
	http_response_free(&r);
}
END_TEST

/* A FastCGI record (FastCGI 1.0, 3.3) of type with len bytes of data. */
static void
fcgi_record(FILE *f, int type, const void *data, size_t len)
{
	unsigned char	 h[8] = { 1, (unsigned char)type, 0, 1,
	    (unsigned char)(len >> 8), (unsigned char)len, 0, 0 };

	fwrite(h, 1, sizeof(h), f);
	if (len > 0)
		fwrite(data, 1, len, f);
}

/* A name-value pair of PARAMS, both shorter than 128 bytes. */
static void
fcgi_pair(FILE *f, const char *name, const char *value)
{
	fputc((int)strlen(name), f);
	fputc((int)strlen(value), f);
	fputs(name, f);
	fputs(value, f);
}

/*
 * Straight to the pool's socket, as a FastCGI client that is not nginx
 * (SPEC 4: served like nginx): POST /auth/login with params (name,
 * value pairs, NULL-terminated) and body bytes of stdin, never ending it
 * (no empty STDIN record).  The status the pool answers within 5 s, or
 * -1 when it answered nothing (waiting for more of the body).
 */
static int
fcgi_post(const char *const *params, size_t body)
{
	static const unsigned char begin[8] = { 0, 1, 0 };	/* responder */
	static char		 filler[FCGI_CHUNK];
	struct sockaddr_un	 sun;
	struct pollfd		 pfd;
	FILE			*f, *p;
	char			*raw = NULL, *pp = NULL, buf[65536 + 8];
	char			*got = NULL, *at;
	size_t			 len = 0, plen = 0, off, n, glen = 0;
	long long		 deadline;
	ssize_t			 k;
	int			 fd, status = -1, i;

	memset(filler, 'a', sizeof(filler));
	ck_assert_ptr_nonnull(p = open_memstream(&pp, &plen));
	for (i = 0; params[i] != NULL; i += 2)
		fcgi_pair(p, params[i], params[i + 1]);
	ck_assert_int_eq(fclose(p), 0);
	ck_assert_ptr_nonnull(f = open_memstream(&raw, &len));
	fcgi_record(f, 1, begin, sizeof(begin));	/* BEGIN_REQUEST */
	fcgi_record(f, 4, pp, plen);			/* PARAMS */
	fcgi_record(f, 4, NULL, 0);
	for (off = 0; off < body; off += n) {
		n = body - off < FCGI_CHUNK ? body - off : FCGI_CHUNK;
		fcgi_record(f, 5, filler, n);		/* STDIN */
	}
	ck_assert_int_eq(fclose(f), 0);
	free(pp);

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s",
	    stack_socket_path(st));
	ck_assert_int_ne(fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0),
	    -1);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sun, sizeof(sun)),
	    0);
	/* the pool may answer and close before it took all: not an error */
	for (off = 0; off < len; off += (size_t)k)
		if ((k = send(fd, raw + off, len - off, MSG_NOSIGNAL)) <= 0)
			break;
	free(raw);
	ck_assert_ptr_nonnull(f = open_memstream(&got, &glen));
	deadline = test_now_ms() + stack_ms(FCGI_ANSWER_MS);
	pfd.fd = fd;
	pfd.events = POLLIN;
	while (test_now_ms() < deadline && poll(&pfd, 1, 50) >= 0) {
		if (!(pfd.revents & (POLLIN | POLLHUP)))
			continue;
		if ((k = recv(fd, buf, sizeof(buf), 0)) <= 0)
			break;
		fwrite(buf, 1, (size_t)k, f);
	}
	close(fd);
	ck_assert_int_eq(fclose(f), 0);
	/* the first STDOUT record starts with the CGI headers */
	for (off = 0; off + 8 <= glen; off += 8 + n + (unsigned char)got[off
	    + 6]) {
		n = ((size_t)(unsigned char)got[off + 4] << 8) |
		    (unsigned char)got[off + 5];
		if (got[off + 1] != 6 || n == 0 || off + 8 + n > glen)
			continue;
		got[off + 8 + n - 1] = '\0';
		if ((at = strstr(got + off + 8, "Status: ")) != NULL)
			status = atoi(at + 8);
		break;
	}
	free(got);
	return status;
}

/*
 * SPEC 2: over the limit is 413 without the worker reading more than the
 * limit, for a FastCGI client too (nginx refuses such bodies itself).
 * CONTENT_LENGTH says 1 MiB; 100 KiB of the body are sent and the rest
 * never comes: a worker that read the body before judging its length
 * would answer nothing.
 */
START_TEST(fastcgi_body_over_the_limit_gets_413_without_reading_past_it)
{
	static const char *const params[] = { "REQUEST_METHOD", "POST",
	    "SCRIPT_NAME", "/auth/login", "DOCUMENT_URI", "/auth/login",
	    "REQUEST_URI", "/auth/login", "CONTENT_TYPE", "application/json",
	    "CONTENT_LENGTH", "1048576", "REMOTE_ADDR", "127.0.0.1", NULL };
	int	 status;

	status = fcgi_post(params, BIG_BODY);
	ck_assert_msg(status == 413, "CONTENT_LENGTH 1 MiB, %d bytes sent: "
	    "status %d", BIG_BODY, status);
}
END_TEST

/*
 * The same without CONTENT_LENGTH at all: the worker reads at most the
 * limit and one byte more, then answers 413 (it used to take the body
 * for empty and answer 422 for missing fields).
 */
START_TEST(fastcgi_body_without_a_length_over_the_limit_gets_413)
{
	static const char *const params[] = { "REQUEST_METHOD", "POST",
	    "SCRIPT_NAME", "/auth/login", "DOCUMENT_URI", "/auth/login",
	    "REQUEST_URI", "/auth/login", "CONTENT_TYPE", "application/json",
	    "REMOTE_ADDR", "127.0.0.1", NULL };
	int	 status;

	status = fcgi_post(params, BIG_BODY);
	ck_assert_msg(status == 413, "no CONTENT_LENGTH, %d bytes sent: "
	    "status %d", BIG_BODY, status);
}
END_TEST

START_TEST(nginxs_404_carries_cors_for_an_allowed_origin)
{
	struct http_response	 r;

	get("/nope", ORIGIN_OK, &r);
	assert_detail(&r, 404, "Not Found");
	assert_cors(&r);
	http_response_free(&r);
}
END_TEST

/* GET path with Origin: ORIGIN_OK from the client address src. */
static void
get_from(const char *src, const char *path, struct http_response *r)
{
	char	 raw[VALUE_MAX * 2];
	int	 n;

	n = snprintf(raw, sizeof(raw), "GET %s HTTP/1.1\r\nHost: "
	    "127.0.0.1:%d\r\nConnection: close\r\nOrigin: %s\r\n\r\n",
	    path, stack_http_port(st), ORIGIN_OK);
	ck_assert_msg(api_request_from(st, src, raw, (size_t)n, r) == 0,
	    "GET %s from %s: no answer", path, src);
}

/* SPEC 2: nginx's own 403 (/status from another address) is CORS'd. */
START_TEST(nginxs_403_carries_cors_for_an_allowed_origin)
{
	struct http_response	 r;

	get_from("127.0.0.2", "/status", &r);
	assert_detail(&r, 403, "Forbidden");
	assert_cors(&r);
	ck_assert_msg(header(&r, "X-Request-Id") == NULL,
	    "the 403 is the pool's, not nginx's");
	http_response_free(&r);
}
END_TEST

/* ---- Redis stopped ---- */

/* Warms a worker's connection, then stops Redis. */
static void
stop_redis(void)
{
	struct http_response	 r;

	get("/health", NULL, &r);
	ck_assert_int_eq(r.status, 200);
	http_response_free(&r);
	ck_assert_int_eq(redis_server_stop(stack_redis(st)), 0);
}

START_TEST(health_stays_200_and_degraded_while_redis_is_down)
{
	struct http_response	 r;
	json_object		*o;

	stop_redis();
	get("/health", NULL, &r);
	ck_assert_int_eq(r.status, 200);	/* liveness */
	ck_assert_str_eq(header(&r, "Content-Type"), JSON_TYPE);
	o = body_json(&r);
	ck_assert_pstr_eq(str_at(o, "status", NULL), "degraded");
	ck_assert_pstr_eq(str_at(o, "redis", "status"), "error");
	ck_assert_pstr_eq(str_at(o, "redis", "read_write_test"), "failed");
	ck_assert_ptr_nonnull(str_at(o, "redis", "message"));
	ck_assert_msg(json_object_is_type(at(o, "redis", "latency_ms"),
	    json_type_null), "latency_ms is not null: %s", r.body);
	ck_assert_pstr_eq(str_at(o, "database", "status"), "connected");
	ck_assert(is_utc_time(str_at(o, "timestamp", NULL)));
	json_object_put(o);
	http_response_free(&r);

	get("/health?ready=1", NULL, &r);	/* readiness */
	ck_assert_int_eq(r.status, 503);
	o = body_json(&r);
	ck_assert_pstr_eq(str_at(o, "status", NULL), "degraded");
	json_object_put(o);
	http_response_free(&r);
}
END_TEST

/* The worker pid in w[n], or NULL. */
static const struct api_worker *
worker_of(const struct api_worker *w, int n, pid_t pid)
{
	int	 i;

	for (i = 0; i < n; i++)
		if (w[i].pid == pid)
			return &w[i];
	return NULL;
}

/*
 * SPEC 3's back-off, worker by worker: for about a second of concurrent
 * bursts that reach every worker (api_burst_every_worker()), each worker
 * answers every request on the token's signature and makes only a few
 * connect attempts (250 ms doubling: at 0, 250 and 750 ms, 1750 if the
 * bursts run late), however many requests it served; /status counts
 * both per worker.
 */
START_TEST(redis_down_costs_each_worker_a_few_attempts_not_one_per_request)
{
	struct api_worker		 before[API_WORKERS_MAX];
	struct api_worker		 after[API_WORKERS_MAX];
	const struct api_worker		*b;
	struct api_person		 p;
	struct api_tally		 t;
	long long			 until;
	unsigned long			 served, attempts;
	int				 nb, na, i;

	api_register(st, &p);
	stop_redis();
	nb = api_workers(st, before, API_WORKERS_MAX);
	memset(&t, 0, sizeof(t));
	until = test_now_ms() + STORM_MS;
	do
		api_burst_every_worker(st, p.access, &t);
	while (test_now_ms() < until);
	na = api_workers(st, after, API_WORKERS_MAX);
	ck_assert_msg(t.by_status[200] == t.total, "%d of %d answers 200 on "
	    "the signature", t.by_status[200], t.total);
	ck_assert_int_eq(na, nb);
	for (i = 0; i < na; i++) {
		ck_assert_ptr_nonnull(b = worker_of(before, nb,
		    after[i].pid));
		served = after[i].requests - b->requests;
		attempts = after[i].redis_failures - b->redis_failures;
		fprintf(stderr, "it_health: Redis down: worker %ld served %lu "
		    "requests with %lu connect attempts\n",
		    (long)after[i].pid, served, attempts);
		ck_assert_msg(served >= 3 * MAX_ATTEMPTS, "worker %ld served "
		    "%lu requests: too few to tell", (long)after[i].pid,
		    served);
		ck_assert_msg(attempts >= 1 && attempts <= MAX_ATTEMPTS,
		    "worker %ld: %lu Redis attempts for %lu requests",
		    (long)after[i].pid, attempts, served);
	}
}
END_TEST

START_TEST(redis_test_reports_errors_while_redis_is_down)
{
	static const char *const names[] = { "basic_set_get", "token_storage",
	    "token_revocation" };
	struct http_response	 r;
	json_object		*o, *res;
	size_t			 i;

	stop_redis();
	get("/api/redis-test", NULL, &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_msg(r.elapsed_ms < FAST_MS, "took %.0f ms", r.elapsed_ms);
	o = body_json(&r);
	res = at(o, "redis_test_results", NULL);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		ck_assert_msg(str_at(res, names[i], "status") != NULL &&
		    strcmp(str_at(res, names[i], "status"), "error") == 0,
		    "%s is not an error: %s", names[i], r.body);
	json_object_put(o);
	http_response_free(&r);
}
END_TEST

START_TEST(health_is_connected_again_soon_after_redis_restarts)
{
	struct http_response	 r;
	json_object		*o;
	const char		*status = NULL;
	long long		 started, deadline;
	char			 last[VALUE_MAX] = "";

	stop_redis();
	get("/health", NULL, &r);	/* let the worker see it down */
	http_response_free(&r);
	get("/health", NULL, &r);
	http_response_free(&r);
	ck_assert_int_eq(redis_server_restart(stack_redis(st)), 0);
	started = test_now_ms();
	deadline = started + RECOVER_MS;
	do {
		get("/health", NULL, &r);
		ck_assert_int_eq(r.status, 200);
		o = body_json(&r);
		status = str_at(o, "redis", "status");
		snprintf(last, sizeof(last), "%s", status ? status : "");
		json_object_put(o);
		http_response_free(&r);
		if (strcmp(last, "connected") == 0)
			break;
		test_sleep_ms(100);
	} while (test_now_ms() < deadline);
	ck_assert_msg(strcmp(last, "connected") == 0, "Redis still \"%s\" "
	    "%d ms after its restart", last, RECOVER_MS);
	get("/health?ready=1", NULL, &r);
	ck_assert_int_eq(r.status, 200);
	http_response_free(&r);
}
END_TEST

/* ---- /api/redis-test switched off ---- */

static void
redis_test_off_setup(void)
{
	static const char *const env[] = {
		"MOCKPIE_REDIS_TEST_ENABLED=false", NULL
	};

	start(env);
}

START_TEST(redis_test_switched_off_answers_the_apps_404)
{
	struct http_response	 r;

	get("/api/redis-test", NULL, &r);
	assert_detail(&r, 404, "Not Found");
	ck_assert_msg(header(&r, "X-Request-Id") != NULL,
	    "the 404 is nginx's, not the pool's");
	http_response_free(&r);
	get("/health", NULL, &r);		/* the rest still serves */
	ck_assert_int_eq(r.status, 200);
	http_response_free(&r);
}
END_TEST

/* ---- nginx's own 504 ---- */

/* The live children of pid (nginx's workers), at most max: how many. */
static int
kids_of(pid_t pid, pid_t *out, int max)
{
	char	 path[64];
	FILE	*f;
	long	 k;
	int	 n = 0;

	snprintf(path, sizeof(path), "/proc/%ld/task/%ld/children",
	    (long)pid, (long)pid);
	ck_assert_ptr_nonnull(f = fopen(path, "re"));
	while (n < max && fscanf(f, "%ld", &k) == 1)
		if (stack_pid_alive((pid_t)k))
			out[n++] = (pid_t)k;
	fclose(f);
	return n;
}

/*
 * Cuts the shipped fastcgi_read_timeout (35 s, above request_timeout) to
 * 1 s in this stack's nginx.conf and reloads nginx, waiting until its
 * old workers are gone.  Only the timeout changes; the error pages and
 * their CORS headers are the shipped ones.
 */
static void
nginx_read_timeout_1s(void)
{
	char		 path[600], *conf, *at, pidbuf[32];
	pid_t		 nginx, old[PIDS_MAX];
	long long	 deadline;
	size_t		 len;
	FILE		*f;
	int		 n, i, alive;

	snprintf(path, sizeof(path), "%s/nginx.conf", stack_dir(st));
	ck_assert_ptr_nonnull(f = fopen(path, "re"));
	ck_assert_ptr_nonnull(conf = calloc(1, CONF_MAX + 1));
	len = fread(conf, 1, CONF_MAX, f);
	fclose(f);
	ck_assert_uint_lt(len, CONF_MAX);
	ck_assert_ptr_nonnull(at = strstr(conf, "fastcgi_read_timeout\t35s;"));
	memcpy(at + strlen("fastcgi_read_timeout\t"), " 1s", 3);
	ck_assert_ptr_nonnull(f = fopen(path, "we"));
	ck_assert_uint_eq(fwrite(conf, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
	free(conf);

	snprintf(path, sizeof(path), "%s/nginx.pid", stack_dir(st));
	ck_assert_ptr_nonnull(f = fopen(path, "re"));
	ck_assert_ptr_nonnull(fgets(pidbuf, sizeof(pidbuf), f));
	fclose(f);
	ck_assert_int_gt(nginx = (pid_t)atol(pidbuf), 1);
	n = kids_of(nginx, old, PIDS_MAX);
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(kill(nginx, SIGHUP), 0);
	deadline = test_now_ms() + RELOAD_MS;
	do {
		for (alive = 0, i = 0; i < n; i++)
			alive += stack_pid_alive(old[i]);
		if (alive > 0)
			test_sleep_ms(20);
	} while (alive > 0 && test_now_ms() < deadline);
	ck_assert_msg(alive == 0, "nginx's old workers still there %d ms "
	    "after SIGHUP", RELOAD_MS);
}

/*
 * SPEC 2: nginx's own 504 is JSON with the CORS headers.  Every pool
 * worker is stopped (SIGSTOP), so nothing answers within nginx's read
 * timeout.
 */
START_TEST(nginxs_504_carries_cors_for_an_allowed_origin)
{
	struct http_response	 r;
	pid_t			 workers[PIDS_MAX];
	int			 n, i;

	nginx_read_timeout_1s();
	n = stack_worker_pids(st, workers, PIDS_MAX);
	ck_assert_int_gt(n, 0);
	for (i = 0; i < n; i++)
		ck_assert_int_eq(kill(workers[i], SIGSTOP), 0);
	get("/health", ORIGIN_OK, &r);
	for (i = 0; i < n; i++)
		kill(workers[i], SIGCONT);
	assert_detail(&r, 504, "Gateway timeout");
	assert_cors(&r);
	http_response_free(&r);
}
END_TEST

/* ---- the pool stopped ---- */

START_TEST(stopped_pool_gets_nginxs_json_502_with_cors)
{
	struct http_response	 r;

	ck_assert_int_eq(stack_stop_pool(st, SIGTERM, 5000), 0);
	get("/health", ORIGIN_OK, &r);
	assert_detail(&r, 502, "Service unavailable");
	assert_cors(&r);
	http_response_free(&r);
	get("/auth/me", NULL, &r);
	assert_detail(&r, 502, "Service unavailable");
	assert_no_cors(&r);
	http_response_free(&r);
}
END_TEST

Suite *
suite(void)
{
	Suite	*s = suite_create("it_health");
	TCase	*up = tcase_create("up");
	TCase	*down = tcase_create("redis_down");
	TCase	*pool = tcase_create("pool_down");
	TCase	*off = tcase_create("redis_test_off");
	TCase	*gateway = tcase_create("gateway_timeout");

	/* one stack for the read-only tests */
	tcase_add_unchecked_fixture(up, up_setup, teardown);
	tcase_set_timeout(up, 20);
	tcase_add_test(up, health_reports_redis_and_database_connected);
	tcase_add_test(up, readiness_is_200_while_every_dependency_is_up);
	tcase_add_test(up, redis_test_reports_each_cache_operation_succeeding);
	tcase_add_test(up,
	    health_read_write_test_uses_its_own_key_in_one_round_trip);
	tcase_add_test(up, redis_test_never_touches_a_users_keys);
	tcase_add_test(up,
	    unknown_paths_under_routed_prefixes_get_the_apps_json_404);
	tcase_add_test(up, paths_outside_mockpie_get_nginxs_json_404);
	tcase_add_test(up, pool_status_is_served_to_this_host);
	tcase_add_test(up, post_to_health_gets_405_with_allow);
	tcase_add_test(up, allowed_origin_gets_cors_headers_once);
	tcase_add_test(up, other_origins_get_no_cors_headers);
	tcase_add_test(up, preflight_from_allowed_origin_gets_204_with_grants);
	tcase_add_test(up, preflight_from_other_origin_gets_no_grants);
	tcase_add_test(up, oversized_body_gets_nginxs_json_413_with_cors);
	tcase_add_test(up, oversized_body_from_no_origin_gets_413_without_cors);
	tcase_add_test(up, nginxs_404_carries_cors_for_an_allowed_origin);
	tcase_add_test(up, nginxs_403_carries_cors_for_an_allowed_origin);
	tcase_add_test(up,
	    chunked_upload_over_the_limit_gets_413_before_it_ends);
	tcase_add_test(up,
	    fastcgi_body_over_the_limit_gets_413_without_reading_past_it);
	tcase_add_test(up,
	    fastcgi_body_without_a_length_over_the_limit_gets_413);
	suite_add_tcase(s, up);

	/*
	 * A stack per test, started in the test's own process: only the
	 * process that started redis-server can stop and restart it.
	 */
	tcase_add_checked_fixture(down, debug_setup, teardown);
	tcase_set_timeout(down, 20);
	tcase_add_test(down, health_stays_200_and_degraded_while_redis_is_down);
	tcase_add_test(down,
	    redis_down_costs_each_worker_a_few_attempts_not_one_per_request);
	tcase_add_test(down, redis_test_reports_errors_while_redis_is_down);
	tcase_add_test(down,
	    health_is_connected_again_soon_after_redis_restarts);
	suite_add_tcase(s, down);

	tcase_add_unchecked_fixture(off, redis_test_off_setup, teardown);
	tcase_set_timeout(off, 20);
	tcase_add_test(off, redis_test_switched_off_answers_the_apps_404);
	suite_add_tcase(s, off);

	tcase_add_checked_fixture(gateway, up_setup, teardown);
	tcase_set_timeout(gateway, 20);
	tcase_add_test(gateway, nginxs_504_carries_cors_for_an_allowed_origin);
	suite_add_tcase(s, gateway);

	tcase_add_checked_fixture(pool, up_setup, teardown);
	tcase_set_timeout(pool, 20);
	tcase_add_test(pool, stopped_pool_gets_nginxs_json_502_with_cors);
	suite_add_tcase(s, pool);
	return s;
}
