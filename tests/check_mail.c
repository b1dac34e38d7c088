/*
 * One-time codes (auth/otp.c) and the mail queue (mail/mailq.c) against
 * a real redis-server: the limits, what Redis holds, retries, dead
 * letters and a dead sender's messages taken over.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <hiredis/hiredis.h>
#include <sodium.h>

#include "redis_server.h"
#include "runner.h"

#include "auth/otp.h"
#include "mail/mailq.h"
#include "redis/rconn.h"

static struct redis_server	*srv;
static char			 srv_dir[64];
static struct rconn		*rc;
static redisContext		*adm;
static struct otp_config	 oc;
static struct mailq_config	 qc;

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
	r = redisCommand(adm, "FLUSHALL");
	freeReplyObject(r);
	redis_server_url(srv, url, sizeof(url));
	ck_assert_ptr_nonnull(rc = test_rconn_new(url));
	memset(&oc, 0, sizeof(oc));
	oc.prefix = "test:";
	oc.ttl = 600;
	oc.max_attempts = 5;
	oc.cooldown = 30;
	oc.hourly_cap = 5;
	oc.grant_ttl = 300;
	otp_subkey((const unsigned char *)"0123456789abcdef0123456789abcdef",
	    32, "otp", oc.key);
	memset(&qc, 0, sizeof(qc));
	qc.prefix = "test:";
	qc.max_tries = 3;
	qc.retry_base = 1;
	qc.claim_idle_ms = 50;
	otp_subkey((const unsigned char *)"0123456789abcdef0123456789abcdef",
	    32, "mail", qc.key);
	ck_assert_int_eq(mailq_group(rc, &qc), 0);
}

static void
teardown(void)
{
	rconn_free(rc);
	redisFree(adm);
}

/* Every key and string value in Redis, joined, for a search. */
static char *
redis_dump(void)
{
	redisReply	*keys, *v;
	size_t		 i, len = 0, cap = 65536;
	char		*out = calloc(1, cap);

	ck_assert_ptr_nonnull(out);
	ck_assert_ptr_nonnull(keys = redisCommand(adm, "KEYS *"));
	for (i = 0; i < keys->elements; i++) {
		len += (size_t)snprintf(out + len, cap - len, "%s\n",
		    keys->element[i]->str);
		v = redisCommand(adm, "DUMP %s", keys->element[i]->str);
		if (v != NULL && v->type == REDIS_REPLY_STRING &&
		    len + v->len < cap) {
			memcpy(out + len, v->str, v->len);
			len += v->len;
		}
		freeReplyObject(v);
	}
	freeReplyObject(keys);
	for (i = 0; i < len; i++)
		if (out[i] == '\0')
			out[i] = ' ';
	return out;
}

START_TEST(codes_keep_their_cooldown_and_hourly_cap)
{
	char	 code[7];
	int	 i;

	ck_assert_int_eq(otp_issue(rc, &oc, "a@example.com", OTP_VERIFY,
	    code), OTP_OK);
	ck_assert_int_eq(otp_issue(rc, &oc, "a@example.com", OTP_VERIFY,
	    code), OTP_COOLDOWN);
	ck_assert_int_eq(otp_issue(rc, &oc, "a@example.com", OTP_RESET,
	    code), OTP_OK);
	/* the cap counts both purposes; refusals count for nothing */
	oc.cooldown = 0;
	for (i = 0; i < 5; i++)
		ck_assert_int_eq(otp_issue(rc, &oc, "c@example.com",
		    i % 2 ? OTP_RESET : OTP_VERIFY, code), OTP_OK);
	ck_assert_int_eq(otp_issue(rc, &oc, "c@example.com", OTP_VERIFY,
	    code), OTP_CAPPED);
	ck_assert_int_eq(otp_issue(rc, &oc, "b@example.com", OTP_VERIFY,
	    code), OTP_OK);
}
END_TEST

START_TEST(redis_holds_no_address_code_or_token)
{
	struct otp_grant	 g = { 42, "stamp0123" };
	enum otp_purpose	 p;
	char			 code[7], token[OTP_TOKEN_MAX], *dump;

	ck_assert_int_eq(otp_issue(rc, &oc, "carol@example.com", OTP_RESET,
	    code), OTP_OK);
	ck_assert_int_eq(otp_grant_open(rc, &oc, "carol@example.com", &g,
	    "127.0.0.1\nUA", token), OTP_OK);
	dump = redis_dump();
	ck_assert_ptr_null(strstr(dump, "carol"));
	ck_assert_ptr_null(strstr(dump, code));
	ck_assert_ptr_null(strstr(dump, token));
	free(dump);
	ck_assert_int_eq(otp_check(rc, &oc, "carol@example.com", code, &p),
	    OTP_OK);
	ck_assert_int_eq(p, OTP_RESET);
	ck_assert_int_eq(otp_check(rc, &oc, "carol@example.com", code, &p),
	    OTP_NO);
}
END_TEST

START_TEST(a_grant_is_taken_once_by_token_or_by_its_client)
{
	struct otp_grant	 g = { 7, "s7" }, out;
	char			 token[OTP_TOKEN_MAX];

	ck_assert_int_eq(otp_grant_open(rc, &oc, "d@example.com", &g,
	    "10.0.0.1\nUA", token), OTP_OK);
	ck_assert_int_eq(otp_grant_peek(rc, &oc, "d@example.com", "",
	    "10.0.0.2\nUA", 1, &out), OTP_NO);
	ck_assert_int_eq(otp_grant_peek(rc, &oc, "d@example.com", "",
	    "10.0.0.1\nUA", 0, &out), OTP_NO);
	ck_assert_int_eq(otp_grant_peek(rc, &oc, "d@example.com", "",
	    "10.0.0.1\nUA", 1, &out), OTP_OK);
	ck_assert_int_eq(otp_grant_take(rc, &oc, "d@example.com", token,
	    "elsewhere", 0, &out), OTP_OK);
	ck_assert_int_eq(out.uid, 7);
	ck_assert_str_eq(out.stamp, "s7");
	ck_assert_int_eq(otp_grant_take(rc, &oc, "d@example.com", token,
	    "elsewhere", 0, &out), OTP_NO);
}
END_TEST

static void
msg_of(struct mail_msg *m, const char *to)
{
	memset(m, 0, sizeof(*m));
	snprintf(m->purpose, sizeof(m->purpose), "verify");
	snprintf(m->to, sizeof(m->to), "%s", to);
	snprintf(m->code, sizeof(m->code), "123456");
	m->ttl = 600;
}

static long long
depth_of(const char *what)
{
	struct mailq_depth	 d;

	ck_assert_int_eq(mailq_depth(rc, &qc, &d), 0);
	if (strcmp(what, "dead") == 0)
		return d.dead;
	if (strcmp(what, "retrying") == 0)
		return d.retrying;
	if (strcmp(what, "queued") == 0)
		return d.queued;
	return d.retried;
}

START_TEST(a_message_failing_max_tries_is_dead_lettered)
{
	struct mailq_entry	 e[MAILQ_BATCH];
	struct mail_msg		 m;
	int			 i, n;

	msg_of(&m, "e@example.com");
	ck_assert_int_eq(mailq_enqueue(rc, &qc, &m), 0);
	for (i = 1; i <= 3; i++) {
		/* due in the far future for promote: pass a late clock */
		ck_assert_int_eq(mailq_promote(rc, &qc, 1LL << 50), 0);
		ck_assert_int_eq(n = mailq_claim(rc, &qc, "a", 50, e,
		    MAILQ_BATCH), 1);
		ck_assert(e[0].sealed_ok);
		ck_assert_str_eq(e[0].msg.to, "e@example.com");
		ck_assert_str_eq(e[0].msg.code, "123456");
		ck_assert_int_eq(e[0].tries, i - 1);
		ck_assert_int_eq(mailq_failed(rc, &qc, &e[0], 0), i < 3 ? 1 :
		    2);
		mailq_entry_free(&e[0]);
	}
	ck_assert_int_eq(depth_of("dead"), 1);
	ck_assert_int_eq(depth_of("queued"), 0);
	ck_assert_int_eq(depth_of("retrying"), 0);
	ck_assert_int_eq(depth_of("retried"), 2);
}
END_TEST

START_TEST(a_message_sealed_under_another_secret_is_dead_at_once)
{
	struct mailq_entry	 e[MAILQ_BATCH];
	struct mailq_config	 other = qc;
	struct mail_msg		 m;

	other.key[0] ^= 1;
	msg_of(&m, "f@example.com");
	ck_assert_int_eq(mailq_enqueue(rc, &other, &m), 0);
	ck_assert_int_eq(mailq_claim(rc, &qc, "a", 50, e, MAILQ_BATCH), 1);
	ck_assert(!e[0].sealed_ok);
	ck_assert_int_eq(mailq_failed(rc, &qc, &e[0], 0), 2);
	mailq_entry_free(&e[0]);
	ck_assert_int_eq(depth_of("dead"), 1);
}
END_TEST

START_TEST(a_dead_senders_message_is_taken_over_and_counted_once)
{
	struct mailq_entry	 a[MAILQ_BATCH], b[MAILQ_BATCH];
	struct mailq_depth	 d;
	struct mail_msg		 m;

	msg_of(&m, "g@example.com");
	ck_assert_int_eq(mailq_enqueue(rc, &qc, &m), 0);
	ck_assert_int_eq(mailq_claim(rc, &qc, "a", 50, a, MAILQ_BATCH), 1);
	/* nothing new for b, and a's is not idle long enough yet... */
	test_sleep_ms(120);
	/* ...now it is: b takes it over */
	ck_assert_int_eq(mailq_claim(rc, &qc, "b", 50, b, MAILQ_BATCH), 1);
	ck_assert_str_eq(a[0].id, b[0].id);
	ck_assert_int_eq(mailq_done(rc, &qc, &b[0]), 1);
	ck_assert_int_eq(mailq_done(rc, &qc, &a[0]), 0);
	ck_assert_int_eq(mailq_failed(rc, &qc, &a[0], 0), 0);
	ck_assert_int_eq(mailq_depth(rc, &qc, &d), 0);
	ck_assert_int_eq(d.sent, 1);
	ck_assert_int_eq(d.queued, 0);
	ck_assert_int_eq(d.pending, 0);
	ck_assert_int_eq(d.dead, 0);
	mailq_entry_free(&a[0]);
	mailq_entry_free(&b[0]);
}
END_TEST

Suite *
suite(void)
{
	Suite	*s = suite_create("mail");
	TCase	*tc = tcase_create("redis");

	if (sodium_init() < 0)
		abort();
	tcase_add_unchecked_fixture(tc, server_start, server_stop);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, codes_keep_their_cooldown_and_hourly_cap);
	tcase_add_test(tc, redis_holds_no_address_code_or_token);
	tcase_add_test(tc, a_grant_is_taken_once_by_token_or_by_its_client);
	tcase_add_test(tc, a_message_failing_max_tries_is_dead_lettered);
	tcase_add_test(tc,
	    a_message_sealed_under_another_secret_is_dead_at_once);
	tcase_add_test(tc,
	    a_dead_senders_message_is_taken_over_and_counted_once);
	suite_add_tcase(s, tc);
	return s;
}
