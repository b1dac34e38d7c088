/*
 * Argon2id hashes through libsodium's crypto_pwhash_str family.  Password
 * rules (length, common list) are the register handler's; users own the
 * stored strings.  Secrets are neither logged nor kept.
 */
#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "lib/log.h"
#include "auth/password.h"

#define PASSWORD_DUMMY_BYTES	32	/* random password of the dummy */

static const struct password_params password_defaults = {
	PASSWORD_OPSLIMIT_DEFAULT, PASSWORD_MEMLIMIT_DEFAULT
};

/* The hash an unknown user is checked against, made once per process. */
static char			 dummy_hash[PASSWORD_HASH_MAX];
static struct password_params	 dummy_params;
static int			 dummy_ready;

static const struct password_params *
password_params_get(const struct password_params *pp)
{
	return pp != NULL ? pp : &password_defaults;
}

/* 1 when stored starts with prefix (a crypto_pwhash_*_STRPREFIX). */
static int
password_has_prefix(const char *stored, const char *prefix)
{
	return strncmp(stored, prefix, strlen(prefix)) == 0;
}

/*
 * 1 when stored is a NUL-terminated string of less than PASSWORD_HASH_MAX
 * bytes in the Argon2id or Argon2i format that libsodium reads.
 */
static int
password_stored_valid(const char *stored)
{
	if (stored == NULL || strnlen(stored, PASSWORD_HASH_MAX) ==
	    PASSWORD_HASH_MAX)
		return 0;
	return password_has_prefix(stored, crypto_pwhash_argon2id_STRPREFIX) ||
	    password_has_prefix(stored, crypto_pwhash_argon2i_STRPREFIX);
}

/*
 * Hashes pw (len bytes, at most PASSWORD_BYTES_MAX, never truncated) with
 * a fresh salt into out, a NUL-terminated string of the algorithm, its
 * parameters, salt and hash.  0, or -1 (too long, out of memory; logged).
 */
int
password_hash(const struct password_params *pp, const char *pw, size_t len,
    char out[PASSWORD_HASH_MAX])
{
	pp = password_params_get(pp);
	if (pw == NULL || len > PASSWORD_BYTES_MAX) {
		log_errorx("password hash: password missing or over %d bytes",
		    PASSWORD_BYTES_MAX);
		return -1;
	}
	if (crypto_pwhash_str(out, pw, len, pp->opslimit, pp->memlimit) != 0) {
		log_warn("password hash: argon2id (memlimit %zu)",
		    pp->memlimit);
		return -1;
	}
	return 0;
}

/*
 * Spends one Argon2id run on pw for an unknown user.  The first call (or
 * one with other parameters) makes the dummy hash, which is that run; later
 * ones verify against it.  0, or -1 when Argon2id fails (logged).
 */
static int
password_verify_dummy(const struct password_params *pp, const char *pw,
    size_t len)
{
	unsigned char	 secret[PASSWORD_DUMMY_BYTES];
	int		 rc;

	if (dummy_ready && dummy_params.opslimit == pp->opslimit &&
	    dummy_params.memlimit == pp->memlimit) {
		/* The result is meaningless; the time spent is the point. */
		rc = crypto_pwhash_str_verify(dummy_hash, pw, len);
		(void)rc;
		return 0;
	}
	dummy_ready = 0;
	randombytes_buf(secret, sizeof(secret));
	rc = crypto_pwhash_str(dummy_hash, (const char *)secret,
	    sizeof(secret), pp->opslimit, pp->memlimit);
	sodium_memzero(secret, sizeof(secret));
	if (rc != 0) {
		log_warn("password dummy hash: argon2id (memlimit %zu)",
		    pp->memlimit);
		return -1;
	}
	dummy_params = *pp;
	dummy_ready = 1;
	return 0;
}

/*
 * Checks pw (len bytes) against stored: 1 when it matches, 0 when not, -1
 * on a fault (stored malformed, Argon2id out of memory; logged).  With
 * stored NULL (unknown user) spends a comparable Argon2id run against a
 * dummy hash made with the same parameters and returns 0 (SPEC 2, login
 * timing).  A pw over PASSWORD_BYTES_MAX bytes, of which no hash was ever
 * made, matches nothing: 0 after the same dummy run, so that its timing
 * does not tell a known user from an unknown one either.
 */
int
password_verify(const struct password_params *pp, const char *stored,
    const char *pw, size_t len)
{
	pp = password_params_get(pp);
	if (pw == NULL)
		return -1;
	if (stored == NULL || len > PASSWORD_BYTES_MAX) {
		if (password_verify_dummy(pp, pw,
		    len > PASSWORD_BYTES_MAX ? PASSWORD_BYTES_MAX : len) == -1)
			return -1;
		return 0;
	}
	if (!password_stored_valid(stored)) {
		log_warnx("password verify: stored hash malformed");
		return -1;
	}
	/*
	 * libsodium fails with errno EINVAL on a mismatch, leaves errno alone
	 * when it cannot parse the string, and keeps the allocator's ENOMEM
	 * when Argon2id cannot get its memory: only the first is a wrong
	 * password, the others are faults the caller must not report as one.
	 */
	errno = 0;
	if (crypto_pwhash_str_verify(stored, pw, len) == 0)
		return 1;
	if (errno == EINVAL)
		return 0;
	if (errno == 0)
		log_warnx("password verify: stored hash malformed");
	else
		log_warn("password verify: argon2id");
	return -1;
}

/*
 * 1 when stored was made with other parameters than pp's or is not
 * Argon2id (rehash it at the next login), 0 when current, -1 when stored
 * is malformed.
 */
int
password_needs_rehash(const struct password_params *pp, const char *stored)
{
	pp = password_params_get(pp);
	if (!password_stored_valid(stored))
		return -1;
	if (!password_has_prefix(stored, crypto_pwhash_argon2id_STRPREFIX))
		return 1;	/* Argon2i */
	switch (crypto_pwhash_str_needs_rehash(stored, pp->opslimit,
	    pp->memlimit)) {
	case 0:
		return 0;
	case 1:
		return 1;
	default:
		return -1;
	}
}
