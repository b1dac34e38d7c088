/*
 * rconn under Redis Sentinel (SPEC 5), against real processes: a master,
 * its replica and three redis-server --sentinel on free 127.0.0.1 ports.
 * A fake sentinel (tests/fake_redis.c) stands in only for what a real
 * one cannot be made to do on demand: name a replica as the master.
 */
#include <sys/stat.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "app/config.h"
#include "redis/rconn.h"
#include "redis/session_cache.h"
#include "fake_redis.h"
#include "redis_server.h"
#include "runner.h"

#define NAME		"mymaster"
#define READY_MS	30000	/* sentinels see the replica and each other */
#define FAILOVER_MS	60000	/* sentinels agree on the new master */
#define FOLLOW_TRIES	1200	/* x 50 ms: rconn finds the new master;
				   a demoted master still up is converted
				   by Sentinel within about 20 s */
#define SENTINEL_PW	"sentinel-pw-do-not-log"

static struct redis_ha	*ha;		/* the shared set ("discovery") */
static char		 sentinels[256];

static void
ha_up(void)
{
	signal(SIGPIPE, SIG_IGN);	/* PITFALLS: hiredis */
	ck_assert_ptr_nonnull(ha = redis_ha_start(NAME, 1000, NULL));
	ck_assert_int_eq(redis_ha_wait_ready(ha, READY_MS), 0);
	redis_ha_sentinel_list(ha, sentinels, sizeof(sentinels));
}

static void
ha_down(void)
{
	redis_ha_free(ha);
	ha = NULL;
}

/* A handle that finds the master name through the sentinels in list. */
static struct rconn *
sentinel_rconn(const char *list, const char *name, const char *password,
    struct rconn_config *cfg)
{
	const char	*why;

	memset(cfg, 0, sizeof(*cfg));
	/* the URL's host and port are not used under Sentinel */
	ck_assert_int_eq(rconn_url_parse("redis://127.0.0.1:1", &cfg->url,
	    &why), 0);
	ck_assert_int_eq(rconn_sentinels_parse(list, cfg, &why), 0);
	snprintf(cfg->master_name, sizeof(cfg->master_name), "%s", name);
	if (password != NULL)
		snprintf(cfg->sentinel_password,
		    sizeof(cfg->sentinel_password), "%s", password);
	cfg->connect_timeout_ms = 200;
	cfg->command_timeout_ms = 1000;
	cfg->backoff_min_ms = 20;
	cfg->backoff_max_ms = 100;
	return rconn_new(cfg);
}

/* 1 when SET key value through rc was answered +OK. */
static int
set_ok(struct rconn *rc, const char *key, const char *value)
{
	redisReply	*r;
	int		 ok;

	if ((r = rconn_command(rc, "SET %s %s", key, value)) == NULL)
		return 0;
	ok = r->type == REDIS_REPLY_STATUS;
	freeReplyObject(r);
	return ok;
}

/* The value of key on srv (read directly), into buf; "" when none. */
static void
server_get(const struct redis_server *srv, const char *key, char *buf,
    size_t len)
{
	redisContext	*c;
	redisReply	*r;

	buf[0] = '\0';
	ck_assert_ptr_nonnull(c = redis_server_client(srv));
	r = redisCommand(c, "GET %s", key);
	if (r != NULL && r->type == REDIS_REPLY_STRING)
		snprintf(buf, len, "%s", r->str);
	if (r != NULL)
		freeReplyObject(r);
	redisFree(c);
}

static void
addr_of(const struct redis_server *srv, char *buf, size_t len)
{
	snprintf(buf, len, "127.0.0.1:%d", redis_server_port(srv));
}

START_TEST(first_sentinel_down_the_next_one_names_the_master)
{
	struct rconn_config	 cfg;
	struct rconn_stats	 st;
	struct rconn		*rc;
	char			 list[300], want[64], got[64];

	/* the first listed sentinel is a port nobody listens on */
	snprintf(list, sizeof(list), "127.0.0.1:%d,%s", test_free_port(),
	    sentinels);
	rc = sentinel_rconn(list, NAME, NULL, &cfg);
	ck_assert(set_ok(rc, "discovered", "yes"));
	rconn_stats(rc, &st);
	addr_of(redis_ha_master(ha), want, sizeof(want));
	ck_assert_int_eq(st.sentinel, 1);
	ck_assert_str_eq(st.master, want);
	server_get(redis_ha_master(ha), "discovered", got, sizeof(got));
	ck_assert_str_eq(got, "yes");
	rconn_free(rc);
}
END_TEST

START_TEST(unknown_master_name_gives_no_connection_and_says_why)
{
	struct rconn_config	 cfg;
	struct rconn_stats	 st;
	struct rconn		*rc;

	rc = sentinel_rconn(sentinels, "nosuchmaster", NULL, &cfg);
	ck_assert_ptr_null(rconn_command(rc, "PING"));
	rconn_stats(rc, &st);
	ck_assert_int_eq(st.connected, 0);
	ck_assert_ptr_nonnull(strstr(st.last_error,
	    "does not know master nosuchmaster"));
	rconn_free(rc);
}
END_TEST

START_TEST(sentinel_naming_a_replica_is_passed_over)
{
	struct fake_conn_spec	 spec = { FAKE_RAW, NULL };
	struct fake_redis	*fake;
	struct rconn_config	 cfg;
	struct rconn_stats	 st;
	struct rconn		*rc;
	char			 reply[128], port[16], list[300], want[64];

	/* a sentinel whose answer is stale: it names the replica */
	snprintf(port, sizeof(port), "%d",
	    redis_server_port(redis_ha_replica(ha)));
	snprintf(reply, sizeof(reply), "*2\r\n$9\r\n127.0.0.1\r\n$%zu\r\n%s\r\n",
	    strlen(port), port);
	ck_assert_ptr_nonnull(fake = fake_redis_start(0, &spec, 1, reply));

	/* alone, it leads nowhere: ROLE says the server is a replica */
	snprintf(list, sizeof(list), "127.0.0.1:%d", fake_redis_port(fake));
	rc = sentinel_rconn(list, NAME, NULL, &cfg);
	ck_assert_ptr_null(rconn_command(rc, "PING"));
	rconn_stats(rc, &st);
	ck_assert_ptr_nonnull(strstr(st.last_error, "not a master"));
	rconn_free(rc);

	/* listed first, it is passed over for the next sentinel */
	snprintf(list, sizeof(list), "127.0.0.1:%d,%s", fake_redis_port(fake),
	    sentinels);
	rc = sentinel_rconn(list, NAME, NULL, &cfg);
	ck_assert(set_ok(rc, "past-the-replica", "yes"));
	rconn_stats(rc, &st);
	addr_of(redis_ha_master(ha), want, sizeof(want));
	ck_assert_str_eq(st.master, want);
	rconn_free(rc);
	fake_redis_stop(fake);
}
END_TEST

/*
 * Keeps writing until the handle is on the master at want and the write
 * went there (bounded).  A demoted master that is still up takes writes
 * until Sentinel converts it to a replica (which closes our connection
 * or answers -READONLY): those writes are lost, as the README says.
 */
static int
write_until_on(struct rconn *rc, const char *want, const char *key,
    const char *value)
{
	struct rconn_stats	 st;
	int			 i;

	for (i = 0; i < FOLLOW_TRIES; i++) {
		if (set_ok(rc, key, value)) {
			rconn_stats(rc, &st);
			if (strcmp(st.master, want) == 0)
				return 1;
		}
		test_sleep_ms(50);
	}
	return 0;
}

/* 1 when the cache answers for key without Redis (a few tries). */
static int
cache_hit(struct rconn *rc, const struct rconn_config *cfg, const char *key)
{
	redisReply	*r;
	int		 i;

	for (i = 0; i < 20; i++) {
		if (session_cache_live(rc, cfg, NULL, key, strlen(key),
		    time(NULL)))
			return 1;
		/* set-up done by the miss: read it so tracking covers it */
		if ((r = rconn_command(rc, "EXISTS %s", key)) != NULL) {
			if (r->type == REDIS_REPLY_INTEGER && r->integer == 1)
				session_cache_store(rc, key, strlen(key),
				    time(NULL) + 60);
			freeReplyObject(r);
		}
	}
	return 0;
}

START_TEST(forced_failover_is_followed_without_restart)
{
	struct session_cache_stats cs0, cs1;
	struct redis_server	*new;
	struct rconn_config	 cfg;
	struct rconn_stats	 st;
	struct redis_ha		*h;
	struct rconn		*rc;
	redisContext		*c;
	redisReply		*r;
	char			 list[256], want[64], got[64];
	int			 i, hit;

	ck_assert_ptr_nonnull(h = redis_ha_start(NAME, 1000, NULL));
	ck_assert_int_eq(redis_ha_wait_ready(h, READY_MS), 0);
	redis_ha_sentinel_list(h, list, sizeof(list));
	new = redis_ha_replica(h);
	rc = sentinel_rconn(list, NAME, NULL, &cfg);
	ck_assert(set_ok(rc, "before", "1"));
	/* the client cache holds a live key, on the old master */
	ck_assert(set_ok(rc, "sess", "live"));
	ck_assert(cache_hit(rc, &cfg, "sess"));
	session_cache_stats(&cs0);
	/* replicated before the failover, so the new master has it */
	r = rconn_command(rc, "WAIT 1 5000");
	ck_assert(r != NULL && r->type == REDIS_REPLY_INTEGER &&
	    r->integer == 1);
	freeReplyObject(r);

	ck_assert_ptr_nonnull(c = redis_server_client(h->sentinels[1]));
	r = redisCommand(c, "SENTINEL failover %s", NAME);
	ck_assert(r != NULL && r->type == REDIS_REPLY_STATUS);
	freeReplyObject(r);
	redisFree(c);
	ck_assert_int_eq(redis_ha_master_port(h, redis_server_port(new),
	    FAILOVER_MS), redis_server_port(new));

	/* the same handle, no restart: writes land on the new master */
	addr_of(new, want, sizeof(want));
	ck_assert(write_until_on(rc, want, "after", "2"));
	rconn_stats(rc, &st);
	ck_assert_uint_ge(st.master_changes, 1);
	server_get(new, "after", got, sizeof(got));
	ck_assert_str_eq(got, "2");
	server_get(new, "before", got, sizeof(got));
	ck_assert_str_eq(got, "1");

	/*
	 * The cache was emptied with the old master, and works against
	 * the new one: an entry made now is invalidated by a DEL there.
	 */
	ck_assert(cache_hit(rc, &cfg, "sess"));
	session_cache_stats(&cs1);
	ck_assert_uint_gt(cs1.resets, cs0.resets);
	ck_assert_ptr_nonnull(c = redis_server_client(new));
	r = redisCommand(c, "DEL sess");
	ck_assert(r != NULL && r->type == REDIS_REPLY_INTEGER &&
	    r->integer == 1);
	freeReplyObject(r);
	redisFree(c);
	for (i = 0, hit = 1; i < 100 && hit; i++) {
		hit = session_cache_live(rc, &cfg, NULL, "sess", 4,
		    time(NULL));
		if (hit)
			test_sleep_ms(10);
	}
	ck_assert_int_eq(hit, 0);
	rconn_free(rc);
	redis_ha_free(h);
}
END_TEST

START_TEST(killed_master_is_replaced_and_followed)
{
	struct redis_server	*old, *new;
	struct rconn_config	 cfg;
	struct redis_ha		*h;
	struct rconn		*rc;
	redisReply		*r;
	char			 list[256], want[64], got[64];

	ck_assert_ptr_nonnull(h = redis_ha_start(NAME, 1000, NULL));
	ck_assert_int_eq(redis_ha_wait_ready(h, READY_MS), 0);
	redis_ha_sentinel_list(h, list, sizeof(list));
	old = redis_ha_master(h);
	new = redis_ha_replica(h);
	rc = sentinel_rconn(list, NAME, NULL, &cfg);
	ck_assert(set_ok(rc, "before", "1"));
	r = rconn_command(rc, "WAIT 1 5000");
	ck_assert(r != NULL && r->type == REDIS_REPLY_INTEGER &&
	    r->integer == 1);
	freeReplyObject(r);

	redis_server_kill(old);		/* a crash: the sentinels elect */
	ck_assert_int_eq(redis_ha_master_port(h, redis_server_port(new),
	    FAILOVER_MS), redis_server_port(new));
	addr_of(new, want, sizeof(want));
	ck_assert(write_until_on(rc, want, "after", "2"));
	server_get(new, "after", got, sizeof(got));
	ck_assert_str_eq(got, "2");
	server_get(new, "before", got, sizeof(got));
	ck_assert_str_eq(got, "1");
	rconn_free(rc);
	redis_ha_free(h);
}
END_TEST

/* A master and one sentinel that wants a password ("password"). */
static struct redis_server	*pw_master, *pw_sentinel;
static char			 pw_dirs[2][64];

static void
pw_up(void)
{
	signal(SIGPIPE, SIG_IGN);
	ck_assert_int_eq(test_tmpdir(pw_dirs[0], sizeof(pw_dirs[0])), 0);
	ck_assert_int_eq(test_tmpdir(pw_dirs[1], sizeof(pw_dirs[1])), 0);
	ck_assert_ptr_nonnull(pw_master = redis_server_start(pw_dirs[0]));
	ck_assert_ptr_nonnull(pw_sentinel = redis_sentinel_start(pw_dirs[1],
	    NAME, redis_server_port(pw_master), 1, 1000, SENTINEL_PW));
}

static void
pw_down(void)
{
	redis_server_free(pw_sentinel);
	redis_server_free(pw_master);
	test_tmpdir_remove(pw_dirs[0]);
	test_tmpdir_remove(pw_dirs[1]);
}

START_TEST(sentinel_password_is_sent_and_never_shown)
{
	struct rconn_config	 cfg;
	struct rconn_stats	 st;
	struct rconn		*rc;
	char			 list[64], want[64];

	snprintf(list, sizeof(list), "127.0.0.1:%d",
	    redis_server_port(pw_sentinel));
	rc = sentinel_rconn(list, NAME, SENTINEL_PW, &cfg);
	ck_assert(set_ok(rc, "pw", "ok"));
	rconn_stats(rc, &st);
	addr_of(pw_master, want, sizeof(want));
	ck_assert_str_eq(st.master, want);
	rconn_free(rc);

	rc = sentinel_rconn(list, NAME, NULL, &cfg);	/* none given */
	ck_assert_ptr_null(rconn_command(rc, "PING"));
	rconn_stats(rc, &st);
	ck_assert_ptr_nonnull(strstr(st.last_error, "NOAUTH"));
	rconn_free(rc);

	rc = sentinel_rconn(list, NAME, "wrong-" SENTINEL_PW, &cfg);
	ck_assert_ptr_null(rconn_command(rc, "PING"));
	rconn_stats(rc, &st);
	ck_assert_ptr_nonnull(strstr(st.last_error, "AUTH refused"));
	ck_assert_ptr_null(strstr(st.last_error, SENTINEL_PW));
	rconn_free(rc);
}
END_TEST

START_TEST(sentinel_keys_parse_and_the_password_file_is_read)
{
	struct config	 c;
	char		 err[CONFIG_ERR_MAX], dir[64], path[128], file[160];
	FILE		*f;

	ck_assert_int_eq(test_tmpdir(dir, sizeof(dir)), 0);
	snprintf(file, sizeof(file), "%s/sentinel-pw", dir);
	ck_assert_ptr_nonnull(f = fopen(file, "w"));
	fputs(SENTINEL_PW "\n", f);
	fclose(f);
	chmod(file, 0600);
	snprintf(path, sizeof(path), "%s/mockpie.conf", dir);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fprintf(f, "redis_sentinels = 10.0.0.1:26380, [::1]:26381 ,"
	    "sentinel.example\nredis_master_name = cache\n"
	    "redis_sentinel_password_file = sentinel-pw\n");
	fclose(f);
	setenv("MOCKPIE_JWT_SECRET", "0123456789abcdef0123456789abcdef-t", 1);
	ck_assert_msg(config_load(&c, path, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(c.redis.nsentinels, 3);
	ck_assert_str_eq(c.redis.sentinels[0].host, "10.0.0.1");
	ck_assert_int_eq(c.redis.sentinels[0].port, 26380);
	ck_assert_str_eq(c.redis.sentinels[1].host, "::1");
	ck_assert_int_eq(c.redis.sentinels[1].port, 26381);
	ck_assert_str_eq(c.redis.sentinels[2].host, "sentinel.example");
	ck_assert_int_eq(c.redis.sentinels[2].port, 26379);
	ck_assert_str_eq(c.redis.master_name, "cache");
	ck_assert_str_eq(c.redis.sentinel_password, SENTINEL_PW);
	config_fini(&c);

	/* both password sources, or a bad list: refused, key named */
	setenv("MOCKPIE_REDIS_SENTINEL_PASSWORD", "other", 1);
	ck_assert_int_eq(config_load(&c, path, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "redis_sentinel_password"));
	ck_assert_ptr_null(strstr(err, "other"));
	config_fini(&c);
	unsetenv("MOCKPIE_REDIS_SENTINEL_PASSWORD");
	setenv("MOCKPIE_REDIS_SENTINELS", "127.0.0.1:99999", 1);
	ck_assert_int_eq(config_load(&c, path, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "redis_sentinels"));
	config_fini(&c);
	unsetenv("MOCKPIE_REDIS_SENTINELS");
	unsetenv("MOCKPIE_JWT_SECRET");
	test_tmpdir_remove(dir);
}
END_TEST

Suite *
suite(void)
{
	Suite	*s = suite_create("sentinel");
	TCase	*tc;

	tc = tcase_create("config");
	tcase_add_test(tc, sentinel_keys_parse_and_the_password_file_is_read);
	suite_add_tcase(s, tc);

	tc = tcase_create("discovery");
	tcase_add_unchecked_fixture(tc, ha_up, ha_down);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, first_sentinel_down_the_next_one_names_the_master);
	tcase_add_test(tc, unknown_master_name_gives_no_connection_and_says_why);
	tcase_add_test(tc, sentinel_naming_a_replica_is_passed_over);
	suite_add_tcase(s, tc);

	tc = tcase_create("password");
	tcase_add_unchecked_fixture(tc, pw_up, pw_down);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, sentinel_password_is_sent_and_never_shown);
	suite_add_tcase(s, tc);

	tc = tcase_create("failover");
	tcase_set_timeout(tc, 240);
	tcase_add_test(tc, forced_failover_is_followed_without_restart);
	tcase_add_test(tc, killed_master_is_replaced_and_followed);
	suite_add_tcase(s, tc);
	return s;
}
