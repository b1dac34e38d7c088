/*
 * A small client of mockpie's API for integration tests that are about
 * something else than the API itself (Redis's states, the pool): people
 * to register, their tokens, one-line calls answering a status, and
 * bursts of concurrent requests with /status read before and after, to
 * prove that every pool worker served one (a test that claims "every
 * worker" shows it); and raw requests from another 127.0.0.x address
 * than 127.0.0.1 (the rate limits count per client address).
 */
#ifndef MOCKPIE_API_CLIENT_H
#define MOCKPIE_API_CLIENT_H

#include <sys/types.h>

#include <stddef.h>

struct stack;
struct http_conn;
struct http_response;

#define API_TOKEN_MAX	4200	/* a token: 4 KiB at most, and NUL */
#define API_FIELD_MAX	128
#define API_WORKERS_MAX	64
#define API_BURST_MAX	64

struct api_person {
	char	 email[API_FIELD_MAX];
	char	 password[API_FIELD_MAX];
	char	 access[API_TOKEN_MAX];
	char	 refresh[API_TOKEN_MAX];
};

/* One pool worker as /status shows it. */
struct api_worker {
	pid_t		 pid;
	unsigned long	 requests;
	int		 redis_connected;
	unsigned long	 redis_failures;	/* connect or command */
	unsigned long	 stale_reconnects;
	unsigned long	 signature_fallbacks;
	unsigned long	 session_cache_hits;
};

/* What a burst saw: how many answers of each status. */
struct api_tally {
	int	 total;
	int	 by_status[600];
};

void	 api_register(struct stack *, struct api_person *);
int	 api_login(struct stack *, const char *, const char *,
	    struct api_person *);
int	 api_me(struct stack *, const char *);
int	 api_refresh(struct stack *, const char *, char *, char *);
int	 api_logout(struct stack *, const char *);
int	 api_workers(struct stack *, struct api_worker *, int);
int	 api_burst_me(struct stack *, const char *, int,
	    struct api_tally *);
int	 api_burst_every_worker(struct stack *, const char *,
	    struct api_tally *);
void	 api_wait_redis_connected(struct stack *, const char *);
int	 api_send_from(struct stack *, const char *, const char *, size_t,
	    struct http_conn *);
int	 api_request_from(struct stack *, const char *, const char *,
	    size_t, struct http_response *);
int	 api_login_from(struct stack *, const char *, const char *,
	    const char *, struct http_response *);

#endif
