/*
 * Per-request bump allocator with deferred cleanups.  A worker owns one
 * arena; arena_reset() after each request runs the cleanups in reverse
 * order and keeps the memory for the next request.
 */
#ifndef MOCKPIE_ARENA_H
#define MOCKPIE_ARENA_H

#include <stdarg.h>
#include <stddef.h>

struct arena;

struct arena	*arena_new(size_t);
void		 arena_free(struct arena *);
void		 arena_reset(struct arena *);
void		*arena_alloc(struct arena *, size_t);
void		*arena_calloc(struct arena *, size_t, size_t);
char		*arena_strdup(struct arena *, const char *);
char		*arena_strndup(struct arena *, const char *, size_t);
char		*arena_printf(struct arena *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
char		*arena_vprintf(struct arena *, const char *, va_list)
		    __attribute__((format(printf, 2, 0)));
void		 arena_defer(struct arena *, void (*)(void *), void *);

#endif
