/*
 * A FastCGI connection as a worker's wait set sees it: what its receive
 * queue holds, read with MSG_PEEK and never consumed, so that libfcgi is
 * handed a connection only once a whole request has arrived; and the
 * management records (FCGI_GET_VALUES and the unknown ones), which are
 * answered here.  The record layer of a request itself stays libfcgi's.
 */
#ifndef MOCKPIE_CONN_H
#define MOCKPIE_CONN_H

#include <stddef.h>

struct sockaddr;

#define CONN_PARAMS_MAX		(64 * 1024)	/* FCGI_PARAMS of a request */
#define CONN_RECORD_MAX		(8 + 65535 + 255)

/* What the head of a connection's receive queue holds. */
enum conn_state {
	CONN_EMPTY,		/* nothing: an idle connection */
	CONN_PARTIAL,		/* part of a request: wait for more */
	CONN_REQUEST,		/* a whole request: hand it to libfcgi */
	CONN_CLOSE		/* closed by the peer, failed, or malformed */
};

/* What FCGI_GET_VALUES answers (FCGI_MPXS_CONNS is always 0). */
struct conn_values {
	long		 max_conns;
	long		 max_reqs;
};

/* One connection's scan state, kept between scans. */
struct conn_scan {
	size_t		 need;		/* bytes queued before a new scan
					   can say more; 0: scan */
	int		 stdin_whole;	/* the request's stdin ends inside
					   what was seen */
};

size_t		 conn_window(size_t);
enum conn_state	 conn_scan(int, char *, size_t, size_t,
		    const struct conn_values *, struct conn_scan *);
void		 conn_close(int);
int		 conn_addr_allowed(const struct sockaddr *, const char *);

#endif
