/*
 * Request-body parsers: what a browser, curl or a hostile client sends
 * (SPEC 2), and the json-c traps of PITFALLS.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "lib/arena.h"
#include "http/body.h"
#include "runner.h"

#define JSON		"application/json"
#define FORM		"application/x-www-form-urlencoded"
#define WEBKIT		"----WebKitFormBoundaryePkpFF7tjBAqx29L"
#define MP_WEBKIT	"multipart/form-data; boundary=" WEBKIT
#define MP		"multipart/form-data; boundary=XyZ"

static struct arena	*arena;
static struct body	 b;

static void
setup(void)
{
	arena = arena_new(4096);
	memset(&b, 0, sizeof(b));
}

static void
teardown(void)
{
	arena_free(arena);
}

static enum body_result
parse(const char *ct, const char *data)
{
	return body_parse(arena, ct, data, strlen(data), &b);
}

/* a literal, embedded NULs included */
#define PARSE_LIT(ct, lit) \
	body_parse(arena, ct, lit, sizeof(lit) - 1, &b)

#define ck_ok(r, n) do {						\
	ck_assert_int_eq((r), BODY_OK);					\
	ck_assert_uint_eq(b.nfields, (n));				\
} while (0)

#define ck_invalid(r, field, type) do {					\
	ck_assert_int_eq((r), BODY_INVALID);				\
	ck_assert_pstr_eq(b.err_field, (field));			\
	ck_assert_str_eq(b.err_type, (type));				\
	ck_assert_ptr_nonnull(b.err_msg);				\
	ck_assert_uint_eq(b.nfields, 0);				\
	ck_assert_ptr_null(body_get(&b, "a"));				\
} while (0)

/* --- content types --- */

START_TEST(empty_body_has_no_fields_whatever_its_type)
{
	static const char *types[] = { NULL, JSON, FORM, MP,
	    "multipart/form-data", "text/plain", "", "garbage;;" };
	size_t	 i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		ck_ok(body_parse(arena, types[i], NULL, 0, &b), 0);
		ck_assert_ptr_null(body_get(&b, "all"));
		ck_ok(body_parse(arena, types[i], "", 0, &b), 0);
	}
}
END_TEST

START_TEST(unknown_content_type_is_unsupported)
{
	static const char *types[] = { "text/plain", "application/xml",
	    "application/jsonx", "application/json-patch+json", "",
	    "application", "application/", "/json", "application json",
	    "multipart/mixed; boundary=XyZ", "text/json",
	    "application/json\x01" };
	size_t	 i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		ck_assert_msg(parse(types[i], "{\"a\":\"1\"}") ==
		    BODY_UNSUPPORTED_TYPE, "%s", types[i]);
}
END_TEST

START_TEST(body_without_content_type_is_unsupported)
{
	ck_assert_int_eq(parse(NULL, "a=1"), BODY_UNSUPPORTED_TYPE);
	ck_assert_uint_eq(b.nfields, 0);
}
END_TEST

START_TEST(content_type_is_matched_case_insensitively_with_parameters)
{
	ck_ok(parse("Application/JSON; charset=UTF-8", "{\"a\":\"1\"}"), 1);
	ck_ok(parse("application/json;charset=\"utf-8\"", "{\"a\":\"1\"}"), 1);
	ck_ok(parse(" application/json ; q=1 ;; ", "{\"a\":\"1\"}"), 1);
	ck_ok(parse("APPLICATION/X-WWW-FORM-URLENCODED;charset=UTF-8",
	    "a=1"), 1);
	ck_ok(parse("Multipart/Form-Data; BOUNDARY=\"XyZ\"",
	    "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n"
	    "--XyZ--\r\n"), 1);
	ck_assert_str_eq(body_get(&b, "a"), "1");
}
END_TEST

START_TEST(charset_other_than_utf8_is_unsupported)
{
	ck_assert_int_eq(parse("application/json; charset=iso-8859-1",
	    "{\"a\":\"1\"}"), BODY_UNSUPPORTED_TYPE);
	ck_assert_int_eq(parse(FORM "; charset=windows-1252", "a=1"),
	    BODY_UNSUPPORTED_TYPE);
	ck_assert_int_eq(parse(JSON "; charset=utf-8; charset=latin1",
	    "{\"a\":\"1\"}"), BODY_UNSUPPORTED_TYPE);
	ck_assert_int_eq(parse(JSON "; charset=utf-16", "{\"a\":\"1\"}"),
	    BODY_UNSUPPORTED_TYPE);
}
END_TEST

START_TEST(malformed_content_type_parameters_are_unsupported)
{
	ck_assert_int_eq(parse(JSON "; charset", "{}"),
	    BODY_UNSUPPORTED_TYPE);
	ck_assert_int_eq(parse(JSON "; =utf-8", "{}"), BODY_UNSUPPORTED_TYPE);
	ck_assert_int_eq(parse(JSON "; charset=\"utf-8", "{}"),
	    BODY_UNSUPPORTED_TYPE);
	ck_assert_int_eq(parse(JSON " charset=utf-8", "{}"),
	    BODY_UNSUPPORTED_TYPE);
}
END_TEST

/* --- application/x-www-form-urlencoded --- */

START_TEST(urlencoded_fields_are_decoded)
{
	ck_ok(parse(FORM, "email=zo%C3%AB%40example.com&&password=p%C3%A4ss"
	    "+w%c3%b6rd+%F0%9F%94%91&remember&empty=&"), 4);
	ck_assert_str_eq(body_get(&b, "email"), "zo\xc3\xab@example.com");
	ck_assert_str_eq(body_get(&b, "password"),
	    "p\xc3\xa4ss w\xc3\xb6rd \xf0\x9f\x94\x91");
	ck_assert_str_eq(body_get(&b, "remember"), "");
	ck_assert_str_eq(body_get(&b, "empty"), "");
	ck_assert_uint_eq(b.fields[1].len, strlen(b.fields[1].value));
	ck_assert_ptr_null(body_get(&b, "missing"));
	ck_assert_ptr_null(b.err_type);
}
END_TEST

START_TEST(urlencoded_names_are_decoded_and_first_equals_splits)
{
	ck_ok(parse(FORM, "a%5Bb%5D=x=y&c+d=%2B"), 2);
	ck_assert_str_eq(body_get(&b, "a[b]"), "x=y");
	ck_assert_str_eq(body_get(&b, "c d"), "+");
}
END_TEST

START_TEST(bad_percent_escapes_are_invalid)
{
	ck_invalid(parse(FORM, "a=%zz"), "a", "value_error");
	ck_invalid(parse(FORM, "a=%4"), "a", "value_error");
	ck_invalid(parse(FORM, "a=1&b=%"), "b", "value_error");
	ck_invalid(parse(FORM, "a=%%41"), "a", "value_error");
	ck_invalid(parse(FORM, "a=%4G"), "a", "value_error");
	ck_invalid(parse(FORM, "%G1=x"), NULL, "value_error");
	ck_invalid(parse(FORM, "a%=x"), NULL, "value_error");
	/* the escape's digits must lie inside the body, not after it */
	ck_invalid(body_parse(arena, FORM, "a=%41", 4, &b), "a", "value_error");
	ck_invalid(body_parse(arena, FORM, "a=%41", 3, &b), "a", "value_error");
	ck_ok(body_parse(arena, FORM, "a=%41", 5, &b), 1);
	ck_assert_str_eq(body_get(&b, "a"), "A");
}
END_TEST

START_TEST(urlencoded_nul_is_refused)
{
	ck_invalid(parse(FORM, "a=x%00y"), "a", "value_error");
	ck_invalid(parse(FORM, "a%00b=1"), NULL, "value_error");
	ck_invalid(PARSE_LIT(FORM, "a=x\0y"), "a", "value_error");
}
END_TEST

START_TEST(urlencoded_invalid_utf8_is_refused)
{
	static const char *bad[] = {
		"a=%FF",		/* never in UTF-8 */
		"a=%C0%AF",		/* overlong "/" */
		"a=%E0%80%AF",		/* overlong, 3 bytes */
		"a=%F0%80%80%AF",	/* overlong, 4 bytes */
		"a=%ED%A0%80",		/* surrogate U+D800 */
		"a=%ED%BF%BF",		/* surrogate U+DFFF */
		"a=%F4%90%80%80",	/* U+110000 */
		"a=%F5%80%80%80",
		"a=%C3",		/* truncated */
		"a=%E2%82",
		"a=%80",		/* lone continuation */
		"a=%C3%28",
	};
	size_t	 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(parse(FORM, bad[i]) == BODY_INVALID, "%s",
		    bad[i]);
		ck_assert_str_eq(b.err_type, "string_unicode");
		ck_assert_str_eq(b.err_field, "a");
	}
	ck_invalid(parse(FORM, "%FF=1"), NULL, "string_unicode");
	/* the edges themselves are fine */
	ck_ok(parse(FORM, "a=%ED%9F%BF&b=%EE%80%80&c=%F4%8F%BF%BF&d=%C2%80"),
	    4);
	ck_assert_str_eq(body_get(&b, "c"), "\xf4\x8f\xbf\xbf");
}
END_TEST

START_TEST(duplicate_field_is_refused)
{
	ck_invalid(parse(FORM, "a=1&a=2"), "a", "value_error");
	ck_invalid(parse(FORM, "email=x&b=1&email"), "email", "value_error");
	ck_invalid(parse(FORM, "a=1&%61=1"), "a", "value_error");
}
END_TEST

static char *
many_form_fields(size_t n)
{
	char	*s = arena_printf(arena, "%s", "");
	size_t	 i;

	for (i = 0; i < n; i++)
		s = arena_printf(arena, "%s%sf%zu=v", s, i ? "&" : "", i);
	return s;
}

START_TEST(too_many_fields_are_refused)
{
	ck_ok(parse(FORM, many_form_fields(BODY_MAX_FIELDS)),
	    BODY_MAX_FIELDS);
	ck_assert_str_eq(body_get(&b, "f31"), "v");
	ck_invalid(parse(FORM, many_form_fields(BODY_MAX_FIELDS + 1)), NULL,
	    "value_error");
	ck_invalid(parse(FORM, many_form_fields(1000)), NULL, "value_error");
}
END_TEST

START_TEST(long_field_name_is_refused)
{
	char	 name[BODY_MAX_NAME + 2];

	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	ck_invalid(parse(FORM, arena_printf(arena, "%s=1", name)), NULL,
	    "value_error");
	name[BODY_MAX_NAME] = '\0';
	ck_ok(parse(FORM, arena_printf(arena, "%s=1", name)), 1);
	ck_assert_str_eq(body_get(&b, name), "1");
}
END_TEST

/* --- application/json --- */

START_TEST(json_object_of_strings_is_accepted)
{
	ck_ok(parse(JSON, " {\"first_name\": \"Zo\\u00eb\", \"last_name\":"
	    "\"\xc3\x89lodie \xe6\x9d\xb1\", \"password\": "
	    "\"\\ud83d\\udd11 \\\"q\\\" \\/\", \"empty\": \"\"}\r\n"), 4);
	ck_assert_str_eq(body_get(&b, "first_name"), "Zo\xc3\xab");
	ck_assert_str_eq(body_get(&b, "last_name"),
	    "\xc3\x89lodie \xe6\x9d\xb1");
	ck_assert_str_eq(body_get(&b, "password"),
	    "\xf0\x9f\x94\x91 \"q\" /");
	ck_assert_str_eq(body_get(&b, "empty"), "");
	ck_assert_uint_eq(b.fields[2].len, 10);
	ck_ok(parse(JSON, "{}"), 0);
}
END_TEST

START_TEST(json_strings_that_look_like_keys_are_values)
{
	ck_ok(parse(JSON,
	    "{\"a\":\"x,\\\"b\\\":\\\\\",\"b\":\"{,\\\"c\\\":[\"}"),
	    2);
	ck_assert_str_eq(body_get(&b, "a"), "x,\"b\":\\");
	ck_assert_str_eq(body_get(&b, "b"), "{,\"c\":[");
	ck_ok(parse(JSON, "{\"a\":\"\\\",\\\"k\\\":\\\"\",\"b\":\"1\"}"), 2);
	ck_assert_str_eq(body_get(&b, "a"), "\",\"k\":\"");
	ck_assert_ptr_null(body_get(&b, "k"));
}
END_TEST

START_TEST(json_boolean_becomes_true_or_false)
{
	ck_ok(parse(JSON, "{\"all\":true}"), 1);
	ck_assert_str_eq(body_get(&b, "all"), "true");
	ck_ok(parse(JSON, "{\"all\":false,\"x\":\"1\"}"), 2);
	ck_assert_str_eq(body_get(&b, "all"), "false");
	ck_assert_uint_eq(b.fields[0].len, 5);
}
END_TEST

START_TEST(json_trailing_data_is_refused)
{
	ck_invalid(parse(JSON, "{}{}"), NULL, "json_invalid");
	ck_invalid(parse(JSON, "{\"a\":\"1\"}xyz"), NULL, "json_invalid");
	ck_invalid(parse(JSON, "{\"a\":\"1\"} 1"), NULL, "json_invalid");
	ck_invalid(PARSE_LIT(JSON, "{\"a\":\"1\"}\0"), NULL, "json_invalid");
	ck_invalid(PARSE_LIT(JSON, "{\"a\":\"1\"}\0{\"b\":2}"), NULL,
	    "json_invalid");
	ck_assert_str_eq(b.err_msg, "JSON decode error");
}
END_TEST

/* json-c 0.16 strict still takes single-quoted keys (found by fuzzing) */
START_TEST(json_single_quoted_keys_are_refused)
{
	ck_invalid(parse(JSON, "{'a':\"a\"}"), NULL, "json_invalid");
	ck_invalid(parse(JSON, "{'a':1,'a':\"a\"}"), NULL, "json_invalid");
	ck_invalid(parse(JSON, "{'a\\u0000b':\"a\"}"), NULL, "json_invalid");
	ck_invalid(parse(JSON, "{\"x\":\"1\",'a':\"a\"}"), NULL,
	    "json_invalid");
}
END_TEST

START_TEST(json_lenient_syntax_is_refused)
{
	static const char *bad[] = {
		"{'a':'1'}", "{\"a\":'1'}", "{\"a\":\"1\",}", "{,}",
		"{a:\"1\"}", "{\"a\":\"1\" /* c */}", "{\"a\":\"1\"} // c",
		"{\"a\":\"\\x41\"}", "{\"a\":tRue}", "{\"a\":01}",
		"\xef\xbb\xbf{}", "{\"a\":\"1\"", "{\"a\":", "{", "   ",
		"{\"a\":\"1\"}}", "}", "1 2", "tru", "\"ab", "{\"a\":1",
	};
	size_t	 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(parse(JSON, bad[i]) == BODY_INVALID, "%s",
		    bad[i]);
		ck_assert_str_eq(b.err_type, "json_invalid");
		ck_assert_ptr_null(b.err_field);
	}
}
END_TEST

/* json-c 0.16 takes NaN and Infinity even in strict mode: as numbers. */
START_TEST(json_nan_and_infinity_are_refused)
{
	ck_invalid(parse(JSON, "{\"a\":NaN}"), "a", "string_type");
	ck_invalid(parse(JSON, "{\"a\":Infinity}"), "a", "string_type");
	ck_invalid(parse(JSON, "{\"a\":-Infinity}"), "a", "string_type");
	ck_invalid(parse(JSON, "{\"a\":nan}"), NULL, "json_invalid");
}
END_TEST

START_TEST(json_invalid_utf8_is_refused)
{
	/* json-c's own check catches bytes that are never UTF-8 */
	ck_invalid(parse(JSON, "{\"a\":\"\xff\"}"), NULL, "json_invalid");
	ck_invalid(parse(JSON, "{\"\xfe\":\"1\"}"), NULL, "json_invalid");
	/* but lets overlongs, surrogates and > U+10FFFF through */
	ck_invalid(parse(JSON, "{\"a\":\"\xc0\xaf\"}"), "a", "string_unicode");
	ck_invalid(parse(JSON, "{\"a\":\"\xe0\x80\xaf\"}"), "a",
	    "string_unicode");
	ck_invalid(parse(JSON, "{\"a\":\"\xed\xa0\x80\"}"), "a",
	    "string_unicode");
	ck_invalid(parse(JSON, "{\"a\":\"\xf4\x90\x80\x80\"}"), "a",
	    "string_unicode");
	ck_invalid(parse(JSON, "{\"\xc0\xaf\":\"1\"}"), NULL,
	    "string_unicode");
}
END_TEST

/* PITFALLS json-c, issue 8.7: json-c stores U+FFFD for a lone half. */
START_TEST(json_lone_surrogate_escapes_are_refused_on_their_field)
{
	ck_invalid(parse(JSON, "{\"a\":\"\\ud800\"}"), "a", "string_unicode");
	ck_invalid(parse(JSON, "{\"a\":\"\\udc00\"}"), "a", "string_unicode");
	ck_invalid(parse(JSON, "{\"a\":\"\\uD800\\u0041\"}"), "a",
	    "string_unicode");
	ck_invalid(parse(JSON, "{\"a\":\"x\\ud800\"}"), "a", "string_unicode");
	ck_invalid(parse(JSON, "{\"a\":\"\\ud800x\"}"), "a", "string_unicode");
	ck_invalid(parse(JSON, "{\"a\":\"\\ud800\\ud800\"}"), "a",
	    "string_unicode");
	ck_invalid(parse(JSON, "{\"a\":\"\\udc00\\ud800\"}"), "a",
	    "string_unicode");
	ck_invalid(parse(JSON, "{\"a\":\"\\ud83d\\ude00\\udc00\"}"), "a",
	    "string_unicode");
	/* on the member it is in, the second one here */
	ck_invalid(parse(JSON, "{\"a\":\"1\",\"first_name\":\"Zo\\udbff\"}"),
	    "first_name", "string_unicode");
	ck_invalid(parse(JSON, "{\"a\":\"1\",\"b\":\"\\udfff\",\"c\":\"2\"}"),
	    "b", "string_unicode");
	/* in a key: no name to report */
	ck_invalid(parse(JSON, "{\"a\\ud800\":\"1\"}"), NULL,
	    "string_unicode");
	/* nested, still the member's */
	ck_invalid(parse(JSON, "{\"a\":[\"\\ud800\"]}"), "a", "string_unicode");
	/* an escaped backslash before "ud800" is no escape */
	ck_ok(parse(JSON, "{\"a\":\"\\\\ud800\"}"), 1);
	ck_assert_str_eq(body_get(&b, "a"), "\\ud800");
	/* a pair is a code point, in either case of hex digits */
	ck_ok(parse(JSON, "{\"a\":\"\\ud83d\\ude00\","
	    "\"b\":\"\\uD83D\\uDE00\"}"), 2);
	ck_assert_str_eq(body_get(&b, "a"), "\xf0\x9f\x98\x80");
	ck_assert_str_eq(body_get(&b, "b"), "\xf0\x9f\x98\x80");
	ck_ok(parse(JSON, "{\"a\\ud83d\\ude00\":\"\\u00e9\\ud7ff\\ue000\"}"),
	    1);
	ck_assert_str_eq(body_get(&b, "a\xf0\x9f\x98\x80"),
	    "\xc3\xa9\xed\x9f\xbf\xee\x80\x80");
}
END_TEST

START_TEST(json_escaped_nul_is_refused)
{
	ck_invalid(parse(JSON, "{\"a\":\"x\\u0000y\"}"), "a", "value_error");
	ck_invalid(parse(JSON, "{\"a\":\"\\u0000\"}"), "a", "value_error");
	/* json-c cuts the key at NUL: "a\0x" would become "a" */
	ck_invalid(parse(JSON, "{\"a\\u0000x\":\"1\"}"), NULL, "value_error");
	ck_invalid(parse(JSON, "{\"a\\u0000x\":\"1\",\"a\":\"2\"}"), NULL,
	    "value_error");
	ck_invalid(parse(JSON, "{\"b\":\"2\",\"a\\u0000\":\"1\"}"), NULL,
	    "value_error");
}
END_TEST

START_TEST(json_duplicate_key_is_refused)
{
	ck_invalid(parse(JSON, "{\"a\":\"1\",\"a\":\"2\"}"), "a",
	    "value_error");
	ck_invalid(parse(JSON, "{\"email\":\"x\",\"b\":\"1\",\"email\":\"y\"}"),
	    "email", "value_error");
	/* the same key written two ways */
	ck_invalid(parse(JSON, "{\"all\":false,\"\\u0061ll\":true}"), "all",
	    "value_error");
	ck_invalid(parse(JSON, "{\"a\":\"1\",\"a\":\"1\"}"), "a",
	    "value_error");
	/* json-c keeps the last value: the number must not hide the double */
	ck_invalid(parse(JSON, "{\"a\":\"1\",\"a\":2}"), "a", "value_error");
	ck_assert_str_eq(b.err_msg, "Field given more than once");
	ck_invalid(parse(JSON, "{\"a\":2,\"b\":\"1\",\"a\":\"1\"}"), "a",
	    "value_error");
}
END_TEST

START_TEST(json_non_string_values_are_refused)
{
	ck_invalid(parse(JSON, "{\"a\":\"1\",\"password\":12345678}"),
	    "password", "string_type");
	ck_assert_str_eq(b.err_msg, "Input should be a valid string");
	ck_invalid(parse(JSON, "{\"a\":1.5}"), "a", "string_type");
	ck_invalid(parse(JSON, "{\"a\":null}"), "a", "string_type");
	ck_invalid(parse(JSON, "{\"a\":[\"x\"]}"), "a", "string_type");
	ck_invalid(parse(JSON, "{\"a\":[]}"), "a", "string_type");
	/* PITFALLS: get_string on an object gives its JSON text */
	ck_invalid(parse(JSON, "{\"email\":{\"$ne\":1}}"), "email",
	    "string_type");
	ck_invalid(parse(JSON, "{\"a\":{}}"), "a", "string_type");
}
END_TEST

START_TEST(json_deep_nesting_is_refused)
{
	ck_invalid(parse(JSON, "{\"a\":{\"b\":{\"c\":{\"d\":\"1\"}}}}"), NULL,
	    "json_invalid");
	ck_invalid(parse(JSON, "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["),
	    NULL, "json_invalid");
}
END_TEST

START_TEST(json_top_level_must_be_an_object)
{
	static const char *bad[] = { "[]", "[{\"a\":\"1\"}]", "\"a=1\"", "1",
	    "-1.5e3", " 42 ", "true", "null", "NaN" };
	size_t	 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(parse(JSON, bad[i]) == BODY_INVALID, "%s",
		    bad[i]);
		ck_assert_str_eq(b.err_type, "model_attributes_type");
		ck_assert_str_eq(b.err_msg,
		    "Input should be a valid dictionary or object");
		ck_assert_ptr_null(b.err_field);
	}
}
END_TEST

static char *
many_json_fields(size_t n)
{
	char	*s = arena_printf(arena, "%s", "{");
	size_t	 i;

	for (i = 0; i < n; i++)
		s = arena_printf(arena, "%s%s\"f%zu\":\"v\"", s, i ? "," : "",
		    i);
	return arena_printf(arena, "%s}", s);
}

START_TEST(json_too_many_fields_are_refused)
{
	ck_ok(parse(JSON, many_json_fields(BODY_MAX_FIELDS)),
	    BODY_MAX_FIELDS);
	ck_invalid(parse(JSON, many_json_fields(BODY_MAX_FIELDS + 1)), NULL,
	    "value_error");
	ck_invalid(parse(JSON, many_json_fields(500)), NULL, "value_error");
}
END_TEST

START_TEST(json_long_key_is_refused)
{
	char	 name[BODY_MAX_NAME + 2];

	memset(name, 'k', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	ck_invalid(parse(JSON, arena_printf(arena, "{\"%s\":\"1\"}", name)),
	    NULL, "value_error");
	name[BODY_MAX_NAME] = '\0';
	ck_ok(parse(JSON, arena_printf(arena, "{\"%s\":\"1\"}", name)), 1);
}
END_TEST

/* --- multipart/form-data --- */

/* What Chrome's fetch(url, {body: new FormData(form)}) sends. */
static const char browser_formdata[] =
    "------WebKitFormBoundaryePkpFF7tjBAqx29L\r\n"
    "Content-Disposition: form-data; name=\"first_name\"\r\n"
    "\r\n"
    "Zo\xc3\xab\r\n"
    "------WebKitFormBoundaryePkpFF7tjBAqx29L\r\n"
    "Content-Disposition: form-data; name=\"email\"\r\n"
    "\r\n"
    "zoe@example.com\r\n"
    "------WebKitFormBoundaryePkpFF7tjBAqx29L\r\n"
    "Content-Disposition: form-data; name=\"password\"\r\n"
    "\r\n"
    "p\xc3\xa4ss \xf0\x9f\x94\x91\r\n--x\r\n"
    "------WebKitFormBoundaryePkpFF7tjBAqx29L\r\n"
    "Content-Disposition: form-data; name=\"gender\"\r\n"
    "\r\n"
    "\r\n"
    "------WebKitFormBoundaryePkpFF7tjBAqx29L--\r\n";

START_TEST(browser_formdata_body_is_accepted)
{
	ck_ok(body_parse(arena, MP_WEBKIT, browser_formdata,
	    sizeof(browser_formdata) - 1, &b), 4);
	ck_assert_str_eq(body_get(&b, "first_name"), "Zo\xc3\xab");
	ck_assert_str_eq(body_get(&b, "email"), "zoe@example.com");
	ck_assert_str_eq(body_get(&b, "password"),
	    "p\xc3\xa4ss \xf0\x9f\x94\x91\r\n--x");
	ck_assert_str_eq(body_get(&b, "gender"), "");
	ck_assert_uint_eq(b.fields[2].len, 15);
}
END_TEST

START_TEST(firefox_formdata_with_quoted_boundary_is_accepted)
{
	ck_ok(parse("multipart/form-data; "
	    "boundary=\"---------------------------1234567890\"",
	    "-----------------------------1234567890\r\n"
	    "Content-Disposition: form-data; name=\"all\"\r\n"
	    "\r\n"
	    "true\r\n"
	    "-----------------------------1234567890--\r\n"), 1);
	ck_assert_str_eq(body_get(&b, "all"), "true");
}
END_TEST

START_TEST(multipart_preamble_epilogue_and_padding_are_ignored)
{
	ck_ok(parse(MP, "preamble --XyZ\r\n\r\n--XyZ  \r\n"
	    "X-Other: 1\r\n"
	    "content-disposition:FORM-DATA ; NAME=a\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: 8bit\r\n"
	    "\r\n"
	    "1\r\n--XyZ\t\r\n"
	    "Content-Disposition: form-data; name=\"b\\\"c\"\r\n\r\n"
	    "2\r\n--XyZ--epilogue\r\n--XyZ\r\nnot a part"), 2);
	ck_assert_str_eq(body_get(&b, "a"), "1");
	ck_assert_str_eq(body_get(&b, "b\"c"), "2");
}
END_TEST

START_TEST(multipart_with_no_parts_has_no_fields)
{
	ck_ok(parse(MP, "--XyZ--\r\n"), 0);
	ck_ok(parse(MP, "--XyZ--"), 0);
}
END_TEST

START_TEST(missing_or_bad_boundary_is_invalid)
{
	/* each body would be a valid empty form for that boundary */
	static const struct {
		const char	*type, *body;
	} bad[] = {
		{ "multipart/form-data", "----" },
		{ "multipart/form-data; boundary=", "----" },
		{ "multipart/form-data; boundary=\"\"", "----" },
		{ "multipart/form-data; charset=utf-8", "----" },
		{ "multipart/form-data; boundary=a; boundary=b", "--a--" },
		{ "multipart/form-data; boundary=\"a@b\"", "--a@b--" },
		{ "multipart/form-data; boundary=\"a\\\\b\"", "--a\\b--" },
		{ "multipart/form-data; boundary=\"ab \"", "--ab --" },
		{ "multipart/form-data; boundary=\"ab", "--\"ab--" },
		{ "multipart/form-data; boundary", "----" },
		{ "multipart/form-data; boundary=X; x", "--X--" },
		{ "multipart/form-data; boundary="
		    "12345678901234567890123456789012345678901234567890"
		    "123456789012345678901",
		    "--12345678901234567890123456789012345678901234567890"
		    "123456789012345678901--" },
	};
	size_t	 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(parse(bad[i].type, bad[i].body) == BODY_INVALID,
		    "%s", bad[i].type);
		ck_assert_str_eq(b.err_type, "value_error");
		ck_assert_str_eq(b.err_msg,
		    "Missing or invalid multipart boundary");
		ck_assert_ptr_null(b.err_field);
	}
	/* 70 characters, space and '?' inside a quoted boundary are fine */
	ck_ok(parse("multipart/form-data; boundary="
	    "12345678901234567890123456789012345678901234567890"
	    "12345678901234567890",
	    "--12345678901234567890123456789012345678901234567890"
	    "12345678901234567890--"), 0);
	ck_ok(parse("multipart/form-data; boundary=\"a b?\"", "--a b?--"), 0);
}
END_TEST

START_TEST(truncated_multipart_is_invalid)
{
	static const char *bad[] = {
		"",				/* only the length is 0 */
		"no boundary here",
		"--XyZ",
		"--XyZ\r\n",
		"--XyZ\r\nContent-Disposition: form-data; name=\"a\"",
		"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n",
		"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n",
		"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1",
		"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n"
		    "1\r\n",
		"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n"
		    "1\r\n--XyZ",
		"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n"
		    "1\r\n--XyZ-",
		"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n"
		    "1\r\n--XyZ\r\n",
		"--XyZ\r\n\r\n--XyZ--",		/* an empty part */
		"--XyZ\r\n--XyZ--",
		"--XyZabc\r\n",			/* not our boundary */
	};
	size_t	 i;

	for (i = 1; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(parse(MP, bad[i]) == BODY_INVALID, "%s", bad[i]);
		ck_assert_str_eq(b.err_type, "value_error");
		ck_assert_uint_eq(b.nfields, 0);
	}
}
END_TEST

START_TEST(lf_only_multipart_is_invalid)
{
	ck_invalid(parse(MP, "--XyZ\n"
	    "Content-Disposition: form-data; name=\"a\"\n\n1\n--XyZ--\n"),
	    NULL, "value_error");
	ck_invalid(parse(MP, "--XyZ\r\n"
	    "Content-Disposition: form-data; name=\"a\"\n\r\n1\r\n--XyZ--"),
	    NULL, "value_error");
	ck_invalid(parse(MP, "--XyZ\r\n"
	    "Content-Disposition: form-data; name=\"a\"\r\n\r\n1\n--XyZ--"),
	    NULL, "value_error");
}
END_TEST

START_TEST(file_upload_part_is_refused)
{
	ck_invalid(parse(MP, "--XyZ\r\n"
	    "Content-Disposition: form-data; name=\"email\"\r\n\r\nx\r\n"
	    "--XyZ\r\n"
	    "Content-Disposition: form-data; name=\"avatar\"; "
	    "filename=\"me.png\"\r\n"
	    "Content-Type: image/png\r\n\r\n\x89PNG\r\n--XyZ--\r\n"),
	    "avatar", "value_error");
	ck_assert_str_eq(b.err_msg, "File uploads are not accepted");
	ck_invalid(parse(MP, "--XyZ\r\n"
	    "Content-Disposition: form-data; filename=\"\"; name=f\r\n\r\n"
	    "\r\n--XyZ--\r\n"), "f", "value_error");
	ck_invalid(parse(MP, "--XyZ\r\n"
	    "Content-Disposition: form-data; name=\"f\"; "
	    "filename*=UTF-8''a.txt\r\n\r\n\r\n--XyZ--\r\n"),
	    "f", "value_error");
}
END_TEST

START_TEST(part_without_form_data_name_is_invalid)
{
	static const char *bad[] = {
		"--XyZ\r\nContent-Type: text/plain\r\n\r\n1\r\n--XyZ--",
		"--XyZ\r\nContent-Disposition: form-data\r\n\r\n1\r\n--XyZ--",
		"--XyZ\r\nContent-Disposition: attachment; name=a\r\n\r\n1\r\n"
		    "--XyZ--",
		"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n"
		    "Content-Disposition: form-data; name=\"b\"\r\n\r\n1\r\n"
		    "--XyZ--",
		"--XyZ\r\nContent-Disposition: form-data; name=a; name=b\r\n"
		    "\r\n1\r\n--XyZ--",
		"--XyZ\r\nContent-Disposition: form-data; name=\"a\r\n\r\n1\r\n"
		    "--XyZ--",
		"--XyZ\r\nContent-Disposition form-data; name=a\r\n\r\n1\r\n"
		    "--XyZ--",
		"--XyZ\r\n Content-Disposition: form-data; name=a\r\n\r\n1\r\n"
		    "--XyZ--",
		"--XyZ\r\nContent-Disposition: form-data;\r\n name=a\r\n\r\n1"
		    "\r\n--XyZ--",
		"--XyZ\r\nContent-Disposition: form-data; name=a\r\n"
		    "X-Other: 1\n2\r\n\r\n1\r\n--XyZ--",
		"--XyZ\r\nX-Other: 1\r2\r\n"
		    "Content-Disposition: form-data; name=a\r\n\r\n1\r\n"
		    "--XyZ--",
	};
	size_t	 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(parse(MP, bad[i]) == BODY_INVALID, "%s", bad[i]);
		ck_assert_str_eq(b.err_type, "value_error");
		ck_assert_ptr_null(b.err_field);
	}
}
END_TEST

START_TEST(encoded_part_is_refused)
{
	ck_invalid(parse(MP, "--XyZ\r\n"
	    "Content-Disposition: form-data; name=\"a\"\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\nMQ==\r\n--XyZ--"),
	    NULL, "value_error");
	ck_invalid(parse(MP, "--XyZ\r\n"
	    "Content-Disposition: form-data; name=\"a\"\r\n"
	    "content-transfer-encoding: quoted-printable\r\n\r\n=31\r\n"
	    "--XyZ--"),
	    NULL, "value_error");
}
END_TEST

START_TEST(oversized_part_headers_are_refused)
{
	char	*pad, *body;

	pad = arena_alloc(arena, BODY_MAX_PART_HEADER + 1);
	memset(pad, 'x', BODY_MAX_PART_HEADER);
	pad[BODY_MAX_PART_HEADER] = '\0';
	body = arena_printf(arena, "--XyZ\r\nX-Pad: %s\r\n"
	    "Content-Disposition: form-data; name=a\r\n\r\n1\r\n--XyZ--", pad);
	ck_invalid(parse(MP, body), NULL, "value_error");
	ck_assert_str_eq(b.err_msg, "Multipart part headers too large");
	body = arena_printf(arena, "--XyZ\r\nX-Pad: %.*s\r\n"
	    "Content-Disposition: form-data; name=a\r\n\r\n1\r\n--XyZ--",
	    BODY_MAX_PART_HEADER / 2, pad);
	ck_ok(parse(MP, body), 1);
}
END_TEST

START_TEST(multipart_fields_are_checked_like_the_others)
{
	ck_invalid(parse(MP, "--XyZ\r\nContent-Disposition: form-data; "
	    "name=a\r\n\r\n1\r\n--XyZ\r\nContent-Disposition: form-data; "
	    "name=\"a\"\r\n\r\n2\r\n--XyZ--"), "a", "value_error");
	ck_assert_str_eq(b.err_msg, "Field given more than once");
	ck_invalid(PARSE_LIT(MP, "--XyZ\r\nContent-Disposition: form-data; "
	    "name=a\r\n\r\nx\0y\r\n--XyZ--"), "a", "value_error");
	ck_invalid(parse(MP, "--XyZ\r\nContent-Disposition: form-data; "
	    "name=a\r\n\r\n\xed\xa0\x80\r\n--XyZ--"), "a", "string_unicode");
	ck_invalid(parse(MP, "--XyZ\r\nContent-Disposition: form-data; "
	    "name=\"\xc0\xaf\"\r\n\r\n1\r\n--XyZ--"), NULL, "string_unicode");
	ck_invalid(parse(MP, "--XyZ\r\nContent-Disposition: form-data; "
	    "name=\"a\x01\"\r\n\r\n1\r\n--XyZ--"), NULL, "value_error");
}
END_TEST

START_TEST(multipart_too_many_parts_are_refused)
{
	char	*s = arena_printf(arena, "%s", "");
	size_t	 i;

	for (i = 0; i < BODY_MAX_FIELDS + 1; i++) {
		s = arena_printf(arena, "%s--XyZ\r\nContent-Disposition: "
		    "form-data; name=\"f%zu\"\r\n\r\nv\r\n", s, i);
		if (i == BODY_MAX_FIELDS - 1)
			ck_ok(parse(MP, arena_printf(arena, "%s--XyZ--", s)),
			    BODY_MAX_FIELDS);
	}
	ck_invalid(parse(MP, arena_printf(arena, "%s--XyZ--", s)), NULL,
	    "value_error");
	ck_assert_str_eq(b.err_msg, "Too many fields");
}
END_TEST

START_TEST(body_get_finds_only_present_fields)
{
	ck_assert_ptr_null(body_get(NULL, "a"));
	ck_ok(parse(FORM, "a=1&ab=2"), 2);
	ck_assert_ptr_null(body_get(&b, NULL));
	ck_assert_ptr_null(body_get(&b, "A"));
	ck_assert_ptr_null(body_get(&b, ""));
	ck_assert_str_eq(body_get(&b, "ab"), "2");
}
END_TEST

Suite *
suite(void)
{
	Suite	*s = suite_create("body");
	TCase	*tc_type = tcase_create("content-type");
	TCase	*tc_form = tcase_create("urlencoded");
	TCase	*tc_json = tcase_create("json");
	TCase	*tc_mp = tcase_create("multipart");

	tcase_add_checked_fixture(tc_type, setup, teardown);
	tcase_add_test(tc_type, empty_body_has_no_fields_whatever_its_type);
	tcase_add_test(tc_type, unknown_content_type_is_unsupported);
	tcase_add_test(tc_type, body_without_content_type_is_unsupported);
	tcase_add_test(tc_type,
	    content_type_is_matched_case_insensitively_with_parameters);
	tcase_add_test(tc_type, charset_other_than_utf8_is_unsupported);
	tcase_add_test(tc_type,
	    malformed_content_type_parameters_are_unsupported);
	tcase_add_test(tc_type, body_get_finds_only_present_fields);
	suite_add_tcase(s, tc_type);

	tcase_add_checked_fixture(tc_form, setup, teardown);
	tcase_add_test(tc_form, urlencoded_fields_are_decoded);
	tcase_add_test(tc_form,
	    urlencoded_names_are_decoded_and_first_equals_splits);
	tcase_add_test(tc_form, bad_percent_escapes_are_invalid);
	tcase_add_test(tc_form, urlencoded_nul_is_refused);
	tcase_add_test(tc_form, urlencoded_invalid_utf8_is_refused);
	tcase_add_test(tc_form, duplicate_field_is_refused);
	tcase_add_test(tc_form, too_many_fields_are_refused);
	tcase_add_test(tc_form, long_field_name_is_refused);
	suite_add_tcase(s, tc_form);

	tcase_add_checked_fixture(tc_json, setup, teardown);
	tcase_add_test(tc_json, json_object_of_strings_is_accepted);
	tcase_add_test(tc_json, json_strings_that_look_like_keys_are_values);
	tcase_add_test(tc_json, json_boolean_becomes_true_or_false);
	tcase_add_test(tc_json, json_trailing_data_is_refused);
	tcase_add_test(tc_json, json_lenient_syntax_is_refused);
	tcase_add_test(tc_json, json_single_quoted_keys_are_refused);
	tcase_add_test(tc_json, json_nan_and_infinity_are_refused);
	tcase_add_test(tc_json, json_invalid_utf8_is_refused);
	tcase_add_test(tc_json, json_escaped_nul_is_refused);
	tcase_add_test(tc_json,
	    json_lone_surrogate_escapes_are_refused_on_their_field);
	tcase_add_test(tc_json, json_duplicate_key_is_refused);
	tcase_add_test(tc_json, json_non_string_values_are_refused);
	tcase_add_test(tc_json, json_deep_nesting_is_refused);
	tcase_add_test(tc_json, json_top_level_must_be_an_object);
	tcase_add_test(tc_json, json_too_many_fields_are_refused);
	tcase_add_test(tc_json, json_long_key_is_refused);
	suite_add_tcase(s, tc_json);

	tcase_add_checked_fixture(tc_mp, setup, teardown);
	tcase_add_test(tc_mp, browser_formdata_body_is_accepted);
	tcase_add_test(tc_mp,
	    firefox_formdata_with_quoted_boundary_is_accepted);
	tcase_add_test(tc_mp,
	    multipart_preamble_epilogue_and_padding_are_ignored);
	tcase_add_test(tc_mp, multipart_with_no_parts_has_no_fields);
	tcase_add_test(tc_mp, missing_or_bad_boundary_is_invalid);
	tcase_add_test(tc_mp, truncated_multipart_is_invalid);
	tcase_add_test(tc_mp, lf_only_multipart_is_invalid);
	tcase_add_test(tc_mp, file_upload_part_is_refused);
	tcase_add_test(tc_mp, part_without_form_data_name_is_invalid);
	tcase_add_test(tc_mp, encoded_part_is_refused);
	tcase_add_test(tc_mp, oversized_part_headers_are_refused);
	tcase_add_test(tc_mp, multipart_fields_are_checked_like_the_others);
	tcase_add_test(tc_mp, multipart_too_many_parts_are_refused);
	suite_add_tcase(s, tc_mp);
	return s;
}
