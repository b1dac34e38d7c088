/*
 * GET /auth/verify and the shipped auth_request example
 * (conf/nginx.auth_request.example.conf) in front of a small echo
 * service of the test's own (named as such: it answers each request with
 * the request's own head), through nginx and the real pool.
 */
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <netinet/in.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <hiredis/hiredis.h>

#include "api_client.h"
#include "harness.h"
#include "redis_server.h"
#include "runner.h"

#define TIMEOUT_S	60
#define HEAD_MAX	16384
#define CONF_MAX	16384

static const char *const env_plain[] = {
	"MOCKPIE_PASSWORD_OPSLIMIT=1", "MOCKPIE_PASSWORD_MEMLIMIT=8m", NULL
};

struct echo {
	pid_t		 pid;
	int		 port;
	volatile int	*served;	/* shared with the child */
};

/* The echo service: every request answered 200 with its own head. */
static void
echo_serve(int lfd, volatile int *served)
{
	char	 head[HEAD_MAX], reply[HEAD_MAX + 256];
	ssize_t	 n;
	size_t	 len;
	int	 fd, m;

	for (;;) {
		if ((fd = accept(lfd, NULL, NULL)) == -1)
			continue;
		for (len = 0; len < sizeof(head) - 1; len += (size_t)n) {
			if ((n = recv(fd, head + len, sizeof(head) - 1 - len,
			    0)) <= 0)
				break;
			head[len + (size_t)n] = '\0';
			if (strstr(head, "\r\n\r\n") != NULL) {
				len += (size_t)n;
				break;
			}
		}
		head[len] = '\0';
		(*served)++;
		m = snprintf(reply, sizeof(reply), "HTTP/1.1 200 OK\r\n"
		    "Content-Type: text/plain\r\nContent-Length: %zu\r\n"
		    "Connection: close\r\n\r\n%s", len, head);
		if (m > 0)
			(void)send(fd, reply, (size_t)m, MSG_NOSIGNAL);
		close(fd);
	}
}

static void
echo_start(struct echo *e)
{
	struct sockaddr_in	 sin;
	socklen_t		 slen = sizeof(sin);
	int			 lfd;

	e->served = mmap(NULL, sizeof(*e->served), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ck_assert(e->served != MAP_FAILED);
	*e->served = 0;
	ck_assert_int_ne(lfd = socket(AF_INET, SOCK_STREAM, 0), -1);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(listen(lfd, 16), 0);
	ck_assert_int_eq(getsockname(lfd, (struct sockaddr *)&sin, &slen), 0);
	e->port = ntohs(sin.sin_port);
	if ((e->pid = fork()) == 0) {
		signal(SIGTERM, SIG_DFL);
		echo_serve(lfd, e->served);
		_exit(0);
	}
	ck_assert_int_ne(e->pid, -1);
	close(lfd);
}

static void
echo_stop(struct echo *e)
{
	kill(e->pid, SIGKILL);
	while (waitpid(e->pid, NULL, 0) == -1 && errno == EINTR)
		;
	munmap((void *)e->served, sizeof(*e->served));
}

/* The shipped example with the echo service's port, malloc'd. */
static char *
example_conf(int port)
{
	char	 path[1024], buf[CONF_MAX], portstr[16], *out, *at;
	FILE	*f;
	size_t	 n, plen;
	const char *src = getenv("MOCKPIE_SRCDIR");

	snprintf(path, sizeof(path), "%s/conf/nginx.auth_request.example.conf",
	    src != NULL ? src : ".");
	ck_assert_ptr_nonnull(f = fopen(path, "r"));
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	snprintf(portstr, sizeof(portstr), "%d", port);
	plen = strlen(portstr);
	ck_assert_ptr_nonnull(out = calloc(1, n + 64));
	while ((at = strstr(buf, "@SERVICE_PORT@")) != NULL) {
		memmove(at + plen, at + 14, strlen(at + 14) + 1);
		memcpy(at, portstr, plen);
	}
	memcpy(out, buf, strlen(buf) + 1);
	return out;
}

static struct stack *
start(struct echo *e, char **conf)
{
	struct stack_options	 o;
	struct stack		*st;

	echo_start(e);
	*conf = example_conf(e->port);
	memset(&o, 0, sizeof(o));
	o.workers = 2;
	o.env = env_plain;
	o.nginx_server_extra = *conf;
	ck_assert_msg((st = stack_start(&o)) != NULL, "the stack did not "
	    "start");
	return st;
}

/* GET path with the bearer token (NULL: none) and an extra header line. */
static void
get(struct stack *st, const char *path, const char *token,
    const char *extra, struct http_response *r)
{
	char		 auth[API_TOKEN_MAX + 32];
	const char	*h[3];
	int		 n = 0;

	if (token != NULL) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
		h[n++] = auth;
	}
	if (extra != NULL)
		h[n++] = extra;
	h[n] = NULL;
	ck_assert_int_eq(http_request(st, "GET", path, h, NULL, 0, r), 0);
}

/* The number of times line appears at the start of a line of text. */
static int
lines_starting(const char *text, const char *line)
{
	const char	*p;
	int		 n = 0;

	for (p = text; (p = strstr(p, line)) != NULL; p++)
		if (p == text || p[-1] == '\n')
			n++;
	return n;
}

START_TEST(verify_answers_who_the_user_is_in_headers_and_no_body)
{
	struct echo		 e;
	struct stack		*st;
	struct api_person	 p;
	struct http_response	 r;
	char			 buf[256], *conf;

	st = start(&e, &conf);
	api_register(st, &p);
	get(st, "/auth/verify", p.access, NULL, &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_uint_eq(r.body_len, 0);
	ck_assert_ptr_nonnull(http_header(&r, "X-User-Id", buf, sizeof(buf)));
	ck_assert_int_gt(atoi(buf), 0);
	ck_assert_pstr_eq(http_header(&r, "X-User-Email", buf, sizeof(buf)),
	    p.email);
	ck_assert_ptr_nonnull(http_header(&r, "X-Session-Id", buf,
	    sizeof(buf)));
	ck_assert_uint_eq(strlen(buf), 22);
	http_response_free(&r);
	get(st, "/auth/verify", "not.a.token", NULL, &r);
	ck_assert_int_eq(r.status, 401);
	ck_assert_pstr_eq(http_header(&r, "WWW-Authenticate", buf,
	    sizeof(buf)), "Bearer error=\"invalid_token\"");
	ck_assert_ptr_null(http_header(&r, "X-User-Id", buf, sizeof(buf)));
	http_response_free(&r);
	stack_stop(st);
	echo_stop(&e);
	free(conf);
}
END_TEST

START_TEST(auth_request_lets_a_valid_token_through_with_true_headers)
{
	struct echo		 e;
	struct stack		*st;
	struct api_person	 p;
	struct http_response	 r, me;
	char			 id[64], line[256], *conf;
	int			 before;

	st = start(&e, &conf);
	api_register(st, &p);
	get(st, "/auth/verify", p.access, NULL, &me);
	ck_assert_ptr_nonnull(http_header(&me, "X-User-Id", id, sizeof(id)));
	http_response_free(&me);

	/* a forged X-User-Id from the client never reaches the service */
	get(st, "/service/profile", p.access, "X-User-Id: 999999", &r);
	ck_assert_msg(r.status == 200, "%d %s", r.status, r.body);
	snprintf(line, sizeof(line), "X-User-Id: %s\r\n", id);
	ck_assert_msg(lines_starting(r.body, "X-User-Id:") == 1 &&
	    strstr(r.body, line) != NULL, "the service saw:\n%s", r.body);
	snprintf(line, sizeof(line), "X-User-Email: %s\r\n", p.email);
	ck_assert_msg(strstr(r.body, line) != NULL, "%s", r.body);
	ck_assert_int_eq(lines_starting(r.body, "X-Session-Id:"), 1);
	http_response_free(&r);

	/* no, bad and revoked tokens: 401 from nginx, the service sees none */
	before = *e.served;
	get(st, "/service/profile", NULL, "X-User-Id: 1", &r);
	ck_assert_int_eq(r.status, 401);
	http_response_free(&r);
	get(st, "/service/profile", "e30.e30.e30", NULL, &r);
	ck_assert_int_eq(r.status, 401);
	http_response_free(&r);
	ck_assert_int_eq(api_logout(st, p.access), 200);
	get(st, "/service/profile", p.access, NULL, &r);
	ck_assert_int_eq(r.status, 401);
	http_response_free(&r);
	ck_assert_int_eq(*e.served, before);
	stack_stop(st);
	echo_stop(&e);
	free(conf);
}
END_TEST

START_TEST(verify_fails_closed_where_me_does)
{
	struct echo		 e;
	struct stack		*st;
	struct api_person	 p;
	struct http_response	 r;
	redisContext		*c;
	redisReply		*x;
	char			*conf;

	st = start(&e, &conf);
	api_register(st, &p);
	ck_assert_ptr_nonnull(c = redis_server_client(stack_redis(st)));
	ck_assert_ptr_nonnull(x = redisCommand(c, "ACL SETUSER default "
	    "-exists"));
	freeReplyObject(x);
	get(st, "/auth/verify", p.access, NULL, &r);
	ck_assert_int_eq(r.status, 503);
	http_response_free(&r);
	ck_assert_int_eq(api_me(st, p.access), 503);
	ck_assert_ptr_nonnull(x = redisCommand(c, "ACL SETUSER default "
	    "+@all"));
	freeReplyObject(x);
	redisFree(c);
	get(st, "/auth/verify", p.access, NULL, &r);
	ck_assert_int_eq(r.status, 200);
	http_response_free(&r);
	stack_stop(st);
	echo_stop(&e);
	free(conf);
}
END_TEST

Suite *
suite(void)
{
	Suite	*s = suite_create("verify");
	TCase	*tc = tcase_create("auth_request");

	tcase_set_timeout(tc, TIMEOUT_S);
	tcase_add_test(tc, verify_answers_who_the_user_is_in_headers_and_no_body);
	tcase_add_test(tc,
	    auth_request_lets_a_valid_token_through_with_true_headers);
	tcase_add_test(tc, verify_fails_closed_where_me_does);
	suite_add_tcase(s, tc);
	return s;
}
