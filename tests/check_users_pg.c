/*
 * The PostgreSQL user store (issue 10.1) against a real PostgreSQL 15
 * that this program starts (tests/pg_server.c), one fresh database per
 * test: check_users.c's cases that apply to a server, then what only a
 * server has: a lost, refused, hung or slow server is USERS_UNAVAILABLE
 * within the timeouts, and the store recovers by itself; with
 * users_table = original (issue 10.2) the original MockPie backend's
 * table, built by tests/original_users.sql and filled with bcrypt hashes
 * from python3-bcrypt.  Skipped (77) with the reason when no PostgreSQL
 * can run here.
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "lib/arena.h"
#include "app/app.h"
#include "app/config.h"
#include "auth/password.h"
#include "bcrypt_py.h"
#include "pg_server.h"
#include "redis_server.h"
#include "runner.h"
#include "store/users.h"

#define URL_MAX		512
#define RACERS		6
#define OUTAGE_TIMEOUT_S 60

static struct pg_server	*srv;		/* the suite's server */
static pid_t		 srv_owner;
static char		 dbname[64];
static char		 url[URL_MAX];
static struct arena	*arena;
static int		 original;	/* users_table = original */

static void
stop_suite_server(void)
{
	if (getpid() == srv_owner)	/* not in Check's forked tests */
		pg_server_free(srv);
}

/* A fresh database per test, in the test's own process. */
static void
setup(void)
{
	static unsigned	 n;

	snprintf(dbname, sizeof(dbname), "t_%ld_%u", (long)getpid(), n++);
	ck_assert_int_eq(pg_server_create_db(srv, dbname), 0);
	pg_server_url(srv, dbname, url, sizeof(url));
	arena = arena_new(4096);
}

static void
teardown(void)
{
	arena_free(arena);
	arena = NULL;
	original = 0;
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
open_url(const char *which, int connect_ms, int statement_ms)
{
	struct config		 cfg;
	struct users_settings	 set;
	struct users		*u;
	char			 err[512];

	config_defaults(&cfg);
	snprintf(cfg.database, sizeof(cfg.database), "%s", which);
	cfg.database_connect_timeout_ms = connect_ms;
	cfg.database_statement_timeout_ms = statement_ms;
	app_users_settings(&cfg, &set);
	set.original = original;
	u = users_open_settings(&set, err, sizeof(err));
	config_fini(&cfg);
	ck_assert_msg(u != NULL, "users_open_settings: %s", err);
	return u;
}

static struct users *
open_store(void)
{
	return open_url(url, 10000, 10000);	/* slow SCRAM under valgrind */
}

static PGconn *
admin(void)
{
	PGconn	*c = pg_server_admin(srv, dbname);

	ck_assert_ptr_nonnull(c);
	return c;
}

static void
raw_exec(const char *sql)
{
	PGconn		*c = admin();
	PGresult	*r = PQexec(c, sql);

	ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK ||
	    PQresultStatus(r) == PGRES_TUPLES_OK, "%s: %s", sql,
	    PQerrorMessage(c));
	PQclear(r);
	PQfinish(c);
}

static long long
raw_int(const char *sql)
{
	PGconn		*c = admin();
	PGresult	*r = PQexec(c, sql);
	long long	 v;

	ck_assert_msg(PQresultStatus(r) == PGRES_TUPLES_OK &&
	    PQntuples(r) == 1, "%s: %s", sql, PQerrorMessage(c));
	v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	PQfinish(c);
	return v;
}

static int
wait_child(pid_t pid)
{
	int	 status;

	while (waitpid(pid, &status, 0) == -1)
		ck_assert_int_eq(errno, EINTR);
	ck_assert(WIFEXITED(status));
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

START_TEST(duplicate_email_in_another_case_is_refused)
{
	struct users	*u = open_store();
	struct user	 a = sample("same@example.org", "first", "1111111");
	struct user	 b = sample("SAME@Example.ORG", "second", "2222222");
	struct user	 out, got;

	ck_assert_int_eq(users_create(u, &a, arena, &out), USERS_OK);
	ck_assert_int_eq(users_create(u, &b, arena, &got), USERS_DUP_EMAIL);
	ck_assert_int_eq(users_find_by_email(u, "same@example.org", arena,
	    &got), 1);
	ck_assert_str_eq(got.username, "first");
	ck_assert_int_eq(raw_int("SELECT count(*) FROM users"), 1);
	users_close(u);
}
END_TEST

START_TEST(duplicate_username_in_another_case_is_refused)
{
	struct users	*u = open_store();
	struct user	 a = sample("one@ex.org", "Lovelace", "1111111");
	struct user	 b = sample("two@ex.org", "LOVELACE", "2222222");
	struct user	 out;

	ck_assert_int_eq(users_create(u, &a, arena, &out), USERS_OK);
	ck_assert_int_eq(users_create(u, &b, arena, &out),
	    USERS_DUP_USERNAME);
	ck_assert_int_eq(users_find_by_email(u, "two@ex.org", arena, &out), 0);
	users_close(u);
}
END_TEST

START_TEST(duplicate_phone_is_refused)
{
	struct users	*u = open_store();
	struct user	 a = sample("one@ex.org", "one", "+15551234567");
	struct user	 b = sample("two@ex.org", "two", "+15551234567");
	struct user	 out;

	ck_assert_int_eq(users_create(u, &a, arena, &out), USERS_OK);
	ck_assert_int_eq(users_create(u, &b, arena, &out), USERS_DUP_PHONE);
	users_close(u);
}
END_TEST

START_TEST(several_duplicates_name_email_then_username_then_phone)
{
	struct users	*u = open_store();
	struct user	 a = sample("a@ex.org", "aaa", "1111111");
	struct user	 b = sample("b@ex.org", "bbb", "2222222");
	struct user	 t, out;

	ck_assert_int_eq(users_create(u, &a, arena, &out), USERS_OK);
	ck_assert_int_eq(users_create(u, &b, arena, &out), USERS_OK);
	t = sample("b@ex.org", "aaa", "1111111");
	ck_assert_int_eq(users_create(u, &t, arena, &out), USERS_DUP_EMAIL);
	t = sample("a@ex.org", "bbb", "2222222");
	ck_assert_int_eq(users_create(u, &t, arena, &out), USERS_DUP_EMAIL);
	t = sample("c@ex.org", "BBB", "1111111");
	ck_assert_int_eq(users_create(u, &t, arena, &out),
	    USERS_DUP_USERNAME);
	t = sample("c@ex.org", "ccc", "2222222");
	ck_assert_int_eq(users_create(u, &t, arena, &out), USERS_DUP_PHONE);
	users_close(u);
}
END_TEST

START_TEST(quotes_and_sql_text_are_stored_verbatim)
{
	struct users	*u = open_store();
	struct user	 in = sample("o'brien@ex.org", "o.brien", "1234567");
	struct user	 out, got;

	in.first_name = "Robert'); DROP TABLE users;--";
	in.last_name = "\"Bobby\" \\ Tables";
	ck_assert_int_eq(users_create(u, &in, arena, &out), USERS_OK);
	ck_assert_int_eq(users_find_by_id(u, out.id, arena, &got), 1);
	ck_assert_str_eq(got.first_name, in.first_name);
	ck_assert_str_eq(got.last_name, in.last_name);
	ck_assert_int_eq(users_find_by_email(u, "' OR 1=1 --", arena, &got),
	    0);
	ck_assert_int_eq(users_find_by_email(u, "O'Brien@ex.org", arena,
	    &got), 1);
	users_close(u);
}
END_TEST

START_TEST(missing_or_oversized_field_is_an_error_and_inserts_nothing)
{
	struct users	*u = open_store();
	struct user	 in = sample("x@ex.org", "xxx", "1234567");
	struct user	 out;
	char		 big[USERS_FIELD_MAX + 2];

	in.gender = NULL;
	ck_assert_int_eq(users_create(u, &in, arena, &out), USERS_ERROR);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	in = sample("x@ex.org", "xxx", "1234567");
	in.first_name = big;
	ck_assert_int_eq(users_create(u, &in, arena, &out), USERS_ERROR);
	in = sample("x@ex.org", "xxx", "1234567");
	ck_assert_int_eq(users_create(u, &in, arena, &out), USERS_OK);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM users"), 1);
	users_close(u);
}
END_TEST

START_TEST(ids_are_never_reused_after_a_delete_or_a_refused_insert)
{
	struct users	*u = open_store();
	struct user	 a = sample("a@example.org", "aaa", "1111111");
	struct user	 dup = sample("a@example.org", "zzz", "9999999");
	struct user	 b = sample("b@example.org", "bbb", "2222222");
	struct user	 out1, out2, got;

	ck_assert_int_eq(users_create(u, &a, arena, &out1), USERS_OK);
	ck_assert_int_eq(users_create(u, &dup, arena, &got),
	    USERS_DUP_EMAIL);
	raw_exec("DELETE FROM users");
	ck_assert_int_eq(users_create(u, &b, arena, &out2), USERS_OK);
	ck_assert_int_gt(out2.id, out1.id);
	users_close(u);
}
END_TEST

START_TEST(each_user_gets_a_random_session_stamp_that_lookups_return)
{
	struct users	*u = open_store();
	struct user	 in = sample("st1@example.org", "stamp1", "+44123001");
	struct user	 in2 = sample("st2@example.org", "stamp2", "+44123002");
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

START_TEST(ping_is_ok_and_the_schema_is_at_this_builds_version)
{
	struct users	*u = open_store();
	char		 msg[256];

	ck_assert_int_eq(users_ping(u, msg, sizeof(msg)), 0);
	ck_assert_str_eq(msg, "ok");
	ck_assert_int_eq(raw_int("SELECT version FROM schema_version"),
	    users_schema_version());
	users_close(u);
}
END_TEST

START_TEST(the_url_is_shown_without_its_password)
{
	char		 name[URL_MAX], err[512];
	struct users	*u;

	ck_assert(users_is_postgresql(url));
	ck_assert(users_is_postgresql("POSTGRES://h/db"));
	ck_assert(!users_is_postgresql("/var/lib/mockpie/mockpie.db"));
	ck_assert(!users_is_postgresql("postgresql.db"));
	users_name(url, name, sizeof(name));
	ck_assert_ptr_null(strstr(name, pg_server_password(srv)));
	ck_assert_ptr_nonnull(strstr(name, "postgresql://mockpie@127.0.0.1:"));
	ck_assert_ptr_nonnull(strstr(name, dbname));
	users_name("postgresql://u:s3cret@h:5/d?password=s3cret", name,
	    sizeof(name));
	ck_assert_ptr_null(strstr(name, "s3cret"));
	/* a bad URL is refused at open, its password not repeated */
	u = users_open("postgresql://u:s3cret@h:5/d?nosuchparam=1", 100, err,
	    sizeof(err));
	ck_assert_ptr_null(u);
	ck_assert_ptr_null(strstr(err, "s3cret"));
}
END_TEST

START_TEST(a_unix_socket_url_works_and_is_named_without_the_password)
{
	struct users	*u;
	struct user	 in = sample("sock@example.org", "socket", "4545454");
	struct user	 out, got;
	char		 sock[URL_MAX], name[URL_MAX];

	snprintf(sock, sizeof(sock), "postgresql://mockpie:%s@/%s?host=%s"
	    "&port=%d", pg_server_password(srv), dbname,
	    pg_server_socket_dir(srv), pg_server_port(srv));
	u = open_url(sock, 10000, 10000);
	ck_assert_int_eq(users_create(u, &in, arena, &out), USERS_OK);
	ck_assert_int_eq(users_find_by_email(u, "SOCK@example.org", arena,
	    &got), 1);
	users_close(u);
	users_name(sock, name, sizeof(name));
	ck_assert_ptr_null(strstr(name, pg_server_password(srv)));
	ck_assert_ptr_nonnull(strstr(name, pg_server_socket_dir(srv)));
}
END_TEST

/*
 * Each racer opens its own store, waits for the start, creates, and
 * writes its result to out: under valgrind an exit status also reports
 * the parent's memory.  Generous timeouts: SCRAM is slow under valgrind.
 */
static void
racer(int ready, int go, int out, const struct user *in)
{
	struct users	*u = open_url(url, 10000, 10000);
	struct user	 got;
	char		 c = 'r';

	if (write(ready, &c, 1) != 1)
		_exit(101);
	close(ready);
	if (read(go, &c, 1) != 0)
		_exit(102);
	c = (char)users_create(u, in, arena, &got);
	users_close(u);
	_exit(write(out, &c, 1) == 1 ? 0 : 103);
}

START_TEST(concurrent_registrations_of_one_email_give_exactly_one_success)
{
	char		 names[RACERS][32], phones[RACERS][32];
	struct user	 in[RACERS];
	struct users	*u = open_store();
	struct user	 out;
	int		 ready[2], go[2], res[2], i, ok = 0, dup = 0;
	pid_t		 pid[RACERS];
	char		 c;

	/* the schema exists before the race: the race is the insert's */
	ck_assert_int_eq(users_find_by_id(u, 1, arena, &out), 0);
	users_close(u);
	ck_assert_int_eq(pipe(ready), 0);
	ck_assert_int_eq(pipe(go), 0);
	ck_assert_int_eq(pipe(res), 0);
	for (i = 0; i < RACERS; i++) {
		snprintf(names[i], sizeof(names[i]), "racer%d", i);
		snprintf(phones[i], sizeof(phones[i]), "+1555000000%d", i);
		in[i] = sample("Race@Example.org", names[i], phones[i]);
		ck_assert_int_ne(pid[i] = fork(), -1);
		if (pid[i] == 0) {
			close(ready[0]);
			close(go[1]);
			close(res[0]);
			racer(ready[1], go[0], res[1], &in[i]);
		}
	}
	close(ready[1]);
	close(go[0]);
	close(res[1]);
	for (i = 0; i < RACERS && read(ready[0], &c, 1) == 1; i++)
		;
	close(go[1]);
	close(ready[0]);
	for (i = 0; i < RACERS && read(res[0], &c, 1) == 1; i++) {
		ok += c == USERS_OK;
		dup += c == USERS_DUP_EMAIL;
	}
	close(res[0]);
	for (i = 0; i < RACERS; i++)
		(void)wait_child(pid[i]);
	ck_assert_int_eq(ok, 1);
	ck_assert_int_eq(dup, RACERS - 1);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM users"), 1);
}
END_TEST

START_TEST(handle_inherited_across_fork_is_refused_in_the_child)
{
	struct users	*u = open_store();
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
		users_close(u);	/* must not end the parent's session */
		verdict = bad ? 'f' : 'k';
		/* through the pipe: see racer() */
		_exit(write(fd[1], &verdict, 1) == 1 ? 0 : 1);
	}
	close(fd[1]);
	ck_assert_int_eq(read(fd[0], &verdict, 1), 1);
	close(fd[0]);
	(void)wait_child(pid);
	ck_assert_int_eq(verdict, 'k');
	/* the parent's connection still works, untouched */
	ck_assert_int_eq(users_find_by_id(u, out.id, arena, &got), 1);
	ck_assert_int_eq(users_create(u, &c, arena, &got), USERS_OK);
	users_close(u);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM users"), 2);
}
END_TEST

START_TEST(init_db_creates_the_schema_in_an_empty_database_and_is_idempotent)
{
	struct config		 cfg;
	struct users_settings	 set;
	int			 i;

	config_defaults(&cfg);
	snprintf(cfg.database, sizeof(cfg.database), "%s", url);
	app_users_settings(&cfg, &set);
	for (i = 0; i < 2; i++)
		ck_assert_int_eq(users_init_db(&set), 0);
	config_fini(&cfg);
	ck_assert_int_eq(raw_int("SELECT version FROM schema_version"),
	    users_schema_version());
	ck_assert_int_eq(raw_int("SELECT count(*) FROM pg_indexes WHERE "
	    "tablename = 'users' AND indexname IN ('users_email_key', "
	    "'users_username_key', 'users_phone_number_key')"), 3);
}
END_TEST

START_TEST(workers_starting_at_once_on_an_empty_database_migrate_once)
{
	char	 msg[256], c;
	pid_t	 pid[4];
	int	 fd[2], i, ok = 0;

	ck_assert_int_eq(pipe(fd), 0);
	for (i = 0; i < 4; i++) {
		ck_assert_int_ne(pid[i] = fork(), -1);
		if (pid[i] == 0) {
			struct users	*u = open_url(url, 10000, 10000);

			close(fd[0]);
			c = users_ping(u, msg, sizeof(msg)) == 0 ? 'k' : 'f';
			if (c != 'k')
				fprintf(stderr, "worker %d: %s\n", i, msg);
			users_close(u);
			/* through the pipe: see racer() */
			_exit(write(fd[1], &c, 1) == 1 ? 0 : 1);
		}
	}
	close(fd[1]);
	while (read(fd[0], &c, 1) == 1)
		ok += c == 'k';
	close(fd[0]);
	for (i = 0; i < 4; i++)
		(void)wait_child(pid[i]);
	ck_assert_int_eq(ok, 4);
	ck_assert_int_eq(raw_int("SELECT version FROM schema_version"),
	    users_schema_version());
}
END_TEST

START_TEST(version_1_rows_get_distinct_stamps_when_migrated)
{
	struct users	*u;
	struct user	 got;

	raw_exec("CREATE TABLE schema_version (id integer PRIMARY KEY CHECK "
	    "(id = 1), version integer NOT NULL);"
	    "INSERT INTO schema_version VALUES (1, 1);"
	    "CREATE TABLE users (id bigint GENERATED ALWAYS AS IDENTITY"
	    " PRIMARY KEY, first_name text NOT NULL, last_name text NOT NULL,"
	    " username text NOT NULL, email text NOT NULL,"
	    " phone_number text NOT NULL, gender text NOT NULL,"
	    " password_hash text NOT NULL, created_at bigint NOT NULL,"
	    " updated_at bigint NOT NULL);"
	    "INSERT INTO users (first_name, last_name, username, email,"
	    " phone_number, gender, password_hash, created_at, updated_at)"
	    " VALUES ('A', 'B', 'ab', 'a@x.io', '+1555', 'male', 'h', 1, 1),"
	    " ('C', 'D', 'cd', 'c@x.io', '+1556', 'female', 'h', 1, 1);");
	u = open_store();
	ck_assert_int_eq(users_find_by_id(u, 1, arena, &got), 1);
	ck_assert_uint_eq(strlen(got.session_stamp), 32);
	ck_assert_int_eq(raw_int("SELECT version FROM schema_version"),
	    users_schema_version());
	ck_assert_int_eq(raw_int("SELECT count(DISTINCT session_stamp) FROM"
	    " users WHERE length(session_stamp) = 32"), 2);
	users_close(u);
}
END_TEST

START_TEST(newer_schema_version_is_refused_and_health_says_why)
{
	struct users	*u;
	struct user	 got;
	char		 msg[256];

	raw_exec("CREATE TABLE schema_version (id integer PRIMARY KEY, "
	    "version integer NOT NULL); INSERT INTO schema_version "
	    "VALUES (1, 99)");
	u = open_store();
	ck_assert_int_eq(users_find_by_id(u, 1, arena, &got),
	    USERS_FIND_UNAVAILABLE);
	test_sleep_ms(300);	/* past the first back-off */
	ck_assert_int_eq(users_ping(u, msg, sizeof(msg)), -1);
	ck_assert_msg(strstr(msg, "schema version 99") != NULL, "%s", msg);
	users_close(u);
}
END_TEST

START_TEST(foreign_users_table_is_left_untouched)
{
	struct users	*u;
	char		 msg[256];

	raw_exec("CREATE TABLE users (x integer); INSERT INTO users "
	    "VALUES (7)");
	u = open_store();
	ck_assert_int_eq(users_ping(u, msg, sizeof(msg)), -1);
	ck_assert_msg(strstr(msg, "already exists") != NULL, "%s", msg);
	users_close(u);
	ck_assert_int_eq(raw_int("SELECT x FROM users"), 7);
	ck_assert_int_eq(raw_int("SELECT (to_regclass('schema_version') IS "
	    "NULL)::int"), 1);
}
END_TEST

/* The server's pid for the store's session, from pg_stat_activity. */
static long
store_backend(void)
{
	return (long)raw_int("SELECT pid FROM pg_stat_activity WHERE "
	    "application_name = 'mockpie' AND datname = current_database()");
}

START_TEST(a_connection_closed_by_the_server_is_replaced_at_once)
{
	struct users	*u = open_store();
	struct user	 in = sample("k@example.org", "kept", "1212121");
	struct user	 out, got;
	char		 sql[128];
	long		 before;

	ck_assert_int_eq(users_create(u, &in, arena, &out), USERS_OK);
	before = store_backend();
	snprintf(sql, sizeof(sql), "SELECT pg_terminate_backend(%ld)",
	    before);
	raw_exec(sql);
	test_sleep_ms(100);
	/* seen before the insert, which is never resent: not an outage */
	in = sample("k2@example.org", "kept2", "1313131");
	ck_assert_int_eq(users_create(u, &in, arena, &got), USERS_OK);
	ck_assert_int_ne(store_backend(), before);
	/* and a read that finds its connection gone is sent again */
	before = store_backend();
	snprintf(sql, sizeof(sql), "SELECT pg_terminate_backend(%ld)",
	    before);
	raw_exec(sql);
	ck_assert_int_eq(users_find_by_id(u, out.id, arena, &got), 1);
	users_close(u);
}
END_TEST

START_TEST(a_locked_table_gives_unavailable_at_the_statement_timeout)
{
	struct users	*u = open_url(url, 1000, 300);
	struct user	 in = sample("l@example.org", "locked", "3434343");
	struct user	 out, got;
	PGconn		*c;
	PGresult	*r;
	long long	 t0, took;
	long		 backend;

	ck_assert_int_eq(users_create(u, &in, arena, &out), USERS_OK);
	backend = store_backend();
	c = admin();
	r = PQexec(c, "BEGIN; LOCK TABLE users IN ACCESS EXCLUSIVE MODE");
	ck_assert_int_eq(PQresultStatus(r), PGRES_COMMAND_OK);
	PQclear(r);
	t0 = test_now_ms();
	ck_assert_int_eq(users_find_by_id(u, out.id, arena, &got),
	    USERS_FIND_UNAVAILABLE);
	took = test_now_ms() - t0;
	ck_assert_msg(took >= 250 && took < 1000, "took %lld ms", took);
	PQclear(PQexec(c, "ROLLBACK"));
	PQfinish(c);
	/* the server cancelled a statement: the connection is kept */
	ck_assert_int_eq(users_find_by_id(u, out.id, arena, &got), 1);
	ck_assert_int_eq(store_backend(), backend);
	users_close(u);
}
END_TEST

START_TEST(a_hung_backend_gives_unavailable_within_the_timeout_then_recovers)
{
	struct users	*u = open_url(url, 500, 300);
	struct user	 in = sample("h@example.org", "hung", "5656565");
	struct user	 out, got;
	long long	 t0, took, deadline;
	long		 backend;
	int		 rc;

	ck_assert_int_eq(users_create(u, &in, arena, &out), USERS_OK);
	backend = store_backend();
	ck_assert_int_eq(kill((pid_t)backend, SIGSTOP), 0);
	t0 = test_now_ms();
	rc = users_find_by_id(u, out.id, arena, &got);
	took = test_now_ms() - t0;
	kill((pid_t)backend, SIGCONT);
	ck_assert_int_eq(rc, USERS_FIND_UNAVAILABLE);
	/* statement_timeout cannot fire in a stopped process: ours does */
	ck_assert_msg(took >= 300 && took < 1000, "took %lld ms", took);
	deadline = test_now_ms() + 3000;
	while ((rc = users_find_by_id(u, out.id, arena, &got)) != 1 &&
	    test_now_ms() < deadline)
		test_sleep_ms(50);
	ck_assert_int_eq(rc, 1);
	users_close(u);
}
END_TEST

START_TEST(silent_server_is_unavailable_at_the_connect_timeout_then_backs_off)
{
	struct hung_listener	*h = hung_listener_start();
	struct users		*u;
	struct user		 got;
	char			 hung[URL_MAX], msg[256];
	long long		 t0, took;
	int			 i;

	ck_assert_ptr_nonnull(h);
	snprintf(hung, sizeof(hung), "postgresql://u:pw@127.0.0.1:%d/db"
	    "?sslmode=disable", hung_listener_port(h));
	u = open_url(hung, 300, 2000);
	t0 = test_now_ms();
	ck_assert_int_eq(users_find_by_id(u, 1, arena, &got),
	    USERS_FIND_UNAVAILABLE);
	took = test_now_ms() - t0;
	ck_assert_msg(took >= 250 && took < 800, "took %lld ms", took);
	/* backing off (250 ms): no attempt, so no wait, however many calls */
	t0 = test_now_ms();
	for (i = 0; i < 20; i++)
		ck_assert_int_eq(users_find_by_id(u, 1, arena, &got),
		    USERS_FIND_UNAVAILABLE);
	ck_assert_int_eq(users_ping(u, msg, sizeof(msg)), -1);
	ck_assert_int_lt(test_now_ms() - t0, 100);
	/* past it, one attempt (the connect timeout again) */
	test_sleep_ms(300);
	t0 = test_now_ms();
	ck_assert_int_eq(users_find_by_id(u, 1, arena, &got),
	    USERS_FIND_UNAVAILABLE);
	took = test_now_ms() - t0;
	ck_assert_msg(took >= 250 && took < 800, "took %lld ms", took);
	/* then 500 ms of back-off: 300 ms later still no attempt */
	test_sleep_ms(300);
	t0 = test_now_ms();
	ck_assert_int_eq(users_find_by_id(u, 1, arena, &got),
	    USERS_FIND_UNAVAILABLE);
	ck_assert_int_lt(test_now_ms() - t0, 100);
	ck_assert_msg(strstr(msg, "no connection within 300 ms") != NULL, "%s",
	    msg);
	ck_assert_ptr_null(strstr(msg, "pw@"));
	users_close(u);
	hung_listener_stop(h);
}
END_TEST

/*
 * The whole outage in one process that owns its server: stopped, the
 * store answers unavailable at once and backs off; restarted, it comes
 * back by itself within the back-off's 2 s.
 */
START_TEST(stopped_server_is_unavailable_fast_and_the_store_recovers)
{
	struct pg_server	*own;
	struct users		*u;
	struct user		 in;
	struct user		 out, got;
	char			 ownurl[URL_MAX], msg[256];
	long long		 t0, took, deadline;
	int			 rc, i;

	in = sample("o@example.org", "outage", "787878");
	ck_assert_ptr_nonnull(own = pg_server_start());
	ck_assert_int_eq(pg_server_create_db(own, "outage"), 0);
	pg_server_url(own, "outage", ownurl, sizeof(ownurl));
	u = open_url(ownurl, 1000, 2000);
	ck_assert_int_eq(users_create(u, &in, arena, &out), USERS_OK);
	ck_assert_int_eq(pg_server_stop(own), 0);

	t0 = test_now_ms();
	ck_assert_int_eq(users_find_by_id(u, out.id, arena, &got),
	    USERS_FIND_UNAVAILABLE);
	ck_assert_int_eq(users_find_by_email(u, "o@example.org", arena, &got),
	    USERS_FIND_UNAVAILABLE);
	in = sample("o2@example.org", "outage2", "797979");
	ck_assert_int_eq(users_create(u, &in, arena, &got), USERS_UNAVAILABLE);
	ck_assert_int_eq(users_ping(u, msg, sizeof(msg)), -1);
	took = test_now_ms() - t0;
	ck_assert_msg(took < 500, "four calls took %lld ms", took);
	ck_assert_msg(strstr(msg, "PostgreSQL unavailable") != NULL, "%s",
	    msg);
	for (i = 0; i < 50; i++)	/* backing off: no storm, no wait */
		ck_assert_int_eq(users_find_by_id(u, out.id, arena, &got),
		    USERS_FIND_UNAVAILABLE);

	ck_assert_int_eq(pg_server_restart(own), 0);
	t0 = test_now_ms();
	deadline = t0 + 3000;
	while ((rc = users_find_by_id(u, out.id, arena, &got)) != 1 &&
	    test_now_ms() < deadline)
		test_sleep_ms(20);
	ck_assert_int_eq(rc, 1);
	ck_assert_int_eq(users_ping(u, msg, sizeof(msg)), 0);
	in = sample("o2@example.org", "outage2", "797979");
	ck_assert_int_eq(users_create(u, &in, arena, &got), USERS_OK);
	users_close(u);
	pg_server_free(own);
}
END_TEST

START_TEST(configuration_keeps_the_url_as_given_and_checks_it)
{
	static const char	*good =
	    "postgresql://app:s3cret@db.internal:5432/mockpie?sslmode=require";
	struct config		 c;
	char			 dir[256], path[300], err[512];
	FILE			*f;

	setenv("MOCKPIE_JWT_SECRET", "0123456789abcdef0123456789abcdef", 1);
	ck_assert_int_eq(test_tmpdir(dir, sizeof(dir)), 0);
	snprintf(path, sizeof(path), "%s/mockpie.conf", dir);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fprintf(f, "database = %s\ndatabase_statement_timeout_ms = 1500\n",
	    good);
	fclose(f);
	/* from a file: not a path to resolve against the file's directory */
	ck_assert_msg(config_load(&c, path, err, sizeof(err)) == 0, "%s", err);
	ck_assert_str_eq(c.database, good);
	ck_assert_int_eq(c.database_connect_timeout_ms, 1000);
	ck_assert_int_eq(c.database_statement_timeout_ms, 1500);
	config_fini(&c);
	unlink(path);
	test_tmpdir_remove(dir);

	setenv("MOCKPIE_DATABASE", "postgresql://app:s3%zzcret@h/db", 1);
	ck_assert_int_eq(config_load(&c, NULL, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "database:"));
	ck_assert_ptr_null(strstr(err, "s3"));
	config_fini(&c);

	setenv("MOCKPIE_DATABASE", good, 1);
	setenv("MOCKPIE_DATABASE_CONNECT_TIMEOUT_MS", "30000", 1);
	ck_assert_int_eq(config_load(&c, NULL, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "database_connect_timeout_ms"));
	config_fini(&c);
	unsetenv("MOCKPIE_DATABASE_CONNECT_TIMEOUT_MS");
	unsetenv("MOCKPIE_DATABASE");
}
END_TEST

/* users_table = original (issue 10.2) */

/* The original's table, from tests/original_users.sql. */
static void
og_load(void)
{
	char	 sql[4096];
	size_t	 n;
	FILE	*f;

	ck_assert_ptr_nonnull(f = fopen(MOCKPIE_TESTDIR "/original_users.sql",
	    "r"));
	n = fread(sql, 1, sizeof(sql) - 1, f);
	ck_assert(feof(f));
	fclose(f);
	sql[n] = '\0';
	raw_exec(sql);
}

static void
og_setup(void)
{
	setup();
	og_load();
	original = 1;
}

/* A row as the original's registration writes it; its id. */
static long long
og_insert(const char *email, const char *username, const char *phone,
    const char *gender, const char *hash)
{
	char	 sql[1024];

	snprintf(sql, sizeof(sql), "INSERT INTO users (first_name, last_name,"
	    " username, email, phone_number, gender, password, "
	    "remember_token) VALUES ('Grace', NULL, '%s', '%s', '%s', '%s', "
	    "'%s', '') RETURNING id", username, email, phone, gender, hash);
	return raw_int(sql);
}

static void
bcrypt_of(const char *pw, char h[BCRYPT_PY_HASH_MAX])
{
	ck_assert_msg(bcrypt_py_hash(pw, 4, "2b", h) == 0,
	    "python3-bcrypt made no hash (see stderr)");
}

/* The first value of sql's first row, as text, into buf. */
static void
raw_text(const char *sql, char *buf, size_t len)
{
	PGconn		*c = admin();
	PGresult	*r = PQexec(c, sql);

	ck_assert_msg(PQresultStatus(r) == PGRES_TUPLES_OK &&
	    PQntuples(r) == 1, "%s: %s", sql, PQerrorMessage(c));
	snprintf(buf, len, "%s", PQgetisnull(r, 0, 0) ? "(null)" :
	    PQgetvalue(r, 0, 0));
	PQclear(r);
	PQfinish(c);
}

START_TEST(original_user_is_found_with_the_api_gender_and_its_bcrypt_hash)
{
	struct users	*u = open_store();
	struct user	 got, again;
	char		 h[BCRYPT_PY_HASH_MAX];
	long long	 id;

	bcrypt_of("grace's password", h);
	id = og_insert("Grace@Example.org", "grace", "+15550001111",
	    "PREFER_NOT_TO_SAY", h);
	ck_assert_int_eq(users_find_by_email(u, "grace@example.ORG", arena,
	    &got), 1);
	ck_assert_int_eq(got.id, id);
	ck_assert_str_eq(got.email, "Grace@Example.org");
	ck_assert_str_eq(got.first_name, "Grace");
	ck_assert_str_eq(got.last_name, "");		/* NULL there */
	ck_assert_str_eq(got.username, "grace");
	ck_assert_str_eq(got.phone_number, "+15550001111");
	ck_assert_str_eq(got.gender, "prefer_not_to_say");
	ck_assert_str_eq(got.password_hash, h);
	ck_assert_int_gt(got.created_at, 0);
	ck_assert_int_eq(got.created_at, raw_int("SELECT floor(extract(epoch "
	    "FROM created_at::timestamptz)) FROM users"));
	ck_assert_int_eq(password_verify(NULL, got.password_hash,
	    "grace's password", 16), 1);
	/* a stamp without a column for it: the same on every read */
	ck_assert_uint_eq(strlen(got.session_stamp), 32);
	ck_assert_int_eq(users_find_by_id(u, id, arena, &again), 1);
	ck_assert_ptr_null(again.password_hash);
	ck_assert_str_eq(again.session_stamp, got.session_stamp);
	ck_assert_str_eq(again.gender, "prefer_not_to_say");
	users_close(u);
}
END_TEST

START_TEST(soft_deleted_user_is_not_found_by_email_or_id)
{
	struct users	*u = open_store();
	struct user	 got;
	char		 h[BCRYPT_PY_HASH_MAX];
	long long	 id;

	bcrypt_of("deleted password", h);
	id = og_insert("gone@example.org", "gone", "+15550002222", "MALE", h);
	ck_assert_int_eq(users_find_by_id(u, id, arena, &got), 1);
	raw_exec("UPDATE users SET deleted_at = now()");
	ck_assert_int_eq(users_find_by_email(u, "gone@example.org", arena,
	    &got), 0);
	ck_assert_int_eq(users_find_by_id(u, id, arena, &got), 0);
	users_close(u);
}
END_TEST

START_TEST(registration_writes_a_row_the_original_reads)
{
	struct users	*u = open_store();
	struct user	 in = sample("New@Example.org", "newbie",
			    "+15550003333");
	struct user	 out, got;
	char		 v[256];
	time_t		 before, after;

	before = time(NULL);
	ck_assert_int_eq(users_create(u, &in, arena, &out), USERS_OK);
	after = time(NULL);
	ck_assert_str_eq(out.email, "new@example.org");
	ck_assert_ptr_null(out.password_hash);
	ck_assert_int_ge(out.created_at, before - 1);	/* whole seconds */
	ck_assert_int_le(out.created_at, after);
	ck_assert_uint_eq(strlen(out.session_stamp), 32);
	/* read back as the original would */
	raw_text("SELECT gender::text FROM users", v, sizeof(v));
	ck_assert_str_eq(v, "FEMALE");
	raw_text("SELECT password FROM users", v, sizeof(v));
	ck_assert_str_eq(v, in.password_hash);
	raw_text("SELECT email || ' ' || username || ' ' || phone_number || "
	    "' ' || first_name || ' ' || last_name FROM users", v, sizeof(v));
	ck_assert_str_eq(v, "new@example.org newbie +15550003333 Ada "
	    "Lovelace");
	ck_assert_int_eq(raw_int("SELECT count(*) FROM users WHERE "
	    "created_at IS NOT NULL AND updated_at = created_at AND "
	    "deleted_at IS NULL AND email_verified_at IS NULL AND "
	    "remember_token = ''"), 1);
	ck_assert_int_eq(raw_int("SELECT floor(extract(epoch FROM "
	    "created_at::timestamptz)) FROM users"), out.created_at);
	/* and by mockpie, with the stamp it answered */
	ck_assert_int_eq(users_find_by_id(u, out.id, arena, &got), 1);
	ck_assert_str_eq(got.session_stamp, out.session_stamp);
	ck_assert_str_eq(got.gender, "female");
	/* nothing of mockpie's own schema was made */
	ck_assert_int_eq(raw_int("SELECT count(*) FROM pg_class WHERE "
	    "relname = 'schema_version'"), 0);
	users_close(u);
}
END_TEST

START_TEST(duplicates_of_the_originals_rows_are_refused_in_any_case)
{
	struct users	*u = open_store();
	struct user	 in, out;
	char		 h[BCRYPT_PY_HASH_MAX];

	bcrypt_of("their password", h);
	og_insert("Mixed.Case@Example.org", "Their_Name", "+15550004444",
	    "FEMALE", h);
	og_insert("deleted@example.org", "deleted_one", "+15550005555",
	    "MALE", h);
	raw_exec("UPDATE users SET deleted_at = now() WHERE "
	    "username = 'deleted_one'");
	in = sample("mixed.case@example.org", "other1", "+15550006666");
	ck_assert_int_eq(users_create(u, &in, arena, &out), USERS_DUP_EMAIL);
	in = sample("fresh@example.org", "their_name", "+15550006666");
	ck_assert_int_eq(users_create(u, &in, arena, &out),
	    USERS_DUP_USERNAME);
	in = sample("fresh@example.org", "other1", "+15550004444");
	ck_assert_int_eq(users_create(u, &in, arena, &out), USERS_DUP_PHONE);
	/* the original's unique constraints hold soft-deleted rows too */
	in = sample("deleted@example.org", "other1", "+15550006666");
	ck_assert_int_eq(users_create(u, &in, arena, &out), USERS_DUP_EMAIL);
	in = sample("fresh@example.org", "other1", "+15550005555");
	ck_assert_int_eq(users_create(u, &in, arena, &out), USERS_DUP_PHONE);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM users"), 2);
	in = sample("fresh@example.org", "other1", "+15550006666");
	ck_assert_int_eq(users_create(u, &in, arena, &out), USERS_OK);
	users_close(u);
}
END_TEST

START_TEST(rehash_replaces_only_the_verified_hash_and_changes_the_stamp)
{
	struct users	*u = open_store();
	struct user	 got, stale, now;
	char		 h[BCRYPT_PY_HASH_MAX], v[256];
	const char	*old_stamp;
	static const char argon[] =
	    "$argon2id$v=19$m=8192,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaA";

	bcrypt_of("re-hash me", h);
	og_insert("re@example.org", "re", "+15550007777", "MALE", h);
	raw_exec("UPDATE users SET updated_at = created_at - "
	    "interval '1 day'");
	ck_assert_int_eq(users_find_by_email(u, "re@example.org", arena,
	    &got), 1);
	stale = got;
	old_stamp = got.session_stamp;
	ck_assert_int_eq(users_set_password_hash(u, &got, argon, arena), 1);
	ck_assert_str_eq(got.password_hash, argon);
	ck_assert_str_ne(got.session_stamp, old_stamp);
	raw_text("SELECT password FROM users", v, sizeof(v));
	ck_assert_str_eq(v, argon);
	/* as the original's model: updated_at moves with the password */
	ck_assert_int_eq(raw_int("SELECT count(*) FROM users WHERE "
	    "updated_at >= created_at"), 1);
	ck_assert_int_eq(users_find_by_id(u, got.id, arena, &now), 1);
	ck_assert_str_eq(now.session_stamp, got.session_stamp);
	/* a second login that verified the old hash does not overwrite */
	ck_assert_int_eq(users_set_password_hash(u, &stale,
	    "$argon2id$v=19$m=8192,t=1,p=1$b3RoZXJzYWx0c2FsdA$aGFzaA",
	    arena), 0);
	raw_text("SELECT password FROM users", v, sizeof(v));
	ck_assert_str_eq(v, argon);
	/* nor for a soft-deleted row */
	raw_exec("UPDATE users SET deleted_at = now()");
	ck_assert_int_eq(users_set_password_hash(u, &got, h, arena), 0);
	users_close(u);
}
END_TEST

START_TEST(init_db_only_checks_the_originals_table_and_creates_nothing)
{
	struct config		 cfg;
	struct users_settings	 set;
	struct users		*u;
	char			 msg[256];

	config_defaults(&cfg);
	snprintf(cfg.database, sizeof(cfg.database), "%s", url);
	cfg.users_table_original = 1;
	app_users_settings(&cfg, &set);
	ck_assert_int_eq(set.original, 1);
	/* no table yet: refused, and still none */
	ck_assert_int_eq(users_init_db(&set), -1);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM pg_class WHERE "
	    "relname IN ('users', 'schema_version')"), 0);
	og_load();
	ck_assert_int_eq(users_init_db(&set), 0);
	ck_assert_int_eq(users_init_db(&set), 0);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM pg_class WHERE "
	    "relname = 'schema_version'"), 0);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM information_schema."
	    "columns WHERE table_name = 'users'"), 15);
	/* a column mockpie needs is gone: named in /health */
	raw_exec("ALTER TABLE users DROP COLUMN deleted_at");
	ck_assert_int_eq(users_init_db(&set), -1);
	original = 1;
	u = open_store();
	ck_assert_int_eq(users_ping(u, msg, sizeof(msg)), -1);
	ck_assert_msg(strstr(msg, "deleted_at") != NULL, "%s", msg);
	users_close(u);
	raw_exec("ALTER TABLE users ADD COLUMN deleted_at timestamp");
	raw_exec("ALTER TABLE users ALTER COLUMN gender TYPE text");
	u = open_store();
	ck_assert_int_eq(users_ping(u, msg, sizeof(msg)), -1);
	ck_assert_msg(strstr(msg, "users.gender is text") != NULL, "%s", msg);
	users_close(u);
	config_fini(&cfg);
}
END_TEST

START_TEST(original_needs_postgresql_not_a_sqlite_file)
{
	struct config	 cfg;
	char		 err[256];

	setenv("MOCKPIE_USERS_TABLE", "original", 1);
	setenv("MOCKPIE_DATABASE", "/tmp/mockpie-test.db", 1);
	setenv("MOCKPIE_JWT_SECRET", "0123456789abcdef0123456789abcdef", 1);
	ck_assert_int_eq(config_load(&cfg, NULL, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "users_table") != NULL &&
	    strstr(err, "postgresql://") != NULL, "%s", err);
	config_fini(&cfg);
	setenv("MOCKPIE_DATABASE", url, 1);
	ck_assert_msg(config_load(&cfg, NULL, err, sizeof(err)) == 0, "%s",
	    err);
	ck_assert_int_eq(cfg.users_table_original, 1);
	ck_assert_int_eq(cfg.rehash_legacy, 1);
	config_fini(&cfg);
	setenv("MOCKPIE_USERS_TABLE", "Original", 1);
	ck_assert_int_eq(config_load(&cfg, NULL, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "users_table") != NULL, "%s", err);
	config_fini(&cfg);
	unsetenv("MOCKPIE_USERS_TABLE");
	unsetenv("MOCKPIE_DATABASE");
	unsetenv("MOCKPIE_JWT_SECRET");
}
END_TEST

/* Issue 15 on the original's columns: email_verified_at, the password. */
START_TEST(verification_and_reset_use_the_original_columns)
{
	struct users	*u = open_store();
	struct user	 before, after;
	char		 h[BCRYPT_PY_HASH_MAX], sql[128], v[64];
	long long	 id;

	bcrypt_of("grace's password", h);
	id = og_insert("grace@example.org", "grace", "+15550001111", "FEMALE",
	    h);
	ck_assert_int_eq(users_email_verified(u, id), 0);
	ck_assert_int_eq(users_set_email_verified(u, id, 1764000000), 0);
	ck_assert_int_eq(users_email_verified(u, id), 1);
	snprintf(sql, sizeof(sql), "SELECT email_verified_at IS NOT NULL "
	    "FROM users WHERE id = %lld", id);
	raw_text(sql, v, sizeof(v));
	ck_assert_str_eq(v, "t");
	/* a reset: the new hash in password, and so a new session stamp */
	ck_assert_int_eq(users_find_by_email(u, "grace@example.org", arena,
	    &before), 1);
	ck_assert_int_eq(users_reset_password(u, id, "$argon2id$v=19$new",
	    1764000100), 0);
	ck_assert_int_eq(users_find_by_email(u, "grace@example.org", arena,
	    &after), 1);
	ck_assert_str_eq(after.password_hash, "$argon2id$v=19$new");
	ck_assert_str_ne(after.session_stamp, before.session_stamp);
	snprintf(sql, sizeof(sql), "SELECT password FROM users WHERE id = "
	    "%lld", id);
	raw_text(sql, v, sizeof(v));
	ck_assert_str_eq(v, "$argon2id$v=19$new");
	/* a soft-deleted row is neither verified nor reset */
	raw_exec("UPDATE users SET deleted_at = now()");
	ck_assert_int_eq(users_email_verified(u, id), 0);
	ck_assert_int_ne(users_reset_password(u, id, "$argon2id$v=19$x",
	    1764000200), 0);
	users_close(u);
}
END_TEST

Suite *
suite(void)
{
	Suite	*s = suite_create("users_pg");
	TCase	*tc;
	char	 why[256];

	if (!pg_server_usable(why, sizeof(why))) {
		printf("SKIP check_users_pg: %s\n", why);
		exit(77);
	}
	srv_owner = getpid();
	if ((srv = pg_server_start()) == NULL) {
		printf("SKIP check_users_pg: PostgreSQL could not be started "
		    "here (see the lines above)\n");
		exit(77);
	}
	atexit(stop_suite_server);

	tc = tcase_create("store");
	tcase_set_timeout(tc, 20);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc,
	    created_user_is_found_by_id_and_by_email_in_any_case);
	tcase_add_test(tc,
	    a_new_password_hash_replaces_the_old_and_keeps_updated_at);
	tcase_add_test(tc,
	    a_rehash_replaces_only_the_hash_that_was_verified);
	tcase_add_test(tc, unknown_id_and_email_are_not_found);
	tcase_add_test(tc, duplicate_email_in_another_case_is_refused);
	tcase_add_test(tc, duplicate_username_in_another_case_is_refused);
	tcase_add_test(tc, duplicate_phone_is_refused);
	tcase_add_test(tc,
	    several_duplicates_name_email_then_username_then_phone);
	tcase_add_test(tc, quotes_and_sql_text_are_stored_verbatim);
	tcase_add_test(tc,
	    missing_or_oversized_field_is_an_error_and_inserts_nothing);
	tcase_add_test(tc,
	    ids_are_never_reused_after_a_delete_or_a_refused_insert);
	tcase_add_test(tc,
	    each_user_gets_a_random_session_stamp_that_lookups_return);
	tcase_add_test(tc, ping_is_ok_and_the_schema_is_at_this_builds_version);
	tcase_add_test(tc, the_url_is_shown_without_its_password);
	tcase_add_test(tc,
	    a_unix_socket_url_works_and_is_named_without_the_password);
	tcase_add_test(tc,
	    concurrent_registrations_of_one_email_give_exactly_one_success);
	tcase_add_test(tc,
	    handle_inherited_across_fork_is_refused_in_the_child);
	suite_add_tcase(s, tc);

	tc = tcase_create("configuration");
	tcase_add_test(tc, configuration_keeps_the_url_as_given_and_checks_it);
	suite_add_tcase(s, tc);

	tc = tcase_create("schema");
	tcase_set_timeout(tc, 20);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc,
	    init_db_creates_the_schema_in_an_empty_database_and_is_idempotent);
	tcase_add_test(tc,
	    workers_starting_at_once_on_an_empty_database_migrate_once);
	tcase_add_test(tc, version_1_rows_get_distinct_stamps_when_migrated);
	tcase_add_test(tc, newer_schema_version_is_refused_and_health_says_why);
	tcase_add_test(tc, foreign_users_table_is_left_untouched);
	suite_add_tcase(s, tc);

	tc = tcase_create("original");
	tcase_set_timeout(tc, 20);
	tcase_add_checked_fixture(tc, og_setup, teardown);
	tcase_add_test(tc, verification_and_reset_use_the_original_columns);
	tcase_add_test(tc,
	    original_user_is_found_with_the_api_gender_and_its_bcrypt_hash);
	tcase_add_test(tc, soft_deleted_user_is_not_found_by_email_or_id);
	tcase_add_test(tc, registration_writes_a_row_the_original_reads);
	tcase_add_test(tc,
	    duplicates_of_the_originals_rows_are_refused_in_any_case);
	tcase_add_test(tc,
	    rehash_replaces_only_the_verified_hash_and_changes_the_stamp);
	tcase_add_test(tc,
	    concurrent_registrations_of_one_email_give_exactly_one_success);
	suite_add_tcase(s, tc);

	tc = tcase_create("original_schema");
	tcase_set_timeout(tc, 20);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc,
	    init_db_only_checks_the_originals_table_and_creates_nothing);
	tcase_add_test(tc, original_needs_postgresql_not_a_sqlite_file);
	suite_add_tcase(s, tc);

	tc = tcase_create("unavailable");
	tcase_set_timeout(tc, OUTAGE_TIMEOUT_S);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc,
	    a_connection_closed_by_the_server_is_replaced_at_once);
	tcase_add_test(tc,
	    a_locked_table_gives_unavailable_at_the_statement_timeout);
	tcase_add_test(tc,
	    a_hung_backend_gives_unavailable_within_the_timeout_then_recovers);
	tcase_add_test(tc,
	    silent_server_is_unavailable_at_the_connect_timeout_then_backs_off);
	tcase_add_test(tc,
	    stopped_server_is_unavailable_fast_and_the_store_recovers);
	suite_add_tcase(s, tc);
	return s;
}
