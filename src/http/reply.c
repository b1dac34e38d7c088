/*
 * Response writer.  Everything a reply writes goes into libfcgi's output
 * buffer and leaves in one FastCGI record at the end of the request.
 */
#include <stdio.h>
#include <string.h>

#include "lib/arena.h"
#include "http/ctx.h"
#include "lib/jsonh.h"
#include "lib/log.h"
#include "http/reply.h"

#define REPLY_HEAD_MAX	(CTX_HEADERS_MAX + 512)

/* The reason phrase of the statuses mockpie answers with. */
const char *
reply_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 413: return "Payload Too Large";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Entity";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default: return "Unknown";
	}
}

/* A bounded buffer the head is assembled in, without printf. */
struct head {
	char	 buf[REPLY_HEAD_MAX];
	size_t	 len;
	int	 overflow;
};

static void
head_put(struct head *h, const char *s, size_t n)
{
	if (h->overflow || n > sizeof(h->buf) - h->len) {
		h->overflow = 1;
		return;
	}
	memcpy(h->buf + h->len, s, n);
	h->len += n;
}

static void
head_str(struct head *h, const char *s)
{
	head_put(h, s, strlen(s));
}

static void
head_num(struct head *h, unsigned long long v)
{
	char	 d[24];
	size_t	 i = sizeof(d);

	do
		d[--i] = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	head_put(h, d + i, sizeof(d) - i);
}

/*
 * The CGI head: status, content type, the handler's headers, CORS for an
 * allowed origin (SPEC 2: on every response), the request id and the
 * length.  Assembled by hand: snprintf cost /auth/me about 3,500
 * instructions of its 31,000.
 */
static int
write_head(struct ctx *ctx, int status, size_t body_len,
    const char *content_type)
{
	struct head	 h;

	if (ctx->replied) {
		log_errorx("second reply to one request (status %d)", status);
		return -1;
	}
	ctx->replied = 1;
	ctx->status = status;
	h.len = 0;
	h.overflow = 0;
	head_str(&h, "Status: ");
	head_num(&h, (unsigned)status);
	head_str(&h, " ");
	head_str(&h, reply_reason(status));
	head_str(&h, "\r\n");
	if (content_type != NULL) {
		head_str(&h, "Content-Type: ");
		head_str(&h, content_type);
		head_str(&h, "\r\n");
	}
	head_put(&h, ctx->headers, ctx->headers_len);
	if (ctx->origin != NULL) {
		head_str(&h, "Access-Control-Allow-Origin: ");
		head_str(&h, ctx->origin);
		head_str(&h, "\r\nVary: Origin\r\n"
		    "Access-Control-Expose-Headers: Retry-After, "
		    "WWW-Authenticate\r\n");
	}
	head_str(&h, "X-Request-Id: ");
	head_str(&h, ctx->request_id);
	head_str(&h, "\r\nContent-Length: ");
	head_num(&h, body_len);
	head_str(&h, "\r\n\r\n");
	if (h.overflow)
		return -1;
	return ctx_write(ctx, h.buf, h.len);
}

/* Answers status with the JSON text body: 0, or -1 (client gone). */
int
reply_raw(struct ctx *ctx, int status, const char *body, size_t len)
{
	return reply_typed(ctx, status, REPLY_JSON, body, len);
}

/* Answers status with body of the given content type. */
int
reply_typed(struct ctx *ctx, int status, const char *content_type,
    const char *body, size_t len)
{
	if (write_head(ctx, status, len, content_type) == -1)
		return -1;
	return ctx_write(ctx, body, len);
}

/* Answers status with obj serialised; the caller keeps obj. */
int
reply_json(struct ctx *ctx, int status, struct json_object *obj)
{
	const char	*s;
	size_t		 len;

	s = json_object_to_json_string_length(obj, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	if (s == NULL)
		log_fatalx("json-c: out of memory");
	return reply_raw(ctx, status, s, len);
}

/* {"detail": "<detail>"} with status. */
int
reply_error(struct ctx *ctx, int status, const char *detail)
{
	struct json_object	*o = jsonh_object();
	int			 rc;

	jsonh_add_str(o, "detail", detail);
	rc = reply_json(ctx, status, o);
	json_object_put(o);
	return rc;
}

/* 422 with one {"loc", "msg", "type"} entry per bad field (FastAPI). */
int
reply_invalid(struct ctx *ctx, const struct reply_field_error *errs,
    size_t n)
{
	struct json_object	*o = jsonh_object(), *list, *e, *loc;
	size_t			 i;
	int			 rc;

	if ((list = json_object_new_array()) == NULL)
		log_fatalx("json-c: out of memory");
	for (i = 0; i < n; i++) {
		e = jsonh_object();
		if ((loc = json_object_new_array()) == NULL)
			log_fatalx("json-c: out of memory");
		json_object_array_add(loc, json_object_new_string("body"));
		if (errs[i].field != NULL)
			json_object_array_add(loc,
			    json_object_new_string(errs[i].field));
		jsonh_add(e, "loc", loc);
		jsonh_add_str(e, "msg", errs[i].msg);
		jsonh_add_str(e, "type", errs[i].type);
		json_object_array_add(list, e);
	}
	jsonh_add(o, "detail", list);
	rc = reply_json(ctx, 422, o);
	json_object_put(o);
	return rc;
}

/*
 * 401 with WWW-Authenticate: Bearer, naming error="invalid_token" when a
 * bearer token was presented but is bad (RFC 6750 3.1).
 */
int
reply_unauthorized(struct ctx *ctx, const char *detail, int token_presented)
{
	ctx_add_header(ctx, "WWW-Authenticate", token_presented ?
	    "Bearer error=\"invalid_token\"" : "Bearer");
	return reply_error(ctx, 401, detail);
}

/* A reply without a body (204 preflight). */
int
reply_empty(struct ctx *ctx, int status)
{
	return write_head(ctx, status, 0, NULL);
}
