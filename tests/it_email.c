/*
 * Issue 15's email flows through nginx and the real pool, with a real
 * Redis, the pool's own mail sender (a sidecar the master supervises;
 * a second one forked here where two must share the queue) and an SMTP
 * sink of the test's own
 * (tests/smtp_sink.py, Debian's python3-aiosmtpd): codes arrive by mail
 * and only by mail, and the web client's walks work end to end.  The
 * sink also speaks STARTTLS or implicit TLS with a self-signed
 * certificate made here by the openssl command, and requires AUTH: the
 * sender verifies the certificate and the name, and keeps its password
 * out of the log.
 */
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <hiredis/hiredis.h>
#include <sodium.h>
#include <sqlite3.h>

#include "api_client.h"
#include "harness.h"
#include "redis_server.h"
#include "runner.h"

#include "app/config.h"
#include "app/mail_app.h"
#include "lib/log.h"
#include "mail/sender.h"

#define TIMEOUT_S	90
#define MAIL_WAIT_MS	20000	/* a mail's way through queue and sink */
#define MAIL_MAX	65536
#define BODY_MAX	8192
#define UA		"User-Agent: it-email/1.0"
#define SENDERS_MAX	2
#define SINK_OPTS_MAX	8
#define EXTRA_MAX	6	/* more pool env */
#define OPENSSL_WAIT_MS	20000
#define SMTP_USER	"mockpie-relay"
#define SMTP_PASSWORD	"Relay-pass-7f3c-quartz"	/* the sink's */

struct mailenv {
	struct stack		*st;
	int			 smtp_port;
	pid_t			 sink;
	pid_t			 sender[SENDERS_MAX];
	struct mail_stats	*stats;		/* shared, one per sender */
	char			 dir[256];	/* the sink's mailbox */
	char			 url[128];
	char			 env_url[160];
	const char		*sink_opts[SINK_OPTS_MAX + 1]; /* after DIR */
	char			 cert[300], key[300];	/* the sink's */
	char			 env_pw[340], env_ca[340];
};

static void
sink_start(struct mailenv *m)
{
	char		 port[16], script[1024], ready[512];
	const char	*argv[SINK_OPTS_MAX + 5];
	int		 i, a = 0;

	snprintf(ready, sizeof(ready), "%s/ready", m->dir);
	unlink(ready);
	snprintf(port, sizeof(port), "%d", m->smtp_port);
	snprintf(script, sizeof(script), "%s/tests/smtp_sink.py",
	    getenv("MOCKPIE_SRCDIR") != NULL ? getenv("MOCKPIE_SRCDIR") :
	    ".");
	argv[a++] = "python3";
	argv[a++] = script;
	argv[a++] = port;
	argv[a++] = m->dir;
	for (i = 0; i < SINK_OPTS_MAX && m->sink_opts[i] != NULL; i++)
		argv[a++] = m->sink_opts[i];
	argv[a] = NULL;
	if ((m->sink = fork()) == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		execv("/usr/bin/python3", (char *const *)argv);
		_exit(127);
	}
	ck_assert_int_gt(m->sink, 0);
	for (i = 0; i < 100 && access(ready, F_OK) == -1; i++)
		test_sleep_ms(50);
	ck_assert_msg(access(ready, F_OK) == 0, "the SMTP sink did not start");
}

static void
child_stop(pid_t *pid, int sig)
{
	int	 i;

	if (*pid <= 0)
		return;
	kill(*pid, sig);
	for (i = 0; i < 100; i++) {
		if (waitpid(*pid, NULL, WNOHANG) == *pid)
			break;
		test_sleep_ms(50);
	}
	if (i == 100) {
		kill(*pid, SIGKILL);
		while (waitpid(*pid, NULL, 0) == -1 && errno == EINTR)
			;
	}
	*pid = 0;
}

static volatile sig_atomic_t	 sender_stop;

static void
on_term(int sig)
{
	(void)sig;
	sender_stop = 1;
}

/* The sender in a child: the configuration the pool gets, from env. */
static void
sender_start(struct mailenv *m, int i)
{
	struct config	 cfg;
	char		 err[256], redis[128];

	redis_server_url(stack_redis(m->st), redis, sizeof(redis));
	if ((m->sender[i] = fork()) != 0) {
		ck_assert_int_gt(m->sender[i], 0);
		return;
	}
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	signal(SIGTERM, on_term);
	signal(SIGPIPE, SIG_IGN);
	setenv("MOCKPIE_REDIS_URL", redis, 1);
	setenv("MOCKPIE_JWT_SECRET", STACK_JWT_SECRET, 1);
	setenv("MOCKPIE_SMTP_URL", m->url, 1);
	setenv("MOCKPIE_SMTP_STARTTLS", "false", 1);
	setenv("MOCKPIE_SMTP_TIMEOUT_MS", "2000", 1);
	setenv("MOCKPIE_MAIL_RETRY_BASE", "1", 1);
	setenv("MOCKPIE_MAIL_CLAIM_IDLE", "10", 1);
	log_init("mail-sender", LOG_LEVEL_INFO);
	if (sodium_init() < 0 || config_load(&cfg, NULL, err, sizeof(err)) ==
	    -1) {
		fprintf(stderr, "sender: %s\n", err);
		_exit(1);
	}
	_exit(mail_sender_run(&cfg, &sender_stop, &m->stats[i]) == 0 ? 0 : 1);
}

/* the pool's, its mail sender's included: the sink speaks plain SMTP */
static const char *const env_base[] = {
	"MOCKPIE_PASSWORD_OPSLIMIT=1", "MOCKPIE_PASSWORD_MEMLIMIT=8m",
	"MOCKPIE_SMTP_STARTTLS=false", "MOCKPIE_SMTP_TIMEOUT_MS=2000",
	"MOCKPIE_MAIL_RETRY_BASE=1", "MOCKPIE_MAIL_CLAIM_IDLE=10", NULL
};

/* The mailbox, the sink's port and URL, the senders' counters. */
static void
env_init(struct mailenv *m)
{
	memset(m, 0, sizeof(*m));
	ck_assert_int_eq(test_tmpdir(m->dir, sizeof(m->dir)), 0);
	m->smtp_port = test_free_port();
	snprintf(m->url, sizeof(m->url), "smtp://127.0.0.1:%d", m->smtp_port);
	snprintf(m->env_url, sizeof(m->env_url), "MOCKPIE_SMTP_URL=%s",
	    m->url);
	m->stats = mmap(NULL, sizeof(*m->stats) * SENDERS_MAX, PROT_READ |
	    PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ck_assert(m->stats != MAP_FAILED);
	memset(m->stats, 0, sizeof(*m->stats) * SENDERS_MAX);
}

/*
 * The stack (whose pool runs its own mail sender), the sink and nsenders
 * more senders forked here; extra: more pool env (NULL-terminated, or
 * NULL), which wins over the base (the harness's getenv takes the first).
 */
static void
env_launch(struct mailenv *m, int nsenders, const char *const *extra)
{
	struct stack_options	 o;
	const char		*env[EXTRA_MAX + 12];
	int			 n = 0, i;

	for (i = 0; extra != NULL && extra[i] != NULL; i++) {
		ck_assert_int_lt(i, EXTRA_MAX);
		env[n++] = extra[i];
	}
	for (i = 0; env_base[i] != NULL; i++)
		env[n++] = env_base[i];
	env[n++] = m->env_url;
	env[n] = NULL;
	memset(&o, 0, sizeof(o));
	o.workers = 2;
	o.env = env;
	ck_assert_msg((m->st = stack_start(&o)) != NULL, "no stack");
	sink_start(m);
	for (i = 0; i < nsenders; i++)
		sender_start(m, i);
}

static void
env_start(struct mailenv *m, int nsenders, const char *extra)
{
	const char	*env[2] = { extra, NULL };

	env_init(m);
	env_launch(m, nsenders, env);
}

/*
 * A self-signed certificate for 127.0.0.1 (CN and IP SAN, as a relay's
 * name is checked), valid for a day, made by the openssl command into
 * dir/<name>.pem and dir/<name>.key.
 */
static void
make_cert(const char *dir, const char *name, char *cert, size_t certlen,
    char *key, size_t keylen)
{
	long long	 deadline = test_now_ms() + OPENSSL_WAIT_MS;
	pid_t		 pid;
	int		 status = -1, fd;

	snprintf(cert, certlen, "%s/%s.pem", dir, name);
	snprintf(key, keylen, "%s/%s.key", dir, name);
	if ((pid = fork()) == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if ((fd = open("/dev/null", O_RDWR)) != -1) {
			dup2(fd, STDIN_FILENO);
			dup2(fd, STDOUT_FILENO);
		}
		execlp("openssl", "openssl", "req", "-x509", "-newkey", "ec",
		    "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
		    "-keyout", key, "-out", cert, "-days", "1", "-subj",
		    "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
		    (char *)NULL);
		_exit(127);
	}
	ck_assert_int_gt(pid, 0);
	while (waitpid(pid, &status, WNOHANG) != pid &&
	    test_now_ms() < deadline)
		test_sleep_ms(20);
	if (test_now_ms() >= deadline && kill(pid, SIGKILL) == 0)
		waitpid(pid, &status, 0);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "openssl req failed (status 0x%x): is openssl installed?", status);
}

/* Writes text into path, mode 0600. */
static void
write_secret(const char *path, const char *text)
{
	int	 fd;

	ck_assert_int_ne(fd = open(path, O_WRONLY | O_CREAT | O_TRUNC |
	    O_CLOEXEC, 0600), -1);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

enum tls_mode { TLS_STARTTLS, TLS_SMTPS };
enum tls_trust { TRUST_SINK, TRUST_SYSTEM, TRUST_OTHER };

/*
 * The stack with the sink behind TLS (mode) and AUTH as SMTP_USER /
 * SMTP_PASSWORD; the pool's sender logs in with password and trusts the
 * sink's certificate (smtp_ca_file), the system store (no smtp_ca_file),
 * or another self-signed certificate only.
 */
static void
env_start_tls(struct mailenv *m, enum tls_mode mode, enum tls_trust trust,
    const char *password)
{
	char		 pwfile[300], other[300], okey[300];
	const char	*extra[EXTRA_MAX + 1];
	int		 n = 0, o = 0;

	env_init(m);
	make_cert(m->dir, "sink", m->cert, sizeof(m->cert), m->key,
	    sizeof(m->key));
	snprintf(pwfile, sizeof(pwfile), "%s/smtp_password", m->dir);
	write_secret(pwfile, password);
	snprintf(m->env_pw, sizeof(m->env_pw),
	    "MOCKPIE_SMTP_PASSWORD_FILE=%s", pwfile);
	extra[n++] = "MOCKPIE_SMTP_STARTTLS=true";
	extra[n++] = "MOCKPIE_SMTP_USER=" SMTP_USER;
	extra[n++] = m->env_pw;
	if (trust == TRUST_OTHER)
		make_cert(m->dir, "other", other, sizeof(other), okey,
		    sizeof(okey));
	if (trust != TRUST_SYSTEM) {
		snprintf(m->env_ca, sizeof(m->env_ca),
		    "MOCKPIE_SMTP_CA_FILE=%s", trust == TRUST_SINK ? m->cert :
		    other);
		extra[n++] = m->env_ca;
	}
	extra[n] = NULL;
	if (mode == TLS_SMTPS) {
		snprintf(m->url, sizeof(m->url), "smtps://127.0.0.1:%d",
		    m->smtp_port);
		snprintf(m->env_url, sizeof(m->env_url), "MOCKPIE_SMTP_URL=%s",
		    m->url);
	}
	m->sink_opts[o++] = mode == TLS_SMTPS ? "--smtps" : "--starttls";
	m->sink_opts[o++] = m->cert;
	m->sink_opts[o++] = m->key;
	m->sink_opts[o++] = "--auth";
	m->sink_opts[o++] = SMTP_USER;
	m->sink_opts[o++] = SMTP_PASSWORD;
	m->sink_opts[o] = NULL;
	env_launch(m, 0, extra);
}

static void
env_stop(struct mailenv *m)
{
	int	 i;

	for (i = 0; i < SENDERS_MAX; i++)
		child_stop(&m->sender[i], SIGTERM);
	child_stop(&m->sink, SIGKILL);
	stack_stop(m->st);
	test_tmpdir_remove(m->dir);
	munmap(m->stats, sizeof(*m->stats) * SENDERS_MAX);
}

/*
 * POST path as the web client's FormData does (multipart), with the
 * given name/value pairs (NULL-terminated), from 127.0.0.1 or from src.
 */
static int
post_from(struct mailenv *m, const char *src, const char *path,
    const char *ua, const char *const *kv, struct http_response *r)
{
	char		 body[BODY_MAX], raw[BODY_MAX + 1024], ct[128];
	const char	*h[3];
	size_t		 len = 0;
	int		 n;

	for (; kv[0] != NULL; kv += 2) {
		n = snprintf(body + len, sizeof(body) - len, "--itemailB\r\n"
		    "Content-Disposition: form-data; name=\"%s\"\r\n\r\n"
		    "%s\r\n", kv[0], kv[1]);
		ck_assert(n > 0 && (size_t)n < sizeof(body) - len);
		len += (size_t)n;
	}
	n = snprintf(body + len, sizeof(body) - len, "--itemailB--\r\n");
	ck_assert(n > 0 && (size_t)n < sizeof(body) - len);
	len += (size_t)n;
	snprintf(ct, sizeof(ct),
	    "Content-Type: multipart/form-data; boundary=itemailB");
	if (src == NULL) {
		h[0] = ct;
		h[1] = ua;
		h[2] = NULL;
		ck_assert_int_eq(http_request(m->st, "POST", path, h, body, len,
		    r), 0);
		return r->status;
	}
	n = snprintf(raw, sizeof(raw), "POST %s HTTP/1.1\r\nHost: "
	    "127.0.0.1\r\nConnection: close\r\n%s\r\n%s\r\n"
	    "Content-Length: %zu\r\n\r\n%.*s", path, ct, ua, len, (int)len,
	    body);
	ck_assert(n > 0 && (size_t)n < sizeof(raw));
	ck_assert_int_eq(api_request_from(m->st, src, raw, (size_t)n, r), 0);
	return r->status;
}

static int
post(struct mailenv *m, const char *path, const char *const *kv,
    struct http_response *r)
{
	return post_from(m, NULL, path, UA, kv, r);
}

/* The status of POST path with kv; the answer is dropped. */
static int
post_status(struct mailenv *m, const char *path, const char *const *kv)
{
	struct http_response	 r;
	int			 status = post(m, path, kv, &r);

	http_response_free(&r);
	return status;
}

/* The mails in the sink to email: how many, and the last one's text. */
static int
mails_to(struct mailenv *m, const char *email, char *last, size_t lastlen)
{
	char		 path[512], buf[MAIL_MAX], rcpt[256];
	struct dirent	*d;
	DIR		*dir;
	FILE		*f;
	size_t		 n;
	int		 count = 0, best = -1, num;

	snprintf(rcpt, sizeof(rcpt), "X-Rcpt: %s\r\n", email);
	ck_assert_ptr_nonnull(dir = opendir(m->dir));
	while ((d = readdir(dir)) != NULL) {
		if (strstr(d->d_name, ".eml") == NULL)
			continue;
		snprintf(path, sizeof(path), "%s/%s", m->dir, d->d_name);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[n] = '\0';
		if (strncmp(buf, rcpt, strlen(rcpt)) != 0)
			continue;
		count++;
		num = atoi(d->d_name);
		if (num > best && last != NULL) {
			best = num;
			snprintf(last, lastlen, "%s", buf);
		}
	}
	closedir(dir);
	return count;
}

/* Waits (bounded) for the n-th mail to email; its code into code. */
static void
wait_code(struct mailenv *m, const char *email, int n, char code[7])
{
	char		 mail[MAIL_MAX], *p;
	long long	 deadline = test_now_ms() + MAIL_WAIT_MS;

	while (mails_to(m, email, mail, sizeof(mail)) < n &&
	    test_now_ms() < deadline)
		test_sleep_ms(50);
	ck_assert_msg(mails_to(m, email, mail, sizeof(mail)) >= n,
	    "mail %d to %s never came", n, email);
	ck_assert_ptr_nonnull(p = strstr(mail, "code is: "));
	memcpy(code, p + 9, 6);
	code[6] = '\0';
	ck_assert_int_eq((int)strspn(code, "0123456789"), 6);
}

/* Total mail files in the sink. */
static int
mails_total(struct mailenv *m)
{
	struct dirent	*d;
	DIR		*dir;
	int		 n = 0;

	ck_assert_ptr_nonnull(dir = opendir(m->dir));
	while ((d = readdir(dir)) != NULL)
		if (strstr(d->d_name, ".eml") != NULL)
			n++;
	closedir(dir);
	return n;
}

/* users.email_verified_at of email, read from the SQLite file: -1 NULL. */
static long long
verified_at(struct mailenv *m, const char *email)
{
	char		 path[512];
	sqlite3		*db;
	sqlite3_stmt	*s;
	long long	 v = -2;

	snprintf(path, sizeof(path), "%s/mockpie.db", stack_dir(m->st));
	ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY,
	    NULL), SQLITE_OK);
	sqlite3_busy_timeout(db, 2000);
	ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT email_verified_at "
	    "FROM users WHERE email = ?1", -1, &s, NULL), SQLITE_OK);
	sqlite3_bind_text(s, 1, email, -1, SQLITE_STATIC);
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_type(s, 0) == SQLITE_NULL ? -1 :
		    sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return v;
}

/* The "mail" object of /status. */
static long long
status_mail(struct mailenv *m, const char *key)
{
	struct http_response	 r;
	struct json_object	*o, *mail, *v;
	long long		 n = -1;

	ck_assert_int_eq(http_request(m->st, "GET", "/status", NULL, NULL, 0,
	    &r), 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_ptr_nonnull(o = http_json(&r));
	if (json_object_object_get_ex(o, "mail", &mail) && mail != NULL &&
	    json_object_object_get_ex(mail, key, &v))
		n = json_object_get_int64(v);
	json_object_put(o);
	http_response_free(&r);
	return n;
}

START_TEST(register_mails_a_code_that_verifies_the_address)
{
	struct mailenv		 m;
	struct api_person	 p;
	struct http_response	 r;
	char			 code[7], wrong[12];

	env_start(&m, 0, NULL);
	api_register(m.st, &p);
	ck_assert_int_eq(verified_at(&m, p.email), -1);
	wait_code(&m, p.email, 1, code);
	/* the code is in the mail and nowhere else: not in the log */
	ck_assert_int_eq(stack_log_count(m.st, 0, code), 0);
	snprintf(wrong, sizeof(wrong), "%06d", (atoi(code) + 1) % 1000000);
	ck_assert_int_eq(post(&m, "/auth/verify-otp", (const char *[]){
	    "email", p.email, "otp", wrong, NULL }, &r), 400);
	ck_assert_str_eq(r.body, "{\"detail\":\"Invalid OTP provided\"}");
	http_response_free(&r);
	ck_assert_int_eq(post(&m, "/auth/verify-otp", (const char *[]){
	    "email", p.email, "otp", code, NULL }, &r), 200);
	ck_assert_str_eq(r.body, "{\"message\":\"Email verified successfully"
	    "\",\"verified\":true}");
	http_response_free(&r);
	ck_assert_int_gt(verified_at(&m, p.email), 0);
	/* used up */
	ck_assert_int_eq(post_status(&m, "/auth/verify-otp", (const char *[]){
	    "email", p.email, "otp", code, NULL }), 400);
	/* verified: a resend answers the same and mails nothing */
	ck_assert_int_eq(post_status(&m, "/auth/send-verification-otp",
	    (const char *[]){ "email", p.email, NULL }), 200);
	ck_assert_int_gt(status_mail(&m, "sent"), 0);
	ck_assert_int_eq(status_mail(&m, "queue_depth"), 0);
	ck_assert_int_eq(mails_to(&m, p.email, NULL, 0), 1);
	env_stop(&m);
}
END_TEST

START_TEST(forgot_verify_reset_changes_the_password_and_ends_sessions)
{
	struct mailenv		 m;
	struct api_person	 p, again;
	struct http_response	 r;
	char			 code[7];
	const char		*newpw = "tidal-Lantern-9-quarry";

	env_start(&m, 0, NULL);
	api_register(m.st, &p);
	wait_code(&m, p.email, 1, code);	/* the verification mail */
	ck_assert_int_eq(post(&m, "/auth/forgot-password", (const char *[]){
	    "email", p.email, NULL }, &r), 200);
	http_response_free(&r);
	wait_code(&m, p.email, 2, code);
	ck_assert_int_eq(post(&m, "/auth/verify-otp", (const char *[]){
	    "email", p.email, "otp", code, NULL }, &r), 200);
	ck_assert_ptr_nonnull(strstr(r.body, "\"reset_token\":\""));
	http_response_free(&r);
	/* the policy of registration, and the confirmation */
	ck_assert_int_eq(post(&m, "/auth/reset-password", (const char *[]){
	    "email", p.email, "new_password", "password",
	    "confirm_password", "password", NULL }, &r), 422);
	ck_assert_ptr_nonnull(strstr(r.body, "\"new_password\""));
	http_response_free(&r);
	ck_assert_int_eq(post(&m, "/auth/reset-password", (const char *[]){
	    "email", p.email, "new_password", newpw,
	    "confirm_password", "tidal-Lantern-9-quarrx", NULL }, &r), 400);
	ck_assert_str_eq(r.body, "{\"detail\":\"Passwords do not match\"}");
	http_response_free(&r);
	/* the web client's walk: no token, same address and agent */
	ck_assert_int_eq(post(&m, "/auth/reset-password", (const char *[]){
	    "email", p.email, "new_password", newpw,
	    "confirm_password", newpw, NULL }, &r), 200);
	ck_assert_str_eq(r.body, "{\"message\":\"Password has been "
	    "successfully reset\"}");
	http_response_free(&r);
	ck_assert_int_eq(api_me(m.st, p.access), 401);
	ck_assert_int_eq(api_refresh(m.st, p.refresh, NULL, NULL), 401);
	ck_assert_int_eq(api_login(m.st, p.email, p.password, &again), 401);
	ck_assert_int_eq(api_login(m.st, p.email, newpw, &again), 200);
	ck_assert_int_eq(api_me(m.st, again.access), 200);
	/* the grant is used up */
	ck_assert_int_eq(post(&m, "/auth/reset-password", (const char *[]){
	    "email", p.email, "new_password", "other-Lantern-9-quarry",
	    "confirm_password", "other-Lantern-9-quarry", NULL }, &r), 400);
	http_response_free(&r);
	env_stop(&m);
}
END_TEST

START_TEST(reset_grant_refused_from_another_client_and_token_works_once)
{
	struct mailenv		 m;
	struct api_person	 p;
	struct http_response	 r;
	struct json_object	*o, *t;
	char			 code[7], token[128];
	const char		*pw = "mossy-Harbour-7-kettle";

	env_start(&m, 0, NULL);
	api_register(m.st, &p);
	wait_code(&m, p.email, 1, code);
	ck_assert_int_eq(post_status(&m, "/auth/forgot-password",
	    (const char *[]){ "email", p.email, NULL }), 200);
	wait_code(&m, p.email, 2, code);
	ck_assert_int_eq(post(&m, "/auth/verify-otp", (const char *[]){
	    "email", p.email, "otp", code, NULL }, &r), 200);
	ck_assert_ptr_nonnull(o = http_json(&r));
	ck_assert(json_object_object_get_ex(o, "reset_token", &t));
	snprintf(token, sizeof(token), "%s", json_object_get_string(t));
	json_object_put(o);
	http_response_free(&r);
	/* another address, same agent; same address, another agent */
	ck_assert_int_eq(post_from(&m, "127.0.0.2", "/auth/reset-password",
	    UA, (const char *[]){ "email", p.email, "new_password", pw,
	    "confirm_password", pw, NULL }, &r), 400);
	ck_assert_str_eq(r.body, "{\"detail\":\"Session expired. Please "
	    "request a new password reset or re-verify your email.\"}");
	http_response_free(&r);
	ck_assert_int_eq(post_from(&m, NULL, "/auth/reset-password",
	    "User-Agent: other", (const char *[]){ "email", p.email,
	    "new_password", pw, "confirm_password", pw, NULL }, &r), 400);
	http_response_free(&r);
	/* a wrong token; then the right one from anywhere, once */
	ck_assert_int_eq(post_from(&m, "127.0.0.3", "/auth/reset-password",
	    "User-Agent: x", (const char *[]){ "email", p.email,
	    "new_password", pw, "confirm_password", pw, "reset_token",
	    "AAAAbogus", NULL }, &r), 400);
	http_response_free(&r);
	ck_assert_int_eq(post_from(&m, "127.0.0.3", "/auth/reset-password",
	    "User-Agent: x", (const char *[]){ "email", p.email,
	    "new_password", pw, "confirm_password", pw, "reset_token",
	    token, NULL }, &r), 200);
	http_response_free(&r);
	ck_assert_int_eq(post_from(&m, "127.0.0.3", "/auth/reset-password",
	    "User-Agent: x", (const char *[]){ "email", p.email,
	    "new_password", pw, "confirm_password", pw, "reset_token",
	    token, NULL }, &r), 400);
	http_response_free(&r);
	env_stop(&m);
}
END_TEST

START_TEST(five_wrong_codes_kill_the_code)
{
	struct mailenv		 m;
	struct api_person	 p;
	char			 code[7], wrong[12];
	int			 i;

	env_start(&m, 0, NULL);
	api_register(m.st, &p);
	wait_code(&m, p.email, 1, code);
	for (i = 1; i <= 5; i++) {
		snprintf(wrong, sizeof(wrong), "%06d",
		    (atoi(code) + i) % 1000000);
		ck_assert_int_eq(post_status(&m, "/auth/verify-otp",
		    (const char *[]){ "email", p.email, "otp", wrong, NULL }),
		    400);
	}
	ck_assert_int_eq(post_status(&m, "/auth/verify-otp", (const char *[]){
	    "email", p.email, "otp", code, NULL }), 400);
	ck_assert_int_eq(verified_at(&m, p.email), -1);
	env_stop(&m);
}
END_TEST

START_TEST(resend_inside_the_cooldown_sends_nothing)
{
	struct mailenv		 m;
	struct api_person	 p;
	char			 code[7], mail[MAIL_MAX];
	int			 i;

	env_start(&m, 0, NULL);
	api_register(m.st, &p);
	wait_code(&m, p.email, 1, code);
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(post_status(&m, "/auth/send-verification-otp",
		    (const char *[]){ "email", p.email, NULL }), 200);
	/* a later mail would have been queued with the first resend */
	ck_assert_int_eq(post_status(&m, "/auth/forgot-password",
	    (const char *[]){ "email", p.email, NULL }), 200);
	/* one sender, FIFO: a resend's mail would come before this one */
	wait_code(&m, p.email, 2, code);
	ck_assert_int_eq(mails_to(&m, p.email, mail, sizeof(mail)), 2);
	ck_assert_ptr_nonnull(strstr(mail, "Subject: Your MockPie password "
	    "reset code"));
	ck_assert_int_eq(status_mail(&m, "queue_depth"), 0);
	env_stop(&m);
}
END_TEST

START_TEST(unknown_and_known_addresses_answer_byte_identically)
{
	struct mailenv		 m;
	struct api_person	 p;
	struct http_response	 a, b;
	const char		*paths[] = { "/auth/send-verification-otp",
	    "/auth/forgot-password" };
	char			 code[7];
	size_t			 i;

	env_start(&m, 0, NULL);
	api_register(m.st, &p);
	wait_code(&m, p.email, 1, code);
	for (i = 0; i < 2; i++) {
		post(&m, paths[i], (const char *[]){ "email", p.email, NULL },
		    &a);
		post(&m, paths[i], (const char *[]){ "email",
		    "nobody.here@example.com", NULL }, &b);
		ck_assert_int_eq(a.status, 200);
		ck_assert_int_eq(a.status, b.status);
		ck_assert_uint_eq(a.body_len, b.body_len);
		ck_assert_mem_eq(a.body, b.body, a.body_len);
		http_response_free(&a);
		http_response_free(&b);
	}
	post(&m, "/auth/verify-otp", (const char *[]){ "email", p.email,
	    "otp", "000000", NULL }, &a);
	post(&m, "/auth/verify-otp", (const char *[]){ "email",
	    "nobody.here@example.com", "otp", "000000", NULL }, &b);
	if (strcmp(code, "000000") != 0) {
		ck_assert_int_eq(a.status, 400);
		ck_assert_str_eq(a.body, b.body);
	}
	http_response_free(&a);
	http_response_free(&b);
	post(&m, "/auth/reset-password", (const char *[]){ "email", p.email,
	    "new_password", "ocean-Fable-3-linen", "confirm_password",
	    "ocean-Fable-3-linen", NULL }, &a);
	post(&m, "/auth/reset-password", (const char *[]){ "email",
	    "nobody.here@example.com", "new_password", "ocean-Fable-3-linen",
	    "confirm_password", "ocean-Fable-3-linen", NULL }, &b);
	ck_assert_int_eq(a.status, 400);
	ck_assert_int_eq(b.status, 400);
	ck_assert_str_eq(a.body, b.body);
	http_response_free(&a);
	http_response_free(&b);
	/* only the real account got mail: one for the registration, one reset */
	wait_code(&m, p.email, 2, code);
	ck_assert_int_eq(mails_to(&m, "nobody.here@example.com", NULL, 0), 0);
	env_stop(&m);
}
END_TEST

START_TEST(smtp_down_requests_answer_and_the_queue_sends_later)
{
	struct mailenv		 m;
	struct api_person	 p;
	char			 code[7];
	long long		 deadline;

	env_start(&m, 0, NULL);
	child_stop(&m.sink, SIGKILL);
	api_register(m.st, &p);		/* 201: mail is off the path */
	deadline = test_now_ms() + MAIL_WAIT_MS;
	while (status_mail(&m, "retried") < 1 && test_now_ms() < deadline)
		test_sleep_ms(100);
	ck_assert_int_ge(status_mail(&m, "retried"), 1);
	ck_assert_int_eq(status_mail(&m, "queue_depth"), 1);
	ck_assert_int_eq(status_mail(&m, "sent"), 0);
	sink_start(&m);
	wait_code(&m, p.email, 1, code);
	ck_assert_int_eq(post_status(&m, "/auth/verify-otp", (const char *[]){
	    "email", p.email, "otp", code, NULL }), 200);
	ck_assert_int_eq(status_mail(&m, "queue_depth"), 0);
	ck_assert_int_eq(mails_to(&m, p.email, NULL, 0), 1);
	env_stop(&m);
}
END_TEST

START_TEST(two_senders_never_send_one_message_twice)
{
	struct mailenv		 m;
	struct api_person	 p[8];
	char			 code[7];
	long long		 deadline;
	int			 i;

	env_start(&m, 1, NULL);
	for (i = 0; i < 8; i++)
		api_register(m.st, &p[i]);
	for (i = 0; i < 8; i++)
		wait_code(&m, p[i].email, 1, code);
	/* the queue is empty: nothing more can come */
	deadline = test_now_ms() + MAIL_WAIT_MS;
	while (status_mail(&m, "queue_depth") != 0 &&
	    test_now_ms() < deadline)
		test_sleep_ms(50);
	ck_assert_int_eq(status_mail(&m, "queue_depth"), 0);
	ck_assert_int_eq(status_mail(&m, "sending"), 0);
	for (i = 0; i < 8; i++)
		ck_assert_int_eq(mails_to(&m, p[i].email, NULL, 0), 1);
	ck_assert_int_eq(mails_total(&m), 8);
	ck_assert_int_eq(status_mail(&m, "sent"), 8);
	env_stop(&m);
}
END_TEST

START_TEST(redis_down_answers_503_and_sends_no_code)
{
	struct mailenv		 m;
	struct api_person	 p;
	struct http_response	 r;
	const char		*pw = "amber-Willow-4-cinder";
	char			 code[7];

	env_start(&m, 0, NULL);
	api_register(m.st, &p);
	wait_code(&m, p.email, 1, code);
	ck_assert_int_eq(redis_server_stop(stack_redis(m.st)), 0);
	ck_assert_int_eq(post(&m, "/auth/send-verification-otp",
	    (const char *[]){ "email", p.email, NULL }, &r), 503);
	http_response_free(&r);
	ck_assert_int_eq(post_status(&m, "/auth/forgot-password",
	    (const char *[]){ "email", "nobody.here@example.com", NULL }),
	    503);
	ck_assert_int_eq(post_status(&m, "/auth/verify-otp", (const char *[]){
	    "email", p.email, "otp", code, NULL }), 503);
	ck_assert_int_eq(post_status(&m, "/auth/reset-password",
	    (const char *[]){ "email", p.email, "new_password", pw,
	    "confirm_password", pw, NULL }), 503);
	ck_assert_int_eq(redis_server_restart(stack_redis(m.st)), 0);
	env_stop(&m);
}
END_TEST

START_TEST(require_verified_email_refuses_login_until_verified)
{
	struct mailenv		 m;
	struct api_person	 p, q;
	char			 code[7];

	env_start(&m, 0, "MOCKPIE_REQUIRE_VERIFIED_EMAIL=true");
	api_register(m.st, &p);
	wait_code(&m, p.email, 1, code);
	ck_assert_int_eq(api_login(m.st, p.email, p.password, &q), 403);
	ck_assert_int_eq(post_status(&m, "/auth/verify-otp", (const char *[]){
	    "email", p.email, "otp", code, NULL }), 200);
	ck_assert_int_eq(api_login(m.st, p.email, p.password, &q), 200);
	/* a wrong password is still 401, not 403 */
	ck_assert_int_eq(api_login(m.st, p.email, "wrong-password-x", &q),
	    401);
	env_stop(&m);
}
END_TEST

START_TEST(reset_requires_token_closes_the_tokenless_path)
{
	struct mailenv		 m;
	struct api_person	 p;
	struct http_response	 r;
	char			 code[7];
	const char		*pw = "velvet-Orchard-2-pylon";

	env_start(&m, 0, "MOCKPIE_RESET_REQUIRES_TOKEN=true");
	api_register(m.st, &p);
	wait_code(&m, p.email, 1, code);
	ck_assert_int_eq(post_status(&m, "/auth/forgot-password",
	    (const char *[]){ "email", p.email, NULL }), 200);
	wait_code(&m, p.email, 2, code);
	ck_assert_int_eq(post(&m, "/auth/verify-otp", (const char *[]){
	    "email", p.email, "otp", code, NULL }, &r), 200);
	http_response_free(&r);
	ck_assert_int_eq(post_status(&m, "/auth/reset-password",
	    (const char *[]){ "email", p.email, "new_password", pw,
	    "confirm_password", pw, NULL }), 400);
	env_stop(&m);
}
END_TEST

/* Waits (bounded) for the sender to count a failed try: retried >= 1. */
static void
wait_retried(struct mailenv *m)
{
	long long	 deadline = test_now_ms() + MAIL_WAIT_MS;

	while (status_mail(m, "retried") < 1 && test_now_ms() < deadline)
		test_sleep_ms(100);
	ck_assert_int_ge(status_mail(m, "retried"), 1);
}

/*
 * Through TLS and AUTH: the code arrives, the sink saw the encryption and
 * the login, and neither the SMTP password nor the code is in the log.
 */
static void
tls_and_auth_deliver(enum tls_mode mode, const char *tls)
{
	struct mailenv		 m;
	struct api_person	 p;
	char			 code[7], mail[MAIL_MAX], want[64];

	env_start_tls(&m, mode, TRUST_SINK, SMTP_PASSWORD);
	api_register(m.st, &p);
	wait_code(&m, p.email, 1, code);
	ck_assert_int_eq(mails_to(&m, p.email, mail, sizeof(mail)), 1);
	snprintf(want, sizeof(want), "\r\nX-TLS: %s\r\n", tls);
	ck_assert_msg(strstr(mail, want) != NULL, "not over %s:\n%s", tls,
	    mail);
	ck_assert_ptr_nonnull(strstr(mail, "\r\nX-Auth-User: " SMTP_USER
	    "\r\n"));
	ck_assert_int_eq(post_status(&m, "/auth/verify-otp", (const char *[]){
	    "email", p.email, "otp", code, NULL }), 200);
	ck_assert_int_eq(status_mail(&m, "sent"), 1);
	ck_assert_int_eq(status_mail(&m, "retried"), 0);
	ck_assert_int_gt(stack_log_count(m.st, 0, "sent"), 0);
	ck_assert_int_eq(stack_log_count(m.st, 0, SMTP_PASSWORD), 0);
	ck_assert_int_eq(stack_log_count(m.st, 0, code), 0);
	env_stop(&m);
}

START_TEST(starttls_and_auth_deliver_the_code)
{
	tls_and_auth_deliver(TLS_STARTTLS, "starttls");
}
END_TEST

START_TEST(smtps_and_auth_deliver_the_code)
{
	tls_and_auth_deliver(TLS_SMTPS, "smtps");
}
END_TEST

/* A relay that refuses the login: retried, never dead at once. */
START_TEST(a_wrong_smtp_password_delivers_nothing_and_is_retried)
{
	struct mailenv		 m;
	struct api_person	 p;
	const char		*wrong = "Not-the-relay-pass-81x";

	env_start_tls(&m, TLS_STARTTLS, TRUST_SINK, wrong);
	api_register(m.st, &p);		/* 201 at once: mail is queued */
	wait_retried(&m);
	ck_assert_int_eq(status_mail(&m, "sent"), 0);
	ck_assert_int_eq(status_mail(&m, "dead"), 0);
	ck_assert_int_eq(status_mail(&m, "queue_depth"), 1);
	ck_assert_int_eq(mails_total(&m), 0);
	ck_assert_int_gt(stack_log_count(m.st, 0, "Login denied"), 0);
	ck_assert_int_eq(stack_log_count(m.st, 0, wrong), 0);
	ck_assert_int_eq(stack_log_count(m.st, 0, SMTP_PASSWORD), 0);
	env_stop(&m);
}
END_TEST

/*
 * A certificate the sender does not trust: without smtp_ca_file the
 * system store (which does not hold the sink's), or a smtp_ca_file
 * holding another one.  Nothing is sent, nor the password.
 */
static void
untrusted_certificate_is_refused(enum tls_mode mode, enum tls_trust trust)
{
	struct mailenv		 m;
	struct api_person	 p;

	env_start_tls(&m, mode, trust, SMTP_PASSWORD);
	api_register(m.st, &p);
	wait_retried(&m);
	ck_assert_int_eq(status_mail(&m, "sent"), 0);
	ck_assert_int_eq(status_mail(&m, "dead"), 0);
	ck_assert_int_eq(mails_total(&m), 0);
	ck_assert_int_gt(stack_log_count(m.st, 0, "certificate"), 0);
	ck_assert_int_eq(stack_log_count(m.st, 0, SMTP_PASSWORD), 0);
	env_stop(&m);
}

START_TEST(a_certificate_outside_the_system_store_is_refused)
{
	untrusted_certificate_is_refused(TLS_STARTTLS, TRUST_SYSTEM);
}
END_TEST

START_TEST(a_certificate_outside_smtp_ca_file_is_refused)
{
	untrusted_certificate_is_refused(TLS_SMTPS, TRUST_OTHER);
}
END_TEST

Suite *
suite(void)
{
	Suite	*s = suite_create("email");
	TCase	*tc = tcase_create("flows");

	tcase_set_timeout(tc, TIMEOUT_S);
	tcase_add_test(tc, register_mails_a_code_that_verifies_the_address);
	tcase_add_test(tc,
	    forgot_verify_reset_changes_the_password_and_ends_sessions);
	tcase_add_test(tc,
	    reset_grant_refused_from_another_client_and_token_works_once);
	tcase_add_test(tc, five_wrong_codes_kill_the_code);
	tcase_add_test(tc, resend_inside_the_cooldown_sends_nothing);
	tcase_add_test(tc, unknown_and_known_addresses_answer_byte_identically);
	tcase_add_test(tc, smtp_down_requests_answer_and_the_queue_sends_later);
	tcase_add_test(tc, two_senders_never_send_one_message_twice);
	tcase_add_test(tc, redis_down_answers_503_and_sends_no_code);
	tcase_add_test(tc, require_verified_email_refuses_login_until_verified);
	tcase_add_test(tc, reset_requires_token_closes_the_tokenless_path);
	tcase_add_test(tc, starttls_and_auth_deliver_the_code);
	tcase_add_test(tc, smtps_and_auth_deliver_the_code);
	tcase_add_test(tc,
	    a_wrong_smtp_password_delivers_nothing_and_is_retried);
	tcase_add_test(tc, a_certificate_outside_the_system_store_is_refused);
	tcase_add_test(tc, a_certificate_outside_smtp_ca_file_is_refused);
	suite_add_tcase(s, tc);
	return s;
}
