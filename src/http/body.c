/*
 * Request-body parsers (SPEC 2): the Content-Type picks urlencoded,
 * multipart/form-data or a JSON object of strings; every field is checked
 * (UTF-8, no NUL, bounded name, no duplicate) and copied into the arena.
 * The caller has read and bounded the body; field meaning is the handler's.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE		/* memmem(3) */
#endif
#include <limits.h>
#include <string.h>

#include <json-c/json.h>

#include "lib/arena.h"
#include "http/body.h"
#include "lib/log.h"

#define CT_JSON		"application/json"
#define CT_FORM		"application/x-www-form-urlencoded"
#define CT_MULTIPART	"multipart/form-data"

/* err_type and err_msg pairs, FastAPI/pydantic wording where one exists */
#define E_JSON		"json_invalid", "JSON decode error"
#define E_NOT_OBJECT	"model_attributes_type", \
			"Input should be a valid dictionary or object"
#define E_NOT_STRING	"string_type", "Input should be a valid string"
#define E_UNICODE	"string_unicode", "Input should be a valid string, " \
			"unable to parse raw data as a unicode string"
#define E_NUL		"value_error", \
			"Input must not contain NUL characters"
#define E_DUPLICATE	"value_error", "Field given more than once"
#define E_TOO_MANY	"value_error", "Too many fields"
#define E_LONG_NAME	"value_error", "Field name too long"
#define E_PERCENT	"value_error", "Invalid percent-encoding"
#define E_BOUNDARY	"value_error", "Missing or invalid multipart boundary"
#define E_MULTIPART	"value_error", "Malformed multipart body"
#define E_PART_HEADER	"value_error", "Multipart part headers too large"
#define E_ENCODING	"value_error", "Unsupported Content-Transfer-Encoding"
#define E_FILE		"value_error", "File uploads are not accepted"

struct span {
	const char	*p;
	size_t		 len;
};

/* Position in top-level JSON text that json-c has already accepted. */
struct jscan {
	const char	*data;
	size_t		 len;
	size_t		 pos;
	int		 depth;
	int		 want_key;
};

static int
body_fail(struct body *out, const char *field, const char *type,
    const char *msg)
{
	out->err_field = field;
	out->err_type = type;
	out->err_msg = msg;
	return -1;
}

/* ASCII only: header grammar is ASCII and locales must not matter. */
static int
lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

static int
span_ieq(const struct span *s, const char *lit)
{
	size_t	 i, n = strlen(lit);

	if (s->len != n)
		return 0;
	for (i = 0; i < n; i++)
		if (lower((unsigned char)s->p[i]) != lit[i])
			return 0;
	return 1;
}

/*
 * Strict UTF-8 (RFC 3629 4, Unicode table 3-7): no overlong forms, no
 * surrogates, nothing above U+10FFFF.  1 when valid.
 */
static int
utf8_valid(const char *s, size_t len)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 i = 0, n, k;
	unsigned char		 lo, hi;

	while (i < len) {
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		lo = 0x80;
		hi = 0xbf;
		if (p[i] >= 0xc2 && p[i] <= 0xdf)
			n = 1;
		else if (p[i] >= 0xe0 && p[i] <= 0xef) {
			n = 2;
			if (p[i] == 0xe0)
				lo = 0xa0;	/* overlong */
			else if (p[i] == 0xed)
				hi = 0x9f;	/* surrogates */
		} else if (p[i] >= 0xf0 && p[i] <= 0xf4) {
			n = 3;
			if (p[i] == 0xf0)
				lo = 0x90;	/* overlong */
			else if (p[i] == 0xf4)
				hi = 0x8f;	/* above U+10FFFF */
		} else
			return 0;
		if (len - i - 1 < n)
			return 0;
		if (p[i + 1] < lo || p[i + 1] > hi)
			return 0;
		for (k = 2; k <= n; k++)
			if (p[i + k] < 0x80 || p[i + k] > 0xbf)
				return 0;
		i += n + 1;
	}
	return 1;
}

/* A name fit to be echoed in err_field, or NULL. */
static const char *
name_or_null(struct arena *a, const char *name, size_t len)
{
	if (len > BODY_MAX_NAME || memchr(name, '\0', len) != NULL ||
	    !utf8_valid(name, len))
		return NULL;
	return arena_strndup(a, name, len);
}

/*
 * A new field for a bounded, NUL-free UTF-8 name not already present, its
 * value still unset; NULL with out->err_* set otherwise.
 */
static struct body_field *
body_add_name(struct arena *a, struct body *out, const char *name,
    size_t len)
{
	struct body_field	*f;
	size_t			 i;

	if (out->nfields >= BODY_MAX_FIELDS) {
		body_fail(out, NULL, E_TOO_MANY);
		return NULL;
	}
	if (len > BODY_MAX_NAME) {
		body_fail(out, NULL, E_LONG_NAME);
		return NULL;
	}
	if (memchr(name, '\0', len) != NULL) {
		body_fail(out, NULL, E_NUL);
		return NULL;
	}
	if (!utf8_valid(name, len)) {
		body_fail(out, NULL, E_UNICODE);
		return NULL;
	}
	/* ambiguous input: which one would a handler mean? */
	for (i = 0; i < out->nfields; i++)
		if (strlen(out->fields[i].name) == len &&
		    memcmp(out->fields[i].name, name, len) == 0) {
			body_fail(out, out->fields[i].name, E_DUPLICATE);
			return NULL;
		}
	f = &out->fields[out->nfields++];
	f->name = arena_strndup(a, name, len);
	f->value = NULL;
	f->len = 0;
	return f;
}

/* A NUL-free UTF-8 value for field f. */
static int
body_set_value(struct arena *a, struct body *out, struct body_field *f,
    const char *value, size_t len)
{
	if (memchr(value, '\0', len) != NULL)
		return body_fail(out, f->name, E_NUL);
	if (!utf8_valid(value, len))
		return body_fail(out, f->name, E_UNICODE);
	f->value = arena_strndup(a, value, len);
	f->len = len;
	return 0;
}

static int
body_add(struct arena *a, struct body *out, const char *name,
    size_t namelen, const char *value, size_t len)
{
	struct body_field	*f;

	if ((f = body_add_name(a, out, name, namelen)) == NULL)
		return -1;
	return body_set_value(a, out, f, value, len);
}

/* RFC 9110 5.6.2 tchar */
static int
is_tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') ||
	    (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* RFC 9110 5.6.4: qdtext and the second byte of a quoted-pair */
static int
is_qdtext(unsigned char c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static void
skip_ows(const char **pp, const char *end)
{
	while (*pp < end && (**pp == ' ' || **pp == '\t'))
		(*pp)++;
}

static int
hdr_token(const char **pp, const char *end, struct span *tok)
{
	const char	*p = *pp;

	while (p < end && is_tchar((unsigned char)*p))
		p++;
	if (p == *pp)
		return -1;
	tok->p = *pp;
	tok->len = p - *pp;
	*pp = p;
	return 0;
}

/*
 * RFC 9110 5.6.4 quoted-string, unescaped into the arena.  Measured first,
 * so that many short parameters on one line cost their size, not the line's.
 */
static int
hdr_quoted(struct arena *a, const char **pp, const char *end,
    struct span *val)
{
	const char	*q;
	char		*buf, *w;
	size_t		 n;

	if (*pp >= end || **pp != '"')
		return -1;
	for (q = *pp + 1, n = 0;; q++, n++) {
		if (q >= end)
			return -1;
		if (*q == '"')
			break;
		if (*q == '\\' && ++q >= end)
			return -1;
		if (!is_qdtext((unsigned char)*q))
			return -1;
	}
	buf = w = arena_alloc(a, n + 1);
	for (q = *pp + 1; *q != '"'; q++) {
		if (*q == '\\')
			q++;
		*w++ = *q;
	}
	*w = '\0';
	val->p = buf;
	val->len = n;
	*pp = q + 1;
	return 0;
}

/*
 * The next parameter, RFC 9110 5.6.6: *( OWS ";" OWS [ name "=" value ] ).
 * 1 with name and value (a token, or an unescaped quoted-string in the
 * arena), 0 at the end, -1 when malformed.
 */
static int
hdr_param(struct arena *a, const char **pp, const char *end,
    struct span *name, struct span *val)
{
	const char	*p = *pp;

	for (;;) {
		skip_ows(&p, end);
		if (p == end) {
			*pp = p;
			return 0;
		}
		if (*p != ';')
			return -1;
		p++;
		skip_ows(&p, end);
		if (p < end && *p != ';')
			break;
	}
	if (hdr_token(&p, end, name) == -1)
		return -1;
	if (p == end || *p != '=')
		return -1;
	p++;
	if (p < end && *p == '"') {
		if (hdr_quoted(a, &p, end, val) == -1)
			return -1;
	} else if (hdr_token(&p, end, val) == -1)
		return -1;
	*pp = p;
	return 1;
}

/*
 * A charset parameter, if any, names UTF-8 (SPEC 2; WHATWG forms and
 * RFC 8259 8.1 know no other).  0 when acceptable, -1 otherwise.
 */
static int
ctype_utf8_only(struct arena *a, const char *p, const char *end)
{
	struct span	 name, val;
	int		 r, seen = 0;

	while ((r = hdr_param(a, &p, end, &name, &val)) == 1) {
		if (!span_ieq(&name, "charset"))
			continue;
		if (seen++ || !span_ieq(&val, "utf-8"))
			return -1;
	}
	return r;
}

/* RFC 2046 5.1.1 bcharsnospace, plus space anywhere but last. */
static int
boundary_valid(const struct span *b)
{
	static const char	 extra[] = "'()+_,-./:=? ";
	size_t			 i;
	unsigned char		 c;

	if (b->len < 1 || b->len > BODY_MAX_BOUNDARY ||
	    b->p[b->len - 1] == ' ')
		return 0;
	for (i = 0; i < b->len; i++) {
		c = b->p[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') ||
		    (c != '\0' && strchr(extra, c) != NULL)))
			return 0;
	}
	return 1;
}

static int
ctype_boundary(struct arena *a, const char *p, const char *end,
    struct span *boundary)
{
	struct span	 name, val;
	int		 r, seen = 0;

	boundary->p = NULL;
	boundary->len = 0;
	while ((r = hdr_param(a, &p, end, &name, &val)) == 1) {
		if (!span_ieq(&name, "boundary"))
			continue;
		if (seen++)
			return -1;
		*boundary = val;
	}
	if (r == -1 || !seen || !boundary_valid(boundary))
		return -1;
	return 0;
}

static int
hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = lower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* WHATWG URL "application/x-www-form-urlencoded" parsing, but strict. */
static int
form_decode(struct arena *a, const char *s, size_t len, struct span *dst)
{
	char	*buf, *w;
	size_t	 i;
	int	 hi, lo;

	buf = w = arena_alloc(a, len + 1);
	for (i = 0; i < len; i++) {
		if (s[i] == '+')
			*w++ = ' ';
		else if (s[i] != '%')
			*w++ = s[i];
		else {
			if (len - i < 3 ||
			    (hi = hexval((unsigned char)s[i + 1])) == -1 ||
			    (lo = hexval((unsigned char)s[i + 2])) == -1)
				return -1;
			*w++ = (char)(hi << 4 | lo);
			i += 2;
		}
	}
	*w = '\0';
	dst->p = buf;
	dst->len = w - buf;
	return 0;
}

static int
form_parse(struct arena *a, const char *data, size_t len, struct body *out)
{
	const char	*p = data, *end = data + len, *amp, *eq;
	struct span	 name, val;

	while (p < end) {
		if ((amp = memchr(p, '&', end - p)) == NULL)
			amp = end;
		if (amp == p) {		/* empty pair: a=1&&b=2 */
			p = amp + 1;
			continue;
		}
		if ((eq = memchr(p, '=', amp - p)) == NULL)
			eq = amp;
		if (form_decode(a, p, eq - p, &name) == -1)
			return body_fail(out, NULL, E_PERCENT);
		if (eq == amp) {
			val.p = "";
			val.len = 0;
		} else if (form_decode(a, eq + 1, amp - eq - 1, &val) == -1)
			return body_fail(out, name_or_null(a, name.p, name.len),
			    E_PERCENT);
		if (body_add(a, out, name.p, name.len, val.p, val.len) == -1)
			return -1;
		p = amp + 1;
	}
	return 0;
}

/*
 * RFC 7578 4.2: Content-Disposition: form-data; name="..."; a filename
 * (or filename*) parameter makes the part a file upload.
 */
static int
part_disposition(struct arena *a, const char *p, const char *end,
    struct span *name, int *file, struct body *out)
{
	struct span	 type, pname, val;
	int		 r, seen = 0;

	name->p = NULL;
	name->len = 0;
	if (hdr_token(&p, end, &type) == -1 || !span_ieq(&type, "form-data"))
		return body_fail(out, NULL, E_MULTIPART);
	while ((r = hdr_param(a, &p, end, &pname, &val)) == 1) {
		if (span_ieq(&pname, "name")) {
			if (seen++)
				return body_fail(out, NULL, E_MULTIPART);
			*name = val;
		} else if (span_ieq(&pname, "filename") ||
		    span_ieq(&pname, "filename*"))
			*file = 1;
	}
	if (r == -1 || !seen)
		return body_fail(out, NULL, E_MULTIPART);
	return 0;
}

/* RFC 7578 4.7: deprecated; only the identity encodings leave data as is. */
static int
part_identity_encoding(const char *p, const char *end)
{
	struct span	 enc;

	if (hdr_token(&p, end, &enc) == -1)
		return 0;
	skip_ows(&p, end);
	return p == end && (span_ieq(&enc, "7bit") ||
	    span_ieq(&enc, "8bit") || span_ieq(&enc, "binary"));
}

/* One part: header lines, an empty line, the value (RFC 7578 4). */
static int
part_parse(struct arena *a, const char *part, size_t len, struct body *out)
{
	const char	*p, *hend, *eol, *v;
	struct span	 hname, name;
	size_t		 hlen;
	int		 file = 0, seen = 0;

	/* a part without headers has no name: it fails below */
	hend = memmem(part, len < BODY_MAX_PART_HEADER + 4 ? len :
	    BODY_MAX_PART_HEADER + 4, "\r\n\r\n", 4);
	if (hend == NULL)
		return len > BODY_MAX_PART_HEADER ?
		    body_fail(out, NULL, E_PART_HEADER) :
		    body_fail(out, NULL, E_MULTIPART);
	hlen = hend - part + 2;		/* keep the last line's CRLF */
	for (p = part; p < part + hlen; p = eol + 2) {
		eol = memmem(p, part + hlen - p, "\r\n", 2);
		/* no bare CR or LF, even in headers we ignore; no obs-fold
		 * either, as a line must open with a header name */
		if (memchr(p, '\r', eol - p) || memchr(p, '\n', eol - p))
			return body_fail(out, NULL, E_MULTIPART);
		v = p;
		if (hdr_token(&v, eol, &hname) == -1 || v == eol || *v != ':')
			return body_fail(out, NULL, E_MULTIPART);
		v++;
		skip_ows(&v, eol);
		if (span_ieq(&hname, "content-disposition")) {
			if (seen++)
				return body_fail(out, NULL, E_MULTIPART);
			if (part_disposition(a, v, eol, &name, &file,
			    out) == -1)
				return -1;
		} else if (span_ieq(&hname, "content-transfer-encoding") &&
		    !part_identity_encoding(v, eol))
			return body_fail(out, NULL, E_ENCODING);
	}
	if (!seen)
		return body_fail(out, NULL, E_MULTIPART);
	if (file)
		return body_fail(out, name_or_null(a, name.p, name.len),
		    E_FILE);
	return body_add(a, out, name.p, name.len, part + hlen + 2,
	    len - hlen - 2);
}

/*
 * RFC 2046 5.1.1: [preamble CRLF] dash-boundary padding CRLF part
 * *(CRLF dash-boundary padding CRLF part) CRLF dash-boundary "--" [epilogue]
 */
static int
multipart_parse(struct arena *a, const char *data, size_t len,
    const struct span *boundary, struct body *out)
{
	const char	*p, *q, *end = data + len;
	char		*delim;
	size_t		 dlen;

	dlen = 4 + boundary->len;
	delim = arena_alloc(a, dlen);
	memcpy(delim, "\r\n--", 4);
	memcpy(delim + 4, boundary->p, boundary->len);
	/* the first delimiter may open the body, without its CRLF */
	if (len >= dlen - 2 && memcmp(data, delim + 2, dlen - 2) == 0)
		p = data + dlen - 2;
	else if ((q = memmem(data, len, delim, dlen)) != NULL)
		p = q + dlen;
	else
		return body_fail(out, NULL, E_MULTIPART);
	for (;;) {
		if (end - p >= 2 && p[0] == '-' && p[1] == '-')
			return 0;	/* close delimiter; epilogue ignored */
		skip_ows(&p, end);	/* transport-padding */
		if (end - p < 2 || p[0] != '\r' || p[1] != '\n')
			return body_fail(out, NULL, E_MULTIPART);
		p += 2;
		if ((q = memmem(p, end - p, delim, dlen)) == NULL)
			return body_fail(out, NULL, E_MULTIPART);
		if (part_parse(a, p, q - p, out) == -1)
			return -1;
		p = q + dlen;
	}
}

static int
hex4(const char *p, const char *end, unsigned *v)
{
	int	 i, h;

	*v = 0;
	if (end - p < 4)
		return -1;
	for (i = 0; i < 4; i++) {
		if ((h = hexval((unsigned char)p[i])) == -1)
			return -1;
		*v = *v << 4 | (unsigned)h;
	}
	return 0;
}

/*
 * 1 when the JSON string text [p, end) (between its quotes, escapes as
 * sent) holds a \u escape of a surrogate that is not one half of a high
 * then low pair, else 0.  json-c 0.16 turns such an escape into U+FFFD
 * even in strict mode (PITFALLS json-c), so the value would not be what
 * the client sent: refused like invalid UTF-8 (issue 8.7).
 */
static int
json_lone_surrogate(const char *p, const char *end)
{
	unsigned	 hi, lo;

	while (p < end) {
		if (*p++ != '\\' || p == end)
			continue;
		if (*p++ != 'u')
			continue;
		if (hex4(p, end, &hi) == -1)
			return 1;	/* json-c refuses it first */
		p += 4;
		if (hi < 0xd800 || hi > 0xdfff)
			continue;
		if (hi >= 0xdc00)
			return 1;	/* a low half first */
		if (end - p < 6 || p[0] != '\\' || p[1] != 'u' ||
		    hex4(p + 2, end, &lo) == -1 || lo < 0xdc00 || lo > 0xdfff)
			return 1;	/* a high half alone */
		p += 6;
	}
	return 0;
}

/*
 * The next member name of the top-level object, as a span of JSON text
 * quotes included; 1 when found, 0 at the end, -2 on a single quote
 * outside a string (json-c 0.16 takes 'keys' even in strict mode: found by
 * fuzzing), -3 on a lone surrogate escape in a key, -4 in a value of the
 * member last found (json_lone_surrogate()), -1 on other text json-c
 * should not have accepted.  Only run
 * over text that json-c parsed in strict mode (no comments), where strings
 * and brackets are all the structure there is.  json-c keeps the last of duplicate keys and cuts a
 * key at "\u0000", so the parsed object cannot show either.
 */
static int
jscan_next_key(struct jscan *s, struct span *key)
{
	size_t	 start;
	char	 c;

	while (s->pos < s->len) {
		c = s->data[s->pos];
		if (c == '"') {
			start = s->pos++;
			while (s->pos < s->len && s->data[s->pos] != '"') {
				if (s->data[s->pos] == '\\')
					s->pos++;
				s->pos++;
			}
			if (s->pos++ >= s->len)
				return -1;
			if (json_lone_surrogate(s->data + start + 1,
			    s->data + s->pos - 1))
				return s->depth == 1 && s->want_key ? -3 : -4;
			if (s->depth == 1 && s->want_key) {
				s->want_key = 0;
				key->p = s->data + start;
				key->len = s->pos - start;
				return 1;
			}
			continue;
		}
		s->pos++;
		switch (c) {
		case '\'':
			return -2;
		case '{':
			if (++s->depth == 1)
				s->want_key = 1;
			break;
		case '[':
			s->depth++;
			break;
		case '}':
		case ']':
			s->depth--;
			break;
		case ',':
			if (s->depth == 1)
				s->want_key = 1;
			break;
		}
	}
	return 0;
}

static struct json_tokener *
jtok_new(void)
{
	struct json_tokener	*tok;

	if ((tok = json_tokener_new_ex(BODY_JSON_DEPTH)) == NULL)
		log_fatalx("body: json_tokener_new_ex");
	/* PITFALLS json-c: the default tokener is lenient */
	json_tokener_set_flags(tok,
	    JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	return tok;
}

/*
 * The whole of data[0..len) as one JSON value into *out (NULL for null):
 * 0, or -1 when it is not exactly one.
 */
static int
jtok_parse_all(struct json_tokener *tok, const char *data, size_t len,
    struct json_object **out)
{
	struct json_object	*obj;
	enum json_tokener_error	 err;

	*out = NULL;
	json_tokener_reset(tok);
	obj = json_tokener_parse_ex(tok, data, (int)len);
	err = json_tokener_get_error(tok);
	if (json_tokener_get_parse_end(tok) != len)
		err = json_tokener_error_parse_unexpected;
	else if (obj == NULL && err == json_tokener_continue) {
		/* a top-level number or literal ends at a NUL, as in
		 * json_tokener_parse(); an unfinished object does not */
		obj = json_tokener_parse_ex(tok, "", 1);
		err = json_tokener_get_error(tok);
	}
	if (err != json_tokener_success) {
		json_object_put(obj);		/* harmless on NULL */
		return -1;
	}
	*out = obj;
	return 0;
}

/*
 * Names first, from the text (duplicates, NUL), then each value: a string,
 * or a boolean as "true"/"false" (SPEC 2: "all" may be true).
 */
static int
jsonobj_parse(struct arena *a, const char *data, size_t len, struct body *out)
{
	struct json_tokener	*tok = NULL;
	struct json_object	*obj = NULL, *key = NULL, *val;
	struct body_field	*f;
	struct jscan		 scan;
	struct span		 name;
	const char		*s;
	size_t			 i, slen;
	int			 r, rc = -1;

	if (len > INT_MAX) {
		body_fail(out, NULL, E_JSON);
		goto fail;
	}
	tok = jtok_new();
	if (jtok_parse_all(tok, data, len, &obj) == -1) {
		body_fail(out, NULL, E_JSON);
		goto fail;
	}
	if (!json_object_is_type(obj, json_type_object)) {
		body_fail(out, NULL, E_NOT_OBJECT);
		goto fail;
	}
	memset(&scan, 0, sizeof(scan));
	scan.data = data;
	scan.len = len;
	while ((r = jscan_next_key(&scan, &name)) == 1) {
		if (jtok_parse_all(tok, name.p, name.len, &key) == -1 ||
		    !json_object_is_type(key, json_type_string))
			break;
		if (body_add_name(a, out, json_object_get_string(key),
		    json_object_get_string_len(key)) == NULL)
			goto fail;
		json_object_put(key);
		key = NULL;
	}
	if (r == -2) {
		body_fail(out, NULL, E_JSON);
		goto fail;
	}
	if (r == -3 || r == -4) {
		body_fail(out, r == -4 && out->nfields > 0 ?
		    out->fields[out->nfields - 1].name : NULL, E_UNICODE);
		goto fail;
	}
	if (r != 0 || key != NULL ||
	    out->nfields != (size_t)json_object_object_length(obj)) {
		log_warnx("body: JSON object and its text disagree");
		body_fail(out, NULL, E_JSON);
		goto fail;
	}
	for (i = 0; i < out->nfields; i++) {
		f = &out->fields[i];
		/* a NUL-free name finds its own, only, value */
		if (!json_object_object_get_ex(obj, f->name, &val)) {
			log_warnx("body: JSON key %zu not found again", i);
			body_fail(out, NULL, E_JSON);
			goto fail;
		}
		switch (json_object_get_type(val)) {
		case json_type_string:
			s = json_object_get_string(val);
			slen = json_object_get_string_len(val);
			break;
		case json_type_boolean:
			s = json_object_get_boolean(val) ? "true" : "false";
			slen = strlen(s);
			break;
		default:
			body_fail(out, f->name, E_NOT_STRING);
			goto fail;
		}
		if (body_set_value(a, out, f, s, slen) == -1)
			goto fail;
	}
	rc = 0;
fail:
	json_object_put(key);		/* harmless on NULL */
	json_object_put(obj);
	if (tok != NULL)
		json_tokener_free(tok);
	return rc;
}

/*
 * Parses a request body of len bytes whose Content-Type header is
 * content_type (NULL when absent) into out.  BODY_OK with the fields;
 * BODY_UNSUPPORTED_TYPE (415) for a non-empty body of another type or
 * charset; BODY_INVALID (422) with out->err_* set and no fields.  Names,
 * values and err_field live in the arena; err_msg and err_type are static.
 */
enum body_result
body_parse(struct arena *a, const char *content_type, const char *data,
    size_t len, struct body *out)
{
	struct span	 media, tok, boundary;
	const char	*p, *end;
	int		 rc;

	memset(out, 0, sizeof(*out));
	if (len == 0)
		return BODY_OK;		/* SPEC 2: whatever the type */
	if (content_type == NULL)
		return BODY_UNSUPPORTED_TYPE;
	p = content_type;
	end = p + strlen(p);
	skip_ows(&p, end);
	media.p = p;
	if (hdr_token(&p, end, &tok) == -1 || p == end || *p++ != '/' ||
	    hdr_token(&p, end, &tok) == -1)
		return BODY_UNSUPPORTED_TYPE;
	media.len = p - media.p;
	out->fields = arena_calloc(a, BODY_MAX_FIELDS, sizeof(*out->fields));
	if (span_ieq(&media, CT_JSON)) {
		if (ctype_utf8_only(a, p, end) == -1)
			return BODY_UNSUPPORTED_TYPE;
		rc = jsonobj_parse(a, data, len, out);
	} else if (span_ieq(&media, CT_FORM)) {
		if (ctype_utf8_only(a, p, end) == -1)
			return BODY_UNSUPPORTED_TYPE;
		rc = form_parse(a, data, len, out);
	} else if (span_ieq(&media, CT_MULTIPART)) {
		if (ctype_boundary(a, p, end, &boundary) == -1)
			rc = body_fail(out, NULL, E_BOUNDARY);
		else
			rc = multipart_parse(a, data, len, &boundary, out);
	} else
		return BODY_UNSUPPORTED_TYPE;
	if (rc == -1) {
		out->fields = NULL;
		out->nfields = 0;
		return BODY_INVALID;
	}
	return BODY_OK;
}

/* The value of field name, living in the arena, or NULL when absent. */
const char *
body_get(const struct body *b, const char *name)
{
	size_t	 i;

	if (b == NULL || name == NULL)
		return NULL;
	for (i = 0; i < b->nfields; i++)
		if (strcmp(b->fields[i].name, name) == 0)
			return b->fields[i].value;
	return NULL;
}
