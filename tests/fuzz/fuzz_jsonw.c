/*
 * Fuzz target for the hand-written USER of /auth/me (src/app/user_json.c over
 * src/lib/jsonw.c).  The input is cut at NUL bytes into the six string fields
 * of a user; the text written for it must parse back, under json-c's
 * strict parser, to the object json-c builds for the same user.  Fields
 * that are not valid UTF-8 (the database could hold them) must still
 * leave a well-formed object, checked without UTF-8 validation.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "lib/arena.h"
#include "fuzz.h"
#include "lib/log.h"
#include "app/user_json.h"
#include "store/users.h"

#define FUZZ_FIELDS	6

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_init("fuzz_jsonw", LOG_LEVEL_WARN);
	return 0;
}

static struct json_object *
parse(const char *s, size_t len, int utf8)
{
	struct json_tokener	*tok;
	struct json_object	*o;

	if ((tok = json_tokener_new_ex(8)) == NULL)
		abort();
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
	    (utf8 ? JSON_TOKENER_VALIDATE_UTF8 : 0));
	o = json_tokener_parse_ex(tok, s, (int)len);
	if (o != NULL && json_tokener_get_parse_end(tok) != len) {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	return o;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char			*buf, *f[FUZZ_FIELDS], *p;
	struct arena		*arena;
	struct json_object	*want, *got;
	struct user		 u;
	const char		*text;
	size_t			 len;
	int			 i;

	if (size > FUZZ_FIELDS * USERS_FIELD_MAX)
		return 0;
	if ((buf = malloc(size + 1)) == NULL)
		abort();
	memcpy(buf, data, size);
	buf[size] = '\0';
	for (p = buf, i = 0; i < FUZZ_FIELDS; i++) {
		f[i] = p;
		p += strlen(p);
		if (p < buf + size)
			p++;
	}
	memset(&u, 0, sizeof(u));
	u.id = (long long)size * 7919 - 4096;
	u.first_name = f[0];
	u.last_name = f[1];
	u.username = f[2];
	u.email = f[3];
	u.phone_number = f[4];
	u.gender = f[5];
	u.created_at = (time_t)size * 86400;
	arena = arena_new(4096);
	FUZZ_CHECK((text = user_json_text(&u, arena, &len)) != NULL);
	FUZZ_CHECK(strlen(text) == len);
	want = user_json(&u);
	/* json-c's output parses under UTF-8 validation only when it holds */
	if ((got = parse(text, len, 1)) == NULL)
		FUZZ_CHECK((got = parse(text, len, 0)) != NULL);
	FUZZ_CHECK(json_object_equal(got, want));
	json_object_put(got);
	json_object_put(want);
	arena_free(arena);
	free(buf);
	return 0;
}
