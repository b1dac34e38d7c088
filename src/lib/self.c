/*
 * glibc no longer caches getpid(), and on the request path every fork
 * check paid a system call for it (three per /auth/me).  The pid is kept
 * here instead and forgotten in the child of every fork() through
 * pthread_atfork, so a child never sees its parent's.
 */
#include <pthread.h>
#include <unistd.h>

#include "lib/self.h"

static pid_t	 cached;

static void
forget(void)
{
	cached = 0;
}

pid_t
self_pid(void)
{
	static int	 registered;

	if (cached == 0) {
		if (!registered && pthread_atfork(NULL, NULL, forget) == 0)
			registered = 1;
		if (!registered)	/* cannot hear of forks: ask each time */
			return getpid();
		cached = getpid();
	}
	return cached;
}
