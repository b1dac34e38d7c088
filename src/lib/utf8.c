/*
 * UTF-8 as the field rules and the password list read it: decoding that
 * never reads past a NUL and calls ill-formed bytes what they are, code
 * point counts, and the case folding both sides compare with.
 */
#include <stdint.h>
#include <string.h>

#include "lib/utf8.h"

/*
 * Decodes the code point at s into *cp and returns the bytes it takes, 0
 * at the terminating NUL.  A byte that does not start a well-formed
 * sequence (RFC 3629: no overlongs, surrogates or values past U+10FFFF)
 * takes 1 byte with *cp = -1.  Never reads past a NUL.
 */
size_t
utf8_next(const char *str, int32_t *cp)
{
	const unsigned char	*s = (const unsigned char *)str;
	int32_t			 c;

	*cp = -1;
	if (s[0] == '\0')
		return 0;
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		if ((s[1] & 0xc0) != 0x80)
			return 1;
		*cp = (int32_t)(s[0] & 0x1f) << 6 | (s[1] & 0x3f);
		return 2;
	}
	if (s[0] >= 0xe0 && s[0] <= 0xef) {
		if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
			return 1;
		c = (int32_t)(s[0] & 0x0f) << 12 | (int32_t)(s[1] & 0x3f) << 6 |
		    (s[2] & 0x3f);
		if (c < 0x800 || (c >= 0xd800 && c <= 0xdfff))
			return 1;
		*cp = c;
		return 3;
	}
	if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 ||
		    (s[3] & 0xc0) != 0x80)
			return 1;
		c = (int32_t)(s[0] & 0x07) << 18 |
		    (int32_t)(s[1] & 0x3f) << 12 |
		    (int32_t)(s[2] & 0x3f) << 6 | (s[3] & 0x3f);
		if (c < 0x10000 || c > 0x10ffff)
			return 1;
		*cp = c;
		return 4;
	}
	return 1;
}

static size_t
utf8_put(char *dst, int32_t c)
{
	unsigned char	*d = (unsigned char *)dst;

	if (c < 0x80) {
		d[0] = (unsigned char)c;
		return 1;
	}
	if (c < 0x800) {
		d[0] = (unsigned char)(0xc0 | c >> 6);
		d[1] = (unsigned char)(0x80 | (c & 0x3f));
		return 2;
	}
	if (c < 0x10000) {
		d[0] = (unsigned char)(0xe0 | c >> 12);
		d[1] = (unsigned char)(0x80 | (c >> 6 & 0x3f));
		d[2] = (unsigned char)(0x80 | (c & 0x3f));
		return 3;
	}
	d[0] = (unsigned char)(0xf0 | c >> 18);
	d[1] = (unsigned char)(0x80 | (c >> 12 & 0x3f));
	d[2] = (unsigned char)(0x80 | (c >> 6 & 0x3f));
	d[3] = (unsigned char)(0x80 | (c & 0x3f));
	return 4;
}

/*
 * Lower case of c as Python's str.lower() gives it, for ASCII, Latin-1,
 * Latin Extended-A, Greek, Cyrillic and Armenian capitals (checked against
 * Python for U+0000-U+05FF); other code points are left alone.
 * Every mapping keeps the UTF-8 length, so folding never moves bytes.
 * U+0130 (lowered to two code points) and Greek final sigma are left out.
 */
static int32_t
fold_cp(int32_t c)
{
	if (c >= 'A' && c <= 'Z')
		return c + 0x20;
	if (c < 0xc0)
		return c;
	if (c <= 0xde)
		return c == 0xd7 ? c : c + 0x20;
	if (c >= 0x100 && c <= 0x17f) {
		if (c == 0x130 || c == 0x138 || c == 0x149 || c == 0x17f)
			return c;
		if (c == 0x178)
			return 0xff;
		if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17e))
			return (c & 1) ? c + 1 : c;
		return (c & 1) ? c : c + 1;
	}
	if (c == 0x386)
		return 0x3ac;
	if (c >= 0x388 && c <= 0x38a)
		return c + 0x25;
	if (c == 0x38c)
		return 0x3cc;
	if (c == 0x38e || c == 0x38f)
		return c + 0x3f;
	if (c >= 0x391 && c <= 0x3ab && c != 0x3a2)
		return c + 0x20;
	if (c >= 0x400 && c <= 0x40f)
		return c + 0x50;
	if (c >= 0x410 && c <= 0x42f)
		return c + 0x20;
	if ((c >= 0x460 && c <= 0x481) || (c >= 0x48a && c <= 0x4bf) ||
	    (c >= 0x4d0 && c <= 0x52f))
		return (c & 1) ? c : c + 1;
	if (c == 0x4c0)
		return 0x4cf;
	if (c >= 0x4c1 && c <= 0x4ce)
		return (c & 1) ? c + 1 : c;
	if (c >= 0x531 && c <= 0x556)
		return c + 0x30;
	return c;
}

/*
 * Code points in the NUL-terminated s; a byte that is not UTF-8 counts as
 * one.  NULL counts 0.
 */
size_t
utf8_chars(const char *s)
{
	int32_t	 c;
	size_t	 n, len;

	if (s == NULL)
		return 0;
	for (n = 0; (len = utf8_next(s, &c)) != 0; n++)
		s += len;
	return n;
}

/*
 * Writes src lower-cased (fold_cp()) into dst of dstlen bytes; dst may be
 * src.  Returns 0, or -1 when dst is too small (strlen(src) + 1 always
 * suffices: folding keeps the byte length).  Bytes that are not UTF-8 are
 * copied unchanged.
 */
int
utf8_fold(char *dst, size_t dstlen, const char *src)
{
	int32_t	 c;
	size_t	 len, off;

	if (strlen(src) >= dstlen)
		return -1;
	off = 0;
	while ((len = utf8_next(src + off, &c)) != 0) {
		if (c == -1)
			dst[off] = src[off];
		else
			utf8_put(dst + off, fold_cp(c));
		off += len;
	}
	dst[off] = '\0';
	return 0;
}

/*
 * 1 when a and b are equal after folding both (utf8_fold()), else 0;
 * NULL equals nothing.  No allocation.
 */
int
utf8_equal_nocase(const char *a, const char *b)
{
	int32_t	 ca, cb;
	size_t	 la, lb;

	if (a == NULL || b == NULL)
		return 0;
	for (;;) {
		la = utf8_next(a, &ca);
		lb = utf8_next(b, &cb);
		if (la != lb)
			return 0;
		if (la == 0)
			return 1;
		if (ca == -1 || cb == -1) {
			if (*a != *b)
				return 0;
		} else if (fold_cp(ca) != fold_cp(cb))
			return 0;
		a += la;
		b += lb;
	}
}
