/*
 * Argon2id password hashes (libsodium crypto_pwhash_str), with a verify
 * of equal cost for unknown users so login time does not tell whether an
 * email exists (SPEC 2); the original MockPie backend's bcrypt hashes
 * are verified (never written) so that they can be replaced at login.
 * The program must have called sodium_init().  Not thread-safe (the
 * dummy hash and bcrypt's work area are process state); workers are not
 * threaded.
 */
#ifndef MOCKPIE_PASSWORD_H
#define MOCKPIE_PASSWORD_H

#include <stddef.h>

#include <sodium.h>

#define PASSWORD_HASH_MAX	crypto_pwhash_STRBYTES	/* with NUL */
#define PASSWORD_BYTES_MAX	(128 * 4)	/* 128 characters of UTF-8 */
#define PASSWORD_OPSLIMIT_DEFAULT	crypto_pwhash_OPSLIMIT_INTERACTIVE
#define PASSWORD_MEMLIMIT_DEFAULT	crypto_pwhash_MEMLIMIT_INTERACTIVE

/* Argon2id cost; NULL in the calls below means the defaults above. */
struct password_params {
	unsigned long long	 opslimit;	/* passes */
	size_t			 memlimit;	/* bytes per running hash */
};

int	password_hash(const struct password_params *, const char *, size_t,
	    char [PASSWORD_HASH_MAX]);
int	password_verify(const struct password_params *, const char *,
	    const char *, size_t);
int	password_needs_rehash(const struct password_params *, const char *);
int	password_is_legacy(const char *);

#endif
