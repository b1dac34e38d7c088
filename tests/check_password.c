/*
 * password: Argon2id hash and verify with cheap parameters (PITFALLS
 * Check: the 64 MiB default would pass the 4 s timeout), and the equal
 * cost of the unknown-user path; bcrypt hashes of the original MockPie
 * backend, made at test time by python3-bcrypt (tests/bcrypt_py.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <check.h>
#include <sodium.h>

#include "auth/password.h"
#include "bcrypt_py.h"
#include "runner.h"

#define PW		"correct horse battery staple"
#define NCHARS		128	/* SPEC 2: passwords up to 128 chars */
#define TIMING_ROUNDS	21	/* interleaved rounds of each login path */
#define TIMING_BOUND	1.5	/* medians within this factor */

static const struct password_params cheap = {
	crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN * 8
};

static void
setup(void)
{
	ck_assert_int_ne(sodium_init(), -1);
}

static int
verify(const char *stored, const char *pw)
{
	return password_verify(&cheap, stored, pw, strlen(pw));
}

START_TEST(right_password_verifies)
{
	char	 h[PASSWORD_HASH_MAX];

	ck_assert_int_eq(password_hash(&cheap, PW, strlen(PW), h), 0);
	ck_assert_ptr_nonnull(strstr(h, "$argon2id$"));
	ck_assert_int_eq(verify(h, PW), 1);
}
END_TEST

START_TEST(wrong_password_does_not_verify)
{
	char	 h[PASSWORD_HASH_MAX];

	ck_assert_int_eq(password_hash(&cheap, PW, strlen(PW), h), 0);
	ck_assert_int_eq(verify(h, "correct horse battery stapl"), 0);
	ck_assert_int_eq(verify(h, PW "e"), 0);
	ck_assert_int_eq(verify(h, "Correct horse battery staple"), 0);
	ck_assert_int_eq(verify(h, ""), 0);
	ck_assert_int_eq(password_verify(&cheap, h, NULL, 0), -1);
}
END_TEST

START_TEST(password_with_nul_is_not_cut_at_the_nul)
{
	char	 h[PASSWORD_HASH_MAX];

	ck_assert_int_eq(password_hash(&cheap, "abc\0def", 7, h), 0);
	ck_assert_int_eq(password_verify(&cheap, h, "abc\0def", 7), 1);
	ck_assert_int_eq(password_verify(&cheap, h, "abc", 3), 0);
	ck_assert_int_eq(password_verify(&cheap, h, "abc\0xyz", 7), 0);
}
END_TEST

START_TEST(unknown_user_gets_0)
{
	/* First call makes the dummy hash, later ones verify against it. */
	ck_assert_int_eq(verify(NULL, PW), 0);
	ck_assert_int_eq(verify(NULL, PW), 0);
	ck_assert_int_eq(verify(NULL, ""), 0);
}
END_TEST

static double
elapsed(const struct timespec *a)
{
	struct timespec	 b;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
	return (double)(b.tv_sec - a->tv_sec) +
	    (double)(b.tv_nsec - a->tv_nsec) / 1e9;
}

/* CPU seconds one password_verify of pw (len bytes) against stored takes. */
static double
timed_verify(const struct password_params *pp, const char *stored,
    const char *pw, size_t len)
{
	struct timespec	 t0;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
	ck_assert_int_eq(password_verify(pp, stored, pw, len), 0);
	return elapsed(&t0);
}

static int
double_cmp(const void *a, const void *b)
{
	double	 x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double
median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), double_cmp);
	return v[n / 2];
}

/*
 * The parameters are compute-bound on purpose.  libsodium maps Argon2id's
 * memory afresh for every run (mmap with MAP_POPULATE, then munmap), so a
 * run's time includes faulting its pages in; with 2 MiB blocks that cost
 * is bimodal on a VM whose balloon reports freed 2 MiB blocks to the host
 * (0.3 or 2.3 ms for the mmap alone), which made two groups' minima
 * compare by chance.  At 256 KiB and 16 passes the hashing dominates and
 * the runs are unimodal.  Time is the thread's CPU time, so that another
 * process taking the core mid-run (a busy 2-core machine) does not count;
 * the groups are interleaved, round by round, so that cache pressure falls
 * on each alike, and their medians are compared: a path that skipped the hash would be ten times faster, one
 * that hashed twice twice as slow, both far outside the bound.
 */
START_TEST(unknown_user_costs_about_as_much_as_a_wrong_password)
{
	static const struct password_params pp = {
		16, crypto_pwhash_MEMLIMIT_MIN * 32		/* 256 KiB */
	};
	struct timespec	 t0;
	char		 h[PASSWORD_HASH_MAX], big[PASSWORD_BYTES_MAX + 1];
	double		 known[TIMING_ROUNDS], unknown[TIMING_ROUNDS];
	double		 toolong[TIMING_ROUNDS], first, k, u, t;
	int		 i;

	memset(big, 'x', sizeof(big));
	ck_assert_int_eq(password_hash(&pp, PW, strlen(PW), h), 0);
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
	ck_assert_int_eq(password_verify(&pp, NULL, PW, strlen(PW)), 0);
	first = elapsed(&t0);		/* makes the dummy: one Argon2id */
	for (i = 0; i < TIMING_ROUNDS; i++) {
		known[i] = timed_verify(&pp, h, "wrong password", 14);
		unknown[i] = timed_verify(&pp, NULL, "wrong password", 14);
		toolong[i] = timed_verify(&pp, h, big, sizeof(big));
	}
	k = median(known, TIMING_ROUNDS);
	u = median(unknown, TIMING_ROUNDS);
	t = median(toolong, TIMING_ROUNDS);
	ck_assert_msg(u > k / TIMING_BOUND && u < k * TIMING_BOUND,
	    "medians: unknown user %.5f s, known user %.5f s", u, k);
	ck_assert_msg(t > k / TIMING_BOUND && t < k * TIMING_BOUND,
	    "medians: known user, password too long %.5f s, known user "
	    "%.5f s", t, k);
	ck_assert_msg(first > k / TIMING_BOUND, "first unknown user %.5f s, "
	    "median known user %.5f s", first, k);
}
END_TEST

START_TEST(same_password_hashes_differently_each_time)
{
	char	 a[PASSWORD_HASH_MAX], b[PASSWORD_HASH_MAX];

	ck_assert_int_eq(password_hash(&cheap, PW, strlen(PW), a), 0);
	ck_assert_int_eq(password_hash(&cheap, PW, strlen(PW), b), 0);
	ck_assert_str_ne(a, b);
	ck_assert_int_eq(verify(a, PW), 1);
	ck_assert_int_eq(verify(b, PW), 1);
}
END_TEST

/*
 * Writes NCHARS characters of 1 to 4 UTF-8 bytes into out, with
 * hundredth as the 100th.
 */
static void
unicode_password(char *out, size_t size, const char *hundredth)
{
	static const char *const cs[] = { "p", "é", "日", "😀", "ß", "ж" };
	size_t	 len = 0, n;
	int	 i;

	for (i = 0; i < NCHARS; i++) {
		const char	*c = i == 99 ? hundredth :
				    cs[i % (sizeof(cs) / sizeof(cs[0]))];

		n = strlen(c);
		ck_assert_uint_lt(len + n, size);
		memcpy(out + len, c, n);
		len += n;
	}
	out[len] = '\0';
}

START_TEST(long_unicode_password_is_not_truncated)
{
	char	 h[PASSWORD_HASH_MAX];
	char	 pw[NCHARS * 4 + 1], other[NCHARS * 4 + 1];
	size_t	 len;

	unicode_password(pw, sizeof(pw), "日");
	unicode_password(other, sizeof(other), "月");
	len = strlen(pw);
	ck_assert_uint_gt(len, 256);	/* beyond any 72- or 128-byte cut */
	ck_assert_uint_eq(strlen(other), len);
	ck_assert_int_eq(password_hash(&cheap, pw, len, h), 0);
	ck_assert_int_eq(password_verify(&cheap, h, pw, len), 1);
	ck_assert_int_eq(password_verify(&cheap, h, other, len), 0);
	ck_assert_int_eq(password_verify(&cheap, h, pw, len - 1), 0);
	pw[len - 4] = '\0';	/* the last character, an emoji, gone */
	ck_assert_int_eq(verify(h, pw), 0);
}
END_TEST

START_TEST(password_over_the_byte_limit_is_refused)
{
	char	 h[PASSWORD_HASH_MAX], pw[PASSWORD_BYTES_MAX + 2];

	memset(pw, 'a', sizeof(pw) - 1);
	pw[sizeof(pw) - 1] = '\0';
	ck_assert_int_eq(password_hash(&cheap, pw, PASSWORD_BYTES_MAX + 1, h),
	    -1);
	ck_assert_int_eq(password_hash(&cheap, pw, PASSWORD_BYTES_MAX, h), 0);
	ck_assert_int_eq(password_verify(&cheap, h, pw, PASSWORD_BYTES_MAX),
	    1);
	ck_assert_int_eq(password_verify(&cheap, h, pw,
	    PASSWORD_BYTES_MAX + 1), 0);
}
END_TEST

START_TEST(garbage_stored_hash_is_not_a_match)
{
	static const char *const garbage[] = {
		"",
		"garbage",
		"$argon2id$",
		"$argon2id$v=19$m=64,t=1,p=1$",
		"$argon2id$v=19$m=65536,t=2,p=1$xxxx$yyyy",
		"$argon2id$v=19$m=1,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$"
		    "aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
		"$argon2id$v=19$m=99999999999,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$"
		    "aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
		"$argon2id$v=19$m=64,t=0,p=1$c2FsdHNhbHRzYWx0c2FsdA$"
		    "aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
		"$2y$10$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234",
		"$argon2id$v=19$m=64,t=1,p=1$SXJSNX1klwmNkVTrYgrDMw$"
		    "6YcyGlvEfBaRhMlNpjtS5qlpgudNYyPBF9NBziupzC",
	};
	char	 h[PASSWORD_HASH_MAX], big[PASSWORD_HASH_MAX * 2];
	size_t	 i, len;
	int	 rc;

	for (i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++) {
		rc = verify(garbage[i], PW);
		ck_assert_msg(rc == 0 || rc == -1, "%s: %d", garbage[i], rc);
	}
	memset(big, 'a', sizeof(big) - 1);	/* no NUL within bound */
	memcpy(big, "$argon2id$", 10);
	big[sizeof(big) - 1] = '\0';
	ck_assert_int_eq(verify(big, PW), -1);

	ck_assert_int_eq(password_hash(&cheap, PW, strlen(PW), h), 0);
	len = strlen(h);
	h[len - 10] = h[len - 10] == 'A' ? 'B' : 'A';	/* hash altered */
	ck_assert_int_eq(verify(h, PW), 0);
	h[len - 5] = '\0';				/* hash cut */
	rc = verify(h, PW);
	ck_assert(rc == 0 || rc == -1);
}
END_TEST

START_TEST(hash_with_other_parameters_needs_rehash)
{
	static const struct password_params stronger = {
		crypto_pwhash_OPSLIMIT_MIN + 1, crypto_pwhash_MEMLIMIT_MIN * 8
	};
	char	 h[PASSWORD_HASH_MAX];

	ck_assert_int_eq(password_hash(&cheap, PW, strlen(PW), h), 0);
	ck_assert_int_eq(password_needs_rehash(&cheap, h), 0);
	ck_assert_int_eq(password_needs_rehash(&stronger, h), 1);
	ck_assert_int_eq(password_needs_rehash(NULL, h), 1); /* defaults */
	ck_assert_int_eq(crypto_pwhash_argon2i_str(h, PW, strlen(PW), 3,
	    crypto_pwhash_MEMLIMIT_MIN * 8), 0);
	ck_assert_int_eq(verify(h, PW), 1);		/* old Argon2i */
	ck_assert_int_eq(password_needs_rehash(&cheap, h), 1);
	ck_assert_int_eq(password_needs_rehash(&cheap, "garbage"), -1);
	ck_assert_int_eq(password_needs_rehash(&cheap, "$argon2id$x"), -1);
	ck_assert_int_eq(password_needs_rehash(&cheap, NULL), -1);
}
END_TEST

static void
bcrypt_of(const char *pw, const char *prefix, char h[BCRYPT_PY_HASH_MAX])
{
	ck_assert_msg(bcrypt_py_hash(pw, 4, prefix, h) == 0,
	    "python3-bcrypt made no hash (see stderr)");
	ck_assert_int_eq(strncmp(h + 1, prefix, 2), 0);
}

START_TEST(bcrypt_hash_of_the_original_verifies_with_its_password)
{
	char	 h[BCRYPT_PY_HASH_MAX];

	bcrypt_of(PW, "2b", h);
	ck_assert_int_eq(verify(h, PW), 1);
	ck_assert_int_eq(password_is_legacy(h), 1);
	bcrypt_of("p\xc3\xa4ss w\xc3\xb6rd \xe2\x82\xac!", "2a", h);
	ck_assert_int_eq(verify(h, "p\xc3\xa4ss w\xc3\xb6rd \xe2\x82\xac!"), 1);
	/* $2y$ (PHP's name) is the $2b$ algorithm */
	bcrypt_of(PW, "2b", h);
	h[2] = 'y';
	ck_assert_int_eq(verify(h, PW), 1);
}
END_TEST

START_TEST(bcrypt_hash_refuses_a_wrong_password)
{
	char	 h[BCRYPT_PY_HASH_MAX];

	bcrypt_of(PW, "2b", h);
	ck_assert_int_eq(verify(h, "correct horse battery stapl"), 0);
	ck_assert_int_eq(verify(h, PW "e"), 0);
	ck_assert_int_eq(verify(h, "Correct horse battery staple"), 0);
	ck_assert_int_eq(verify(h, ""), 0);
	/* no bcrypt library hashes a NUL: never a match, even if cut there */
	ck_assert_int_eq(password_verify(&cheap, h, PW "\0x",
	    strlen(PW) + 2), 0);
	ck_assert_int_eq(password_verify(&cheap, h, NULL, 0), -1);
}
END_TEST

START_TEST(bcrypt_hash_truncated_or_altered_is_a_fault_or_no_match)
{
	char	 h[BCRYPT_PY_HASH_MAX], cut[BCRYPT_PY_HASH_MAX];
	size_t	 len;

	bcrypt_of(PW, "2b", h);
	len = strlen(h);
	memcpy(cut, h, len + 1);
	cut[len - 1] = '\0';			/* one character short */
	ck_assert_int_eq(verify(cut, PW), -1);
	cut[29] = '\0';				/* salt and half the hash */
	ck_assert_int_eq(verify(cut, PW), -1);
	ck_assert_int_eq(verify("$2b$", PW), -1);
	memcpy(cut, h, len + 1);
	cut[len - 3] = cut[len - 3] == 'A' ? 'B' : 'A';	/* hash altered */
	ck_assert_int_eq(verify(cut, PW), 0);
	memcpy(cut, h, len + 1);
	cut[len - 3] = '!';			/* not bcrypt's base64 */
	ck_assert_int_eq(verify(cut, PW), -1);
	ck_assert_int_eq(password_needs_rehash(&cheap, cut), -1);
}
END_TEST

START_TEST(bcrypt_hash_with_a_bad_prefix_or_cost_is_a_fault)
{
	char	 h[BCRYPT_PY_HASH_MAX], bad[BCRYPT_PY_HASH_MAX];

	bcrypt_of(PW, "2b", h);
	memcpy(bad, h, sizeof(bad));
	bad[2] = 'x';				/* $2x$: the buggy variant */
	ck_assert_int_eq(verify(bad, PW), -1);
	memcpy(bad, h, sizeof(bad));
	bad[1] = '1';				/* $1b$ */
	ck_assert_int_eq(verify(bad, PW), -1);
	memcpy(bad, h, sizeof(bad));
	bad[4] = '0';
	bad[5] = '3';				/* cost 3: below bcrypt's 4 */
	ck_assert_int_eq(verify(bad, PW), -1);
	memcpy(bad, h, sizeof(bad));
	bad[4] = '3';
	bad[5] = '2';				/* cost 32 */
	ck_assert_int_eq(verify(bad, PW), -1);
	memcpy(bad, h, sizeof(bad));
	bad[6] = '.';				/* no $ after the cost */
	ck_assert_int_eq(verify(bad, PW), -1);
}
END_TEST

START_TEST(bcrypt_hash_always_needs_a_rehash_to_argon2id)
{
	char	 h[BCRYPT_PY_HASH_MAX], a[PASSWORD_HASH_MAX];

	bcrypt_of(PW, "2b", h);
	ck_assert_int_eq(password_needs_rehash(&cheap, h), 1);
	ck_assert_int_eq(password_needs_rehash(NULL, h), 1);
	ck_assert_int_eq(password_hash(&cheap, PW, strlen(PW), a), 0);
	ck_assert_int_eq(password_is_legacy(a), 0);
	ck_assert_int_eq(password_is_legacy(NULL), 0);
}
END_TEST

Suite *
suite(void)
{
	Suite	*s = suite_create("password");
	TCase	*tc;

	tc = tcase_create("verify");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, right_password_verifies);
	tcase_add_test(tc, wrong_password_does_not_verify);
	tcase_add_test(tc, password_with_nul_is_not_cut_at_the_nul);
	tcase_add_test(tc, unknown_user_gets_0);
	tcase_add_test(tc, same_password_hashes_differently_each_time);
	tcase_add_test(tc, long_unicode_password_is_not_truncated);
	tcase_add_test(tc, password_over_the_byte_limit_is_refused);
	tcase_add_test(tc, garbage_stored_hash_is_not_a_match);
	tcase_add_test(tc, hash_with_other_parameters_needs_rehash);
	suite_add_tcase(s, tc);

	tc = tcase_create("bcrypt");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_set_timeout(tc, 20);	/* python's start-up, several times */
	tcase_add_test(tc,
	    bcrypt_hash_of_the_original_verifies_with_its_password);
	tcase_add_test(tc, bcrypt_hash_refuses_a_wrong_password);
	tcase_add_test(tc,
	    bcrypt_hash_truncated_or_altered_is_a_fault_or_no_match);
	tcase_add_test(tc, bcrypt_hash_with_a_bad_prefix_or_cost_is_a_fault);
	tcase_add_test(tc, bcrypt_hash_always_needs_a_rehash_to_argon2id);
	suite_add_tcase(s, tc);

	tc = tcase_create("timing");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_set_timeout(tc, 30);	/* slow under valgrind */
	tcase_add_test(tc,
	    unknown_user_costs_about_as_much_as_a_wrong_password);
	suite_add_tcase(s, tc);
	return s;
}
