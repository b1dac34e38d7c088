/*
 * JSON object writer (jsonw.h).  The caller sizes the buffer with
 * jsonw_str_max() for each string; a write that would not fit marks the
 * writer overflowed and jsonw_end() answers NULL, never a cut object.
 */
#include <stdio.h>
#include <string.h>

#include "lib/arena.h"
#include "lib/jsonh.h"
#include "lib/jsonw.h"

#define JSONW_ESCAPE_MAX	6	/* \u00XX for one byte */
#define JSONW_INT_MAX		21	/* -9223372036854775808 */
#define JSONW_MEMBER_EXTRA	6	/* "": , and quotes of a value */

/* Room a string member's value may need once escaped, quotes included. */
size_t
jsonw_str_max(const char *s)
{
	return (s != NULL ? strlen(s) * JSONW_ESCAPE_MAX : 4) + 2;
}

/*
 * Starts an object in a buffer of cap bytes from arena: cap must cover
 * the keys (plus JSONW_MEMBER_EXTRA each) and jsonw_str_max() of every
 * string value, JSONW_INT_MAX of every number, JSONH_TIME_LEN + 2 of
 * every time.
 */
void
jsonw_begin(struct jsonw *w, struct arena *arena, size_t cap)
{
	w->cap = cap + 2;
	w->buf = arena_alloc(arena, w->cap);
	w->buf[0] = '{';
	w->len = 1;
	w->members = 0;
	w->overflow = 0;
}

static void
put(struct jsonw *w, const char *s, size_t n)
{
	if (w->overflow || n > w->cap - w->len) {
		w->overflow = 1;
		return;
	}
	memcpy(w->buf + w->len, s, n);
	w->len += n;
}

/* "s" escaped: quote, backslash and control characters (RFC 8259 7). */
static void
put_string(struct jsonw *w, const char *s)
{
	static const char	 hex[] = "0123456789abcdef";
	const unsigned char	*p = (const unsigned char *)s, *run;
	char			 esc[JSONW_ESCAPE_MAX];

	put(w, "\"", 1);
	for (run = p; *p != '\0'; p++) {
		if (*p >= 0x20 && *p != '"' && *p != '\\')
			continue;
		put(w, (const char *)run, (size_t)(p - run));
		run = p + 1;
		esc[0] = '\\';
		switch (*p) {
		case '"':	esc[1] = '"'; break;
		case '\\':	esc[1] = '\\'; break;
		case '\b':	esc[1] = 'b'; break;
		case '\f':	esc[1] = 'f'; break;
		case '\n':	esc[1] = 'n'; break;
		case '\r':	esc[1] = 'r'; break;
		case '\t':	esc[1] = 't'; break;
		default:
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[*p >> 4];
			esc[5] = hex[*p & 0xf];
			put(w, esc, 6);
			continue;
		}
		put(w, esc, 2);
	}
	put(w, (const char *)run, (size_t)(p - run));
	put(w, "\"", 1);
}

static void
put_key(struct jsonw *w, const char *key)
{
	if (w->members++ > 0)
		put(w, ",", 1);
	put_string(w, key);
	put(w, ":", 1);
}

/* "key": "value", or null for a NULL value. */
void
jsonw_str(struct jsonw *w, const char *key, const char *value)
{
	put_key(w, key);
	if (value == NULL)
		put(w, "null", 4);
	else
		put_string(w, value);
}

void
jsonw_int(struct jsonw *w, const char *key, long long v)
{
	char	 buf[JSONW_INT_MAX + 1];
	int	 n;

	put_key(w, key);
	n = snprintf(buf, sizeof(buf), "%lld", v);
	put(w, buf, (size_t)n);
}

/* "key": "2026-11-25T23:59:59Z" (jsonh_time). */
void
jsonw_time(struct jsonw *w, const char *key, time_t t)
{
	char	 buf[JSONH_TIME_LEN + 1];

	jsonh_time(t, buf);
	jsonw_str(w, key, buf);
}

/* Closes the object: its text (NUL-terminated) and length, or NULL. */
const char *
jsonw_end(struct jsonw *w, size_t *len)
{
	put(w, "}", 1);
	if (w->overflow || w->len >= w->cap)
		return NULL;
	w->buf[w->len] = '\0';
	*len = w->len;
	return w->buf;
}
