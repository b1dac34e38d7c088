/*
 * Responses: status line, headers (JSON content type, CORS for allowed
 * origins, the request id), and bodies in the shapes the MockPie web
 * client reads: {"detail": "..."} and FastAPI's 422 list (SPEC 2).
 */
#ifndef MOCKPIE_REPLY_H
#define MOCKPIE_REPLY_H

#include <stddef.h>

#include <json-c/json.h>

struct ctx;

/* One invalid field of a 422 answer. */
struct reply_field_error {
	const char	*field;		/* NULL: the body as a whole */
	const char	*msg;
	const char	*type;
};

#define REPLY_JSON	"application/json; charset=utf-8"

int	reply_raw(struct ctx *, int, const char *, size_t);
int	reply_typed(struct ctx *, int, const char *, const char *, size_t);
int	reply_json(struct ctx *, int, struct json_object *);
int	reply_error(struct ctx *, int, const char *);
int	reply_invalid(struct ctx *, const struct reply_field_error *, size_t);
int	reply_unauthorized(struct ctx *, const char *, int);
int	reply_empty(struct ctx *, int);
const char *reply_reason(int);

#endif
