/*
 * The tests' FastCGI client (FastCGI 1.0 specification): records built in
 * a caller's buffer, written whole or in parts, and answers read record by
 * record under a deadline.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <fastcgi.h>

#include "fcgi_client.h"

#define HEADER		8

static long long
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A connected stream socket to the unix socket at path, or -1. */
int
fcgi_connect(const char *path)
{
	struct sockaddr_un	 sun;
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path))
		return -1;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Writes all of buf: 0, or -1. */
int
fcgi_write(int fd, const void *buf, size_t len)
{
	const char	*p = buf;
	ssize_t		 n;

	while (len > 0) {
		if ((n = send(fd, p, len, MSG_NOSIGNAL)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Puts one record (padded to 8 bytes) at out of size bytes: its length,
 * or 0 when it does not fit.
 */
size_t
fcgi_record(unsigned char *out, size_t size, int type, int id,
    const void *content, size_t clen)
{
	size_t	 pad = (8 - clen % 8) % 8;

	if (clen > 65535 || size < HEADER + clen + pad)
		return 0;
	out[0] = FCGI_VERSION_1;
	out[1] = (unsigned char)type;
	out[2] = (unsigned char)(id >> 8);
	out[3] = (unsigned char)id;
	out[4] = (unsigned char)(clen >> 8);
	out[5] = (unsigned char)clen;
	out[6] = (unsigned char)pad;
	out[7] = 0;
	if (clen > 0)
		memcpy(out + HEADER, content, clen);
	memset(out + HEADER + clen, 0, pad);
	return HEADER + clen + pad;
}

/* Appends one name-value pair of "NAME=VALUE" (short lengths): 0, or -1. */
static int
nv_add(unsigned char *p, size_t size, size_t *len, const char *kv)
{
	const char	*eq = strchr(kv, '=');
	size_t		 nl, vl;

	if (eq == NULL)
		return -1;
	nl = (size_t)(eq - kv);
	vl = strlen(eq + 1);
	if (nl > 127 || vl > 127 || size - *len < 2 + nl + vl)
		return -1;
	p[(*len)++] = (unsigned char)nl;
	p[(*len)++] = (unsigned char)vl;
	memcpy(p + *len, kv, nl);
	*len += nl;
	memcpy(p + *len, eq + 1, vl);
	*len += vl;
	return 0;
}

/*
 * A whole responder request at out: begin-request (FCGI_KEEP_CONN when
 * keep), params ("NAME=VALUE", NULL-terminated), the empty params record,
 * the body as stdin, and the empty stdin record when stdin_end.  Its
 * length, or 0 when it does not fit.
 */
size_t
fcgi_request(unsigned char *out, size_t size, int id, int keep,
    const char *const *params, const char *body, size_t body_len,
    int stdin_end)
{
	unsigned char	 begin[8] = { 0, FCGI_RESPONDER, 0, 0, 0, 0, 0, 0 };
	unsigned char	 nv[4096];
	size_t		 len = 0, nvlen = 0, n, chunk;

	begin[2] = keep ? FCGI_KEEP_CONN : 0;
	for (; params != NULL && *params != NULL; params++)
		if (nv_add(nv, sizeof(nv), &nvlen, *params) == -1)
			return 0;
	if ((n = fcgi_record(out, size, FCGI_BEGIN_REQUEST, id, begin, 8))
	    == 0)
		return 0;
	len += n;
	if (nvlen > 0) {
		if ((n = fcgi_record(out + len, size - len, FCGI_PARAMS, id, nv,
		    nvlen)) == 0)
			return 0;
		len += n;
	}
	if ((n = fcgi_record(out + len, size - len, FCGI_PARAMS, id, NULL, 0))
	    == 0)
		return 0;
	len += n;
	while (body_len > 0) {
		chunk = body_len > 32768 ? 32768 : body_len;
		if ((n = fcgi_record(out + len, size - len, FCGI_STDIN, id,
		    body, chunk)) == 0)
			return 0;
		len += n;
		body += chunk;
		body_len -= chunk;
	}
	if (stdin_end) {
		if ((n = fcgi_record(out + len, size - len, FCGI_STDIN, id,
		    NULL, 0)) == 0)
			return 0;
		len += n;
	}
	return len;
}

/* Reads exactly len bytes before the deadline: 0, or -1. */
static int
read_full(int fd, unsigned char *buf, size_t len, long long deadline)
{
	struct pollfd	 p;
	long long	 left;
	ssize_t		 n;

	while (len > 0) {
		if ((left = deadline - now_ms()) <= 0)
			return -1;
		p.fd = fd;
		p.events = POLLIN;
		if (poll(&p, 1, (int)left) <= 0)
			continue;
		if ((n = recv(fd, buf, len, 0)) <= 0) {
			if (n == -1 && errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Reads one record within timeout_ms: its type, request id and content
 * (at most size bytes kept, the rest dropped) in *len.  0, or -1 on a
 * timeout, an end of the connection or a malformed header.
 */
int
fcgi_read_record(int fd, int timeout_ms, int *type, int *id,
    unsigned char *content, size_t size, size_t *len)
{
	unsigned char	 h[HEADER], trash[512];
	long long	 deadline = now_ms() + timeout_ms;
	size_t		 clen, pad, keep, rest, n;

	if (read_full(fd, h, HEADER, deadline) == -1 || h[0] != FCGI_VERSION_1)
		return -1;
	*type = h[1];
	*id = (h[2] << 8) | h[3];
	clen = ((size_t)h[4] << 8) | h[5];
	pad = h[6];
	keep = clen < size ? clen : size;
	if (read_full(fd, content, keep, deadline) == -1)
		return -1;
	for (rest = clen - keep + pad; rest > 0; rest -= n) {
		n = rest < sizeof(trash) ? rest : sizeof(trash);
		if (read_full(fd, trash, n, deadline) == -1)
			return -1;
	}
	*len = keep;
	return 0;
}

/*
 * Reads records until request id's FCGI_END_REQUEST, within timeout_ms,
 * gathering its stdout into r.  0, or -1.
 */
int
fcgi_read_reply(int fd, int id, int timeout_ms, struct fcgi_reply *r)
{
	unsigned char	 buf[65536];
	long long	 deadline = now_ms() + timeout_ms;
	const char	*s, *end;
	size_t		 len, room;
	int		 type, rid, left;

	memset(r, 0, sizeof(*r));
	for (;;) {
		if ((left = (int)(deadline - now_ms())) <= 0 ||
		    fcgi_read_record(fd, left, &type, &rid, buf, sizeof(buf),
		    &len) == -1)
			return -1;
		if (rid != id)
			continue;
		if (type == FCGI_STDOUT) {
			room = FCGI_CLIENT_OUT_MAX - r->out_len;
			if (len > room)
				len = room;
			memcpy(r->out + r->out_len, buf, len);
			r->out_len += len;
		} else if (type == FCGI_END_REQUEST && len >= 8) {
			r->app_status = (buf[0] << 24) | (buf[1] << 16) |
			    (buf[2] << 8) | buf[3];
			break;
		}
	}
	r->out[r->out_len] = '\0';
	r->status = 200;
	if ((s = strstr(r->out, "Status: ")) != NULL)
		r->status = atoi(s + 8);
	end = strstr(r->out, "\r\n\r\n");
	r->body = end != NULL ? end + 4 : r->out + r->out_len;
	return 0;
}

/*
 * 1 when the peer closes the connection within timeout_ms (whatever it
 * sends before), else 0.
 */
int
fcgi_closed(int fd, int timeout_ms)
{
	unsigned char	 buf[4096];
	struct pollfd	 p;
	long long	 deadline = now_ms() + timeout_ms, left;
	ssize_t		 n;

	while ((left = deadline - now_ms()) > 0) {
		p.fd = fd;
		p.events = POLLIN;
		if (poll(&p, 1, (int)left) <= 0)
			continue;
		if ((n = recv(fd, buf, sizeof(buf), 0)) == 0)
			return 1;
		if (n == -1 && errno != EINTR)
			return errno == ECONNRESET;
	}
	return 0;
}
