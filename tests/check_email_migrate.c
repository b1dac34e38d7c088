/*
 * mockpie-email-migrate: rows stored before the canonical email form are
 * rewritten to it, so that a login under the canonical form finds them;
 * all or nothing when two rows fold to one address.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "lib/arena.h"
#include "app/email_migrate.h"
#include "lib/log.h"
#include "runner.h"
#include "store/users.h"

#define BUCHER		"carol@b\xc3\xbc" "cher.de"	/* as once stored */
#define BUCHER_A	"carol@xn--bcher-kva.de"
#define RENE_NFD	"rene\xcc\x81@example.com"
#define RENE		"ren\xc3\xa9@example.com"
#define KELVIN_KIM	"\xe2\x84\xaa" "im@example.com"
#define SHY_DAVE	"dave\xc2\xad@example.com"

static char	 dir[64], path[128];
static FILE	*out;

static void
setup(void)
{
	struct users	*u;
	char		 err[256];

	snprintf(dir, sizeof(dir), "/tmp/mockpie-migrate-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/users.db", dir);
	ck_assert_msg((u = users_open(path, 1000, err, sizeof(err))) != NULL,
	    "%s", err);
	users_close(u);
	ck_assert_ptr_nonnull(out = fopen("/dev/null", "w"));
}

static void
teardown(void)
{
	char	 f[160];

	fclose(out);
	snprintf(f, sizeof(f), "%s/users.db", dir);
	unlink(f);
	snprintf(f, sizeof(f), "%s/users.db-wal", dir);
	unlink(f);
	snprintf(f, sizeof(f), "%s/users.db-shm", dir);
	unlink(f);
	rmdir(dir);
}

/* A row written as an older mockpie wrote it, email and all. */
static void
insert(long long id, const char *email)
{
	sqlite3		*db;
	sqlite3_stmt	*st;

	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, "INSERT INTO users (id, "
	    "first_name, last_name, username, email, phone_number, gender, "
	    "password_hash, created_at, updated_at) VALUES (?1, 'A', 'B', "
	    "'u' || ?1, ?2, '+1555000' || ?1, 'female', 'x', 0, 0)", -1, &st,
	    NULL), SQLITE_OK);
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, email, -1, SQLITE_STATIC);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	sqlite3_close(db);
}

/* The user found under email, as login looks it up: its id, or 0. */
static long long
found(const char *email)
{
	struct users	*u;
	struct arena	*a = arena_new(1024);
	struct user	 user;
	char		 err[256];
	long long	 id = 0;

	ck_assert_ptr_nonnull(u = users_open(path, 1000, err, sizeof(err)));
	if (users_find_by_email(u, email, a, &user) == 1)
		id = user.id;
	users_close(u);
	arena_free(a);
	return id;
}

START_TEST(old_rows_are_found_under_their_canonical_form_after_it)
{
	struct email_migration	 m;
	char			 err[256];

	insert(1, BUCHER);
	insert(2, RENE_NFD);
	insert(3, "kim@example.com");
	insert(4, SHY_DAVE);
	ck_assert_int_eq(found(BUCHER_A), 0);
	/* a dry run counts and changes nothing */
	ck_assert_int_eq(email_migrate(path, 0, out, &m, err, sizeof(err)),
	    0);
	ck_assert_int_eq(m.changed, 2);
	ck_assert_int_eq(m.unchanged, 1);
	ck_assert_int_eq(m.refused, 1);
	ck_assert_int_eq(m.conflicts, 0);
	ck_assert_int_eq(found(BUCHER_A), 0);
	ck_assert_int_eq(found(BUCHER), 1);
	ck_assert_int_eq(email_migrate(path, 1, out, &m, err, sizeof(err)),
	    0);
	ck_assert_int_eq(m.changed, 2);
	ck_assert_int_eq(found(BUCHER_A), 1);
	ck_assert_int_eq(found(RENE), 2);
	ck_assert_int_eq(found("kim@example.com"), 3);
	ck_assert_int_eq(found(SHY_DAVE), 4);	/* left; login refuses it */
	/* once is enough */
	ck_assert_int_eq(email_migrate(path, 1, out, &m, err, sizeof(err)),
	    0);
	ck_assert_int_eq(m.changed, 0);
	ck_assert_int_eq(m.unchanged, 3);
}
END_TEST

START_TEST(two_rows_of_one_address_change_nothing)
{
	struct email_migration	 m;
	char			 err[256];

	insert(1, BUCHER);
	insert(2, "kim@example.com");
	insert(3, KELVIN_KIM);
	ck_assert_int_eq(email_migrate(path, 1, out, &m, err, sizeof(err)),
	    1);
	ck_assert_int_eq(m.conflicts, 1);
	ck_assert_int_eq(found(BUCHER), 1);	/* rolled back */
	ck_assert_int_eq(found(BUCHER_A), 0);
	ck_assert_int_eq(found(KELVIN_KIM), 3);
}
END_TEST

START_TEST(a_missing_database_is_an_error)
{
	struct email_migration	 m;
	char			 err[256], nowhere[160];

	snprintf(nowhere, sizeof(nowhere), "%s/none.db", dir);
	ck_assert_int_eq(email_migrate(nowhere, 1, out, &m, err, sizeof(err)),
	    -1);
	ck_assert_ptr_nonnull(strstr(err, "none.db"));
}
END_TEST

Suite *
suite(void)
{
	Suite	*s = suite_create("email_migrate");
	TCase	*tc = tcase_create("sqlite");

	log_set_level(LOG_LEVEL_WARN);		/* no migration notes */

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc,
	    old_rows_are_found_under_their_canonical_form_after_it);
	tcase_add_test(tc, two_rows_of_one_address_change_nothing);
	tcase_add_test(tc, a_missing_database_is_an_error);
	suite_add_tcase(s, tc);
	return s;
}
