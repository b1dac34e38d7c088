/*
 * A small FastCGI client for the tests: it speaks to the pool's unix
 * socket directly, as cgi-fcgi, a second web server or a monitoring probe
 * would, and can send the malformed and partial records a real web server
 * never does.  Every read is bounded by a deadline.
 */
#ifndef MOCKPIE_FCGI_CLIENT_H
#define MOCKPIE_FCGI_CLIENT_H

#include <stddef.h>

#define FCGI_CLIENT_OUT_MAX	(64 * 1024)

struct fcgi_reply {
	int		 status;	/* from "Status:", 200 without one */
	int		 app_status;	/* FCGI_END_REQUEST's appStatus */
	char		 out[FCGI_CLIENT_OUT_MAX + 1];	/* stdout, NUL-ended */
	size_t		 out_len;
	const char	*body;		/* in out, after the headers */
};

int	fcgi_connect(const char *);
int	fcgi_write(int, const void *, size_t);
size_t	fcgi_record(unsigned char *, size_t, int, int, const void *, size_t);
size_t	fcgi_request(unsigned char *, size_t, int, int,
	    const char *const *, const char *, size_t, int);
int	fcgi_read_record(int, int, int *, int *, unsigned char *, size_t,
	    size_t *);
int	fcgi_read_reply(int, int, int, struct fcgi_reply *);
int	fcgi_closed(int, int);

#endif
