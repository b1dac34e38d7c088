/*
 * json-c helpers.  json-c reports allocation failure by returning NULL or
 * -1; we treat it like any allocation failure: the worker exits and the
 * master starts a fresh one.
 */
#include "lib/jsonh.h"
#include "lib/log.h"

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

static void
put2(char *p, long v)
{
	p[0] = (char)('0' + v / 10);
	p[1] = (char)('0' + v % 10);
}

/*
 * Writes t as ISO 8601 UTC with Z (SPEC 2).  By hand, not gmtime_r and
 * strftime, which cost /auth/me about 2,700 instructions for its two
 * times: days to a civil date as in Howard Hinnant's days_from_civil
 * inverse (proleptic Gregorian, any year 0-9999; others are clamped).
 */
void
jsonh_time(time_t t, char out[JSONH_TIME_LEN + 1])
{
	long long	 days, secs, era, doe, yoe, doy, mp, y, m, d;

	if (t < -62167219200LL)			/* 0000-01-01 */
		t = -62167219200LL;
	if (t > 253402300799LL)			/* 9999-12-31T23:59:59 */
		t = 253402300799LL;
	days = t / 86400;
	secs = t % 86400;
	if (secs < 0) {
		secs += 86400;
		days--;
	}
	days += 719468;
	era = (days >= 0 ? days : days - 146096) / 146097;
	doe = days - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	d = doy - (153 * mp + 2) / 5 + 1;
	m = mp < 10 ? mp + 3 : mp - 9;
	y = yoe + era * 400 + (m <= 2);
	put2(out, (long)(y / 100));
	put2(out + 2, (long)(y % 100));
	out[4] = '-';
	put2(out + 5, (long)m);
	out[7] = '-';
	put2(out + 8, (long)d);
	out[10] = 'T';
	put2(out + 11, (long)(secs / 3600));
	out[13] = ':';
	put2(out + 14, (long)(secs / 60 % 60));
	out[16] = ':';
	put2(out + 17, (long)(secs % 60));
	out[19] = 'Z';
	out[20] = '\0';
}

void
jsonh_add_time(struct json_object *obj, const char *key, time_t t)
{
	char	 buf[JSONH_TIME_LEN + 1];

	jsonh_time(t, buf);
	jsonh_add_str(obj, key, buf);
}
