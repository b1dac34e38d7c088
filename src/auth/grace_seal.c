/*
 * Sealing of the grace window's successor pair (grace_seal.h): XSalsa20-
 * Poly1305 (crypto_secretbox) under BLAKE2b("mockpie grace pair" || JWT
 * secret), a random nonce per seal, base64url.  Every worker derives the
 * same key from the shared secret, so any worker opens what another
 * sealed; a new secret makes old seals unopenable, which is only a lost
 * grace answer (the tokens inside are dead under a new secret anyway).
 */
#include <string.h>

#include <sodium.h>

#include "lib/arena.h"
#include "auth/grace_seal.h"
#include "lib/log.h"

#define GRACE_KEY_CONTEXT	"mockpie grace pair v1"
#define GRACE_PLAIN_MAX		(2 * 4096 + 1)	/* access \n refresh */
#define GRACE_BOX_MAX							\
	(crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES +	\
	    GRACE_PLAIN_MAX)
#define B64URL			sodium_base64_VARIANT_URLSAFE_NO_PADDING

static void
grace_key(const unsigned char *secret, size_t len,
    unsigned char key[crypto_secretbox_KEYBYTES])
{
	crypto_generichash_state	 st;

	crypto_generichash_init(&st, NULL, 0, crypto_secretbox_KEYBYTES);
	crypto_generichash_update(&st, (const unsigned char *)
	    GRACE_KEY_CONTEXT, sizeof(GRACE_KEY_CONTEXT));
	crypto_generichash_update(&st, secret, len);
	crypto_generichash_final(&st, key, crypto_secretbox_KEYBYTES);
}

/*
 * access and refresh sealed under secret (len bytes), base64url in arena;
 * NULL (logged) when they are too long.
 */
const char *
grace_seal(const unsigned char *secret, size_t len, const char *access,
    const char *refresh, struct arena *arena)
{
	unsigned char	 key[crypto_secretbox_KEYBYTES];
	unsigned char	 plain[GRACE_PLAIN_MAX], box[GRACE_BOX_MAX];
	size_t		 alen = strlen(access), rlen = strlen(refresh), plen;
	char		*out;

	if (alen + 1 + rlen > sizeof(plain)) {
		log_warnx("grace seal: tokens too long");
		return NULL;
	}
	memcpy(plain, access, alen);
	plain[alen] = '\n';
	memcpy(plain + alen + 1, refresh, rlen);
	plen = alen + 1 + rlen;
	grace_key(secret, len, key);
	randombytes_buf(box, crypto_secretbox_NONCEBYTES);
	crypto_secretbox_easy(box + crypto_secretbox_NONCEBYTES, plain, plen,
	    box, key);
	sodium_memzero(key, sizeof(key));
	sodium_memzero(plain, plen);
	plen += crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES;
	out = arena_alloc(arena, sodium_base64_ENCODED_LEN(plen, B64URL));
	return sodium_bin2base64(out, sodium_base64_ENCODED_LEN(plen, B64URL),
	    box, plen, B64URL);
}

/*
 * Opens a pair sealed by grace_seal() under the same secret: 0 with
 * *access and *refresh in arena, or -1 (logged) when it does not open.
 */
int
grace_unseal(const unsigned char *secret, size_t len, const char *sealed,
    struct arena *arena, const char **access, const char **refresh)
{
	unsigned char	 key[crypto_secretbox_KEYBYTES];
	unsigned char	 box[GRACE_BOX_MAX], plain[GRACE_PLAIN_MAX];
	const char	*nl;
	size_t		 blen, plen;
	int		 rc;

	if (strnlen(sealed, GRACE_SEAL_MAX + 1) > GRACE_SEAL_MAX ||
	    sodium_base642bin(box, sizeof(box), sealed, strlen(sealed), NULL,
	    &blen, NULL, B64URL) != 0 || blen < crypto_secretbox_NONCEBYTES +
	    crypto_secretbox_MACBYTES + 3)
		goto bad;
	plen = blen - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES;
	grace_key(secret, len, key);
	rc = crypto_secretbox_open_easy(plain, box +
	    crypto_secretbox_NONCEBYTES, blen - crypto_secretbox_NONCEBYTES,
	    box, key);
	sodium_memzero(key, sizeof(key));
	if (rc != 0 || (nl = memchr(plain, '\n', plen)) == NULL)
		goto bad;
	*access = arena_strndup(arena, (const char *)plain,
	    (size_t)(nl - (const char *)plain));
	*refresh = arena_strndup(arena, nl + 1,
	    plen - (size_t)(nl - (const char *)plain) - 1);
	sodium_memzero(plain, plen);
	return 0;
bad:
	log_warnx("grace seal: a sealed pair did not open");
	return -1;
}
