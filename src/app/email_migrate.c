/*
 * The one-off rewrite of stored emails to their canonical form (README,
 * Email addresses): rows written before it hold an address lower-cased but
 * otherwise as typed, which a login, looking up the canonical form, does
 * not find.  All or nothing, in one write transaction.  The schema is
 * users_sqlite.c's: this reads and writes only users (id, email).
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "lib/arena.h"
#include "auth/email.h"
#include "app/email_migrate.h"

#define MIGRATE_BUSY_MS		5000
#define MIGRATE_ARENA		4096

#define SQL_ROWS	"SELECT id, email FROM users ORDER BY id"
#define SQL_UPDATE	"UPDATE users SET email = ?1 WHERE id = ?2"
#define SQL_OWNER	"SELECT id FROM users WHERE email = ?1 AND id <> ?2"

struct row {
	long long	 id;
	char		*email;
};

static int
seterr(char *err, size_t len, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return -1;
}

static int
exec(sqlite3 *db, const char *sql, char *err, size_t len)
{
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return seterr(err, len, "%s: %s", sql, sqlite3_errmsg(db));
	return 0;
}

static void
rows_free(struct row *rows, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		free(rows[i].email);
	free(rows);
}

/* Every (id, email) into *rows, malloc'd: 0, or -1 with err. */
static int
rows_read(sqlite3 *db, struct row **rows, size_t *n, char *err, size_t len)
{
	sqlite3_stmt	*st = NULL;
	struct row	*r = NULL, *grown;
	size_t		 cap = 0;
	const char	*email;
	int		 rc;

	*n = 0;
	if (sqlite3_prepare_v2(db, SQL_ROWS, -1, &st, NULL) != SQLITE_OK) {
		seterr(err, len, "users: %s", sqlite3_errmsg(db));
		goto fail;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap == 0 ? 64 : cap * 2;
			if ((grown = realloc(r, cap * sizeof(*r))) == NULL) {
				seterr(err, len, "out of memory");
				goto fail;
			}
			r = grown;
		}
		email = (const char *)sqlite3_column_text(st, 1);
		r[*n].id = sqlite3_column_int64(st, 0);
		if ((r[*n].email = strdup(email != NULL ? email : "")) ==
		    NULL) {
			seterr(err, len, "out of memory");
			goto fail;
		}
		(*n)++;
	}
	if (rc != SQLITE_DONE) {
		seterr(err, len, "users: %s", sqlite3_errmsg(db));
		goto fail;
	}
	sqlite3_finalize(st);
	*rows = r;
	return 0;
fail:
	sqlite3_finalize(st);		/* harmless on NULL */
	rows_free(r, *n);
	*n = 0;
	return -1;
}

/* The id of another row holding email, or 0. */
static long long
owner(sqlite3_stmt *st, const char *email, long long id)
{
	long long	 other = 0;

	sqlite3_reset(st);
	if (sqlite3_bind_text(st, 1, email, -1, SQLITE_STATIC) == SQLITE_OK &&
	    sqlite3_bind_int64(st, 2, id) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		other = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return other;
}

/*
 * One row: rewritten, counted, and reported on out.  0, or -1 with err
 * on a database fault.
 */
static int
row_migrate(sqlite3 *db, sqlite3_stmt *up, sqlite3_stmt *own,
    struct arena *a, const struct row *r, FILE *out,
    struct email_migration *m, char *err, size_t len)
{
	const char	*canon, *why;
	long long	 other;
	int		 rc;

	if ((canon = email_canonical(a, r->email, &why)) == NULL) {
		m->refused++;
		fprintf(out, "user %lld: %s: no canonical form (%s); left as "
		    "it is, its logins are refused\n", r->id, r->email, why);
		return 0;
	}
	if (strcmp(canon, r->email) == 0) {
		m->unchanged++;
		return 0;
	}
	sqlite3_reset(up);
	if (sqlite3_bind_text(up, 1, canon, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_int64(up, 2, r->id) != SQLITE_OK)
		return seterr(err, len, "bind: %s", sqlite3_errmsg(db));
	rc = sqlite3_step(up);
	sqlite3_reset(up);
	if (rc == SQLITE_DONE) {
		m->changed++;
		fprintf(out, "user %lld: %s -> %s\n", r->id, r->email, canon);
		return 0;
	}
	if ((rc & 0xff) != SQLITE_CONSTRAINT)
		return seterr(err, len, "user %lld: %s", r->id,
		    sqlite3_errmsg(db));
	m->conflicts++;
	other = owner(own, canon, r->id);
	fprintf(out, "user %lld: %s is %s, the address of user %lld: merge "
	    "the two by hand\n", r->id, r->email, canon, other);
	return 0;
}

/*
 * Rewrites every email of the SQLite store at path to its canonical form,
 * reporting each change, refusal and conflict on out; with apply 0, a dry
 * run that changes nothing.  Returns 0 when every row has its canonical
 * form or none (committed if apply); 1 when two rows have one canonical
 * form (nothing changed: merge them first); -1 with err on a fault
 * (nothing changed).  *m counts the rows.
 */
int
email_migrate(const char *path, int apply, FILE *out,
    struct email_migration *m, char *err, size_t errlen)
{
	sqlite3		*db = NULL;
	sqlite3_stmt	*up = NULL, *own = NULL;
	struct arena	*a = NULL;
	struct row	*rows = NULL;
	size_t		 n = 0, i;
	int		 rc = -1, began = 0;

	memset(m, 0, sizeof(*m));
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) !=
	    SQLITE_OK) {
		seterr(err, errlen, "%s: %s", path, db != NULL ?
		    sqlite3_errmsg(db) : "cannot open");
		goto done;
	}
	sqlite3_busy_timeout(db, MIGRATE_BUSY_MS);
	/* the workers may be serving: take the write lock first */
	if (exec(db, "BEGIN IMMEDIATE", err, errlen) == -1)
		goto done;
	began = 1;
	if (rows_read(db, &rows, &n, err, errlen) == -1)
		goto done;
	if (sqlite3_prepare_v2(db, SQL_UPDATE, -1, &up, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, SQL_OWNER, -1, &own, NULL) != SQLITE_OK) {
		seterr(err, errlen, "users: %s", sqlite3_errmsg(db));
		goto done;
	}
	a = arena_new(MIGRATE_ARENA);
	for (i = 0; i < n; i++) {
		if (row_migrate(db, up, own, a, &rows[i], out, m, err,
		    errlen) == -1)
			goto done;
		arena_reset(a);
	}
	if (m->conflicts > 0) {
		rc = 1;
		goto done;
	}
	if (apply) {
		if (exec(db, "COMMIT", err, errlen) == -1)
			goto done;
		began = 0;
	}
	rc = 0;
done:
	if (began)
		(void)sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_finalize(up);
	sqlite3_finalize(own);
	arena_free(a);
	rows_free(rows, n);
	sqlite3_close(db);
	return rc;
}
