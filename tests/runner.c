/*
 * main() shared by every Check suite: each tests/check_*.c and it_*.c
 * defines suite().  SIGPIPE is ignored as in the workers (PITFALLS:
 * hiredis writes with write(2) and a stale socket would kill the test).
 */
#include <check.h>
#include <signal.h>
#include <stdlib.h>

#include "runner.h"

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	signal(SIGPIPE, SIG_IGN);
	sr = srunner_create(suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
