/*
 * mockpie-email-migrate [-n] database: rewrites the emails stored before
 * the canonical form to it (README, Email addresses), or with -n says
 * what it would do.  Exit 0 done, 1 conflicts to merge by hand (nothing
 * changed), 2 error.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "app/email_migrate.h"

static int
usage(void)
{
	fprintf(stderr, "usage: mockpie-email-migrate [-n] database\n");
	return 2;
}

int
main(int argc, char *argv[])
{
	struct email_migration	 m;
	char			 err[512];
	int			 ch, apply = 1, rc;

	while ((ch = getopt(argc, argv, "n")) != -1) {
		switch (ch) {
		case 'n':
			apply = 0;
			break;
		default:
			return usage();
		}
	}
	if (argc - optind != 1)
		return usage();
	rc = email_migrate(argv[optind], apply, stdout, &m, err, sizeof(err));
	if (rc == -1) {
		fprintf(stderr, "mockpie-email-migrate: %s\n", err);
		return 2;
	}
	printf("%ld rewritten%s, %ld already canonical, %ld without a "
	    "canonical form, %ld conflicts%s\n", m.changed,
	    apply && rc == 0 ? "" : " (not written)", m.unchanged, m.refused,
	    m.conflicts, rc == 1 ? ": merge them, then run again" : "");
	return rc;
}
