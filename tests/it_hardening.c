/*
 * Issue 13.3, 13.4 and issue 8.7 through nginx, the pool, Redis and
 * SQLite: each spelling of the review that opened a second account, each
 * "log out everywhere" that logged out only here, and a lone surrogate
 * stored as U+FFFD, turned into assertions.  One stack for the file; its
 * tests share the database, so each person is new (person_new()).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <json-c/json.h>

#include "harness.h"
#include "runner.h"

#define CHEAP_ARGON2	"MOCKPIE_PASSWORD_OPSLIMIT=1", \
			"MOCKPIE_PASSWORD_MEMLIMIT=8m"
#define WORKERS		2
#define FIELD_MAX	160
#define TOKEN_BUF	4200	/* SPEC 3: 4 KiB at most */
#define SESSIONS	3	/* per logout case: register + two logins */
#define TIMEOUT_S	90	/* per test: Argon2 on 2 shared cores */

/* U+212A KELVIN SIGN, U+00AD SOFT HYPHEN, U+200D ZERO WIDTH JOINER */
#define KELVIN		"\xe2\x84\xaa"
#define SHY		"\xc2\xad"
#define ZWJ		"\xe2\x80\x8d"
#define BUCHER		"b\xc3\xbc" "cher.de"		/* NFC ü */
#define BUCHER_NFD	"bu\xcc\x88" "cher.de"		/* u + U+0308 */
#define BUCHER_A	"xn--bcher-kva.de"
#define FW_EXAMPLE	"\xef\xbd\x85\xef\xbd\x98\xef\xbd\x81\xef\xbd\x8d" \
			"\xef\xbd\x90\xef\xbd\x8c\xef\xbd\x85"	/* fullwidth */

static const char *const env_plain[] = { CHEAP_ARGON2, NULL };

static struct stack	*st;
static unsigned		 seq;

struct person {
	char	 email[FIELD_MAX];	/* as sent at registration */
	char	 username[FIELD_MAX];
	char	 phone[FIELD_MAX];
	char	 password[FIELD_MAX];
};

struct tokens {
	char	 access[TOKEN_BUF];
	char	 refresh[TOKEN_BUF];
};

static void
setup(void)
{
	struct stack_options	 o;

	memset(&o, 0, sizeof(o));
	o.workers = WORKERS;
	o.env = env_plain;
	if ((st = stack_start(&o)) == NULL)
		fprintf(stderr, "it_hardening: the stack did not start\n");
}

static void
teardown(void)
{
	if (st != NULL)
		stack_stop(st);
	st = NULL;
}

/*
 * A person nobody registered yet, whose email is local.<pid>.<n>@domain:
 * the pid keeps the forked tests apart, n the people of one test.
 */
static void
person_new(struct person *p, const char *local, const char *domain)
{
	unsigned	 n = ++seq;
	long		 pid = (long)getpid();

	memset(p, 0, sizeof(*p));
	snprintf(p->email, sizeof(p->email), "%s.%ld.%u@%s", local, pid, n,
	    domain);
	snprintf(p->username, sizeof(p->username), "h_%ld_%u", pid, n);
	snprintf(p->phone, sizeof(p->phone), "+1%07ld%03u", pid, n % 1000);
	snprintf(p->password, sizeof(p->password), "quiet-Heron-%u-meadow", n);
}

/* A JSON object of the string pairs kv (NULL-terminated), malloc'd. */
static char *
json_body(const char *const *kv)
{
	struct json_object	*o = json_object_new_object();
	char			*s;
	int			 i;

	ck_assert_ptr_nonnull(o);
	for (i = 0; kv[i] != NULL; i += 2)
		json_object_object_add(o, kv[i],
		    json_object_new_string(kv[i + 1]));
	s = strdup(json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	ck_assert_ptr_nonnull(s);
	json_object_put(o);
	return s;
}

static void
post(const char *path, const char *ctype, const char *bearer,
    const char *body, struct http_response *r)
{
	char		 ct[128], auth[TOKEN_BUF + 32];
	const char	*h[3];
	int		 n = 0;

	ck_assert_ptr_nonnull(st);
	if (ctype != NULL) {
		snprintf(ct, sizeof(ct), "Content-Type: %s", ctype);
		h[n++] = ct;
	}
	if (bearer != NULL) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s",
		    bearer);
		h[n++] = auth;
	}
	h[n] = NULL;
	ck_assert_msg(http_request(st, "POST", path, h, body,
	    body == NULL ? 0 : strlen(body), r) == 0, "POST %s: no answer",
	    path);
}

static void
get(const char *path, const char *bearer, struct http_response *r)
{
	char		 auth[TOKEN_BUF + 32];
	const char	*h[2] = { NULL, NULL };

	ck_assert_ptr_nonnull(st);
	if (bearer != NULL) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s",
		    bearer);
		h[0] = auth;
	}
	ck_assert_msg(http_request(st, "GET", path, h, NULL, 0, r) == 0,
	    "GET %s: no answer", path);
}

static struct json_object *
json_of(const struct http_response *r)
{
	struct json_object	*o = http_json(r);

	ck_assert_msg(o != NULL && json_object_is_type(o, json_type_object),
	    "status %d, not a JSON object: %.*s", r->status,
	    (int)r->body_len, r->body);
	return o;
}

static void
assert_status(const struct http_response *r, int status)
{
	ck_assert_msg(r->status == status, "status %d, wanted %d: %.*s",
	    r->status, status, (int)(r->body_len > 600 ? 600 : r->body_len),
	    r->body);
}

static struct json_object *
member(struct json_object *o, const char *key, enum json_type type)
{
	struct json_object	*v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, type))
		return NULL;
	return v;
}

static const char *
str_of(struct json_object *o, const char *key)
{
	struct json_object	*v = member(o, key, json_type_string);

	return v == NULL ? NULL : json_object_get_string(v);
}

/*
 * A 422 with one entry, on ["body", field], whose msg contains msg_part
 * (NULL: any).
 */
static void
assert_422_on(const struct http_response *r, const char *field,
    const char *msg_part)
{
	struct json_object	*o, *list, *e, *loc;
	const char		*msg;

	assert_status(r, 422);
	o = json_of(r);
	ck_assert_ptr_nonnull(list = member(o, "detail", json_type_array));
	ck_assert_int_eq(json_object_array_length(list), 1);
	e = json_object_array_get_idx(list, 0);
	ck_assert_ptr_nonnull(loc = member(e, "loc", json_type_array));
	ck_assert_int_eq(json_object_array_length(loc), 2);
	ck_assert_str_eq(json_object_get_string(
	    json_object_array_get_idx(loc, 0)), "body");
	ck_assert_str_eq(json_object_get_string(
	    json_object_array_get_idx(loc, 1)), field);
	ck_assert_ptr_nonnull(msg = str_of(e, "msg"));
	if (msg_part != NULL)
		ck_assert_msg(strstr(msg, msg_part) != NULL, "\"%s\" lacks "
		    "\"%s\"", msg, msg_part);
	json_object_put(o);
}

/*
 * A token answer with status: its tokens into t (may be NULL), its
 * user's id returned and email copied into email (may be NULL).
 */
static long long
assert_tokens(const struct http_response *r, int status, struct tokens *t,
    char email[FIELD_MAX])
{
	struct json_object	*o, *u, *id;
	const char		*e;
	long long		 uid;

	assert_status(r, status);
	o = json_of(r);
	ck_assert_ptr_nonnull(u = member(o, "user", json_type_object));
	ck_assert_ptr_nonnull(id = member(u, "id", json_type_int));
	uid = json_object_get_int64(id);
	ck_assert_ptr_nonnull(e = str_of(u, "email"));
	if (email != NULL)
		snprintf(email, FIELD_MAX, "%s", e);
	if (t != NULL) {
		snprintf(t->access, sizeof(t->access), "%s",
		    str_of(o, "access_token"));
		snprintf(t->refresh, sizeof(t->refresh), "%s",
		    str_of(o, "refresh_token"));
	}
	json_object_put(o);
	return uid;
}

/* POST /auth/register of p with email (NULL: p's own), as JSON. */
static void
register_send(const struct person *p, const char *email,
    struct http_response *r)
{
	const char	*kv[] = { "first_name", "Carol", "last_name", "Ng",
			    "email", email != NULL ? email : p->email,
			    "username", p->username, "phone_number", p->phone,
			    "password", p->password, "password_confirmation",
			    p->password, "gender", "female", NULL };
	char		*body = json_body(kv);

	post("/auth/register", "application/json", NULL, body, r);
	free(body);
}

static long long
register_ok(const struct person *p, struct tokens *t, char email[FIELD_MAX])
{
	struct http_response	 r;
	long long		 id;

	register_send(p, NULL, &r);
	id = assert_tokens(&r, 201, t, email);
	http_response_free(&r);
	return id;
}

static void
login_send(const char *email, const char *password, struct http_response *r)
{
	const char	*kv[] = { "email", email, "password", password, NULL };
	char		*body = json_body(kv);

	post("/auth/login", "application/json", NULL, body, r);
	free(body);
}

static long long
login_ok(const char *email, const char *password, struct tokens *t,
    char canon[FIELD_MAX])
{
	struct http_response	 r;
	long long		 id;

	login_send(email, password, &r);
	id = assert_tokens(&r, 200, t, canon);
	http_response_free(&r);
	return id;
}

static int
me_status(const char *access)
{
	struct http_response	 r;
	int			 status;

	get("/auth/me", access, &r);
	status = r.status;
	http_response_free(&r);
	return status;
}

/* GET /auth/me: 200 and the stored email. */
static void
assert_me_email(const char *access, const char *email)
{
	struct http_response	 r;
	struct json_object	*o;

	get("/auth/me", access, &r);
	assert_status(&r, 200);
	o = json_of(&r);
	ck_assert_pstr_eq(str_of(o, "email"), email);
	json_object_put(o);
	http_response_free(&r);
}

/* Another person with the same email spelling: refused as taken. */
static void
assert_taken(const char *email)
{
	struct http_response	 r;
	struct json_object	*o;
	struct person		 q;

	person_new(&q, "other", "example.com");
	register_send(&q, email, &r);
	assert_status(&r, 400);
	o = json_of(&r);
	ck_assert_pstr_eq(str_of(o, "detail"),
	    "Email address already registered");
	json_object_put(o);
	http_response_free(&r);
}

/* p's email with its domain replaced by domain. */
static const char *
respell(const struct person *p, const char *domain, char buf[FIELD_MAX])
{
	const char	*at = strchr(p->email, '@');

	snprintf(buf, FIELD_MAX, "%.*s@%s", (int)(at - p->email), p->email,
	    domain);
	return buf;
}

/* ---- issue 13.3: one canonical email ---- */

/*
 * Each spelling in spellings (NULL-terminated) is p's account: a second
 * registration is "already registered", a login is p, by id and by the
 * stored email want.
 */
static void
assert_one_account(const struct person *p, long long id, const char *want,
    const char *const *spellings)
{
	char		 canon[FIELD_MAX];
	struct tokens	 t;
	size_t		 i;

	for (i = 0; spellings[i] != NULL; i++) {
		assert_taken(spellings[i]);
		ck_assert_int_eq(login_ok(spellings[i], p->password, &t,
		    canon), id);
		ck_assert_str_eq(canon, want);
		assert_me_email(t.access, want);
	}
}

START_TEST(bucher_de_in_three_spellings_is_one_account)
{
	struct person	 p;
	struct tokens	 t;
	char		 email[FIELD_MAX], want[FIELD_MAX];
	char		 s[4][FIELD_MAX];
	long long	 id;

	person_new(&p, "carol", BUCHER);
	id = register_ok(&p, &t, email);
	ck_assert_str_eq(email, respell(&p, BUCHER_A, want));
	assert_me_email(t.access, want);
	{
		const char *const spellings[] = { respell(&p, BUCHER, s[0]),
		    respell(&p, BUCHER_A, s[1]), respell(&p, BUCHER_NFD, s[2]),
		    respell(&p, "XN--BCHER-KVA.DE", s[3]), NULL };

		assert_one_account(&p, id, want, spellings);
	}
}
END_TEST

START_TEST(the_nfd_spelling_registered_first_is_the_same_account)
{
	struct person	 p;
	char		 email[FIELD_MAX], want[FIELD_MAX], s[FIELD_MAX];
	long long	 id;

	person_new(&p, "carol", BUCHER_NFD);
	id = register_ok(&p, NULL, email);
	ck_assert_str_eq(email, respell(&p, BUCHER_A, want));
	{
		const char *const spellings[] = { respell(&p, BUCHER, s),
		    NULL };

		assert_one_account(&p, id, want, spellings);
	}
}
END_TEST

START_TEST(a_fullwidth_domain_is_its_ascii_domain)
{
	struct person	 p;
	char		 email[FIELD_MAX], s[FIELD_MAX];
	long long	 id;

	person_new(&p, "dave", "example.com");
	id = register_ok(&p, NULL, email);
	ck_assert_str_eq(email, p.email);
	{
		const char *const spellings[] = {
		    respell(&p, FW_EXAMPLE ".com", s), NULL };

		assert_one_account(&p, id, p.email, spellings);
	}
}
END_TEST

START_TEST(a_kelvin_sign_is_the_letter_k)
{
	struct person	 p, k;
	char		 email[FIELD_MAX], kelvin[FIELD_MAX], want[FIELD_MAX];
	long long	 id;

	person_new(&p, "kim", "example.com");
	id = register_ok(&p, NULL, email);
	ck_assert_str_eq(email, p.email);
	/* the same address with its k written as U+212A */
	snprintf(kelvin, sizeof(kelvin), KELVIN "%.*s", FIELD_MAX / 2,
	    p.email + 1);
	{
		const char *const spellings[] = { kelvin, NULL };

		assert_one_account(&p, id, p.email, spellings);
	}
	/* registered with the Kelvin sign, it is stored with a k */
	person_new(&k, KELVIN "im", "example.com");
	register_ok(&k, NULL, email);
	snprintf(want, sizeof(want), "k%.*s", FIELD_MAX / 2,
	    k.email + strlen(KELVIN));
	ck_assert_str_eq(email, want);
}
END_TEST

/* Refused at registration and at login, and nothing was stored. */
static void
assert_refused_spelling(const char *local_suffix, const char *domain,
    const char *why)
{
	struct http_response	 r;
	struct person		 p;
	char			 bad[FIELD_MAX];
	const char		*at;

	person_new(&p, "dave", "example.com");
	at = strchr(p.email, '@');
	snprintf(bad, sizeof(bad), "%.*s%s@%s", (int)(at - p.email), p.email,
	    local_suffix, domain);
	register_send(&p, bad, &r);
	assert_422_on(&r, "email", why);
	http_response_free(&r);
	login_send(bad, p.password, &r);
	assert_422_on(&r, "email", why);
	http_response_free(&r);
	/* the plain address was not taken by the refused one */
	register_ok(&p, NULL, NULL);
	login_send(bad, p.password, &r);
	assert_422_on(&r, "email", why);
	http_response_free(&r);
}

START_TEST(a_soft_hyphen_is_refused_not_dropped)
{
	assert_refused_spelling(SHY, "example.com", "SOFT HYPHEN");
}
END_TEST

START_TEST(a_zero_width_joiner_in_the_domain_is_refused)
{
	assert_refused_spelling("", "ex" ZWJ "ample.com", "ZERO WIDTH JOINER");
}
END_TEST

START_TEST(a_domain_that_uts46_refuses_is_refused)
{
	assert_refused_spelling("", "xn--a.com",
	    "The part after the @-sign contains invalid characters (");
	assert_refused_spelling("", "\xe2\x92\x88" "example.com",
	    "The part after the @-sign contains invalid characters (");
}
END_TEST

/* ---- issue 13.4: "all" means what it says ---- */

/* p's SESSIONS sessions: registration and two logins. */
static void
open_sessions(struct person *p, struct tokens t[SESSIONS])
{
	int	 i;

	person_new(p, "eve", "example.com");
	register_ok(p, &t[0], NULL);
	for (i = 1; i < SESSIONS; i++)
		login_ok(p->email, p->password, &t[i], NULL);
}

static void
assert_logged_out(const struct http_response *r, int n)
{
	struct json_object	*o, *v;

	assert_status(r, 200);
	o = json_of(r);
	ck_assert_pstr_eq(str_of(o, "message"), "Logged out");
	ck_assert_ptr_nonnull(v = member(o, "revoked_sessions",
	    json_type_int));
	ck_assert_int_eq(json_object_get_int(v), n);
	json_object_put(o);
}

struct logout_case {
	const char	*path;
	const char	*ctype;		/* NULL: no body */
	const char	*body;
	int		 revoked;	/* 0: a 422 on all */
};

/*
 * Logs out the second of SESSIONS sessions as c says, then checks which
 * are left: all of them after a 422, the other devices after a logout of
 * one, none after a logout of all.
 */
static void
logout_case(const struct logout_case *c)
{
	struct http_response	 r;
	struct person		 p;
	struct tokens		 t[SESSIONS];
	int			 i, gone;

	open_sessions(&p, t);
	post(c->path, c->ctype, t[1].access, c->body, &r);
	if (c->revoked == 0)
		assert_422_on(&r, "all", NULL);
	else
		assert_logged_out(&r, c->revoked);
	http_response_free(&r);
	for (i = 0; i < SESSIONS; i++) {
		gone = c->revoked == SESSIONS || (c->revoked == 1 && i == 1);
		ck_assert_msg(me_status(t[i].access) == (gone ? 401 : 200),
		    "%s %s: session %d %s", c->path, c->body ? c->body : "",
		    i, gone ? "still valid" : "revoked");
	}
}

#define FORM	"application/x-www-form-urlencoded"
#define JSON	"application/json"
#define MP	"multipart/form-data; boundary=XyZ"
#define MP_ALL(v) "--XyZ\r\nContent-Disposition: form-data; name=\"all\"" \
		"\r\n\r\n" v "\r\n--XyZ--\r\n"

static const struct logout_case every_session[] = {
	{ "/auth/logout?all=True", NULL, NULL, SESSIONS },
	{ "/auth/logout?all=on", NULL, NULL, SESSIONS },
	{ "/auth/logout?all=yes", NULL, NULL, SESSIONS },
	{ "/auth/logout?all=1", NULL, NULL, SESSIONS },
	{ "/auth/logout?all=TRUE&x=1", NULL, NULL, SESSIONS },
	{ "/auth/logout", FORM, "all=TRUE", SESSIONS },
	{ "/auth/logout", FORM, "all=Yes", SESSIONS },
	{ "/auth/logout", MP, MP_ALL("On"), SESSIONS },
	{ "/auth/logout", JSON, "{\"all\": \"True\"}", SESSIONS },
	{ "/auth/logout", JSON, "{\"all\": true}", SESSIONS },
	{ "/auth/logout", JSON, "{\"all\": \"1\"}", SESSIONS },
};

static const struct logout_case this_session[] = {
	{ "/auth/logout", NULL, NULL, 1 },
	{ "/auth/logout?all=False", NULL, NULL, 1 },
	{ "/auth/logout?all=off", NULL, NULL, 1 },
	{ "/auth/logout?all=no", NULL, NULL, 1 },
	{ "/auth/logout?all=0", NULL, NULL, 1 },
	{ "/auth/logout?x=1", NULL, NULL, 1 },
	{ "/auth/logout", FORM, "all=OFF", 1 },
	{ "/auth/logout", JSON, "{\"all\": false}", 1 },
	{ "/auth/logout", JSON, "{\"all\": \"No\"}", 1 },
	{ "/auth/logout", JSON, "{}", 1 },
	/* the web client's logout: a JSON type and no body */
	{ "/auth/logout", JSON, "", 1 },
};

static const struct logout_case unreadable[] = {
	{ "/auth/logout?all=true&all=true", NULL, NULL, 0 },
	{ "/auth/logout?all=true&all=false", NULL, NULL, 0 },
	{ "/auth/logout?all=true&x=%E9t%E9", NULL, NULL, 0 },
	{ "/auth/logout?x=%zz&all=1", NULL, NULL, 0 },
	{ "/auth/logout?all=maybe", NULL, NULL, 0 },
	{ "/auth/logout?all=", NULL, NULL, 0 },
	{ "/auth/logout?all", NULL, NULL, 0 },
	{ "/auth/logout?all=t", NULL, NULL, 0 },
	{ "/auth/logout?all=%20true", NULL, NULL, 0 },
	{ "/auth/logout?all=true", FORM, "all=true", 0 },
	{ "/auth/logout?all=0", JSON, "{\"all\": true}", 0 },
	{ "/auth/logout", FORM, "all=true&all=true", 0 },
	{ "/auth/logout", FORM, "all=2", 0 },
	{ "/auth/logout", JSON, "{\"all\": 1}", 0 },
	{ "/auth/logout", JSON, "{\"all\": null}", 0 },
	{ "/auth/logout", JSON, "{\"all\": \"truth\"}", 0 },
	{ "/auth/logout", JSON, "{\"all\": true, \"all\": false}", 0 },
	{ "/auth/logout", JSON, "{\"all\": \"\\ud800\"}", 0 },
};

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

START_TEST(every_true_spelling_revokes_every_session)
{
	logout_case(&every_session[_i]);
}
END_TEST

START_TEST(every_false_spelling_or_none_revokes_only_this_session)
{
	logout_case(&this_session[_i]);
}
END_TEST

START_TEST(an_unreadable_all_is_a_422_and_revokes_nothing)
{
	logout_case(&unreadable[_i]);
}
END_TEST

START_TEST(health_ready_reads_booleans_the_same_way)
{
	static const char *const ok[] = { "/health?ready=TRUE",
	    "/health?ready=on", "/health?ready=0", "/health", NULL };
	static const char *const bad[] = { "/health?ready=maybe",
	    "/health?ready=1&ready=1", "/health?ready=1&x=%E9", NULL };
	struct http_response	 r;
	size_t			 i;

	for (i = 0; ok[i] != NULL; i++) {
		get(ok[i], NULL, &r);
		assert_status(&r, 200);
		http_response_free(&r);
	}
	for (i = 0; bad[i] != NULL; i++) {
		get(bad[i], NULL, &r);
		assert_422_on(&r, "ready", NULL);
		http_response_free(&r);
	}
}
END_TEST

/* ---- issue 8.7: a lone surrogate is not U+FFFD ---- */

START_TEST(a_lone_surrogate_in_a_name_is_a_422_not_a_stored_fffd)
{
	static const char *const names[] = { "Zo\\ud800", "\\udc00Zoe",
	    "Zo\\ud800\\u0041" };
	struct http_response	 r;
	struct json_object	*o, *u;
	struct person		 p;
	char			 body[1024];
	size_t			 i;

	for (i = 0; i < NELEM(names); i++) {
		person_new(&p, "zoe", "example.com");
		snprintf(body, sizeof(body), "{\"first_name\": \"%s\", "
		    "\"last_name\": \"Ng\", \"email\": \"%s\", \"username\": "
		    "\"%s\", \"phone_number\": \"%s\", \"password\": \"%s\", "
		    "\"password_confirmation\": \"%s\", "
		    "\"gender\": \"female\"}",
		    names[i], p.email, p.username, p.phone, p.password,
		    p.password);
		post("/auth/register", JSON, NULL, body, &r);
		assert_422_on(&r, "first_name", "unicode");
		http_response_free(&r);
	}
	/* a pair is one code point and registers */
	person_new(&p, "zoe", "example.com");
	snprintf(body, sizeof(body), "{\"first_name\": \"Zo\\ud83d\\ude00\", "
	    "\"last_name\": \"Ng\", \"email\": \"%s\", \"username\": \"%s\", "
	    "\"phone_number\": \"%s\", \"password\": \"%s\", "
	    "\"password_confirmation\": \"%s\", \"gender\": \"female\"}",
	    p.email, p.username, p.phone, p.password, p.password);
	post("/auth/register", JSON, NULL, body, &r);
	assert_status(&r, 201);
	o = json_of(&r);
	ck_assert_ptr_nonnull(u = member(o, "user", json_type_object));
	ck_assert_pstr_eq(str_of(u, "first_name"), "Zo\xf0\x9f\x98\x80");
	json_object_put(o);
	http_response_free(&r);
}
END_TEST

Suite *
suite(void)
{
	Suite	*s = suite_create("it_hardening");
	TCase	*tc = tcase_create("hardening");

	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, TIMEOUT_S);
	tcase_add_test(tc, bucher_de_in_three_spellings_is_one_account);
	tcase_add_test(tc,
	    the_nfd_spelling_registered_first_is_the_same_account);
	tcase_add_test(tc, a_fullwidth_domain_is_its_ascii_domain);
	tcase_add_test(tc, a_kelvin_sign_is_the_letter_k);
	tcase_add_test(tc, a_soft_hyphen_is_refused_not_dropped);
	tcase_add_test(tc, a_zero_width_joiner_in_the_domain_is_refused);
	tcase_add_test(tc, a_domain_that_uts46_refuses_is_refused);
	tcase_add_loop_test(tc, every_true_spelling_revokes_every_session, 0,
	    NELEM(every_session));
	tcase_add_loop_test(tc,
	    every_false_spelling_or_none_revokes_only_this_session, 0,
	    NELEM(this_session));
	tcase_add_loop_test(tc, an_unreadable_all_is_a_422_and_revokes_nothing,
	    0, NELEM(unreadable));
	tcase_add_test(tc, health_ready_reads_booleans_the_same_way);
	tcase_add_test(tc,
	    a_lone_surrogate_in_a_name_is_a_422_not_a_stored_fffd);
	suite_add_tcase(s, tc);
	return s;
}
