/*
 * Failed-login rate limit against a real redis-server (SPEC 2, 429): per
 * email and per address, a fixed window, clearing on success, exactly
 * the limit under parallel attempts, and no limit (but no crash) while
 * Redis is down.
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "lib/log.h"
#include "auth/ratelimit.h"
#include "redis/rconn.h"
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

static enum ratelimit_status
reserve(const struct ratelimit_config *c, const char *email,
    const char *addr, long *retry)
{
	return ratelimit_reserve(rc, c, email, addr, retry);
}

/* One failed login: a reservation that is not given back. */
static void
failed_login(const struct ratelimit_config *c, const char *email,
    const char *addr)
{
	long	 retry = -1;

	ck_assert_int_eq(reserve(c, email, addr, &retry), RATELIMIT_OK);
	ck_assert_int_eq(retry, 0);
}

static void
fail_n(const struct ratelimit_config *c, int n, const char *email,
    const char *addr)
{
	int	 i;

	for (i = 0; i < n; i++)
		failed_login(c, email, addr);
}

/* n failures for email, each from a different address. */
static void
fail_email_n(int n, const char *email)
{
	char	 addr[32];
	int	 i;

	for (i = 0; i < n; i++) {
		snprintf(addr, sizeof(addr), "198.51.100.%d", i + 1);
		failed_login(&cfg, email, addr);
	}
}

/* A successful login: reserved, then given back. */
static void
succeed(const char *email, const char *addr)
{
	long	 retry;

	ck_assert_int_eq(reserve(&cfg, email, addr, &retry), RATELIMIT_OK);
	ratelimit_succeeded(rc, &cfg, email, addr);
}

static long long
key_count(const char *pattern)
{
	redisReply	*r = admin("KEYS %s", pattern);
	long long	 n;

	ck_assert_int_eq(r->type, REDIS_REPLY_ARRAY);
	n = (long long)r->elements;
	freeReplyObject(r);
	return n;
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
	ck_assert_ptr_nonnull(rc = test_rconn_new(url));
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
	ck_assert_int_eq(reserve(&cfg, "alice@example.com", "203.0.113.7",
	    &retry), RATELIMIT_BLOCKED);
	ck_assert_int_gt(retry, WINDOW - 5);
	ck_assert_int_le(retry, WINDOW);
	ck_assert_int_eq(reserve(&cfg, "bob@example.com", "203.0.113.7",
	    &retry), RATELIMIT_OK);
	ck_assert_int_eq(retry, 0);
}
END_TEST

START_TEST(the_tenth_attempt_is_let_in_and_the_eleventh_is_not)
{
	long	 retry = -1;

	fail_n(&cfg, MAX_FAILURES - 1, "alice@example.com", "203.0.113.7");
	ck_assert_int_eq(reserve(&cfg, "alice@example.com", "203.0.113.7",
	    &retry), RATELIMIT_OK);
	ck_assert_int_eq(retry, 0);
	ck_assert_int_eq(reserve(&cfg, "alice@example.com", "203.0.113.7",
	    &retry), RATELIMIT_BLOCKED);
	ck_assert_int_gt(retry, 0);
}
END_TEST

START_TEST(successful_login_clears_the_email_count)
{
	long	 retry;

	fail_email_n(MAX_FAILURES - 1, "alice@example.com");
	succeed("Alice@Example.COM", "203.0.113.7");
	ck_assert_int_eq(key_count("test:fl:e:*"), 0);
	fail_email_n(MAX_FAILURES - 1, "alice@example.com");
	ck_assert_int_eq(reserve(&cfg, "alice@example.com", "203.0.113.8",
	    &retry), RATELIMIT_OK);
	ck_assert_int_eq(reserve(&cfg, "alice@example.com", "203.0.113.9",
	    &retry), RATELIMIT_BLOCKED);
}
END_TEST

START_TEST(address_block_holds_for_every_email_and_survives_a_success)
{
	char	 email[32];
	long	 retry;
	int	 i;

	for (i = 0; i < MAX_FAILURES - 1; i++) {
		snprintf(email, sizeof(email), "user%d@example.com", i);
		failed_login(&cfg, email, "203.0.113.7");
	}
	/* a success from the address does not wipe its failures */
	succeed("new@example.com", "203.0.113.7");
	ck_assert_int_eq(counter("test:fl:a:*"), MAX_FAILURES - 1);
	failed_login(&cfg, "user9@example.com", "203.0.113.7");
	ck_assert_int_eq(reserve(&cfg, "new@example.com", "203.0.113.7",
	    &retry), RATELIMIT_BLOCKED);
	ck_assert_int_gt(retry, 0);
	succeed("user0@example.com", "203.0.113.8");
	ck_assert_int_eq(reserve(&cfg, "user0@example.com", "203.0.113.7",
	    &retry), RATELIMIT_BLOCKED);
}
END_TEST

/* Issue 13.5: the address as counted. */
START_TEST(an_ipv6_client_is_counted_by_its_64)
{
	static const struct {
		const char	*addr, *counted;
	} cases[] = {
		{ "2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64" },
		{ "2001:DB8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64" },
		{ "2001:db8::1", "2001:db8::/64" },
		{ "2001:db8:0:0:1::1", "2001:db8::/64" },
		{ "::1", "::/64" },
		{ "fe80::1", "fe80::/64" },
		{ "::ffff:192.0.2.7", "192.0.2.7" },
		{ "::FFFF:c000:0207", "192.0.2.7" },
		{ "192.0.2.7", "192.0.2.7" },
		{ "unix:", "unix:" },
		{ "not an address", "not an address" },
		{ "2001:db8::1%eth0", "2001:db8::1%eth0" },
	};
	char	 buf[RATELIMIT_CLIENT_MAX];
	size_t	 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ck_assert_str_eq(ratelimit_client(buf, cases[i].addr),
		    cases[i].counted);
}
END_TEST

START_TEST(one_ipv6_64_shares_one_login_counter)
{
	char	 email[32], addr[64];
	long	 retry;
	int	 i;

	/* ten hosts of one /64, each failing once for its own email */
	for (i = 0; i < MAX_FAILURES; i++) {
		snprintf(email, sizeof(email), "user%d@example.com", i);
		snprintf(addr, sizeof(addr), "2001:db8:a:b:%x::%x", i, i + 1);
		failed_login(&cfg, email, addr);
	}
	ck_assert_int_eq(key_count("test:fl:a:*"), 1);
	ck_assert_int_eq(counter("test:fl:a:*"), MAX_FAILURES);
	ck_assert_int_eq(reserve(&cfg, "new@example.com",
	    "2001:db8:a:b:dead:beef:0:1", &retry), RATELIMIT_BLOCKED);
	ck_assert_int_gt(retry, 0);
	/* the next /64 and IPv4 are other clients */
	ck_assert_int_eq(reserve(&cfg, "new@example.com", "2001:db8:a:c::1",
	    &retry), RATELIMIT_OK);
	ck_assert_int_eq(reserve(&cfg, "new2@example.com", "192.0.2.7",
	    &retry), RATELIMIT_OK);
	/* a mapped IPv4 address is that IPv4 client */
	fail_n(&cfg, MAX_FAILURES, "x@example.com", "::ffff:192.0.2.9");
	ck_assert_int_eq(reserve(&cfg, "y@example.com", "192.0.2.9", &retry),
	    RATELIMIT_BLOCKED);
}
END_TEST

START_TEST(email_case_does_not_split_the_count)
{
	long	 retry;
	char	 addr[32];
	int	 i;

	for (i = 0; i < MAX_FAILURES; i++) {
		/* each from its own /64, so only the email adds up */
		snprintf(addr, sizeof(addr), "2001:db8:%d::1", i + 1);
		failed_login(&cfg, i % 2 ? "Alice@Example.COM" :
		    "alice@example.com", addr);
	}
	ck_assert_int_eq(reserve(&cfg, "ALICE@EXAMPLE.COM", "2001:db8:99::1",
	    &retry), RATELIMIT_BLOCKED);
	/* an IPv6 address in either case is one client */
	fail_n(&cfg, MAX_FAILURES, "x@example.com", "2001:DB8:FF::AB");
	ck_assert_int_eq(reserve(&cfg, "y@example.com", "2001:db8:ff::ab",
	    &retry), RATELIMIT_BLOCKED);
}
END_TEST

START_TEST(redis_keys_hold_neither_email_nor_address)
{
	unsigned char	 h[16];
	char		 hex[33], key[128];
	redisReply	*r;
	size_t		 i;

	failed_login(&cfg, "Alice@Example.com", "203.0.113.7");
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
		ck_assert_int_eq(reserve(&cfg, "alice@example.com",
		    "203.0.113.7", &retry), RATELIMIT_BLOCKED);
	ck_assert_int_eq(counter("test:fl:e:*"), MAX_FAILURES);
	ck_assert_int_eq(counter("test:fl:a:*"), MAX_FAILURES);
}
END_TEST

START_TEST(an_attempt_refused_for_one_counter_does_not_count_for_the_other)
{
	char	 email[32];
	long	 retry;
	int	 i;

	fail_email_n(MAX_FAILURES, "alice@example.com");
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(reserve(&cfg, "alice@example.com",
		    "203.0.113.7", &retry), RATELIMIT_BLOCKED);
	/* 198.51.100.1 to .10 only: 203.0.113.7 was given back */
	ck_assert_int_eq(key_count("test:fl:a:*"), MAX_FAILURES);
	for (i = 0; i < MAX_FAILURES; i++) {
		snprintf(email, sizeof(email), "user%d@example.com", i);
		failed_login(&cfg, email, "192.0.2.9");
	}
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(reserve(&cfg, "carol@example.com",
		    "192.0.2.9", &retry), RATELIMIT_BLOCKED);
	/* alice and user0 to user9: carol was given back */
	ck_assert_int_eq(key_count("test:fl:e:*"), MAX_FAILURES + 1);
	/* and she is not held back by it */
	fail_n(&cfg, MAX_FAILURES, "carol@example.com", "192.0.2.10");
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
	ck_assert_int_eq(reserve(&cfg, "alice@example.com", "203.0.113.7",
	    &retry), RATELIMIT_BLOCKED);
	ck_assert_int_eq(retry, 300);
	ck_assert_int_eq(reserve(&cfg, "alice@example.com", "203.0.113.8",
	    &retry), RATELIMIT_BLOCKED);
	ck_assert_int_le(retry, 5);
	ck_assert_int_ge(retry, 4);
	ck_assert_int_eq(key_count("test:fl:a:*"), 1);
}
END_TEST

START_TEST(a_counter_without_a_ttl_still_ends)
{
	char		 key[128];
	redisReply	*r;
	long		 retry;

	fail_n(&short_cfg, MAX_FAILURES, "alice@example.com", NULL);
	only_key("test:fl:e:*", key, sizeof(key));
	r = admin("PERSIST %s", key);
	freeReplyObject(r);
	ck_assert_int_eq(reserve(&short_cfg, "alice@example.com", NULL,
	    &retry), RATELIMIT_BLOCKED);
	ck_assert_int_eq(retry, 1);
	ck_assert_int_gt(key_ttl(key), 0);
}
END_TEST

START_TEST(block_ends_when_the_window_has_passed)
{
	long	 retry;

	fail_n(&short_cfg, MAX_FAILURES, "alice@example.com", "203.0.113.7");
	ck_assert_int_eq(reserve(&short_cfg, "alice@example.com",
	    "203.0.113.7", &retry), RATELIMIT_BLOCKED);
	ck_assert_int_eq(retry, 1);
	test_sleep_ms(1100);
	ck_assert_int_eq(reserve(&short_cfg, "alice@example.com",
	    "203.0.113.7", &retry), RATELIMIT_OK);
}
END_TEST

START_TEST(window_is_fixed_from_the_first_failure)
{
	long	 retry;

	fail_n(&short_cfg, 1, "alice@example.com", "203.0.113.7");
	test_sleep_ms(500);
	fail_n(&short_cfg, MAX_FAILURES - 1, "alice@example.com",
	    "203.0.113.7");
	ck_assert_int_eq(reserve(&short_cfg, "alice@example.com",
	    "203.0.113.7", &retry), RATELIMIT_BLOCKED);
	test_sleep_ms(600);		/* 1.1 s after the first, 0.6 after the last */
	ck_assert_int_eq(reserve(&short_cfg, "alice@example.com",
	    "203.0.113.7", &retry), RATELIMIT_OK);
}
END_TEST

START_TEST(a_success_gives_back_the_address_reservation)
{
	long	 retry;

	fail_n(&cfg, 3, "alice@example.com", "203.0.113.7");
	ck_assert_int_eq(reserve(&cfg, "bob@example.com", "203.0.113.7",
	    &retry), RATELIMIT_OK);
	ck_assert_int_eq(counter("test:fl:a:*"), 4);
	ratelimit_succeeded(rc, &cfg, "bob@example.com", "203.0.113.7");
	ck_assert_int_eq(counter("test:fl:a:*"), 3);
	ck_assert_int_eq(counter("test:fl:e:*"), 3);	/* alice's alone */
	/* a first attempt that succeeds leaves no counter behind */
	succeed("carol@example.com", "192.0.2.1");
	ck_assert_int_eq(key_count("test:fl:*"), 2);
}
END_TEST

START_TEST(an_attempt_in_flight_holds_the_last_place)
{
	long	 retry;

	fail_n(&cfg, MAX_FAILURES - 1, "alice@example.com", "203.0.113.7");
	ck_assert_int_eq(reserve(&cfg, "alice@example.com", "203.0.113.7",
	    &retry), RATELIMIT_OK);
	ck_assert_int_eq(reserve(&cfg, "alice@example.com", "203.0.113.8",
	    &retry), RATELIMIT_BLOCKED);
	ratelimit_succeeded(rc, &cfg, "alice@example.com", "203.0.113.7");
	ck_assert_int_eq(reserve(&cfg, "alice@example.com", "203.0.113.8",
	    &retry), RATELIMIT_OK);
	ck_assert_int_eq(reserve(&cfg, "bob@example.com", "203.0.113.7",
	    &retry), RATELIMIT_OK);		/* the 10th for the address */
	ck_assert_int_eq(reserve(&cfg, "carol@example.com", "203.0.113.7",
	    &retry), RATELIMIT_BLOCKED);
}
END_TEST

START_TEST(a_release_gives_back_both_reservations)
{
	long	 retry;

	fail_n(&cfg, 2, "alice@example.com", "203.0.113.7");
	ck_assert_int_eq(reserve(&cfg, "alice@example.com", "203.0.113.7",
	    &retry), RATELIMIT_OK);
	ratelimit_release(rc, &cfg, "alice@example.com", "203.0.113.7");
	ck_assert_int_eq(counter("test:fl:e:*"), 2);
	ck_assert_int_eq(counter("test:fl:a:*"), 2);
}
END_TEST

START_TEST(a_success_after_the_window_passed_counts_nothing_below_zero)
{
	long	 retry;
	int	 i;

	for (i = 0; i < 2; i++) {
		ck_assert_int_eq(reserve(&cfg, "alice@example.com",
		    "203.0.113.7", &retry), RATELIMIT_OK);
		freeReplyObject(admin("FLUSHALL"));	/* the window passed */
		if (i == 0)
			ratelimit_succeeded(rc, &cfg, "alice@example.com",
			    "203.0.113.7");
		else
			ratelimit_release(rc, &cfg, "alice@example.com",
			    "203.0.113.7");
		ck_assert_int_eq(key_count("*"), 0);
	}
	fail_n(&cfg, MAX_FAILURES, "alice@example.com", "203.0.113.7");
	ck_assert_int_eq(reserve(&cfg, "bob@example.com", "203.0.113.7",
	    &retry), RATELIMIT_BLOCKED);
}
END_TEST

START_TEST(reservations_survive_a_flushed_script_cache)
{
	long	 retry;

	failed_login(&cfg, "alice@example.com", "203.0.113.7");
	freeReplyObject(admin("SCRIPT FLUSH"));
	failed_login(&cfg, "alice@example.com", "203.0.113.7");
	ck_assert_int_eq(counter("test:fl:e:*"), 2);
	ck_assert_int_eq(reserve(&cfg, "bob@example.com", "203.0.113.7",
	    &retry), RATELIMIT_OK);
	freeReplyObject(admin("SCRIPT FLUSH"));
	ratelimit_succeeded(rc, &cfg, "bob@example.com", "203.0.113.7");
	ck_assert_int_eq(counter("test:fl:a:*"), 2);
	ck_assert_int_eq(key_count("test:fl:e:*"), 1);
	/* the connection is still in step */
	fail_n(&cfg, MAX_FAILURES - 2, "alice@example.com", "203.0.113.8");
	ck_assert_int_eq(reserve(&cfg, "alice@example.com", "203.0.113.9",
	    &retry), RATELIMIT_BLOCKED);
}
END_TEST

START_TEST(garbage_counters_are_errors_not_ok)
{
	static const char *const garbage[] = { "lots", "-1", "1e3", "" };
	char			 key[128];
	long			 retry;
	size_t			 i;

	failed_login(&cfg, "alice@example.com", NULL);
	only_key("test:fl:e:*", key, sizeof(key));
	for (i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++) {
		freeReplyObject(admin("SET %s %s", key, garbage[i]));
		ck_assert_int_eq(reserve(&cfg, "alice@example.com",
		    "203.0.113.7", &retry), RATELIMIT_ERROR);
		ck_assert_int_eq(retry, 0);
		/* nothing counted: the address's increment was taken back */
		ck_assert_int_eq(key_count("test:fl:a:*"), 0);
	}
	freeReplyObject(admin("DEL %s", key));
	freeReplyObject(admin("HSET %s %s %s", key, "a", "b"));
	ck_assert_int_eq(reserve(&cfg, "alice@example.com", "203.0.113.7",
	    &retry), RATELIMIT_ERROR);
	/* the connection is still in step: the next answer is right */
	failed_login(&cfg, "bob@example.com", "203.0.113.7");
	ck_assert_int_eq(counter("test:fl:a:*"), 1);
}
END_TEST

START_TEST(redis_down_means_no_limit_and_no_crash)
{
	struct rconn	*dead;
	char		 url[64];
	long		 retry = -1;

	ck_assert_int_eq(ratelimit_reserve(NULL, &cfg, "a@example.com",
	    "203.0.113.7", &retry), RATELIMIT_UNAVAILABLE);
	ck_assert_int_eq(retry, 0);
	ratelimit_succeeded(NULL, &cfg, "a@example.com", "203.0.113.7");
	ratelimit_release(NULL, &cfg, "a@example.com", "203.0.113.7");
	snprintf(url, sizeof(url), "redis://127.0.0.1:%d", test_free_port());
	ck_assert_ptr_nonnull(dead = test_rconn_new(url));
	retry = -1;
	ck_assert_int_eq(ratelimit_reserve(dead, &cfg, "a@example.com",
	    "203.0.113.7", &retry), RATELIMIT_UNAVAILABLE);
	ck_assert_int_eq(retry, 0);
	ratelimit_succeeded(dead, &cfg, "a@example.com", "203.0.113.7");
	ratelimit_release(dead, &cfg, "a@example.com", "203.0.113.7");
	rconn_free(dead);
}
END_TEST

#define PARALLEL	40
#define EXIT_BASE	10	/* apart from valgrind's error exit code */

/*
 * A forked login attempt: connects, waits for the start (EOF on go),
 * reserves, and exits with EXIT_BASE + the status, or 3 on a setup
 * error.  One address for every email (same_email 0) or one email from
 * every address.
 */
static void
attempt(const char *url, int go, int i, int same_email)
{
	struct rconn_config	 rcfg;
	struct rconn		*c;
	const char		*why;
	char			 email[32], addr[32], b;
	enum ratelimit_status	 st;
	long			 retry = -1;

	memset(&rcfg, 0, sizeof(rcfg));
	if (rconn_url_parse(url, &rcfg.url, &why) == -1)
		_exit(3);
	rcfg.connect_timeout_ms = 2000;
	rcfg.command_timeout_ms = 5000;
	rcfg.backoff_min_ms = 20;
	rcfg.backoff_max_ms = 100;
	if ((c = rconn_new(&rcfg)) == NULL || rconn_get(c) == NULL)
		_exit(3);
	while (read(go, &b, 1) == -1 && errno == EINTR)
		;
	snprintf(email, sizeof(email), "user%d@example.com",
	    same_email ? 0 : i);
	snprintf(addr, sizeof(addr), "198.51.100.%d", same_email ? i + 1 : 7);
	st = ratelimit_reserve(c, &cfg, email, addr, &retry);
	rconn_free(c);
	if (st == RATELIMIT_BLOCKED && (retry < 1 || retry > WINDOW))
		_exit(3);
	_exit(EXIT_BASE + (int)st);
}

/* The bug: 40 parallel wrong passwords got 14 answers, not 10. */
START_TEST(forty_parallel_attempts_let_exactly_the_limit_in)
{
	pid_t	 pid[PARALLEL];
	char	 url[64];
	int	 go[2], i, status, n[3] = { 0, 0, 0 };

	redis_server_url(srv, url, sizeof(url));
	ck_assert_int_eq(pipe(go), 0);
	for (i = 0; i < PARALLEL; i++) {
		ck_assert_int_ne(pid[i] = fork(), -1);
		if (pid[i] == 0) {
			/* the parent's links stay open in the parent */
			redisFree(adm);
			rconn_free(rc);
			close(go[1]);
			attempt(url, go[0], i, _i);
		}
	}
	close(go[0]);
	test_sleep_ms(200);		/* let them connect */
	close(go[1]);		/* and all go at once */
	for (i = 0; i < PARALLEL; i++) {
		ck_assert_int_eq(waitpid(pid[i], &status, 0), pid[i]);
		ck_assert(WIFEXITED(status));
		ck_assert_int_ge(WEXITSTATUS(status), EXIT_BASE);
		ck_assert_int_le(WEXITSTATUS(status), EXIT_BASE + 2);
		n[WEXITSTATUS(status) - EXIT_BASE]++;
	}
	ck_assert_int_eq(n[RATELIMIT_OK], MAX_FAILURES);
	ck_assert_int_eq(n[RATELIMIT_BLOCKED], PARALLEL - MAX_FAILURES);
	ck_assert_int_eq(counter(_i ? "test:fl:e:*" : "test:fl:a:*"),
	    MAX_FAILURES);
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
	tcase_add_test(tc, the_tenth_attempt_is_let_in_and_the_eleventh_is_not);
	tcase_add_test(tc, successful_login_clears_the_email_count);
	tcase_add_test(tc,
	    address_block_holds_for_every_email_and_survives_a_success);
	tcase_add_test(tc, email_case_does_not_split_the_count);
	tcase_add_test(tc, an_ipv6_client_is_counted_by_its_64);
	tcase_add_test(tc, one_ipv6_64_shares_one_login_counter);
	tcase_add_test(tc, redis_keys_hold_neither_email_nor_address);
	tcase_add_test(tc, refused_attempts_do_not_count);
	tcase_add_test(tc,
	    an_attempt_refused_for_one_counter_does_not_count_for_the_other);
	tcase_add_test(tc, retry_after_waits_for_the_later_window);
	tcase_add_test(tc, a_counter_without_a_ttl_still_ends);
	tcase_add_test(tc, block_ends_when_the_window_has_passed);
	tcase_add_test(tc, window_is_fixed_from_the_first_failure);
	tcase_add_test(tc, a_success_gives_back_the_address_reservation);
	tcase_add_test(tc, an_attempt_in_flight_holds_the_last_place);
	tcase_add_test(tc, a_release_gives_back_both_reservations);
	tcase_add_test(tc,
	    a_success_after_the_window_passed_counts_nothing_below_zero);
	tcase_add_test(tc, reservations_survive_a_flushed_script_cache);
	tcase_add_test(tc, garbage_counters_are_errors_not_ok);
	tcase_add_test(tc, redis_down_means_no_limit_and_no_crash);
	tcase_add_loop_test(tc,
	    forty_parallel_attempts_let_exactly_the_limit_in, 0, 2);
	suite_add_tcase(s, tc);
	return s;
}
