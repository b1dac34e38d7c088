/*
 * A pool worker: waits on the shared listening socket and on every
 * FastCGI connection it keeps, serves one request context per request,
 * until told to stop or max_requests is reached.
 */
#ifndef MOCKPIE_WORKER_H
#define MOCKPIE_WORKER_H

struct config;
struct scoreboard;
struct slot;

void	worker_run(const struct config *, int, struct scoreboard *,
	    struct slot *, unsigned long)
	    __attribute__((noreturn));

#endif
