/*
 * A library a feature needs only when it is configured, loaded at the
 * first use instead of linked: a deployment that never uses it maps
 * neither it nor the libraries it pulls in (libpq and libcurl bring
 * Kerberos, LDAP, GnuTLS and p11-kit into every process otherwise).
 *
 * A user lists the functions once, as X(member, symbol), and declares
 * its table with them:
 *
 *	#define PQ_FUNCTIONS(X) X(PQclear, PQclear) X(PQstatus, PQstatus)
 *	struct pq_api { PQ_FUNCTIONS(DYNLIB_MEMBER) };
 *	static const char *const names[] = { PQ_FUNCTIONS(DYNLIB_NAME) };
 *
 * The member's type is the symbol's own, from the library's header, so
 * a call through the table is checked as a direct call is.
 */
#ifndef MOCKPIE_DYNLIB_H
#define MOCKPIE_DYNLIB_H

#include <stddef.h>

#define DYNLIB_MEMBER(member, symbol)	__typeof__(&symbol) member;
#define DYNLIB_NAME(member, symbol)	#symbol,

/*
 * Opens SONAME (once per process: dlopen counts) and resolves NAMES[i]
 * into the I-th pointer of TABLE, a struct of N function pointers
 * declared with DYNLIB_MEMBER in the same order.  0, or -1 with ERR
 * naming the library or the symbol that is missing and the Debian
 * package that provides it.
 */
int	 dynlib_load(const char *soname, const char *package,
	     const char *const *names, size_t n, void *table,
	     size_t table_size, char *err, size_t errlen);

#endif
