/*
 * Argon2id hashes through libsodium's crypto_pwhash_str family, and the
 * bcrypt hashes of the original MockPie backend (verified only, through
 * libxcrypt, until they are re-hashed).  Password rules (length, common
 * list) are the register handler's; users own the stored strings.
 * Secrets are neither logged nor kept.
 */
#include <crypt.h>
#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "lib/log.h"
#include "auth/password.h"

#define PASSWORD_DUMMY_BYTES	32	/* random password of the dummy */
#define BCRYPT_LEN		60	/* $2b$12$, 22 of salt, 31 of hash */
#define BCRYPT_SALT_AT		7	/* after "$2b$12$" */
#define BCRYPT_COST_MIN		4
#define BCRYPT_COST_MAX		31

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
 * 1 when stored has the shape of a bcrypt hash as passlib and the bcrypt
 * libraries write it: $2a$, $2b$ or $2y$, a two-digit cost, then 53
 * characters of bcrypt's base64, 60 bytes in all; 0 otherwise.
 */
static int
password_bcrypt_valid(const char *stored)
{
	static const char	 b64[] = "./ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789";
	size_t			 i;
	int			 cost;

	if (stored == NULL || strnlen(stored, BCRYPT_LEN + 1) != BCRYPT_LEN)
		return 0;
	if (stored[0] != '$' || stored[1] != '2' || (stored[2] != 'a' &&
	    stored[2] != 'b' && stored[2] != 'y') || stored[3] != '$' ||
	    stored[4] < '0' || stored[4] > '9' || stored[5] < '0' ||
	    stored[5] > '9' || stored[6] != '$')
		return 0;
	cost = (stored[4] - '0') * 10 + (stored[5] - '0');
	if (cost < BCRYPT_COST_MIN || cost > BCRYPT_COST_MAX)
		return 0;
	for (i = BCRYPT_SALT_AT; i < BCRYPT_LEN; i++)
		if (strchr(b64, stored[i]) == NULL)
			return 0;
	return 1;
}

/*
 * 1 when stored is a legacy hash (bcrypt, from the original MockPie
 * backend) that this program verifies but never writes, 0 otherwise.
 */
int
password_is_legacy(const char *stored)
{
	return stored != NULL && strncmp(stored, "$2", 2) == 0;
}

/*
 * bcrypt through libxcrypt's crypt_rn, its output compared with stored
 * in constant time.  pw is at most PASSWORD_BYTES_MAX bytes (the caller
 * checked); bcrypt reads the first 72 of them, as the original's passlib
 * did.  A pw with a NUL byte, which no bcrypt library hashes, still
 * spends the run and matches nothing.  1, 0, or -1 (logged).
 */
static int
password_verify_bcrypt(const char *stored, const char *pw, size_t len)
{
	static struct crypt_data	 cd;	/* 32 KiB: not on the stack */
	char				 phrase[PASSWORD_BYTES_MAX + 1];
	const char			*out;
	int				 ok = -1;

	if (!password_bcrypt_valid(stored)) {
		log_warnx("password verify: stored bcrypt hash malformed");
		return -1;
	}
	memcpy(phrase, pw, len);
	phrase[len] = '\0';
	errno = 0;
	if ((out = crypt_rn(phrase, stored, &cd, sizeof(cd))) == NULL)
		log_warn("password verify: bcrypt");
	else
		ok = strnlen(out, BCRYPT_LEN + 1) == BCRYPT_LEN &&
		    sodium_memcmp(out, stored, BCRYPT_LEN) == 0 &&
		    memchr(pw, '\0', len) == NULL;
	sodium_memzero(phrase, sizeof(phrase));
	sodium_memzero(&cd, sizeof(cd));
	return ok;
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
 * Checks pw (len bytes) against stored, an Argon2id hash or a legacy
 * bcrypt one: 1 when it matches, 0 when not, -1 on a fault (stored
 * malformed, Argon2id out of memory; logged).  With
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
	if (password_is_legacy(stored))
		return password_verify_bcrypt(stored, pw, len);
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
 * Argon2id (Argon2i, bcrypt: rehash it at the next login), 0 when
 * current, -1 when stored is malformed.
 */
int
password_needs_rehash(const struct password_params *pp, const char *stored)
{
	pp = password_params_get(pp);
	if (password_is_legacy(stored))
		return password_bcrypt_valid(stored) ? 1 : -1;
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
