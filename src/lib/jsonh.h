/*
 * json-c helpers: building response objects, ISO 8601 times, and handing
 * objects to the request arena.  json-c itself owns the json_ prefix.
 */
#ifndef MOCKPIE_JSONH_H
#define MOCKPIE_JSONH_H

#include <time.h>

#include <json-c/json.h>

#define JSONH_TIME_LEN	20	/* 2026-11-25T23:59:59Z */

void		 jsonh_put(void *);
void		 jsonh_add_str(struct json_object *, const char *, const char *);
void		 jsonh_add_int(struct json_object *, const char *, long long);
void		 jsonh_add_time(struct json_object *, const char *, time_t);
void		 jsonh_add(struct json_object *, const char *,
		    struct json_object *);
struct json_object *jsonh_object(void);
void		 jsonh_time(time_t, char [JSONH_TIME_LEN + 1]);

#endif
