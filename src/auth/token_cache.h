/*
 * A worker's cache of access tokens it has verified: a browser presents
 * the same access token for its whole lifetime, and verifying it again
 * (libjwt: base64, jansson, OpenSSL HMAC) was most of /auth/me's cost.
 */
#ifndef MOCKPIE_TOKEN_CACHE_H
#define MOCKPIE_TOKEN_CACHE_H

#include <time.h>

#include "auth/token.h"

#define TOKEN_CACHE_SLOTS	128	/* direct-mapped */
#define TOKEN_CACHE_TOKEN_MAX	1024	/* longer tokens are not cached */

int	token_verify_cached(const struct token_config *, enum token_type,
	    const char *, time_t, struct token *);
void	token_cache_clear(void);

#endif
