/*
 * UTF-8 decoding, counting and case folding (Python's str.lower() over
 * the scripts utf8.c lists), with no allocation.
 */
#ifndef MOCKPIE_UTF8_H
#define MOCKPIE_UTF8_H

#include <stddef.h>
#include <stdint.h>

size_t	 utf8_next(const char *, int32_t *);
size_t	 utf8_chars(const char *);
int	 utf8_fold(char *, size_t, const char *);
int	 utf8_equal_nocase(const char *, const char *);

#endif
