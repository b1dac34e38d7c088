/*
 * Rewrites the emails of an existing SQLite user store to their canonical
 * form (email.h), for rows stored before it: a one-off operator step.
 */
#ifndef MOCKPIE_EMAIL_MIGRATE_H
#define MOCKPIE_EMAIL_MIGRATE_H

#include <stdio.h>

struct email_migration {
	long	 changed;	/* rewritten (or would be, on a dry run) */
	long	 unchanged;	/* already canonical */
	long	 refused;	/* no canonical form: left as they are */
	long	 conflicts;	/* one canonical form for two rows */
};

int	 email_migrate(const char *, int, FILE *, struct email_migration *,
	    char *, size_t);

#endif
