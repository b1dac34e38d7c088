/*
 * What a token is bound to and where tokens are kept, through the whole
 * stack (issue 13 items 1 and 2): a token works only for the user row it
 * was issued for (a restored database that hands a reused id to someone
 * else does not hand them the old row's tokens; changing a row's session
 * stamp in the database logs that user out everywhere), and neither
 * Redis nor its append-only file ever holds a usable token.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <json-c/json.h>
#include <sqlite3.h>

#include <hiredis/hiredis.h>

#include "api_client.h"
#include "harness.h"
#include "redis_server.h"
#include "runner.h"

#define WORKERS		2
#define TIMEOUT_S	60
#define BUSY_MS		5000

static const char *const env_plain[] = {
	"MOCKPIE_PASSWORD_OPSLIMIT=1", "MOCKPIE_PASSWORD_MEMLIMIT=8m", NULL
};

static struct stack *
start(void)
{
	struct stack_options	 o;
	struct stack		*st;

	memset(&o, 0, sizeof(o));
	o.workers = WORKERS;
	o.env = env_plain;
	ck_assert_msg((st = stack_start(&o)) != NULL, "the stack did not "
	    "start");
	return st;
}

static void
db_path(struct stack *st, const char *name, char *buf, size_t len)
{
	ck_assert_int_lt(snprintf(buf, len, "%s/%s", stack_dir(st), name),
	    (int)len);
}

/* Copies database from onto to with SQLite's online backup. */
static void
db_copy(const char *from, const char *to)
{
	sqlite3		*src, *dst;
	sqlite3_backup	*b;

	ck_assert_int_eq(sqlite3_open(from, &src), SQLITE_OK);
	ck_assert_int_eq(sqlite3_open(to, &dst), SQLITE_OK);
	sqlite3_busy_timeout(src, BUSY_MS);
	sqlite3_busy_timeout(dst, BUSY_MS);
	ck_assert_ptr_nonnull(b = sqlite3_backup_init(dst, "main", src,
	    "main"));
	ck_assert_int_eq(sqlite3_backup_step(b, -1), SQLITE_DONE);
	ck_assert_int_eq(sqlite3_backup_finish(b), SQLITE_OK);
	sqlite3_close(src);
	sqlite3_close(dst);
}

static void
db_exec(const char *path, const char *sql)
{
	sqlite3	*db;
	char	*msg = NULL;

	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, BUSY_MS);
	ck_assert_msg(sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK,
	    "%s: %s", sql, msg);
	sqlite3_free(msg);
	sqlite3_close(db);
}

/* GET /auth/me's "id" and "email" for access; the status. */
static int
me_user(struct stack *st, const char *access, long long *id, char *email,
    size_t len)
{
	struct http_response	 r;
	struct json_object	*o, *v;
	char			 auth[API_TOKEN_MAX + 32];
	const char		*h[2] = { auth, NULL };
	int			 status;

	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", access);
	ck_assert_int_eq(http_request(st, "GET", "/auth/me", h, NULL, 0, &r),
	    0);
	if ((status = r.status) == 200) {
		ck_assert_ptr_nonnull(o = http_json(&r));
		ck_assert(json_object_object_get_ex(o, "id", &v));
		*id = json_object_get_int64(v);
		ck_assert(json_object_object_get_ex(o, "email", &v));
		snprintf(email, len, "%s", json_object_get_string(v));
		json_object_put(o);
	}
	http_response_free(&r);
	return status;
}

static int
logout_all(struct stack *st, const char *access)
{
	struct http_response	 r;
	char			 auth[API_TOKEN_MAX + 32];
	const char		*h[2] = { auth, NULL };
	int			 status;

	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", access);
	ck_assert_int_eq(http_request(st, "POST", "/auth/logout?all=1", h,
	    NULL, 0, &r), 0);
	status = r.status;
	http_response_free(&r);
	return status;
}

START_TEST(restored_database_does_not_hand_old_tokens_to_a_new_user)
{
	struct stack		*st = start();
	struct api_person	 filler, mallory, victim;
	char			 live[512], backup[512], email[256];
	long long		 mallory_id, victim_id;

	db_path(st, "mockpie.db", live, sizeof(live));
	db_path(st, "backup.db", backup, sizeof(backup));
	api_register(st, &filler);
	db_copy(live, backup);			/* the backup */
	api_register(st, &mallory);
	ck_assert_int_eq(me_user(st, mallory.access, &mallory_id, email,
	    sizeof(email)), 200);
	db_copy(backup, live);			/* the restore */
	api_register(st, &victim);
	ck_assert_int_eq(me_user(st, victim.access, &victim_id, email,
	    sizeof(email)), 200);
	ck_assert_int_eq(victim_id, mallory_id);	/* the id came back */

	/* mallory's tokens are not the victim's, anywhere */
	ck_assert_int_eq(me_user(st, mallory.access, &victim_id, email,
	    sizeof(email)), 401);
	ck_assert_int_eq(api_refresh(st, mallory.refresh, NULL, NULL), 401);
	ck_assert_int_eq(logout_all(st, mallory.access), 401);
	ck_assert_int_eq(me_user(st, victim.access, &victim_id, email,
	    sizeof(email)), 200);
	ck_assert_str_eq(email, victim.email);
	ck_assert_int_eq(api_refresh(st, victim.refresh, NULL, NULL), 200);
	stack_stop(st);
}
END_TEST

START_TEST(changing_the_stamp_in_the_database_logs_out_everywhere)
{
	struct stack		*st = start();
	struct api_person	 p, other;
	struct api_tally	 t;
	char			 live[512], sql[512];
	char			 a2[API_TOKEN_MAX], r2[API_TOKEN_MAX];
	redisContext		*c;
	redisReply		*r;

	db_path(st, "mockpie.db", live, sizeof(live));
	api_register(st, &p);
	api_register(st, &other);
	ck_assert_int_eq(api_login(st, p.email, p.password, NULL), 200);
	/* Redis lost as well: the database alone must do it */
	ck_assert_ptr_nonnull(c = redis_server_client(stack_redis(st)));
	ck_assert_ptr_nonnull(r = redisCommand(c, "FLUSHALL"));
	freeReplyObject(r);
	redisFree(c);
	ck_assert_int_eq(redis_server_stop(stack_redis(st)), 0);
	ck_assert_int_eq(api_me(st, p.access), 200);	/* signature alone */
	snprintf(sql, sizeof(sql), "UPDATE users SET session_stamp ="
	    " lower(hex(randomblob(16))) WHERE email = '%s'", p.email);
	db_exec(live, sql);
	memset(&t, 0, sizeof(t));
	api_burst_every_worker(st, p.access, &t);
	ck_assert_msg(t.by_status[401] == t.total, "after the stamp changed: "
	    "%d of %d answers 401", t.by_status[401], t.total);
	ck_assert_int_eq(api_refresh(st, p.refresh, a2, r2), 401);
	ck_assert_int_eq(api_me(st, other.access), 200);  /* only that user */
	ck_assert_int_eq(api_login(st, p.email, p.password, &p), 200);
	ck_assert_int_eq(api_me(st, p.access), 200);	/* a new login works */
	stack_stop(st);
}
END_TEST

/* The signature (third part) of a token. */
static const char *
signature_of(const char *token)
{
	const char	*p;

	ck_assert_ptr_nonnull(p = strrchr(token, '.'));
	ck_assert_uint_gt(strlen(p + 1), 20);
	return p + 1;
}

/* Everything Redis holds, values and members, as one malloc'd text. */
static char *
redis_dump(redisContext *c)
{
	redisReply	*keys, *r;
	FILE		*f;
	char		*text = NULL;
	size_t		 len = 0, i, j;

	ck_assert_ptr_nonnull(f = open_memstream(&text, &len));
	ck_assert_ptr_nonnull(keys = redisCommand(c, "KEYS *"));
	ck_assert_int_eq(keys->type, REDIS_REPLY_ARRAY);
	for (i = 0; i < keys->elements; i++) {
		const char	*k = keys->element[i]->str;

		ck_assert_ptr_nonnull(r = redisCommand(c, "TYPE %s", k));
		if (strcmp(r->str, "hash") == 0) {
			freeReplyObject(r);
			r = redisCommand(c, "HGETALL %s", k);
		} else if (strcmp(r->str, "set") == 0) {
			freeReplyObject(r);
			r = redisCommand(c, "SMEMBERS %s", k);
		} else {
			freeReplyObject(r);
			r = redisCommand(c, "GET %s", k);
		}
		ck_assert_ptr_nonnull(r);
		fprintf(f, "%s\n", k);
		if (r->type == REDIS_REPLY_STRING)
			fprintf(f, "%s\n", r->str);
		for (j = 0; r->type == REDIS_REPLY_ARRAY && j < r->elements;
		    j++)
			fprintf(f, "%s\n", r->element[j]->str);
		freeReplyObject(r);
	}
	freeReplyObject(keys);
	ck_assert_int_eq(fclose(f), 0);
	return text;
}

/* Every file of Redis's append-only directory, joined, malloc'd. */
static char *
aof_dump(struct stack *st, size_t *lenp)
{
	char		 dir[512], path[1024], buf[8192];
	FILE		*f, *in;
	DIR		*d;
	struct dirent	*e;
	char		*text = NULL;
	size_t		 len = 0, n;

	db_path(st, "appendonlydir", dir, sizeof(dir));
	ck_assert_ptr_nonnull(f = open_memstream(&text, &len));
	ck_assert_ptr_nonnull(d = opendir(dir));
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		ck_assert_ptr_nonnull(in = fopen(path, "r"));
		while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
			fwrite(buf, 1, n, f);
		fclose(in);
	}
	closedir(d);
	ck_assert_int_eq(fclose(f), 0);
	*lenp = len;
	return text;
}

static long long
info_field(redisContext *c, const char *field)
{
	redisReply	*r;
	const char	*p;
	long long	 v;

	ck_assert_ptr_nonnull(r = redisCommand(c, "INFO persistence"));
	ck_assert_ptr_nonnull(p = strstr(r->str, field));
	v = strtoll(p + strlen(field), NULL, 10);
	freeReplyObject(r);
	return v;
}

START_TEST(no_usable_token_is_kept_in_redis_or_its_aof)
{
	struct stack		*st = start();
	struct api_person	 p;
	char			 a2[API_TOKEN_MAX], r2[API_TOKEN_MAX];
	char			 a3[API_TOKEN_MAX], r3[API_TOKEN_MAX];
	const char		*secrets[4];
	char			*dump, *aof;
	size_t			 aof_len;
	redisContext		*c;
	redisReply		*r;
	long long		 deadline;
	size_t			 i;

	ck_assert_ptr_nonnull(c = redis_server_client(stack_redis(st)));
	ck_assert_ptr_nonnull(r = redisCommand(c, "CONFIG SET appendonly yes"));
	freeReplyObject(r);
	deadline = test_now_ms() + 10000;
	while ((info_field(c, "aof_enabled:") != 1 ||
	    info_field(c, "aof_rewrite_in_progress:") != 0) &&
	    test_now_ms() < deadline)
		test_sleep_ms(50);
	api_register(st, &p);
	ck_assert_int_eq(api_refresh(st, p.refresh, a2, r2), 200);
	/* the grace window still gives the same pair, from its sealed form */
	ck_assert_int_eq(api_refresh(st, p.refresh, a3, r3), 200);
	ck_assert_str_eq(a3, a2);
	ck_assert_str_eq(r3, r2);
	secrets[0] = signature_of(p.access);
	secrets[1] = signature_of(p.refresh);
	secrets[2] = signature_of(a2);
	secrets[3] = signature_of(r2);
	dump = redis_dump(c);
	aof = aof_dump(st, &aof_len);
	ck_assert_ptr_nonnull(strstr(dump, "{u:"));	/* sessions are there */
	ck_assert_ptr_nonnull(memmem(aof, aof_len, "{u:", 3));
	for (i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++) {
		ck_assert_msg(strstr(dump, secrets[i]) == NULL,
		    "token %zu in Redis", i);
		ck_assert_msg(memmem(aof, aof_len, secrets[i],
		    strlen(secrets[i])) == NULL, "token %zu in the AOF", i);
	}
	free(dump);
	free(aof);
	redisFree(c);
	stack_stop(st);
}
END_TEST

Suite *
suite(void)
{
	Suite	*s = suite_create("token_binding");
	TCase	*tc;

	tc = tcase_create("row");
	tcase_set_timeout(tc, TIMEOUT_S);
	tcase_add_test(tc,
	    restored_database_does_not_hand_old_tokens_to_a_new_user);
	tcase_add_test(tc,
	    changing_the_stamp_in_the_database_logs_out_everywhere);
	suite_add_tcase(s, tc);

	tc = tcase_create("storage");
	tcase_set_timeout(tc, TIMEOUT_S);
	tcase_add_test(tc, no_usable_token_is_kept_in_redis_or_its_aof);
	suite_add_tcase(s, tc);
	return s;
}
