/*
 * The canonical form of an email address (SPEC 2, issue 13): one stored
 * spelling per mailbox, whatever Unicode spelling a client sends.  The
 * Unicode data is libunistring's and libidn2's, not tables of our own.
 */
#ifndef MOCKPIE_EMAIL_H
#define MOCKPIE_EMAIL_H

struct arena;

#define EMAIL_MAX		254	/* code points, SPEC 2 */
#define EMAIL_LOCAL_MAX		64	/* bytes, RFC 5321 4.5.3.1.1 */
#define EMAIL_LABEL_MAX		63	/* bytes, RFC 1035 2.3.4 */
#define EMAIL_UNSAFE_SHOWN	4	/* code points named in a refusal */

const char	*email_canonical(struct arena *, const char *, const char **);

#endif
