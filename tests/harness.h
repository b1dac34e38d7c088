/*
 * Integration test harness: the whole stack (a real redis-server, the
 * mockpie-fcgi pool, nginx from conf/nginx.conf.in) on free ports in a
 * fresh temporary directory, and a small HTTP/1.1 client to talk to it.
 * Everything the harness starts is a child of the process that called
 * stack_start(), dies with it (PR_SET_PDEATHSIG) and stays in its process
 * group; only that process can stop and wait for what it started.
 *
 * MOCKPIE_TEST_WRAPPER, when set, is a command line (words split at
 * blanks, no quoting) that the pool runs inside, e.g. "valgrind
 * --trace-children=yes --log-file=/tmp/vg/valgrind.%p"; the harness's own
 * time limits are then stack_ms() times longer, and tests scale theirs
 * with stack_ms() or skip timing checks when stack_under_wrapper().
 */
#ifndef MOCKPIE_HARNESS_H
#define MOCKPIE_HARNESS_H

#include <sys/types.h>

#include <stddef.h>

#include <json-c/json.h>

struct stack;
struct redis_server;
struct redis_ha;

#define STACK_JWT_SECRET	"mockpie-integration-test-secret-40-bytes"

struct stack_options {
	int			 workers;	/* pool workers; 0: 3 */
	const char *const	*env;		/* "KEY=VALUE" for the pool,
						   over the harness's own;
						   NULL-terminated, or NULL */
	int			 no_redis;	/* no Redis: the URL names a
						   closed port */
	int			 inherit_socket; /* listening socket on fd 0,
						   as spawn-fcgi hands it */
	int			 nginx_workers;	/* nginx worker_processes;
						   0: 1 */
	int			 keepalive;	/* idle FastCGI connections
						   nginx keeps per worker;
						   0: 1 */
	int			 own_group;	/* the pool in a process
						   group of its own, whose
						   id is the master's pid
						   (kill -- -PGID) */
	const char		*nginx_server_extra; /* nginx configuration
						   added to the server block
						   (@SERVER_EXTRA@), or NULL */
	int			 sentinel;	/* Redis under Sentinel: a
						   master, a replica and 3
						   sentinels (redis_ha); the
						   pool finds the master
						   through them, its
						   redis_url names a closed
						   port */
};

struct http_response {
	int		 status;
	char		*headers;	/* header lines after the status line */
	char		*body;		/* NUL-terminated, chunks joined */
	size_t		 body_len;
	double		 elapsed_ms;	/* connect to the end of the body */
};

/* A request sent whose answer is read later (http_start/http_finish). */
struct http_conn {
	int		 fd;
	int		 head;		/* HEAD: the answer has no body */
	long long	 started_us;
};

struct stack		*stack_start(const struct stack_options *);
void			 stack_stop(struct stack *);
int			 stack_stop_pool(struct stack *, int, int);
struct redis_server	*stack_redis(struct stack *);
struct redis_ha		*stack_redis_ha(struct stack *);
const char		*stack_dir(struct stack *);
int			 stack_http_port(struct stack *);
pid_t			 stack_master_pid(struct stack *);
int			 stack_worker_pids(struct stack *, pid_t *, int);
int			 stack_wait_workers(struct stack *, int, int);
const char		*stack_socket_path(struct stack *);
long			 stack_log_size(struct stack *);
int			 stack_log_count(struct stack *, long, const char *);
int			 stack_pid_alive(pid_t);
int			 stack_pids_contain(const pid_t *, int, pid_t);
int			 stack_under_wrapper(void);
long			 stack_ms(long);

int			 http_request(struct stack *, const char *,
			    const char *, const char *const *, const char *,
			    size_t, struct http_response *);
int			 http_start(struct stack *, struct http_conn *,
			    const char *, const char *, const char *const *,
			    const char *, size_t);
int			 http_finish(struct http_conn *,
			    struct http_response *);
const char		*http_header(const struct http_response *,
			    const char *, char *, size_t);
int			 http_header_count(const struct http_response *,
			    const char *);
struct json_object	*http_json(const struct http_response *);
void			 http_response_free(struct http_response *);

#endif
