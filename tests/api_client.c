/*
 * A small API client for integration tests (api_client.h).  Every call
 * fails the running Check test when nothing answers; statuses are the
 * caller's to assert.
 */
#include <sys/socket.h>
#include <sys/time.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <json-c/json.h>

#include "api_client.h"
#include "harness.h"
#include "redis_server.h"

#define API_BURST_ROUNDS	20	/* bursts before every worker served, */
#define API_BURST_MS		3000	/* and for at least this long */
#define API_SERVED_MIN		3	/* /status reads count one each */
#define API_CONNECT_MS		10000
#define API_RAW_TIMEOUT_S	5

static unsigned	 api_seq;

static const char *
json_str(struct json_object *o, const char *key)
{
	struct json_object	*v;

	if (o == NULL || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static long long
json_int(struct json_object *o, const char *key)
{
	struct json_object	*v;

	if (o == NULL || !json_object_object_get_ex(o, key, &v))
		return -1;
	return json_object_get_int64(v);
}

/* POSTs the JSON object o (put here) to path: the status; r kept. */
static int
post_json(struct stack *st, const char *path, const char *bearer,
    struct json_object *o, struct http_response *r)
{
	char		 auth[API_TOKEN_MAX + 32];
	const char	*h[3] = { "Content-Type: application/json", NULL,
			    NULL };
	const char	*body;

	if (bearer != NULL) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s",
		    bearer);
		h[1] = auth;
	}
	body = o != NULL ? json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PLAIN) : NULL;
	ck_assert_msg(http_request(st, "POST", path, h, body,
	    body != NULL ? strlen(body) : 0, r) == 0, "POST %s: no answer",
	    path);
	json_object_put(o);
	return r->status;
}

/* Copies the tokens of a token response into access and refresh. */
static void
keep_tokens(const struct http_response *r, char *access, char *refresh)
{
	struct json_object	*o = http_json(r);
	const char		*a = json_str(o, "access_token");
	const char		*f = json_str(o, "refresh_token");

	ck_assert_msg(a != NULL && f != NULL, "no tokens in %.*s",
	    (int)r->body_len, r->body);
	if (access != NULL)
		snprintf(access, API_TOKEN_MAX, "%s", a);
	if (refresh != NULL)
		snprintf(refresh, API_TOKEN_MAX, "%s", f);
	json_object_put(o);
}

/* Registers a new person (201 asserted); p gets the login and tokens. */
void
api_register(struct stack *st, struct api_person *p)
{
	struct json_object	*o = json_object_new_object();
	struct http_response	 r;
	char			 user[API_FIELD_MAX], phone[API_FIELD_MAX];
	unsigned		 n = ++api_seq;
	long			 pid = (long)getpid();

	memset(p, 0, sizeof(*p));
	snprintf(p->email, sizeof(p->email), "api.%ld.%u@example.com", pid,
	    n);
	snprintf(p->password, sizeof(p->password), "harbour-Kite-%u-moss", n);
	snprintf(user, sizeof(user), "api_%ld_%u", pid, n);
	snprintf(phone, sizeof(phone), "+2%07ld%03u", pid, n % 1000);
	json_object_object_add(o, "first_name", json_object_new_string("Api"));
	json_object_object_add(o, "last_name", json_object_new_string("Test"));
	json_object_object_add(o, "email", json_object_new_string(p->email));
	json_object_object_add(o, "username", json_object_new_string(user));
	json_object_object_add(o, "phone_number",
	    json_object_new_string(phone));
	json_object_object_add(o, "password",
	    json_object_new_string(p->password));
	json_object_object_add(o, "password_confirmation",
	    json_object_new_string(p->password));
	json_object_object_add(o, "gender",
	    json_object_new_string("prefer_not_to_say"));
	ck_assert_msg(post_json(st, "/auth/register", NULL, o, &r) == 201,
	    "register: %d %.*s", r.status, (int)r.body_len, r.body);
	keep_tokens(&r, p->access, p->refresh);
	http_response_free(&r);
}

/* POST /auth/login: the status; on 200 p's tokens are the new ones. */
int
api_login(struct stack *st, const char *email, const char *password,
    struct api_person *p)
{
	struct json_object	*o = json_object_new_object();
	struct http_response	 r;
	int			 status;

	json_object_object_add(o, "email", json_object_new_string(email));
	json_object_object_add(o, "password",
	    json_object_new_string(password));
	if ((status = post_json(st, "/auth/login", NULL, o, &r)) == 200 &&
	    p != NULL)
		keep_tokens(&r, p->access, p->refresh);
	http_response_free(&r);
	return status;
}

/* GET /auth/me with access as the bearer token: the status. */
int
api_me(struct stack *st, const char *access)
{
	struct http_response	 r;
	char			 auth[API_TOKEN_MAX + 32];
	const char		*h[2] = { auth, NULL };
	int			 status;

	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", access);
	ck_assert_msg(http_request(st, "GET", "/auth/me", h, NULL, 0, &r) ==
	    0, "GET /auth/me: no answer");
	status = r.status;
	http_response_free(&r);
	return status;
}

/*
 * POST /auth/refresh: the status; on 200 the new pair goes to access and
 * refresh (either may be NULL).
 */
int
api_refresh(struct stack *st, const char *refresh, char *access_out,
    char *refresh_out)
{
	struct json_object	*o = json_object_new_object();
	struct http_response	 r;
	int			 status;

	json_object_object_add(o, "refresh_token",
	    json_object_new_string(refresh));
	if ((status = post_json(st, "/auth/refresh", NULL, o, &r)) == 200)
		keep_tokens(&r, access_out, refresh_out);
	http_response_free(&r);
	return status;
}

/* POST /auth/logout of this session: the status. */
int
api_logout(struct stack *st, const char *access)
{
	struct http_response	 r;
	int			 status;

	status = post_json(st, "/auth/logout", access, NULL, &r);
	http_response_free(&r);
	return status;
}

/* The pool's workers from GET /status into w (at most max): how many. */
int
api_workers(struct stack *st, struct api_worker *w, int max)
{
	struct http_response	 r;
	struct json_object	*o, *list, *e, *redis;
	int			 i, n;

	ck_assert_int_eq(http_request(st, "GET", "/status", NULL, NULL, 0,
	    &r), 0);
	ck_assert_msg(r.status == 200, "/status: %d", r.status);
	o = http_json(&r);
	ck_assert_msg(o != NULL && json_object_object_get_ex(o, "workers",
	    &list) && json_object_is_type(list, json_type_array),
	    "/status: %.*s", (int)r.body_len, r.body);
	n = (int)json_object_array_length(list);
	ck_assert_int_le(n, max);
	for (i = 0; i < n; i++) {
		e = json_object_array_get_idx(list, (size_t)i);
		ck_assert(json_object_object_get_ex(e, "redis", &redis));
		w[i].pid = (pid_t)json_int(e, "pid");
		w[i].requests = (unsigned long)json_int(e, "requests");
		w[i].redis_connected = json_int(redis, "connected") == 1;
		w[i].redis_failures = (unsigned long)json_int(redis,
		    "failures");
		w[i].stale_reconnects = (unsigned long)json_int(redis,
		    "stale_reconnects");
		w[i].signature_fallbacks = (unsigned long)json_int(redis,
		    "signature_fallbacks");
		w[i].session_cache_hits = (unsigned long)json_int(redis,
		    "session_cache_hits");
	}
	json_object_put(o);
	http_response_free(&r);
	return n;
}

/* n concurrent GET /auth/me with access; their statuses added to t. */
int
api_burst_me(struct stack *st, const char *access, int n,
    struct api_tally *t)
{
	struct http_conn	 c[API_BURST_MAX];
	struct http_response	 r;
	char			 auth[API_TOKEN_MAX + 32];
	const char		*h[2] = { auth, NULL };
	int			 i;

	ck_assert_int_le(n, API_BURST_MAX);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", access);
	for (i = 0; i < n; i++)
		ck_assert_msg(http_start(st, &c[i], "GET", "/auth/me", h, NULL,
		    0) == 0, "GET /auth/me: cannot send");
	for (i = 0; i < n; i++) {
		ck_assert_msg(http_finish(&c[i], &r) == 0,
		    "GET /auth/me: no answer");
		ck_assert(r.status > 0 && r.status < 600);
		t->by_status[r.status]++;
		t->total++;
		http_response_free(&r);
	}
	return 0;
}

/*
 * Concurrent bursts of GET /auth/me with access until /status shows that
 * every worker served some of them (asserted, within 20 bursts or 3 s,
 * whichever ends later: twenty fast bursts can pass while the scheduler
 * of a loaded 2-core machine keeps one worker off the CPU): the answers
 * are added to t.  Returns the number of bursts.
 */
int
api_burst_every_worker(struct stack *st, const char *access,
    struct api_tally *t)
{
	struct api_worker	 before[API_WORKERS_MAX], now[API_WORKERS_MAX];
	long long		 until = test_now_ms() + API_BURST_MS;
	int			 n, m = 0, i, j, round, all;

	n = api_workers(st, before, API_WORKERS_MAX);
	ck_assert_int_gt(n, 0);
	for (round = 1; round <= API_BURST_ROUNDS || test_now_ms() < until;
	    round++) {
		api_burst_me(st, access, 2 * n < API_BURST_MAX ? 2 * n :
		    API_BURST_MAX, t);
		m = api_workers(st, now, API_WORKERS_MAX);
		for (all = 1, i = 0; i < n && all; i++) {
			for (j = 0; j < m && now[j].pid != before[i].pid; j++)
				;
			ck_assert_msg(j < m, "worker %ld went away",
			    (long)before[i].pid);
			all = now[j].requests >= before[i].requests +
			    API_SERVED_MIN;
		}
		if (all)
			return round;
	}
	for (j = 0; j < m; j++)
		fprintf(stderr, "api_client: worker %ld served %lu requests "
		    "in all\n", (long)now[j].pid, now[j].requests);
	ck_abort_msg("%d bursts in %d ms did not reach every one of %d "
	    "workers", round - 1, API_BURST_MS, n);
	return -1;
}

/*
 * Sends bursts with access until every worker's Redis handle is
 * connected again (after an outage and its back-off), asserted within
 * 10 s.
 */
void
api_wait_redis_connected(struct stack *st, const char *access)
{
	struct api_worker	 w[API_WORKERS_MAX];
	struct api_tally	 t;
	long long		 deadline = test_now_ms() + API_CONNECT_MS;
	int			 n, i, all;

	do {
		memset(&t, 0, sizeof(t));
		api_burst_me(st, access, 8, &t);
		n = api_workers(st, w, API_WORKERS_MAX);
		for (all = 1, i = 0; i < n; i++)
			all &= w[i].redis_connected;
		if (all)
			return;
		test_sleep_ms(50);
	} while (test_now_ms() < deadline);
	ck_abort_msg("some worker's Redis handle is still not connected");
}

/*
 * Connects to the stack's nginx from the address src (any 127.0.0.0/8
 * address is this host on Linux; nginx sees it as $remote_addr) and sends
 * raw, a whole HTTP request or the start of one, as it is: 0 with c set
 * for http_finish(), or -1 (errno set).  A peer that answers and closes
 * before taking all of raw (413) is not an error.
 */
int
api_send_from(struct stack *st, const char *src, const char *raw,
    size_t len, struct http_conn *c)
{
	struct sockaddr_in	 sin;
	struct timeval		 tv = { API_RAW_TIMEOUT_S, 0 };
	ssize_t			 n;
	int			 fd;

	c->fd = -1;
	c->head = 0;
	c->started_us = test_now_ms() * 1000;
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	if (inet_pton(AF_INET, src, &sin.sin_addr) != 1 ||
	    bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1)
		goto fail;
	sin.sin_port = htons((unsigned short)stack_http_port(st));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == -1 ||
	    connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1)
		goto fail;
	while (len > 0) {
		if ((n = send(fd, raw, len, MSG_NOSIGNAL)) == -1) {
			if (errno == EINTR)
				continue;
			break;		/* answered early; http_finish reads it */
		}
		raw += n;
		len -= (size_t)n;
	}
	c->fd = fd;
	return 0;
fail:
	close(fd);
	return -1;
}

/*
 * One raw request from src (api_send_from()), its answer in r (free it
 * with http_response_free()): 0, or -1 when nothing complete came back.
 */
int
api_request_from(struct stack *st, const char *src, const char *raw,
    size_t len, struct http_response *r)
{
	struct http_conn	 c;

	if (api_send_from(st, src, raw, len, &c) == -1) {
		memset(r, 0, sizeof(*r));
		return -1;
	}
	return http_finish(&c, r);
}

/*
 * POST /auth/login with a JSON body from the client address src: 0 with
 * the answer in r (asserted to come), for the caller to free.
 */
int
api_login_from(struct stack *st, const char *src, const char *email,
    const char *password, struct http_response *r)
{
	struct json_object	*o = json_object_new_object();
	const char		*body;
	char			*raw;
	int			 len, rc;

	json_object_object_add(o, "email", json_object_new_string(email));
	json_object_object_add(o, "password",
	    json_object_new_string(password));
	body = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	len = asprintf(&raw, "POST /auth/login HTTP/1.1\r\nHost: "
	    "127.0.0.1:%d\r\nConnection: close\r\nContent-Type: "
	    "application/json\r\nContent-Length: %zu\r\n\r\n%s",
	    stack_http_port(st), strlen(body), body);
	json_object_put(o);
	ck_assert_int_gt(len, 0);
	rc = api_request_from(st, src, raw, (size_t)len, r);
	free(raw);
	ck_assert_msg(rc == 0, "POST /auth/login from %s: no answer", src);
	return 0;
}
