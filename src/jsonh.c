/*
 * json-c helpers.  json-c reports allocation failure by returning NULL or
 * -1; we treat it like any allocation failure: the worker exits and the
 * master starts a fresh one.
 */
#include "jsonh.h"
#include "log.h"

/* json_object_put() for arena_defer(). */
void
jsonh_put(void *obj)
{
	json_object_put(obj);
}

/* A new empty object; never NULL. */
struct json_object *
jsonh_object(void)
{
	struct json_object	*o;

	if ((o = json_object_new_object()) == NULL)
		log_fatalx("json-c: out of memory");
	return o;
}

/* Adds key: value to obj, taking value (NULL adds JSON null). */
void
jsonh_add(struct json_object *obj, const char *key, struct json_object *value)
{
	if (json_object_object_add(obj, key, value) != 0)
		log_fatalx("json-c: out of memory");
}

/* Adds key: "s", or key: null when s is NULL. */
void
jsonh_add_str(struct json_object *obj, const char *key, const char *s)
{
	struct json_object	*v = NULL;

	if (s != NULL && (v = json_object_new_string(s)) == NULL)
		log_fatalx("json-c: out of memory");
	jsonh_add(obj, key, v);
}

void
jsonh_add_int(struct json_object *obj, const char *key, long long n)
{
	struct json_object	*v;

	if ((v = json_object_new_int64(n)) == NULL)
		log_fatalx("json-c: out of memory");
	jsonh_add(obj, key, v);
}

/* Writes t as ISO 8601 UTC with Z (SPEC 2). */
void
jsonh_time(time_t t, char out[JSONH_TIME_LEN + 1])
{
	struct tm	 tm;

	gmtime_r(&t, &tm);
	strftime(out, JSONH_TIME_LEN + 1, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void
jsonh_add_time(struct json_object *obj, const char *key, time_t t)
{
	char	 buf[JSONH_TIME_LEN + 1];

	jsonh_time(t, buf);
	jsonh_add_str(obj, key, buf);
}
