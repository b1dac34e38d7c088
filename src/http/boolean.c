/*
 * Booleans the API reads (issue 13.4): a value that is neither a known
 * true nor a known false spelling is an error, never quietly false, so
 * "log out everywhere" cannot shrink to "log out here".  The handler
 * answers the 422.
 */
#include <stddef.h>

#include "http/body.h"
#include "http/boolean.h"
#include "http/ctx.h"
#include "http/reply.h"

#define E_BOOL		"bool_parsing", "Input should be a valid boolean, " \
			"unable to interpret input"
#define E_TWICE		"value_error", "Field given more than once"
#define E_QUERY		"value_error", \
			"Value error, the query string could not be parsed"

/* What Python's requests sends for True/False, and HTML's checkbox "on". */
static const char *const truths[] = { "true", "1", "yes", "on" };
static const char *const falsehoods[] = { "false", "0", "no", "off" };

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* ASCII only, as in body.c: the locale must not matter. */
static int
ascii_ieq(const char *s, const char *lower)
{
	for (; *s != '\0' && *lower != '\0'; s++, lower++)
		if ((*s >= 'A' && *s <= 'Z' ? *s - 'A' + 'a' : *s) != *lower)
			return 0;
	return *s == *lower;
}

/*
 * BOOLEAN_TRUE for true, 1, yes, on; BOOLEAN_FALSE for false, 0, no, off
 * (ASCII letters in any case; JSON true and false reach us as "true" and
 * "false") and for NULL, an absent value; BOOLEAN_INVALID for anything
 * else, "" and surrounding blanks included.
 */
enum boolean
boolean_parse(const char *v)
{
	size_t	 i;

	if (v == NULL)
		return BOOLEAN_FALSE;
	for (i = 0; i < NELEM(truths); i++)
		if (ascii_ieq(v, truths[i]))
			return BOOLEAN_TRUE;
	for (i = 0; i < NELEM(falsehoods); i++)
		if (ascii_ieq(v, falsehoods[i]))
			return BOOLEAN_FALSE;
	return BOOLEAN_INVALID;
}

static int
fail(struct reply_field_error *e, const char *field, const char *type,
    const char *msg)
{
	e->field = field;
	e->type = type;
	e->msg = msg;
	return -1;
}

/*
 * The boolean name, a field of body (NULL: none) or a query parameter,
 * absent meaning false.  0 with *value 0 or 1; -1 with *e set for a 422
 * on name when the value is not a boolean (boolean_parse()), when it is
 * given in both the body and the query, or when the query does not parse
 * (it may hold the parameter; a body given twice or unparsable was
 * refused by body_parse() already).
 */
int
boolean_param(struct ctx *ctx, const struct body *body, const char *name,
    int *value, struct reply_field_error *e)
{
	const char	*bv, *qv;
	enum boolean	 r;
	int		 q;

	*value = 0;
	if ((q = ctx_query_lookup(ctx, name, &qv)) == -1)
		return fail(e, name, E_QUERY);
	bv = body_get(body, name);
	if (bv != NULL && q == 1)
		return fail(e, name, E_TWICE);
	if ((r = boolean_parse(bv != NULL ? bv : qv)) == BOOLEAN_INVALID)
		return fail(e, name, E_BOOL);
	*value = r == BOOLEAN_TRUE;
	return 0;
}
