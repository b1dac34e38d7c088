/*
 * USER as the API answers it (id, names, username, email, phone number,
 * gender, times; never a hash or a stamp): as a json-c object to nest in
 * token responses, and as text written directly for /auth/me's hot path.
 * Both give the same members in the same order.
 */
#ifndef MOCKPIE_USER_JSON_H
#define MOCKPIE_USER_JSON_H

#include <stddef.h>

#include <json-c/json.h>

struct arena;
struct user;

struct json_object	*user_json(const struct user *);
const char		*user_json_text(const struct user *, struct arena *,
			    size_t *);

#endif
