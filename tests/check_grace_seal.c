/*
 * grace_seal: the successor pair a rotation keeps for the grace window
 * opens only under the secret it was sealed with, and its sealed form
 * holds neither token.
 */
#include <string.h>

#include <check.h>
#include <sodium.h>

#include "lib/arena.h"
#include "auth/grace_seal.h"
#include "lib/log.h"
#include "runner.h"

#define SECRET	"grace-seal-test-secret-0123456789abcdef"
#define OTHER	"grace-seal-test-secret-0123456789abcdeX"
#define ACCESS	"eyJhbGciOiJIUzI1NiJ9.eyJ0eXAiOiJhY2Nlc3MifQ.c2lnbmF0dXJl"
#define REFRESH	"eyJhbGciOiJIUzI1NiJ9.eyJ0eXAiOiJyZWZyZXNoIn0.b3RoZXJzaWc"

static struct arena	*arena;

static void
setup(void)
{
	ck_assert_int_ne(sodium_init(), -1);
	arena = arena_new(4096);
	log_set_level(LOG_LEVEL_ERROR);		/* refusals are expected */
}

static void
teardown(void)
{
	arena_free(arena);
}

static const char *
seal(const char *secret)
{
	const char	*s;

	s = grace_seal((const unsigned char *)secret, strlen(secret), ACCESS,
	    REFRESH, arena);
	ck_assert_ptr_nonnull(s);
	return s;
}

START_TEST(sealed_pair_opens_under_its_secret)
{
	const char	*a, *r;

	ck_assert_int_eq(grace_unseal((const unsigned char *)SECRET,
	    strlen(SECRET), seal(SECRET), arena, &a, &r), 0);
	ck_assert_str_eq(a, ACCESS);
	ck_assert_str_eq(r, REFRESH);
}
END_TEST

START_TEST(sealed_pair_holds_neither_token_and_differs_each_time)
{
	const char	*s = seal(SECRET), *t = seal(SECRET);

	ck_assert_ptr_null(strstr(s, "eyJ"));
	ck_assert_ptr_null(strstr(s, "c2lnbmF0dXJl"));
	ck_assert_ptr_null(strstr(s, "b3RoZXJzaWc"));
	ck_assert_str_ne(s, t);		/* a fresh nonce each time */
}
END_TEST

START_TEST(another_secret_or_a_changed_byte_does_not_open)
{
	const char	*a, *r, *s = seal(SECRET);
	char		*bad = arena_strdup(arena, s);
	size_t		 mid = strlen(bad) / 2;

	ck_assert_int_eq(grace_unseal((const unsigned char *)OTHER,
	    strlen(OTHER), s, arena, &a, &r), -1);
	bad[mid] = bad[mid] == 'A' ? 'B' : 'A';
	ck_assert_int_eq(grace_unseal((const unsigned char *)SECRET,
	    strlen(SECRET), bad, arena, &a, &r), -1);
	ck_assert_int_eq(grace_unseal((const unsigned char *)SECRET,
	    strlen(SECRET), "", arena, &a, &r), -1);
	ck_assert_int_eq(grace_unseal((const unsigned char *)SECRET,
	    strlen(SECRET), "not base64!", arena, &a, &r), -1);
}
END_TEST

START_TEST(tokens_too_long_are_not_sealed)
{
	char	*big = arena_alloc(arena, 9000);

	memset(big, 'a', 8999);
	big[8999] = '\0';
	ck_assert_ptr_null(grace_seal((const unsigned char *)SECRET,
	    strlen(SECRET), big, REFRESH, arena));
}
END_TEST

Suite *
suite(void)
{
	Suite	*s = suite_create("grace_seal");
	TCase	*tc = tcase_create("seal");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, sealed_pair_opens_under_its_secret);
	tcase_add_test(tc, sealed_pair_holds_neither_token_and_differs_each_time);
	tcase_add_test(tc, another_secret_or_a_changed_byte_does_not_open);
	tcase_add_test(tc, tokens_too_long_are_not_sealed);
	suite_add_tcase(s, tc);
	return s;
}
