/*
 * The configuration: file syntax, environment overrides, validation;
 * and mockpie-fcgi's own checks beyond config_load (the mail templates).
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app/config.h"
#include "runner.h"

#define SECRET	"0123456789abcdef0123456789abcdef-test"
#define OUTPUT_MAX	4096
#define FCGI_ALARM_S	20	/* a mockpie-fcgi that should have refused */

static char	 dir[] = "/tmp/check_config.XXXXXX";
static char	 path[256];

static void
setup(void)
{
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/mockpie.conf", dir);
	setenv("MOCKPIE_JWT_SECRET", SECRET, 1);
}

static void
teardown(void)
{
	char	 cmd[300];

	unsetenv("MOCKPIE_JWT_SECRET");
	unsetenv("MOCKPIE_WORKERS");
	unsetenv("MOCKPIE_REDIS_URL");
	unsetenv("MOCKPIE_DATABASE");
	unsetenv("MOCKPIE_CORS_ORIGINS");
	unsetenv("MOCKPIE_FCGI_ALLOWED_ADDRS");
	unsetenv("MOCKPIE_MAIL_TEMPLATES_DIR");
	unsetenv("MOCKPIE_MAIL_SENDER");
	unsetenv("MOCKPIE_COMMON_PASSWORDS_FILE");
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
	memcpy(dir + strlen(dir) - 6, "XXXXXX", 6);
}

static void
write_file(const char *name, const char *text)
{
	char	 p[300];
	FILE	*f;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	ck_assert_ptr_nonnull(f = fopen(p, "w"));
	fputs(text, f);
	fclose(f);
}

START_TEST(defaults_follow_the_spec)
{
	struct config	 c;
	char		 err[CONFIG_ERR_MAX];

	ck_assert_int_eq(config_load(&c, NULL, err, sizeof(err)), 0);
	ck_assert_int_eq(c.pool.max_requests, 10000);
	ck_assert_int_eq(c.pool.request_timeout, 30);
	ck_assert_int_eq(c.pool.shutdown_timeout, 10);
	ck_assert_uint_eq(c.http.body_limit, 64 * 1024);
	ck_assert_int_eq(c.redis.connect_timeout_ms, 200);
	ck_assert_int_eq(c.redis.command_timeout_ms, 500);
	ck_assert_int_eq(c.redis.backoff_min_ms, 250);
	ck_assert_int_eq(c.redis.backoff_max_ms, 2000);
	ck_assert_int_eq(c.access_token_ttl, 900);
	ck_assert_int_eq(c.refresh_token_ttl, 7 * 86400);
	ck_assert_int_eq(c.jwt_leeway, 30);
	ck_assert_int_eq(c.refresh_reuse_grace, 10);
	ck_assert_int_eq(c.login_max_failures, 10);
	ck_assert_int_eq(c.login_failure_window, 900);
	ck_assert_int_ge(c.pool.workers, sysconf(_SC_NPROCESSORS_ONLN));
	ck_assert_int_eq(c.jwt_alg, JWT_ALG_HS256);
	ck_assert_uint_eq(c.http.ncors_origins, 1);
	ck_assert_str_eq(c.http.cors_origins[0], "http://localhost:3000");
	ck_assert_str_eq(c.redis.url.host, "127.0.0.1");
	config_fini(&c);
}
END_TEST

START_TEST(file_keys_comments_and_blank_lines_are_read)
{
	struct config	 c;
	char		 err[CONFIG_ERR_MAX];

	write_file("mockpie.conf", "# comment\n\n  workers = 3  \n"
	    "redis_required = yes\nbody_limit = 128k\n"
	    "jwt_algorithm = HS512\ncors_origins = http://a.test, "
	    "https://b.test:8443\n");
	ck_assert_int_eq(config_load(&c, path, err, sizeof(err)), 0);
	ck_assert_int_eq(c.pool.workers, 3);
	ck_assert_int_eq(c.redis_required, 1);
	ck_assert_uint_eq(c.http.body_limit, 128 * 1024);
	ck_assert_int_eq(c.jwt_alg, JWT_ALG_HS512);
	ck_assert_uint_eq(c.http.ncors_origins, 2);
	ck_assert(http_origin_allowed(&c.http, "https://b.test:8443"));
	ck_assert(!http_origin_allowed(&c.http, "http://localhost:3000"));
	ck_assert(!http_origin_allowed(&c.http, "http://a.test/"));
	config_fini(&c);
}
END_TEST

START_TEST(environment_overrides_the_file)
{
	struct config	 c;
	char		 err[CONFIG_ERR_MAX];

	write_file("mockpie.conf", "workers = 3\n");
	setenv("MOCKPIE_WORKERS", "5", 1);
	setenv("MOCKPIE_REDIS_URL", "redis://:pw@10.0.0.1:6380/2", 1);
	setenv("MOCKPIE_DATABASE", "/var/lib/mockpie/users.db", 1);
	ck_assert_int_eq(config_load(&c, path, err, sizeof(err)), 0);
	ck_assert_int_eq(c.pool.workers, 5);
	ck_assert_str_eq(c.redis.url.host, "10.0.0.1");
	ck_assert_int_eq(c.redis.url.port, 6380);
	ck_assert_int_eq(c.redis.url.db, 2);
	ck_assert_str_eq(c.redis.url.password, "pw");
	ck_assert_str_eq(c.database, "/var/lib/mockpie/users.db");
	config_fini(&c);
}
END_TEST

START_TEST(relative_paths_in_the_file_are_taken_from_its_directory)
{
	struct config	 c;
	char		 err[CONFIG_ERR_MAX], want[300];

	write_file("mockpie.conf", "database = data/users.db\n");
	ck_assert_int_eq(config_load(&c, path, err, sizeof(err)), 0);
	snprintf(want, sizeof(want), "%s/data/users.db", dir);
	ck_assert_str_eq(c.database, want);
	config_fini(&c);
}
END_TEST

START_TEST(an_unknown_key_is_refused_with_its_name_and_line)
{
	struct config	 c;
	char		 err[CONFIG_ERR_MAX];

	write_file("mockpie.conf", "workers = 2\nwrokers = 3\n");
	ck_assert_int_eq(config_load(&c, path, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "wrokers"));
	ck_assert_ptr_nonnull(strstr(err, ":2:"));
	config_fini(&c);
}
END_TEST

START_TEST(bad_values_are_refused_naming_the_key)
{
	static const char *const bad[] = {
		"workers = many\n", "workers = -1\n", "redis_required = maybe\n",
		"body_limit = 12q\n", "jwt_algorithm = none\n",
		"jwt_algorithm = RS256\n", "cors_origins = localhost:3000\n",
		"redis_url = http://x\n", "redis_url = redis://h:0\n",
		"request_timeout = 0\n", "fcgi_allowed_addrs = nginx.lan\n",
		"fcgi_allowed_addrs = 10.0.0.1,,10.0.0.2\n",
		"fcgi_allowed_addrs = 10.0.0.256\n", "no equals sign\n", NULL
	};
	struct config	 c;
	char		 err[CONFIG_ERR_MAX], key[32];
	int		 i;

	for (i = 0; bad[i] != NULL; i++) {
		write_file("mockpie.conf", bad[i]);
		ck_assert_int_eq(config_load(&c, path, err, sizeof(err)), -1);
		sscanf(bad[i], "%31s", key);
		if (strchr(bad[i], '=') != NULL)
			ck_assert_msg(strstr(err, key) != NULL,
			    "\"%s\" not named in \"%s\"", key, err);
		config_fini(&c);
	}
}
END_TEST

START_TEST(a_missing_or_short_secret_refuses_to_start)
{
	struct config	 c;
	char		 err[CONFIG_ERR_MAX];

	unsetenv("MOCKPIE_JWT_SECRET");
	ck_assert_int_eq(config_load(&c, NULL, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "32 bytes"));
	config_fini(&c);
	setenv("MOCKPIE_JWT_SECRET", "too-short", 1);
	ck_assert_int_eq(config_load(&c, NULL, err, sizeof(err)), -1);
	ck_assert_ptr_null(strstr(err, "too-short"));	/* never echoed */
	config_fini(&c);
}
END_TEST

START_TEST(the_secret_file_is_read_without_its_newline)
{
	struct config	 c;
	char		 err[CONFIG_ERR_MAX];

	unsetenv("MOCKPIE_JWT_SECRET");
	write_file("secret", SECRET "\n");
	write_file("mockpie.conf", "jwt_secret_file = secret\n");
	ck_assert_int_eq(config_load(&c, path, err, sizeof(err)), 0);
	ck_assert_uint_eq(c.jwt_secret_len, strlen(SECRET));
	ck_assert_int_eq(memcmp(c.jwt_secret, SECRET, strlen(SECRET)), 0);
	config_fini(&c);
	write_file("mockpie.conf", "jwt_secret_file = nowhere\n");
	ck_assert_int_eq(config_load(&c, path, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "jwt_secret_file"));
	config_fini(&c);
}
END_TEST

START_TEST(an_empty_origin_list_disables_cors)
{
	struct config	 c;
	char		 err[CONFIG_ERR_MAX];

	setenv("MOCKPIE_CORS_ORIGINS", "", 1);
	ck_assert_int_eq(config_load(&c, NULL, err, sizeof(err)), 0);
	ck_assert_uint_eq(c.http.ncors_origins, 0);
	ck_assert(!http_origin_allowed(&c.http, "http://localhost:3000"));
	config_fini(&c);
}
END_TEST

START_TEST(timeouts_that_contradict_each_other_are_refused)
{
	static const char *const bad[][2] = {
		{ "request_timeout = 2\nslow_request_ms = 2000\n",
		    "slow_request_ms" },
		{ "request_timeout = 1\nredis_command_timeout_ms = 1000\n"
		    "slow_request_ms = 10\ndatabase_busy_timeout_ms = 10\n",
		    "redis_command_timeout_ms" },
		{ "request_timeout = 1\nslow_request_ms = 10\n"
		    "database_busy_timeout_ms = 1000\n",
		    "database_busy_timeout_ms" },
		{ "refresh_token_ttl = 60\naccess_token_ttl = 60\n"
		    "refresh_reuse_grace = 60\n", "refresh_reuse_grace" },
		{ "redis_backoff_min_ms = 3000\nredis_backoff_max_ms = 2000\n",
		    "redis_backoff_min_ms" },
		{ "database = postgresql://u@127.0.0.1/db\nrequest_timeout = 1\n"
		    "slow_request_ms = 10\ndatabase_busy_timeout_ms = 10\n",
		    "database_connect_timeout_ms" },
	};
	struct config	 c;
	char		 err[CONFIG_ERR_MAX];
	size_t		 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_file("mockpie.conf", bad[i][0]);
		ck_assert_int_eq(config_load(&c, path, err, sizeof(err)), -1);
		ck_assert_msg(strstr(err, bad[i][1]) != NULL,
		    "\"%s\" not named in \"%s\"", bad[i][1], err);
		config_fini(&c);
	}
}
END_TEST

/* PostgreSQL's timeouts do not hold a SQLite pool to a long request_timeout */
START_TEST(postgresql_timeouts_are_not_checked_for_sqlite)
{
	struct config	 c;
	char		 err[CONFIG_ERR_MAX];

	write_file("mockpie.conf", "request_timeout = 1\nslow_request_ms = 10\n"
	    "database_busy_timeout_ms = 10\n");
	ck_assert_msg(config_load(&c, path, err, sizeof(err)) == 0, "%s", err);
	config_fini(&c);
}
END_TEST

START_TEST(the_socket_mode_is_octal_like_chmod)
{
	struct config	 c;
	char		 err[CONFIG_ERR_MAX];

	write_file("mockpie.conf", "listen_mode = 0600\n");
	ck_assert_int_eq(config_load(&c, path, err, sizeof(err)), 0);
	ck_assert_int_eq(c.pool.listen_mode, 0600);
	config_fini(&c);
	write_file("mockpie.conf", "listen_mode = 0899\n");
	ck_assert_int_eq(config_load(&c, path, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "listen_mode"));
	config_fini(&c);
}
END_TEST

START_TEST(command_line_values_win_over_file_and_environment)
{
	struct config_overrides	 o = { "unix:/tmp/x.sock", "/tmp/x.pid", "3" };
	struct config		 c;
	char			 err[CONFIG_ERR_MAX];

	write_file("mockpie.conf", "workers = 5\nlisten = 127.0.0.1:9000\n");
	setenv("MOCKPIE_WORKERS", "7", 1);
	ck_assert_int_eq(config_load_with(&c, path, &o, err, sizeof(err)), 0);
	ck_assert_int_eq(c.pool.workers, 3);
	ck_assert_str_eq(c.pool.listen, "unix:/tmp/x.sock");
	ck_assert_str_eq(c.pool.pidfile, "/tmp/x.pid");
	config_fini(&c);
}
END_TEST

START_TEST(a_nul_byte_or_a_huge_file_is_refused)
{
	struct config	 c;
	char		 err[CONFIG_ERR_MAX], p[300];
	FILE		*f;

	snprintf(p, sizeof(p), "%s/mockpie.conf", dir);
	ck_assert_ptr_nonnull(f = fopen(p, "w"));
	fwrite("workers = 2\0x\n", 1, 15, f);
	fclose(f);
	ck_assert_int_eq(config_load(&c, path, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "NUL"));
	config_fini(&c);
	ck_assert_ptr_nonnull(f = fopen(p, "w"));
	ck_assert_int_eq(ftruncate(fileno(f), 2 * 1024 * 1024), 0);
	fclose(f);
	ck_assert_int_eq(config_load(&c, path, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "larger than"));
	config_fini(&c);
}
END_TEST

START_TEST(fcgi_allowed_addrs_is_read_from_the_file_and_the_environment)
{
	struct config	 c;
	char		 err[CONFIG_ERR_MAX];

	ck_assert_int_eq(config_load(&c, NULL, err, sizeof(err)), 0);
	ck_assert_str_eq(c.pool.fcgi_allowed_addrs, "");	/* default */
	config_fini(&c);
	write_file("mockpie.conf",
	    "fcgi_allowed_addrs = 198.51.100.2, 2001:db8::2\n");
	ck_assert_int_eq(config_load(&c, path, err, sizeof(err)), 0);
	ck_assert_str_eq(c.pool.fcgi_allowed_addrs,
	    "198.51.100.2, 2001:db8::2");
	config_fini(&c);
	setenv("MOCKPIE_FCGI_ALLOWED_ADDRS", "198.51.100.9", 1);
	ck_assert_int_eq(config_load(&c, path, err, sizeof(err)), 0);
	ck_assert_str_eq(c.pool.fcgi_allowed_addrs, "198.51.100.9");
	config_fini(&c);
}
END_TEST

/* Issue 15: AUTH only under TLS, and a CA bundle that can be read. */
START_TEST(smtp_auth_without_tls_or_an_unreadable_ca_file_is_refused)
{
	struct config	 c;
	char		 err[CONFIG_ERR_MAX], ca[300];

	write_file("mockpie.conf", "smtp_url = smtp://127.0.0.1:2525\n"
	    "smtp_user = relay\nsmtp_starttls = false\n");
	ck_assert_int_eq(config_load(&c, path, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "smtp_user"));
	config_fini(&c);
	write_file("mockpie.conf", "smtp_url = smtps://127.0.0.1:4650\n"
	    "smtp_user = relay\nsmtp_starttls = false\n");
	ck_assert_int_eq(config_load(&c, path, err, sizeof(err)), 0);
	ck_assert_str_eq(c.smtp_ca_file, "");	/* the system store */
	config_fini(&c);
	write_file("mockpie.conf", "smtp_url = smtp://127.0.0.1:2525\n"
	    "smtp_user = relay\nsmtp_ca_file = no-such-ca.pem\n");
	ck_assert_int_eq(config_load(&c, path, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "smtp_ca_file"));
	config_fini(&c);
	write_file("ca.pem", "-----BEGIN CERTIFICATE-----\n");
	write_file("mockpie.conf", "smtp_url = smtp://127.0.0.1:2525\n"
	    "smtp_user = relay\nsmtp_ca_file = ca.pem\n");
	ck_assert_int_eq(config_load(&c, path, err, sizeof(err)), 0);
	snprintf(ca, sizeof(ca), "%s/ca.pem", dir);
	ck_assert_str_eq(c.smtp_ca_file, ca);
	config_fini(&c);
}
END_TEST

/*
 * Runs the built mockpie-fcgi with arg (and our environment): its exit
 * status, and what it printed in out.  The alarm ends one that starts
 * serving when it should have refused.
 */
static int
run_fcgi(const char *arg, const char *listen, char *out, size_t outlen)
{
	char		 bin[1024];
	const char	*bdir = getenv("MOCKPIE_BUILDDIR");
	size_t		 len = 0;
	ssize_t		 got;
	pid_t		 pid;
	int		 p[2], status;

	snprintf(bin, sizeof(bin), "%s/src/mockpie-fcgi", bdir ? bdir : ".");
	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_ne(pid = fork(), -1);
	if (pid == 0) {
		dup2(p[1], STDOUT_FILENO);
		dup2(p[1], STDERR_FILENO);
		close(p[0]);
		close(p[1]);
		alarm(FCGI_ALARM_S);
		if (listen != NULL)
			execl(bin, bin, "--listen", listen, (char *)NULL);
		else
			execl(bin, bin, arg, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	while (len + 1 < outlen && (got = read(p[0], out + len,
	    outlen - len - 1)) > 0)
		len += (size_t)got;
	out[len] = '\0';
	close(p[0]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status), "mockpie-fcgi did not exit: %s", out);
	return WEXITSTATUS(status);
}

/* A copy of conf/mail/<name> into <dir>/mail, or text instead. */
static void
template_put(const char *name, const char *text)
{
	char	 p[300], buf[8192];
	size_t	 n;
	FILE	*in, *f;

	snprintf(p, sizeof(p), "%s/mail", dir);
	(void)mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/mail/%s", dir, name);
	ck_assert_ptr_nonnull(f = fopen(p, "w"));
	if (text != NULL)
		fputs(text, f);
	else {
		snprintf(p, sizeof(p), "%s/conf/mail/%s",
		    getenv("MOCKPIE_SRCDIR") ? getenv("MOCKPIE_SRCDIR") : ".",
		    name);
		ck_assert_ptr_nonnull(in = fopen(p, "r"));
		n = fread(buf, 1, sizeof(buf), in);
		fclose(in);
		fwrite(buf, 1, n, f);
	}
	fclose(f);
}

/* Issue 15: the sender would never send a mail with a broken template. */
START_TEST(check_config_names_a_broken_mail_template)
{
	char	 out[OUTPUT_MAX], tdir[300], sock[300];

	snprintf(tdir, sizeof(tdir), "%s/mail", dir);
	setenv("MOCKPIE_MAIL_TEMPLATES_DIR", tdir, 1);
	template_put("verify.txt", NULL);
	template_put("reset.txt", NULL);
	ck_assert_msg(run_fcgi("--check-config", NULL, out, sizeof(out)) == 0,
	    "the shipped templates refused: %s", out);
	/* no {{code}}: every reset mail would go out without its code */
	template_put("reset.txt", "Subject: Reset\n\nYour code is: soon\n");
	ck_assert_int_eq(run_fcgi("--check-config", NULL, out, sizeof(out)),
	    1);
	ck_assert_msg(strstr(out, "/mail/reset.txt") != NULL &&
	    strstr(out, "{{code}}") != NULL, "message: %s", out);
	/* no Subject line */
	template_put("reset.txt", NULL);
	template_put("verify.txt", "Your code is {{code}}\n");
	ck_assert_int_eq(run_fcgi("--check-config", NULL, out, sizeof(out)),
	    1);
	ck_assert_msg(strstr(out, "/mail/verify.txt") != NULL &&
	    strstr(out, "Subject") != NULL, "message: %s", out);
	/* a missing file */
	snprintf(tdir, sizeof(tdir), "%s/mail/verify.txt", dir);
	ck_assert_int_eq(unlink(tdir), 0);
	ck_assert_int_eq(run_fcgi("--check-config", NULL, out, sizeof(out)),
	    1);
	ck_assert_msg(strstr(out, "/mail/verify.txt") != NULL, "message: %s",
	    out);
	/* and the pool refuses to start, before it listens */
	snprintf(sock, sizeof(sock), "unix:%s/fcgi.sock", dir);
	ck_assert_int_eq(run_fcgi(NULL, sock, out, sizeof(out)), 1);
	ck_assert_msg(strstr(out, "/mail/verify.txt") != NULL &&
	    strstr(out, "not starting") != NULL, "message: %s", out);
	ck_assert_int_eq(access(sock + 5, F_OK), -1);
	/* a host that runs no sender renders no template */
	setenv("MOCKPIE_MAIL_SENDER", "false", 1);
	ck_assert_msg(run_fcgi("--check-config", NULL, out, sizeof(out)) == 0,
	    "refused without a sender: %s", out);
}
END_TEST

/*
 * The master reads the password list once, for every worker: a list it
 * cannot read refuses the configuration (and a reload) at once, rather
 * than workers that would start without a rule of registration.
 */
START_TEST(an_unreadable_password_list_refuses_the_configuration)
{
	char	 out[OUTPUT_MAX], list[300], sock[300];

	snprintf(list, sizeof(list), "%s/no-such-list.txt", dir);
	setenv("MOCKPIE_COMMON_PASSWORDS_FILE", list, 1);
	ck_assert_int_eq(run_fcgi("--check-config", NULL, out, sizeof(out)),
	    1);
	ck_assert_msg(strstr(out, "common_passwords_file") != NULL &&
	    strstr(out, list) != NULL, "message: %s", out);
	snprintf(sock, sizeof(sock), "unix:%s/fcgi.sock", dir);
	ck_assert_int_eq(run_fcgi(NULL, sock, out, sizeof(out)), 1);
	ck_assert_int_eq(access(sock + 5, F_OK), -1);
	write_file("no-such-list.txt", "password\nletmein\n");
	ck_assert_msg(run_fcgi("--check-config", NULL, out, sizeof(out)) == 0,
	    "a readable list refused: %s", out);
}
END_TEST

Suite *
suite(void)
{
	Suite	*s = suite_create("config");
	TCase	*tc = tcase_create("load");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, defaults_follow_the_spec);
	tcase_add_test(tc, file_keys_comments_and_blank_lines_are_read);
	tcase_add_test(tc, environment_overrides_the_file);
	tcase_add_test(tc,
	    relative_paths_in_the_file_are_taken_from_its_directory);
	tcase_add_test(tc, an_unknown_key_is_refused_with_its_name_and_line);
	tcase_add_test(tc, bad_values_are_refused_naming_the_key);
	tcase_add_test(tc, a_missing_or_short_secret_refuses_to_start);
	tcase_add_test(tc, the_secret_file_is_read_without_its_newline);
	tcase_add_test(tc, an_empty_origin_list_disables_cors);
	tcase_add_test(tc, timeouts_that_contradict_each_other_are_refused);
	tcase_add_test(tc, postgresql_timeouts_are_not_checked_for_sqlite);
	tcase_add_test(tc, the_socket_mode_is_octal_like_chmod);
	tcase_add_test(tc, command_line_values_win_over_file_and_environment);
	tcase_add_test(tc, a_nul_byte_or_a_huge_file_is_refused);
	tcase_add_test(tc,
	    fcgi_allowed_addrs_is_read_from_the_file_and_the_environment);
	tcase_add_test(tc, check_config_names_a_broken_mail_template);
	tcase_add_test(tc,
	    an_unreadable_password_list_refuses_the_configuration);
	tcase_add_test(tc,
	    smtp_auth_without_tls_or_an_unreadable_ca_file_is_refused);
	suite_add_tcase(s, tc);
	return s;
}
