/*
 * Shared memory between the master and its workers: one slot per worker
 * saying whether it is ready, and which request it is busy with since
 * when, so the master can kill a worker stuck past request_timeout.  The
 * app areas are the application's, laid out as it pleases.
 */
#ifndef MOCKPIE_SCOREBOARD_H
#define MOCKPIE_SCOREBOARD_H

#include <sys/types.h>

#define SCOREBOARD_SLOTS	1024
#define SCOREBOARD_PATH_MAX	64
#define SCOREBOARD_APP_BYTES	128

enum slot_state { SLOT_FREE, SLOT_STARTING, SLOT_IDLE, SLOT_BUSY,
    SLOT_STOPPING };

struct slot {
	volatile pid_t		 pid;
	volatile int		 state;		/* enum slot_state */
	volatile unsigned	 generation;	/* reload generation */
	volatile long long	 started_ms;	/* process start, monotonic */
	volatile long long	 busy_since_ms;	/* request start, monotonic */
	volatile unsigned long	 requests;
	volatile int		 kept_connections;	/* FastCGI, open */
	volatile int		 accepting;	/* asleep in its wait set with
						   the listening socket in it:
						   a new connection wakes it */
	char			 request_id[33];
	char			 method[8];
	char			 path[SCOREBOARD_PATH_MAX];
	int			 sidecar;	/* 0: a worker; else its
						   pool_sidecar index + 1 */
	/* the application's counters (its own layout, pool.h) */
	unsigned char		 app[SCOREBOARD_APP_BYTES]
				    __attribute__((aligned(8)));
	volatile int		 timed_out;	/* master killed it */
	volatile int		 recycled;	/* reached max_requests */
	volatile int		 stop_sent;	/* the master sent SIGTERM */
};

/* Why a worker ended, as counted in the scoreboard. */
enum exit_cause {
	EXIT_RECYCLED,		/* max_requests reached */
	EXIT_STOPPED,		/* told to stop: shutdown or reload */
	EXIT_TIMEOUT,		/* killed on request_timeout */
	EXIT_CRASHED,		/* killed by a signal it was not sent */
	EXIT_FAILED,		/* exited non-zero */
	EXIT_CAUSES
};

struct scoreboard {
	/* written by the master only */
	volatile long long	 started_at;		/* wall clock, s */
	volatile unsigned long	 retired_requests;	/* of ended workers */
	volatile unsigned long	 exits[EXIT_CAUSES];
	volatile int		 crash_loop;		/* respawn backed off */
	volatile int		 workers_wanted;
	/* the application's counters shared by all workers */
	unsigned char		 app[SCOREBOARD_APP_BYTES]
				    __attribute__((aligned(8)));
	struct slot		 slots[SCOREBOARD_SLOTS];
};

struct scoreboard *scoreboard_new(void);
void		 scoreboard_free(struct scoreboard *);
long long	 scoreboard_now_ms(void);
void		 scoreboard_busy(struct slot *, const char *, const char *,
		    const char *);
void		 scoreboard_idle(struct slot *);
const char	*scoreboard_exit_name(enum exit_cause);

#endif
