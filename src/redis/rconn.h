/*
 * The worker's lazy Redis connection: URL parsing, AUTH/SELECT, connect and
 * command timeouts, and back-off after a failure so a dead Redis costs one
 * connect attempt per back-off period, not one per request (SPEC 3).
 */
#ifndef MOCKPIE_RCONN_H
#define MOCKPIE_RCONN_H

#include <stddef.h>

#include <hiredis/hiredis.h>

#define RCONN_HOST_MAX		255
#define RCONN_PATH_MAX		107	/* sun_path less the NUL */
#define RCONN_SECRET_MAX	255
#define RCONN_SENTINELS_MAX	16
#define RCONN_NAME_MAX		127	/* redis_master_name */
#define RCONN_ADDR_MAX		(RCONN_HOST_MAX + 8)	/* "[host]:port" */

/* rconn_poll_quiet()'s answer */
#define RCONN_SUB_READABLE	0x1
#define RCONN_MAIN_READABLE	0x2

struct rconn_url {
	int	 is_unix;
	char	 host[RCONN_HOST_MAX + 1];
	int	 port;
	char	 path[RCONN_PATH_MAX + 1];
	char	 user[RCONN_SECRET_MAX + 1];		/* ACL user, or "" */
	char	 password[RCONN_SECRET_MAX + 1];	/* "" for none */
	int	 db;
};

struct rconn_addr {
	char	 host[RCONN_HOST_MAX + 1];
	int	 port;
};

struct rconn_config {
	struct rconn_url url;
	int	 connect_timeout_ms;	/* 200 */
	int	 command_timeout_ms;	/* 500 */
	int	 backoff_min_ms;	/* 250 */
	int	 backoff_max_ms;	/* 2000 */

	/*
	 * Sentinel (SPEC 5): with sentinels, the master's address comes
	 * from them and url's host and port are not used (its credentials
	 * and db still are, for the master).
	 */
	struct rconn_addr sentinels[RCONN_SENTINELS_MAX];
	int	 nsentinels;		/* 0: url names the server */
	char	 master_name[RCONN_NAME_MAX + 1];	/* "mymaster" */
	char	 sentinel_password[RCONN_SECRET_MAX + 1]; /* "" for none */
};

/* A Lua script run with EVALSHA, falling back to EVAL on NOSCRIPT. */
struct rconn_script {
	const char	*source;
	char		 sha[41];	/* filled by the first SCRIPT LOAD */
};

struct rconn_stats {
	int		 connected;
	unsigned long	 failures;	/* connect or command failures */
	unsigned long	 stale_reconnects; /* stale links replaced at once */
	long		 backoff_ms;	/* current back-off, 0 when healthy */
	const char	*last_error;	/* "" when none */
	int		 sentinel;	/* the master comes from sentinels */
	const char	*master;	/* "host:port" in use or last used,
					   "" before the first connection */
	unsigned long	 master_changes; /* new addresses from sentinels */
};

struct rconn;

int		 rconn_url_parse(const char *, struct rconn_url *,
		    const char **);
int		 rconn_sentinels_parse(const char *, struct rconn_config *,
		    const char **);
struct rconn	*rconn_new(const struct rconn_config *);
void		 rconn_free(struct rconn *);
struct rconn	*rconn_get(struct rconn *);
redisReply	*rconn_command(struct rconn *, const char *, ...);
redisReply	*rconn_commandv(struct rconn *, int, const char **,
		    const size_t *);
int		 rconn_append(struct rconn *, const char *, ...);
redisReply	*rconn_reply(struct rconn *);
redisReply	*rconn_eval(struct rconn *, struct rconn_script *, int, int,
		    const char **, const size_t *);
int		 rconn_unanswered(const struct rconn *);
unsigned long	 rconn_generation(const struct rconn *);
int		 rconn_poll_quiet(const struct rconn *, const struct rconn *);
int		 rconn_drain(struct rconn *, int,
		    void (*)(void *, const redisReply *), void *);
void		 rconn_stats(const struct rconn *, struct rconn_stats *);
int		 rconn_follow(struct rconn *, const struct rconn *);

#endif
