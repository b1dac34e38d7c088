/*
 * The common-password list: one password per line, UTF-8, read once (by
 * the master, for all its workers) into one buffer, folded, sorted and
 * deduplicated; lookups fold into a stack buffer and bsearch.  Which
 * file to load is config's.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth/passlist.h"
#include "lib/utf8.h"

#define UTF8_BOM	"\xef\xbb\xbf"

struct passlist {
	char	 *buf;		/* the file, lines NUL-terminated in place */
	char	**words;	/* sorted, unique, into buf */
	size_t	  n;
};

static void
seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	 ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static int
word_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
key_cmp(const void *key, const void *word)
{
	return strcmp(key, *(char *const *)word);
}

/*
 * Reads all of fd (a regular file of at most PASSLIST_MAX_BYTES) into
 * *bufp, NUL-terminated; 0, or -1 with err set.
 */
static int
read_all(int fd, const char *path, char **bufp, size_t *lenp, char *err,
    size_t errlen)
{
	struct stat	 st;
	char		*buf;
	size_t		 size, got;
	ssize_t		 r;

	if (fstat(fd, &st) == -1) {
		seterr(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		seterr(err, errlen, "%s: not a regular file", path);
		return -1;
	}
	if (st.st_size > PASSLIST_MAX_BYTES) {
		seterr(err, errlen, "%s: larger than %d bytes", path,
		    PASSLIST_MAX_BYTES);
		return -1;
	}
	size = (size_t)st.st_size;
	if ((buf = malloc(size + 1)) == NULL) {
		seterr(err, errlen, "%s: out of memory", path);
		return -1;
	}
	for (got = 0; got < size; got += (size_t)r) {
		if ((r = read(fd, buf + got, size - got)) == -1) {
			if (errno == EINTR) {
				r = 0;
				continue;
			}
			seterr(err, errlen, "%s: %s", path, strerror(errno));
			free(buf);
			return -1;
		}
		if (r == 0)
			break;		/* shrunk while we read: take what is */
	}
	buf[got] = '\0';
	*bufp = buf;
	*lenp = got;
	return 0;
}

/* Splits buf into folded words; 0, or -1 with err set. */
static int
parse(struct passlist *pl, const char *path, size_t len, char *err,
    size_t errlen)
{
	char	*p, *end, *nl;
	size_t	 lines, lineno, wlen, i, j;

	p = pl->buf;
	end = pl->buf + len;
	if (len >= sizeof(UTF8_BOM) - 1 &&
	    memcmp(p, UTF8_BOM, sizeof(UTF8_BOM) - 1) == 0)
		p += sizeof(UTF8_BOM) - 1;
	for (lines = 1, nl = p; (nl = memchr(nl, '\n', (size_t)(end - nl)))
	    != NULL; nl++)
		lines++;
	if ((pl->words = calloc(lines, sizeof(*pl->words))) == NULL) {
		seterr(err, errlen, "%s: out of memory", path);
		return -1;
	}
	for (lineno = 1; p < end; lineno++, p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		*nl = '\0';		/* end is buf[len], already NUL */
		wlen = (size_t)(nl - p);
		if (wlen > 0 && p[wlen - 1] == '\r')
			p[--wlen] = '\0';
		if (memchr(p, '\0', wlen) != NULL) {
			seterr(err, errlen, "%s: line %zu has a NUL byte",
			    path, lineno);
			return -1;
		}
		if (wlen > PASSLIST_MAX_LINE) {
			seterr(err, errlen, "%s: line %zu is longer than %d "
			    "bytes", path, lineno, PASSLIST_MAX_LINE);
			return -1;
		}
		if (wlen == 0)
			continue;	/* blank: harmless, skip */
		(void)utf8_fold(p, wlen + 1, p);	/* same length */
		pl->words[pl->n++] = p;
	}
	if (pl->n == 0) {
		seterr(err, errlen, "%s: no passwords in the list", path);
		return -1;
	}
	qsort(pl->words, pl->n, sizeof(*pl->words), word_cmp);
	for (i = 1, j = 1; i < pl->n; i++)
		if (strcmp(pl->words[i], pl->words[j - 1]) != 0)
			pl->words[j++] = pl->words[i];
	pl->n = j;
	return 0;
}

/*
 * Loads the list at path.  Returns it (free with passlist_free()), or NULL
 * with the reason in err (errlen bytes, may be 0) when the file cannot be
 * read, is larger than PASSLIST_MAX_BYTES, has a line over
 * PASSLIST_MAX_LINE bytes or a NUL, or holds no password.  CRLF, a
 * missing final newline, blank lines and a UTF-8 BOM are accepted;
 * entries are folded, so upper-case entries work too.
 */
struct passlist *
passlist_load(const char *path, char *err, size_t errlen)
{
	struct passlist	*pl;
	size_t		 len;
	int		 fd;

	seterr(err, errlen, "%s", "");
	if ((pl = calloc(1, sizeof(*pl))) == NULL) {
		seterr(err, errlen, "%s: out of memory", path);
		return NULL;
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		seterr(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (read_all(fd, path, &pl->buf, &len, err, errlen) == -1) {
		close(fd);
		goto fail;
	}
	close(fd);
	if (parse(pl, path, len, err, errlen) == -1)
		goto fail;
	return pl;
fail:
	passlist_free(pl);
	return NULL;
}

/* Frees the list; takes NULL. */
void
passlist_free(struct passlist *pl)
{
	if (pl == NULL)
		return;
	free(pl->words);
	free(pl->buf);
	free(pl);
}

/*
 * 1 when pw, folded like the entries (utf8_fold(): ASCII, Latin,
 * Greek and Cyrillic letters; other scripts compare as they are), is on
 * the list, else 0 (NULL list or pw included).  O(log n), no allocation.
 */
int
passlist_contains(const struct passlist *pl, const char *pw)
{
	char	 key[PASSLIST_MAX_LINE + 1];

	if (pl == NULL || pw == NULL)
		return 0;
	if (utf8_fold(key, sizeof(key), pw) == -1)
		return 0;	/* longer than any entry can be */
	return bsearch(key, pl->words, pl->n, sizeof(*pl->words),
	    key_cmp) != NULL;
}

/* Distinct passwords on the list (0 for NULL). */
size_t
passlist_count(const struct passlist *pl)
{
	return pl == NULL ? 0 : pl->n;
}
