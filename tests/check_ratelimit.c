/*
 * Failed-login rate limit against a real redis-server (SPEC 2, 429): per
 * email and per address, a fixed window, clearing on success, and no
 * limit (but no crash) while Redis is down.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "log.h"
#include "ratelimit.h"
#include "rconn.h"
#include "redis_server.h"
#include "runner.h"

#define MAX_FAILURES	10
#define WINDOW		900

static const struct ratelimit_config cfg = { "test:", MAX_FAILURES, WINDOW };
static const struct ratelimit_config short_cfg = { "test:", MAX_FAILURES, 1 };

static struct redis_server	*srv;
static char			 srv_dir[64];
static struct rconn		*rc;
static redisContext		*adm;

static void
sleep_ms(long ms)
{
	struct timespec	 ts;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static struct rconn *
conn_new(const char *url)
{
	struct rconn_config	 rcfg;
	const char		*why;

	memset(&rcfg, 0, sizeof(rcfg));
	ck_assert_int_eq(rconn_url_parse(url, &rcfg.url, &why), 0);
	rcfg.connect_timeout_ms = 200;
	rcfg.command_timeout_ms = 1000;
	rcfg.backoff_min_ms = 20;
	rcfg.backoff_max_ms = 100;
	return rconn_new(&rcfg);
}

static redisReply *
admin(const char *fmt, ...)
{
	va_list		 ap;
	redisReply	*r;

	va_start(ap, fmt);
	r = redisvCommand(adm, fmt, ap);
	va_end(ap);
	ck_assert_msg(r != NULL, "admin: %s", adm->errstr);
	return r;
}

/* The single key matching pattern, copied into buf. */
static void
only_key(const char *pattern, char *buf, size_t len)
{
	redisReply	*r = admin("KEYS %s", pattern);

	ck_assert_int_eq(r->type, REDIS_REPLY_ARRAY);
	ck_assert_int_eq(r->elements, 1);
	ck_assert_int_lt(r->element[0]->len, len);
	snprintf(buf, len, "%s", r->element[0]->str);
	freeReplyObject(r);
}

static long long
key_ttl(const char *key)
{
	redisReply	*r = admin("TTL %s", key);
	long long	 n;

	ck_assert_int_eq(r->type, REDIS_REPLY_INTEGER);
	n = r->integer;
	freeReplyObject(r);
	return n;
}

static long long
counter(const char *pattern)
{
	char		 key[128];
	redisReply	*r;
	long long	 n;

	only_key(pattern, key, sizeof(key));
	r = admin("GET %s", key);
	ck_assert_int_eq(r->type, REDIS_REPLY_STRING);
	n = strtoll(r->str, NULL, 10);
	freeReplyObject(r);
	return n;
}

static void
fail_n(const struct ratelimit_config *c, int n, const char *email,
    const char *addr)
{
	int	 i;

	for (i = 0; i < n; i++)
		ratelimit_fail(rc, c, email, addr);
}

/* n failures for email, each from a different address. */
static void
fail_email_n(int n, const char *email)
{
	char	 addr[32];
	int	 i;

	for (i = 0; i < n; i++) {
		snprintf(addr, sizeof(addr), "198.51.100.%d", i + 1);
		ratelimit_fail(rc, &cfg, email, addr);
	}
}

static enum ratelimit_status
check(const struct ratelimit_config *c, const char *email, const char *addr,
    long *retry)
{
	return ratelimit_check(rc, c, email, addr, retry);
}

static void
server_start(void)
{
	ck_assert_int_eq(test_tmpdir(srv_dir, sizeof(srv_dir)), 0);
	ck_assert_ptr_nonnull(srv = redis_server_start(srv_dir));
}

static void
server_stop(void)
{
	redis_server_free(srv);
	srv = NULL;
	test_tmpdir_remove(srv_dir);
}

static void
setup(void)
{
	char		 url[64];
	redisReply	*r;

	ck_assert_ptr_nonnull(adm = redis_server_client(srv));
	r = admin("FLUSHALL");
	freeReplyObject(r);
	redis_server_url(srv, url, sizeof(url));
	rc = conn_new(url);
}

static void
teardown(void)
{
	rconn_free(rc);
	redisFree(adm);
}

START_TEST(ten_failures_block_the_email_even_from_new_addresses)
{
	long	 retry = -1;

	fail_email_n(MAX_FAILURES, "alice@example.com");
	ck_assert_int_eq(check(&cfg, "alice@example.com", "203.0.113.7",
	    &retry), RATELIMIT_BLOCKED);
	ck_assert_int_gt(retry, WINDOW - 5);
	ck_assert_int_le(retry, WINDOW);
	ck_assert_int_eq(check(&cfg, "bob@example.com", "203.0.113.7",
	    &retry), RATELIMIT_OK);
	ck_assert_int_eq(retry, 0);
}
END_TEST

START_TEST(nine_failures_still_allow_a_login)
{
	long	 retry = -1;

	fail_n(&cfg, MAX_FAILURES - 1, "alice@example.com", "203.0.113.7");
	ck_assert_int_eq(check(&cfg, "alice@example.com", "203.0.113.7",
	    &retry), RATELIMIT_OK);
	ck_assert_int_eq(retry, 0);
	ratelimit_fail(rc, &cfg, "alice@example.com", "203.0.113.7");
	ck_assert_int_eq(check(&cfg, "alice@example.com", "203.0.113.7",
	    &retry), RATELIMIT_BLOCKED);
}
END_TEST

START_TEST(successful_login_clears_the_email_count)
{
	long	 retry;

	fail_email_n(MAX_FAILURES - 1, "alice@example.com");
	ratelimit_clear(rc, &cfg, "alice@example.com");
	fail_email_n(MAX_FAILURES - 1, "alice@example.com");
	ck_assert_int_eq(check(&cfg, "alice@example.com", "203.0.113.7",
	    &retry), RATELIMIT_OK);
	fail_email_n(1, "alice@example.com");
	ck_assert_int_eq(check(&cfg, "alice@example.com", "203.0.113.7",
	    &retry), RATELIMIT_BLOCKED);
	ratelimit_clear(rc, &cfg, "Alice@Example.com");
	ck_assert_int_eq(check(&cfg, "alice@example.com", "203.0.113.7",
	    &retry), RATELIMIT_OK);
}
END_TEST

START_TEST(address_block_holds_for_every_email_and_survives_a_clear)
{
	char	 email[32];
	long	 retry;
	int	 i;

	for (i = 0; i < MAX_FAILURES; i++) {
		snprintf(email, sizeof(email), "user%d@example.com", i);
		ratelimit_fail(rc, &cfg, email, "203.0.113.7");
	}
	ck_assert_int_eq(check(&cfg, "new@example.com", "203.0.113.7",
	    &retry), RATELIMIT_BLOCKED);
	ck_assert_int_gt(retry, 0);
	ratelimit_clear(rc, &cfg, "new@example.com");
	ratelimit_clear(rc, &cfg, "user0@example.com");
	ck_assert_int_eq(check(&cfg, "user0@example.com", "203.0.113.7",
	    &retry), RATELIMIT_BLOCKED);
	ck_assert_int_eq(check(&cfg, "user0@example.com", "203.0.113.8",
	    &retry), RATELIMIT_OK);
}
END_TEST

START_TEST(email_case_does_not_split_the_count)
{
	long	 retry;
	char	 addr[32];
	int	 i;

	for (i = 0; i < MAX_FAILURES; i++) {
		snprintf(addr, sizeof(addr), "2001:db8::%d", i + 1);
		ratelimit_fail(rc, &cfg, i % 2 ? "Alice@Example.COM" :
		    "alice@example.com", addr);
	}
	ck_assert_int_eq(check(&cfg, "ALICE@EXAMPLE.COM", "2001:db8::99",
	    &retry), RATELIMIT_BLOCKED);
	/* an IPv6 address in either case is one client */
	fail_n(&cfg, MAX_FAILURES, "x@example.com", "2001:DB8::AB");
	ck_assert_int_eq(check(&cfg, "y@example.com", "2001:db8::ab",
	    &retry), RATELIMIT_BLOCKED);
}
END_TEST

START_TEST(redis_keys_hold_neither_email_nor_address)
{
	unsigned char	 h[16];
	char		 hex[33], key[128];
	redisReply	*r;
	size_t		 i;

	ratelimit_fail(rc, &cfg, "Alice@Example.com", "203.0.113.7");
	r = admin("KEYS *");
	ck_assert_int_eq(r->elements, 2);
	for (i = 0; i < r->elements; i++) {
		ck_assert_int_eq(r->element[i]->len, strlen("test:fl:e:") + 32);
		ck_assert_ptr_null(strstr(r->element[i]->str, "lice"));
		ck_assert_ptr_null(strstr(r->element[i]->str, "203.0"));
		ck_assert_int_gt(key_ttl(r->element[i]->str), 0);
		ck_assert_int_le(key_ttl(r->element[i]->str), WINDOW);
	}
	freeReplyObject(r);
	/* the key is a BLAKE2b-128 of the lower-cased email */
	crypto_generichash(h, sizeof(h), (const unsigned char *)
	    "alice@example.com", 17, NULL, 0);
	sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
	snprintf(key, sizeof(key), "test:fl:e:%s", hex);
	r = admin("GET %s", key);
	ck_assert_int_eq(r->type, REDIS_REPLY_STRING);
	ck_assert_str_eq(r->str, "1");
	freeReplyObject(r);
}
END_TEST

START_TEST(refused_attempts_do_not_count)
{
	long	 retry;
	int	 i;

	fail_n(&cfg, MAX_FAILURES, "alice@example.com", "203.0.113.7");
	for (i = 0; i < 5; i++)
		ck_assert_int_eq(check(&cfg, "alice@example.com",
		    "203.0.113.7", &retry), RATELIMIT_BLOCKED);
	ck_assert_int_eq(counter("test:fl:e:*"), MAX_FAILURES);
	ck_assert_int_eq(counter("test:fl:a:*"), MAX_FAILURES);
}
END_TEST

START_TEST(retry_after_waits_for_the_later_window)
{
	char		 ekey[128], akey[128];
	redisReply	*r;
	long		 retry;

	fail_n(&cfg, MAX_FAILURES, "alice@example.com", "203.0.113.7");
	only_key("test:fl:e:*", ekey, sizeof(ekey));
	only_key("test:fl:a:*", akey, sizeof(akey));
	r = admin("PEXPIRE %s %s", ekey, "5000");
	freeReplyObject(r);
	r = admin("PEXPIRE %s %s", akey, "299300");	/* rounds up */
	freeReplyObject(r);
	ck_assert_int_eq(check(&cfg, "alice@example.com", "203.0.113.7",
	    &retry), RATELIMIT_BLOCKED);
	ck_assert_int_eq(retry, 300);
	ck_assert_int_eq(check(&cfg, "alice@example.com", "203.0.113.8",
	    &retry), RATELIMIT_BLOCKED);
	ck_assert_int_le(retry, 5);
	ck_assert_int_ge(retry, 4);
}
END_TEST

START_TEST(block_ends_when_the_window_has_passed)
{
	long	 retry;

	fail_n(&short_cfg, MAX_FAILURES, "alice@example.com", "203.0.113.7");
	ck_assert_int_eq(check(&short_cfg, "alice@example.com",
	    "203.0.113.7", &retry), RATELIMIT_BLOCKED);
	ck_assert_int_eq(retry, 1);
	sleep_ms(1100);
	ck_assert_int_eq(check(&short_cfg, "alice@example.com",
	    "203.0.113.7", &retry), RATELIMIT_OK);
}
END_TEST

START_TEST(window_is_fixed_from_the_first_failure)
{
	long	 retry;

	fail_n(&short_cfg, 1, "alice@example.com", "203.0.113.7");
	sleep_ms(500);
	fail_n(&short_cfg, MAX_FAILURES - 1, "alice@example.com",
	    "203.0.113.7");
	ck_assert_int_eq(check(&short_cfg, "alice@example.com",
	    "203.0.113.7", &retry), RATELIMIT_BLOCKED);
	sleep_ms(600);		/* 1.1 s after the first, 0.6 after the last */
	ck_assert_int_eq(check(&short_cfg, "alice@example.com",
	    "203.0.113.7", &retry), RATELIMIT_OK);
}
END_TEST

START_TEST(garbage_counters_are_unavailable_not_ok)
{
	char		 key[128];
	redisReply	*r;
	long		 retry;

	ratelimit_fail(rc, &cfg, "alice@example.com", NULL);
	only_key("test:fl:e:*", key, sizeof(key));
	r = admin("SET %s %s", key, "lots");
	freeReplyObject(r);
	ck_assert_int_eq(check(&cfg, "alice@example.com", "203.0.113.7",
	    &retry), RATELIMIT_UNAVAILABLE);
	r = admin("DEL %s", key);
	freeReplyObject(r);
	r = admin("HSET %s %s %s", key, "a", "b");
	freeReplyObject(r);
	ck_assert_int_eq(check(&cfg, "alice@example.com", "203.0.113.7",
	    &retry), RATELIMIT_UNAVAILABLE);
	ratelimit_fail(rc, &cfg, "alice@example.com", "203.0.113.7");
	/* the connection is still in step: the next answer is right */
	ck_assert_int_eq(check(&cfg, "bob@example.com", "203.0.113.7",
	    &retry), RATELIMIT_OK);
	ck_assert_int_eq(counter("test:fl:a:*"), 1);
}
END_TEST

START_TEST(redis_down_means_no_limit_and_no_crash)
{
	struct rconn	*dead;
	char		 url[64];
	long		 retry = -1;

	ck_assert_int_eq(ratelimit_check(NULL, &cfg, "a@example.com",
	    "203.0.113.7", &retry), RATELIMIT_UNAVAILABLE);
	ratelimit_fail(NULL, &cfg, "a@example.com", "203.0.113.7");
	ratelimit_clear(NULL, &cfg, "a@example.com");
	snprintf(url, sizeof(url), "redis://127.0.0.1:%d", test_free_port());
	dead = conn_new(url);
	ck_assert_int_eq(ratelimit_check(dead, &cfg, "a@example.com",
	    "203.0.113.7", &retry), RATELIMIT_UNAVAILABLE);
	ck_assert_int_eq(retry, 0);
	ratelimit_fail(dead, &cfg, "a@example.com", "203.0.113.7");
	ratelimit_clear(dead, &cfg, "a@example.com");
	rconn_free(dead);
}
END_TEST

Suite *
suite(void)
{
	Suite	*s = suite_create("ratelimit");
	TCase	*tc = tcase_create("redis");

	if (sodium_init() < 0)
		abort();
	log_set_level(LOG_LEVEL_ERROR);		/* failures are expected */
	tcase_add_unchecked_fixture(tc, server_start, server_stop);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc,
	    ten_failures_block_the_email_even_from_new_addresses);
	tcase_add_test(tc, nine_failures_still_allow_a_login);
	tcase_add_test(tc, successful_login_clears_the_email_count);
	tcase_add_test(tc,
	    address_block_holds_for_every_email_and_survives_a_clear);
	tcase_add_test(tc, email_case_does_not_split_the_count);
	tcase_add_test(tc, redis_keys_hold_neither_email_nor_address);
	tcase_add_test(tc, refused_attempts_do_not_count);
	tcase_add_test(tc, retry_after_waits_for_the_later_window);
	tcase_add_test(tc, block_ends_when_the_window_has_passed);
	tcase_add_test(tc, window_is_fixed_from_the_first_failure);
	tcase_add_test(tc, garbage_counters_are_unavailable_not_ok);
	tcase_add_test(tc, redis_down_means_no_limit_and_no_crash);
	suite_add_tcase(s, tc);
	return s;
}
