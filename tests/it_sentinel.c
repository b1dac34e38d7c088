/*
 * Redis Sentinel through the whole stack (SPEC 5): nginx, the pool,
 * SQLite, and Redis as a master, a replica and three sentinels; the
 * pool's redis_url names a closed port, so everything it does with Redis
 * goes where the sentinels say.  The master is killed; the sentinels
 * promote the replica and the pool follows without a restart.  Polls are
 * bounded in count; nothing is asserted about durations.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <hiredis/hiredis.h>
#include <json-c/json.h>

#include "api_client.h"
#include "harness.h"
#include "redis_server.h"
#include "runner.h"

#define FAILOVER_MS	60000	/* the sentinels agree on the new master */
#define SYNC_TRIES	500	/* x 10 ms: the replica has the session */
#define FOLLOW_TRIES	1200	/* x 50 ms: the pool reaches the new master */

/* GET path's JSON field obj.key as a string into buf ("" when none). */
static void
json_field(struct stack *st, const char *path, const char *obj,
    const char *key, char *buf, size_t len)
{
	struct http_response	 r;
	struct json_object	*o, *sub, *v;

	buf[0] = '\0';
	ck_assert_int_eq(http_request(st, "GET", path, NULL, NULL, 0, &r), 0);
	if ((o = http_json(&r)) != NULL) {
		if (json_object_object_get_ex(o, obj, &sub) &&
		    json_object_object_get_ex(sub, key, &v) &&
		    json_object_is_type(v, json_type_string))
			snprintf(buf, len, "%s", json_object_get_string(v));
		json_object_put(o);
	}
	http_response_free(&r);
}

/* An INFO replication field of srv as a number, or -1. */
static long long
repl_field(const struct redis_server *srv, const char *field)
{
	redisContext	*c;
	redisReply	*r;
	const char	*p;
	long long	 v = -1;

	if ((c = redis_server_client(srv)) == NULL)
		return -1;
	r = redisCommand(c, "INFO replication");
	if (r != NULL && r->type == REDIS_REPLY_STRING &&
	    (p = strstr(r->str, field)) != NULL)
		v = atoll(p + strlen(field));
	if (r != NULL)
		freeReplyObject(r);
	redisFree(c);
	return v;
}

START_TEST(login_survives_a_master_crash_and_status_names_the_new_master)
{
	static const char *const env[] = { "MOCKPIE_PASSWORD_OPSLIMIT=1",
	    "MOCKPIE_PASSWORD_MEMLIMIT=8m", "MOCKPIE_REDIS_REQUIRED=true",
	    NULL };
	struct stack_options	 o;
	struct redis_server	*old, *new;
	struct api_person	 p;
	struct redis_ha		*ha;
	struct stack		*st;
	char			 want[64], got[64];
	long long		 offset;
	int			 i, status;

	signal(SIGPIPE, SIG_IGN);
	memset(&o, 0, sizeof(o));
	o.workers = 2;
	o.env = env;
	o.sentinel = 1;
	ck_assert_msg((st = stack_start(&o)) != NULL,
	    "it_sentinel: the stack did not start");
	ha = stack_redis_ha(st);
	old = redis_ha_master(ha);
	new = redis_ha_replica(ha);
	ck_assert_ptr_nonnull(old);
	ck_assert_ptr_nonnull(new);

	api_register(st, &p);
	ck_assert_int_eq(api_login(st, p.email, p.password, &p), 200);
	ck_assert_int_eq(api_me(st, p.access), 200);
	snprintf(want, sizeof(want), "127.0.0.1:%d", redis_server_port(old));
	json_field(st, "/health", "redis", "mode", got, sizeof(got));
	ck_assert_str_eq(got, "sentinel");
	json_field(st, "/health", "redis", "master", got, sizeof(got));
	ck_assert_str_eq(got, want);

	/* the login's session is on the replica before the crash */
	ck_assert_int_gt(offset = repl_field(old, "master_repl_offset:"), 0);
	for (i = 0; i < SYNC_TRIES &&
	    repl_field(new, "slave_repl_offset:") < offset; i++)
		test_sleep_ms(10);
	ck_assert_int_lt(i, SYNC_TRIES);

	ck_assert_int_eq(redis_server_kill(old), 0);
	ck_assert_int_eq(redis_ha_master_port(ha, redis_server_port(new),
	    FAILOVER_MS), redis_server_port(new));

	/*
	 * redis_required: 503 while the pool has no master, 401 if the
	 * session were lost, 200 once it reads it on the new master.
	 */
	for (i = 0, status = 503; i < FOLLOW_TRIES && status == 503; i++)
		if ((status = api_me(st, p.access)) == 503)
			test_sleep_ms(50);
	ck_assert_int_eq(status, 200);

	/* every worker gets there; /status names the new master */
	snprintf(want, sizeof(want), "127.0.0.1:%d", redis_server_port(new));
	for (i = 0; i < FOLLOW_TRIES; i++) {
		ck_assert_int_ne(api_me(st, p.access), 401);
		json_field(st, "/health", "redis", "master", got, sizeof(got));
		json_field(st, "/status", "redis", "master", got, sizeof(got));
		if (strcmp(got, want) == 0)
			break;
		test_sleep_ms(50);
	}
	ck_assert_str_eq(got, want);
	json_field(st, "/status", "redis", "mode", got, sizeof(got));
	ck_assert_str_eq(got, "sentinel");
	ck_assert_int_eq(api_me(st, p.access), 200);
	/* and what is written now lands on the new master */
	ck_assert_int_eq(api_login(st, p.email, p.password, NULL), 200);
	ck_assert_int_eq(api_logout(st, p.access), 200);
	ck_assert_int_eq(api_me(st, p.access), 401);
	stack_stop(st);
}
END_TEST

Suite *
suite(void)
{
	Suite	*s = suite_create("it_sentinel");
	TCase	*tc = tcase_create("failover");

	tcase_set_timeout(tc, 240);
	tcase_add_test(tc,
	    login_survives_a_master_crash_and_status_names_the_new_master);
	suite_add_tcase(s, tc);
	return s;
}
