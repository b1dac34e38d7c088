/*
 * The master: owns the listening socket and the scoreboard, forks the
 * workers, restarts the ones that die, kills the ones stuck on a request,
 * and stops or reloads on signals.
 */
#ifndef MOCKPIE_MASTER_H
#define MOCKPIE_MASTER_H

struct config;
struct config_overrides;

int	master_listen(const struct config *, char *, size_t);
int	master_run(struct config *, int, const char *,
	    const struct config_overrides *);

#endif
