/*
 * The user store's engines, behind users.h: users.c picks one by the
 * database setting (a path is SQLite, a postgresql:// URL PostgreSQL)
 * and forwards every call.  Only users.c and the engines include this.
 */
#ifndef MOCKPIE_USERS_IMPL_H
#define MOCKPIE_USERS_IMPL_H

#include <sys/types.h>

#include <stddef.h>
#include <time.h>

#include "store/users.h"

struct arena;
struct user;

struct users_sqlite;
struct users_pg;

#define USERS_STAMP_LEN	(USERS_STAMP_BYTES * 2)	/* in hex */

/* shared by the engines (users.c) */
void		 users_new_stamp(char [USERS_STAMP_LEN + 1]);
void		 users_created(const struct user *, long long, const char *,
		    const char *, long long, struct arena *, struct user *);

struct users_sqlite *users_sqlite_open(const char *, int, char *, size_t);
void		 users_sqlite_close(struct users_sqlite *);
enum users_result users_sqlite_create(struct users_sqlite *,
		    const struct user *, struct arena *, struct user *);
int		 users_sqlite_find_by_id(struct users_sqlite *, long long,
		    struct arena *, struct user *);
int		 users_sqlite_find_by_email(struct users_sqlite *, const char *,
		    struct arena *, struct user *);
int		 users_sqlite_set_password(struct users_sqlite *, long long,
		    const char *);
int		 users_sqlite_set_password_hash(struct users_sqlite *,
		    struct user *, const char *, struct arena *);
int		 users_sqlite_ping(struct users_sqlite *, char *, size_t);
int		 users_sqlite_email_verified(struct users_sqlite *, long long);
int		 users_sqlite_set_email_verified(struct users_sqlite *,
		    long long, time_t);
int		 users_sqlite_reset_password(struct users_sqlite *, long long,
		    const char *, const char *, time_t);

int		 users_pg_check_url(const char *, char *, size_t);
struct users_pg	*users_pg_open(const char *, int, int, int, char *, size_t);
int		 users_pg_connect_now(struct users_pg *, char *, size_t);
void		 users_pg_close(struct users_pg *);
enum users_result users_pg_create(struct users_pg *, const struct user *,
		    struct arena *, struct user *);
int		 users_pg_find_by_id(struct users_pg *, long long,
		    struct arena *, struct user *);
int		 users_pg_find_by_email(struct users_pg *, const char *,
		    struct arena *, struct user *);
int		 users_pg_set_password(struct users_pg *, long long,
		    const char *);
int		 users_pg_set_password_hash(struct users_pg *, struct user *,
		    const char *, struct arena *);
int		 users_pg_ping(struct users_pg *, char *, size_t);
int		 users_pg_email_verified(struct users_pg *, long long);
int		 users_pg_set_email_verified(struct users_pg *, long long,
		    time_t);
int		 users_pg_reset_password(struct users_pg *, long long,
		    const char *, const char *, time_t);
void		 users_pg_name(const char *, char *, size_t);

/* The PITFALLS rule, for both engines: 1 in the process that opened. */
int		 users_owned(pid_t);

#endif
