/* The verified-token cache: hits give the same claims, nothing else hits. */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "auth/token_cache.h"
#include "runner.h"

#define NOW	1795650000L

static const struct token_config cfg = {
	(const unsigned char *)"0123456789abcdef0123456789abcdef-cache", 38,
	JWT_ALG_HS256, "mockpie", 900, 604800, 30, 0
};

static char *
issue(enum token_type typ, long long sub)
{
	struct token	 t;
	char		 sid[TOKEN_ID_LEN + 1];
	char		*s;

	token_new_id(sid);
	ck_assert_ptr_nonnull(s = token_issue(&cfg, typ, sub, sid, NOW, &t));
	return s;
}

static void
setup(void)
{
	ck_assert_int_ge(sodium_init(), 0);
	token_cache_clear();
}

START_TEST(a_cached_token_gives_the_same_claims_as_a_verified_one)
{
	struct token	 a, b;
	char		*s = issue(TOKEN_ACCESS, 42);

	ck_assert_int_eq(token_verify_cached(&cfg, TOKEN_ACCESS, s, NOW, &a),
	    0);
	ck_assert_int_eq(token_verify_cached(&cfg, TOKEN_ACCESS, s, NOW + 1,
	    &b), 0);
	ck_assert_int_eq(memcmp(&a, &b, sizeof(a)), 0);
	ck_assert_int_eq(b.sub, 42);
	free(s);
}
END_TEST

START_TEST(a_cached_token_still_expires)
{
	struct token	 t;
	char		*s = issue(TOKEN_ACCESS, 7);

	ck_assert_int_eq(token_verify_cached(&cfg, TOKEN_ACCESS, s, NOW, &t),
	    0);
	ck_assert_int_eq(token_verify_cached(&cfg, TOKEN_ACCESS, s,
	    NOW + 900 + 31, &t), -1);
	ck_assert_str_eq(t.why, "token expired");
	free(s);
}
END_TEST

START_TEST(a_token_differing_in_one_byte_is_verified_not_cached)
{
	struct token	 t;
	char		*s = issue(TOKEN_ACCESS, 9);
	size_t		 len = strlen(s), i;
	char		 c;

	ck_assert_int_eq(token_verify_cached(&cfg, TOKEN_ACCESS, s, NOW, &t),
	    0);
	/* every position, words and tail alike, with the good one cached */
	for (i = 0; i < len; i++) {
		c = s[i];
		s[i] = c == 'A' ? 'B' : 'A';
		ck_assert_msg(token_verify_cached(&cfg, TOKEN_ACCESS, s, NOW,
		    &t) == -1, "byte %zu changed, still accepted", i);
		s[i] = c;
		ck_assert_int_eq(token_verify_cached(&cfg, TOKEN_ACCESS, s,
		    NOW, &t), 0);
	}
	free(s);
}
END_TEST

START_TEST(a_cached_access_token_is_not_a_refresh_token)
{
	struct token	 t;
	char		*s = issue(TOKEN_ACCESS, 5);

	ck_assert_int_eq(token_verify_cached(&cfg, TOKEN_ACCESS, s, NOW, &t),
	    0);
	ck_assert_int_eq(token_verify_cached(&cfg, TOKEN_REFRESH, s, NOW, &t),
	    -1);
	ck_assert_str_eq(t.why, "token type mismatch");
	free(s);
}
END_TEST

START_TEST(many_tokens_each_keep_their_own_claims)
{
	struct token	 t;
	char		*s[3 * TOKEN_CACHE_SLOTS];
	int		 i, pass;

	for (i = 0; i < 3 * TOKEN_CACHE_SLOTS; i++)
		s[i] = issue(TOKEN_ACCESS, i + 1);
	for (pass = 0; pass < 2; pass++)
		for (i = 0; i < 3 * TOKEN_CACHE_SLOTS; i++) {
			ck_assert_int_eq(token_verify_cached(&cfg,
			    TOKEN_ACCESS, s[i], NOW, &t), 0);
			ck_assert_int_eq(t.sub, i + 1);
		}
	for (i = 0; i < 3 * TOKEN_CACHE_SLOTS; i++)
		free(s[i]);
}
END_TEST

START_TEST(garbage_is_refused_as_by_token_verify)
{
	struct token	 t;

	ck_assert_int_eq(token_verify_cached(&cfg, TOKEN_ACCESS, "", NOW, &t),
	    -1);
	ck_assert_int_eq(token_verify_cached(&cfg, TOKEN_ACCESS, NULL, NOW,
	    &t), -1);
	ck_assert_int_eq(token_verify_cached(&cfg, TOKEN_ACCESS, "a.b.c", NOW,
	    &t), -1);
}
END_TEST

Suite *
suite(void)
{
	Suite	*s = suite_create("token_cache");
	TCase	*tc = tcase_create("cache");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, a_cached_token_gives_the_same_claims_as_a_verified_one);
	tcase_add_test(tc, a_cached_token_still_expires);
	tcase_add_test(tc, a_token_differing_in_one_byte_is_verified_not_cached);
	tcase_add_test(tc, a_cached_access_token_is_not_a_refresh_token);
	tcase_add_test(tc, many_tokens_each_keep_their_own_claims);
	tcase_add_test(tc, garbage_is_refused_as_by_token_verify);
	suite_add_tcase(s, tc);
	return s;
}
