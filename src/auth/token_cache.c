/*
 * Direct-mapped cache of verified tokens, per process (workers are
 * single-threaded).  An entry is the token's exact bytes and its claims;
 * a hit still checks expiry, so only the signature and parse are saved.
 * Revocation is unaffected: sessions are checked in Redis every time.
 * The slot comes from a keyed hash (SipHash, a random key per process)
 * and the bytes are compared in constant time (same_bytes()).
 */
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "auth/token_cache.h"
#include "lib/self.h"

struct entry {
	unsigned long	 used;		/* cache_gen when filled; 0: free */
	enum token_type	 typ;
	size_t		 len;
	struct token	 claims;
	char		 token[TOKEN_CACHE_TOKEN_MAX];
};

static struct entry	 cache[TOKEN_CACHE_SLOTS];
static unsigned char	 cache_key[crypto_shorthash_KEYBYTES];
static pid_t		 cache_owner;	/* a forked child starts afresh */
static unsigned long	 cache_gen;	/* an entry of another is free */

/* Forgets every entry (a new secret, or a test). */
void
token_cache_clear(void)
{
	sodium_memzero(cache, sizeof(cache));
	cache_owner = 0;
}

/*
 * 1 when a and b (len bytes each) are equal, in time that depends on len
 * only: no early exit, so a presented token learns nothing of a cached
 * one.  Eight bytes a step (sodium_memcmp goes byte by byte, about 2,600
 * instructions for a token, a twelfth of /auth/me).
 */
static int
same_bytes(const char *a, const char *b, size_t len)
{
	uint64_t	 x, y, diff = 0;
	size_t		 i;

	for (i = 0; i + sizeof(x) <= len; i += sizeof(x)) {
		memcpy(&x, a + i, sizeof(x));
		memcpy(&y, b + i, sizeof(y));
		diff |= x ^ y;
	}
	for (; i < len; i++)
		diff |= (uint64_t)((unsigned char)a[i] ^ (unsigned char)b[i]);
	return diff == 0;
}

static struct entry *
slot_of(const char *str, size_t len)
{
	unsigned char	 h[crypto_shorthash_BYTES];
	unsigned long	 i;

	/*
	 * A child's table starts empty by generation, not by clearing: its
	 * pages stay untouched (a worker's fresh table costs no memory until
	 * used), and a parent's entries are dead all the same.
	 */
	if (cache_owner != self_pid()) {
		cache_gen++;
		crypto_shorthash_keygen(cache_key);
		cache_owner = self_pid();
	}
	crypto_shorthash(h, (const unsigned char *)str, len, cache_key);
	memcpy(&i, h, sizeof(i));
	return &cache[i % TOKEN_CACHE_SLOTS];
}

/*
 * token_verify(), answered from the cache when this exact token was
 * verified before as the same type and has not expired since.  Same
 * results and ownership as token_verify().
 */
int
token_verify_cached(const struct token_config *cfg, enum token_type want,
    const char *str, time_t now, struct token *out)
{
	struct entry	*e;
	size_t		 len;

	if (str == NULL || (len = strnlen(str, TOKEN_CACHE_TOKEN_MAX)) ==
	    TOKEN_CACHE_TOKEN_MAX || len == 0)
		return token_verify(cfg, want, str, now, out);
	e = slot_of(str, len);
	if (e->used == cache_gen && e->typ == want && e->len == len &&
	    same_bytes(e->token, str, len)) {
		if ((long long)e->claims.exp > (long long)now - cfg->leeway) {
			*out = e->claims;
			return 0;
		}
		e->used = 0;		/* expired: verify says why */
	}
	if (token_verify(cfg, want, str, now, out) == -1)
		return -1;
	e->used = cache_gen;
	e->typ = want;
	e->len = len;
	e->claims = *out;
	memcpy(e->token, str, len);
	return 0;
}
