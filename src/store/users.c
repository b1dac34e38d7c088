/*
 * The user store's front (users.h): picks the engine from the database
 * setting, a postgresql:// URL for PostgreSQL and anything else a SQLite
 * path, and forwards each call.  The engines own their connections.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <strings.h>

#include <sodium.h>

#include "lib/arena.h"
#include "lib/log.h"
#include "lib/self.h"
#include "store/users.h"
#include "store/users_impl.h"

#define USERS_NAME_MAX	1040	/* a database setting, for logs */
#define USERS_ERR_MAX	512

/* The defaults of the configuration keys (SPEC 5), for users_open. */
#define USERS_PG_CONNECT_MS	1000
#define USERS_PG_STATEMENT_MS	2000

struct users {
	struct users_sqlite	*sqlite;	/* exactly one of the two */
	struct users_pg		*pg;
};

/*
 * 1 when this process is owner, the one that opened a handle; else 0,
 * logged: an engine's handle inherited across fork is refused (PITFALLS:
 * SQLite locks, libpq's socket).
 */
int
users_owned(pid_t owner)
{
	if (owner == self_pid())
		return 1;
	log_errorx("users: handle of pid %ld used in pid %ld after fork",
	    (long)owner, (long)self_pid());
	return 0;
}

/* libpq's URI prefixes (SPEC 5: libpq's URI form). */
int
users_is_postgresql(const char *database)
{
	return database != NULL &&
	    (strncasecmp(database, "postgresql://", 13) == 0 ||
	    strncasecmp(database, "postgres://", 11) == 0);
}

int
users_check_database(const char *database, char *err, size_t errlen)
{
	if (!users_is_postgresql(database))
		return 0;
	return users_pg_check_url(database, err, errlen);
}

/* The database setting as logs may show it: a URL loses its password. */
void
users_name(const char *database, char *buf, size_t len)
{
	if (users_is_postgresql(database))
		users_pg_name(database, buf, len);
	else
		snprintf(buf, len, "%s", database != NULL ? database : "");
}

static struct users *
users_wrap(struct users_sqlite *sqlite, struct users_pg *pg)
{
	struct users	*u;

	if (sqlite == NULL && pg == NULL)
		return NULL;
	if ((u = calloc(1, sizeof(*u))) == NULL)
		log_fatal("calloc");	/* STYLE: the worker ends */
	u->sqlite = sqlite;
	u->pg = pg;
	return u;
}

static struct users *
users_open_with(const char *database, int busy_timeout_ms,
    int connect_timeout_ms, int statement_timeout_ms, int original,
    char *err, size_t errlen)
{
	if (users_is_postgresql(database))
		return users_wrap(NULL, users_pg_open(database,
		    connect_timeout_ms, statement_timeout_ms, original, err,
		    errlen));
	if (original) {		/* config.c refuses it first */
		snprintf(err, errlen, "users_table = original needs a "
		    "postgresql:// database");
		return NULL;
	}
	return users_wrap(users_sqlite_open(database, busy_timeout_ms, err,
	    errlen), NULL);
}

/*
 * Opens the store named by path: a SQLite file, created and migrated at
 * once, or a postgresql:// URL, connected lazily at the first call with
 * the default timeouts.  NULL with the reason in err (not logged).
 */
struct users *
users_open(const char *path, int busy_timeout_ms, char *err, size_t errlen)
{
	return users_open_with(path, busy_timeout_ms, USERS_PG_CONNECT_MS,
	    USERS_PG_STATEMENT_MS, 0, err, errlen);
}

/*
 * Opens the store the settings name, with their timeouts; call it in
 * each worker after fork.  NULL with the reason in err (not logged).
 */
struct users *
users_open_settings(const struct users_settings *set, char *err,
    size_t errlen)
{
	return users_open_with(set->database, set->busy_timeout_ms,
	    set->connect_timeout_ms, set->statement_timeout_ms, set->original,
	    err, errlen);
}

/*
 * mockpie-fcgi --init-db: creates mockpie's schema in an empty database,
 * or migrates an older one, now rather than at a worker's first request.
 * Idempotent.  With users_table = original nothing is created: the
 * original's table is checked (SPEC 5, no migration).  0, or -1 with the
 * reason logged.
 */
int
users_init_db(const struct users_settings *set)
{
	struct users	*u;
	char		 err[USERS_ERR_MAX], name[USERS_NAME_MAX];
	int		 rc = 0;

	users_name(set->database, name, sizeof(name));
	if ((u = users_open_settings(set, err, sizeof(err))) == NULL) {
		log_errorx("init-db: %s", err);
		return -1;
	}
	if (u->pg != NULL && users_pg_connect_now(u->pg, err,
	    sizeof(err)) == -1) {
		log_errorx("init-db: database %s: %s", name, err);
		rc = -1;
	} else if (set->original)
		log_info("init-db: database %s: table users has the original "
		    "MockPie backend's columns; nothing created or migrated "
		    "(users_table = original)", name);
	else
		log_info("init-db: database %s is at schema version %d", name,
		    users_schema_version());
	users_close(u);
	return rc;
}

/* Closes the engine's connection; takes NULL. */
void
users_close(struct users *u)
{
	if (u == NULL)
		return;
	users_sqlite_close(u->sqlite);
	users_pg_close(u->pg);
	free(u);
}

/* See users_sqlite_create; PostgreSQL adds USERS_UNAVAILABLE. */
enum users_result
users_create(struct users *u, const struct user *in, struct arena *arena,
    struct user *out)
{
	if (u->pg != NULL)
		return users_pg_create(u->pg, in, arena, out);
	return users_sqlite_create(u->sqlite, in, arena, out);
}

/* See users_sqlite_find_by_id; PostgreSQL adds USERS_FIND_UNAVAILABLE. */
int
users_find_by_id(struct users *u, long long id, struct arena *arena,
    struct user *out)
{
	if (u->pg != NULL)
		return users_pg_find_by_id(u->pg, id, arena, out);
	return users_sqlite_find_by_id(u->sqlite, id, arena, out);
}

/* See users_sqlite_find_by_email; likewise. */
int
users_find_by_email(struct users *u, const char *email, struct arena *arena,
    struct user *out)
{
	if (u->pg != NULL)
		return users_pg_find_by_email(u->pg, email, arena, out);
	return users_sqlite_find_by_email(u->sqlite, email, arena, out);
}

/* See users_sqlite_set_password. */
int
users_set_password(struct users *u, long long id, const char *hash)
{
	if (u->pg != NULL)
		return users_pg_set_password(u->pg, id, hash);
	return users_sqlite_set_password(u->sqlite, id, hash);
}

int
users_email_verified(struct users *u, long long id)
{
	if (u->pg != NULL)
		return users_pg_email_verified(u->pg, id);
	return users_sqlite_email_verified(u->sqlite, id);
}

int
users_set_email_verified(struct users *u, long long id, time_t t)
{
	if (u->pg != NULL)
		return users_pg_set_email_verified(u->pg, id, t);
	return users_sqlite_set_email_verified(u->sqlite, id, t);
}

int
users_reset_password(struct users *u, long long id, const char *hash,
    time_t t)
{
	char	 stamp[USERS_STAMP_LEN + 1];

	users_new_stamp(stamp);
	if (u->pg != NULL)
		return users_pg_reset_password(u->pg, id, hash, stamp, t);
	return users_sqlite_reset_password(u->sqlite, id, hash, stamp, t);
}

/*
 * See users_sqlite_set_password_hash; with users_table = original the
 * session stamp changes with the hash (users_pg.c).
 */
int
users_set_password_hash(struct users *u, struct user *io, const char *hash,
    struct arena *arena)
{
	if (u->pg != NULL)
		return users_pg_set_password_hash(u->pg, io, hash, arena);
	return users_sqlite_set_password_hash(u->sqlite, io, hash, arena);
}

/* /health: 0 with "ok" in msg, or -1 with the reason (not logged). */
int
users_ping(struct users *u, char *msg, size_t msglen)
{
	if (u == NULL) {
		snprintf(msg, msglen, "database not open");
		return -1;
	}
	if (u->pg != NULL)
		return users_pg_ping(u->pg, msg, msglen);
	return users_sqlite_ping(u->sqlite, msg, msglen);
}

/* A fresh session stamp: USERS_STAMP_BYTES random bytes in hex. */
void
users_new_stamp(char out[USERS_STAMP_LEN + 1])
{
	unsigned char	 raw[USERS_STAMP_BYTES];

	randombytes_buf(raw, sizeof(raw));
	sodium_bin2hex(out, USERS_STAMP_LEN + 1, raw, sizeof(raw));
}

/*
 * What an engine's create answers for the row it inserted from in: id,
 * the stored (lower-cased) email and stamp, times now, copies of the
 * strings in arena, no password hash.
 */
void
users_created(const struct user *in, long long id, const char *email,
    const char *stamp, long long now, struct arena *arena, struct user *out)
{
	memset(out, 0, sizeof(*out));
	out->id = id;
	out->email = email;
	out->first_name = arena_strdup(arena, in->first_name);
	out->last_name = arena_strdup(arena, in->last_name);
	out->username = arena_strdup(arena, in->username);
	out->phone_number = arena_strdup(arena, in->phone_number);
	out->gender = arena_strdup(arena, in->gender);
	out->session_stamp = arena_strdup(arena, stamp);
	out->password_hash = NULL;
	out->created_at = out->updated_at = (time_t)now;
}
