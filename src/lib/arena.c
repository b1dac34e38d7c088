/*
 * Per-request bump allocator: chunks are kept across arena_reset() so a
 * steady worker stops calling malloc after its first requests.  Allocation
 * failure is fatal: the worker exits and the master starts a fresh one.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/arena.h"
#include "lib/log.h"

#define ARENA_ALIGN	16

struct chunk {
	struct chunk	*next;
	size_t		 size;		/* usable bytes after the header */
	size_t		 used;
	max_align_t	 data[];
};

struct cleanup {
	struct cleanup	*prev;
	void		(*fn)(void *);
	void		*arg;
};

struct arena {
	struct chunk	*head;		/* chunk being filled */
	struct chunk	*spare;		/* chunks freed by the last reset */
	struct cleanup	*cleanups;	/* newest first */
	size_t		 chunk_size;
};

static struct chunk *
chunk_new(size_t size)
{
	struct chunk	*c;

	if ((c = malloc(sizeof(*c) + size)) == NULL)
		log_fatal("arena: malloc %zu", size);
	c->next = NULL;
	c->size = size;
	c->used = 0;
	return c;
}

static void
chunks_free(struct chunk *c)
{
	struct chunk	*next;

	for (; c != NULL; c = next) {
		next = c->next;
		free(c);
	}
}

/* A new arena whose chunks hold chunk_size bytes; never NULL. */
struct arena *
arena_new(size_t chunk_size)
{
	struct arena	*a;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		log_fatal("arena: calloc");
	a->chunk_size = chunk_size < 1024 ? 1024 : chunk_size;
	a->head = chunk_new(a->chunk_size);
	return a;
}

/* Runs the pending cleanups and frees everything; takes NULL. */
void
arena_free(struct arena *a)
{
	if (a == NULL)
		return;
	arena_reset(a);
	chunks_free(a->head);
	chunks_free(a->spare);
	free(a);
}

/*
 * Runs the deferred cleanups, newest first, and makes all memory
 * reusable.  Oversized chunks go back to malloc so that one large
 * request does not pin its memory for the worker's lifetime.
 */
void
arena_reset(struct arena *a)
{
	struct cleanup	*cl;
	struct chunk	*c, *next;

	while ((cl = a->cleanups) != NULL) {
		a->cleanups = cl->prev;
		cl->fn(cl->arg);
	}
	for (c = a->head; c != NULL; c = next) {
		next = c->next;
		if (c->size != a->chunk_size) {
			free(c);
			continue;
		}
		c->used = 0;
		c->next = a->spare;
		a->spare = c;
	}
	a->head = a->spare;
	a->spare = a->head->next;
	a->head->next = NULL;
}

/* size bytes aligned for any type, living until the next reset. */
void *
arena_alloc(struct arena *a, size_t size)
{
	struct chunk	*c = a->head;
	size_t		 need;
	void		*p;

	if (size > SIZE_MAX - ARENA_ALIGN)
		log_fatalx("arena: size overflow");
	need = (size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
	if (need > c->size - c->used) {
		if (need > a->chunk_size / 2) {
			/* a chunk of its own, behind the head still being filled */
			c = chunk_new(need);
			c->next = a->head->next;
			a->head->next = c;
		} else {
			if ((c = a->spare) != NULL)
				a->spare = c->next;
			else
				c = chunk_new(a->chunk_size);
			c->next = a->head;
			a->head = c;
		}
	}
	p = (char *)c->data + c->used;
	c->used += need;
	return p;
}

void *
arena_calloc(struct arena *a, size_t n, size_t size)
{
	void	*p;

	if (size != 0 && n > SIZE_MAX / size)
		log_fatalx("arena: calloc overflow");
	p = arena_alloc(a, n * size);
	memset(p, 0, n * size);
	return p;
}

char *
arena_strndup(struct arena *a, const char *s, size_t len)
{
	char	*p = arena_alloc(a, len + 1);

	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

char *
arena_strdup(struct arena *a, const char *s)
{
	return arena_strndup(a, s, strlen(s));
}

char *
arena_vprintf(struct arena *a, const char *fmt, va_list ap)
{
	va_list	 ap2;
	char	*p;
	int	 n;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		log_fatal("arena: vsnprintf");
	p = arena_alloc(a, (size_t)n + 1);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	return p;
}

char *
arena_printf(struct arena *a, const char *fmt, ...)
{
	va_list	 ap;
	char	*p;

	va_start(ap, fmt);
	p = arena_vprintf(a, fmt, ap);
	va_end(ap);
	return p;
}

/* Calls fn(arg) at the next reset, after every cleanup deferred later. */
void
arena_defer(struct arena *a, void (*fn)(void *), void *arg)
{
	struct cleanup	*cl = arena_alloc(a, sizeof(*cl));

	cl->fn = fn;
	cl->arg = arg;
	cl->prev = a->cleanups;
	a->cleanups = cl;
}
