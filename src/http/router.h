/*
 * The route table: method + exact path -> handler.  Each handle_*.c
 * exports a NULL-terminated array of routes; the worker dispatches over
 * the list of those arrays.
 */
#ifndef MOCKPIE_ROUTER_H
#define MOCKPIE_ROUTER_H

#include <stddef.h>

struct ctx;

/* 0 once the handler has replied, -1 on a fault (the worker answers 500) */
typedef int (*route_handler)(struct ctx *);

struct route {
	const char	*method;
	const char	*path;
	route_handler	 handler;
};

extern const struct route *const route_tables[];

const struct route *route_find(const struct route *const *, const char *,
		    const char *, char *, size_t);
int		 route_dispatch(struct ctx *, const struct route *const *);

#endif
