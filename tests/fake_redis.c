/*
 * A fake Redis for the states a real one cannot be held in (see
 * fake_redis.h).  One forked process, one poll loop over the listening
 * socket, each client and its link to the real server.  Commands are
 * counted by parsing RESP multibulk requests, the only form hiredis sends.
 */
#include <sys/socket.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fake_redis.h"
#include "redis_server.h"

#define FAKE_LINKS_MAX	64
#define FAKE_IN_MAX	(256 * 1024)	/* client bytes not yet parsed */
#define FAKE_IO_MAX	16384
#define FAKE_ERROR_MAX	256

struct fake_redis {
	pid_t	 pid;
	int	 port;
};

struct link {
	int				 cfd, ufd;	/* -1 when closed */
	const struct fake_conn_spec	*spec;
	char				*in;
	size_t				 inlen;
	int				 commands;
	int				 armed;	/* drop the next reply */
};

/* A socket connected to 127.0.0.1:port, or -1. */
static int
connect_loopback(int port)
{
	struct sockaddr_in	 sin;
	int			 fd;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Writes all of buf; 0, or -1. */
static int
write_all(int fd, const char *buf, size_t len)
{
	ssize_t	 n;

	while (len > 0) {
		if ((n = send(fd, buf, len, MSG_NOSIGNAL)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Reads a <c><digits>\r\n header at *i: 1 with *val, 0 when incomplete,
 * -1 when malformed.
 */
static int
read_header(const char *b, size_t n, size_t *i, char c, long *val)
{
	long	 v = 0;
	size_t	 j = *i;

	if (j >= n)
		return 0;
	if (b[j++] != c)
		return -1;
	for (; j < n && b[j] >= '0' && b[j] <= '9'; j++)
		if ((v = v * 10 + (b[j] - '0')) > FAKE_IN_MAX)
			return -1;
	if (j + 1 >= n)
		return 0;
	if (b[j] != '\r' || b[j + 1] != '\n')
		return -1;
	*i = j + 2;
	*val = v;
	return 1;
}

/*
 * The length of the first complete command in b (a multibulk request, or
 * an inline one ending in \n), 0 when incomplete, -1 when malformed.
 */
static long
command_len(const char *b, size_t n)
{
	const char	*nl;
	size_t		 i = 0;
	long		 count, k, blen;
	int		 rv;

	if (n == 0)
		return 0;
	if (b[0] != '*')
		return (nl = memchr(b, '\n', n)) == NULL ? 0 :
		    (long)(nl - b + 1);
	if ((rv = read_header(b, n, &i, '*', &count)) <= 0)
		return rv;
	for (k = 0; k < count; k++) {
		if ((rv = read_header(b, n, &i, '$', &blen)) <= 0)
			return rv;
		if (i + (size_t)blen + 2 > n)
			return 0;
		i += (size_t)blen + 2;
	}
	return (long)i;
}

static void
link_close(struct link *l)
{
	if (l->cfd != -1)
		close(l->cfd);
	if (l->ufd != -1)
		close(l->ufd);
	l->cfd = l->ufd = -1;
	l->inlen = 0;
}

/*
 * Counts the complete commands among the client's bytes so far and, for
 * FAKE_ERROR, answers each with errline.  0, or -1 to close the link.
 */
static int
link_commands(struct link *l, const char *errline)
{
	long	 n;

	while ((n = command_len(l->in, l->inlen)) > 0) {
		l->commands++;
		if ((l->spec->mode == FAKE_ERROR ||
		    l->spec->mode == FAKE_RAW) &&
		    write_all(l->cfd, errline, strlen(errline)) == -1)
			return -1;
		if (l->spec->drop_reply_to != NULL && memmem(l->in, (size_t)n,
		    l->spec->drop_reply_to, strlen(l->spec->drop_reply_to)) !=
		    NULL)
			l->armed = 1;
		memmove(l->in, l->in + n, l->inlen - (size_t)n);
		l->inlen -= (size_t)n;
	}
	return n < 0 ? -1 : 0;
}

/* Bytes from the client: counted, and passed on when proxying. */
static void
link_from_client(struct link *l, const char *errline)
{
	char	 buf[FAKE_IO_MAX];
	ssize_t	 n;

	if ((n = recv(l->cfd, buf, sizeof(buf), 0)) <= 0 ||
	    l->inlen + (size_t)n > FAKE_IN_MAX) {
		link_close(l);
		return;
	}
	memcpy(l->in + l->inlen, buf, (size_t)n);
	l->inlen += (size_t)n;
	if (l->spec->mode == FAKE_PROXY &&
	    write_all(l->ufd, buf, (size_t)n) == -1) {
		link_close(l);
		return;
	}
	if (link_commands(l, errline) == -1)
		link_close(l);
}

/* Bytes from the real server: passed back, or the link dropped. */
static void
link_from_upstream(struct link *l)
{
	char	 buf[FAKE_IO_MAX];
	ssize_t	 n;

	if ((n = recv(l->ufd, buf, sizeof(buf), 0)) <= 0 || l->armed ||
	    write_all(l->cfd, buf, (size_t)n) == -1)
		link_close(l);	/* an armed link loses the reply */
}

static void
serve(int lfd, int upstream, const struct fake_conn_spec *specs, int nspecs,
    const char *errline)
{
	static struct link	 links[FAKE_LINKS_MAX];
	struct pollfd		 pfd[1 + 2 * FAKE_LINKS_MAX];
	struct link		*owner[1 + 2 * FAKE_LINKS_MAX];
	int			 accepted = 0, i, n, fd;

	for (i = 0; i < FAKE_LINKS_MAX; i++) {
		links[i].cfd = links[i].ufd = -1;
		if ((links[i].in = malloc(FAKE_IN_MAX)) == NULL)
			_exit(1);
	}
	for (;;) {
		n = 0;
		pfd[n].fd = lfd;
		pfd[n++].events = POLLIN;
		for (i = 0; i < FAKE_LINKS_MAX; i++) {
			if (links[i].cfd == -1)
				continue;
			owner[n] = &links[i];
			pfd[n].fd = links[i].cfd;
			pfd[n++].events = POLLIN;
			if (links[i].ufd != -1) {
				owner[n] = &links[i];
				pfd[n].fd = links[i].ufd;
				pfd[n++].events = POLLIN;
			}
		}
		if (poll(pfd, (nfds_t)n, -1) == -1) {
			if (errno == EINTR)
				continue;
			_exit(1);
		}
		for (i = 1; i < n; i++) {
			if (pfd[i].revents == 0 || owner[i]->cfd == -1)
				continue;
			if (pfd[i].fd == owner[i]->cfd)
				link_from_client(owner[i], errline);
			else if (pfd[i].fd == owner[i]->ufd)
				link_from_upstream(owner[i]);
		}
		if (!(pfd[0].revents & POLLIN) ||
		    (fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) == -1)
			continue;
		for (i = 0; i < FAKE_LINKS_MAX && links[i].cfd != -1; i++)
			;
		if (i == FAKE_LINKS_MAX) {
			close(fd);
			continue;
		}
		links[i].cfd = fd;
		links[i].spec = &specs[accepted < nspecs ? accepted :
		    nspecs - 1];
		links[i].commands = links[i].armed = 0;
		links[i].inlen = 0;
		accepted++;
		if (links[i].spec->mode == FAKE_PROXY && (links[i].ufd =
		    connect_loopback(upstream)) == -1)
			link_close(&links[i]);
	}
}

/*
 * Starts the fake on a free port: connections are handled by specs[0],
 * specs[1], ... and the last one for all later connections; FAKE_PROXY
 * passes to the real server on upstream_port; FAKE_ERROR answers with
 * error (a Redis error without its "-" and CRLF, e.g. "LOADING Redis is
 * loading the dataset in memory"); FAKE_RAW, as the first spec, answers
 * with error sent as it is (a whole RESP reply).  NULL on failure.
 */
struct fake_redis *
fake_redis_start(int upstream_port, const struct fake_conn_spec *specs,
    int nspecs, const char *error)
{
	struct fake_redis	*f;
	char			 errline[FAKE_ERROR_MAX];
	sigset_t		 all, saved;
	int			 lfd, sig;

	if (nspecs < 1 || snprintf(errline, sizeof(errline),
	    specs[0].mode == FAKE_RAW ? "%s" : "-%s\r\n",
	    error != NULL ? error : "ERR fake") >= (int)sizeof(errline) ||
	    (f = calloc(1, sizeof(*f))) == NULL)
		return NULL;
	if ((f->port = test_bind_loopback(0, &lfd)) == -1 ||
	    listen(lfd, 64) == -1) {
		if (f->port != -1)
			close(lfd);
		free(f);
		return NULL;
	}
	/* no test handler may run in the child (see redis_server.c) */
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &saved);
	if ((f->pid = fork()) == 0) {
		for (sig = 1; sig < NSIG; sig++)
			if (sig != SIGKILL && sig != SIGSTOP)
				signal(sig, SIG_DFL);
		sigemptyset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
		serve(lfd, upstream_port, specs, nspecs, errline);
		_exit(0);
	}
	sigprocmask(SIG_SETMASK, &saved, NULL);
	close(lfd);
	if (f->pid == -1) {
		free(f);
		return NULL;
	}
	return f;
}

int
fake_redis_port(const struct fake_redis *f)
{
	return f->port;
}

void
fake_redis_url(const struct fake_redis *f, char *buf, size_t len)
{
	snprintf(buf, len, "redis://127.0.0.1:%d", f->port);
}

/* Kills the fake and waits for it; takes NULL. */
void
fake_redis_stop(struct fake_redis *f)
{
	if (f == NULL)
		return;
	kill(f->pid, SIGKILL);
	while (waitpid(f->pid, NULL, 0) == -1 && errno == EINTR)
		;
	free(f);
}
