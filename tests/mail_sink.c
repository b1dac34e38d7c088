/*
 * The tests' SMTP sink from C (mail_sink.h).  Every wait is bounded.
 */
#include <sys/prctl.h>
#include <sys/wait.h>

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "mail_sink.h"
#include "redis_server.h"

#define MAIL_MAX	65536

/* Starts the sink in a directory of its own; fails the test if it won't. */
void
mail_sink_start(struct mail_sink *m)
{
	char		 port[16], script[1024], ready[512];
	const char	*src = getenv("MOCKPIE_SRCDIR");
	int		 i;

	memset(m, 0, sizeof(*m));
	ck_assert_int_eq(test_tmpdir(m->dir, sizeof(m->dir)), 0);
	m->port = test_free_port();
	snprintf(m->url, sizeof(m->url), "smtp://127.0.0.1:%d", m->port);
	snprintf(ready, sizeof(ready), "%s/ready", m->dir);
	snprintf(port, sizeof(port), "%d", m->port);
	snprintf(script, sizeof(script), "%s/tests/smtp_sink.py",
	    src != NULL ? src : ".");
	if ((m->pid = fork()) == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		execl("/usr/bin/python3", "python3", script, port, m->dir,
		    (char *)NULL);
		_exit(127);
	}
	ck_assert_int_gt(m->pid, 0);
	for (i = 0; i < 200 && access(ready, F_OK) == -1; i++)
		usleep(50000);
	ck_assert_msg(access(ready, F_OK) == 0, "the SMTP sink did not start");
}

void
mail_sink_stop(struct mail_sink *m)
{
	int	 status;

	if (m->pid > 0) {
		kill(m->pid, SIGKILL);
		waitpid(m->pid, &status, 0);
		m->pid = 0;
	}
	test_tmpdir_remove(m->dir);
}

/* Messages to email so far; the newest into last (NULL: not wanted). */
int
mail_sink_count(const struct mail_sink *m, const char *email, char *last,
    size_t lastlen)
{
	char		 path[512], rcpt[320], *buf;
	struct dirent	*d;
	DIR		*dir;
	FILE		*f;
	size_t		 n;
	int		 count = 0, best = -1, num;

	ck_assert_ptr_nonnull(buf = malloc(MAIL_MAX));
	snprintf(rcpt, sizeof(rcpt), "X-Rcpt: %s\r\n", email);
	ck_assert_ptr_nonnull(dir = opendir(m->dir));
	while ((d = readdir(dir)) != NULL) {
		if (strstr(d->d_name, ".eml") == NULL)
			continue;
		snprintf(path, sizeof(path), "%s/%s", m->dir, d->d_name);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		n = fread(buf, 1, MAIL_MAX - 1, f);
		fclose(f);
		buf[n] = '\0';
		if (strncmp(buf, rcpt, strlen(rcpt)) != 0)
			continue;
		count++;
		if ((num = atoi(d->d_name)) > best && last != NULL) {
			best = num;
			snprintf(last, lastlen, "%s", buf);
		}
	}
	closedir(dir);
	free(buf);
	return count;
}

/* Waits for the nth message to email; the six-digit code it carries. */
void
mail_sink_wait_code(const struct mail_sink *m, const char *email, int nth,
    char code[7])
{
	char	*mail, *p;
	int	 i;

	ck_assert_ptr_nonnull(mail = malloc(MAIL_MAX));
	for (i = 0; i < MAIL_SINK_WAIT_MS / 50 &&
	    mail_sink_count(m, email, mail, MAIL_MAX) < nth; i++)
		usleep(50000);
	ck_assert_msg(mail_sink_count(m, email, mail, MAIL_MAX) >= nth,
	    "mail %d to %s never came", nth, email);
	ck_assert_ptr_nonnull(p = strstr(mail, "code is: "));
	memcpy(code, p + 9, 6);
	code[6] = '\0';
	ck_assert_int_eq((int)strspn(code, "0123456789"), 6);
	free(mail);
}
