/*
 * A pool worker: waits on the shared listening socket and on every
 * FastCGI connection it keeps, hands each whole request to the
 * application, until told to stop or max_requests is reached.  A sidecar
 * runs one of the application's own processes under the same signals.
 */
#ifndef MOCKPIE_WORKER_H
#define MOCKPIE_WORKER_H

struct pool_app;
struct pool_sidecar;
struct scoreboard;
struct slot;

void	worker_run(const struct pool_app *, const void *, int,
	    struct scoreboard *, struct slot *, unsigned long)
	    __attribute__((noreturn));
void	sidecar_run(const struct pool_sidecar *, const void *, struct slot *)
	    __attribute__((noreturn));

#endif
