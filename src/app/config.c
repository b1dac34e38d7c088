/*
 * The configuration table: one row per key with its type, bounds and
 * default.  The same parser takes the file's lines and the MOCKPIE_*
 * environment, so every key can be overridden the same way.  Messages
 * name the key and never echo a secret.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>


#include "app/config.h"
#include "store/users.h"

#define CONFIG_LINE_MAX	4096
#define CONFIG_FILE_MAX	(1024 * 1024)

enum config_type { T_INT, T_LONG, T_SIZE, T_BOOL, T_STR, T_PATH, T_SPECIAL };

struct config_key {
	const char	*name;
	enum config_type type;
	size_t		 offset;
	size_t		 size;		/* T_STR, T_PATH: the array size */
	long long	 min, max;	/* numeric bounds */
};

#define OFF(f)	offsetof(struct config, f)
#define STR(f)	OFF(f), sizeof(((struct config *)0)->f)

static const struct config_key config_keys[] = {
	{ "workers",			T_INT,	OFF(pool.workers), 0, 0, 1024 },
	{ "listen",			T_STR,	STR(pool.listen), 0, 0 },
	{ "listen_backlog",		T_INT,	OFF(pool.listen_backlog), 0, 1, 65535 },
	{ "pidfile",			T_PATH,	STR(pool.pidfile), 0, 0 },
	{ "max_requests",		T_LONG,	OFF(pool.max_requests), 0, 0, LONG_MAX },
	{ "max_kept_connections",	T_INT,	OFF(pool.max_kept_connections), 0, 1,
	    10000 },
	{ "request_timeout",		T_INT,	OFF(pool.request_timeout), 0, 1, 3600 },
	{ "shutdown_timeout",		T_INT,	OFF(pool.shutdown_timeout), 0, 1, 3600 },
	{ "slow_request_ms",		T_INT,	OFF(pool.slow_request_ms), 0, 1,
	    3600000 },
	{ "crash_threshold",		T_INT,	OFF(pool.crash_threshold), 0, 1, 10000 },
	{ "crash_interval",		T_INT,	OFF(pool.crash_interval), 0, 1, 3600 },
	{ "listen_mode",		T_SPECIAL, 0, 0, 0, 0 },
	{ "listen_owner",		T_STR,	STR(pool.listen_owner), 0, 0 },
	{ "listen_group",		T_STR,	STR(pool.listen_group), 0, 0 },
	{ "fcgi_allowed_addrs",		T_STR,	STR(pool.fcgi_allowed_addrs),
	    0, 0 },
	{ "rlimit_nofile",		T_LONG,	OFF(pool.rlimit_nofile), 0, 0, 1048576 },
	{ "rlimit_core",		T_LONG,	OFF(pool.rlimit_core), 0, -1,
	    LONG_MAX },
	{ "status_enabled",		T_BOOL,	OFF(status_enabled), 0, 0, 1 },
	{ "log_level",			T_SPECIAL, 0, 0, 0, 0 },
	{ "body_limit",			T_SIZE,	OFF(http.body_limit), 0, 1024,
	    16 * 1024 * 1024 },
	{ "cors_origins",		T_SPECIAL, 0, 0, 0, 0 },
	{ "cors_max_age",		T_INT,	OFF(http.cors_max_age), 0, 0, 86400 },
	{ "redis_url",			T_STR,	STR(redis_url), 0, 0 },
	{ "redis_connect_timeout_ms",	T_INT,
	    OFF(redis.connect_timeout_ms), 0, 1, 60000 },
	{ "redis_command_timeout_ms",	T_INT,
	    OFF(redis.command_timeout_ms), 0, 1, 60000 },
	{ "redis_backoff_min_ms",	T_INT,	OFF(redis.backoff_min_ms), 0,
	    1, 60000 },
	{ "redis_backoff_max_ms",	T_INT,	OFF(redis.backoff_max_ms), 0,
	    1, 600000 },
	{ "redis_key_prefix",		T_STR,	STR(redis_prefix), 0, 0 },
	{ "redis_required",		T_BOOL,	OFF(redis_required), 0, 0, 1 },
	{ "redis_client_cache",		T_BOOL,	OFF(redis_client_cache), 0,
	    0, 1 },
	{ "redis_test_enabled",		T_BOOL,	OFF(redis_test_enabled), 0,
	    0, 1 },
	/* Redis Sentinel (SPEC 5) */
	{ "redis_sentinels",		T_SPECIAL, 0, 0, 0, 0 },
	{ "redis_master_name",		T_STR,	STR(redis.master_name), 0, 0 },
	{ "redis_sentinel_password",	T_STR,	STR(redis.sentinel_password),
	    0, 0 },
	{ "redis_sentinel_password_file", T_PATH,
	    STR(redis_sentinel_password_file), 0, 0 },
	{ "database",			T_PATH,	STR(database), 0, 0 },
	{ "database_busy_timeout_ms",	T_INT,
	    OFF(database_busy_timeout_ms), 0, 0, 60000 },
	{ "user_cache_ttl",		T_LONG,	OFF(user_cache_ttl), 0, 0,
	    3600 },
	{ "database_connect_timeout_ms", T_INT,
	    OFF(database_connect_timeout_ms), 0, 1, 60000 },
	{ "database_statement_timeout_ms", T_INT,
	    OFF(database_statement_timeout_ms), 0, 1, 600000 },
	{ "common_passwords_file",	T_PATH,	STR(common_passwords_file),
	    0, 0 },
	{ "password_opslimit",		T_SPECIAL, 0, 0, 0, 0 },
	{ "password_memlimit",		T_SIZE,	OFF(password_memlimit), 0,
	    8192, (long long)1 << 32 },
	{ "jwt_secret_file",		T_PATH,	STR(jwt_secret_file), 0, 0 },
	{ "jwt_algorithm",		T_SPECIAL, 0, 0, 0, 0 },
	{ "jwt_issuer",			T_STR,	STR(jwt_issuer), 0, 0 },
	{ "access_token_ttl",		T_LONG,	OFF(access_token_ttl), 0, 10,
	    86400 },
	{ "refresh_token_ttl",		T_LONG,	OFF(refresh_token_ttl), 0, 60,
	    366L * 86400 },
	{ "jwt_leeway",			T_LONG,	OFF(jwt_leeway), 0, 0, 300 },
	{ "refresh_reuse_grace",	T_LONG,	OFF(refresh_reuse_grace), 0,
	    0, 300 },
	{ "login_max_failures",		T_LONG,	OFF(login_max_failures), 0,
	    1, 1000000 },
	{ "login_failure_window",	T_LONG,	OFF(login_failure_window), 0,
	    1, 86400 * 7 },
	/* the original MockPie platform (README: in front of it) */
	{ "platform_tokens",		T_SPECIAL, 0, 0, 0, 0 },
	{ "platform_key_prefix",	T_STR,	STR(platform_key_prefix), 0, 0 },
	{ "smtp_url",			T_STR,	STR(smtp_url), 0, 0 },
	{ "smtp_user",			T_STR,	STR(smtp_user), 0, 0 },
	{ "smtp_password_file",		T_PATH,	STR(smtp_password_file),
	    0, 0 },
	{ "smtp_starttls",		T_BOOL,	OFF(smtp_starttls), 0, 0, 1 },
	{ "smtp_timeout_ms",		T_INT,	OFF(smtp_timeout_ms), 0, 100,
	    600000 },
	{ "mail_from",			T_STR,	STR(mail_from), 0, 0 },
	{ "mail_templates_dir",		T_PATH,	STR(mail_templates_dir),
	    0, 0 },
	{ "mail_max_tries",		T_LONG,	OFF(mail_max_tries), 0, 1,
	    100 },
	{ "mail_retry_base",		T_LONG,	OFF(mail_retry_base), 0, 1,
	    3600 },
	{ "mail_claim_idle",		T_LONG,	OFF(mail_claim_idle), 0, 1,
	    86400 },
	{ "otp_ttl",			T_LONG,	OFF(otp_ttl), 0, 60, 86400 },
	{ "otp_max_attempts",		T_LONG,	OFF(otp_max_attempts), 0, 1,
	    100 },
	{ "otp_resend_cooldown",	T_LONG,	OFF(otp_resend_cooldown), 0,
	    0, 3600 },
	{ "otp_hourly_cap",		T_LONG,	OFF(otp_hourly_cap), 0, 1,
	    1000 },
	{ "reset_grant_ttl",		T_LONG,	OFF(reset_grant_ttl), 0, 10,
	    3600 },
	{ "reset_requires_token",	T_BOOL,	OFF(reset_requires_token), 0,
	    0, 1 },
	{ "require_verified_email",	T_BOOL,	OFF(require_verified_email),
	    0, 0, 1 },
	{ "mail_sender",		T_BOOL,	OFF(mail_sender), 0, 0, 1 },
	{ "smtp_ca_file",		T_PATH,	STR(smtp_ca_file), 0, 0 },
	/* the original MockPie database (issue 10.2) */
	{ "users_table",		T_SPECIAL, 0, 0, 0, 0 },
	{ "rehash_legacy",		T_BOOL,	OFF(rehash_legacy), 0, 0, 1 },
};

#define NKEYS	(sizeof(config_keys) / sizeof(config_keys[0]))

static int	set_origins(struct config *, const char *);

/* Built-in defaults (SPEC 3, 4); CPU-dependent ones are resolved later. */
void
config_defaults(struct config *c)
{
	memset(c, 0, sizeof(*c));
	c->pool.workers = 0;			/* 0: chosen from the CPU count */
	c->pool.listen_backlog = 1024;
	c->pool.max_requests = 10000;
	c->pool.max_kept_connections = 32;
	c->pool.request_timeout = 30;
	c->pool.shutdown_timeout = 10;
	c->pool.slow_request_ms = 1000;
	c->pool.crash_threshold = 5;
	c->pool.crash_interval = 10;
	c->pool.listen_mode = 0660;		/* only nginx's group (PITFALLS) */
	c->pool.rlimit_core = -1;
	c->status_enabled = 1;
	c->pool.log_level = LOG_LEVEL_INFO;
	c->http.body_limit = 64 * 1024;
	c->http.cors_max_age = 600;
	set_origins(c, "http://localhost:3000");
	snprintf(c->redis_url, sizeof(c->redis_url),
	    "redis://127.0.0.1:6379/0");
	c->redis.connect_timeout_ms = 200;
	c->redis.command_timeout_ms = 500;
	c->redis.backoff_min_ms = 250;
	c->redis.backoff_max_ms = 2000;
	snprintf(c->redis_prefix, sizeof(c->redis_prefix), "mockpie:");
	c->redis_test_enabled = 1;
	c->redis_client_cache = 1;
	snprintf(c->redis.master_name, sizeof(c->redis.master_name),
	    "mymaster");
	snprintf(c->database, sizeof(c->database), "mockpie.db");
	c->database_busy_timeout_ms = 2000;
	c->user_cache_ttl = 1;
	c->database_connect_timeout_ms = 1000;	/* SPEC 5 */
	c->database_statement_timeout_ms = 2000;
	snprintf(c->common_passwords_file, sizeof(c->common_passwords_file),
	    "%s", MOCKPIE_CONFDIR "/common-passwords.txt");
	c->password_opslimit = 2;	/* libsodium's INTERACTIVE */
	c->password_memlimit = 64UL * 1024 * 1024;
	c->jwt_alg = JWT_ALG_HS256;
	snprintf(c->jwt_issuer, sizeof(c->jwt_issuer), "mockpie");
	c->access_token_ttl = 15 * 60;
	c->refresh_token_ttl = 7 * 86400;
	c->jwt_leeway = 30;
	c->refresh_reuse_grace = 10;
	c->login_max_failures = 10;
	c->login_failure_window = 15 * 60;
	c->smtp_starttls = 1;
	c->mail_sender = 1;
	c->smtp_timeout_ms = 10000;
	snprintf(c->mail_from, sizeof(c->mail_from),
	    "MockPie <no-reply@localhost>");
	snprintf(c->mail_templates_dir, sizeof(c->mail_templates_dir),
	    "%s", MOCKPIE_CONFDIR "/mail");
	c->mail_max_tries = 8;
	c->mail_retry_base = 5;
	c->mail_claim_idle = 60;
	c->otp_ttl = 600;		/* the original's 10 minutes */
	c->otp_max_attempts = 5;
	c->otp_resend_cooldown = 30;	/* the web client's own */
	c->otp_hourly_cap = 5;
	c->reset_grant_ttl = 300;	/* the original's 5 minutes */

	/* the original MockPie database (issue 10.2) */
	c->users_table_original = 0;	/* users_table = mockpie */
	c->rehash_legacy = 1;
}

static void
origins_clear(struct config *c)
{
	size_t	 i;

	for (i = 0; i < c->http.ncors_origins; i++)
		free(c->http.cors_origins[i]);
	c->http.ncors_origins = 0;
}

/* Frees what config_load allocated and wipes the secret. */
void
config_fini(struct config *c)
{
	origins_clear(c);
	explicit_bzero(c->jwt_secret, sizeof(c->jwt_secret));
	explicit_bzero(&c->redis.url, sizeof(c->redis.url));
	explicit_bzero(c->redis.sentinel_password,
	    sizeof(c->redis.sentinel_password));
	c->jwt_secret_len = 0;
}

static int
parse_ll(const char *v, long long min, long long max, long long *out)
{
	char		*end;
	long long	 n;

	errno = 0;
	n = strtoll(v, &end, 10);
	if (errno != 0 || end == v || *end != '\0' || n < min || n > max)
		return -1;
	*out = n;
	return 0;
}

/* 64k, 64M, 1g: a size in bytes with an optional binary suffix. */
static int
parse_size(const char *v, long long min, long long max, long long *out)
{
	char		 num[32];
	size_t		 len = strlen(v);
	long long	 mult = 1;

	if (len == 0 || len >= sizeof(num))
		return -1;
	memcpy(num, v, len + 1);
	switch (tolower((unsigned char)num[len - 1])) {
	case 'k': mult = 1024; break;
	case 'm': mult = 1024 * 1024; break;
	case 'g': mult = 1024 * 1024 * 1024; break;
	default: break;
	}
	if (mult != 1)
		num[len - 1] = '\0';
	if (parse_ll(num, 0, LLONG_MAX / mult, out) == -1)
		return -1;
	*out *= mult;
	return *out < min || *out > max ? -1 : 0;
}

static int
parse_bool(const char *v, int *out)
{
	if (strcasecmp(v, "true") == 0 || strcasecmp(v, "yes") == 0 ||
	    strcasecmp(v, "on") == 0 || strcmp(v, "1") == 0)
		*out = 1;
	else if (strcasecmp(v, "false") == 0 || strcasecmp(v, "no") == 0 ||
	    strcasecmp(v, "off") == 0 || strcmp(v, "0") == 0)
		*out = 0;
	else
		return -1;
	return 0;
}

/* An origin is scheme://host[:port], no path, no trailing slash. */
static int
origin_valid(const char *o)
{
	const char	*p;

	if (strncmp(o, "http://", 7) == 0)
		p = o + 7;
	else if (strncmp(o, "https://", 8) == 0)
		p = o + 8;
	else
		return 0;
	if (*p == '\0' || strlen(o) > 255)
		return 0;
	for (; *p != '\0'; p++)
		if (!isalnum((unsigned char)*p) && strchr(".-:[]", *p) == NULL)
			return 0;
	return 1;
}

static int
set_origins(struct config *c, const char *v)
{
	char	 buf[CONFIG_LINE_MAX], *tok, *save = NULL;

	if (strlen(v) >= sizeof(buf))
		return -1;
	memcpy(buf, v, strlen(v) + 1);
	origins_clear(c);
	for (tok = strtok_r(buf, ", \t", &save); tok != NULL;
	    tok = strtok_r(NULL, ", \t", &save)) {
		if (!origin_valid(tok) || c->http.ncors_origins == HTTP_ORIGINS_MAX)
			return -1;
		if ((c->http.cors_origins[c->http.ncors_origins] = strdup(tok)) == NULL)
			log_fatal("config: strdup");
		c->http.ncors_origins++;
	}
	return 0;
}

static int
set_special(struct config *c, const char *key, const char *v)
{
	const char	*why;
	long long	 n;
	char		*end;

	if (strcmp(key, "log_level") == 0)
		return log_level_parse(v, &c->pool.log_level);
	if (strcmp(key, "cors_origins") == 0)
		return set_origins(c, v);
	if (strcmp(key, "redis_sentinels") == 0)
		return rconn_sentinels_parse(v, &c->redis, &why);
	if (strcmp(key, "listen_mode") == 0) {	/* octal, as chmod */
		errno = 0;
		n = strtoll(v, &end, 8);
		if (errno != 0 || end == v || *end != '\0' || n < 0 ||
		    n > 0777)
			return -1;
		c->pool.listen_mode = (int)n;
		return 0;
	}
	if (strcmp(key, "password_opslimit") == 0) {
		if (parse_ll(v, 1, 64, &n) == -1)
			return -1;
		c->password_opslimit = (unsigned long long)n;
		return 0;
	}
	if (strcmp(key, "platform_tokens") == 0) {
		if (strcmp(v, "mockpie") == 0)
			c->platform_tokens = 0;
		else if (strcmp(v, "original") == 0)
			c->platform_tokens = 1;
		else
			return -1;
		return 0;
	}
	if (strcmp(key, "users_table") == 0) {
		if (strcmp(v, "mockpie") == 0)
			c->users_table_original = 0;
		else if (strcmp(v, "original") == 0)
			c->users_table_original = 1;
		else
			return -1;
		return 0;
	}
	if (strcmp(key, "jwt_algorithm") == 0) {
		if (strcmp(v, "HS256") == 0)
			c->jwt_alg = JWT_ALG_HS256;
		else if (strcmp(v, "HS384") == 0)
			c->jwt_alg = JWT_ALG_HS384;
		else if (strcmp(v, "HS512") == 0)
			c->jwt_alg = JWT_ALG_HS512;
		else
			return -1;
		return 0;
	}
	return -1;
}

/* base/rel when rel is relative and base names a file, else rel. */
static int
resolve_path(char *dst, size_t size, const char *base, const char *rel)
{
	const char	*slash;
	int		 n;

	if (rel[0] == '/' || base == NULL ||
	    (slash = strrchr(base, '/')) == NULL)
		n = snprintf(dst, size, "%s", rel);
	else
		n = snprintf(dst, size, "%.*s/%s", (int)(slash - base), base,
		    rel);
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

/*
 * Sets key to value; relative paths are taken from the directory of
 * base_file when one is given.  0, or -1 with a message in err naming the
 * key (never the value of a secret).
 */
int
config_set(struct config *c, const char *key, const char *value,
    const char *base_file, char *err, size_t errlen)
{
	const struct config_key	*k = NULL;
	char			*field;
	long long		 n;
	size_t			 i;
	int			 b;

	for (i = 0; i < NKEYS; i++)
		if (strcmp(config_keys[i].name, key) == 0)
			k = &config_keys[i];
	if (k == NULL) {
		snprintf(err, errlen, "unknown key \"%.64s\"", key);
		return -1;
	}
	field = (char *)c + k->offset;
	switch (k->type) {
	case T_INT:
		if (parse_ll(value, k->min, k->max, &n) == -1)
			goto bad;
		*(int *)field = (int)n;
		return 0;
	case T_LONG:
		if (parse_ll(value, k->min, k->max, &n) == -1)
			goto bad;
		*(long *)field = (long)n;
		return 0;
	case T_SIZE:
		if (parse_size(value, k->min, k->max, &n) == -1)
			goto bad;
		*(size_t *)field = (size_t)n;
		return 0;
	case T_BOOL:
		if (parse_bool(value, &b) == -1)
			goto bad;
		*(int *)field = b;
		return 0;
	case T_STR:
		if (strlen(value) >= k->size)
			goto bad;
		memcpy(field, value, strlen(value) + 1);
		return 0;
	case T_PATH:
		/* SPEC 5: a PostgreSQL URL is not a path to resolve */
		if (k->offset == OFF(database) && users_is_postgresql(value)) {
			if (strlen(value) >= k->size)
				goto bad;
			memcpy(field, value, strlen(value) + 1);
			return 0;
		}
		if (resolve_path(field, k->size, base_file, value) == -1)
			goto bad;
		return 0;
	case T_SPECIAL:
		if (set_special(c, key, value) == -1)
			goto bad;
		return 0;
	}
bad:
	if (k->type == T_INT || k->type == T_LONG || k->type == T_SIZE)
		snprintf(err, errlen, "%s: invalid value (expected %lld..%lld)",
		    key, k->min, k->max);
	else
		snprintf(err, errlen, "%s: invalid value", key);
	return -1;
}

static char *
trim(char *s)
{
	char	*end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

static int
load_file(struct config *c, const char *path, char *err, size_t errlen)
{
	char	 msg[CONFIG_ERR_MAX], *line = NULL, *key, *value, *eq;
	size_t	 cap = 0;
	ssize_t	 n;
	FILE	*f;
	int	 lineno = 0, rc = -1;

	struct stat	 st;

	if ((f = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fileno(f), &st) == 0 && st.st_size > CONFIG_FILE_MAX) {
		snprintf(err, errlen, "%s: larger than %d bytes", path,
		    CONFIG_FILE_MAX);
		goto fail;
	}
	while ((n = getline(&line, &cap, f)) != -1) {
		lineno++;
		if (n > CONFIG_LINE_MAX) {
			snprintf(err, errlen, "%s:%d: line too long", path,
			    lineno);
			goto fail;
		}
		if (memchr(line, '\0', (size_t)n) != NULL) {
			snprintf(err, errlen, "%s:%d: NUL byte in line", path,
			    lineno);
			goto fail;
		}
		key = trim(line);
		if (*key == '\0' || *key == '#')
			continue;
		if ((eq = strchr(key, '=')) == NULL) {
			snprintf(err, errlen, "%s:%d: expected key = value",
			    path, lineno);
			goto fail;
		}
		*eq = '\0';
		key = trim(key);
		value = trim(eq + 1);
		if (config_set(c, key, value, path, msg, sizeof(msg)) == -1) {
			snprintf(err, errlen, "%s:%d: %s", path, lineno, msg);
			goto fail;
		}
	}
	rc = 0;
fail:
	free(line);
	fclose(f);
	return rc;
}

static int
load_env(struct config *c, char *err, size_t errlen)
{
	char		 env[80];
	const char	*v;
	size_t		 i, j;

	for (i = 0; i < NKEYS; i++) {
		snprintf(env, sizeof(env), "MOCKPIE_%s", config_keys[i].name);
		for (j = 8; env[j] != '\0'; j++)
			env[j] = (char)toupper((unsigned char)env[j]);
		if ((v = getenv(env)) != NULL &&
		    config_set(c, config_keys[i].name, v, NULL, err, errlen)
		    == -1)
			return -1;
	}
	return 0;
}

static int
load_secret(struct config *c, char *err, size_t errlen)
{
	const char	*env = getenv("MOCKPIE_JWT_SECRET");
	struct stat	 st;
	ssize_t		 n;
	int		 fd;

	if (env != NULL && *env != '\0') {
		if (strlen(env) >= sizeof(c->jwt_secret))
			goto toolong;
		c->jwt_secret_len = strlen(env);
		memcpy(c->jwt_secret, env, c->jwt_secret_len);
	} else if (c->jwt_secret_file[0] != '\0') {
		if ((fd = open(c->jwt_secret_file, O_RDONLY | O_CLOEXEC)) ==
		    -1) {
			snprintf(err, errlen, "jwt_secret_file: %s: %s",
			    c->jwt_secret_file, strerror(errno));
			return -1;
		}
		if (fstat(fd, &st) == 0 && (st.st_mode & 077) != 0)
			log_warnx("jwt_secret_file %s is readable by others "
			    "(mode %03o)", c->jwt_secret_file,
			    (unsigned)(st.st_mode & 0777));
		n = read(fd, c->jwt_secret, sizeof(c->jwt_secret));
		close(fd);
		if (n < 0 || (size_t)n == sizeof(c->jwt_secret)) {
			if (n >= 0)
				goto toolong;
			snprintf(err, errlen, "jwt_secret_file: read: %s",
			    strerror(errno));
			return -1;
		}
		while (n > 0 && (c->jwt_secret[n - 1] == '\n' ||
		    c->jwt_secret[n - 1] == '\r'))
			n--;		/* `echo secret > file` */
		c->jwt_secret_len = (size_t)n;
	}
	/* PITFALLS: libjwt with an empty key accepts any token */
	if (c->jwt_secret_len < 32) {
		snprintf(err, errlen, "jwt_secret_file: the JWT secret "
		    "(MOCKPIE_JWT_SECRET or jwt_secret_file) must be at least "
		    "32 bytes");
		return -1;
	}
	return 0;
toolong:
	snprintf(err, errlen, "jwt_secret_file: secret longer than %zu bytes",
	    sizeof(c->jwt_secret) - 1);
	return -1;
}

/*
 * The Sentinel settings hang together: a master name Redis can take as
 * one argument, and one password source at most.  The file's password
 * is read here (a trailing newline dropped) and never echoed.
 */
static int
check_sentinel(struct config *c, char *err, size_t errlen)
{
	struct rconn_config	*r = &c->redis;
	const char		*p;
	struct stat		 st;
	ssize_t			 n;
	int			 fd;

	if (r->nsentinels == 0)
		return 0;
	if (r->master_name[0] == '\0') {
		snprintf(err, errlen, "redis_master_name: empty");
		return -1;
	}
	for (p = r->master_name; *p != '\0'; p++)
		if (!isgraph((unsigned char)*p)) {
			snprintf(err, errlen, "redis_master_name: only "
			    "printable characters, no blanks");
			return -1;
		}
	log_info("redis: the master comes from %d sentinel(s); redis_url's "
	    "host and port are ignored", r->nsentinels);
	if (c->redis_sentinel_password_file[0] == '\0')
		return 0;
	if (r->sentinel_password[0] != '\0') {
		snprintf(err, errlen, "redis_sentinel_password_file: set "
		    "redis_sentinel_password or the file, not both");
		return -1;
	}
	if ((fd = open(c->redis_sentinel_password_file,
	    O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "redis_sentinel_password_file: %s: %s",
		    c->redis_sentinel_password_file, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == 0 && (st.st_mode & 077) != 0)
		log_warnx("redis_sentinel_password_file %s is readable by "
		    "others (mode %03o)", c->redis_sentinel_password_file,
		    (unsigned)(st.st_mode & 0777));
	n = read(fd, r->sentinel_password, sizeof(r->sentinel_password));
	close(fd);
	if (n < 0 || (size_t)n == sizeof(r->sentinel_password)) {
		explicit_bzero(r->sentinel_password,
		    sizeof(r->sentinel_password));
		snprintf(err, errlen, "redis_sentinel_password_file: %s",
		    n < 0 ? strerror(errno) : "password too long");
		return -1;
	}
	while (n > 0 && (r->sentinel_password[n - 1] == '\n' ||
	    r->sentinel_password[n - 1] == '\r'))
		n--;
	r->sentinel_password[n] = '\0';
	return 0;
}

/* listen_owner and listen_group name a user and group of this system. */
static int
check_account(const struct config *c, char *err, size_t errlen)
{
	if (c->pool.listen_owner[0] != '\0' && getpwnam(c->pool.listen_owner) == NULL) {
		snprintf(err, errlen, "listen_owner: no user %s",
		    c->pool.listen_owner);
		return -1;
	}
	if (c->pool.listen_group[0] != '\0' && getgrnam(c->pool.listen_group) == NULL) {
		snprintf(err, errlen, "listen_group: no group %s",
		    c->pool.listen_group);
		return -1;
	}
	return 0;
}

/*
 * Issue 15: the mail keys go into SMTP commands and headers (an
 * environment value can hold a line break), and a sender must not
 * take over a message another one is still sending.
 */
static int
check_mail(const struct config *c, char *err, size_t errlen)
{
	static const char *const names[] = { "smtp_url", "smtp_user",
	    "mail_from" };
	const char	*vals[3];
	const char	*p;
	size_t		 i;

	vals[0] = c->smtp_url;
	vals[1] = c->smtp_user;
	vals[2] = c->mail_from;
	for (i = 0; i < 3; i++)
		for (p = vals[i]; *p != '\0'; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f) {
				snprintf(err, errlen, "%s: control character "
				    "in value", names[i]);
				return -1;
			}
	if (c->smtp_url[0] != '\0' &&
	    strncasecmp(c->smtp_url, "smtp://", 7) != 0 &&
	    strncasecmp(c->smtp_url, "smtps://", 8) != 0) {
		snprintf(err, errlen, "smtp_url: expected smtp://host[:port] "
		    "or smtps://host[:port]");
		return -1;
	}
	/* the password would cross in clear, or be refused late */
	if (c->smtp_user[0] != '\0' && !c->smtp_starttls &&
	    strncasecmp(c->smtp_url, "smtp://", 7) == 0) {
		snprintf(err, errlen, "smtp_user: AUTH needs TLS: smtps://, "
		    "or smtp:// with smtp_starttls = true");
		return -1;
	}
	if (c->smtp_ca_file[0] != '\0' && access(c->smtp_ca_file, R_OK) ==
	    -1) {
		snprintf(err, errlen, "smtp_ca_file: %s: %s", c->smtp_ca_file,
		    strerror(errno));
		return -1;
	}
	if (strchr(c->mail_from, '@') == NULL) {
		snprintf(err, errlen, "mail_from: no address");
		return -1;
	}
	if (c->mail_claim_idle * 1000L <= 2L * c->smtp_timeout_ms) {
		snprintf(err, errlen, "mail_claim_idle: must be over twice "
		    "smtp_timeout_ms");
		return -1;
	}
	return 0;
}

static int
validate(struct config *c, char *err, size_t errlen)
{
	const char	*why;
	char		 why_buf[128];
	long		 ncpu;

	/* the pool reads a request whole before the body parser does */
	c->pool.request_limit = c->http.body_limit;
	if (rconn_url_parse(c->redis_url, &c->redis.url, &why) == -1) {
		snprintf(err, errlen, "redis_url: %s", why);
		return -1;
	}
	if (check_sentinel(c, err, errlen) == -1)
		return -1;
	if (c->redis.backoff_min_ms > c->redis.backoff_max_ms) {
		snprintf(err, errlen, "redis_backoff_min_ms: greater than "
		    "redis_backoff_max_ms");
		return -1;
	}
	/* issue 4: timeouts that contradict each other */
	if (c->pool.slow_request_ms >= c->pool.request_timeout * 1000) {
		snprintf(err, errlen, "slow_request_ms: must be below "
		    "request_timeout (%d s)", c->pool.request_timeout);
		return -1;
	}
	if (c->redis.connect_timeout_ms >= c->pool.request_timeout * 1000) {
		snprintf(err, errlen, "redis_connect_timeout_ms: must be below "
		    "request_timeout (%d s)", c->pool.request_timeout);
		return -1;
	}
	if (c->redis.command_timeout_ms >= c->pool.request_timeout * 1000) {
		snprintf(err, errlen, "redis_command_timeout_ms: must be below "
		    "request_timeout (%d s)", c->pool.request_timeout);
		return -1;
	}
	if (check_account(c, err, errlen) == -1)
		return -1;
	if (pool_peers_check(c->pool.fcgi_allowed_addrs, why_buf,
	    sizeof(why_buf)) == -1) {
		snprintf(err, errlen, "fcgi_allowed_addrs: %s", why_buf);
		return -1;
	}
	if ((long)c->database_busy_timeout_ms >= c->pool.request_timeout * 1000L) {
		snprintf(err, errlen, "database_busy_timeout_ms: must be below "
		    "request_timeout (%d s)", c->pool.request_timeout);
		return -1;
	}
	if (users_check_database(c->database, err, errlen) == -1)
		return -1;
	/* PostgreSQL's timeouts mean nothing to SQLite: checked for a URL */
	if (users_is_postgresql(c->database) &&
	    (long)c->database_connect_timeout_ms >=
	    c->pool.request_timeout * 1000L) {
		snprintf(err, errlen, "database_connect_timeout_ms: must be "
		    "below request_timeout (%d s)", c->pool.request_timeout);
		return -1;
	}
	if (users_is_postgresql(c->database) &&
	    (long)c->database_statement_timeout_ms >=
	    c->pool.request_timeout * 1000L) {
		snprintf(err, errlen, "database_statement_timeout_ms: must be "
		    "below request_timeout (%d s)", c->pool.request_timeout);
		return -1;
	}
	/* SPEC 5: the original MockPie keeps its users in PostgreSQL */
	if (c->users_table_original && !users_is_postgresql(c->database)) {
		snprintf(err, errlen, "users_table: original needs a "
		    "postgresql:// database (the original MockPie backend's "
		    "users table); a SQLite file has only mockpie's own");
		return -1;
	}
	if (c->refresh_reuse_grace >= c->refresh_token_ttl) {
		snprintf(err, errlen, "refresh_reuse_grace: must be below "
		    "refresh_token_ttl");
		return -1;
	}
	if (c->refresh_token_ttl < c->access_token_ttl) {
		snprintf(err, errlen, "refresh_token_ttl: shorter than "
		    "access_token_ttl");
		return -1;
	}
	if (check_mail(c, err, errlen) == -1)
		return -1;
	if (c->pool.workers == 0) {
		/* SPEC 4: at least the CPUs; workers also wait on Redis */
		ncpu = sysconf(_SC_NPROCESSORS_ONLN);
		c->pool.workers = (int)(ncpu < 1 ? 4 : ncpu * 4);
	}
	return load_secret(c, err, errlen);
}

/*
 * Defaults, then the file at path (NULL: none), then the environment,
 * then validation.  0, or -1 with a message naming the key in err; on
 * failure *c still needs config_fini().
 */
int
config_load(struct config *c, const char *path, char *err, size_t errlen)
{
	return config_load_with(c, path, NULL, err, errlen);
}

/*
 * config_load(), then the command line's values on top, before
 * validation: the master calls it at start and again on SIGHUP, so a
 * reload keeps --listen, --pidfile and --workers.
 */
int
config_load_with(struct config *c, const char *path,
    const struct config_overrides *o, char *err, size_t errlen)
{
	config_defaults(c);
	if (path != NULL) {
		snprintf(c->path, sizeof(c->path), "%s", path);
		if (load_file(c, path, err, errlen) == -1)
			return -1;
	}
	if (load_env(c, err, errlen) == -1)
		return -1;
	if (o != NULL && ((o->workers != NULL && config_set(c, "workers",
	    o->workers, NULL, err, errlen) == -1) || (o->listen != NULL &&
	    config_set(c, "listen", o->listen, NULL, err, errlen) == -1) ||
	    (o->pidfile != NULL && config_set(c, "pidfile", o->pidfile, NULL,
	    err, errlen) == -1)))
		return -1;
	return validate(c, err, errlen);
}
