/*
 * A JSON object writer for the hot path (/auth/me answers a user with it):
 * members appended into a buffer sized up front, strings escaped as RFC
 * 8259 requires, no object tree.  What it writes parses back, under
 * json-c's strict parser, to what json-c would have printed for the same
 * members (tests/check_jsonw.c and the fuzz target prove it).
 */
#ifndef MOCKPIE_JSONW_H
#define MOCKPIE_JSONW_H

#include <stddef.h>
#include <time.h>

struct arena;

struct jsonw {
	char	*buf;
	size_t	 len, cap;
	int	 members;
	int	 overflow;
};

size_t	 jsonw_str_max(const char *);
void	 jsonw_begin(struct jsonw *, struct arena *, size_t);
void	 jsonw_str(struct jsonw *, const char *, const char *);
void	 jsonw_int(struct jsonw *, const char *, long long);
void	 jsonw_time(struct jsonw *, const char *, time_t);
const char *jsonw_end(struct jsonw *, size_t *);

#endif
