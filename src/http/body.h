/*
 * Request-body parsers (SPEC 2): urlencoded, multipart/form-data and JSON
 * objects of strings, into one flat list of fields living in the arena.
 * Reading and bounding the body is the request context's job.
 */
#ifndef MOCKPIE_BODY_H
#define MOCKPIE_BODY_H

#include <stddef.h>

struct arena;

#define BODY_MAX_FIELDS		32	/* more -> BODY_INVALID */
#define BODY_MAX_NAME		64	/* bytes of a field name */
#define BODY_MAX_BOUNDARY	70	/* RFC 2046 5.1.1 */
#define BODY_MAX_PART_HEADER	2048	/* bytes of a part's headers */
#define BODY_JSON_DEPTH		4	/* json-c nesting limit */

enum body_result {
	BODY_OK = 0,
	BODY_UNSUPPORTED_TYPE,		/* 415 */
	BODY_INVALID			/* 422 */
};

struct body_field {
	const char	*name;
	const char	*value;
	size_t		 len;		/* value bytes */
};

struct body {
	struct body_field	*fields;
	size_t			 nfields;
	/* when BODY_INVALID: FastAPI-style error parts for a 422 */
	const char	*err_field;	/* the field at fault, or NULL */
	const char	*err_msg;	/* "JSON decode error", ... */
	const char	*err_type;	/* "json_invalid", "string_type" */
};

enum body_result body_parse(struct arena *, const char *, const char *,
		    size_t, struct body *);
const char	*body_get(const struct body *, const char *);

#endif
