/*
 * dlopen and dlsym behind one call (dynlib.h).  RTLD_NOW: every symbol
 * the library needs is bound before the first call, as the program's
 * own are (-z now), so no request stops on the dynamic linker.
 * RTLD_LOCAL: its symbols resolve nothing else.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "lib/dynlib.h"

typedef void	(*any_function)(void);

int
dynlib_load(const char *soname, const char *package,
    const char *const *names, size_t n, void *table, size_t table_size,
    char *err, size_t errlen)
{
	any_function	 resolved[64];
	void		*handle;
	size_t		 i;

	if (n > sizeof(resolved) / sizeof(resolved[0]) ||
	    table_size != n * sizeof(any_function)) {
		snprintf(err, errlen, "%s: %zu functions do not fit a table "
		    "of %zu bytes", soname, n, table_size);
		return -1;
	}
	if ((handle = dlopen(soname, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		snprintf(err, errlen, "%s (install the Debian package %s): %s",
		    soname, package, dlerror());
		return -1;
	}
	for (i = 0; i < n; i++) {
		void	*symbol = dlsym(handle, names[i]);

		if (symbol == NULL) {
			snprintf(err, errlen, "%s: no %s (the Debian package "
			    "%s is too old)", soname, names[i], package);
			dlclose(handle);
			return -1;
		}
		/* POSIX: a data pointer from dlsym converts to a function */
		memcpy(&resolved[i], &symbol, sizeof(resolved[i]));
	}
	memcpy(table, resolved, table_size);
	return 0;
}
