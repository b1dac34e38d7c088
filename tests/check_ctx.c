/*
 * The request context and replies, without a web server: a fake FCGX
 * stream over a memory buffer (named as such) stands in for the FastCGI
 * connection, so the body bound and the reply shapes are checked exactly.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "lib/arena.h"
#include "http/body.h"
#include "http/boolean.h"
#include "app/config.h"
#include "http/ctx.h"
#include "http/reply.h"
#include "http/router.h"
#include "runner.h"

#define FAKE_CHUNK	1024
#define CT_FORM		"application/x-www-form-urlencoded"
#define FAKE_OUT_MAX	(64 * 1024)

/* Fake stdin: hands out the body FAKE_CHUNK bytes at a time, counting. */
struct fake_in {
	const char	*data;
	size_t		 len, given;
	unsigned char	 buf[FAKE_CHUNK];
};

static void
fake_fill(FCGX_Stream *s)
{
	struct fake_in	*f = s->data;
	size_t		 n = f->len - f->given;

	if (n == 0) {
		s->isClosed = 1;
		return;
	}
	if (n > FAKE_CHUNK)
		n = FAKE_CHUNK;
	memcpy(f->buf, f->data + f->given, n);
	f->given += n;
	s->rdNext = s->stopUnget = f->buf;
	s->stop = f->buf + n;
}

/* Fake stdout: collects what the reply writes. */
struct fake_out {
	char		 text[FAKE_OUT_MAX];
	size_t		 len;
	unsigned char	 buf[FAKE_CHUNK];
};

static void
fake_empty(FCGX_Stream *s, int closing)
{
	struct fake_out	*f = s->data;
	size_t		 n = (size_t)(s->wrNext - f->buf);

	(void)closing;
	ck_assert_uint_lt(f->len + n, sizeof(f->text));
	memcpy(f->text + f->len, f->buf, n);
	f->len += n;
	f->text[f->len] = '\0';
	s->wrNext = f->buf;
}

struct fake_request {
	FCGX_Request	 req;
	FCGX_Stream	 in, out;
	struct fake_in	 fin;
	struct fake_out	 fout;
	struct config	 cfg;
	struct arena	*arena;
	struct ctx	 ctx;
};

static struct fake_request *
fake_request(const char *const *env, const char *body, size_t len)
{
	struct fake_request	*f = calloc(1, sizeof(*f));
	struct ctx_deps		 deps;
	char			 err[CONFIG_ERR_MAX], **envp;
	size_t			 i, n;

	setenv("MOCKPIE_JWT_SECRET", "0123456789abcdef0123456789abcdef!", 1);
	ck_assert_int_eq(config_load(&f->cfg, NULL, err, sizeof(err)), 0);
	f->cfg.http.body_limit = 4096;
	f->fin.data = body;
	f->fin.len = len;
	f->in.isReader = 1;
	f->in.fillBuffProc = fake_fill;
	f->in.data = &f->fin;
	f->out.wrNext = f->fout.buf;
	f->out.stop = f->fout.buf + sizeof(f->fout.buf);
	f->out.emptyBuffProc = fake_empty;
	f->out.data = &f->fout;
	f->req.in = &f->in;
	f->req.out = &f->out;
	f->arena = arena_new(4096);
	for (n = 0; env[n] != NULL; n++)
		;
	envp = arena_calloc(f->arena, n + 1, sizeof(*envp));
	for (i = 0; i < n; i++)
		envp[i] = arena_strdup(f->arena, env[i]);
	f->req.envp = envp;
	memset(&deps, 0, sizeof(deps));
	deps.http = &f->cfg.http;
	deps.config = &f->cfg;
	ctx_init(&f->ctx, f->arena, &f->req, &deps, 1);
	return f;
}

static const char *
reply_text(struct fake_request *f)
{
	FCGX_FFlush(&f->out);
	return f->fout.text;
}

static void
fake_free(struct fake_request *f)
{
	arena_free(f->arena);
	config_fini(&f->cfg);
	free(f);
}

START_TEST(a_body_within_the_limit_is_read_whole)
{
	static const char *const env[] = { "CONTENT_LENGTH=3000", NULL };
	static char		 body[3000];
	struct fake_request	*f;
	const char		*data;
	size_t			 len;

	memset(body, 'a', sizeof(body));
	f = fake_request(env, body, sizeof(body));
	ck_assert_int_eq(ctx_read_body(&f->ctx, &data, &len), 0);
	ck_assert_uint_eq(len, 3000);
	ck_assert_int_eq(data[2999], 'a');
	ck_assert_int_eq(data[3000], '\0');
	fake_free(f);
}
END_TEST

START_TEST(a_body_over_the_limit_is_413_and_not_read)
{
	static const char *const env[] = { "CONTENT_LENGTH=100000", NULL };
	static char		 body[100000];
	struct fake_request	*f = fake_request(env, body, sizeof(body));
	const char		*data;
	size_t			 len;

	ck_assert_int_eq(ctx_read_body(&f->ctx, &data, &len), 413);
	ck_assert_uint_eq(f->fin.given, 0);	/* not a byte read */
	fake_free(f);
}
END_TEST

START_TEST(a_body_shorter_than_its_length_is_400)
{
	static const char *const env[] = { "CONTENT_LENGTH=2000", NULL };
	struct fake_request	*f = fake_request(env, "short", 5);
	const char		*data;
	size_t			 len;

	ck_assert_int_eq(ctx_read_body(&f->ctx, &data, &len), 400);
	fake_free(f);
}
END_TEST

START_TEST(a_bad_content_length_is_400)
{
	static const char *const env1[] = { "CONTENT_LENGTH=12abc", NULL };
	static const char *const env2[] = { "CONTENT_LENGTH=-1", NULL };
	static const char *const env3[] = {
	    "CONTENT_LENGTH=99999999999999999999999", NULL };
	const char *const	*envs[] = { env1, env2, env3 };
	struct fake_request	*f;
	const char		*data;
	size_t			 len, i;
	int			 rc;

	for (i = 0; i < 3; i++) {
		f = fake_request(envs[i], "x", 1);
		rc = ctx_read_body(&f->ctx, &data, &len);
		ck_assert(rc == 400 || rc == 413);
		fake_free(f);
	}
}
END_TEST

START_TEST(no_body_reads_as_empty)
{
	static const char *const env[] = { "REQUEST_METHOD=POST", NULL };
	struct fake_request	*f = fake_request(env, "", 0);
	const char		*data;
	size_t			 len;

	ck_assert_int_eq(ctx_read_body(&f->ctx, &data, &len), 0);
	ck_assert_uint_eq(len, 0);
	ck_assert_str_eq(data, "");
	fake_free(f);
}
END_TEST

START_TEST(query_parameters_are_decoded)
{
	static const char *const env[] = { "QUERY_STRING=a=1&all=tr%75e&x&s=a+b",
	    NULL };
	struct fake_request	*f = fake_request(env, "", 0);

	ck_assert_str_eq(ctx_query_get(&f->ctx, "all"), "true");
	ck_assert_str_eq(ctx_query_get(&f->ctx, "a"), "1");
	ck_assert_str_eq(ctx_query_get(&f->ctx, "x"), "");
	ck_assert_str_eq(ctx_query_get(&f->ctx, "s"), "a b");
	ck_assert_ptr_null(ctx_query_get(&f->ctx, "al"));
	fake_free(f);
}
END_TEST

/* Issue 13.4: "absent" and "cannot be read" are told apart. */
START_TEST(a_query_that_does_not_parse_is_not_an_absent_parameter)
{
	static const char *const ok[] = { "QUERY_STRING=all=1", NULL };
	static const char *const none[] = { "QUERY_STRING=", NULL };
	static const char *const twice[] = {
	    "QUERY_STRING=all=true&all=true", NULL };
	static const char *const latin1[] = {
	    "QUERY_STRING=all=true&x=%E9t%E9", NULL };
	struct fake_request	*f;
	const char		*v;

	f = fake_request(ok, "", 0);
	ck_assert_int_eq(ctx_query_lookup(&f->ctx, "all", &v), 1);
	ck_assert_str_eq(v, "1");
	ck_assert_int_eq(ctx_query_lookup(&f->ctx, "x", &v), 0);
	ck_assert_ptr_null(v);
	fake_free(f);
	f = fake_request(none, "", 0);
	ck_assert_int_eq(ctx_query_lookup(&f->ctx, "all", &v), 0);
	fake_free(f);
	f = fake_request(twice, "", 0);
	ck_assert_int_eq(ctx_query_lookup(&f->ctx, "all", &v), -1);
	ck_assert_ptr_null(v);
	fake_free(f);
	f = fake_request(latin1, "", 0);
	ck_assert_int_eq(ctx_query_lookup(&f->ctx, "all", &v), -1);
	ck_assert_ptr_null(ctx_query_get(&f->ctx, "all"));
	fake_free(f);
}
END_TEST

START_TEST(booleans_have_four_spellings_each_and_nothing_else)
{
	static const char *const yes[] = { "true", "TRUE", "True", "1", "yes",
	    "Yes", "on", "ON", NULL };
	static const char *const no[] = { "false", "False", "0", "no", "NO",
	    "off", "Off", NULL };
	static const char *const bad[] = { "", " true", "true ", "2", "t",
	    "y", "f", "n", "01", "truee", "tru", "null", "\xc4\xb0" "stanbul",
	    "on\xcc\x81", NULL };
	size_t	 i;

	for (i = 0; yes[i] != NULL; i++)
		ck_assert_msg(boolean_parse(yes[i]) == BOOLEAN_TRUE, "%s",
		    yes[i]);
	for (i = 0; no[i] != NULL; i++)
		ck_assert_msg(boolean_parse(no[i]) == BOOLEAN_FALSE, "%s",
		    no[i]);
	for (i = 0; bad[i] != NULL; i++)
		ck_assert_msg(boolean_parse(bad[i]) == BOOLEAN_INVALID, "%s",
		    bad[i]);
	ck_assert(boolean_parse(NULL) == BOOLEAN_FALSE);	/* absent */
}
END_TEST

/* One boolean from the body or the query: never both, never unread. */
static int
param(const char *query, const char *ctype, const char *data, int *value,
    struct reply_field_error *e)
{
	const char		*env[] = { NULL, NULL };
	struct fake_request	*f;
	struct body		 b;
	int			 rc;

	env[0] = query;
	f = fake_request(env, "", 0);
	ck_assert_int_eq(body_parse(f->arena, ctype, data,
	    data == NULL ? 0 : strlen(data), &b), BODY_OK);
	rc = boolean_param(&f->ctx, &b, "all", value, e);
	fake_free(f);
	return rc;
}

START_TEST(a_boolean_parameter_is_read_from_one_place_or_refused)
{
	struct reply_field_error	 e;
	int				 v;

	ck_assert_int_eq(param("QUERY_STRING=all=True", NULL, NULL, &v, &e),
	    0);
	ck_assert_int_eq(v, 1);
	ck_assert_int_eq(param("QUERY_STRING=", CT_FORM, "all=on", &v, &e), 0);
	ck_assert_int_eq(v, 1);
	ck_assert_int_eq(param("QUERY_STRING=", "application/json",
	    "{\"all\": false}", &v, &e), 0);
	ck_assert_int_eq(v, 0);
	ck_assert_int_eq(param("QUERY_STRING=x=1", NULL, NULL, &v, &e), 0);
	ck_assert_int_eq(v, 0);
	ck_assert_int_eq(param("QUERY_STRING=all=maybe", NULL, NULL, &v, &e),
	    -1);
	ck_assert_str_eq(e.field, "all");
	ck_assert_str_eq(e.type, "bool_parsing");
	ck_assert_str_eq(e.msg,
	    "Input should be a valid boolean, unable to interpret input");
	ck_assert_int_eq(v, 0);
	ck_assert_int_eq(param("QUERY_STRING=all=false", CT_FORM, "all=true",
	    &v, &e), -1);
	ck_assert_str_eq(e.field, "all");
	ck_assert_str_eq(e.msg, "Field given more than once");
	ck_assert_int_eq(param("QUERY_STRING=x=%E9", CT_FORM, "all=true",
	    &v, &e), -1);
	ck_assert_str_eq(e.field, "all");
	ck_assert_str_eq(e.type, "value_error");
}
END_TEST

START_TEST(errors_have_the_detail_shape_and_json_type)
{
	static const char *const env[] = { NULL };
	struct fake_request	*f = fake_request(env, "", 0);
	const char		*t;

	ck_assert_int_eq(reply_error(&f->ctx, 404, "Not Found"), 0);
	t = reply_text(f);
	ck_assert_ptr_nonnull(strstr(t, "Status: 404 Not Found\r\n"));
	ck_assert_ptr_nonnull(strstr(t,
	    "Content-Type: application/json; charset=utf-8\r\n"));
	ck_assert_ptr_nonnull(strstr(t, "\r\n\r\n{\"detail\":\"Not Found\"}"));
	ck_assert_ptr_null(strstr(t, "Access-Control"));
	fake_free(f);
}
END_TEST

START_TEST(a_422_lists_each_bad_field_like_fastapi)
{
	static const char *const env[] = { NULL };
	struct fake_request		*f = fake_request(env, "", 0);
	struct reply_field_error	 e[2] = {
		{ "email", "Field required", "missing" },
		{ "password", "String should have at least 8 characters",
		    "string_too_short" } };
	struct json_object		*o, *d, *loc;

	reply_invalid(&f->ctx, e, 2);
	o = json_tokener_parse(strstr(reply_text(f), "\r\n\r\n") + 4);
	ck_assert_ptr_nonnull(o);
	d = json_object_object_get(o, "detail");
	ck_assert_int_eq(json_object_array_length(d), 2);
	loc = json_object_object_get(json_object_array_get_idx(d, 1), "loc");
	ck_assert_str_eq(json_object_get_string(
	    json_object_array_get_idx(loc, 0)), "body");
	ck_assert_str_eq(json_object_get_string(
	    json_object_array_get_idx(loc, 1)), "password");
	ck_assert_str_eq(json_object_get_string(json_object_object_get(
	    json_object_array_get_idx(d, 1), "type")), "string_too_short");
	json_object_put(o);
	fake_free(f);
}
END_TEST

START_TEST(an_allowed_origin_gets_cors_headers_on_errors_too)
{
	static const char *const env[] = { "HTTP_ORIGIN=http://localhost:3000",
	    NULL };
	struct fake_request	*f = fake_request(env, "", 0);
	const char		*t;

	reply_unauthorized(&f->ctx, "Invalid or expired token", 1);
	t = reply_text(f);
	ck_assert_ptr_nonnull(strstr(t,
	    "Access-Control-Allow-Origin: http://localhost:3000\r\n"));
	ck_assert_ptr_nonnull(strstr(t, "Vary: Origin\r\n"));
	ck_assert_ptr_nonnull(strstr(t, "Access-Control-Expose-Headers: "
	    "Retry-After, WWW-Authenticate\r\n"));
	ck_assert_ptr_nonnull(strstr(t,
	    "WWW-Authenticate: Bearer error=\"invalid_token\"\r\n"));
	fake_free(f);
}
END_TEST

START_TEST(another_origin_gets_no_cors_headers)
{
	static const char *const env[] = { "HTTP_ORIGIN=http://evil.example",
	    "REQUEST_METHOD=OPTIONS", "DOCUMENT_URI=/health", NULL };
	struct fake_request	*f = fake_request(env, "", 0);
	const char		*t;

	route_dispatch(&f->ctx, route_tables);
	t = reply_text(f);
	ck_assert_ptr_nonnull(strstr(t, "Status: 204"));
	ck_assert_ptr_null(strstr(t, "Access-Control"));
	ck_assert_ptr_null(strstr(t, "Vary"));
	fake_free(f);
}
END_TEST

START_TEST(a_preflight_from_an_allowed_origin_is_granted)
{
	static const char *const env[] = { "HTTP_ORIGIN=http://localhost:3000",
	    "REQUEST_METHOD=OPTIONS", "DOCUMENT_URI=/auth/me", NULL };
	struct fake_request	*f = fake_request(env, "", 0);
	const char		*t;

	route_dispatch(&f->ctx, route_tables);
	t = reply_text(f);
	ck_assert_ptr_nonnull(strstr(t, "Status: 204"));
	ck_assert_ptr_nonnull(strstr(t,
	    "Access-Control-Allow-Methods: GET, OPTIONS\r\n"));
	ck_assert_ptr_nonnull(strstr(t, "Access-Control-Allow-Headers: "
	    "Authorization, Content-Type\r\n"));
	ck_assert_ptr_nonnull(strstr(t, "Access-Control-Max-Age: 600\r\n"));
	fake_free(f);
}
END_TEST

START_TEST(a_wrong_method_gets_405_with_allow)
{
	static const char *const env[] = { "REQUEST_METHOD=PUT",
	    "DOCUMENT_URI=/auth/login", NULL };
	struct fake_request	*f = fake_request(env, "", 0);
	const char		*t;

	route_dispatch(&f->ctx, route_tables);
	t = reply_text(f);
	ck_assert_ptr_nonnull(strstr(t, "Status: 405"));
	ck_assert_ptr_nonnull(strstr(t, "Allow: POST, OPTIONS\r\n"));
	fake_free(f);
}
END_TEST

START_TEST(a_header_value_cannot_split_the_response)
{
	static const char *const env[] = { NULL };
	struct fake_request	*f = fake_request(env, "", 0);

	ck_assert_int_eq(ctx_add_header(&f->ctx, "X-A", "a\r\nSet-Cookie: x"),
	    -1);
	ck_assert_uint_eq(f->ctx.headers_len, 0);
	fake_free(f);
}
END_TEST

Suite *
suite(void)
{
	Suite	*s = suite_create("ctx");
	TCase	*body = tcase_create("body");
	TCase	*reply = tcase_create("reply");

	tcase_add_test(body, a_body_within_the_limit_is_read_whole);
	tcase_add_test(body, a_body_over_the_limit_is_413_and_not_read);
	tcase_add_test(body, a_body_shorter_than_its_length_is_400);
	tcase_add_test(body, a_bad_content_length_is_400);
	tcase_add_test(body, no_body_reads_as_empty);
	tcase_add_test(body, query_parameters_are_decoded);
	tcase_add_test(body,
	    a_query_that_does_not_parse_is_not_an_absent_parameter);
	tcase_add_test(body,
	    booleans_have_four_spellings_each_and_nothing_else);
	tcase_add_test(body,
	    a_boolean_parameter_is_read_from_one_place_or_refused);
	tcase_add_test(reply, errors_have_the_detail_shape_and_json_type);
	tcase_add_test(reply, a_422_lists_each_bad_field_like_fastapi);
	tcase_add_test(reply, an_allowed_origin_gets_cors_headers_on_errors_too);
	tcase_add_test(reply, another_origin_gets_no_cors_headers);
	tcase_add_test(reply, a_preflight_from_an_allowed_origin_is_granted);
	tcase_add_test(reply, a_wrong_method_gets_405_with_allow);
	tcase_add_test(reply, a_header_value_cannot_split_the_response);
	suite_add_tcase(s, body);
	suite_add_tcase(s, reply);
	return s;
}
