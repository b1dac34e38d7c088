/*
 * Field validation for /auth/register and /auth/login (SPEC 2), with
 * errors worded like Pydantic v2 so reply.c can emit FastAPI's 422 list.
 * UTF-8 counting and case folding are lib/utf8.h's, shared with passlist.c.
 */
#ifndef MOCKPIE_VALIDATE_H
#define MOCKPIE_VALIDATE_H

#include <stddef.h>

struct arena;
struct passlist;

/* SPEC 2 bounds, in Unicode code points unless named bytes. */
#define VALIDATE_NAME_MIN		2
#define VALIDATE_NAME_MAX		50
#define VALIDATE_USERNAME_MIN		3
#define VALIDATE_USERNAME_MAX		50
#define VALIDATE_PASSWORD_MIN		8
#define VALIDATE_PASSWORD_MAX		128

#define VALIDATE_USERNAME_PATTERN	"^[A-Za-z0-9_.-]+$"
#define VALIDATE_PHONE_PATTERN		"^\\+?[1-9][0-9]{1,14}$"

/* One entry of the 422 list: loc is ["body", field]. */
struct field_error {
	const char	*field;
	const char	*msg;
	const char	*type;
};

#define VALIDATE_MAX_ERRORS	16

struct field_errors {
	struct field_error	e[VALIDATE_MAX_ERRORS];
	size_t			n;
};

/* NULL or "" means the field was not sent. */
struct register_input {
	const char	*first_name;
	const char	*last_name;
	const char	*email;
	const char	*username;
	const char	*phone_number;
	const char	*password;
	const char	*password_confirmation;
	const char	*gender;
};

void	 validate_register(const struct register_input *,
	    const struct passlist *, struct arena *, struct field_errors *);
void	 validate_login(struct arena *, const char *, const char *,
	    struct field_errors *);
void	 validate_reset(struct arena *, const char *, const char *,
	    const char *, const char *, const struct passlist *,
	    struct field_errors *);
void	 validate_email_field(struct arena *, const char *, const char *,
	    struct field_errors *);
int	 validate_passwords_match(const char *, const char *);
const char *validate_email_canonical(struct arena *, const char *);

#endif
