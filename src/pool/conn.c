/*
 * Peeking at a FastCGI connection's receive queue (the FastCGI 1.0
 * specification's records) to tell an idle connection from one holding a
 * whole request, so that a worker never blocks inside libfcgi on a peer
 * that sent nothing or stopped mid-record (issue 8).  Management records
 * at the head of the queue are consumed and answered here; everything of
 * a request is left in the queue for libfcgi.
 */
#include <sys/types.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <fastcgi.h>

#include "pool/conn.h"
#include "pool/pool.h"

#define CONN_HEADER		8
#define CONN_VALUES_MAX		256	/* our FCGI_GET_VALUES_RESULT */
#define CONN_DRAIN_MAX		(256 * 1024)
#define CONN_ADDRS_MAX		64	/* FCGI_WEB_SERVER_ADDRS entries */

struct record {
	int		 type;
	int		 id;
	size_t		 clen;
	size_t		 end;		/* offset just past its padding */
};

/*
 * How many bytes of a connection's queue a scan looks at: a request whose
 * params and body (at most body_limit) fit is seen whole, record headers
 * and padding included; a bigger body is left for the handler to refuse
 * from its CONTENT_LENGTH.
 */
size_t
conn_window(size_t body_limit)
{
	size_t	 records = body_limit / 65535 + 2;

	return body_limit + CONN_PARAMS_MAX + records * (CONN_HEADER + 255) +
	    CONN_RECORD_MAX;
}

/* Reads the header at buf[off] (CONN_HEADER bytes there): 0, or -1. */
static int
record_header(const unsigned char *buf, size_t off, struct record *r)
{
	const unsigned char	*h = buf + off;

	if (h[0] != FCGI_VERSION_1)
		return -1;
	r->type = h[1];
	r->id = (h[2] << 8) | h[3];
	r->clen = ((size_t)h[4] << 8) | h[5];
	r->end = off + CONN_HEADER + r->clen + h[6];
	return 0;
}

/* A name or value length of a name-value pair (FastCGI 3.4): 0, or -1. */
static int
nv_length(const unsigned char *p, size_t len, size_t *at, size_t *out)
{
	if (*at >= len)
		return -1;
	if ((p[*at] & 0x80) == 0) {
		*out = p[(*at)++];
		return 0;
	}
	if (len - *at < 4)
		return -1;
	*out = ((size_t)(p[*at] & 0x7f) << 24) | ((size_t)p[*at + 1] << 16) |
	    ((size_t)p[*at + 2] << 8) | p[*at + 3];
	*at += 4;
	return 0;
}

/* Appends "name=value" as a name-value pair to out: 0, or -1 when full. */
static int
nv_put(unsigned char *out, size_t size, size_t *len, const char *name,
    const char *value)
{
	size_t	 nl = strlen(name), vl = strlen(value);

	if (nl > 127 || vl > 127 || size - *len < 2 + nl + vl)
		return -1;
	out[(*len)++] = (unsigned char)nl;
	out[(*len)++] = (unsigned char)vl;
	memcpy(out + *len, name, nl);
	*len += nl;
	memcpy(out + *len, value, vl);
	*len += vl;
	return 0;
}

static void
header_put(unsigned char *h, int type, size_t clen, size_t plen)
{
	h[0] = FCGI_VERSION_1;
	h[1] = (unsigned char)type;
	h[2] = h[3] = 0;		/* the null request id */
	h[4] = (unsigned char)(clen >> 8);
	h[5] = (unsigned char)clen;
	h[6] = (unsigned char)plen;
	h[7] = 0;
}

/*
 * Answers the management record r (content at c): FCGI_GET_VALUES with the
 * variables we know, any other type with FCGI_UNKNOWN_TYPE (FastCGI 4).
 * 0, or -1 when the record is malformed or the answer cannot be sent
 * without blocking.
 */
static int
manage(int fd, const struct record *r, const unsigned char *c,
    const struct conn_values *v)
{
	unsigned char	 out[CONN_HEADER + CONN_VALUES_MAX];
	char		 num[24], name[32];
	size_t		 at = 0, nl, vl, len = 0, pad;
	const char	*value;

	if (r->type != FCGI_GET_VALUES) {
		header_put(out, FCGI_UNKNOWN_TYPE, 8, 0);
		memset(out + CONN_HEADER, 0, 8);
		out[CONN_HEADER] = (unsigned char)r->type;
		len = 8;
		goto send;
	}
	while (at < r->clen) {
		if (nv_length(c, r->clen, &at, &nl) == -1 ||
		    nv_length(c, r->clen, &at, &vl) == -1 ||
		    nl > r->clen - at || vl > r->clen - at - nl)
			return -1;
		value = NULL;
		if (nl < sizeof(name)) {
			memcpy(name, c + at, nl);
			name[nl] = '\0';
			if (strcmp(name, FCGI_MAX_CONNS) == 0) {
				snprintf(num, sizeof(num), "%ld", v->max_conns);
				value = num;
			} else if (strcmp(name, FCGI_MAX_REQS) == 0) {
				snprintf(num, sizeof(num), "%ld", v->max_reqs);
				value = num;
			} else if (strcmp(name, FCGI_MPXS_CONNS) == 0)
				value = "0";
		}
		/* unknown names are left out of the answer (FastCGI 4.1) */
		if (value != NULL && nv_put(out + CONN_HEADER, CONN_VALUES_MAX,
		    &len, name, value) == -1)
			return -1;
		at += nl + vl;
	}
	pad = (8 - len % 8) % 8;
	if (len + pad > CONN_VALUES_MAX)
		return -1;
	memset(out + CONN_HEADER + len, 0, pad);
	header_put(out, FCGI_GET_VALUES_RESULT, len, pad);
	len += pad;
send:
	if (send(fd, out, CONN_HEADER + len, MSG_DONTWAIT | MSG_NOSIGNAL) !=
	    (ssize_t)(CONN_HEADER + len))
		return -1;
	return 0;
}

/* Bytes queued on fd, or -1 when the peer is gone or fd failed. */
static ssize_t
queued(int fd)
{
	int	 n;
	char	 c;
	ssize_t	 got;

	if (ioctl(fd, FIONREAD, &n) == -1)
		return -1;
	if (n > 0)
		return n;
	got = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
	if (got == 1)
		return 1;
	if (got == -1 && (errno == EAGAIN || errno == EWOULDBLOCK ||
	    errno == EINTR))
		return 0;
	return -1;			/* EOF or an error */
}

/*
 * Looks at what fd's receive queue holds, through buf of size bytes
 * (conn_window(body_limit)), answering and consuming management records
 * at its head, and says whether a whole request is there: begin-request,
 * every params record up to the empty one, and stdin up to its empty
 * record (sc->stdin_whole), or at least more than body_limit bytes of it
 * (the handler answers 413 having read no more than that) or up to the
 * end of the window.  A request that does not fit its params in the
 * window, or any record libfcgi would refuse, is CONN_CLOSE.  Between
 * scans, sc->need saves rescanning until more has arrived.
 */
enum conn_state
conn_scan(int fd, char *buf, size_t size, size_t body_limit,
    const struct conn_values *v, struct conn_scan *sc)
{
	const unsigned char	*b = (const unsigned char *)buf;
	struct record		 r;
	ssize_t			 avail, got;
	size_t			 len, off, need, body = 0;
	int			 id = 0, params_done = 0;

again:
	sc->stdin_whole = 0;
	/* half a request seen: count what is queued before peeking again */
	if (sc->need > 0) {
		if ((avail = queued(fd)) == -1)
			return CONN_CLOSE;
		if (avail == 0) {
			sc->need = 0;
			return CONN_EMPTY;
		}
		if ((size_t)avail < sc->need)
			return CONN_PARTIAL;
	}
	got = recv(fd, buf, size, MSG_PEEK | MSG_DONTWAIT);
	if (got == -1 && (errno == EAGAIN || errno == EWOULDBLOCK ||
	    errno == EINTR)) {
		sc->need = 0;
		return CONN_EMPTY;
	}
	if (got <= 0)
		return CONN_CLOSE;	/* EOF or an error */
	len = (size_t)got;
	for (off = 0;; off = r.end) {
		if (len - off < CONN_HEADER || (record_header(b, off, &r) ==
		    0 && r.end > len)) {
			/* stdin over the limit: enough for a 413 */
			if (params_done && len - off > CONN_HEADER &&
			    r.type == FCGI_STDIN && r.id == id &&
			    body + (len - off - CONN_HEADER) > body_limit)
				break;
			need = len - off < CONN_HEADER ? off + CONN_HEADER :
			    r.end;
			if (need <= size) {
				sc->need = need;
				return CONN_PARTIAL;
			}
			/* the window is full: a body for the handler to
			   refuse, or params too big to take */
			if (!params_done)
				return CONN_CLOSE;
			break;
		}
		if (b[off] != FCGI_VERSION_1)
			return CONN_CLOSE;
		if (id == 0 && r.id == FCGI_NULL_REQUEST_ID) {
			/* a management record before any request */
			if (manage(fd, &r, b + off + CONN_HEADER, v) == -1 ||
			    recv(fd, buf, r.end, MSG_DONTWAIT) !=
			    (ssize_t)r.end)
				return CONN_CLOSE;
			sc->need = 0;
			goto again;
		}
		if (id == 0) {
			/* libfcgi's roles; anything else it would close */
			if (r.type != FCGI_BEGIN_REQUEST || r.clen != 8 ||
			    b[off + CONN_HEADER] != 0 ||
			    b[off + CONN_HEADER + 1] < FCGI_RESPONDER ||
			    b[off + CONN_HEADER + 1] > FCGI_FILTER)
				return CONN_CLOSE;
			id = r.id;
			continue;
		}
		if (r.id != id)
			continue;	/* libfcgi answers or skips it */
		if (r.type == FCGI_PARAMS && !params_done) {
			if (r.clen == 0)
				params_done = 1;
			else if (r.end > CONN_PARAMS_MAX)
				return CONN_CLOSE;
		} else if (r.type == FCGI_STDIN && params_done) {
			if (r.clen == 0) {
				sc->stdin_whole = 1;
				break;
			}
			if ((body += r.clen) > body_limit)
				break;
		} else if (r.type != FCGI_DATA)
			return CONN_CLOSE;	/* libfcgi: protocol error */
	}
	sc->need = 0;
	return CONN_REQUEST;
}

/*
 * Closes a connection the peer may still be writing to: the write side
 * first, then whatever has arrived is read and dropped (bounded, never
 * waiting), so the peer sees an orderly end rather than a reset that
 * could discard an answer it has not read yet.
 */
void
conn_close(int fd)
{
	char	 trash[4096];
	size_t	 total = 0;
	ssize_t	 n;

	if (fd < 0)
		return;
	(void)shutdown(fd, SHUT_WR);
	while (total < CONN_DRAIN_MAX &&
	    (n = recv(fd, trash, sizeof(trash), MSG_DONTWAIT)) > 0)
		total += (size_t)n;
	close(fd);
}

/*
 * The next entry of a comma-separated address list into one (blanks
 * around it trimmed): 1 with *p moved past it, 0 at the list's end, -1
 * for an entry too long to be an address (*p moved past it too).
 */
static int
addrs_next(const char **p, char *one, size_t len)
{
	const char	*s = *p, *comma;
	size_t		 n;

	if (*s == '\0')
		return 0;
	comma = strchr(s, ',');
	n = comma != NULL ? (size_t)(comma - s) : strlen(s);
	*p = comma != NULL ? comma + 1 : s + n;
	while (n > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		n--;
	}
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (n >= len)
		return -1;
	memcpy(one, s, n);
	one[n] = '\0';
	return 1;
}

/*
 * 1 when a peer at sa may connect: always over a unix socket, else when
 * list (fcgi_allowed_addrs or FCGI_WEB_SERVER_ADDRS: comma-separated
 * addresses, as libfcgi's OS_Accept reads them) is NULL or empty or names
 * its address.  IPv4 addresses also match their IPv4-mapped IPv6 form.
 */
int
conn_addr_allowed(const struct sockaddr *sa, const char *list)
{
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;
	struct in_addr			 a4;
	struct in6_addr			 a6;
	const char			*p;
	char				 one[INET6_ADDRSTRLEN + 1];
	int				 count, rc;

	if (sa->sa_family != AF_INET && sa->sa_family != AF_INET6)
		return 1;
	if (list == NULL || *list == '\0')
		return 1;
	p = list;
	for (count = 0; count < CONN_ADDRS_MAX; count++) {
		if ((rc = addrs_next(&p, one, sizeof(one))) == 0)
			break;
		if (rc == -1)
			continue;
		if (sa->sa_family == AF_INET) {
			sin = (const struct sockaddr_in *)sa;
			if (inet_pton(AF_INET, one, &a4) == 1 &&
			    a4.s_addr == sin->sin_addr.s_addr)
				return 1;
		} else {
			sin6 = (const struct sockaddr_in6 *)sa;
			if (inet_pton(AF_INET6, one, &a6) == 1 &&
			    memcmp(&a6, &sin6->sin6_addr, sizeof(a6)) == 0)
				return 1;
			if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr) &&
			    inet_pton(AF_INET, one, &a4) == 1 &&
			    memcmp(&a4, &sin6->sin6_addr.s6_addr[12], 4) == 0)
				return 1;
		}
	}
	return 0;
}

/*
 * 0 when list is empty or names only numeric IPv4 and IPv6 addresses, at
 * most CONN_ADDRS_MAX of them; else -1 and why in err (the entry quoted:
 * an address is no secret).  A host name would never match a peer.
 */
int
pool_peers_check(const char *list, char *err, size_t errlen)
{
	struct in6_addr	 a6;
	const char	*p = list;
	char		 one[INET6_ADDRSTRLEN + 1];
	int		 count, rc;

	for (count = 0; (rc = addrs_next(&p, one, sizeof(one))) != 0;
	    count++) {
		if (count == CONN_ADDRS_MAX) {
			snprintf(err, errlen, "more than %d addresses",
			    CONN_ADDRS_MAX);
			return -1;
		}
		if (rc == -1) {
			snprintf(err, errlen, "an entry too long to be an "
			    "address");
			return -1;
		}
		if (one[0] == '\0') {
			snprintf(err, errlen, "an empty entry");
			return -1;
		}
		if (inet_pton(AF_INET, one, &a6) != 1 &&
		    inet_pton(AF_INET6, one, &a6) != 1) {
			snprintf(err, errlen, "%s is not a numeric IPv4 or "
			    "IPv6 address", one);
			return -1;
		}
	}
	return 0;
}
