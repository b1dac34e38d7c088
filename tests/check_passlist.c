/* The common-password list: loading, CRLF, bounds, lookups (SPEC 2). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth/passlist.h"
#include "runner.h"

#define EMOJI	"\xf0\x9f\x98\x80"	/* U+1F600, 4 bytes */

static char	 path[64];
static char	 err[256];

/* Writes len bytes to a fresh temporary file named in path. */
static void
write_list(const char *data, size_t len)
{
	int	 fd;

	snprintf(path, sizeof(path), "/tmp/mockpie-passlist-XXXXXX");
	fd = mkstemp(path);
	ck_assert_int_ne(fd, -1);
	ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static struct passlist *
load_str(const char *data)
{
	struct passlist	*pl;

	write_list(data, strlen(data));
	pl = passlist_load(path, err, sizeof(err));
	unlink(path);
	return pl;
}

/* n copies of s, in a static buffer. */
static const char *
repeat(const char *s, size_t n)
{
	static char	 buf[4096];
	size_t		 i, len = strlen(s);

	ck_assert_uint_lt(n * len, sizeof(buf));
	for (i = 0; i < n; i++)
		memcpy(buf + i * len, s, len);
	buf[n * len] = '\0';
	return buf;
}

START_TEST(listed_password_is_found_and_others_are_not)
{
	struct passlist	*pl = load_str("password\nqwerty123\n123456789\n");

	ck_assert_ptr_nonnull(pl);
	ck_assert_uint_eq(passlist_count(pl), 3);
	ck_assert_int_eq(passlist_contains(pl, "password"), 1);
	ck_assert_int_eq(passlist_contains(pl, "qwerty123"), 1);
	ck_assert_int_eq(passlist_contains(pl, "123456789"), 1);
	ck_assert_int_eq(passlist_contains(pl, "password1"), 0);
	ck_assert_int_eq(passlist_contains(pl, "passwor"), 0);
	ck_assert_int_eq(passlist_contains(pl, ""), 0);
	ck_assert_int_eq(passlist_contains(pl, "correct horse"), 0);
	passlist_free(pl);
}
END_TEST

START_TEST(lookup_ignores_case)
{
	/* "пароль" */
	struct passlist	*pl = load_str("password\n"
	    "\xd0\xbf\xd0\xb0\xd1\x80\xd0\xbe\xd0\xbb\xd1\x8c\n");

	ck_assert_ptr_nonnull(pl);
	ck_assert_int_eq(passlist_contains(pl, "PassWORD"), 1);
	/* ПАРОЛЬ */
	ck_assert_int_eq(passlist_contains(pl,
	    "\xd0\x9f\xd0\x90\xd0\xa0\xd0\x9e\xd0\x9b\xd0\xac"), 1);
	passlist_free(pl);
}
END_TEST

START_TEST(upper_case_entry_in_the_file_still_matches)
{
	/* "ŻÓŁW" */
	struct passlist	*pl = load_str("LetMeIn2024\n"
	    "\xc5\xbb\xc3\x93\xc5\x81W\n");

	ck_assert_ptr_nonnull(pl);
	ck_assert_int_eq(passlist_contains(pl, "letmein2024"), 1);
	ck_assert_int_eq(passlist_contains(pl, "\xc5\xbc\xc3\xb3\xc5\x82w"),
	    1);				/* żółw */
	passlist_free(pl);
}
END_TEST

START_TEST(crlf_file_is_read_like_lf)
{
	struct passlist	*pl = load_str("abc12345\r\nqwerty\r\nzxcvbnm\r\n");

	ck_assert_ptr_nonnull(pl);
	ck_assert_uint_eq(passlist_count(pl), 3);
	ck_assert_int_eq(passlist_contains(pl, "abc12345"), 1);
	ck_assert_int_eq(passlist_contains(pl, "qwerty"), 1);
	ck_assert_int_eq(passlist_contains(pl, "zxcvbnm"), 1);
	ck_assert_int_eq(passlist_contains(pl, "qwerty\r"), 0);
	passlist_free(pl);
}
END_TEST

START_TEST(last_line_without_newline_is_kept)
{
	struct passlist	*pl = load_str("first123\r\nlast1234");

	ck_assert_ptr_nonnull(pl);
	ck_assert_int_eq(passlist_contains(pl, "last1234"), 1);
	ck_assert_int_eq(passlist_contains(pl, "first123"), 1);
	passlist_free(pl);
}
END_TEST

START_TEST(blank_lines_and_bom_are_ignored_and_duplicates_merged)
{
	struct passlist	*pl = load_str("\xef\xbb\xbf" "dragon12\n\n"
	    "monkey12\n\r\nDragon12\ndragon12\n\n");

	ck_assert_ptr_nonnull(pl);
	ck_assert_uint_eq(passlist_count(pl), 2);
	ck_assert_int_eq(passlist_contains(pl, "dragon12"), 1);
	ck_assert_int_eq(passlist_contains(pl, "monkey12"), 1);
	ck_assert_int_eq(passlist_contains(pl, ""), 0);
	passlist_free(pl);
}
END_TEST

START_TEST(missing_file_gives_null_and_says_why)
{
	struct passlist	*pl;

	pl = passlist_load("/nonexistent/mockpie/common-passwords.txt", err,
	    sizeof(err));
	ck_assert_ptr_null(pl);
	ck_assert_ptr_nonnull(strstr(err,
	    "/nonexistent/mockpie/common-passwords.txt"));
	ck_assert_ptr_nonnull(strstr(err, "No such file"));
}
END_TEST

START_TEST(directory_is_refused)
{
	ck_assert_ptr_null(passlist_load("/tmp", err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "not a regular file"));
}
END_TEST

START_TEST(empty_file_is_refused)
{
	ck_assert_ptr_null(load_str(""));
	ck_assert_ptr_nonnull(strstr(err, "no passwords"));
	ck_assert_ptr_null(load_str("\n\r\n\n"));
	ck_assert_ptr_nonnull(strstr(err, "no passwords"));
}
END_TEST

START_TEST(line_over_the_bound_is_refused_with_its_number)
{
	char	 data[4200];

	snprintf(data, sizeof(data), "short123\n%sx\n", repeat(EMOJI, 128));
	ck_assert_ptr_null(load_str(data));
	ck_assert_ptr_nonnull(strstr(err, "line 2"));
	ck_assert_ptr_nonnull(strstr(err, "longer than 512"));
}
END_TEST

START_TEST(line_of_128_four_byte_chars_fits_and_matches_whole)
{
	char		 data[4200], pw[4200];
	struct passlist	*pl;

	snprintf(data, sizeof(data), "%s\r\n", repeat(EMOJI, 128));
	ck_assert_ptr_nonnull(pl = load_str(data));
	ck_assert_int_eq(passlist_contains(pl, repeat(EMOJI, 128)), 1);
	ck_assert_int_eq(passlist_contains(pl, repeat(EMOJI, 127)), 0);
	snprintf(pw, sizeof(pw), "%sa", repeat(EMOJI, 127));
	ck_assert_int_eq(passlist_contains(pl, pw), 0);
	/* longer than any line can be: not found, no overflow */
	ck_assert_int_eq(passlist_contains(pl, repeat(EMOJI, 129)), 0);
	ck_assert_int_eq(passlist_contains(pl, repeat(EMOJI, 1000)), 0);
	passlist_free(pl);
}
END_TEST

START_TEST(nul_byte_in_a_line_is_refused)
{
	write_list("good1234\nbad\0pass\n", 18);
	ck_assert_ptr_null(passlist_load(path, err, sizeof(err)));
	unlink(path);
	ck_assert_ptr_nonnull(strstr(err, "line 2"));
	ck_assert_ptr_nonnull(strstr(err, "NUL"));
}
END_TEST

START_TEST(twenty_thousand_entries_are_all_found)
{
	char		*data, pw[32];
	size_t		 i, off, cap = 20000 * 16;
	struct passlist	*pl;

	ck_assert_ptr_nonnull(data = malloc(cap));
	for (i = off = 0; i < 20000; i++)
		off += (size_t)snprintf(data + off, cap - off, "Pw%07zu\n",
		    i * 7919 % 20000);
	write_list(data, off);
	free(data);
	pl = passlist_load(path, err, sizeof(err));
	unlink(path);
	ck_assert_ptr_nonnull(pl);
	ck_assert_uint_eq(passlist_count(pl), 20000);
	for (i = 0; i < 20000; i++) {
		snprintf(pw, sizeof(pw), "pw%07zu", i);
		ck_assert_int_eq(passlist_contains(pl, pw), 1);
	}
	ck_assert_int_eq(passlist_contains(pl, "pw0020000"), 0);
	passlist_free(pl);
}
END_TEST

START_TEST(null_arguments_are_harmless)
{
	struct passlist	*pl = load_str("password\n");

	ck_assert_ptr_nonnull(pl);
	ck_assert_int_eq(passlist_contains(pl, NULL), 0);
	ck_assert_int_eq(passlist_contains(NULL, "password"), 0);
	ck_assert_uint_eq(passlist_count(NULL), 0);
	passlist_free(NULL);
	passlist_free(pl);
	ck_assert_ptr_null(passlist_load("/nonexistent/x", NULL, 0));
}
END_TEST

Suite *
suite(void)
{
	Suite	*s = suite_create("passlist");
	TCase	*tc = tcase_create("load");

	tcase_add_test(tc, listed_password_is_found_and_others_are_not);
	tcase_add_test(tc, lookup_ignores_case);
	tcase_add_test(tc, upper_case_entry_in_the_file_still_matches);
	tcase_add_test(tc, crlf_file_is_read_like_lf);
	tcase_add_test(tc, last_line_without_newline_is_kept);
	tcase_add_test(tc,
	    blank_lines_and_bom_are_ignored_and_duplicates_merged);
	tcase_add_test(tc, missing_file_gives_null_and_says_why);
	tcase_add_test(tc, directory_is_refused);
	tcase_add_test(tc, empty_file_is_refused);
	tcase_add_test(tc, line_over_the_bound_is_refused_with_its_number);
	tcase_add_test(tc, line_of_128_four_byte_chars_fits_and_matches_whole);
	tcase_add_test(tc, nul_byte_in_a_line_is_refused);
	tcase_add_test(tc, twenty_thousand_entries_are_all_found);
	tcase_add_test(tc, null_arguments_are_harmless);
	suite_add_tcase(s, tc);
	return s;
}
