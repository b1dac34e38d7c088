/*
 * SQLite implementation of the user store (users.h, through users.c):
 * schema and its migrations, connection settings, and statements
 * prepared once per handle.  The handlers validate field contents; the
 * database alone decides uniqueness, so concurrent registrations cannot
 * both succeed.
 */
#include <sys/stat.h>

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/arena.h"
#include "lib/log.h"
#include "lib/self.h"
#include "store/users.h"
#include "store/users_impl.h"

/*
 * Schema history, one step per version, applied in order in one write
 * transaction; schema_version holds the version reached.  Append steps
 * (ALTER TABLE users ADD COLUMN ...), never edit a released one.
 * AUTOINCREMENT: a user id is the sub of tokens and is never reused.
 * Emails are stored lower-cased and usernames are ASCII (SPEC 2), so
 * NOCASE, which folds ASCII only, is the right uniqueness for both.
 */
static const char *const users_migrations[] = {
	/* 1 */
	"CREATE TABLE users ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" first_name TEXT NOT NULL,"
	" last_name TEXT NOT NULL,"
	" username TEXT NOT NULL COLLATE NOCASE,"
	" email TEXT NOT NULL COLLATE NOCASE,"
	" phone_number TEXT NOT NULL,"
	" gender TEXT NOT NULL,"
	" password_hash TEXT NOT NULL,"
	" created_at INTEGER NOT NULL,"
	" updated_at INTEGER NOT NULL"
	") STRICT;"
	"CREATE UNIQUE INDEX users_email_key ON users (email);"
	"CREATE UNIQUE INDEX users_username_key ON users (username);"
	"CREATE UNIQUE INDEX users_phone_number_key ON users (phone_number);",
	/*
	 * 2: a random stamp per row that every token carries.  A row that
	 * takes a reused id (a restored backup, a delete and re-insert)
	 * has another stamp, so the old row's tokens do not fit it; and
	 * changing it logs the user out everywhere, Redis or not.
	 */
	"ALTER TABLE users ADD COLUMN session_stamp TEXT NOT NULL"
	" DEFAULT '';"
	"UPDATE users SET session_stamp = lower(hex(randomblob(16)));",
	/* 3: when the address was proven by a mailed code (issue 15) */
	"ALTER TABLE users ADD COLUMN email_verified_at INTEGER;",
};
#define USERS_VERSION							\
	((int)(sizeof(users_migrations) / sizeof(users_migrations[0])))

#define SQL_VERSION_TABLE						\
	"CREATE TABLE IF NOT EXISTS schema_version ("			\
	" id INTEGER PRIMARY KEY CHECK (id = 1),"			\
	" version INTEGER NOT NULL) STRICT"
#define SQL_HAS_VERSION							\
	"SELECT count(*) FROM sqlite_master"				\
	" WHERE type = 'table' AND name = 'schema_version'"
#define SQL_VERSION	"SELECT version FROM schema_version WHERE id = 1"
#define SQL_SET_VERSION							\
	"INSERT INTO schema_version (id, version) VALUES (1, ?1)"	\
	" ON CONFLICT (id) DO UPDATE SET version = excluded.version"

#define USERS_COLUMNS							\
	"id, first_name, last_name, username, email, phone_number,"	\
	" gender, created_at, updated_at, session_stamp"
#define SQL_INSERT							\
	"INSERT INTO users (first_name, last_name, username, email,"	\
	" phone_number, gender, password_hash, session_stamp,"		\
	" created_at, updated_at)"					\
	" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)"
#define SQL_BY_ID	"SELECT " USERS_COLUMNS " FROM users WHERE id = ?1"
/* a re-hash with new parameters is not a change the user made */
#define SQL_SET_PASSWORD "UPDATE users SET password_hash = ?2 WHERE id = ?1"
/* a re-hash: only over the hash that was verified (users.h) */
#define SQL_SET_PASSWORD_IF						\
	"UPDATE users SET password_hash = ?3"				\
	" WHERE id = ?1 AND password_hash = ?2"
#define SQL_BY_EMAIL							\
	"SELECT " USERS_COLUMNS ", password_hash FROM users"		\
	" WHERE email = ?1"
/* Issue 15's flows, rare: prepared at each call (users_sqlite_update). */
#define SQL_VERIFIED							\
	"SELECT email_verified_at IS NOT NULL FROM users WHERE id = ?1"
#define SQL_SET_VERIFIED						\
	"UPDATE users SET email_verified_at ="				\
	" coalesce(email_verified_at, ?3) WHERE id = ?1"
/* a reset is the user's change: a new stamp ends every token */
#define SQL_RESET_PASSWORD						\
	"UPDATE users SET password_hash = ?2, session_stamp = ?4,"	\
	" updated_at = ?3 WHERE id = ?1"
/* Which of the three collide; only run after the INSERT refused. */
#define SQL_CONFLICT							\
	"SELECT coalesce(max(email = ?1), 0),"				\
	" coalesce(max(username = ?2), 0),"				\
	" coalesce(max(phone_number = ?3), 0)"				\
	" FROM users"							\
	" WHERE email = ?1 OR username = ?2 OR phone_number = ?3"

/* Column numbers in USERS_COLUMNS, then password_hash. */
enum users_col {
	COL_ID, COL_FIRST_NAME, COL_LAST_NAME, COL_USERNAME, COL_EMAIL,
	COL_PHONE_NUMBER, COL_GENDER, COL_CREATED_AT, COL_UPDATED_AT,
	COL_SESSION_STAMP, COL_PASSWORD_HASH
};

#define USERS_ERRMSG_MAX	256
#define USERS_RETRY_MS		5	/* between tries of WAL mode */

struct users_sqlite {
	sqlite3		*db;
	sqlite3_stmt	*insert;
	sqlite3_stmt	*by_id;
	sqlite3_stmt	*by_email;
	sqlite3_stmt	*set_password;
	sqlite3_stmt	*set_password_if;
	sqlite3_stmt	*conflict;
	sqlite3_stmt	*version;
	pid_t		 pid;		/* the opener; children keep off */
};

static void	users_seterr(char *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

static void
users_seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	 ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* SQLite's word for a busy or locked database, whatever the extension. */
static int
users_is_busy(int rc)
{
	return (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED;
}

/*
 * The PITFALLS rule: a connection is never used across fork.  A child
 * that inherited a handle gets errors instead of corrupting locks.
 */
static int
users_mine(const struct users_sqlite *u)
{
	return users_owned(u->pid);
}

/* Says why sqlite3_open_v2 failed, naming a missing directory. */
static void
users_open_error(const char *path, sqlite3 *db, char *err, size_t errlen)
{
	char		 buf[PATH_MAX], *dir;
	struct stat	 st;
	int		 syserr;

	if (strlen(path) < sizeof(buf)) {
		memcpy(buf, path, strlen(path) + 1);
		dir = dirname(buf);
		if (stat(dir, &st) == -1) {
			users_seterr(err, errlen,
			    "cannot open database %s: directory %s: %s",
			    path, dir, strerror(errno));
			return;
		}
		if (!S_ISDIR(st.st_mode)) {
			users_seterr(err, errlen, "cannot open database %s: "
			    "%s is not a directory", path, dir);
			return;
		}
	}
	syserr = db == NULL ? 0 : sqlite3_system_errno(db);
	users_seterr(err, errlen, "cannot open database %s: %s%s%s%s", path,
	    sqlite3_errmsg(db), syserr != 0 ? " (" : "",
	    syserr != 0 ? strerror(syserr) : "", syserr != 0 ? ")" : "");
}

/* Runs constant SQL (pragmas, DDL; never user data): 0 or -1 and err. */
static int
users_exec(sqlite3 *db, const char *sql, const char *what, char *err,
    size_t errlen)
{
	char	*msg = NULL;
	int	 rc;

	if ((rc = sqlite3_exec(db, sql, NULL, NULL, &msg)) == SQLITE_OK)
		return 0;
	users_seterr(err, errlen, "%s: %s", what,
	    msg != NULL ? msg : sqlite3_errstr(rc));
	sqlite3_free(msg);
	return -1;
}

/* One integer from a one-column query (0 without a row): 0 or -1, err. */
static int
users_query_int(sqlite3 *db, const char *sql, int *out, char *err,
    size_t errlen)
{
	sqlite3_stmt	*st = NULL;
	int		 rc, ret = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		users_seterr(err, errlen, "%s", sqlite3_errmsg(db));
		goto fail;
	}
	*out = 0;
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		*out = sqlite3_column_int(st, 0);
	else if (rc != SQLITE_DONE) {
		users_seterr(err, errlen, "%s", sqlite3_errmsg(db));
		goto fail;
	}
	ret = 0;
fail:
	sqlite3_finalize(st);
	return ret;
}

/* The schema version of the file, 0 when it has none: 0 or -1, err. */
static int
users_read_version(sqlite3 *db, int *version, char *err, size_t errlen)
{
	int	 has;

	if (users_query_int(db, SQL_HAS_VERSION, &has, err, errlen) == -1)
		return -1;
	if (!has) {
		*version = 0;
		return 0;
	}
	return users_query_int(db, SQL_VERSION, version, err, errlen);
}

static int
users_set_version(sqlite3 *db, int version, char *err, size_t errlen)
{
	sqlite3_stmt	*st = NULL;
	int		 ret = -1;

	if (sqlite3_prepare_v2(db, SQL_SET_VERSION, -1, &st, NULL) !=
	    SQLITE_OK || sqlite3_bind_int(st, 1, version) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_DONE) {
		users_seterr(err, errlen, "schema_version: %s",
		    sqlite3_errmsg(db));
		goto fail;
	}
	ret = 0;
fail:
	sqlite3_finalize(st);
	return ret;
}

/*
 * Brings the schema to USERS_VERSION.  The common case, a current
 * schema, needs no write lock, so a worker starts while another process
 * writes.  Otherwise BEGIN IMMEDIATE serialises workers starting at
 * once: the first migrates, the others find the work done.
 */
static int
users_migrate(sqlite3 *db, char *err, size_t errlen)
{
	char	 what[64];
	int	 from, v, ret = -1;

	if (users_read_version(db, &from, err, errlen) == -1)
		return -1;
	if (from == USERS_VERSION)
		return 0;
	if (from > USERS_VERSION || from < 0) {
		users_seterr(err, errlen, "database schema version %d is not "
		    "one this build knows (up to %d)", from, USERS_VERSION);
		return -1;
	}
	if (users_exec(db, "BEGIN IMMEDIATE", "migration", err, errlen) == -1)
		return -1;
	if (users_exec(db, SQL_VERSION_TABLE, "schema_version", err,
	    errlen) == -1)
		goto fail;
	if (users_read_version(db, &from, err, errlen) == -1)
		goto fail;
	if (from > USERS_VERSION || from < 0) {
		users_seterr(err, errlen, "database schema version %d is not "
		    "one this build knows (up to %d)", from, USERS_VERSION);
		goto fail;
	}
	for (v = from; v < USERS_VERSION; v++) {
		snprintf(what, sizeof(what), "migration to version %d", v + 1);
		if (users_exec(db, users_migrations[v], what, err,
		    errlen) == -1)
			goto fail;
	}
	if (from < USERS_VERSION &&
	    users_set_version(db, USERS_VERSION, err, errlen) == -1)
		goto fail;
	if (users_exec(db, "COMMIT", "migration commit", err, errlen) == -1)
		goto fail;
	if (from < USERS_VERSION)
		log_info("users: database schema migrated from version %d "
		    "to %d", from, USERS_VERSION);
	ret = 0;
fail:
	if (!sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return ret;
}

/*
 * Connection settings (SPEC 2 issue): WAL, NORMAL sync, foreign keys.
 * Switching a fresh file to WAL upgrades a read lock, and SQLite skips
 * the busy handler there (it could deadlock), so two workers starting
 * at once would see "database is locked": retry within the timeout.
 */
static int
users_configure(sqlite3 *db, int busy_timeout_ms, char *err, size_t errlen)
{
	const struct timespec	 pause = { 0, USERS_RETRY_MS * 1000000L };
	sqlite3_stmt		*st = NULL;
	const char		*mode;
	int			 rc, waited, ret = -1;

	sqlite3_extended_result_codes(db, 1);
	if ((rc = sqlite3_busy_timeout(db, busy_timeout_ms)) != SQLITE_OK) {
		users_seterr(err, errlen, "busy_timeout: %s",
		    sqlite3_errstr(rc));
		goto fail;
	}
	/* the first read of the file: "not a database" shows here */
	if (sqlite3_prepare_v2(db, "PRAGMA journal_mode = WAL", -1, &st,
	    NULL) != SQLITE_OK) {
		users_seterr(err, errlen, "journal_mode: %s",
		    sqlite3_errmsg(db));
		goto fail;
	}
	for (waited = 0; (rc = sqlite3_step(st)) != SQLITE_ROW;
	    waited += USERS_RETRY_MS) {
		if (!users_is_busy(rc) || waited >= busy_timeout_ms) {
			users_seterr(err, errlen, "journal_mode: %s",
			    sqlite3_errmsg(db));
			goto fail;
		}
		sqlite3_reset(st);
		nanosleep(&pause, NULL);
	}
	mode = (const char *)sqlite3_column_text(st, 0);
	if (mode == NULL || strcmp(mode, "wal") != 0)
		log_warnx("users: journal_mode is %s, not wal",
		    mode != NULL ? mode : "unknown");
	if (users_exec(db, "PRAGMA synchronous = NORMAL;"
	    " PRAGMA foreign_keys = ON;", "pragmas", err, errlen) == -1)
		goto fail;
	ret = 0;
fail:
	sqlite3_finalize(st);
	return ret;
}

static int
users_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st, char *err,
    size_t errlen)
{
	if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, st,
	    NULL) == SQLITE_OK)
		return 0;
	users_seterr(err, errlen, "prepare: %s", sqlite3_errmsg(db));
	return -1;
}

/*
 * Opens the store at path, creating the file and migrating its schema,
 * with a busy timeout of busy_timeout_ms for every statement.  Call it
 * in each worker after fork.  Returns a handle the caller frees with
 * users_sqlite_close, or NULL with the reason in err (not logged).
 */
struct users_sqlite *
users_sqlite_open(const char *path, int busy_timeout_ms, char *err,
    size_t errlen)
{
	struct users_sqlite	*u;
	sqlite3			*db = NULL;
	int			 rc;

	users_seterr(err, errlen, "no error");
	if (path == NULL || *path == '\0') {
		users_seterr(err, errlen, "database path is empty");
		return NULL;
	}
	if (busy_timeout_ms < 0) {
		users_seterr(err, errlen, "busy timeout %d ms is negative",
		    busy_timeout_ms);
		return NULL;
	}
	if ((u = calloc(1, sizeof(*u))) == NULL) {
		users_seterr(err, errlen, "calloc: %s", strerror(errno));
		return NULL;
	}
	u->pid = self_pid();
	rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		users_open_error(path, db, err, errlen);
		goto fail;
	}
	u->db = db;
	/* SQLite falls back to read-only on a write-protected file */
	if (sqlite3_db_readonly(db, "main") == 1) {
		users_seterr(err, errlen, "cannot open database %s: "
		    "read-only", path);
		goto fail;
	}
	if (users_configure(db, busy_timeout_ms, err, errlen) == -1 ||
	    users_migrate(db, err, errlen) == -1 ||
	    users_prepare(db, SQL_INSERT, &u->insert, err, errlen) == -1 ||
	    users_prepare(db, SQL_BY_ID, &u->by_id, err, errlen) == -1 ||
	    users_prepare(db, SQL_SET_PASSWORD, &u->set_password, err,
	    errlen) == -1 ||
	    users_prepare(db, SQL_SET_PASSWORD_IF, &u->set_password_if, err,
	    errlen) == -1 ||
	    users_prepare(db, SQL_BY_EMAIL, &u->by_email, err, errlen) == -1 ||
	    users_prepare(db, SQL_CONFLICT, &u->conflict, err, errlen) == -1 ||
	    users_prepare(db, SQL_VERSION, &u->version, err, errlen) == -1) {
		/* prefix the file so that the message stands alone */
		char	 msg[USERS_ERRMSG_MAX * 2];

		snprintf(msg, sizeof(msg), "%s", err != NULL ? err : "");
		users_seterr(err, errlen, "database %s: %s", path, msg);
		goto fail;
	}
	return u;
fail:
	if (u->db == NULL)
		sqlite3_close(db);	/* a failed open still allocates */
	users_sqlite_close(u);
	return NULL;
}

/*
 * Finalizes the statements and closes the connection; takes NULL.  A
 * forked child that inherited the handle leaves it alone: closing would
 * checkpoint and may delete the WAL under the parent, and the memory is
 * the child's copy, gone when it exits.
 */
void
users_sqlite_close(struct users_sqlite *u)
{
	int	 rc;

	if (u == NULL)
		return;
	if (u->pid != self_pid()) {
		log_warnx("users: handle of pid %ld left open in pid %ld",
		    (long)u->pid, (long)self_pid());
		return;
	}
	sqlite3_finalize(u->insert);
	sqlite3_finalize(u->by_id);
	sqlite3_finalize(u->set_password);
	sqlite3_finalize(u->set_password_if);
	sqlite3_finalize(u->by_email);
	sqlite3_finalize(u->conflict);
	sqlite3_finalize(u->version);
	if ((rc = sqlite3_close(u->db)) != SQLITE_OK)
		log_errorx("users: close: %s", sqlite3_errstr(rc));
	free(u);
}

/* Lower-cases ASCII letters, as NOCASE folds them; locale-independent. */
static void
users_lower(char *s)
{
	for (; *s != '\0'; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

static int
users_bind(sqlite3_stmt *st, int col, const char *s)
{
	return sqlite3_bind_text(st, col, s, (int)strlen(s), SQLITE_STATIC);
}

static void
users_done(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

/*
 * Names the duplicate after the INSERT, the arbiter, refused one: email
 * first, then username, then phone (SPEC 2 messages).  The constraint
 * message from SQLite is the fallback.
 */
static enum users_result
users_which_dup(struct users_sqlite *u, const char *email,
    const char *username, const char *phone, const char *why)
{
	sqlite3_stmt	*st = u->conflict;
	int		 e = 0, n = 0, p = 0;

	if (users_bind(st, 1, email) == SQLITE_OK &&
	    users_bind(st, 2, username) == SQLITE_OK &&
	    users_bind(st, 3, phone) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW) {
		e = sqlite3_column_int(st, 0);
		n = sqlite3_column_int(st, 1);
		p = sqlite3_column_int(st, 2);
	}
	users_done(st);
	if (e || strstr(why, "users.email") != NULL)
		return USERS_DUP_EMAIL;
	if (n || strstr(why, "users.username") != NULL)
		return USERS_DUP_USERNAME;
	if (p || strstr(why, "users.phone_number") != NULL)
		return USERS_DUP_PHONE;
	log_errorx("users: create: %s", why);
	return USERS_ERROR;
}

/*
 * Inserts the user in (its id and times are ignored), email lower-cased.
 * USERS_OK fills out with the new id, created_at = updated_at = now and
 * copies of the strings in arena (password_hash NULL).  A duplicate
 * email, username (any case) or phone number gives USERS_DUP_*, the
 * write lock held past the busy timeout USERS_BUSY, anything else
 * USERS_ERROR (logged).  Nothing is inserted unless USERS_OK.
 */
enum users_result
users_sqlite_create(struct users_sqlite *u, const struct user *in,
    struct arena *arena, struct user *out)
{
	static const char *const names[] = { "first_name", "last_name",
	    "username", "email", "phone_number", "gender", "password_hash" };
	const char		*f[8];
	char			 stamp[USERS_STAMP_LEN + 1];
	char			 why[USERS_ERRMSG_MAX], *email;
	struct user		 nu;
	enum users_result	 res = USERS_ERROR;
	size_t			 i;
	time_t			 now;
	int			 rc;

	if (!users_mine(u))
		return USERS_ERROR;
	f[0] = in->first_name;
	f[1] = in->last_name;
	f[2] = in->username;
	f[3] = in->email;
	f[4] = in->phone_number;
	f[5] = in->gender;
	f[6] = in->password_hash;
	users_new_stamp(stamp);
	f[7] = stamp;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (f[i] == NULL || strnlen(f[i], USERS_FIELD_MAX + 1) >
		    USERS_FIELD_MAX) {
			log_errorx("users: create: %s missing or over %d "
			    "bytes", names[i], USERS_FIELD_MAX);
			return USERS_ERROR;
		}
	memset(&nu, 0, sizeof(nu));
	email = arena_strdup(arena, in->email);
	users_lower(email);
	nu.email = f[3] = email;
	now = time(NULL);
	rc = sqlite3_bind_int64(u->insert, 9, (sqlite3_int64)now);
	for (i = 0; rc == SQLITE_OK && i < sizeof(f) / sizeof(f[0]); i++)
		rc = users_bind(u->insert, (int)i + 1, f[i]);
	if (rc != SQLITE_OK) {
		log_errorx("users: create: bind: %s", sqlite3_errstr(rc));
		goto fail;
	}
	rc = sqlite3_step(u->insert);
	if (rc == SQLITE_DONE) {
		nu.id = sqlite3_last_insert_rowid(u->db);
		res = USERS_OK;
	} else if (rc == SQLITE_CONSTRAINT_UNIQUE) {
		snprintf(why, sizeof(why), "%s", sqlite3_errmsg(u->db));
		res = users_which_dup(u, f[3], f[2], f[4], why);
	} else if (users_is_busy(rc)) {
		log_warnx("users: create: %s", sqlite3_errmsg(u->db));
		res = USERS_BUSY;
	} else
		log_errorx("users: create: %s", sqlite3_errmsg(u->db));
fail:
	users_done(u->insert);
	if (res != USERS_OK)
		return res;
	users_created(in, nu.id, nu.email, stamp, (long long)now, arena, out);
	return USERS_OK;
}

/* Copies a row of USERS_COLUMNS (and the hash) into out: 0 or -1. */
static int
users_read_row(sqlite3_stmt *st, struct arena *arena, int with_hash,
    struct user *out)
{
	static const int	 cols[] = { COL_FIRST_NAME, COL_LAST_NAME,
	    COL_USERNAME, COL_EMAIL, COL_PHONE_NUMBER, COL_GENDER,
	    COL_SESSION_STAMP, COL_PASSWORD_HASH };
	const char		*s[8];
	const unsigned char	*p;
	size_t			 i, n;

	n = sizeof(cols) / sizeof(cols[0]) - (with_hash ? 0 : 1);
	for (i = 0; i < n; i++) {
		/* NULL: a NOT NULL column read as NULL, or out of memory */
		if ((p = sqlite3_column_text(st, cols[i])) == NULL)
			return -1;
		s[i] = arena_strndup(arena, (const char *)p,
		    (size_t)sqlite3_column_bytes(st, cols[i]));
	}
	memset(out, 0, sizeof(*out));
	out->id = sqlite3_column_int64(st, COL_ID);
	out->first_name = s[0];
	out->last_name = s[1];
	out->username = s[2];
	out->email = s[3];
	out->phone_number = s[4];
	out->gender = s[5];
	out->session_stamp = s[6];
	out->password_hash = with_hash ? s[7] : NULL;
	out->created_at = (time_t)sqlite3_column_int64(st, COL_CREATED_AT);
	out->updated_at = (time_t)sqlite3_column_int64(st, COL_UPDATED_AT);
	return 0;
}

/* Runs a bound lookup of at most one row: 1 found, 0 not, -1 logged. */
static int
users_find(struct users_sqlite *u, sqlite3_stmt *st, const char *what,
    struct arena *arena, int with_hash, struct user *out)
{
	int	 rc, ret = -1;

	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (users_read_row(st, arena, with_hash, out) == -1)
			log_errorx("users: %s: unreadable row: %s", what,
			    sqlite3_errmsg(u->db));
		else
			ret = 1;
	} else if (rc == SQLITE_DONE)
		ret = 0;
	else
		log_errorx("users: %s: %s", what, sqlite3_errmsg(u->db));
	users_done(st);
	return ret;
}

/*
 * The user with that id: 1 and out filled with strings in arena
 * (password_hash NULL), 0 when there is none, -1 on a fault (logged).
 */
int
users_sqlite_find_by_id(struct users_sqlite *u, long long id,
    struct arena *arena, struct user *out)
{
	int	 rc;

	if (!users_mine(u))
		return -1;
	if ((rc = sqlite3_bind_int64(u->by_id, 1, id)) != SQLITE_OK) {
		log_errorx("users: find by id: bind: %s", sqlite3_errstr(rc));
		users_done(u->by_id);
		return -1;
	}
	return users_find(u, u->by_id, "find by id", arena, 0, out);
}

/*
 * Replaces the stored password hash of user id (a re-hash after the
 * Argon2id parameters changed): 0, or -1 on a fault or no such user
 * (logged).  updated_at is left alone: the user changed nothing.
 */
int
users_sqlite_set_password(struct users_sqlite *u, long long id,
    const char *hash)
{
	int	 rc;

	if (!users_mine(u))
		return -1;
	if ((rc = sqlite3_bind_int64(u->set_password, 1, id)) != SQLITE_OK ||
	    (rc = sqlite3_bind_text(u->set_password, 2, hash, -1,
	    SQLITE_STATIC)) != SQLITE_OK ||
	    (rc = sqlite3_step(u->set_password)) != SQLITE_DONE) {
		log_warnx("users: set password: %s", sqlite3_errstr(rc));
		users_done(u->set_password);
		return -1;
	}
	users_done(u->set_password);
	if (sqlite3_changes(u->db) != 1) {
		log_warnx("users: set password: no user %lld", id);
		return -1;
	}
	return 0;
}

/*
 * Replaces io's password hash with hash if the row still holds the one
 * in io (the hash a login just verified), so that a change made
 * meanwhile is not overwritten: 1 replaced (io's hash now the arena
 * copy; the session stamp, a column of its own, stays), 0 when the row
 * changed or is gone, -1 on a fault (logged).
 */
int
users_sqlite_set_password_hash(struct users_sqlite *u, struct user *io,
    const char *hash, struct arena *arena)
{
	int	 rc;

	if (!users_mine(u))
		return -1;
	if (io->password_hash == NULL) {
		log_errorx("users: set password hash: no old hash");
		return -1;
	}
	if ((rc = sqlite3_bind_int64(u->set_password_if, 1, io->id)) !=
	    SQLITE_OK ||
	    (rc = sqlite3_bind_text(u->set_password_if, 2, io->password_hash,
	    -1, SQLITE_STATIC)) != SQLITE_OK ||
	    (rc = sqlite3_bind_text(u->set_password_if, 3, hash, -1,
	    SQLITE_STATIC)) != SQLITE_OK ||
	    (rc = sqlite3_step(u->set_password_if)) != SQLITE_DONE) {
		log_warnx("users: set password hash: %s", sqlite3_errstr(rc));
		users_done(u->set_password_if);
		return -1;
	}
	users_done(u->set_password_if);
	if (sqlite3_changes(u->db) != 1)
		return 0;
	io->password_hash = arena_strdup(arena, hash);
	return 1;
}

/*
 * The user with that email in any case, for login: 1 and out filled
 * with strings in arena, password_hash included, 0 when there is none
 * (an email too long to be stored included), -1 on a fault (logged).
 */
int
users_sqlite_find_by_email(struct users_sqlite *u, const char *email,
    struct arena *arena, struct user *out)
{
	char	 buf[USERS_FIELD_MAX + 1];
	size_t	 len;
	int	 rc;

	if (!users_mine(u))
		return -1;
	if (email == NULL) {
		log_errorx("users: find by email: no email");
		return -1;
	}
	if ((len = strnlen(email, sizeof(buf))) == sizeof(buf))
		return 0;
	memcpy(buf, email, len + 1);
	users_lower(buf);
	if ((rc = users_bind(u->by_email, 1, buf)) != SQLITE_OK) {
		log_errorx("users: find by email: bind: %s",
		    sqlite3_errstr(rc));
		users_done(u->by_email);
		return -1;
	}
	return users_find(u, u->by_email, "find by email", arena, 1, out);
}

/*
 * Liveness probe for /health: reads the schema version from the file.
 * 0 with "ok" in msg, or -1 with the reason in msg (not logged: the
 * caller reports it).
 */
int
users_sqlite_ping(struct users_sqlite *u, char *msg, size_t msglen)
{
	int	 rc, version, ret = -1;

	if (u == NULL) {
		users_seterr(msg, msglen, "database not open");
		return -1;
	}
	if (!users_mine(u)) {
		users_seterr(msg, msglen, "database handle used after fork");
		return -1;
	}
	if ((rc = sqlite3_step(u->version)) == SQLITE_ROW) {
		version = sqlite3_column_int(u->version, 0);
		if (version == USERS_VERSION) {
			users_seterr(msg, msglen, "ok");
			ret = 0;
		} else
			users_seterr(msg, msglen, "schema version %d, "
			    "expected %d", version, USERS_VERSION);
	} else if (rc == SQLITE_DONE)
		users_seterr(msg, msglen, "schema version missing");
	else
		users_seterr(msg, msglen, "%s", sqlite3_errmsg(u->db));
	users_done(u->version);
	return ret;
}

/* The schema version that users_open migrates a database to. */
int
users_schema_version(void)
{
	return USERS_VERSION;
}

/*
 * Runs one of the rare statements of issue 15 on row id with the text
 * ?2, the integer ?3 and the text ?4 (unused ones ignored).  For a
 * SELECT: its integer, or 0 without a row; for an UPDATE: 0 when it
 * touched the row, else -1.  -1 on a fault (logged).
 */
static int
users_sqlite_update(struct users_sqlite *u, const char *sql,
    const char *what, long long id, const char *text, long long n,
    const char *text2)
{
	sqlite3_stmt	*st = NULL;
	int		 rc, ret = -1;

	if (!users_mine(u))
		return -1;
	if ((rc = sqlite3_prepare_v2(u->db, sql, -1, &st, NULL)) !=
	    SQLITE_OK ||
	    (rc = sqlite3_bind_int64(st, 1, id)) != SQLITE_OK ||
	    (sqlite3_bind_parameter_count(st) >= 2 && text != NULL &&
	    (rc = users_bind(st, 2, text)) != SQLITE_OK) ||
	    (sqlite3_bind_parameter_count(st) >= 3 &&
	    (rc = sqlite3_bind_int64(st, 3, n)) != SQLITE_OK) ||
	    (sqlite3_bind_parameter_count(st) >= 4 && text2 != NULL &&
	    (rc = users_bind(st, 4, text2)) != SQLITE_OK)) {
		log_warnx("users: %s: %s", what, sqlite3_errstr(rc));
		goto done;
	}
	switch (rc = sqlite3_step(st)) {
	case SQLITE_ROW:
		ret = sqlite3_column_int(st, 0);
		break;
	case SQLITE_DONE:
		if (sqlite3_stmt_readonly(st))
			ret = 0;
		else if (sqlite3_changes(u->db) == 1)
			ret = 0;
		else
			log_warnx("users: %s: no user %lld", what, id);
		break;
	default:
		log_warnx("users: %s: %s", what, sqlite3_errstr(rc));
		break;
	}
done:
	sqlite3_finalize(st);	/* harmless on NULL */
	return ret;
}

/* 1 when user id's address is verified, 0 when not or no such row. */
int
users_sqlite_email_verified(struct users_sqlite *u, long long id)
{
	return users_sqlite_update(u, SQL_VERIFIED, "email verified", id,
	    NULL, 0, NULL);
}

/* Sets email_verified_at to t unless set: 0, or -1 (logged). */
int
users_sqlite_set_email_verified(struct users_sqlite *u, long long id,
    time_t t)
{
	return users_sqlite_update(u, SQL_SET_VERIFIED, "set email verified",
	    id, NULL, (long long)t, NULL);
}

/* A reset's new hash and stamp, updated_at t: 0, or -1 (logged). */
int
users_sqlite_reset_password(struct users_sqlite *u, long long id,
    const char *hash, const char *stamp, time_t t)
{
	return users_sqlite_update(u, SQL_RESET_PASSWORD, "reset password",
	    id, hash, (long long)t, stamp);
}
