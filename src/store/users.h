/*
 * User store interface (SPEC 2: register, login, /auth/me, /health).
 * Handlers see only this header; users.c forwards to SQLite
 * (users_sqlite.c) for a path or to PostgreSQL (users_pg.c, SPEC 5) for
 * a postgresql:// URL.  One handle per worker process, opened after
 * fork, never shared.
 */
#ifndef MOCKPIE_USERS_H
#define MOCKPIE_USERS_H

#include <stddef.h>
#include <time.h>

struct arena;

/* Longest string, in bytes, that the store accepts in any field. */
#define USERS_FIELD_MAX	1024
#define USERS_STAMP_BYTES	16	/* random bytes of a session stamp */

struct users;		/* opaque: one per worker process */

/* Where the users live, and the timeouts of reaching them (SPEC 5). */
struct users_settings {
	const char	*database;	/* a SQLite path, or postgresql:// */
	int		 busy_timeout_ms;	/* SQLite */
	int		 connect_timeout_ms;	/* PostgreSQL */
	int		 statement_timeout_ms;	/* PostgreSQL */
	int		 original;	/* users_table = original (SPEC 5) */
};

struct user {
	long long	 id;
	const char	*first_name;
	const char	*last_name;
	const char	*username;
	const char	*email;
	const char	*phone_number;
	const char	*gender;
	/*
	 * Random per row, carried by every token issued for it: a row that
	 * takes a reused id has another one, and changing it in the
	 * database logs the user out everywhere.  Never serialised.
	 */
	const char	*session_stamp;
	/* filled by users_find_by_email only, for login; never serialised */
	const char	*password_hash;
	time_t		 created_at;	/* UTC seconds */
	time_t		 updated_at;
};

enum users_result {
	USERS_OK = 0,
	USERS_DUP_EMAIL,	/* precedence: email, username, phone */
	USERS_DUP_USERNAME,
	USERS_DUP_PHONE,
	USERS_BUSY,		/* locked beyond the busy timeout */
	USERS_ERROR,		/* logged */
	USERS_UNAVAILABLE	/* PostgreSQL down, hung or backing off */
};

/* What the lookups return, besides 1, 0 and -1, for USERS_UNAVAILABLE. */
#define USERS_FIND_UNAVAILABLE	(-2)

/*
 * Opens the store: a SQLite path (created and migrated now, with that
 * busy timeout in ms) or a postgresql:// URL (connected and migrated at
 * the first call); NULL and err on error.
 */
struct users	*users_open(const char *, int, char *, size_t);
/* As users_open with every setting given. */
struct users	*users_open_settings(const struct users_settings *, char *,
		    size_t);
/*
 * --init-db: creates or migrates the schema now (with users_table =
 * original only checks the original's table); 0, or -1 (logged).
 */
int		 users_init_db(const struct users_settings *);
/* 1 when the database setting names PostgreSQL rather than a file. */
int		 users_is_postgresql(const char *);
/*
 * 0 when the database setting can be opened as far as can be told
 * without connecting: a file path, or a postgresql:// URL that libpq
 * (loaded now) parses; -1 and err otherwise, never with the password.
 */
int		 users_check_database(const char *, char *, size_t);
/* The database setting for logs: a URL without its password. */
void		 users_name(const char *, char *, size_t);
/* Finalizes and closes; takes NULL. */
void		 users_close(struct users *);
/* Inserts a user; fills id, times and arena copies in out on USERS_OK. */
enum users_result users_create(struct users *, const struct user *,
		    struct arena *, struct user *);
/*
 * 1 found (strings in the arena), 0 not found, -1 fault (logged),
 * USERS_FIND_UNAVAILABLE while PostgreSQL is down or hung.
 */
int		 users_find_by_id(struct users *, long long, struct arena *,
		    struct user *);
/* As users_find_by_id, any case of email; fills password_hash. */
int		 users_find_by_email(struct users *, const char *,
		    struct arena *, struct user *);
/* Replaces user id's password hash: 0, or -1 (logged). */
int		 users_set_password(struct users *, long long, const char *);
/*
 * Issue 15.  Whether user id's address was verified: 1 yes, 0 no (or no
 * such row), -1 fault (logged), USERS_FIND_UNAVAILABLE.
 */
int		 users_email_verified(struct users *, long long);
/* Marks it verified at that time unless it is: 0, -1, or UNAVAILABLE. */
int		 users_set_email_verified(struct users *, long long, time_t);
/*
 * A password reset: the new hash, and a new session stamp so that every
 * token of the user is refused from now on, Redis or not; updated_at
 * set to that time.  0, -1 (logged), or USERS_FIND_UNAVAILABLE.
 */
int		 users_reset_password(struct users *, long long, const char *,
		    time_t);
/*
 * A re-hash at login: replaces the hash in the user (as read by
 * users_find_by_email) if the row still holds it; 1 done (the user's
 * hash and session stamp updated), 0 changed meanwhile, -1 (logged).
 */
int		 users_set_password_hash(struct users *, struct user *,
		    const char *, struct arena *);
/* Liveness probe for /health: 0 ok, -1 with the reason in msg. */
int		 users_ping(struct users *, char *, size_t);
/* The schema version this build migrates to. */
int		 users_schema_version(void);

#endif
