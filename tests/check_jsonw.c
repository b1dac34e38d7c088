/*
 * jsonw and user_json: what the hot path writes by hand parses back,
 * under json-c's strict parser, to the very object json-c builds for the
 * same user, whatever bytes the fields hold.
 */
#include <string.h>

#include <check.h>
#include <json-c/json.h>

#include <time.h>

#include "lib/arena.h"
#include "lib/jsonh.h"
#include "lib/jsonw.h"
#include "runner.h"
#include "app/user_json.h"
#include "store/users.h"

static struct arena	*arena;

static void
setup(void)
{
	arena = arena_new(4096);
}

static void
teardown(void)
{
	arena_free(arena);
}

/* Parses len bytes of s strictly: the object, or NULL. */
static struct json_object *
parse_strict(const char *s, size_t len)
{
	struct json_tokener	*tok;
	struct json_object	*o;

	ck_assert_ptr_nonnull(tok = json_tokener_new_ex(8));
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
	    JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(tok, s, (int)len);
	if (o != NULL && json_tokener_get_parse_end(tok) != len) {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	return o;
}

/* The hand-written USER of u is json-c's, member for member. */
static void
assert_same(const struct user *u)
{
	struct json_object	*want = user_json(u), *got;
	const char		*text;
	size_t			 len;

	ck_assert_ptr_nonnull(text = user_json_text(u, arena, &len));
	ck_assert_uint_eq(strlen(text), len);
	got = parse_strict(text, len);
	ck_assert_msg(got != NULL, "not strict JSON: %s", text);
	ck_assert_msg(json_object_equal(got, want), "%s\nis not\n%s", text,
	    json_object_to_json_string_ext(want, JSON_C_TO_STRING_PLAIN));
	json_object_put(got);
	json_object_put(want);
}

static struct user
user_with(const char *s)
{
	struct user	 u;

	memset(&u, 0, sizeof(u));
	u.id = 9007199254740993LL;	/* past a double's integers */
	u.first_name = s;
	u.last_name = "Lee";
	u.username = "ann_lee";
	u.email = "ann@example.com";
	u.phone_number = "+15551234567";
	u.gender = "female";
	u.created_at = 1764115199;
	u.updated_at = 0;
	return u;
}

START_TEST(plain_user_is_what_json_c_writes)
{
	struct user	 u = user_with("Ann");
	struct json_object *o = user_json(&u);
	const char	*text;
	size_t		 len;

	ck_assert_ptr_nonnull(text = user_json_text(&u, arena, &len));
	/* byte for byte, for a user without anything to escape */
	ck_assert_str_eq(text, json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}
END_TEST

START_TEST(every_byte_that_needs_escaping_is_escaped)
{
	static const char *const names[] = {
		"", "\"", "\\", "/", "\"\\\"\\", "a\"b", "tab\there",
		"line\nbreak\r\n", "\b\f", "\x01\x02\x1f\x7f", "é日😀",
		"</script>", "\\u0000", "end\\",
	};
	char		 all[32];
	struct user	 u;
	size_t		 i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		u = user_with(names[i]);
		assert_same(&u);
	}
	for (i = 1; i < 32; i++)
		all[i - 1] = (char)i;
	all[31] = '\0';
	u = user_with(all);
	assert_same(&u);
}
END_TEST

START_TEST(longest_fields_fit)
{
	char		 big[USERS_FIELD_MAX + 1];
	struct user	 u;

	memset(big, '\x01', USERS_FIELD_MAX);	/* six bytes each, escaped */
	big[USERS_FIELD_MAX] = '\0';
	u = user_with(big);
	u.last_name = u.username = u.email = u.phone_number = u.gender = big;
	assert_same(&u);
}
END_TEST

START_TEST(writer_that_runs_out_of_room_writes_nothing)
{
	struct jsonw	 w;
	size_t		 len;

	jsonw_begin(&w, arena, 10);
	jsonw_str(&w, "key", "a value longer than the room");
	ck_assert_ptr_null(jsonw_end(&w, &len));
	jsonw_begin(&w, arena, 16);
	jsonw_str(&w, "k", NULL);
	jsonw_int(&w, "n", -5);
	ck_assert_str_eq(jsonw_end(&w, &len), "{\"k\":null,\"n\":-5}");
	ck_assert_uint_eq(len, 17);
}
END_TEST

/* strftime's answer, the reference jsonh_time is held to. */
static void
reference_time(time_t t, char out[JSONH_TIME_LEN + 1])
{
	struct tm	 tm;

	ck_assert_ptr_nonnull(gmtime_r(&t, &tm));
	strftime(out, JSONH_TIME_LEN + 1, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

START_TEST(times_are_what_gmtime_and_strftime_write)
{
	static const long long edges[] = {
		0, -1, 59, 60, 86399, 86400, 951782400 /* 2000-02-29 */,
		951868800, -2203891200LL /* 1900-03-01 */, 4107542400LL
		/* 2100-03-01 */, 1764115199, -30610224000LL /* 1000-01-01 */,
		253402300799LL /* 9999-12-31T23:59:59 */, 1709164800
		/* 2024-02-29 */,
	};
	char		 got[JSONH_TIME_LEN + 1], want[JSONH_TIME_LEN + 1];
	long long	 t;
	size_t		 i;

	for (i = 0; i < sizeof(edges) / sizeof(edges[0]); i++) {
		jsonh_time((time_t)edges[i], got);
		reference_time((time_t)edges[i], want);
		ck_assert_msg(strcmp(got, want) == 0, "%lld: %s, not %s",
		    edges[i], got, want);
	}
	/* four digits always (strftime writes year 0 as "0") */
	jsonh_time((time_t)-62167219200LL, got);
	ck_assert_str_eq(got, "0000-01-01T00:00:00Z");
	/* every 3 d 0 h 12 min 53 s from 1600 to 2500: every date, hours */
	for (t = -11676096000LL; t < 16725225600LL; t += 259973) {
		jsonh_time((time_t)t, got);
		reference_time((time_t)t, want);
		ck_assert_msg(strcmp(got, want) == 0, "%lld: %s, not %s", t,
		    got, want);
	}
}
END_TEST

Suite *
suite(void)
{
	Suite	*s = suite_create("jsonw");
	TCase	*tc = tcase_create("user");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, plain_user_is_what_json_c_writes);
	tcase_add_test(tc, every_byte_that_needs_escaping_is_escaped);
	tcase_add_test(tc, longest_fields_fit);
	tcase_add_test(tc, writer_that_runs_out_of_room_writes_nothing);
	tcase_add_test(tc, times_are_what_gmtime_and_strftime_write);
	suite_add_tcase(s, tc);
	return s;
}
