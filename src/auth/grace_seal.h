/*
 * The successor pair a refresh rotation keeps in Redis for the grace
 * window (racing tabs get the same tokens), sealed under a key derived
 * from the JWT secret: Redis, its AOF and RDB files and its replicas
 * never hold a usable token.  The program must have called sodium_init().
 */
#ifndef MOCKPIE_GRACE_SEAL_H
#define MOCKPIE_GRACE_SEAL_H

#include <stddef.h>

struct arena;

/* Longest sealed pair: two tokens of 4 KiB, a separator, box, base64. */
#define GRACE_SEAL_MAX	11200

const char	*grace_seal(const unsigned char *, size_t, const char *,
		    const char *, struct arena *);
int		 grace_unseal(const unsigned char *, size_t, const char *,
		    struct arena *, const char **, const char **);

#endif
