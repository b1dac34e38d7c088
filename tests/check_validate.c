/* /auth/register and /auth/login field rules and their 422 wording (SPEC 2). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <unicase.h>
#include <uninorm.h>

#include "lib/arena.h"
#include "auth/passlist.h"
#include "runner.h"
#include "auth/validate.h"
#include "lib/utf8.h"

#define EMOJI	"\xf0\x9f\x98\x80"	/* U+1F600, 4 bytes */
#define ZO	"\xc5\xbb\xc3\xb3"	/* "Żó": 2 characters, 4 bytes */
#define PHONE_MSG	"String should match pattern '^\\+?[1-9][0-9]{1,14}$'"
#define EMAIL_MSG	"value is not a valid email address: "

static struct arena		*arena;
static struct field_errors	 errs;

static void
setup(void)
{
	arena = arena_new(4096);
	memset(&errs, 0, sizeof(errs));
}

static void
teardown(void)
{
	arena_free(arena);
}

static struct register_input
valid(void)
{
	struct register_input	 in = {
		.first_name = "Jane",
		.last_name = "Doe",
		.email = "jane.doe@example.com",
		.username = "jane_doe",
		.phone_number = "+48123456789",
		.password = "correct horse battery",
		.password_confirmation = "correct horse battery",
		.gender = "female",
	};

	return in;
}

/* n copies of s, in one of a few rotating static buffers. */
static const char *
repeat(const char *s, size_t n)
{
	static char	 bufs[8][2048];
	static int	 next;
	char		*buf = bufs[next++ % 8];
	size_t		 i, len = strlen(s);

	ck_assert_uint_lt(n * len, sizeof(bufs[0]));
	for (i = 0; i < n; i++)
		memcpy(buf + i * len, s, len);
	buf[n * len] = '\0';
	return buf;
}

static void
run(const struct register_input *in, const struct passlist *pl)
{
	validate_register(in, pl, arena, &errs);
}

/* The error on field, or NULL. */
static const struct field_error *
error_on(const char *field)
{
	size_t	 i;

	for (i = 0; i < errs.n; i++)
		if (strcmp(errs.e[i].field, field) == 0)
			return &errs.e[i];
	return NULL;
}

/* Exactly one error, on field, with msg and type. */
static void
only_error(const char *field, const char *msg, const char *type)
{
	ck_assert_uint_eq(errs.n, 1);
	ck_assert_str_eq(errs.e[0].field, field);
	ck_assert_str_eq(errs.e[0].msg, msg);
	ck_assert_str_eq(errs.e[0].type, type);
}

static struct passlist *
list_of(const char *data)
{
	char		 path[] = "/tmp/mockpie-validate-XXXXXX", err[256];
	struct passlist	*pl;
	int		 fd;

	ck_assert_int_ne(fd = mkstemp(path), -1);
	ck_assert_int_eq(write(fd, data, strlen(data)),
	    (ssize_t)strlen(data));
	close(fd);
	pl = passlist_load(path, err, sizeof(err));
	unlink(path);
	ck_assert_msg(pl != NULL, "%s", err);
	return pl;
}

static void
email_ok(const char *email)
{
	struct register_input	 in = valid();

	in.email = email;
	run(&in, NULL);
	ck_assert_msg(errs.n == 0, "%s refused: %s", email,
	    errs.n ? errs.e[0].msg : "");
}

/* Refused with a value_error whose reason contains why. */
static void
email_bad(const char *email, const char *why)
{
	struct register_input	 in = valid();

	in.email = email;
	run(&in, NULL);
	ck_assert_msg(errs.n == 1, "%s accepted", email);
	ck_assert_str_eq(errs.e[0].field, "email");
	ck_assert_str_eq(errs.e[0].type, "value_error");
	ck_assert_msg(strncmp(errs.e[0].msg, EMAIL_MSG,
	    strlen(EMAIL_MSG)) == 0, "%s", errs.e[0].msg);
	ck_assert_msg(strstr(errs.e[0].msg, why) != NULL,
	    "%s: \"%s\" lacks \"%s\"", email, errs.e[0].msg, why);
}

static void
phone(const char *number, int ok)
{
	struct register_input	 in = valid();

	in.phone_number = number;
	run(&in, NULL);
	if (ok)
		ck_assert_msg(errs.n == 0, "%s refused", number);
	else {
		ck_assert_msg(errs.n == 1, "%s accepted", number);
		only_error("phone_number", PHONE_MSG,
		    "string_pattern_mismatch");
	}
}

START_TEST(valid_registration_has_no_errors)
{
	struct register_input	 in = valid();

	errs.n = 99;
	run(&in, NULL);
	ck_assert_uint_eq(errs.n, 0);
}
END_TEST

START_TEST(first_name_of_one_char_is_too_short)
{
	struct register_input	 in = valid();

	in.first_name = "J";
	run(&in, NULL);
	only_error("first_name", "String should have at least 2 characters",
	    "string_too_short");
	in.first_name = "\xc5\xbb";	/* "Ż": one character, 2 bytes */
	run(&in, NULL);
	only_error("first_name", "String should have at least 2 characters",
	    "string_too_short");
}
END_TEST

START_TEST(names_of_two_and_fifty_chars_are_accepted_multibyte_too)
{
	struct register_input	 in = valid();

	in.first_name = "Jo";
	in.last_name = ZO;
	run(&in, NULL);
	ck_assert_uint_eq(errs.n, 0);
	in.first_name = repeat("a", 50);
	in.last_name = repeat("\xc5\xbc", 50);	/* 50 x "ż" = 100 bytes */
	run(&in, NULL);
	ck_assert_uint_eq(errs.n, 0);
}
END_TEST

START_TEST(name_of_fifty_one_chars_is_too_long)
{
	struct register_input	 in = valid();

	in.last_name = repeat("\xc5\xbc", 51);
	run(&in, NULL);
	only_error("last_name", "String should have at most 50 characters",
	    "string_too_long");
	in.last_name = "Doe";
	in.first_name = repeat("a", 51);
	run(&in, NULL);
	only_error("first_name", "String should have at most 50 characters",
	    "string_too_long");
}
END_TEST

START_TEST(name_with_control_characters_is_refused)
{
	static const char *const bad[] = { "Jo\x01hn", "John\n", "Jo\x7fhn",
	    "Jo\xc2\x85hn", "Jo\thn", "Jo\xffhn" };
	struct register_input	 in = valid();
	size_t			 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		in.first_name = bad[i];
		run(&in, NULL);
		only_error("first_name",
		    "Value error, Name must contain only printable characters",
		    "value_error");
	}
	in.first_name = "Mary Ann O'Neil-\xc5\xbb" "ak";
	run(&in, NULL);
	ck_assert_uint_eq(errs.n, 0);
}
END_TEST

START_TEST(username_length_is_three_to_fifty)
{
	struct register_input	 in = valid();

	in.username = "ab";
	run(&in, NULL);
	only_error("username", "String should have at least 3 characters",
	    "string_too_short");
	in.username = "abc";
	run(&in, NULL);
	ck_assert_uint_eq(errs.n, 0);
	in.username = repeat("x", 50);
	run(&in, NULL);
	ck_assert_uint_eq(errs.n, 0);
	in.username = repeat("x", 51);
	run(&in, NULL);
	only_error("username", "String should have at most 50 characters",
	    "string_too_long");
}
END_TEST

START_TEST(username_outside_its_charset_fails_the_pattern)
{
	static const char *const bad[] = { "john doe", "john+1", "jane@doe",
	    "\xc5\xbb\xc3\xb3\xc5\x82w", "tab\there", "semi;colon" };
	struct register_input	 in = valid();
	size_t			 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		in.username = bad[i];
		run(&in, NULL);
		only_error("username",
		    "String should match pattern '^[A-Za-z0-9_.-]+$'",
		    "string_pattern_mismatch");
	}
	in.username = "A.b_C-9";
	run(&in, NULL);
	ck_assert_uint_eq(errs.n, 0);
}
END_TEST

START_TEST(phone_number_follows_the_e164_pattern)
{
	phone("+1234", 1);
	phone("12", 1);
	phone("+123456789012345", 1);		/* 15 digits */
	phone("123456789012345", 1);
	phone("1", 0);
	phone("+1", 0);
	phone("0123", 0);
	phone("+0123", 0);
	phone("1234567890123456", 0);		/* 16 digits */
	phone("+1234567890123456", 0);
	phone("+", 0);
	phone("++123", 0);
	phone("123-456", 0);
	phone(" 1234", 0);
	phone("1234 ", 0);
	phone("12a4", 0);
	phone("\xd9\xa1\xd9\xa2\xd9\xa3", 0);	/* Arabic-Indic digits */
}
END_TEST

START_TEST(valid_emails_are_accepted)
{
	email_ok("a@b.co");
	email_ok("John.Doe+tag@Example.COM");
	email_ok("o'neil_x-y@mail.example.org");
	email_ok("\xc5\xbc\xc3\xb3\xc5\x82w@przyk\xc5\x82" "ad.pl");
	email_ok("user@xn--80ak6aa92e.com");
	email_ok("1@2.3");
}
END_TEST

START_TEST(invalid_emails_are_refused_with_a_reason)
{
	email_bad("plain.example.com", "must have an @-sign");
	email_bad("a@b@example.com", "exactly one @-sign");
	email_bad("@example.com", "something before the @-sign");
	email_bad("a@", "something after the @-sign");
	email_bad("a@localhost", "It should have a period");
	email_bad("a@.example.com", "period immediately after the @-sign");
	email_bad("a@example.com.", "cannot end with a period");
	email_bad("a@example..com", "two periods in a row");
	email_bad(".a@example.com", "cannot start with a period");
	email_bad("a.@example.com", "period immediately before the @-sign");
	email_bad("a..b@example.com", "two periods in a row");
	email_bad("a b@example.com", "spaces or control characters");
	email_bad("a@exam ple.com", "spaces or control characters");
	email_bad("a\t@example.com", "spaces or control characters");
	email_bad("a\xc2\xa0" "b@example.com", "spaces or control characters");
	email_bad("a\xc2\x85" "b@example.com", "spaces or control characters");
	email_bad("a\xff@example.com", "not valid UTF-8");
	email_bad("a<b@example.com",
	    "invalid characters before the @-sign: '<'");
	email_bad("a@exa_mple.com", "after the @-sign contains invalid "
	    "characters: '_'");
	email_bad("a@-example.com", "cannot start or end with a hyphen");
	email_bad("a@example-.com", "cannot start or end with a hyphen");
}
END_TEST

START_TEST(email_missing_at_sign_has_email_validator_wording)
{
	struct register_input	 in = valid();

	in.email = "jane";
	run(&in, NULL);
	only_error("email", "value is not a valid email address: An email "
	    "address must have an @-sign.", "value_error");
}
END_TEST

START_TEST(email_length_bounds_are_enforced)
{
	char	 email[400];

	/* local part: 64 bytes fine, 65 not */
	snprintf(email, sizeof(email), "%s@example.com", repeat("a", 64));
	email_ok(email);
	snprintf(email, sizeof(email), "%s@example.com", repeat("a", 65));
	email_bad(email, "too long before the @-sign (1 byte too many)");

	/* whole address: 254 characters fine, 255 not */
	snprintf(email, sizeof(email), "%s@%s.%s.%s", repeat("a", 64),
	    repeat("b", 63), repeat("c", 63), repeat("d", 61));
	ck_assert_uint_eq(strlen(email), 254);
	email_ok(email);
	snprintf(email, sizeof(email), "%s@%s.%s.%s", repeat("a", 64),
	    repeat("b", 63), repeat("c", 63), repeat("d", 62));
	email_bad(email, "The email address is too long (1 character too "
	    "many).");

	/* a domain label over 63 bytes */
	snprintf(email, sizeof(email), "a@%s.com", repeat("b", 64));
	email_bad(email, "periods cannot be separated by so many characters");
}
END_TEST

START_TEST(email_length_counts_characters_not_bytes)
{
	char	 email[1200];

	/* 60 x "ż" is 120 bytes: too long for the local part in bytes */
	snprintf(email, sizeof(email), "%s@example.com",
	    repeat("\xc5\xbc", 60));
	email_bad(email, "too long before the @-sign");
	/* 300 characters of domain: too long, counted in characters */
	snprintf(email, sizeof(email), "a@%s.%s.%s.%s.%s",
	    repeat("\xc5\xbc", 60), repeat("\xc5\xbc", 60),
	    repeat("\xc5\xbc", 60), repeat("\xc5\xbc", 60),
	    repeat("\xc5\xbc", 56));
	ck_assert_uint_eq(utf8_chars(email), 302);
	email_bad(email, "The email address is too long (48 characters too "
	    "many).");
}
END_TEST

START_TEST(gender_must_be_one_of_three_values)
{
	static const char *const good[] = { "male", "female",
	    "prefer_not_to_say" };
	static const char *const bad[] = { "Male", "other", "f", "male ",
	    "prefer not to say" };
	struct register_input	 in = valid();
	size_t			 i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		in.gender = good[i];
		run(&in, NULL);
		ck_assert_uint_eq(errs.n, 0);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		in.gender = bad[i];
		run(&in, NULL);
		only_error("gender", "Input should be 'male', 'female' or "
		    "'prefer_not_to_say'", "enum");
	}
}
END_TEST

START_TEST(common_password_is_refused_whatever_its_case)
{
	struct passlist		*pl = list_of("password123\nletmein!!\n");
	struct register_input	 in = valid();

	in.password = in.password_confirmation = "PassWord123";
	run(&in, pl);
	only_error("password", "Value error, Password is too common",
	    "value_error");
	in.password = in.password_confirmation = "LETMEIN!!";
	run(&in, pl);
	only_error("password", "Value error, Password is too common",
	    "value_error");
	in.password = in.password_confirmation = "password1234";
	run(&in, pl);
	ck_assert_uint_eq(errs.n, 0);
	/* without a list, only the other rules apply */
	in.password = in.password_confirmation = "password123";
	run(&in, NULL);
	ck_assert_uint_eq(errs.n, 0);
	passlist_free(pl);
}
END_TEST

START_TEST(password_equal_to_username_in_other_case_is_refused)
{
	struct register_input	 in = valid();

	in.username = "JaneDoe_1984";
	in.password = in.password_confirmation = "janedoe_1984";
	run(&in, NULL);
	only_error("password",
	    "Value error, Password must not equal the email or username",
	    "value_error");
	in.password = in.password_confirmation = "janedoe_1984!";
	run(&in, NULL);
	ck_assert_uint_eq(errs.n, 0);
}
END_TEST

START_TEST(password_equal_to_email_in_other_case_is_refused)
{
	struct register_input	 in = valid();

	in.email = "Jane@Example.com";
	in.password = in.password_confirmation = "jane@EXAMPLE.COM";
	run(&in, NULL);
	only_error("password",
	    "Value error, Password must not equal the email or username",
	    "value_error");
}
END_TEST

START_TEST(password_length_is_eight_to_128_characters)
{
	struct register_input	 in = valid();

	in.password = in.password_confirmation = "abcdefg";
	run(&in, NULL);
	only_error("password", "String should have at least 8 characters",
	    "string_too_short");
	in.password = in.password_confirmation = repeat("\xc5\xbc", 7);
	run(&in, NULL);			/* 14 bytes, but 7 characters */
	only_error("password", "String should have at least 8 characters",
	    "string_too_short");
	in.password = in.password_confirmation = "abcdefgh";
	run(&in, NULL);
	ck_assert_uint_eq(errs.n, 0);
	in.password = in.password_confirmation = repeat("\xc5\xbc", 8);
	run(&in, NULL);
	ck_assert_uint_eq(errs.n, 0);
}
END_TEST

START_TEST(password_of_128_four_byte_chars_is_accepted_129_refused)
{
	struct register_input	 in = valid();

	in.password = in.password_confirmation = repeat(EMOJI, 128);
	ck_assert_uint_eq(strlen(in.password), 512);
	run(&in, NULL);
	ck_assert_uint_eq(errs.n, 0);
	in.password = in.password_confirmation = repeat(EMOJI, 129);
	run(&in, NULL);
	only_error("password", "String should have at most 128 characters",
	    "string_too_long");
}
END_TEST

START_TEST(long_password_is_compared_whole_not_truncated)
{
	char			 list[1100], near[600];
	struct passlist		*pl;
	struct register_input	 in = valid();

	snprintf(list, sizeof(list), "%s\n%sa\n", repeat(EMOJI, 128),
	    repeat(EMOJI, 127));
	pl = list_of(list);
	in.password = in.password_confirmation = repeat(EMOJI, 128);
	run(&in, pl);
	only_error("password", "Value error, Password is too common",
	    "value_error");
	/* same first 127 characters as a listed one, different last */
	snprintf(near, sizeof(near), "%sb", repeat(EMOJI, 127));
	in.password = in.password_confirmation = near;
	run(&in, pl);
	ck_assert_uint_eq(errs.n, 0);
	passlist_free(pl);
}
END_TEST

START_TEST(password_with_control_characters_is_refused)
{
	static const char *const bad[] = { "passw\x01rd123", "password\t123",
	    "password\n123", "password\x7f" "123", "password\xc2\x85" "12",
	    "password\xff" "123", "password\xed\xa0\x80" "12" };
	struct register_input	 in = valid();
	size_t			 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		in.password = in.password_confirmation = bad[i];
		run(&in, NULL);
		only_error("password", "Value error, Password must contain "
		    "only printable characters", "value_error");
	}
}
END_TEST

START_TEST(password_with_spaces_and_any_script_is_accepted)
{
	struct register_input	 in = valid();

	in.password = in.password_confirmation =
	    "  zaż\xc3\xb3\xc5\x82\xc4\x87 g\xc4\x99\xc5\x9bl\xc4\x85 " EMOJI
	    " \xe6\x97\xa5\xe6\x9c\xac ";
	run(&in, NULL);
	ck_assert_uint_eq(errs.n, 0);
}
END_TEST

START_TEST(missing_fields_are_reported_in_field_order)
{
	static const char *const order[] = { "first_name", "last_name",
	    "email", "username", "phone_number", "password",
	    "password_confirmation", "gender" };
	struct register_input	 in;
	size_t			 i;

	memset(&in, 0, sizeof(in));
	run(&in, NULL);
	ck_assert_uint_eq(errs.n, 8);
	for (i = 0; i < 8; i++) {
		ck_assert_str_eq(errs.e[i].field, order[i]);
		ck_assert_str_eq(errs.e[i].msg, "Field required");
		ck_assert_str_eq(errs.e[i].type, "missing");
	}
	/* an empty field counts as not sent, as FastAPI forms read it */
	in = valid();
	in.username = "";
	in.password_confirmation = "";
	run(&in, NULL);
	ck_assert_uint_eq(errs.n, 2);
	ck_assert_str_eq(errs.e[0].field, "username");
	ck_assert_str_eq(errs.e[0].type, "missing");
	ck_assert_str_eq(errs.e[1].field, "password_confirmation");
	ck_assert_str_eq(errs.e[1].type, "missing");
}
END_TEST

START_TEST(several_bad_fields_give_one_entry_each_in_order)
{
	struct register_input	 in = valid();

	in.first_name = "J";
	in.email = "not-an-email";
	in.phone_number = "0123";
	in.password = in.password_confirmation = "short";
	in.gender = "other";
	run(&in, NULL);
	ck_assert_uint_eq(errs.n, 5);
	ck_assert_str_eq(errs.e[0].field, "first_name");
	ck_assert_str_eq(errs.e[0].type, "string_too_short");
	ck_assert_str_eq(errs.e[1].field, "email");
	ck_assert_str_eq(errs.e[1].type, "value_error");
	ck_assert_str_eq(errs.e[2].field, "phone_number");
	ck_assert_str_eq(errs.e[2].type, "string_pattern_mismatch");
	ck_assert_str_eq(errs.e[3].field, "password");
	ck_assert_str_eq(errs.e[3].type, "string_too_short");
	ck_assert_str_eq(errs.e[4].field, "gender");
	ck_assert_str_eq(errs.e[4].type, "enum");
	ck_assert_ptr_null(error_on("username"));
}
END_TEST

START_TEST(confirmation_mismatch_is_not_a_422)
{
	struct register_input	 in = valid();

	in.password_confirmation = "something else entirely";
	run(&in, NULL);
	ck_assert_uint_eq(errs.n, 0);
	ck_assert_int_eq(validate_passwords_match(in.password,
	    in.password_confirmation), 0);
	ck_assert_int_eq(validate_passwords_match("Secret123", "secret123"),
	    0);
	ck_assert_int_eq(validate_passwords_match("Secret123", "Secret123"),
	    1);
	ck_assert_int_eq(validate_passwords_match(NULL, "x"), 0);
}
END_TEST

START_TEST(login_needs_email_and_password)
{
	validate_login(arena, NULL, NULL, &errs);
	ck_assert_uint_eq(errs.n, 2);
	ck_assert_str_eq(errs.e[0].field, "email");
	ck_assert_str_eq(errs.e[0].msg, "Field required");
	ck_assert_str_eq(errs.e[0].type, "missing");
	ck_assert_str_eq(errs.e[1].field, "password");
	ck_assert_str_eq(errs.e[1].type, "missing");
	validate_login(arena, "jane@example.com", "", &errs);
	only_error("password", "Field required", "missing");
	validate_login(arena, "jane@example.com", "x", &errs);
	ck_assert_uint_eq(errs.n, 0);
}
END_TEST

START_TEST(login_refuses_an_email_that_has_no_canonical_form)
{
	validate_login(arena, "dave\xc2\xad@example.com", "x", &errs);
	ck_assert_uint_eq(errs.n, 1);
	ck_assert_str_eq(errs.e[0].field, "email");
	ck_assert_str_eq(errs.e[0].type, "value_error");
	ck_assert_str_eq(errs.e[0].msg, EMAIL_MSG "The email address contains "
	    "unsafe characters: SOFT HYPHEN.");
	validate_login(arena, "jane", "x", &errs);
	only_error("email", EMAIL_MSG "An email address must have an @-sign.",
	    "value_error");
}
END_TEST

/* s's canonical form is want (NULL: refused), and is its own. */
static void
canon(const char *s, const char *want)
{
	const char	*got = validate_email_canonical(arena, s);

	if (want == NULL) {
		ck_assert_msg(got == NULL, "%s -> %s", s, got);
		return;
	}
	ck_assert_msg(got != NULL, "%s refused", s);
	ck_assert_str_eq(got, want);
	ck_assert_str_eq(validate_email_canonical(arena, got), want);
}

START_TEST(email_is_stored_in_its_canonical_form)
{
	canon("John.DOE@Example.COM", "john.doe@example.com");
	/* ŻÓŁW@X.PL -> żółw@x.pl */
	canon("\xc5\xbb\xc3\x93\xc5\x81W@X.PL",
	    "\xc5\xbc\xc3\xb3\xc5\x82w@x.pl");
	ck_assert_ptr_null(validate_email_canonical(arena, NULL));
}
END_TEST

/*
 * An ASCII local part is folded without libunistring (a fast path): its
 * result must be what the full Unicode fold and NFKC give, for every
 * printable ASCII character the syntax lets through.
 */
START_TEST(an_ascii_local_part_folds_as_unicode_folds_it)
{
	char		 email[32], want[32];
	const char	*got;
	uint8_t		*f;
	size_t		 flen;
	int		 c, accepted = 0;

	for (c = 0x21; c < 0x7f; c++) {
		if (c == '@' || c == '"' || c == '\\')
			continue;
		snprintf(email, sizeof(email), "Ab%cZ@example.com", c);
		if ((got = validate_email_canonical(arena, email)) == NULL)
			continue;	/* refused by the syntax */
		accepted++;
		flen = 0;
		f = u8_casefold((const uint8_t *)email, 4, NULL,
		    UNINORM_NFKC, NULL, &flen);
		ck_assert_ptr_nonnull(f);
		snprintf(want, sizeof(want), "%.*s@example.com", (int)flen,
		    (const char *)f);
		free(f);
		ck_assert_str_eq(got, want);
	}
	ck_assert_int_ge(accepted, 70);	/* letters, digits, specials */
}
END_TEST

/* Issue 13.3: the spellings that made separate accounts are one. */
START_TEST(equivalent_spellings_have_one_canonical_form)
{
	/* carol@bücher.de, its A-label in capitals, its NFD spelling */
	canon("carol@b\xc3\xbc" "cher.de", "carol@xn--bcher-kva.de");
	canon("carol@XN--BCHER-KVA.DE", "carol@xn--bcher-kva.de");
	canon("carol@bu\xcc\x88" "cher.de", "carol@xn--bcher-kva.de");
	canon("Carol@B\xc3\x9c" "CHER.de", "carol@xn--bcher-kva.de");
	/* dave@ｅｘａｍｐｌｅ.com, and an ideographic full stop */
	canon("dave@\xef\xbd\x85\xef\xbd\x98\xef\xbd\x81\xef\xbd\x8d"
	    "\xef\xbd\x90\xef\xbd\x8c\xef\xbd\x85.com", "dave@example.com");
	canon("dave@example\xe3\x80\x82" "com", "dave@example.com");
	/* the Kelvin sign folds to k; fullwidth local parts fold too */
	canon("\xe2\x84\xaa" "im@example.com", "kim@example.com");
	canon("\xef\xbd\x84\xef\xbd\x81ve@example.com", "dave@example.com");
	/* full case folding: ß and ẞ are ss, the ligature fi is f i */
	canon("Stra\xc3\x9f" "e@example.com", "strasse@example.com");
	canon("\xe1\xba\x9e@example.com", "ss@example.com");
	canon("\xef\xac\x81n@example.com", "fin@example.com");
	/* precomposed and decomposed é in the local part */
	canon("Ren\xc3\xa9@example.com", "ren\xc3\xa9@example.com");
	canon("Rene\xcc\x81@example.com", "ren\xc3\xa9@example.com");
	/* non-transitional UTS 46: ß stays ß in a domain */
	canon("a@stra\xc3\x9f" "e.de", "a@xn--strae-oqa.de");
}
END_TEST

/* UTF-8 of c into buf (at least 5 bytes). */
static void
put_utf8(char *buf, unsigned c)
{
	unsigned char	*b = (unsigned char *)buf;

	if (c < 0x800) {
		b[0] = 0xc0 | c >> 6;
		b[1] = 0x80 | (c & 0x3f);
		b[2] = 0;
	} else if (c < 0x10000) {
		b[0] = 0xe0 | c >> 12;
		b[1] = 0x80 | (c >> 6 & 0x3f);
		b[2] = 0x80 | (c & 0x3f);
		b[3] = 0;
	} else {
		b[0] = 0xf0 | c >> 18;
		b[1] = 0x80 | (c >> 12 & 0x3f);
		b[2] = 0x80 | (c >> 6 & 0x3f);
		b[3] = 0x80 | (c & 0x3f);
		b[4] = 0;
	}
}

/*
 * What is stored logs in: the canonical form of an address is accepted
 * and is its own, for a sample of every code point in the local part and
 * in the domain (all of them were checked once, by hand: none differs).
 */
START_TEST(every_canonical_form_is_its_own)
{
	char		 cp[8], email[64];
	const char	*c1, *c2;
	unsigned	 c;
	int		 where, n = 0;

	for (c = 0x80; c < 0x110000; c += c < 0x3400 ? 1 : 97) {
		if (c >= 0xd800 && c <= 0xdfff)
			continue;
		put_utf8(cp, c);
		for (where = 0; where < 2; where++) {
			snprintf(email, sizeof(email), where ? "a@a%sb.com" :
			    "a%sb@example.com", cp);
			arena_reset(arena);
			if ((c1 = validate_email_canonical(arena, email)) ==
			    NULL)
				continue;
			n++;
			c2 = validate_email_canonical(arena, c1);
			ck_assert_msg(c2 != NULL && strcmp(c1, c2) == 0,
			    "U+%04X: %s -> %s", c, c1, c2 ? c2 : "refused");
		}
	}
	ck_assert_int_gt(n, 1000);
}
END_TEST

START_TEST(invisible_code_points_are_refused_not_dropped)
{
	email_bad("dave\xc2\xad@example.com",
	    "contains unsafe characters: SOFT HYPHEN.");
	email_bad("dave@ex\xe2\x80\x8d" "ample.com",
	    "contains unsafe characters: ZERO WIDTH JOINER.");
	email_bad("da\xe2\x80\x8cve@example.com", "ZERO WIDTH NON-JOINER");
	email_bad("dave@ex\xc2\xad" "ample.com", "SOFT HYPHEN");
	email_bad("\xe2\x80\xae" "dave@example.com",
	    "RIGHT-TO-LEFT OVERRIDE");
	email_bad("dave\xe2\x81\xa6@example.com", "LEFT-TO-RIGHT ISOLATE");
	email_bad("dave\xef\xb8\x8f@example.com", "VARIATION SELECTOR-16");
	email_bad("dave\xf3\xa0\x84\x80@example.com", "VARIATION SELECTOR-17");
	email_bad("dave\xe3\x85\xa4@example.com", "HANGUL FILLER");
	email_bad("dave\xcd\x8f@example.com", "COMBINING GRAPHEME JOINER");
	email_bad("dave\xe2\x81\xa0@example.com", "WORD JOINER");
	email_bad("dave\xf3\xa0\x80\x81@example.com", "LANGUAGE TAG");
	/* private use and unassigned: no stable form, no name */
	email_bad("dave\xee\x80\x80@example.com", "U+E000");
	email_bad("dave\xcd\xb8@example.com", "U+0378");
	/* a mark cannot open the local part or the domain */
	email_bad("\xcc\x81" "dave@example.com", "COMBINING ACUTE ACCENT");
	email_bad("dave@\xcc\x81" "example.com", "COMBINING ACUTE ACCENT");
	/* each named once, sorted, at most four */
	email_bad("d\xe2\x80\x8d" "a\xc2\xad" "v\xe2\x80\x8d" "e@example.com",
	    "unsafe characters: SOFT HYPHEN, ZERO WIDTH JOINER.");
}
END_TEST

START_TEST(domains_that_uts46_refuses_are_refused)
{
	email_bad("a@xn--ab.com", "after the @-sign contains invalid "
	    "characters (");
	email_bad("a@xn--a.com", "after the @-sign contains invalid");
	email_bad("a@\xf0\x9f\x98\x80.com", "after the @-sign contains "
	    "invalid");
	email_bad("a@\xe2\x92\x88" "com", "after the @-sign contains invalid");
	email_bad("a@ab--cd.com", "after the @-sign contains invalid");
	/* mapped to what a host name cannot hold: fullwidth _ and @ */
	email_bad("a@ex\xef\xbc\xbf" "ample.com",
	    "The part after the @-sign contains invalid characters: '_'.");
	email_bad("a@ex\xef\xbc\xa0" "ample.com",
	    "The part after the @-sign contains invalid characters: '@'.");
	/* ideographic full stops making an empty label */
	email_bad("a@example\xe3\x80\x82\xe3\x80\x82" "com",
	    "two periods in a row");
	/* folding that makes an @-sign or a parenthesis in the local part */
	email_bad("a\xef\xb9\xab" "b@example.com",
	    "invalid characters before the @-sign: '@'");
	email_bad("\xe2\x91\xb4@example.com",
	    "invalid characters before the @-sign: '('");
	/* the A-label counts against the length */
	ck_assert_ptr_null(validate_email_canonical(arena,
	    "a@b\xc3\xbc" "cher..de"));
}
END_TEST

START_TEST(characters_are_counted_as_code_points)
{
	ck_assert_uint_eq(utf8_chars(ZO), 2);
	ck_assert_uint_eq(utf8_chars(""), 0);
	ck_assert_uint_eq(utf8_chars(NULL), 0);
	ck_assert_uint_eq(utf8_chars(EMOJI EMOJI "a"), 3);
	ck_assert_uint_eq(utf8_chars("\xe6\x97\xa5"), 1);
	/* bytes that are not UTF-8 count one each, nothing read past NUL */
	ck_assert_uint_eq(utf8_chars("\xff\xfe"), 2);
	ck_assert_uint_eq(utf8_chars("\xe6\x97"), 2);
	ck_assert_uint_eq(utf8_chars("\xf0\x9f\x98"), 3);
	ck_assert_uint_eq(utf8_chars("\xc0\xaf"), 2);	/* overlong */
	/* a surrogate */
	ck_assert_uint_eq(utf8_chars("\xed\xa0\x80"), 3);
	ck_assert_uint_eq(utf8_chars("\xf4\x90\x80\x80"), 4);
}
END_TEST

START_TEST(case_folding_covers_latin_greek_and_cyrillic)
{
	char	 buf[64];

	ck_assert_int_eq(utf8_equal_nocase("Password", "pASSWORD"), 1);
	ck_assert_int_eq(utf8_equal_nocase("\xc3\x89t\xc3\xa9",
	    "\xc3\xa9T\xc3\x89"), 1);				/* Été */
	ck_assert_int_eq(utf8_equal_nocase("\xce\xa9\xce\xbc\xce\xad",
	    "\xcf\x89\xce\x9c\xce\x88"), 1);			/* Ωμέ */
	ck_assert_int_eq(utf8_equal_nocase("\xd0\x81\xd0\x96",
	    "\xd1\x91\xd0\xb6"), 1);				/* ЁЖ */
	ck_assert_int_eq(utf8_equal_nocase("abc", "abcd"), 0);
	ck_assert_int_eq(utf8_equal_nocase("abc", NULL), 0);
	ck_assert_int_eq(utf8_equal_nocase("\xff", "\xfe"), 0);
	ck_assert_int_eq(utf8_fold(buf, sizeof(buf), "A\xc5\xbb\xff"), 0);
	ck_assert_str_eq(buf, "a\xc5\xbc\xff");
	ck_assert_int_eq(utf8_fold(buf, 3, "abc"), -1);
}
END_TEST

Suite *
suite(void)
{
	Suite	*s = suite_create("validate");
	TCase	*tc = tcase_create("register");
	TCase	*tl = tcase_create("login");
	TCase	*tu = tcase_create("utf8");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, valid_registration_has_no_errors);
	tcase_add_test(tc, first_name_of_one_char_is_too_short);
	tcase_add_test(tc,
	    names_of_two_and_fifty_chars_are_accepted_multibyte_too);
	tcase_add_test(tc, name_of_fifty_one_chars_is_too_long);
	tcase_add_test(tc, name_with_control_characters_is_refused);
	tcase_add_test(tc, username_length_is_three_to_fifty);
	tcase_add_test(tc, username_outside_its_charset_fails_the_pattern);
	tcase_add_test(tc, phone_number_follows_the_e164_pattern);
	tcase_add_test(tc, valid_emails_are_accepted);
	tcase_add_test(tc, invalid_emails_are_refused_with_a_reason);
	tcase_add_test(tc, email_missing_at_sign_has_email_validator_wording);
	tcase_add_test(tc, email_length_bounds_are_enforced);
	tcase_add_test(tc, email_length_counts_characters_not_bytes);
	tcase_add_test(tc, equivalent_spellings_have_one_canonical_form);
	tcase_add_test(tc, an_ascii_local_part_folds_as_unicode_folds_it);
	tcase_add_test(tc, every_canonical_form_is_its_own);
	tcase_add_test(tc, invisible_code_points_are_refused_not_dropped);
	tcase_add_test(tc, domains_that_uts46_refuses_are_refused);
	tcase_add_test(tc, gender_must_be_one_of_three_values);
	tcase_add_test(tc, common_password_is_refused_whatever_its_case);
	tcase_add_test(tc, password_equal_to_username_in_other_case_is_refused);
	tcase_add_test(tc, password_equal_to_email_in_other_case_is_refused);
	tcase_add_test(tc, password_length_is_eight_to_128_characters);
	tcase_add_test(tc,
	    password_of_128_four_byte_chars_is_accepted_129_refused);
	tcase_add_test(tc, long_password_is_compared_whole_not_truncated);
	tcase_add_test(tc, password_with_control_characters_is_refused);
	tcase_add_test(tc, password_with_spaces_and_any_script_is_accepted);
	tcase_add_test(tc, missing_fields_are_reported_in_field_order);
	tcase_add_test(tc, several_bad_fields_give_one_entry_each_in_order);
	tcase_add_test(tc, confirmation_mismatch_is_not_a_422);
	suite_add_tcase(s, tc);

	tcase_add_checked_fixture(tl, setup, teardown);
	tcase_add_test(tl, login_needs_email_and_password);
	tcase_add_test(tl, login_refuses_an_email_that_has_no_canonical_form);
	suite_add_tcase(s, tl);

	tcase_add_checked_fixture(tu, setup, teardown);
	tcase_add_test(tu, email_is_stored_in_its_canonical_form);
	tcase_add_test(tu, characters_are_counted_as_code_points);
	tcase_add_test(tu, case_folding_covers_latin_greek_and_cyrillic);
	suite_add_tcase(s, tu);
	return s;
}
