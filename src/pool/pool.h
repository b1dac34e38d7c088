/*
 * The pool's whole contract with the application it serves.  The pool
 * (master, workers, their wait sets, the scoreboard) knows FastCGI and
 * processes; what a request means belongs to the application, reached
 * only through struct pool_app, as nginx's core reaches its modules.
 */
#ifndef MOCKPIE_POOL_H
#define MOCKPIE_POOL_H

#include <signal.h>
#include <stddef.h>

#include <fcgiapp.h>

#include "lib/log.h"

#define POOL_PATH_MAX		1024
#define POOL_NAME_MAX		64
#define POOL_ADDRS_MAX		1024	/* fcgi_allowed_addrs, in bytes */

struct scoreboard;
struct slot;

/* The pool's settings, part of the application's configuration. */
struct pool_config {
	int		 workers;		/* 0: the CPU count */
	char		 listen[POOL_PATH_MAX];	/* "" = inherited fd 0 */
	int		 listen_backlog;
	int		 listen_mode;
	char		 listen_owner[POOL_NAME_MAX];
	char		 listen_group[POOL_NAME_MAX];
	/* the peers a TCP listener accepts, comma-separated numeric
	   addresses; "": FCGI_WEB_SERVER_ADDRS, or everyone without it */
	char		 fcgi_allowed_addrs[POOL_ADDRS_MAX];
	char		 pidfile[POOL_PATH_MAX];
	long		 max_requests;		/* then a worker recycles */
	int		 max_kept_connections;	/* per worker */
	size_t		 request_limit;		/* stdin bytes a request may
						   bring, at most */
	int		 request_timeout;	/* s, then killed */
	int		 shutdown_timeout;	/* s */
	int		 slow_request_ms;	/* logged beyond this */
	int		 crash_threshold;
	int		 crash_interval;	/* s */
	long		 rlimit_nofile;		/* 0: as inherited */
	long		 rlimit_core;		/* -1: as inherited */
	enum log_level	 log_level;
};

/*
 * A process of the application's own that the master keeps running next
 * to the workers (a mail sender, say): started after them, restarted
 * when it dies (under the same crash-loop guard), replaced on reload and
 * stopped with them.
 */
struct pool_sidecar {
	const char	*name;
	/* 1 when this configuration wants it running */
	int		(*wanted)(const void *conf);
	/* in the child, signals in place: runs until *stop, returns the
	   exit status */
	int		(*run)(const void *conf, struct slot *,
			    volatile sig_atomic_t *stop);
};

struct pool_app {
	/* Master, at start and on SIGHUP: the configuration loaded afresh,
	   or NULL and why in err. */
	void		*(*load)(void *arg, char *err, size_t errlen);
	const struct pool_config *(*pool)(const void *conf);
	void		 (*unload)(void *conf);

	/* Worker, after fork: the application's state for the process */
	void		*(*worker_init)(const void *conf, struct scoreboard *,
			    struct slot *);
	/* one whole request (libfcgi holds its params and stdin); the
	   application marks the slot busy (scoreboard_busy) */
	void		 (*serve)(void *state, FCGX_Request *, unsigned long);
	/* between requests: the application's counters into the slot */
	void		 (*publish)(void *state);
	void		 (*worker_fini)(void *state);

	const struct pool_sidecar *sidecars;
	size_t		 nsidecars;
	void		*arg;			/* load()'s */
};

/* 0 when an fcgi_allowed_addrs value is valid, else -1 and why in err */
int	pool_peers_check(const char *, char *, size_t);

#endif
