/*
 * USER serialised (user_json.h).  The member list is written twice, once
 * per form; tests/check_jsonw.c holds them to the same output.
 */
#include "lib/arena.h"
#include "lib/jsonh.h"
#include "lib/jsonw.h"
#include "app/user_json.h"
#include "store/users.h"

#define USER_KEYS_MAX	128	/* the keys below with their punctuation */
#define USER_NUMS_MAX	96	/* id and two times */

struct json_object *
user_json(const struct user *u)
{
	struct json_object	*o = jsonh_object();

	jsonh_add_int(o, "id", u->id);
	jsonh_add_str(o, "first_name", u->first_name);
	jsonh_add_str(o, "last_name", u->last_name);
	jsonh_add_str(o, "username", u->username);
	jsonh_add_str(o, "email", u->email);
	jsonh_add_str(o, "phone_number", u->phone_number);
	jsonh_add_str(o, "gender", u->gender);
	jsonh_add_time(o, "created_at", u->created_at);
	jsonh_add_time(o, "updated_at", u->updated_at);
	return o;
}

/* The same object as text in arena, *len bytes; NULL if it cannot be. */
const char *
user_json_text(const struct user *u, struct arena *arena, size_t *len)
{
	struct jsonw	 w;

	jsonw_begin(&w, arena, USER_KEYS_MAX + USER_NUMS_MAX +
	    jsonw_str_max(u->first_name) + jsonw_str_max(u->last_name) +
	    jsonw_str_max(u->username) + jsonw_str_max(u->email) +
	    jsonw_str_max(u->phone_number) + jsonw_str_max(u->gender));
	jsonw_int(&w, "id", u->id);
	jsonw_str(&w, "first_name", u->first_name);
	jsonw_str(&w, "last_name", u->last_name);
	jsonw_str(&w, "username", u->username);
	jsonw_str(&w, "email", u->email);
	jsonw_str(&w, "phone_number", u->phone_number);
	jsonw_str(&w, "gender", u->gender);
	jsonw_time(&w, "created_at", u->created_at);
	jsonw_time(&w, "updated_at", u->updated_at);
	return jsonw_end(&w, len);
}
