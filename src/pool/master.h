/*
 * The master: owns the listening socket and the scoreboard, forks the
 * workers (and the application's sidecars), restarts the ones that die,
 * kills the ones stuck on a request, and stops or reloads on signals.
 */
#ifndef MOCKPIE_MASTER_H
#define MOCKPIE_MASTER_H

#include <stddef.h>

struct pool_app;
struct pool_config;

int	master_listen(const struct pool_config *, char *, size_t);
int	master_run(const struct pool_app *, void *, int);

#endif
