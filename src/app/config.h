/*
 * Configuration: built-in defaults, then the key = value file, then
 * MOCKPIE_<KEY> environment overrides, then validation.  Loaded by the
 * master (and again on SIGHUP); workers inherit it across fork.
 */
#ifndef MOCKPIE_CONFIG_H
#define MOCKPIE_CONFIG_H

#include <stddef.h>

#include <jwt.h>

#include "http/ctx.h"
#include "lib/log.h"
#include "pool/pool.h"
#include "redis/rconn.h"

#define CONFIG_PATH_MAX		1024
#define CONFIG_SECRET_MAX	512
#define CONFIG_ERR_MAX		256

struct passlist;

struct config {
	struct pool_config pool;	/* pool.h: workers, listen, ... */
	struct http_config http;	/* ctx.h: body_limit, cors_* */
	int		 status_enabled;
	/* common_passwords_file as loaded by app_load(): NULL from
	   config_load() alone */
	struct passlist	*passlist;

	/* redis (SPEC 3) */
	char		 redis_url[CONFIG_PATH_MAX];
	struct rconn_config redis;
	char		 redis_prefix[64];
	int		 redis_required;
	int		 redis_client_cache;	/* session_cache.h */
	int		 redis_test_enabled;

	/*
	 * Redis Sentinel (SPEC 5): the sentinels, master name and password
	 * land in redis.*; the password file is read into it at load.
	 */
	char		 redis_sentinel_password_file[CONFIG_PATH_MAX];

	/* users */
	char		 database[CONFIG_PATH_MAX];
	int		 database_busy_timeout_ms;
	long		 user_cache_ttl;	/* seconds; 0: every read */
	int		 database_connect_timeout_ms;	/* PostgreSQL */
	int		 database_statement_timeout_ms;	/* PostgreSQL */
	char		 common_passwords_file[CONFIG_PATH_MAX];
	unsigned long long password_opslimit;
	size_t		 password_memlimit;

	/* tokens */
	char		 jwt_secret_file[CONFIG_PATH_MAX];
	unsigned char	 jwt_secret[CONFIG_SECRET_MAX];
	size_t		 jwt_secret_len;
	jwt_alg_t	 jwt_alg;
	char		 jwt_issuer[64];
	long		 access_token_ttl;
	long		 refresh_token_ttl;
	long		 jwt_leeway;
	long		 refresh_reuse_grace;
	long		 login_max_failures;
	long		 login_failure_window;

	/* the original MockPie platform */
	int		 platform_tokens;	/* 1: original's claims + keys */
	char		 platform_key_prefix[64];
	/* mail and one-time codes (issue 15) */
	char		 smtp_url[CONFIG_PATH_MAX];	/* "": log mail */
	char		 smtp_user[256];
	char		 smtp_password_file[CONFIG_PATH_MAX];
	int		 smtp_starttls;
	int		 smtp_timeout_ms;
	char		 mail_from[256];
	char		 mail_templates_dir[CONFIG_PATH_MAX];
	long		 mail_max_tries;
	long		 mail_retry_base;	/* seconds */
	long		 mail_claim_idle;	/* seconds */
	long		 otp_ttl;
	long		 otp_max_attempts;
	long		 otp_resend_cooldown;
	long		 otp_hourly_cap;
	long		 reset_grant_ttl;
	int		 reset_requires_token;
	int		 require_verified_email;
	int		 mail_sender;	/* this host runs a sender */
	/* SMTP over TLS (issue 15): whom to trust */
	char		 smtp_ca_file[CONFIG_PATH_MAX];	/* "": system store */

	/* the original MockPie database (issue 10.2, SPEC 5) */
	int		 users_table_original;	/* users_table = original */
	int		 rehash_legacy;		/* bcrypt to Argon2id */

	/* the file this came from, for messages and reload */
	char		 path[CONFIG_PATH_MAX];
};

/* Command-line values that outlive a reload (NULL: not given). */
struct config_overrides {
	const char	*listen;
	const char	*pidfile;
	const char	*workers;
};

void	 config_defaults(struct config *);
int	 config_load_with(struct config *, const char *,
	    const struct config_overrides *, char *, size_t);
int	 config_load(struct config *, const char *, char *, size_t);
int	 config_set(struct config *, const char *, const char *, const char *,
	    char *, size_t);
void	 config_fini(struct config *);

#endif
