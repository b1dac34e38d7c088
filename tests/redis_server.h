/*
 * A real redis-server for tests, on a free 127.0.0.1 port, and a fake
 * Redis that accepts connections and never answers.  The server is a
 * forked child in the caller's process group, so Check's kill of the
 * group on a timeout takes it down too.  Stop or restart a server only
 * from the process that started it (the one that can wait for it).
 */
#ifndef MOCKPIE_REDIS_SERVER_H
#define MOCKPIE_REDIS_SERVER_H

#include <stddef.h>

#include <hiredis/hiredis.h>

struct redis_server;
struct hung_listener;

struct redis_server	*redis_server_start(const char *);
struct redis_server	*redis_server_start_args(const char *,
			    const char *const *);
int			 redis_server_port(const struct redis_server *);
void			 redis_server_url(const struct redis_server *, char *,
			    size_t);
redisContext		*redis_server_client(const struct redis_server *);
int			 redis_server_stop(struct redis_server *);
int			 redis_server_restart(struct redis_server *);
void			 redis_server_free(struct redis_server *);
/* small utilities every test program that links this file shares */
struct rconn		*test_rconn_new(const char *);
long long		 test_now_ms(void);
void			 test_sleep_ms(long);
int			 test_free_port(void);
int			 test_bind_loopback(int, int *);
int			 test_tmpdir(char *, size_t);
void			 test_tmpdir_remove(const char *);

/*
 * Redis under Sentinel: a master, a replica and REDIS_HA_SENTINELS
 * sentinels (quorum 2), each in a directory of its own.  servers[0] is
 * the master at start; after a failover redis_ha_master() tells.
 */
#define REDIS_HA_SENTINELS	3

struct redis_ha {
	struct redis_server	*servers[2];
	struct redis_server	*sentinels[REDIS_HA_SENTINELS];
	char			 dirs[2 + REDIS_HA_SENTINELS][64];
	char			 name[64];
};

struct redis_server	*redis_sentinel_start(const char *, const char *,
			    int, int, int, const char *);
struct redis_ha		*redis_ha_start(const char *, int, const char *);
void			 redis_ha_free(struct redis_ha *);
void			 redis_ha_sentinel_list(const struct redis_ha *, char *,
			    size_t);
int			 redis_ha_wait_ready(struct redis_ha *, long);
int			 redis_ha_master_port(struct redis_ha *, int, long);
struct redis_server	*redis_ha_master(struct redis_ha *);
struct redis_server	*redis_ha_replica(struct redis_ha *);
int			 redis_server_pid(const struct redis_server *);
int			 redis_server_kill(struct redis_server *);

struct hung_listener	*hung_listener_start(void);
int			 hung_listener_port(const struct hung_listener *);
void			 hung_listener_stop(struct hung_listener *);

#endif
