/*
 * Fuzz target for the configuration parser (src/app/config.c): the input is
 * a configuration file, written to a memfd and loaded with config_load().
 * The secret comes from MOCKPIE_JWT_SECRET and every other MOCKPIE_*
 * variable is removed, so the environment cannot change the outcome.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "app/config.h"
#include "fuzz.h"
#include "lib/log.h"

#define FUZZ_SECRET	"fuzz-secret-0123456789-abcdefghijklmnopq"

extern char	**environ;

static int	 fd = -1;
static char	 path[64];

static void
fuzz_config_cleanup(void)
{
	if (fd != -1)
		close(fd);
	fd = -1;
}

/* Removes MOCKPIE_* from the environment; the keys are the parser's. */
static void
fuzz_config_clear_env(void)
{
	char	 name[128];
	char	**e;
	size_t	 n;

again:
	for (e = environ; *e != NULL; e++) {
		if (strncmp(*e, "MOCKPIE_", 8) != 0)
			continue;
		n = strcspn(*e, "=");
		if (n >= sizeof(name))
			continue;
		memcpy(name, *e, n);
		name[n] = '\0';
		unsetenv(name);
		goto again;	/* environ changed under us */
	}
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_init("fuzz_config", LOG_LEVEL_ERROR);
	fuzz_config_clear_env();
	if (setenv("MOCKPIE_JWT_SECRET", FUZZ_SECRET, 1) == -1 ||
	    (fd = memfd_create("fuzz_config", MFD_CLOEXEC)) == -1) {
		perror("fuzz_config: init");
		exit(1);
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	atexit(fuzz_config_cleanup);
	return 0;
}

/* An array member of struct config holds a C string. */
#define FUZZ_TERMINATED(a)	(memchr((a), '\0', sizeof(a)) != NULL)

/* What config.h promises of a loaded configuration. */
static void
fuzz_config_check(int rc, const struct config *c, const char *err,
    int echoed)
{
	size_t	 i;

	/* messages name keys, never the secret, unless the file wrote it */
	FUZZ_CHECK(echoed || strstr(err, FUZZ_SECRET) == NULL);
	FUZZ_CHECK(rc == 0 || rc == -1);
	if (rc == -1) {
		FUZZ_CHECK(err[0] != '\0');
		return;
	}
	FUZZ_CHECK(c->jwt_secret_len == sizeof(FUZZ_SECRET) - 1 &&
	    memcmp(c->jwt_secret, FUZZ_SECRET, c->jwt_secret_len) == 0);
	FUZZ_CHECK(c->pool.workers >= 1);
	FUZZ_CHECK(c->http.body_limit >= 1024);
	FUZZ_CHECK(c->redis.backoff_min_ms <= c->redis.backoff_max_ms);
	FUZZ_CHECK(c->refresh_token_ttl >= c->access_token_ttl);
	FUZZ_CHECK(c->http.ncors_origins <= HTTP_ORIGINS_MAX);
	FUZZ_CHECK(FUZZ_TERMINATED(c->pool.listen));
	FUZZ_CHECK(FUZZ_TERMINATED(c->pool.pidfile));
	FUZZ_CHECK(FUZZ_TERMINATED(c->redis_url));
	FUZZ_CHECK(FUZZ_TERMINATED(c->redis_prefix));
	FUZZ_CHECK(FUZZ_TERMINATED(c->database));
	FUZZ_CHECK(FUZZ_TERMINATED(c->jwt_issuer));
	for (i = 0; i < c->http.ncors_origins; i++)
		FUZZ_CHECK(http_origin_allowed(&c->http,
		    c->http.cors_origins[i]));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config	 c;
	char		 err[CONFIG_ERR_MAX];
	int		 rc;

	if (ftruncate(fd, 0) == -1 ||
	    pwrite(fd, data, size, 0) != (ssize_t)size) {
		perror("fuzz_config: memfd");
		exit(1);
	}
	err[0] = '\0';
	rc = config_load(&c, path, err, sizeof(err));
	fuzz_config_check(rc, &c, err, memmem(data, size, FUZZ_SECRET,
	    sizeof(FUZZ_SECRET) - 1) != NULL);
	config_fini(&c);
	return 0;
}
