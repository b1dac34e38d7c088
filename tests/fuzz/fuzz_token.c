/*
 * Fuzz target for bearer token verification (src/auth/token.c over libjwt).
 * An input without a newline is the token text as it follows "Bearer "
 * (an embedded NUL ends it, as in a header).  An input "header\npayload"
 * holds the two JSON texts of a token that this target encodes and signs
 * with the secret, so that the claim checks behind the signature are
 * fuzzed too.  Each token is verified as an access and a refresh token,
 * against an HS256 and an HS512 configuration, at a fixed time, so that
 * the seeds made by tests/fuzz/mkseeds.py stay valid.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "fuzz.h"
#include "lib/log.h"
#include "auth/token.h"

#define FUZZ_SECRET	"fuzz-secret-0123456789-abcdefghijklmnopq"
#define FUZZ_NOW	1700000000	/* mkseeds.py NOW */
#define FUZZ_PART_MAX	4096		/* bytes of a JSON text to sign */

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* 40 bytes, as in the brief; mkseeds.py signs with the same */
	_Static_assert(sizeof(FUZZ_SECRET) - 1 == 40, "secret size");
	log_init("fuzz_token", LOG_LEVEL_WARN);
	if (sodium_init() == -1)
		abort();
	return 0;
}

/* What token.h promises of a verification. */
static void
fuzz_token_check(const struct token_config *cfg, enum token_type want,
    int rc, const struct token *t)
{
	FUZZ_CHECK(rc == 0 || rc == -1);
	if (rc == -1) {
		FUZZ_CHECK(t->why != NULL);
		FUZZ_CHECK(t->sub == 0 && t->exp == 0 && t->iat == 0);
		FUZZ_CHECK(t->jti[0] == '\0' && t->sid[0] == '\0');
		return;
	}
	FUZZ_CHECK(t->why == NULL);
	FUZZ_CHECK(t->typ == want);
	FUZZ_CHECK(t->sub > 0);
	FUZZ_CHECK(strlen(t->jti) == TOKEN_ID_LEN);
	FUZZ_CHECK(strlen(t->sid) == TOKEN_ID_LEN);
	FUZZ_CHECK(t->exp > FUZZ_NOW - cfg->leeway);
	FUZZ_CHECK(t->iat <= FUZZ_NOW + cfg->leeway);
}

/* Verifies text both ways under cfg: how many times it was accepted. */
static int
fuzz_token_verify(struct token_config *cfg, const char *text)
{
	struct token	 t;
	int		 rc, ok;

	rc = token_verify(cfg, TOKEN_ACCESS, text, FUZZ_NOW, &t);
	fuzz_token_check(cfg, TOKEN_ACCESS, rc, &t);
	ok = rc == 0;
	rc = token_verify(cfg, TOKEN_REFRESH, text, FUZZ_NOW, &t);
	fuzz_token_check(cfg, TOKEN_REFRESH, rc, &t);
	return ok + (rc == 0);
}

#define B64_LEN(n) \
	sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_URLSAFE_NO_PADDING)

/* Appends the base64url of p (len bytes) at *w; returns the new end. */
static char *
fuzz_b64(char *w, const void *p, size_t len)
{
	sodium_bin2base64(w, B64_LEN(len), p, len,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	return w + strlen(w);
}

/*
 * header.payload, base64url, signed with the secret under cfg->alg:
 * a heap string the caller frees.
 */
static char *
fuzz_token_sign(const struct token_config *cfg, const uint8_t *hdr,
    size_t hlen, const uint8_t *pay, size_t plen)
{
	crypto_auth_hmacsha256_state	 s256;
	crypto_auth_hmacsha512_state	 s512;
	unsigned char			 mac[crypto_auth_hmacsha512_BYTES];
	size_t				 maclen, size;
	char				*text, *w;

	/* each B64_LEN counts a NUL: room for the two dots and the NUL */
	size = B64_LEN(hlen) + B64_LEN(plen) + B64_LEN(sizeof(mac));
	if ((text = malloc(size)) == NULL)
		abort();
	w = fuzz_b64(text, hdr, hlen);
	*w++ = '.';
	w = fuzz_b64(w, pay, plen);
	if (cfg->alg == JWT_ALG_HS512) {
		crypto_auth_hmacsha512_init(&s512, cfg->secret,
		    cfg->secret_len);
		crypto_auth_hmacsha512_update(&s512,
		    (const unsigned char *)text, (size_t)(w - text));
		crypto_auth_hmacsha512_final(&s512, mac);
		maclen = crypto_auth_hmacsha512_BYTES;
	} else {
		crypto_auth_hmacsha256_init(&s256, cfg->secret,
		    cfg->secret_len);
		crypto_auth_hmacsha256_update(&s256,
		    (const unsigned char *)text, (size_t)(w - text));
		crypto_auth_hmacsha256_final(&s256, mac);
		maclen = crypto_auth_hmacsha256_BYTES;
	}
	*w++ = '.';
	fuzz_b64(w, mac, maclen);
	return text;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const jwt_alg_t	 algs[] = { JWT_ALG_HS256, JWT_ALG_HS512 };
	struct token_config	 cfg;
	const uint8_t		*nl;
	char			*text;	/* exactly sized: ASan sees overreads */
	size_t			 i, hlen;
	int			 ok = 0;

	memset(&cfg, 0, sizeof(cfg));
	cfg.secret = (const unsigned char *)FUZZ_SECRET;
	cfg.secret_len = sizeof(FUZZ_SECRET) - 1;
	cfg.issuer = "mockpie";
	cfg.access_ttl = 900;
	cfg.refresh_ttl = 7 * 86400;
	cfg.leeway = 30;
	if ((nl = memchr(data, '\n', size)) == NULL) {
		if ((text = malloc(size + 1)) == NULL)
			abort();
		memcpy(text, data, size);
		text[size] = '\0';
		for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
			cfg.alg = algs[i];
			ok += fuzz_token_verify(&cfg, text);
		}
		free(text);
		/* one typ claim, one pinned algorithm: never two at once */
		FUZZ_CHECK(ok <= 1);
		return 0;
	}
	hlen = (size_t)(nl - data);
	if (hlen > FUZZ_PART_MAX || size - hlen - 1 > FUZZ_PART_MAX)
		return 0;
	/* signed by us: each algorithm's token verifies under its own */
	for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
		cfg.alg = algs[i];
		text = fuzz_token_sign(&cfg, data, hlen, nl + 1,
		    size - hlen - 1);
		FUZZ_CHECK(fuzz_token_verify(&cfg, text) <= 1);
		free(text);
	}
	return 0;
}
