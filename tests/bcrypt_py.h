/*
 * bcrypt hashes made at test time by Debian's python3-bcrypt
 * (tests/bcrypt_hash.py run with /usr/bin/python3), never by our code:
 * the legacy hashes of the original MockPie backend (issue 10.2).
 */
#ifndef MOCKPIE_BCRYPT_PY_H
#define MOCKPIE_BCRYPT_PY_H

#include <stddef.h>

#define BCRYPT_PY_HASH_MAX	64	/* 60 and NUL */

int	bcrypt_py_hash(const char *, int, const char *,
	    char [BCRYPT_PY_HASH_MAX]);

#endif
