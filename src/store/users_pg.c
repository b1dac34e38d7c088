/*
 * PostgreSQL implementation of the user store (users.h, SPEC 5): one
 * connection per worker, made lazily after fork within a sub-second
 * connect timeout, statement_timeout set on it, the schema migrated and
 * the statements prepared once for its life, and a back-off after a
 * failure as the Redis handle has.  Every wait is bounded by poll(2):
 * libpq's own calls block without limit on a hung server.  With
 * users_table = original (SPEC 5) the same connection reads and writes
 * the original MockPie backend's users table as it is: no migration,
 * only a check of its columns.
 */
#include <sys/types.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <sodium.h>

#include "lib/arena.h"
#include "lib/dynlib.h"
#include "lib/log.h"
#include "lib/self.h"
#include "store/users.h"
#include "store/users_impl.h"

/*
 * libpq is loaded at the first PostgreSQL URL (lib/dynlib.h): with the
 * default SQLite store no process maps it, nor the Kerberos, LDAP and
 * GnuTLS libraries it is linked with.
 */
#define PQ_FUNCTIONS(X)							\
	X(PQclear, PQclear)						\
	X(PQcmdTuples, PQcmdTuples)					\
	X(PQconnectPoll, PQconnectPoll)					\
	X(PQconnectStartParams, PQconnectStartParams)			\
	X(PQconninfoFree, PQconninfoFree)				\
	X(PQconninfoParse, PQconninfoParse)				\
	X(PQconsumeInput, PQconsumeInput)				\
	X(PQerrorMessage, PQerrorMessage)				\
	X(PQfinish, PQfinish)						\
	X(PQflush, PQflush)						\
	X(PQfreemem, PQfreemem)						\
	X(PQgetResult, PQgetResult)					\
	X(PQgetisnull, PQgetisnull)					\
	X(PQgetlength, PQgetlength)					\
	X(PQgetvalue, PQgetvalue)					\
	X(PQisBusy, PQisBusy)						\
	X(PQnfields, PQnfields)						\
	X(PQntuples, PQntuples)						\
	X(PQresultErrorField, PQresultErrorField)			\
	X(PQresultErrorMessage, PQresultErrorMessage)			\
	X(PQresultStatus, PQresultStatus)				\
	X(PQsendQuery, PQsendQuery)					\
	X(PQsendQueryParams, PQsendQueryParams)				\
	X(PQsendQueryPrepared, PQsendQueryPrepared)			\
	X(PQsetNoticeReceiver, PQsetNoticeReceiver)			\
	X(PQsetnonblocking, PQsetnonblocking)				\
	X(PQsocket, PQsocket)						\
	X(PQstatus, PQstatus)

static struct pq_api {
	PQ_FUNCTIONS(DYNLIB_MEMBER)
}			 libpq_loaded;
/* NULL until libpq_load() succeeds; every call below goes through it */
static const struct pq_api *libpq;

static int
libpq_load(char *err, size_t errlen)
{
	static const char *const names[] = { PQ_FUNCTIONS(DYNLIB_NAME) };

	if (libpq != NULL)
		return 0;
	if (dynlib_load("libpq.so.5", "libpq5", names,
	    sizeof(names) / sizeof(names[0]), &libpq_loaded,
	    sizeof(libpq_loaded), err, errlen) == -1)
		return -1;
	libpq = &libpq_loaded;
	return 0;
}

/* The server's primary error message of a failed result. */
static const char *
pg_message(const PGresult *res)
{
	return libpq->PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
}

/*
 * Schema history, as in users_sqlite.c and numbered alike (one
 * users_schema_version() for both): append steps, never edit one.
 * An identity column never hands an id out twice, rolled back or
 * deleted.  Emails are stored lower-cased (ASCII, as SQLite's NOCASE
 * folds) and usernames are ASCII (SPEC 2), so lower() is their
 * uniqueness.
 */
static const char *const pg_migrations[] = {
	/* 1 */
	"CREATE TABLE users ("
	" id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
	" first_name text NOT NULL,"
	" last_name text NOT NULL,"
	" username text NOT NULL,"
	" email text NOT NULL,"
	" phone_number text NOT NULL,"
	" gender text NOT NULL,"
	" password_hash text NOT NULL,"
	" created_at bigint NOT NULL,"
	" updated_at bigint NOT NULL);"
	"CREATE UNIQUE INDEX users_email_key ON users (lower(email));"
	"CREATE UNIQUE INDEX users_username_key ON users (lower(username));"
	"CREATE UNIQUE INDEX users_phone_number_key ON users (phone_number);",
	/* 2: see users_sqlite.c; gen_random_uuid() is a CSPRNG */
	"ALTER TABLE users ADD COLUMN session_stamp text NOT NULL"
	" DEFAULT '';"
	"UPDATE users SET session_stamp = substr(encode(sha256(convert_to("
	"gen_random_uuid()::text || gen_random_uuid()::text, 'UTF8')),"
	" 'hex'), 1, 32);",
	/* 3: see users_sqlite.c (issue 15) */
	"ALTER TABLE users ADD COLUMN email_verified_at bigint;",
};
#define PG_VERSION							\
	((int)(sizeof(pg_migrations) / sizeof(pg_migrations[0])))

/* Any constant: workers starting at once migrate one at a time. */
#define PG_LOCK_KEY	"7306086431252938001"

#define SQL_HAS_VERSION	"SELECT to_regclass('schema_version') IS NOT NULL"
#define SQL_VERSION	"SELECT version FROM schema_version WHERE id = 1"
#define SQL_VERSION_TABLE						\
	"CREATE TABLE IF NOT EXISTS schema_version ("			\
	" id integer PRIMARY KEY CHECK (id = 1),"			\
	" version integer NOT NULL)"
#define SQL_SET_VERSION							\
	"INSERT INTO schema_version (id, version) VALUES (1, $1)"	\
	" ON CONFLICT (id) DO UPDATE SET version = excluded.version"

#define PG_COLUMNS							\
	"id, first_name, last_name, username, email, phone_number,"	\
	" gender, created_at, updated_at, session_stamp"
#define SQL_INSERT							\
	"INSERT INTO users (first_name, last_name, username, email,"	\
	" phone_number, gender, password_hash, session_stamp,"		\
	" created_at, updated_at)"					\
	" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id"
#define SQL_BY_ID	"SELECT " PG_COLUMNS " FROM users WHERE id = $1"
#define SQL_BY_EMAIL							\
	"SELECT " PG_COLUMNS ", password_hash FROM users"		\
	" WHERE lower(email) = lower($1)"
#define SQL_SET_PASSWORD "UPDATE users SET password_hash = $2 WHERE id = $1"
/* Issue 15's flows; see users_sqlite.c. */
#define SQL_VERIFIED							\
	"SELECT (email_verified_at IS NOT NULL)::int FROM users"	\
	" WHERE id = $1"
#define SQL_SET_VERIFIED						\
	"UPDATE users SET email_verified_at ="				\
	" coalesce(email_verified_at, $2) WHERE id = $1"
#define SQL_RESET_PASSWORD						\
	"UPDATE users SET password_hash = $2, session_stamp = $3,"	\
	" updated_at = $4 WHERE id = $1"
/* a re-hash at login, only over the hash that was verified */
#define SQL_SET_PASSWORD_IF						\
	"UPDATE users SET password_hash = $3"				\
	" WHERE id = $1 AND password_hash = $2"
/* Which of the three collide; only run after the INSERT refused. */
#define SQL_CONFLICT							\
	"SELECT coalesce(bool_or(lower(email) = lower($1)), false)::int," \
	" coalesce(bool_or(lower(username) = lower($2)), false)::int,"	\
	" coalesce(bool_or(phone_number = $3), false)::int"		\
	" FROM users WHERE lower(email) = lower($1)"			\
	" OR lower(username) = lower($2) OR phone_number = $3"

/*
 * users_table = original (SPEC 5): the original MockPie backend's table,
 * read and written as its SQLAlchemy model does, in the columns of
 * PG_COLUMNS so that one reader serves both.  The gender enum's labels
 * are the API's values in upper case; the timestamps (without time zone,
 * written by the server's now()) are read in the server's TimeZone, as
 * now() wrote them; a row with deleted_at set is not there for mockpie.
 * The password column stands where session_stamp is: the stamp is made
 * from it (og_stamp).  Unique constraints on email and username are the
 * original's, case-sensitive: the insert checks any case itself.
 */
#define OG_EPOCH(c)							\
	"floor(extract(epoch FROM " c "::timestamptz))::bigint"
#define OG_COLUMNS							\
	"id, coalesce(first_name, ''), coalesce(last_name, ''),"	\
	" username, email, phone_number, lower(gender::text), "		\
	OG_EPOCH("created_at") ", " OG_EPOCH("updated_at") ", password"
#define OG_LIVE		" AND deleted_at IS NULL"
#define OG_INSERT							\
	"INSERT INTO users (first_name, last_name, username, email,"	\
	" phone_number, gender, password, remember_token)"		\
	" SELECT $1::text, $2::text, $3::text, $4::text, $5::text,"	\
	" upper($6::text)::gender, $7::text, ''"			\
	" WHERE NOT EXISTS (SELECT 1 FROM users"			\
	" WHERE lower(email) = lower($4::text)"				\
	" OR lower(username) = lower($3::text) OR phone_number = $5::text)" \
	" RETURNING id, " OG_EPOCH("created_at")
#define OG_BY_ID							\
	"SELECT " OG_COLUMNS " FROM users WHERE id = $1::bigint" OG_LIVE
/* the original does not fold case: an exact match first */
#define OG_BY_EMAIL							\
	"SELECT " OG_COLUMNS ", password FROM users"			\
	" WHERE lower(email) = lower($1::text)" OG_LIVE			\
	" ORDER BY email = $1::text DESC, id LIMIT 1"
/* as the model's onupdate, updated_at moves with the password */
#define OG_SET_PASSWORD							\
	"UPDATE users SET password = $2::text, updated_at = localtimestamp" \
	" WHERE id = $1::bigint" OG_LIVE
#define OG_SET_PASSWORD_IF						\
	"UPDATE users SET password = $3::text, updated_at = localtimestamp" \
	" WHERE id = $1::bigint AND password = $2::text" OG_LIVE
#define OG_PING		"SELECT to_regclass('users') IS NOT NULL"
/* issue 15 on the original's columns; its session stamp ($3 elsewhere)
   is the password's digest here, so the new hash is the new stamp */
#define OG_VERIFIED							\
	"SELECT (email_verified_at IS NOT NULL)::int FROM users"	\
	" WHERE id = $1::bigint" OG_LIVE
#define OG_SET_VERIFIED							\
	"UPDATE users SET email_verified_at = coalesce(email_verified_at,"	\
	" to_timestamp($2::bigint)::timestamp) WHERE id = $1::bigint" OG_LIVE
#define OG_RESET_PASSWORD						\
	"UPDATE users SET password = $2::text,"				\
	" updated_at = to_timestamp($4::bigint)::timestamp"		\
	" WHERE id = $1::bigint AND $3::text IS NOT NULL" OG_LIVE

/* The prepared statements, kept for the connection's life. */
struct pg_statement {
	const char	*name;
	const char	*sql;
};
static const struct pg_statement pg_statements[] = {
	{ "mockpie_insert",		SQL_INSERT },
	{ "mockpie_by_id",		SQL_BY_ID },
	{ "mockpie_by_email",		SQL_BY_EMAIL },
	{ "mockpie_set_password",	SQL_SET_PASSWORD },
	{ "mockpie_set_password_if",	SQL_SET_PASSWORD_IF },
	{ "mockpie_conflict",		SQL_CONFLICT },
	{ "mockpie_version",		SQL_VERSION },
	{ "mockpie_verified",		SQL_VERIFIED },
	{ "mockpie_set_verified",	SQL_SET_VERIFIED },
	{ "mockpie_reset_password",	SQL_RESET_PASSWORD },
};
/* the same names on the original's table */
static const struct pg_statement og_statements[] = {
	{ "mockpie_insert",		OG_INSERT },
	{ "mockpie_by_id",		OG_BY_ID },
	{ "mockpie_by_email",		OG_BY_EMAIL },
	{ "mockpie_set_password",	OG_SET_PASSWORD },
	{ "mockpie_set_password_if",	OG_SET_PASSWORD_IF },
	{ "mockpie_conflict",		SQL_CONFLICT },
	{ "mockpie_version",		OG_PING },
	{ "mockpie_verified",		OG_VERIFIED },
	{ "mockpie_set_verified",	OG_SET_VERIFIED },
	{ "mockpie_reset_password",	OG_RESET_PASSWORD },
};
_Static_assert(sizeof(og_statements) == sizeof(pg_statements),
    "the same statements on either table");
#define NSTATEMENTS	(sizeof(pg_statements) / sizeof(pg_statements[0]))
#define ST_INSERT	"mockpie_insert"
#define ST_BY_ID	"mockpie_by_id"
#define ST_BY_EMAIL	"mockpie_by_email"
#define ST_SET_PASSWORD	"mockpie_set_password"
#define ST_SET_PASSWORD_IF "mockpie_set_password_if"
#define ST_CONFLICT	"mockpie_conflict"
#define ST_VERSION	"mockpie_version"

/*
 * What the connection checks of the original's table instead of
 * migrating it: the columns mockpie reads or writes, each with the types
 * the original's Alembic migrations give it (a prefix of format_type's
 * answer: varchar may have a length).
 */
static const struct {
	const char	*column;
	const char	*types[2];
} og_columns[] = {
	{ "id",			{ "integer", "bigint" } },
	{ "first_name",		{ "character varying", "text" } },
	{ "last_name",		{ "character varying", "text" } },
	{ "username",		{ "character varying", "text" } },
	{ "email",		{ "character varying", "text" } },
	{ "phone_number",	{ "character varying", "text" } },
	{ "gender",		{ "gender", NULL } },
	{ "password",		{ "character varying", "text" } },
	{ "created_at",		{ "timestamp without time zone", NULL } },
	{ "updated_at",		{ "timestamp without time zone", NULL } },
	{ "deleted_at",		{ "timestamp without time zone", NULL } },
	{ "remember_token",	{ "character varying", "text" } },
	{ "email_verified_at",	{ "timestamp without time zone", NULL } },
};
#define OG_COLUMN_TYPES							\
	"SELECT a.attname, format_type(a.atttypid, a.atttypmod)"	\
	" FROM pg_attribute a WHERE a.attrelid = to_regclass('users')"	\
	" AND a.attnum > 0 AND NOT a.attisdropped"
#define OG_GENDER_LABELS						\
	"SELECT count(*) FROM pg_enum WHERE enumtypid = to_regtype('gender')" \
	" AND enumlabel IN ('MALE', 'FEMALE', 'PREFER_NOT_TO_SAY')"
#define OG_NGENDERS	3
/* domain separation of the stamp's digest (og_stamp) */
#define OG_STAMP_CONTEXT "mockpie users_table=original session stamp v1"

/* Column numbers in PG_COLUMNS, then password_hash. */
enum pg_col {
	COL_ID, COL_FIRST_NAME, COL_LAST_NAME, COL_USERNAME, COL_EMAIL,
	COL_PHONE_NUMBER, COL_GENDER, COL_CREATED_AT, COL_UPDATED_AT,
	COL_SESSION_STAMP, COL_PASSWORD_HASH
};

#define PG_ERROR_MAX	256
#define PG_NAME_MAX	512
#define PG_BACKOFF_MIN_MS 250	/* SPEC 5: like Redis (SPEC 3) */
#define PG_BACKOFF_MAX_MS 2000
#define PG_SLACK_MS	250	/* the server's statement_timeout answers
				   first; past this the server is hung */
#define PG_INT_MAX	24	/* a long long in decimal, and NUL */
#define PG_SQL_MAX	1024	/* PREPARE name AS one of the statements */
#define PG_IDLE_READS	4	/* reads of an idle connection's news */

/* What became of the connection when a query got no answer. */
enum pg_how {
	PG_KEPT,	/* usable: the server cancelled the statement */
	PG_LOST,	/* closed or broken: a new one may be tried at once */
	PG_TIMEDOUT	/* no answer in time: the server is hung */
};

/* What a query came to. */
enum pg_rc {
	PG_OK,		/* the server ran it */
	PG_REFUSED,	/* the server answered an error: see the result */
	PG_DOWN		/* no answer: unreachable, hung, or backing off */
};

struct users_pg {
	char		*url;		/* the password is in it: wiped */
	char		 name[PG_NAME_MAX];	/* without the password */
	int		 connect_timeout_ms;
	int		 statement_timeout_ms;
	PGconn		*conn;		/* set up, or NULL */
	long long	 retry_at_ms;	/* no connect attempt before */
	long		 backoff_ms;
	int		 down;		/* failed since the last answer */
	unsigned long	 failures;
	unsigned long	 stale_reconnects;
	char		 error[PG_ERROR_MAX];
	pid_t		 pid;		/* the opener; children keep off */
	int		 original;	/* users_table = original */
};

static long long
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* libpq's messages end in a newline: one log line each. */
static void
pg_chomp(char *s)
{
	size_t	 n = strlen(s);

	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' ||
	    s[n - 1] == ' '))
		s[--n] = '\0';
	for (; *s != '\0'; s++)
		if (*s == '\n' || *s == '\t')
			*s = ' ';
}

static void
pg_seterr(char *buf, size_t len, const char *what, const char *msg)
{
	if (buf == NULL || len == 0)
		return;
	snprintf(buf, len, "%s%s%s", what, *what != '\0' ? ": " : "",
	    msg != NULL && *msg != '\0' ? msg : "unknown error");
	pg_chomp(buf);
}

/*
 * PITFALLS: libpq's default notice processor writes to stderr.  Notices
 * (CREATE ... IF NOT EXISTS that skipped) are debug; warnings warn.
 */
static void
pg_notice(void *arg, const PGresult *res)
{
	const char	*sev, *msg;
	char		 buf[PG_ERROR_MAX];

	(void)arg;
	sev = libpq->PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
	msg = pg_message(res);
	pg_seterr(buf, sizeof(buf), "", msg);
	if (sev != NULL && strcmp(sev, "WARNING") == 0)
		log_warnx("postgresql: %s", buf);
	else
		log_debug("postgresql %s: %s", sev != NULL ? sev : "notice",
		    buf);
}

/*
 * The URL as logs may show it (the password never): user, host, port and
 * database from libpq's own parse; "postgresql://?" when it cannot parse.
 */
void
users_pg_name(const char *url, char *buf, size_t len)
{
	PQconninfoOption	*opts, *o;
	const char		*user = "", *host = "", *port = "", *db = "";
	char			*msg = NULL;

	char			 unused[128];

	if (libpq_load(unused, sizeof(unused)) == -1 ||
	    (opts = libpq->PQconninfoParse(url, &msg)) == NULL) {
		if (libpq != NULL)
			libpq->PQfreemem(msg);
		snprintf(buf, len, "postgresql://?");
		return;
	}
	for (o = opts; o->keyword != NULL; o++) {
		if (o->val == NULL)
			continue;
		if (strcmp(o->keyword, "user") == 0)
			user = o->val;
		else if (strcmp(o->keyword, "host") == 0)
			host = o->val;
		else if (strcmp(o->keyword, "hostaddr") == 0 && *host == '\0')
			host = o->val;
		else if (strcmp(o->keyword, "port") == 0)
			port = o->val;
		else if (strcmp(o->keyword, "dbname") == 0)
			db = o->val;
	}
	if (*host == '/')	/* a unix socket directory */
		snprintf(buf, len, "postgresql://%s%s%s%s/%s?host=%s", user,
		    *user != '\0' ? "@" : "", *port != '\0' ? ":" : "", port,
		    db, host);
	else
		snprintf(buf, len, "postgresql://%s%s%s%s%s/%s", user,
		    *user != '\0' ? "@" : "", host, *port != '\0' ? ":" : "",
		    port, db);
	libpq->PQconninfoFree(opts);
}

/* The PITFALLS rule: a connection never crosses fork. */
static int
pg_mine(const struct users_pg *u)
{
	return users_owned(u->pid);
}

/*
 * Forgets the connection.  After a failure (backoff set) the next
 * connect waits 250 ms, doubling up to 2 s: one attempt per worker per
 * period, not one per request.  A stale connection (PostgreSQL closed
 * it, the server restarted) is replaced at once.
 */
static void
pg_drop(struct users_pg *u, const char *why, int backoff)
{
	if (u->conn != NULL) {
		libpq->PQfinish(u->conn);
		u->conn = NULL;
	}
	if (!backoff) {
		u->stale_reconnects++;
		log_debug("postgresql connection closed (%s): reconnecting",
		    why);
		return;
	}
	u->failures++;
	if (u->backoff_ms == 0)
		u->backoff_ms = PG_BACKOFF_MIN_MS;
	else if ((u->backoff_ms *= 2) > PG_BACKOFF_MAX_MS)
		u->backoff_ms = PG_BACKOFF_MAX_MS;
	u->retry_at_ms = now_ms() + u->backoff_ms;
	snprintf(u->error, sizeof(u->error), "%s", why);
	if (!u->down)
		log_warnx("database %s unavailable: %s (next attempt in "
		    "%ld ms)", u->name, why, u->backoff_ms);
	else
		log_debug("database %s still unavailable: %s (next attempt in "
		    "%ld ms)", u->name, why, u->backoff_ms);
	u->down = 1;
}

static void
pg_answered(struct users_pg *u)
{
	if (!u->down)
		return;
	u->down = 0;
	u->backoff_ms = 0;
	u->error[0] = '\0';
	log_info("database %s connected again", u->name);
}

/*
 * Waits for the socket until deadline: 1 ready, 0 timed out, -1 error.
 * POLLHUP and POLLERR count as ready: libpq then reads the error.
 */
static int
pg_wait(PGconn *c, short events, long long deadline)
{
	struct pollfd	 pfd;
	long long	 left;
	int		 n;

	if ((pfd.fd = libpq->PQsocket(c)) < 0)
		return -1;
	pfd.events = events;
	for (;;) {
		if ((left = deadline - now_ms()) < 0)
			left = 0;
		pfd.revents = 0;
		if ((n = poll(&pfd, 1, (int)left)) == -1 && errno == EINTR)
			continue;
		return n < 0 ? -1 : n;
	}
}

/* A SQLSTATE that says the server cannot serve now, not "no". */
static int
pg_state_down(const char *state)
{
	if (state == NULL)
		return 0;
	return strncmp(state, "08", 2) == 0 ||	/* connection exception */
	    strncmp(state, "57P", 3) == 0 ||	/* shutdown, cannot connect */
	    strcmp(state, "57014") == 0 ||	/* statement_timeout */
	    strncmp(state, "53", 2) == 0 ||	/* out of resources */
	    strcmp(state, "25006") == 0;	/* read-only: a standby */
}

/*
 * Sends one query on u->conn (a prepared statement by name, or sql) and
 * reads its results until deadline.  PG_OK or PG_REFUSED with the last
 * result in *resp (the caller clears it); PG_DOWN with why filled, and
 * in *how whether the connection is still usable (PG_KEPT: the server
 * cancelled the statement), lost, or waited on past the deadline.
 */
static enum pg_rc
pg_exec(struct users_pg *u, const char *stmt, const char *sql, int n,
    const char *const *vals, long long deadline, PGresult **resp,
    enum pg_how *how, char *why, size_t whylen)
{
	PGconn		*c = u->conn;
	PGresult	*res, *last = NULL;
	ExecStatusType	 st;
	const char	*sev;
	int		 ok, f, w;

	*resp = NULL;
	*how = PG_KEPT;
	if (stmt != NULL)
		ok = libpq->PQsendQueryPrepared(c, stmt, n, vals, NULL, NULL,
		    0);
	else if (n > 0)
		ok = libpq->PQsendQueryParams(c, sql, n, NULL, vals, NULL,
		    NULL, 0);
	else
		ok = libpq->PQsendQuery(c, sql);
	if (!ok)
		goto broken;
	while ((f = libpq->PQflush(c)) == 1) {
		if ((w = pg_wait(c, POLLOUT | POLLIN, deadline)) == 0)
			goto timeout;
		if (w == -1 || !libpq->PQconsumeInput(c))
			goto broken;
	}
	if (f == -1)
		goto broken;
	for (;;) {
		while (libpq->PQisBusy(c)) {
			if ((w = pg_wait(c, POLLIN, deadline)) == 0)
				goto timeout;
			if (w == -1 || !libpq->PQconsumeInput(c))
				goto broken;
		}
		if ((res = libpq->PQgetResult(c)) == NULL)
			break;
		/* after an error nothing more runs: keep the error */
		if (last != NULL &&
		    libpq->PQresultStatus(last) == PGRES_FATAL_ERROR)
			libpq->PQclear(res);
		else {
			libpq->PQclear(last);
			last = res;
		}
	}
	if (last == NULL)
		goto broken;
	/* an answer counts even if the connection broke after it */
	st = libpq->PQresultStatus(last);
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
		*resp = last;
		return PG_OK;
	}
	sev = libpq->PQresultErrorField(last, PG_DIAG_SEVERITY_NONLOCALIZED);
	if (libpq->PQstatus(c) == CONNECTION_BAD || (sev != NULL &&
	    (strcmp(sev, "FATAL") == 0 || strcmp(sev, "PANIC") == 0)))
		*how = PG_LOST;		/* the server ends the session */
	if (*how == PG_LOST ||
	    pg_state_down(libpq->PQresultErrorField(last, PG_DIAG_SQLSTATE))) {
		pg_seterr(why, whylen, "", libpq->PQresultErrorMessage(last));
		libpq->PQclear(last);
		return PG_DOWN;
	}
	*resp = last;
	return PG_REFUSED;
timeout:
	libpq->PQclear(last);
	*how = PG_TIMEDOUT;
	snprintf(why, whylen, "no answer within %d ms",
	    u->statement_timeout_ms + PG_SLACK_MS);
	return PG_DOWN;
broken:
	/* an error may have come before the end */
	libpq->PQclear(last);
	*how = PG_LOST;
	pg_seterr(why, whylen, "", libpq->PQerrorMessage(c));
	return PG_DOWN;
}

/* A query whose answer only matters as ok or not: 0, or -1 and why. */
static int
pg_simple(struct users_pg *u, const char *sql, int n,
    const char *const *vals, long long deadline, PGresult **resp, char *why,
    size_t whylen)
{
	PGresult	*res;
	enum pg_how	 how;

	switch (pg_exec(u, NULL, sql, n, vals, deadline, &res, &how,
	    why, whylen)) {
	case PG_OK:
		if (resp != NULL)
			*resp = res;
		else
			libpq->PQclear(res);
		return 0;
	case PG_REFUSED:
		pg_seterr(why, whylen, "", libpq->PQresultErrorMessage(res));
		libpq->PQclear(res);
		return -1;
	case PG_DOWN:
		break;
	}
	return -1;
}

/* The schema version of the database, 0 without one: 0, or -1 and why. */
static int
pg_read_version(struct users_pg *u, long long deadline, int *version,
    char *why, size_t whylen)
{
	PGresult	*res;
	int		 has;

	if (pg_simple(u, SQL_HAS_VERSION, 0, NULL, deadline, &res, why,
	    whylen) == -1)
		return -1;
	has = libpq->PQntuples(res) == 1 &&
	    strcmp(libpq->PQgetvalue(res, 0, 0), "t") == 0;
	libpq->PQclear(res);
	*version = 0;
	if (!has)
		return 0;
	if (pg_simple(u, SQL_VERSION, 0, NULL, deadline, &res, why,
	    whylen) == -1)
		return -1;
	if (libpq->PQntuples(res) == 1)
		*version = atoi(libpq->PQgetvalue(res, 0, 0));
	libpq->PQclear(res);
	return 0;
}

/*
 * Brings the schema to PG_VERSION, as users_sqlite.c does: a current
 * schema costs two reads; otherwise one transaction under an advisory
 * lock, so workers starting at once migrate once.  DDL is transactional
 * in PostgreSQL: a failed step leaves nothing.  0, or -1 and why.
 */
static int
pg_migrate(struct users_pg *u, long long deadline, char *why, size_t whylen)
{
	char		 num[PG_INT_MAX], msg[PG_ERROR_MAX];
	const char	*vals[1];
	int		 from, v;

	if (pg_read_version(u, deadline, &from, why, whylen) == -1)
		return -1;
	if (from == PG_VERSION)
		return 0;
	if (pg_simple(u, "BEGIN", 0, NULL, deadline, NULL, why, whylen) ==
	    -1 || pg_simple(u, "SELECT pg_advisory_xact_lock(" PG_LOCK_KEY ")",
	    0, NULL, deadline, NULL, why, whylen) == -1 ||
	    pg_simple(u, SQL_VERSION_TABLE, 0, NULL, deadline, NULL, why,
	    whylen) == -1 ||
	    pg_read_version(u, deadline, &from, why, whylen) == -1)
		goto fail;
	if (from > PG_VERSION || from < 0) {
		snprintf(why, whylen, "database schema version %d is not one "
		    "this build knows (up to %d)", from, PG_VERSION);
		goto fail;
	}
	for (v = from; v < PG_VERSION; v++)
		if (pg_simple(u, pg_migrations[v], 0, NULL, deadline, NULL,
		    msg, sizeof(msg)) == -1) {
			snprintf(why, whylen, "migration to version %d: %.200s",
			    v + 1, msg);
			goto fail;
		}
	snprintf(num, sizeof(num), "%d", PG_VERSION);
	vals[0] = num;
	if (pg_simple(u, SQL_SET_VERSION, 1, vals, deadline, NULL, why,
	    whylen) == -1 ||
	    pg_simple(u, "COMMIT", 0, NULL, deadline, NULL, why, whylen) == -1)
		goto fail;
	if (from < PG_VERSION)
		log_info("users: database schema migrated from version %d "
		    "to %d", from, PG_VERSION);
	return 0;
fail:
	/* the caller drops the connection, which rolls back */
	return -1;
}

/*
 * users_table = original: checks, instead of migrating, that the table
 * users has the columns og_columns names with their types and that the
 * enum gender has the original's labels.  Nothing is created or
 * altered.  0, or -1 and why.
 */
static int
og_check(struct users_pg *u, long long deadline, char *why, size_t whylen)
{
	PGresult	*res;
	const char	*type, *want;
	size_t		 i, t, n;
	int		 row, ok, rc = -1;

	if (pg_simple(u, OG_COLUMN_TYPES, 0, NULL, deadline, &res, why,
	    whylen) == -1)
		return -1;
	if (libpq->PQntuples(res) == 0) {
		snprintf(why, whylen, "users_table = original: no table users "
		    "in this database (mockpie does not create it in this "
		    "mode)");
		goto done;
	}
	for (i = 0; i < sizeof(og_columns) / sizeof(og_columns[0]); i++) {
		type = NULL;
		for (row = 0; row < libpq->PQntuples(res) && type == NULL;
		    row++)
			if (strcmp(libpq->PQgetvalue(res, row, 0),
			    og_columns[i].column) == 0)
				type = libpq->PQgetvalue(res, row, 1);
		if (type == NULL) {
			snprintf(why, whylen, "users_table = original: table "
			    "users has no column %s", og_columns[i].column);
			goto done;
		}
		ok = 0;
		for (t = 0; t < 2 && (want = og_columns[i].types[t]) != NULL;
		    t++) {
			n = strlen(want);
			if (strncmp(type, want, n) == 0 && (type[n] == '\0' ||
			    type[n] == '('))
				ok = 1;
		}
		if (!ok) {
			snprintf(why, whylen, "users_table = original: column "
			    "users.%s is %.64s, expected %s",
			    og_columns[i].column, type, og_columns[i].types[0]);
			goto done;
		}
	}
	libpq->PQclear(res);
	if (pg_simple(u, OG_GENDER_LABELS, 0, NULL, deadline, &res, why,
	    whylen) == -1)
		return -1;
	if (libpq->PQntuples(res) != 1 || atoi(libpq->PQgetvalue(res, 0, 0)) !=
	    OG_NGENDERS) {
		snprintf(why, whylen, "users_table = original: the enum type "
		    "gender lacks the labels MALE, FEMALE, PREFER_NOT_TO_SAY");
		goto done;
	}
	rc = 0;
done:
	libpq->PQclear(res);
	return rc;
}

/*
 * Connects within connect_timeout_ms (PQconnectPoll and poll: libpq's
 * connect_timeout is whole seconds, 2 at least), then sets
 * statement_timeout, migrates (with users_table = original: checks the
 * table) and prepares.  0, or -1 and why.
 */
static int
pg_connect(struct users_pg *u, char *why, size_t whylen)
{
	static const char *const keys[] = { "dbname", "application_name",
	    NULL };
	const struct pg_statement *sts;
	const char		*vals[3];
	char			 sql[PG_SQL_MAX];
	PostgresPollingStatusType st;
	long long		 deadline;
	size_t			 i;
	int			 w;

	deadline = now_ms() + u->connect_timeout_ms;
	vals[0] = u->url;
	vals[1] = "mockpie";
	vals[2] = NULL;
	if ((u->conn = libpq->PQconnectStartParams(keys, vals, 1)) == NULL) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	libpq->PQsetNoticeReceiver(u->conn, pg_notice, NULL);
	if (libpq->PQstatus(u->conn) == CONNECTION_BAD)
		goto bad;
	for (st = PGRES_POLLING_WRITING; st != PGRES_POLLING_OK;
	    st = libpq->PQconnectPoll(u->conn)) {
		if (st == PGRES_POLLING_FAILED)
			goto bad;
		w = pg_wait(u->conn, st == PGRES_POLLING_READING ? POLLIN :
		    POLLOUT, deadline);
		if (w == 0) {
			snprintf(why, whylen, "no connection within %d ms",
			    u->connect_timeout_ms);
			return -1;
		}
		if (w == -1)
			goto bad;
	}
	if (libpq->PQsetnonblocking(u->conn, 1) == -1)
		goto bad;
	snprintf(sql, sizeof(sql), "SET statement_timeout = %d",
	    u->statement_timeout_ms);
	deadline = now_ms() + u->connect_timeout_ms;
	if (pg_simple(u, sql, 0, NULL, deadline, NULL, why, whylen) == -1)
		return -1;
	deadline = now_ms() + u->statement_timeout_ms + PG_SLACK_MS;
	if (u->original) {
		if (og_check(u, deadline, why, whylen) == -1)
			return -1;
		sts = og_statements;
	} else {
		if (pg_migrate(u, deadline, why, whylen) == -1)
			return -1;
		sts = pg_statements;
	}
	for (i = 0; i < NSTATEMENTS; i++) {
		/* SQL PREPARE: the same bounded wait as any query */
		if (snprintf(sql, sizeof(sql), "PREPARE %s AS %s",
		    sts[i].name, sts[i].sql) >=
		    (int)sizeof(sql)) {
			snprintf(why, whylen, "prepare: statement too long");
			return -1;
		}
		if (pg_simple(u, sql, 0, NULL, deadline, NULL, why,
		    whylen) == -1)
			return -1;
	}
	return 0;
bad:
	pg_seterr(why, whylen, "", libpq->PQerrorMessage(u->conn));
	return -1;
}

/*
 * A kept connection that PostgreSQL closed while it was idle (a restart,
 * pg_terminate_backend, idle_session_timeout) has said so on its socket:
 * read that without waiting, so the request goes to a fresh connection.
 */
static void
pg_check_idle(struct users_pg *u)
{
	struct pollfd	 pfd;
	int		 i;

	/* the FATAL message, then the end of the stream: two reads */
	for (i = 0; i < PG_IDLE_READS; i++) {
		pfd.fd = libpq->PQsocket(u->conn);
		pfd.events = POLLIN;
		pfd.revents = 0;
		if (pfd.fd < 0 || poll(&pfd, 1, 0) != 1)
			return;
		if (!libpq->PQconsumeInput(u->conn) ||
		    libpq->PQstatus(u->conn) == CONNECTION_BAD) {
			pg_drop(u, "closed by the server while idle", 0);
			return;
		}
		(void)libpq->PQisBusy(u->conn);	/* a notice goes to the log */
	}
}

/*
 * The connection, connecting first when needed: 0, or -1 while
 * PostgreSQL is unreachable or the back-off has not elapsed.
 */
static int
pg_ready(struct users_pg *u)
{
	char	 why[PG_ERROR_MAX];

	if (u->conn != NULL && libpq->PQstatus(u->conn) == CONNECTION_BAD)
		pg_drop(u, "connection lost after its last answer", 0);
	if (u->conn != NULL) {
		pg_check_idle(u);
		if (u->conn != NULL)
			return 0;
	}
	if (now_ms() < u->retry_at_ms)
		return -1;
	if (pg_connect(u, why, sizeof(why)) == -1) {
		pg_drop(u, why, 1);
		return -1;
	}
	pg_answered(u);
	u->error[0] = '\0';
	return 0;
}

/*
 * Runs a prepared statement: PG_OK or PG_REFUSED with the result in *resp
 * (the caller clears it), or PG_DOWN.  A connection that breaks under a
 * read is replaced at once and the read sent once more: a kept
 * connection may have been closed by a restart since (SPEC 3's stale
 * rule).  A timeout is never resent: the server is hung.
 */
static enum pg_rc
pg_run(struct users_pg *u, const char *stmt, int n, const char *const *vals,
    int resend, PGresult **resp)
{
	char		 why[PG_ERROR_MAX];
	enum pg_rc	 rc;
	enum pg_how	 how;
	int		 try;

	*resp = NULL;
	for (try = 0; ; try++) {
		if (pg_ready(u) == -1)
			return PG_DOWN;
		rc = pg_exec(u, stmt, NULL, n, vals, now_ms() +
		    u->statement_timeout_ms + PG_SLACK_MS, resp, &how, why,
		    sizeof(why));
		if (rc != PG_DOWN)
			return rc;
		if (how == PG_KEPT) {
			/* statement_timeout or the like: the link is fine */
			snprintf(u->error, sizeof(u->error), "%s", why);
			log_warnx("database %s: %s", u->name, why);
			return PG_DOWN;
		}
		if (how == PG_LOST && resend && try == 0) {
			pg_drop(u, why, 0);
			continue;
		}
		pg_drop(u, why, 1);
		return PG_DOWN;
	}
}

/*
 * Loads libpq and parses url as its URI form (SPEC 5).  libpq's own
 * message is not repeated: it may quote a piece of the password.
 */
int
users_pg_check_url(const char *url, char *err, size_t errlen)
{
	PQconninfoOption	*opts;
	char			*msg = NULL;
	char			 why[256];

	if (libpq_load(why, sizeof(why)) == -1) {
		snprintf(err, errlen, "database: a postgresql:// URL needs "
		    "libpq: %s", why);
		return -1;
	}
	if ((opts = libpq->PQconninfoParse(url, &msg)) == NULL) {
		libpq->PQfreemem(msg);
		snprintf(err, errlen, "database: not a PostgreSQL URL libpq "
		    "accepts (postgresql://user:password@host:port/dbname"
		    "?param=value)");
		return -1;
	}
	libpq->PQconninfoFree(opts);
	return 0;
}

/*
 * Checks url (libpq's URI form, SPEC 5) and keeps it; connects nothing:
 * the first call in each worker does, after fork.  original: the
 * original MockPie backend's table (users_table = original).  Returns a
 * handle the caller frees with users_pg_close, or NULL with the reason
 * in err (never the password).
 */
struct users_pg *
users_pg_open(const char *url, int connect_timeout_ms,
    int statement_timeout_ms, int original, char *err, size_t errlen)
{
	struct users_pg		*u;

	if (users_pg_check_url(url, err, errlen) == -1)
		return NULL;
	if (connect_timeout_ms <= 0 || statement_timeout_ms <= 0) {
		snprintf(err, errlen, "database timeouts must be positive");
		return NULL;
	}
	if ((u = calloc(1, sizeof(*u))) == NULL ||
	    (u->url = strdup(url)) == NULL) {
		free(u);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	users_pg_name(url, u->name, sizeof(u->name));
	u->connect_timeout_ms = connect_timeout_ms;
	u->statement_timeout_ms = statement_timeout_ms;
	u->original = original;
	u->pid = self_pid();
	snprintf(u->error, sizeof(u->error), "not connected yet");
	return u;
}

/* Connects and migrates now (--init-db): 0, or -1 with err. */
int
users_pg_connect_now(struct users_pg *u, char *err, size_t errlen)
{
	if (pg_ready(u) == 0)
		return 0;
	snprintf(err, errlen, "%s", u->error);
	return -1;
}

/*
 * Closes the connection and wipes the URL; takes NULL.  A forked child
 * leaves the parent's connection alone: closing it would end the
 * parent's session on the shared socket.
 */
void
users_pg_close(struct users_pg *u)
{
	if (u == NULL)
		return;
	if (u->pid != self_pid()) {
		log_warnx("users: handle of pid %ld left open in pid %ld",
		    (long)u->pid, (long)self_pid());
		return;
	}
	if (u->conn != NULL)
		libpq->PQfinish(u->conn);
	sodium_memzero(u->url, strlen(u->url));
	free(u->url);
	free(u);
}

/* Lower-cases ASCII letters, as users_sqlite.c; locale-independent. */
static void
pg_lower(char *s)
{
	for (; *s != '\0'; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

/*
 * Names the duplicate after the INSERT refused one: email, then
 * username, then phone (SPEC 2 messages); the constraint's name is the
 * fallback.
 */
static enum users_result
pg_which_dup(struct users_pg *u, const char *const *f, const char *cons)
{
	const char	*vals[3];
	PGresult	*res;
	int		 e = 0, n = 0, p = 0;

	vals[0] = f[3];
	vals[1] = f[2];
	vals[2] = f[4];
	if (pg_run(u, ST_CONFLICT, 3, vals, 1, &res) == PG_OK &&
	    libpq->PQntuples(res) == 1) {
		e = atoi(libpq->PQgetvalue(res, 0, 0));
		n = atoi(libpq->PQgetvalue(res, 0, 1));
		p = atoi(libpq->PQgetvalue(res, 0, 2));
	}
	libpq->PQclear(res);
	if (cons == NULL)
		cons = "";
	if (e || strcmp(cons, "users_email_key") == 0)
		return USERS_DUP_EMAIL;
	if (n || strcmp(cons, "users_username_key") == 0)
		return USERS_DUP_USERNAME;
	if (p || strcmp(cons, "users_phone_number_key") == 0)
		return USERS_DUP_PHONE;
	log_errorx("users: create: unique violation on %s", cons);
	return USERS_ERROR;
}

/*
 * The session stamp of a row of the original's table, which has no
 * column for one and gets no migration: a digest of the row's id and
 * password hash.  A password change (or a re-hash) changes it and so
 * ends the sessions issued before; a row that takes a reused id has
 * another salted hash.  The hash is a salted bcrypt or Argon2id string,
 * so the digest, which tokens carry, tells nothing about the password.
 */
static void
og_stamp(long long id, const char *hash, struct arena *arena,
    const char **out)
{
	crypto_generichash_state st;
	unsigned char		 d[USERS_STAMP_BYTES];
	char			 ids[PG_INT_MAX], hex[USERS_STAMP_LEN + 1];

	snprintf(ids, sizeof(ids), "%lld", id);
	crypto_generichash_init(&st, NULL, 0, sizeof(d));
	crypto_generichash_update(&st, (const unsigned char *)
	    OG_STAMP_CONTEXT, sizeof(OG_STAMP_CONTEXT));	/* with NUL */
	crypto_generichash_update(&st, (const unsigned char *)ids,
	    strlen(ids) + 1);
	crypto_generichash_update(&st, (const unsigned char *)hash,
	    strlen(hash));
	crypto_generichash_final(&st, d, sizeof(d));
	sodium_bin2hex(hex, sizeof(hex), d, sizeof(d));
	*out = arena_strdup(arena, hex);
}

/* A SQLSTATE worth a retry by the client: lock or serialization. */
static int
pg_state_busy(const char *state)
{
	return state != NULL && (strcmp(state, "40001") == 0 ||
	    strcmp(state, "40P01") == 0 || strcmp(state, "55P03") == 0);
}

/*
 * As users_sqlite_create: USERS_OK fills out with the new id, times and
 * arena copies; USERS_DUP_* for a unique violation (the database alone
 * decides, so of concurrent registrations of one email one succeeds);
 * USERS_UNAVAILABLE while PostgreSQL is down or hung (the insert is not
 * resent: it may have run); USERS_BUSY, USERS_ERROR (logged).
 */
enum users_result
users_pg_create(struct users_pg *u, const struct user *in,
    struct arena *arena, struct user *out)
{
	static const char *const names[] = { "first_name", "last_name",
	    "username", "email", "phone_number", "gender", "password_hash" };
	const char		*f[9], *state;
	char			 stamp[USERS_STAMP_LEN + 1];
	char			 now_s[PG_INT_MAX], *email, *end;
	struct user		 nu;
	enum users_result	 res = USERS_ERROR;
	PGresult		*r = NULL;
	size_t			 i;
	time_t			 now;

	if (!pg_mine(u))
		return USERS_ERROR;
	f[0] = in->first_name;
	f[1] = in->last_name;
	f[2] = in->username;
	f[3] = in->email;
	f[4] = in->phone_number;
	f[5] = in->gender;
	f[6] = in->password_hash;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (f[i] == NULL || strnlen(f[i], USERS_FIELD_MAX + 1) >
		    USERS_FIELD_MAX) {
			log_errorx("users: create: %s missing or over %d "
			    "bytes", names[i], USERS_FIELD_MAX);
			return USERS_ERROR;
		}
	if (u->original)
		stamp[0] = '\0';	/* made from the row below */
	else
		users_new_stamp(stamp);
	f[7] = stamp;
	memset(&nu, 0, sizeof(nu));
	email = arena_strdup(arena, in->email);
	pg_lower(email);
	nu.email = f[3] = email;
	now = time(NULL);
	snprintf(now_s, sizeof(now_s), "%lld", (long long)now);
	f[8] = now_s;
	switch (pg_run(u, ST_INSERT, u->original ? 7 : 9, f, 0, &r)) {
	case PG_OK:
		if (u->original && libpq->PQntuples(r) == 0) {
			/* OG_INSERT's NOT EXISTS: a duplicate, any case */
			res = pg_which_dup(u, f, NULL);
			break;
		}
		errno = 0;
		if (libpq->PQntuples(r) == 1) {
			nu.id = strtoll(libpq->PQgetvalue(r, 0, 0), &end, 10);
			if (errno == 0 && *end == '\0' && nu.id > 0)
				res = USERS_OK;
			if (u->original)	/* the server's now() */
				now = (time_t)strtoll(
				    libpq->PQgetvalue(r, 0, 1), NULL, 10);
		}
		if (res != USERS_OK)
			log_errorx("users: create: no id returned");
		break;
	case PG_REFUSED:
		state = libpq->PQresultErrorField(r, PG_DIAG_SQLSTATE);
		if (state != NULL && strcmp(state, "23505") == 0)
			res = pg_which_dup(u, f, libpq->PQresultErrorField(r,
			    PG_DIAG_CONSTRAINT_NAME));
		else if (pg_state_busy(state)) {
			log_warnx("users: create: %s", pg_message(r));
			res = USERS_BUSY;
		} else
			log_errorx("users: create: %s", pg_message(r));
		break;
	case PG_DOWN:
		res = USERS_UNAVAILABLE;
		break;
	}
	libpq->PQclear(r);
	if (res != USERS_OK)
		return res;
	users_created(in, nu.id, nu.email, stamp, (long long)now, arena, out);
	if (u->original)
		og_stamp(nu.id, in->password_hash, arena, &out->session_stamp);
	return USERS_OK;
}

/*
 * Copies row 0 of PG_COLUMNS (and the hash) into out: 0 or -1.  On the
 * original's table the session_stamp column is the password, of which
 * the stamp is made.
 */
static int
pg_read_row(PGresult *r, struct arena *arena, int with_hash, int original,
    struct user *out)
{
	static const int	 cols[] = { COL_FIRST_NAME, COL_LAST_NAME,
	    COL_USERNAME, COL_EMAIL, COL_PHONE_NUMBER, COL_GENDER,
	    COL_SESSION_STAMP, COL_PASSWORD_HASH };
	const char		*s[8];
	size_t			 i, n;

	n = sizeof(cols) / sizeof(cols[0]) - (with_hash ? 0 : 1);
	if (libpq->PQnfields(r) <
	    (int)(COL_SESSION_STAMP + 1 + (with_hash ? 1 : 0)))
		return -1;
	for (i = 0; i < n; i++) {
		if (libpq->PQgetisnull(r, 0, cols[i]))
			return -1;
		s[i] = arena_strndup(arena, libpq->PQgetvalue(r, 0, cols[i]),
		    (size_t)libpq->PQgetlength(r, 0, cols[i]));
	}
	memset(out, 0, sizeof(*out));
	out->id = strtoll(libpq->PQgetvalue(r, 0, COL_ID), NULL, 10);
	out->first_name = s[0];
	out->last_name = s[1];
	out->username = s[2];
	out->email = s[3];
	out->phone_number = s[4];
	out->gender = s[5];
	out->session_stamp = s[6];
	out->password_hash = with_hash ? s[7] : NULL;
	out->created_at = (time_t)strtoll(
	    libpq->PQgetvalue(r, 0, COL_CREATED_AT), NULL, 10);
	out->updated_at = (time_t)strtoll(
	    libpq->PQgetvalue(r, 0, COL_UPDATED_AT), NULL, 10);
	if (original)
		og_stamp(out->id, s[6], arena, &out->session_stamp);
	return 0;
}

/* A lookup of at most one row: 1, 0, -1 (logged), USERS_FIND_UNAVAILABLE. */
static int
pg_find(struct users_pg *u, const char *stmt, const char *val,
    const char *what, struct arena *arena, int with_hash, struct user *out)
{
	const char	*vals[1];
	PGresult	*r;
	int		 ret = -1;

	vals[0] = val;
	switch (pg_run(u, stmt, 1, vals, 1, &r)) {
	case PG_OK:
		if (libpq->PQntuples(r) == 0)
			ret = 0;
		else if (pg_read_row(r, arena, with_hash, u->original,
		    out) == -1)
			log_errorx("users: %s: unreadable row", what);
		else
			ret = 1;
		break;
	case PG_REFUSED:
		log_errorx("users: %s: %s", what, pg_message(r));
		break;
	case PG_DOWN:
		ret = USERS_FIND_UNAVAILABLE;
		break;
	}
	libpq->PQclear(r);
	return ret;
}

/*
 * The user with that id: 1 and out filled (password_hash NULL), 0 when
 * there is none, -1 on a fault (logged), USERS_FIND_UNAVAILABLE while
 * PostgreSQL is down or hung.
 */
int
users_pg_find_by_id(struct users_pg *u, long long id, struct arena *arena,
    struct user *out)
{
	char	 s[PG_INT_MAX];

	if (!pg_mine(u))
		return -1;
	snprintf(s, sizeof(s), "%lld", id);
	return pg_find(u, ST_BY_ID, s, "find by id", arena, 0, out);
}

/* As users_pg_find_by_id, by email in any case, with password_hash. */
int
users_pg_find_by_email(struct users_pg *u, const char *email,
    struct arena *arena, struct user *out)
{
	char	 buf[USERS_FIELD_MAX + 1];
	size_t	 len;

	if (!pg_mine(u))
		return -1;
	if (email == NULL) {
		log_errorx("users: find by email: no email");
		return -1;
	}
	if ((len = strnlen(email, sizeof(buf))) == sizeof(buf))
		return 0;
	memcpy(buf, email, len + 1);
	pg_lower(buf);
	return pg_find(u, ST_BY_EMAIL, buf, "find by email", arena, 1, out);
}

/* As users_sqlite_set_password: 0, or -1 (logged). */
int
users_pg_set_password(struct users_pg *u, long long id, const char *hash)
{
	const char	*vals[2];
	char		 s[PG_INT_MAX];
	PGresult	*r;
	int		 ret = -1;

	if (!pg_mine(u))
		return -1;
	snprintf(s, sizeof(s), "%lld", id);
	vals[0] = s;
	vals[1] = hash;
	switch (pg_run(u, ST_SET_PASSWORD, 2, vals, 1, &r)) {
	case PG_OK:
		if (strcmp(libpq->PQcmdTuples(r), "1") == 0)
			ret = 0;
		else
			log_warnx("users: set password: no user %lld", id);
		break;
	case PG_REFUSED:
		log_warnx("users: set password: %s", pg_message(r));
		break;
	case PG_DOWN:
		log_warnx("users: set password: database unavailable");
		break;
	}
	libpq->PQclear(r);
	return ret;
}

/*
 * As users_sqlite_set_password_hash: io's hash is replaced only if the
 * row still holds it.  1 done (io's hash the arena copy, and on the
 * original's table the session stamp made anew: the caller's token
 * carries the new one), 0 changed or gone meanwhile, -1 on a fault or
 * while PostgreSQL is unavailable (logged).
 */
int
users_pg_set_password_hash(struct users_pg *u, struct user *io,
    const char *hash, struct arena *arena)
{
	const char	*vals[3];
	char		 s[PG_INT_MAX];
	PGresult	*r;
	int		 ret = -1;

	if (!pg_mine(u))
		return -1;
	if (io->password_hash == NULL || hash == NULL) {
		log_errorx("users: set password hash: no hash");
		return -1;
	}
	snprintf(s, sizeof(s), "%lld", io->id);
	vals[0] = s;
	vals[1] = io->password_hash;
	vals[2] = hash;
	switch (pg_run(u, ST_SET_PASSWORD_IF, 3, vals, 1, &r)) {
	case PG_OK:
		ret = strcmp(libpq->PQcmdTuples(r), "1") == 0;
		break;
	case PG_REFUSED:
		log_warnx("users: set password hash: %s", pg_message(r));
		break;
	case PG_DOWN:
		log_warnx("users: set password hash: database unavailable");
		break;
	}
	libpq->PQclear(r);
	if (ret != 1)
		return ret;
	io->password_hash = arena_strdup(arena, hash);
	if (u->original)
		og_stamp(io->id, hash, arena, &io->session_stamp);
	return 1;
}

/*
 * /health: reads the schema version (with users_table = original: that
 * the table is still there), connecting first when needed.  0 with "ok"
 * in msg, or -1 with the reason (not logged here).
 */
int
users_pg_ping(struct users_pg *u, char *msg, size_t msglen)
{
	PGresult	*r;
	int		 version, ret = -1;

	if (!pg_mine(u)) {
		snprintf(msg, msglen, "database handle used after fork");
		return -1;
	}
	switch (pg_run(u, ST_VERSION, 0, NULL, 1, &r)) {
	case PG_OK:
		if (u->original) {
			if (libpq->PQntuples(r) == 1 &&
			    strcmp(libpq->PQgetvalue(r, 0, 0), "t") == 0) {
				snprintf(msg, msglen, "ok");
				ret = 0;
			} else
				snprintf(msg, msglen, "table users missing");
			break;
		}
		if (libpq->PQntuples(r) != 1) {
			snprintf(msg, msglen, "schema version missing");
			break;
		}
		version = atoi(libpq->PQgetvalue(r, 0, 0));
		if (version == PG_VERSION) {
			snprintf(msg, msglen, "ok");
			ret = 0;
		} else
			snprintf(msg, msglen, "schema version %d, expected %d",
			    version, PG_VERSION);
		break;
	case PG_REFUSED:
		pg_seterr(msg, msglen, "", libpq->PQresultErrorMessage(r));
		break;
	case PG_DOWN:
		snprintf(msg, msglen, "PostgreSQL unavailable: %s",
		    u->error[0] != '\0' ? u->error : "no answer");
		break;
	}
	libpq->PQclear(r);
	return ret;
}

/*
 * Runs one of issue 15's statements with the id and n values: for a
 * SELECT its integer (0 without a row), for an UPDATE 0 when it touched
 * the row; -1 on a fault (logged), USERS_FIND_UNAVAILABLE when down.
 */
static int
pg_email_run(struct users_pg *u, const char *stmt, const char *what,
    long long id, int n, const char *const *vals)
{
	const char	*v[4];
	char		 s[PG_INT_MAX];
	PGresult	*r;
	int		 i, ret = -1;

	if (!pg_mine(u))
		return -1;
	snprintf(s, sizeof(s), "%lld", id);
	v[0] = s;
	for (i = 1; i < n && i < 4; i++)
		v[i] = vals[i - 1];
	switch (pg_run(u, stmt, n, v, 1, &r)) {
	case PG_OK:
		if (libpq->PQresultStatus(r) == PGRES_TUPLES_OK)
			ret = libpq->PQntuples(r) == 1 ?
			    atoi(libpq->PQgetvalue(r, 0, 0)) : 0;
		else if (strcmp(libpq->PQcmdTuples(r), "1") == 0)
			ret = 0;
		else
			log_warnx("users: %s: no user %lld", what, id);
		break;
	case PG_REFUSED:
		log_warnx("users: %s: %s", what, pg_message(r));
		break;
	case PG_DOWN:
		ret = USERS_FIND_UNAVAILABLE;
		break;
	}
	libpq->PQclear(r);
	return ret;
}

int
users_pg_email_verified(struct users_pg *u, long long id)
{
	return pg_email_run(u, "mockpie_verified", "email verified", id, 1,
	    NULL);
}

int
users_pg_set_email_verified(struct users_pg *u, long long id, time_t t)
{
	const char	*v[1];
	char		 s[PG_INT_MAX];

	snprintf(s, sizeof(s), "%lld", (long long)t);
	v[0] = s;
	return pg_email_run(u, "mockpie_set_verified", "set email verified",
	    id, 2, v);
}

int
users_pg_reset_password(struct users_pg *u, long long id, const char *hash,
    const char *stamp, time_t t)
{
	const char	*v[3];
	char		 s[PG_INT_MAX];

	snprintf(s, sizeof(s), "%lld", (long long)t);
	v[0] = hash;
	v[1] = stamp;
	v[2] = s;
	return pg_email_run(u, "mockpie_reset_password", "reset password",
	    id, 4, v);
}
