/*
 * The common-password list (SPEC 2, OWASP ASVS 2.1): loaded once per
 * worker into a sorted array, looked up with bsearch, no allocation per
 * lookup.  Case folding is utf8_fold()'s (lib/utf8.h).
 */
#ifndef MOCKPIE_PASSLIST_H
#define MOCKPIE_PASSLIST_H

#include <stddef.h>

/* 128 code points of at most 4 bytes each: no usable password is longer. */
#define PASSLIST_MAX_LINE	512
#define PASSLIST_MAX_BYTES	(16 * 1024 * 1024)

struct passlist;

struct passlist	*passlist_load(const char *, char *, size_t);
void		 passlist_free(struct passlist *);
int		 passlist_contains(const struct passlist *, const char *);
size_t		 passlist_count(const struct passlist *);

#endif
