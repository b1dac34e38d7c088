/*
 * What the /auth handlers share with the email flows (handle_email.c):
 * the body's fields, the 422 list, the session settings, and the
 * verification code that registration queues.
 */
#ifndef MOCKPIE_HANDLE_AUTH_H
#define MOCKPIE_HANDLE_AUTH_H

struct body;
struct ctx;
struct field_errors;
struct session_config;
struct user;

int	 read_fields(struct ctx *, struct body *);
int	 reply_field_errors(struct ctx *, const struct field_errors *);
void	 session_config_of(struct ctx *, struct session_config *);
void	 email_queue_verification(struct ctx *, const struct user *);
int	 email_login_allowed(struct ctx *, const struct user *);

#endif
