/*
 * Booleans the API reads (issue 13.4: logout's "all", /health's "ready"):
 * one spelling table and one rule for where a value may come from.
 */
#ifndef MOCKPIE_BOOLEAN_H
#define MOCKPIE_BOOLEAN_H

struct body;
struct ctx;
struct reply_field_error;

enum boolean {
	BOOLEAN_INVALID = -1,
	BOOLEAN_FALSE = 0,
	BOOLEAN_TRUE = 1
};

enum boolean	 boolean_parse(const char *);
int		 boolean_param(struct ctx *, const struct body *,
		    const char *, int *, struct reply_field_error *);

#endif
