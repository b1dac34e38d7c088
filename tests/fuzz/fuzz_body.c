/*
 * Fuzz target for the request-body parsers (src/http/body.c).  The first byte,
 * modulo 4, picks the Content-Type: 0 urlencoded, 1 JSON, 2 multipart with
 * a fixed browser boundary, 3 the header itself, read from the input up to
 * the first newline (boundary and charset parameters, other types); the
 * rest is the body.  Whatever body_parse returns must be self-consistent,
 * and a JSON body it accepts must be JSON (RFC 8259) with one field per
 * member.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/arena.h"
#include "http/body.h"
#include "fuzz.h"
#include "lib/log.h"

#define FUZZ_ARENA_SIZE		(64 * 1024)
#define FUZZ_CTYPE_MAX		512	/* bytes of a Content-Type, mode 3 */
/* what JSON text holds outside strings: blanks, structure, numbers, and
 * the letters of true, false and null */
#define FUZZ_JSON_BYTES		" \t\r\n{}[]:,-+.0123456789eEtruefalsn"
#define FUZZ_BOUNDARY		"----WebKitFormBoundary7MA4YWxkTrZu0gW"

static struct arena	*arena;

static void
fuzz_body_cleanup(void)
{
	arena_free(arena);
	arena = NULL;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_init("fuzz_body", LOG_LEVEL_WARN);
	arena = arena_new(FUZZ_ARENA_SIZE);
	atexit(fuzz_body_cleanup);
	return 0;
}

/*
 * The number of members of the top-level object in text, counted by a
 * scan of its own, not body.c's; -1 when the text cannot be RFC 8259
 * JSON: a byte outside strings that no JSON token holds (a single quote,
 * a comment, NaN) or an unterminated string.  Raw control characters
 * inside strings are json-c's leniency, and harmless: escapes give the
 * same values, so they are not checked.
 */
static long
fuzz_json_members(const char *s, size_t len)
{
	size_t	 i;
	long	 commas = 0;
	int	 depth = 0, any = 0;

	for (i = 0; i < len; i++) {
		if (s[i] == '"') {
			for (i++; i < len && s[i] != '"'; i++)
				if (s[i] == '\\')
					i++;
			if (i >= len)
				return -1;
			any |= depth == 1;
			continue;
		}
		if (s[i] == '\0' || strchr(FUZZ_JSON_BYTES, s[i]) == NULL)
			return -1;
		if (s[i] == '{' || s[i] == '[')
			depth++;
		else if (s[i] == '}' || s[i] == ']')
			depth--;
		else if (s[i] == ',' && depth == 1)
			commas++;
	}
	return any ? commas + 1 : 0;
}

/* 1 when the Content-Type names application/json, as body.c reads it. */
static int
fuzz_is_json(const char *ct)
{
	static const char	 json[] = "application/json";

	ct += strspn(ct, " \t");
	/* strchr finds the terminating NUL too: "application/json" alone */
	return strncasecmp(ct, json, sizeof(json) - 1) == 0 &&
	    strchr("; \t", ct[sizeof(json) - 1]) != NULL;
}

/* What body.h promises of each outcome. */
static void
fuzz_body_check(enum body_result r, const struct body *b, const char *ct,
    const char *data, size_t len)
{
	size_t	 i, j;

	if (len == 0)
		FUZZ_CHECK(r == BODY_OK);	/* SPEC 2: no body, no type */
	switch (r) {
	case BODY_OK:
		FUZZ_CHECK(b->nfields <= BODY_MAX_FIELDS);
		FUZZ_CHECK(b->nfields == 0 || b->fields != NULL);
		for (i = 0; i < b->nfields; i++) {
			FUZZ_CHECK(b->fields[i].name != NULL);
			FUZZ_CHECK(b->fields[i].value != NULL);
			FUZZ_CHECK(strlen(b->fields[i].name) <= BODY_MAX_NAME);
			/* no NUL inside a value */
			FUZZ_CHECK(strlen(b->fields[i].value) ==
			    b->fields[i].len);
			for (j = 0; j < i; j++)
				FUZZ_CHECK(strcmp(b->fields[i].name,
				    b->fields[j].name) != 0);
			FUZZ_CHECK(body_get(b, b->fields[i].name) ==
			    b->fields[i].value);
		}
		/* SPEC 2, PITFALLS json-c: strict JSON, duplicates refused */
		if (len > 0 && fuzz_is_json(ct))
			FUZZ_CHECK(fuzz_json_members(data, len) ==
			    (long)b->nfields);
		break;
	case BODY_INVALID:
		FUZZ_CHECK(b->nfields == 0 && b->fields == NULL);
		FUZZ_CHECK(b->err_msg != NULL && b->err_type != NULL);
		FUZZ_CHECK(b->err_field == NULL ||
		    strlen(b->err_field) <= BODY_MAX_NAME);
		break;
	case BODY_UNSUPPORTED_TYPE:
		FUZZ_CHECK(b->nfields == 0);
		break;
	default:
		FUZZ_CHECK(!"a body_result");
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char		 ctype[FUZZ_CTYPE_MAX + 1];
	const char	*ct, *body, *nl;
	struct body	 b;
	size_t		 len, n;

	if (size == 0)
		return 0;
	body = (const char *)data + 1;
	len = size - 1;
	switch (data[0] % 4) {
	case 0:
		ct = "application/x-www-form-urlencoded";
		break;
	case 1:
		ct = "application/json";
		break;
	case 2:
		ct = "multipart/form-data; boundary=" FUZZ_BOUNDARY;
		break;
	default:
		/* a header is a C string: an embedded NUL ends it */
		if ((nl = memchr(body, '\n', len)) == NULL)
			return 0;
		n = (size_t)(nl - body);
		if (n > FUZZ_CTYPE_MAX)
			return 0;
		memcpy(ctype, body, n);
		ctype[n] = '\0';
		ct = ctype;
		len -= n + 1;
		body = nl + 1;
		break;
	}
	fuzz_body_check(body_parse(arena, ct, body, len, &b), &b, ct, body,
	    len);
	arena_reset(arena);
	return 0;
}
