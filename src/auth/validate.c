/*
 * Field rules of /auth/register and /auth/login (SPEC 2), reported one
 * entry per bad field in field order, worded like Pydantic v2.  Uniqueness
 * and the password confirmation's 400 are the handler's.
 */
#include <stdint.h>
#include <string.h>

#include "lib/arena.h"
#include "lib/utf8.h"
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
	size_t	 n = utf8_chars(v);

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
check_password_field(struct field_errors *errs, const char *field,
    const char *v, const char *email, const char *username,
    const struct passlist *pl)
{
	if (!present(errs, field, v) || !length_ok(errs, field, v,
	    &password_bounds))
		return;
	if (!all_printable(v))
		add(errs, field, MSG_PW_CTRL, T_VALUE);
	else if (utf8_equal_nocase(v, email) ||
	    utf8_equal_nocase(v, username))
		add(errs, field, MSG_PW_SAME, T_VALUE);
	else if (pl != NULL && passlist_contains(pl, v))
		add(errs, field, MSG_PW_COMMON, T_VALUE);
}

static void
check_password(struct field_errors *errs, const struct register_input *in,
    const struct passlist *pl)
{
	check_password_field(errs, "password", in->password, in->email,
	    in->username, pl);
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
 * Checks the /auth/reset-password fields (issue 15): the email as at
 * login, new_password under registration's policy (compared with the
 * email, and with username when it is known: NULL skips it), and
 * confirm_password present.  The handler answers a mismatch with 400.
 */
void
validate_reset(struct arena *a, const char *email, const char *password,
    const char *confirm, const char *username, const struct passlist *pl,
    struct field_errors *errs)
{
	errs->n = 0;
	check_email(errs, a, email);
	check_password_field(errs, "new_password", password, email, username,
	    pl);
	(void)present(errs, "confirm_password", confirm);
}

/*
 * Checks the email of the issue 15 endpoints, and the otp of
 * /auth/verify-otp when otp is not NULL: present, and the email with a
 * canonical form (saying so leaks nothing about accounts).
 */
void
validate_email_field(struct arena *a, const char *email, const char *otp,
    struct field_errors *errs)
{
	errs->n = 0;
	check_email(errs, a, email);
	if (otp != NULL)
		(void)present(errs, "otp", otp);
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
