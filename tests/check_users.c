/*
 * User store against a real SQLite file in a fresh directory per test:
 * lookups, uniqueness enforced by the database, migrations, locking
 * between processes, and the fork rule (PITFALLS: SQLite).
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/arena.h"
#include "runner.h"
#include "store/user_cache.h"
#include "store/users.h"

#define BUSY_MS		2000	/* generous: racing tests must not fail */

static char		 dir[PATH_MAX];
static char		 dbpath[PATH_MAX];
static struct arena	*arena;

static void
setup(void)
{
	const char	*tmp = getenv("TMPDIR");

	if (tmp == NULL || *tmp == '\0')
		tmp = "/tmp";
	ck_assert_int_lt(snprintf(dir, sizeof(dir), "%s/check_users.XXXXXX",
	    tmp), (int)sizeof(dir));
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_lt(snprintf(dbpath, sizeof(dbpath), "%s/users.db", dir),
	    (int)sizeof(dbpath));
	arena = arena_new(4096);
}

/* Removes what the test left in its directory (database, -wal, -shm). */
static void
teardown(void)
{
	char		 path[PATH_MAX * 2];
	DIR		*d;
	struct dirent	*de;

	arena_free(arena);
	arena = NULL;
	if ((d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

static struct user
sample(const char *email, const char *username, const char *phone)
{
	struct user	 u;

	memset(&u, 0, sizeof(u));
	u.first_name = "Ada";
	u.last_name = "Lovelace";
	u.username = username;
	u.email = email;
	u.phone_number = phone;
	u.gender = "female";
	u.password_hash = "$argon2id$v=19$m=65536,t=2,p=1$c2FsdA$aGFzaA";
	return u;
}

static struct users *
open_store(void)
{
	char		 err[512];
	struct users	*u;

	u = users_open(dbpath, BUSY_MS, err, sizeof(err));
	ck_assert_msg(u != NULL, "users_open: %s", err);
	return u;
}

/* Makes the schema, then closes: forks below happen with nothing open. */
static void
make_store(void)
{
	users_close(open_store());
}

static sqlite3 *
raw_open(void)
{
	sqlite3	*db = NULL;

	ck_assert_int_eq(sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE, NULL), SQLITE_OK);
	sqlite3_busy_timeout(db, BUSY_MS);
	return db;
}

static void
raw_exec(const char *sql)
{
	sqlite3	*db = raw_open();
	char	*msg = NULL;
	int	 rc;

	rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
	ck_assert_msg(rc == SQLITE_OK, "%s: %s", sql, msg);
	sqlite3_free(msg);
	sqlite3_close(db);
}

/* The first column of the first row, as text in the arena. */
static const char *
raw_text(const char *sql)
{
	sqlite3		*db = raw_open();
	sqlite3_stmt	*st = NULL;
	const char	*s;

	ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL),
	    SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	s = arena_strdup(arena, (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	sqlite3_close(db);
	return s;
}

static long
raw_int(const char *sql)
{
	return strtol(raw_text(sql), NULL, 10);
}

static long
count_users(void)
{
	return raw_int("SELECT count(*) FROM users");
}

static const char *
dbpath_wal(void)
{
	return arena_printf(arena, "%s-wal", dbpath);
}

static double
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int
wait_child(pid_t pid)
{
	int	 status;

	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status), "child died: status %d", status);
	return WEXITSTATUS(status);
}

START_TEST(created_user_is_found_by_id_and_by_email_in_any_case)
{
	struct users	*u = open_store();
	struct user	 in = sample("Ada@Example.org", "ada_l", "+4412345678");
	struct user	 out, got;
	time_t		 before, after;

	before = time(NULL);
	ck_assert_int_eq(users_create(u, &in, arena, &out), USERS_OK);
	after = time(NULL);
	ck_assert_int_gt(out.id, 0);
	ck_assert_str_eq(out.email, "ada@example.org");
	ck_assert_ptr_null(out.password_hash);
	ck_assert_int_ge(out.created_at, before);
	ck_assert_int_le(out.created_at, after);
	ck_assert_int_eq(out.updated_at, out.created_at);

	ck_assert_int_eq(users_find_by_id(u, out.id, arena, &got), 1);
	ck_assert_int_eq(got.id, out.id);
	ck_assert_str_eq(got.first_name, "Ada");
	ck_assert_str_eq(got.last_name, "Lovelace");
	ck_assert_str_eq(got.username, "ada_l");
	ck_assert_str_eq(got.email, "ada@example.org");
	ck_assert_str_eq(got.phone_number, "+4412345678");
	ck_assert_str_eq(got.gender, "female");
	ck_assert_ptr_null(got.password_hash);
	ck_assert_int_eq(got.created_at, out.created_at);
	ck_assert_int_eq(got.updated_at, out.updated_at);

	ck_assert_int_eq(users_find_by_email(u, "ADA@EXAMPLE.ORG", arena,
	    &got), 1);
	ck_assert_int_eq(got.id, out.id);
	ck_assert_str_eq(got.password_hash, in.password_hash);
	ck_assert_int_eq(users_find_by_email(u, "ada@example.org", arena,
	    &got), 1);
	ck_assert_int_eq(got.id, out.id);
	users_close(u);
}
END_TEST

START_TEST(a_new_password_hash_replaces_the_old_and_keeps_updated_at)
{
	struct users	*u = open_store();
	struct user	 in = sample("re@example.org", "rehash", "+4411111111");
	struct user	 out, got;
	const char	*fresh = "$argon2id$v=19$m=8192,t=1,p=1$c2FsdA$bmV3";

	ck_assert_int_eq(users_create(u, &in, arena, &out), USERS_OK);
	ck_assert_int_eq(users_set_password(u, out.id, fresh), 0);
	ck_assert_int_eq(users_find_by_email(u, "re@example.org", arena, &got),
	    1);
	ck_assert_str_eq(got.password_hash, fresh);
	ck_assert_int_eq(got.updated_at, out.updated_at);
	ck_assert_int_eq(users_set_password(u, out.id + 1000, fresh), -1);
	users_close(u);
}
END_TEST

START_TEST(a_rehash_replaces_only_the_hash_that_was_verified)
{
	struct users	*u = open_store();
	struct user	 in = sample("re2@example.org", "rehash2",
			    "+4411111112");
	struct user	 out, got, stale;
	const char	*stamp;
	const char	*fresh = "$argon2id$v=19$m=8192,t=1,p=1$c2FsdA$bmV3";
	const char	*other = "$argon2id$v=19$m=8192,t=1,p=1$c2FsdA$b3Ro";

	ck_assert_int_eq(users_create(u, &in, arena, &out), USERS_OK);
	ck_assert_int_eq(users_find_by_email(u, "re2@example.org", arena,
	    &got), 1);
	stale = got;
	stamp = got.session_stamp;
	ck_assert_int_eq(users_set_password_hash(u, &got, fresh, arena), 1);
	ck_assert_str_eq(got.password_hash, fresh);
	ck_assert_str_eq(got.session_stamp, stamp);	/* its own column */
	/* a login that verified the old hash meanwhile does not overwrite */
	ck_assert_int_eq(users_set_password_hash(u, &stale, other, arena), 0);
	ck_assert_int_eq(users_find_by_email(u, "re2@example.org", arena,
	    &got), 1);
	ck_assert_str_eq(got.password_hash, fresh);
	users_close(u);
}
END_TEST

START_TEST(unknown_id_and_email_are_not_found)
{
	struct users	*u = open_store();
	struct user	 in = sample("a@b.org", "abc", "123456");
	struct user	 out, got;
	char		 huge[USERS_FIELD_MAX + 100];

	ck_assert_int_eq(users_create(u, &in, arena, &out), USERS_OK);
	ck_assert_int_eq(users_find_by_id(u, out.id + 1, arena, &got), 0);
	ck_assert_int_eq(users_find_by_id(u, 0, arena, &got), 0);
	ck_assert_int_eq(users_find_by_id(u, -1, arena, &got), 0);
	ck_assert_int_eq(users_find_by_email(u, "b@b.org", arena, &got), 0);
	ck_assert_int_eq(users_find_by_email(u, "", arena, &got), 0);
	memset(huge, 'a', sizeof(huge) - 1);
	huge[sizeof(huge) - 1] = '\0';
	ck_assert_int_eq(users_find_by_email(u, huge, arena, &got), 0);
	users_close(u);
}
END_TEST

START_TEST(email_is_stored_lower_cased_and_times_as_integers)
{
	struct users	*u = open_store();
	struct user	 in = sample("MiXeD.Case@Ex.COM", "mixed", "1234567");
	struct user	 out;

	ck_assert_int_eq(users_create(u, &in, arena, &out), USERS_OK);
	users_close(u);
	ck_assert_str_eq(raw_text("SELECT email FROM users"),
	    "mixed.case@ex.com");
	ck_assert_str_eq(raw_text("SELECT typeof(created_at) ||"
	    " typeof(updated_at) FROM users"), "integerinteger");
	ck_assert_int_eq(raw_int("SELECT created_at FROM users"),
	    out.created_at);
}
END_TEST

START_TEST(returned_user_does_not_point_into_the_callers_buffers)
{
	struct users	*u = open_store();
	char		 first[16] = "Grace";
	struct user	 in = sample("g@h.org", "grace", "1234567");
	struct user	 out;

	in.first_name = first;
	ck_assert_int_eq(users_create(u, &in, arena, &out), USERS_OK);
	strcpy(first, "Other");
	ck_assert_str_eq(out.first_name, "Grace");
	ck_assert_ptr_ne(out.username, in.username);
	users_close(u);
}
END_TEST

START_TEST(duplicate_email_in_another_case_is_refused)
{
	struct users	*u = open_store();
	struct user	 a = sample("same@example.org", "first", "1111111");
	struct user	 b = sample("SAME@Example.ORG", "second", "2222222");
	struct user	 c = sample("other@ex.org", "second", "2222222");
	struct user	 out, got;

	ck_assert_int_eq(users_create(u, &a, arena, &out), USERS_OK);
	ck_assert_int_eq(users_create(u, &b, arena, &got), USERS_DUP_EMAIL);
	ck_assert_int_eq(count_users(), 1);
	ck_assert_int_eq(users_find_by_email(u, "same@example.org", arena,
	    &got), 1);
	ck_assert_str_eq(got.username, "first");
	/* the refused insert left the statement usable */
	ck_assert_int_eq(users_create(u, &c, arena, &got), USERS_OK);
	ck_assert_int_eq(count_users(), 2);
	users_close(u);
}
END_TEST

START_TEST(duplicate_username_in_another_case_is_refused)
{
	struct users	*u = open_store();
	struct user	 a = sample("one@ex.org", "Jane_Doe", "1111111");
	struct user	 b = sample("two@ex.org", "jANE_dOE", "2222222");
	struct user	 out;

	ck_assert_int_eq(users_create(u, &a, arena, &out), USERS_OK);
	ck_assert_int_eq(users_create(u, &b, arena, &out),
	    USERS_DUP_USERNAME);
	ck_assert_int_eq(count_users(), 1);
	ck_assert_int_eq(users_find_by_email(u, "two@ex.org", arena, &out),
	    0);
	users_close(u);
}
END_TEST

START_TEST(duplicate_phone_is_refused)
{
	struct users	*u = open_store();
	struct user	 a = sample("one@ex.org", "one", "+33612345678");
	struct user	 b = sample("two@ex.org", "two", "+33612345678");
	struct user	 out;

	ck_assert_int_eq(users_create(u, &a, arena, &out), USERS_OK);
	ck_assert_int_eq(users_create(u, &b, arena, &out), USERS_DUP_PHONE);
	ck_assert_int_eq(count_users(), 1);
	users_close(u);
}
END_TEST

START_TEST(several_duplicates_name_email_then_username_then_phone)
{
	struct users	*u = open_store();
	struct user	 a = sample("a@example.org", "alpha", "1111111");
	struct user	 b = sample("b@example.org", "bravo", "2222222");
	struct user	 t, out;

	ck_assert_int_eq(users_create(u, &a, arena, &out), USERS_OK);
	ck_assert_int_eq(users_create(u, &b, arena, &out), USERS_OK);
	/* each of the three collides with a different row */
	t = sample("A@example.org", "BRAVO", "2222222");
	ck_assert_int_eq(users_create(u, &t, arena, &out), USERS_DUP_EMAIL);
	t = sample("b@example.org", "alpha", "1111111");
	ck_assert_int_eq(users_create(u, &t, arena, &out), USERS_DUP_EMAIL);
	t = sample("c@example.org", "Alpha", "2222222");
	ck_assert_int_eq(users_create(u, &t, arena, &out),
	    USERS_DUP_USERNAME);
	t = sample("c@example.org", "charlie", "1111111");
	ck_assert_int_eq(users_create(u, &t, arena, &out), USERS_DUP_PHONE);
	ck_assert_int_eq(count_users(), 2);
	users_close(u);
}
END_TEST

START_TEST(quotes_and_sql_text_are_stored_verbatim)
{
	struct users	*u = open_store();
	struct user	 in = sample("o'brien@ex.org", "x'--", "1234567");
	struct user	 out, got;

	in.first_name = "Robert'); DROP TABLE users;--";
	in.last_name = "O\"Brien %s %n \\ \xc3\xa9";
	in.gender = "male' OR '1'='1";
	ck_assert_int_eq(users_create(u, &in, arena, &out), USERS_OK);
	ck_assert_int_eq(users_find_by_id(u, out.id, arena, &got), 1);
	ck_assert_str_eq(got.first_name, in.first_name);
	ck_assert_str_eq(got.last_name, in.last_name);
	ck_assert_str_eq(got.username, in.username);
	ck_assert_str_eq(got.gender, in.gender);
	ck_assert_int_eq(users_find_by_email(u, "' OR 1=1 --", arena, &got),
	    0);
	ck_assert_int_eq(users_find_by_email(u, "O'Brien@ex.org", arena,
	    &got), 1);
	ck_assert_int_eq(count_users(), 1);
	users_close(u);
}
END_TEST

START_TEST(missing_or_oversized_field_is_an_error_and_inserts_nothing)
{
	struct users	*u = open_store();
	struct user	 in = sample("a@example.org", "abc", "1234567");
	struct user	 out;
	char		 big[USERS_FIELD_MAX + 2];

	in.gender = NULL;
	ck_assert_int_eq(users_create(u, &in, arena, &out), USERS_ERROR);
	in = sample("a@example.org", "abc", "1234567");
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	in.last_name = big;
	ck_assert_int_eq(users_create(u, &in, arena, &out), USERS_ERROR);
	ck_assert_int_eq(count_users(), 0);
	big[USERS_FIELD_MAX] = '\0';	/* exactly the limit is accepted */
	ck_assert_int_eq(users_create(u, &in, arena, &out), USERS_OK);
	ck_assert_uint_eq(strlen(out.last_name), USERS_FIELD_MAX);
	users_close(u);
}
END_TEST

START_TEST(database_is_in_wal_mode_with_a_schema_version)
{
	users_close(open_store());
	ck_assert_str_eq(raw_text("PRAGMA journal_mode"), "wal");
	ck_assert_int_eq(raw_int("SELECT version FROM schema_version"),
	    users_schema_version());
	ck_assert_int_eq(raw_int("SELECT count(*) FROM schema_version"), 1);
}
END_TEST

START_TEST(reopening_keeps_users_and_does_not_migrate_again)
{
	struct users	*u = open_store();
	struct user	 in = sample("keep@ex.org", "keeper", "1234567");
	struct user	 out, got;

	ck_assert_int_eq(users_create(u, &in, arena, &out), USERS_OK);
	users_close(u);
	/* a second run of the CREATE TABLE step would fail the open */
	u = open_store();
	ck_assert_int_eq(users_find_by_id(u, out.id, arena, &got), 1);
	ck_assert_str_eq(got.email, "keep@ex.org");
	users_close(u);
	u = open_store();
	users_close(u);
	ck_assert_int_eq(count_users(), 1);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM schema_version"), 1);
	ck_assert_int_eq(raw_int("SELECT version FROM schema_version"),
	    users_schema_version());
}
END_TEST

START_TEST(ids_are_never_reused_after_a_delete)
{
	struct users	*u = open_store();
	struct user	 a = sample("a@example.org", "aaa", "1111111");
	struct user	 b = sample("b@example.org", "bbb", "2222222");
	struct user	 out1, out2;

	ck_assert_int_eq(users_create(u, &a, arena, &out1), USERS_OK);
	raw_exec("DELETE FROM users");
	ck_assert_int_eq(users_create(u, &b, arena, &out2), USERS_OK);
	ck_assert_int_gt(out2.id, out1.id);
	users_close(u);
}
END_TEST

START_TEST(newer_schema_version_is_refused_at_open)
{
	char		 err[512];

	make_store();
	raw_exec("UPDATE schema_version SET version = 99");
	ck_assert_ptr_null(users_open(dbpath, BUSY_MS, err, sizeof(err)));
	ck_assert_msg(strstr(err, "99") != NULL, "err: %s", err);
	ck_assert_msg(strstr(err, dbpath) != NULL, "err: %s", err);
}
END_TEST

START_TEST(foreign_users_table_is_left_untouched)
{
	char		 err[512];

	raw_exec("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT);"
	    " INSERT INTO users (name) VALUES ('old')");
	ck_assert_ptr_null(users_open(dbpath, BUSY_MS, err, sizeof(err)));
	ck_assert_msg(strstr(err, "already exists") != NULL, "err: %s", err);
	/* the failed migration was rolled back as a whole */
	ck_assert_int_eq(raw_int("SELECT count(*) FROM sqlite_master"
	    " WHERE name = 'schema_version'"), 0);
	ck_assert_str_eq(raw_text("SELECT name FROM users"), "old");
}
END_TEST

START_TEST(open_in_missing_directory_fails_with_clear_message)
{
	char	 path[PATH_MAX * 2], err[512];

	snprintf(path, sizeof(path), "%s/no/such/dir/users.db", dir);
	ck_assert_ptr_null(users_open(path, BUSY_MS, err, sizeof(err)));
	ck_assert_msg(strstr(err, "/no/such/dir") != NULL, "err: %s", err);
	ck_assert_msg(strstr(err, strerror(ENOENT)) != NULL, "err: %s", err);
	ck_assert_ptr_null(users_open("", BUSY_MS, err, sizeof(err)));
	ck_assert_str_eq(err, "database path is empty");
}
END_TEST

START_TEST(file_that_is_not_a_database_is_refused)
{
	char	 junk[4096], err[512];
	FILE	*f;

	memset(junk, 'j', sizeof(junk));
	ck_assert_ptr_nonnull(f = fopen(dbpath, "w"));
	ck_assert_uint_eq(fwrite(junk, 1, sizeof(junk), f), sizeof(junk));
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_ptr_null(users_open(dbpath, BUSY_MS, err, sizeof(err)));
	ck_assert_msg(strstr(err, "not a database") != NULL, "err: %s", err);
}
END_TEST

START_TEST(ping_is_ok_on_a_healthy_store_and_names_a_broken_one)
{
	struct users	*u = open_store();
	char		 msg[256];

	ck_assert_int_eq(users_ping(u, msg, sizeof(msg)), 0);
	ck_assert_str_eq(msg, "ok");
	raw_exec("DROP TABLE schema_version");
	ck_assert_int_eq(users_ping(u, msg, sizeof(msg)), -1);
	ck_assert_msg(strstr(msg, "schema_version") != NULL, "msg: %s", msg);
	users_close(u);
	ck_assert_int_eq(users_ping(NULL, msg, sizeof(msg)), -1);
	users_close(NULL);
}
END_TEST

START_TEST(lookups_do_not_hold_a_read_lock_between_requests)
{
	struct users	*u = open_store();
	struct user	 in = sample("r@example.org", "reader", "1234567");
	struct user	 out, got;
	char		 msg[64];
	int		 i;

	ck_assert_int_eq(users_create(u, &in, arena, &out), USERS_OK);
	for (i = 0; i < 500; i++) {
		ck_assert_int_eq(users_find_by_id(u, out.id, arena, &got), 1);
		ck_assert_int_eq(users_find_by_email(u, "R@example.org",
		    arena, &got), 1);
		ck_assert_int_eq(users_find_by_email(u, "x@example.org",
		    arena, &got), 0);
		arena_reset(arena);
	}
	ck_assert_int_eq(users_ping(u, msg, sizeof(msg)), 0);
	/* a statement left un-reset would keep a reader and block this */
	ck_assert_str_eq(raw_text("PRAGMA wal_checkpoint(TRUNCATE)"), "0");
	users_close(u);
}
END_TEST

/*
 * One registering worker: opens its own handle after fork, says it is
 * ready, waits for the start signal, inserts, and exits with the result.
 */
static void
racer(int ready, int go, const char *path, const struct user *in)
{
	char			 err[512], c = 'r';
	struct users		*u;
	struct user		 out;
	enum users_result	 r;

	if ((u = users_open(path, BUSY_MS, err, sizeof(err))) == NULL) {
		fprintf(stderr, "racer: %s\n", err);
		_exit(100);
	}
	if (write(ready, &c, 1) != 1)
		_exit(101);
	close(ready);		/* EOF for the parent once all are ready */
	if (read(go, &c, 1) != 0)
		_exit(102);
	r = users_create(u, in, arena, &out);
	users_close(u);
	_exit((int)r);
}

/* Runs two racers at once; their results land in res. */
static void
race(const char *path, const struct user *in0, const struct user *in1,
    int res[2])
{
	const struct user	*in[2] = { in0, in1 };
	int			 ready[2], go[2], i;
	pid_t			 pid[2];
	char			 c;

	ck_assert_int_eq(pipe(ready), 0);
	ck_assert_int_eq(pipe(go), 0);
	for (i = 0; i < 2; i++) {
		ck_assert_int_ne(pid[i] = fork(), -1);
		if (pid[i] == 0) {
			close(ready[0]);
			close(go[1]);
			racer(ready[1], go[0], path, in[i]);
		}
	}
	close(ready[1]);
	close(go[0]);
	/* a racer that failed to open exits: EOF, and its status tells */
	for (i = 0; i < 2 && read(ready[0], &c, 1) == 1; i++)
		;
	close(go[1]);		/* both read EOF: start */
	close(ready[0]);
	for (i = 0; i < 2; i++)
		res[i] = wait_child(pid[i]);
}

START_TEST(concurrent_registrations_of_one_email_give_exactly_one_success)
{
	char		 email[64], n0[32], n1[32], p0[32], p1[32];
	struct user	 a, b;
	int		 res[2], round, ok;

	make_store();
	for (round = 0; round < 5; round++) {
		snprintf(email, sizeof(email), "race%d@example.org", round);
		snprintf(n0, sizeof(n0), "left%d", round);
		snprintf(n1, sizeof(n1), "right%d", round);
		snprintf(p0, sizeof(p0), "1000000%d", round);
		snprintf(p1, sizeof(p1), "2000000%d", round);
		a = sample(email, n0, p0);
		b = sample(email, n1, p1);
		race(dbpath, &a, &b, res);
		ok = (res[0] == USERS_OK) + (res[1] == USERS_OK);
		ck_assert_msg(ok == 1, "round %d: results %d and %d", round,
		    res[0], res[1]);
		ck_assert_int_eq(res[0] + res[1], USERS_DUP_EMAIL);
	}
	ck_assert_int_eq(count_users(), 5);
}
END_TEST

START_TEST(two_workers_starting_on_a_fresh_file_migrate_once)
{
	struct user	 a = sample("a@example.org", "aaa", "1111111");
	struct user	 b = sample("b@example.org", "bbb", "2222222");
	int		 res[2], round;

	for (round = 0; round < 3; round++) {
		ck_assert_int_lt(snprintf(dbpath, sizeof(dbpath),
		    "%s/fresh%d.db", dir, round), (int)sizeof(dbpath));
		race(dbpath, &a, &b, res);
		ck_assert_int_eq(res[0], USERS_OK);
		ck_assert_int_eq(res[1], USERS_OK);
		ck_assert_int_eq(count_users(), 2);
		ck_assert_int_eq(raw_int("SELECT count(*) FROM schema_version"),
		    1);
		ck_assert_str_eq(raw_text("PRAGMA journal_mode"), "wal");
	}
}
END_TEST

START_TEST(write_lock_held_elsewhere_gives_busy_after_the_timeout)
{
	struct user	 in = sample("w@example.org", "writer", "1111111");
	struct user	 late = sample("l@example.org", "late", "2222222");
	struct user	 out, got;
	struct users	*u;
	int		 ready[2], release[2];
	char		 c = 'x', err[512], msg[64];
	double		 t0, ms;
	pid_t		 pid;

	u = open_store();
	ck_assert_int_eq(users_create(u, &in, arena, &out), USERS_OK);
	users_close(u);

	ck_assert_int_eq(pipe(ready), 0);
	ck_assert_int_eq(pipe(release), 0);
	ck_assert_int_ne(pid = fork(), -1);
	if (pid == 0) {
		sqlite3	*db = NULL;

		close(ready[0]);
		close(release[1]);
		if (sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READWRITE,
		    NULL) != SQLITE_OK ||
		    sqlite3_exec(db, "BEGIN EXCLUSIVE", NULL, NULL, NULL) !=
		    SQLITE_OK)
			_exit(1);
		if (write(ready[1], &c, 1) != 1)
			_exit(2);
		(void)read(release[0], &c, 1);	/* EOF when released */
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		sqlite3_close(db);
		_exit(0);
	}
	close(ready[1]);
	close(release[0]);
	ck_assert_int_eq(read(ready[0], &c, 1), 1);

	/* a current schema needs no write lock: a worker can still start */
	u = users_open(dbpath, 100, err, sizeof(err));
	ck_assert_msg(u != NULL, "users_open: %s", err);
	t0 = now_ms();
	ck_assert_int_eq(users_create(u, &late, arena, &got), USERS_BUSY);
	ms = now_ms() - t0;
	ck_assert_msg(ms >= 50 && ms < 1500, "busy after %.0f ms", ms);
	/* WAL: readers are not blocked by the writer */
	ck_assert_int_eq(users_find_by_id(u, out.id, arena, &got), 1);
	ck_assert_int_eq(users_ping(u, msg, sizeof(msg)), 0);

	close(release[1]);
	close(ready[0]);
	ck_assert_int_eq(wait_child(pid), 0);
	ck_assert_int_eq(users_create(u, &late, arena, &got), USERS_OK);
	users_close(u);
	ck_assert_int_eq(count_users(), 2);
}
END_TEST

/* Static: the child exits holding the parent's handle, still reachable. */
static struct users	*inherited;

START_TEST(handle_inherited_across_fork_is_refused_in_the_child)
{
	struct users	*u = inherited = open_store();
	struct user	 in = sample("p@example.org", "parent", "1111111");
	struct user	 c = sample("c@example.org", "child", "2222222");
	struct user	 out, got;
	char		 msg[64], verdict = 'x';
	int		 fd[2];
	pid_t		 pid;

	ck_assert_int_eq(users_create(u, &in, arena, &out), USERS_OK);
	ck_assert_int_eq(pipe(fd), 0);
	ck_assert_int_ne(pid = fork(), -1);
	if (pid == 0) {
		int	 bad = 0;

		close(fd[0]);
		bad |= users_create(u, &c, arena, &got) != USERS_ERROR;
		bad |= users_find_by_id(u, out.id, arena, &got) != -1;
		bad |= users_find_by_email(u, "p@example.org", arena,
		    &got) != -1;
		bad |= users_ping(u, msg, sizeof(msg)) != -1;
		users_close(u);	/* must leave the parent's WAL alone */
		verdict = bad ? 'f' : 'k';
		/*
		 * The verdict goes through the pipe: under valgrind the
		 * exit status also reports the parent's live SQLite cache.
		 */
		_exit(write(fd[1], &verdict, 1) == 1 ? 0 : 1);
	}
	close(fd[1]);
	ck_assert_int_eq(read(fd[0], &verdict, 1), 1);
	close(fd[0]);
	(void)wait_child(pid);
	ck_assert_int_eq(verdict, 'k');
	/* the parent's connection and its WAL are intact */
	ck_assert_int_eq(access(dbpath_wal(), F_OK), 0);
	ck_assert_int_eq(users_find_by_id(u, out.id, arena, &got), 1);
	ck_assert_int_eq(users_create(u, &c, arena, &got), USERS_OK);
	users_close(u);
	inherited = NULL;
	ck_assert_int_eq(count_users(), 2);
}
END_TEST

START_TEST(each_user_gets_a_random_session_stamp_that_lookups_return)
{
	struct users	*u = open_store();
	struct user	 in = sample("st1@example.org", "stamp1", "+4412300001");
	struct user	 in2 = sample("st2@example.org", "stamp2", "+4412300002");
	struct user	 a, b, got;

	ck_assert_int_eq(users_create(u, &in, arena, &a), USERS_OK);
	ck_assert_int_eq(users_create(u, &in2, arena, &b), USERS_OK);
	ck_assert_ptr_nonnull(a.session_stamp);
	ck_assert_uint_eq(strlen(a.session_stamp), USERS_STAMP_BYTES * 2);
	ck_assert_str_ne(a.session_stamp, b.session_stamp);
	ck_assert_int_eq(users_find_by_id(u, a.id, arena, &got), 1);
	ck_assert_str_eq(got.session_stamp, a.session_stamp);
	ck_assert_int_eq(users_find_by_email(u, in.email, arena, &got), 1);
	ck_assert_str_eq(got.session_stamp, a.session_stamp);
	users_close(u);
}
END_TEST

START_TEST(version_1_rows_get_distinct_stamps_when_migrated)
{
	struct users	*u;
	struct user	 got;

	/* a database as version 1 left it, with two users */
	raw_exec("CREATE TABLE schema_version (id INTEGER PRIMARY KEY CHECK "
	    "(id = 1), version INTEGER NOT NULL) STRICT;"
	    "INSERT INTO schema_version VALUES (1, 1);"
	    "CREATE TABLE users (id INTEGER PRIMARY KEY AUTOINCREMENT,"
	    " first_name TEXT NOT NULL, last_name TEXT NOT NULL,"
	    " username TEXT NOT NULL COLLATE NOCASE,"
	    " email TEXT NOT NULL COLLATE NOCASE,"
	    " phone_number TEXT NOT NULL, gender TEXT NOT NULL,"
	    " password_hash TEXT NOT NULL, created_at INTEGER NOT NULL,"
	    " updated_at INTEGER NOT NULL) STRICT;"
	    "INSERT INTO users VALUES (1, 'A', 'B', 'ab', 'a@x.io', '+1555',"
	    " 'male', 'h', 1, 1), (2, 'C', 'D', 'cd', 'c@x.io', '+1556',"
	    " 'female', 'h', 1, 1);");
	u = open_store();
	ck_assert_int_eq(raw_int("SELECT version FROM schema_version"),
	    users_schema_version());
	ck_assert_int_eq(raw_int("SELECT count(DISTINCT session_stamp) FROM"
	    " users WHERE length(session_stamp) = 32"), 2);
	ck_assert_int_eq(users_find_by_id(u, 1, arena, &got), 1);
	ck_assert_uint_eq(strlen(got.session_stamp), 32);
	users_close(u);
}
END_TEST

START_TEST(user_cache_answers_from_memory_within_its_ttl)
{
	struct users	*u = open_store();
	struct user	 in = sample("uc@example.org", "ucache", "+4412300009");
	struct user	 a, got;
	char		 sql[256];

	ck_assert_int_eq(users_create(u, &in, arena, &a), USERS_OK);
	ck_assert_int_eq(user_cache_find(u, a.id, 60, arena, &got), 1);
	ck_assert_str_eq(got.first_name, in.first_name);
	/* changed behind mockpie's back: still the remembered row */
	snprintf(sql, sizeof(sql), "UPDATE users SET first_name = 'Zed', "
	    "session_stamp = 'changed' WHERE id = %lld", a.id);
	raw_exec(sql);
	ck_assert_int_eq(user_cache_find(u, a.id, 60, arena, &got), 1);
	ck_assert_str_eq(got.first_name, in.first_name);
	ck_assert_str_eq(got.session_stamp, a.session_stamp);
	ck_assert_str_eq(got.email, a.email);
	/* ttl 0 reads the store; a forgotten row is read again */
	ck_assert_int_eq(user_cache_find(u, a.id, 0, arena, &got), 1);
	ck_assert_str_eq(got.first_name, "Zed");
	user_cache_forget(a.id);
	ck_assert_int_eq(user_cache_find(u, a.id, 60, arena, &got), 1);
	ck_assert_str_eq(got.session_stamp, "changed");
	/* unknown ids are never remembered */
	ck_assert_int_eq(user_cache_find(u, a.id + 1, 60, arena, &got), 0);
	users_close(u);
}
END_TEST

Suite *
suite(void)
{
	Suite	*s = suite_create("users");
	TCase	*tc;

	tc = tcase_create("store");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc,
	    created_user_is_found_by_id_and_by_email_in_any_case);
	tcase_add_test(tc,
	    a_rehash_replaces_only_the_hash_that_was_verified);
	tcase_add_test(tc, unknown_id_and_email_are_not_found);
	tcase_add_test(tc,
	    each_user_gets_a_random_session_stamp_that_lookups_return);
	tcase_add_test(tc, version_1_rows_get_distinct_stamps_when_migrated);
	tcase_add_test(tc, user_cache_answers_from_memory_within_its_ttl);
	tcase_add_test(tc,
	    a_new_password_hash_replaces_the_old_and_keeps_updated_at);
	tcase_add_test(tc, email_is_stored_lower_cased_and_times_as_integers);
	tcase_add_test(tc,
	    returned_user_does_not_point_into_the_callers_buffers);
	tcase_add_test(tc, duplicate_email_in_another_case_is_refused);
	tcase_add_test(tc, duplicate_username_in_another_case_is_refused);
	tcase_add_test(tc, duplicate_phone_is_refused);
	tcase_add_test(tc,
	    several_duplicates_name_email_then_username_then_phone);
	tcase_add_test(tc, quotes_and_sql_text_are_stored_verbatim);
	tcase_add_test(tc,
	    missing_or_oversized_field_is_an_error_and_inserts_nothing);
	tcase_add_test(tc, ids_are_never_reused_after_a_delete);
	tcase_add_test(tc, lookups_do_not_hold_a_read_lock_between_requests);
	tcase_add_test(tc,
	    ping_is_ok_on_a_healthy_store_and_names_a_broken_one);
	suite_add_tcase(s, tc);

	tc = tcase_create("schema");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, database_is_in_wal_mode_with_a_schema_version);
	tcase_add_test(tc, reopening_keeps_users_and_does_not_migrate_again);
	tcase_add_test(tc, newer_schema_version_is_refused_at_open);
	tcase_add_test(tc, foreign_users_table_is_left_untouched);
	tcase_add_test(tc, open_in_missing_directory_fails_with_clear_message);
	tcase_add_test(tc, file_that_is_not_a_database_is_refused);
	suite_add_tcase(s, tc);

	tc = tcase_create("processes");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc,
	    concurrent_registrations_of_one_email_give_exactly_one_success);
	tcase_add_test(tc, two_workers_starting_on_a_fresh_file_migrate_once);
	tcase_add_test(tc,
	    write_lock_held_elsewhere_gives_busy_after_the_timeout);
	tcase_add_test(tc,
	    handle_inherited_across_fork_is_refused_in_the_child);
	suite_add_tcase(s, tc);
	return s;
}
