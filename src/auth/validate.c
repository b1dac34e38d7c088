/*
 * Field rules of /auth/register and /auth/login (SPEC 2), reported one
 * entry per bad field in field order, worded like Pydantic v2.  Uniqueness
 * and the password confirmation's 400 are the handler's.
 */
#include <stdint.h>
#include <string.h>

#include "lib/arena.h"
#include "auth/email.h"
#include "auth/passlist.h"
#include "auth/validate.h"

#define STR(x)	#x
#define XSTR(x)	STR(x)

#define MSG_MISSING	"Field required"
#define MSG_AT_LEAST(n)	"String should have at least " XSTR(n) " characters"
#define MSG_AT_MOST(n)	"String should have at most " XSTR(n) " characters"
#define MSG_PATTERN(p)	"String should match pattern '" p "'"
#define MSG_GENDER	\
	"Input should be 'male', 'female' or 'prefer_not_to_say'"
#define MSG_EMAIL	"value is not a valid email address: "
#define MSG_NAME_CTRL	\
	"Value error, Name must contain only printable characters"
#define MSG_PW_CTRL	\
	"Value error, Password must contain only printable characters"
#define MSG_PW_SAME	\
	"Value error, Password must not equal the email or username"
#define MSG_PW_COMMON	"Value error, Password is too common"

#define T_MISSING	"missing"
#define T_SHORT		"string_too_short"
#define T_LONG		"string_too_long"
#define T_PATTERN	"string_pattern_mismatch"
#define T_VALUE		"value_error"
#define T_ENUM		"enum"

struct bounds {
	size_t		 min, max;
	const char	*min_msg, *max_msg;
};

static const struct bounds name_bounds = {
	VALIDATE_NAME_MIN, VALIDATE_NAME_MAX,
	MSG_AT_LEAST(VALIDATE_NAME_MIN), MSG_AT_MOST(VALIDATE_NAME_MAX)
};
static const struct bounds username_bounds = {
	VALIDATE_USERNAME_MIN, VALIDATE_USERNAME_MAX,
	MSG_AT_LEAST(VALIDATE_USERNAME_MIN), MSG_AT_MOST(VALIDATE_USERNAME_MAX)
};
static const struct bounds password_bounds = {
	VALIDATE_PASSWORD_MIN, VALIDATE_PASSWORD_MAX,
	MSG_AT_LEAST(VALIDATE_PASSWORD_MIN), MSG_AT_MOST(VALIDATE_PASSWORD_MAX)
};

static const char *const genders[] = { "male", "female",
    "prefer_not_to_say" };

/*
 * Decodes the code point at s into *cp and returns the bytes it takes, 0
 * at the terminating NUL.  A byte that does not start a well-formed
 * sequence (RFC 3629: no overlongs, surrogates or values past U+10FFFF)
 * takes 1 byte with *cp = -1.  Never reads past a NUL.
 */
static size_t
utf8_next(const char *str, int32_t *cp)
{
	const unsigned char	*s = (const unsigned char *)str;
	int32_t			 c;

	*cp = -1;
	if (s[0] == '\0')
		return 0;
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		if ((s[1] & 0xc0) != 0x80)
			return 1;
		*cp = (int32_t)(s[0] & 0x1f) << 6 | (s[1] & 0x3f);
		return 2;
	}
	if (s[0] >= 0xe0 && s[0] <= 0xef) {
		if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
			return 1;
		c = (int32_t)(s[0] & 0x0f) << 12 | (int32_t)(s[1] & 0x3f) << 6 |
		    (s[2] & 0x3f);
		if (c < 0x800 || (c >= 0xd800 && c <= 0xdfff))
			return 1;
		*cp = c;
		return 3;
	}
	if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 ||
		    (s[3] & 0xc0) != 0x80)
			return 1;
		c = (int32_t)(s[0] & 0x07) << 18 |
		    (int32_t)(s[1] & 0x3f) << 12 |
		    (int32_t)(s[2] & 0x3f) << 6 | (s[3] & 0x3f);
		if (c < 0x10000 || c > 0x10ffff)
			return 1;
		*cp = c;
		return 4;
	}
	return 1;
}

static size_t
utf8_put(char *dst, int32_t c)
{
	unsigned char	*d = (unsigned char *)dst;

	if (c < 0x80) {
		d[0] = (unsigned char)c;
		return 1;
	}
	if (c < 0x800) {
		d[0] = (unsigned char)(0xc0 | c >> 6);
		d[1] = (unsigned char)(0x80 | (c & 0x3f));
		return 2;
	}
	if (c < 0x10000) {
		d[0] = (unsigned char)(0xe0 | c >> 12);
		d[1] = (unsigned char)(0x80 | (c >> 6 & 0x3f));
		d[2] = (unsigned char)(0x80 | (c & 0x3f));
		return 3;
	}
	d[0] = (unsigned char)(0xf0 | c >> 18);
	d[1] = (unsigned char)(0x80 | (c >> 12 & 0x3f));
	d[2] = (unsigned char)(0x80 | (c >> 6 & 0x3f));
	d[3] = (unsigned char)(0x80 | (c & 0x3f));
	return 4;
}

/*
 * Lower case of c as Python's str.lower() gives it, for ASCII, Latin-1,
 * Latin Extended-A, Greek, Cyrillic and Armenian capitals (checked against
 * Python for U+0000-U+05FF); other code points are left alone.
 * Every mapping keeps the UTF-8 length, so folding never moves bytes.
 * U+0130 (lowered to two code points) and Greek final sigma are left out.
 */
static int32_t
fold_cp(int32_t c)
{
	if (c >= 'A' && c <= 'Z')
		return c + 0x20;
	if (c < 0xc0)
		return c;
	if (c <= 0xde)
		return c == 0xd7 ? c : c + 0x20;
	if (c >= 0x100 && c <= 0x17f) {
		if (c == 0x130 || c == 0x138 || c == 0x149 || c == 0x17f)
			return c;
		if (c == 0x178)
			return 0xff;
		if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17e))
			return (c & 1) ? c + 1 : c;
		return (c & 1) ? c : c + 1;
	}
	if (c == 0x386)
		return 0x3ac;
	if (c >= 0x388 && c <= 0x38a)
		return c + 0x25;
	if (c == 0x38c)
		return 0x3cc;
	if (c == 0x38e || c == 0x38f)
		return c + 0x3f;
	if (c >= 0x391 && c <= 0x3ab && c != 0x3a2)
		return c + 0x20;
	if (c >= 0x400 && c <= 0x40f)
		return c + 0x50;
	if (c >= 0x410 && c <= 0x42f)
		return c + 0x20;
	if ((c >= 0x460 && c <= 0x481) || (c >= 0x48a && c <= 0x4bf) ||
	    (c >= 0x4d0 && c <= 0x52f))
		return (c & 1) ? c : c + 1;
	if (c == 0x4c0)
		return 0x4cf;
	if (c >= 0x4c1 && c <= 0x4ce)
		return (c & 1) ? c + 1 : c;
	if (c >= 0x531 && c <= 0x556)
		return c + 0x30;
	return c;
}

/* C0, DEL and C1 controls, and bytes that are not UTF-8. */
static int
is_control(int32_t c)
{
	return c < 0x20 || (c >= 0x7f && c <= 0x9f);
}

static int
all_printable(const char *s)
{
	int32_t	 c;
	size_t	 len;

	while ((len = utf8_next(s, &c)) != 0) {
		if (c == -1 || is_control(c))
			return 0;
		s += len;
	}
	return 1;
}

/*
 * Code points in the NUL-terminated s; a byte that is not UTF-8 counts as
 * one.  NULL counts 0.
 */
size_t
validate_utf8_chars(const char *s)
{
	int32_t	 c;
	size_t	 n, len;

	if (s == NULL)
		return 0;
	for (n = 0; (len = utf8_next(s, &c)) != 0; n++)
		s += len;
	return n;
}

/*
 * Writes src lower-cased (fold_cp()) into dst of dstlen bytes; dst may be
 * src.  Returns 0, or -1 when dst is too small (strlen(src) + 1 always
 * suffices: folding keeps the byte length).  Bytes that are not UTF-8 are
 * copied unchanged.
 */
int
validate_fold(char *dst, size_t dstlen, const char *src)
{
	int32_t	 c;
	size_t	 len, off;

	if (strlen(src) >= dstlen)
		return -1;
	off = 0;
	while ((len = utf8_next(src + off, &c)) != 0) {
		if (c == -1)
			dst[off] = src[off];
		else
			utf8_put(dst + off, fold_cp(c));
		off += len;
	}
	dst[off] = '\0';
	return 0;
}

/*
 * 1 when a and b are equal after folding both (validate_fold()), else 0;
 * NULL equals nothing.  No allocation.
 */
int
validate_equal_nocase(const char *a, const char *b)
{
	int32_t	 ca, cb;
	size_t	 la, lb;

	if (a == NULL || b == NULL)
		return 0;
	for (;;) {
		la = utf8_next(a, &ca);
		lb = utf8_next(b, &cb);
		if (la != lb)
			return 0;
		if (la == 0)
			return 1;
		if (ca == -1 || cb == -1) {
			if (*a != *b)
				return 0;
		} else if (fold_cp(ca) != fold_cp(cb))
			return 0;
		a += la;
		b += lb;
	}
}

/*
 * 1 when the password and its confirmation are the same bytes, else 0
 * (a mismatch is the handler's 400 "Passwords do not match", not a 422).
 */
int
validate_passwords_match(const char *pw, const char *confirm)
{
	if (pw == NULL || confirm == NULL)
		return 0;
	return strcmp(pw, confirm) == 0;
}

static void
add(struct field_errors *errs, const char *field, const char *msg,
    const char *type)
{
	if (errs->n >= VALIDATE_MAX_ERRORS)
		return;
	errs->e[errs->n].field = field;
	errs->e[errs->n].msg = msg;
	errs->e[errs->n].type = type;
	errs->n++;
}

/* FastAPI's forms read an empty field as absent: both are "missing". */
static int
present(struct field_errors *errs, const char *field, const char *v)
{
	if (v != NULL && *v != '\0')
		return 1;
	add(errs, field, MSG_MISSING, T_MISSING);
	return 0;
}

/* Pydantic checks lengths before patterns and validators: so do we. */
static int
length_ok(struct field_errors *errs, const char *field, const char *v,
    const struct bounds *b)
{
	size_t	 n = validate_utf8_chars(v);

	if (n < b->min)
		add(errs, field, b->min_msg, T_SHORT);
	else if (n > b->max)
		add(errs, field, b->max_msg, T_LONG);
	else
		return 1;
	return 0;
}

static void
check_name(struct field_errors *errs, const char *field, const char *v)
{
	if (!present(errs, field, v) || !length_ok(errs, field, v,
	    &name_bounds))
		return;
	if (!all_printable(v))
		add(errs, field, MSG_NAME_CTRL, T_VALUE);
}

/* Present and with a canonical form (email_canonical()). */
static void
check_email(struct field_errors *errs, struct arena *a, const char *v)
{
	const char	*why;

	if (!present(errs, "email", v))
		return;
	if (email_canonical(a, v, &why) == NULL)
		add(errs, "email", arena_printf(a, MSG_EMAIL "%s", why),
		    T_VALUE);
}

static void
check_username(struct field_errors *errs, const char *v)
{
	const char	*p;

	if (!present(errs, "username", v) || !length_ok(errs, "username", v,
	    &username_bounds))
		return;
	for (p = v; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '_' || *p == '.' ||
		    *p == '-')) {
			add(errs, "username",
			    MSG_PATTERN(VALIDATE_USERNAME_PATTERN), T_PATTERN);
			return;
		}
}

/* ^\+?[1-9][0-9]{1,14}$ by hand: no regex engine for one pattern. */
static int
phone_ok(const char *v)
{
	size_t	 digits;

	if (*v == '+')
		v++;
	if (*v < '1' || *v > '9')
		return 0;
	for (digits = 0; *v >= '0' && *v <= '9'; v++)
		digits++;
	return *v == '\0' && digits >= 2 && digits <= 15;
}

static void
check_phone(struct field_errors *errs, const char *v)
{
	if (!present(errs, "phone_number", v))
		return;
	if (!phone_ok(v))
		add(errs, "phone_number", MSG_PATTERN(VALIDATE_PHONE_PATTERN),
		    T_PATTERN);
}

/*
 * SPEC 2 and OWASP ASVS 2.1: length, printable, not the email or username,
 * not common; no composition rules.
 */
static void
check_password(struct field_errors *errs, const struct register_input *in,
    const struct passlist *pl)
{
	const char	*v = in->password;

	if (!present(errs, "password", v) || !length_ok(errs, "password", v,
	    &password_bounds))
		return;
	if (!all_printable(v))
		add(errs, "password", MSG_PW_CTRL, T_VALUE);
	else if (validate_equal_nocase(v, in->email) ||
	    validate_equal_nocase(v, in->username))
		add(errs, "password", MSG_PW_SAME, T_VALUE);
	else if (pl != NULL && passlist_contains(pl, v))
		add(errs, "password", MSG_PW_COMMON, T_VALUE);
}

static void
check_gender(struct field_errors *errs, const char *v)
{
	size_t	 i;

	if (!present(errs, "gender", v))
		return;
	for (i = 0; i < sizeof(genders) / sizeof(genders[0]); i++)
		if (strcmp(v, genders[i]) == 0)
			return;
	add(errs, "gender", MSG_GENDER, T_ENUM);
}

/*
 * Checks the /auth/register fields (SPEC 2) into errs, one entry per bad
 * field in field order; errs->n == 0 when all are valid.  Messages are
 * static or in the arena.  pl NULL skips the common-password check.  The
 * caller stores validate_email_canonical(email) and answers a confirmation
 * mismatch (validate_passwords_match()) with 400.
 */
void
validate_register(const struct register_input *in, const struct passlist *pl,
    struct arena *a, struct field_errors *errs)
{
	errs->n = 0;
	check_name(errs, "first_name", in->first_name);
	check_name(errs, "last_name", in->last_name);
	check_email(errs, a, in->email);
	check_username(errs, in->username);
	check_phone(errs, in->phone_number);
	check_password(errs, in, pl);
	(void)present(errs, "password_confirmation", in->password_confirmation);
	check_gender(errs, in->gender);
}

/*
 * Checks the /auth/login fields (SPEC 2): both must be present, and the
 * email must have a canonical form, as at registration (an address that
 * has none was never registered: saying so leaks nothing).  Anything else
 * is a 401 from the handler.  Messages are static or in the arena.
 */
void
validate_login(struct arena *a, const char *email, const char *password,
    struct field_errors *errs)
{
	errs->n = 0;
	check_email(errs, a, email);
	(void)present(errs, "password", password);
}

/*
 * The email as stored and looked up (SPEC 2, issue 13.3): its canonical
 * form (email_canonical()), in the arena.  NULL when email is NULL or has
 * none: validate_register() or validate_login() has said why.
 */
const char *
validate_email_canonical(struct arena *a, const char *email)
{
	const char	*why;

	if (email == NULL)
		return NULL;
	return email_canonical(a, email, &why);
}
