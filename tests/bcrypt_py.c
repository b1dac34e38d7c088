/*
 * Runs tests/bcrypt_hash.py with /usr/bin/python3 (where Debian's
 * python3-* packages land, never a python3 from PATH) and reads the hash
 * it prints.  No shell: the password goes as one argv entry.
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bcrypt_py.h"

#define PYTHON		"/usr/bin/python3"
#define SCRIPT		MOCKPIE_TESTDIR "/bcrypt_hash.py"

/*
 * The bcrypt hash of pw with cost rounds and prefix "2a" or "2b" into
 * out: 0, or -1 with the reason on stderr.
 */
int
bcrypt_py_hash(const char *pw, int cost, const char *prefix,
    char out[BCRYPT_PY_HASH_MAX])
{
	char	 costs[16], buf[BCRYPT_PY_HASH_MAX + 2];
	int	 fds[2], status;
	size_t	 n = 0;
	ssize_t	 r;
	pid_t	 pid;

	snprintf(costs, sizeof(costs), "%d", cost);
	if (pipe(fds) == -1)
		return -1;
	if ((pid = fork()) == -1) {
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		execl(PYTHON, PYTHON, SCRIPT, costs, prefix, pw, (char *)NULL);
		fprintf(stderr, "bcrypt_py: %s: %s\n", PYTHON,
		    strerror(errno));
		_exit(127);
	}
	close(fds[1]);
	while (n < sizeof(buf) - 1 && (r = read(fds[0], buf + n,
	    sizeof(buf) - 1 - n)) != 0) {
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			break;
		n += (size_t)r;
	}
	close(fds[0]);
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 ||
	    strlen(buf) != 60) {
		fprintf(stderr, "bcrypt_py: %s gave no hash (install "
		    "python3-bcrypt)\n", SCRIPT);
		return -1;
	}
	memcpy(out, buf, 61);
	return 0;
}
