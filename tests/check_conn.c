/*
 * conn.c on a socketpair: what a connection's receive queue holds (idle,
 * half a request, a whole one, closed or malformed), the management
 * records it answers, and the peer check of FCGI_WEB_SERVER_ADDRS.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <fastcgi.h>

#include "pool/conn.h"
#include "pool/pool.h"
#include "fcgi_client.h"
#include "runner.h"

#define BODY_LIMIT	(64 * 1024)
#define REQ_MAX		(96 * 1024)
#define ANSWER_MS	1000

static const struct conn_values	 values = { 96, 3 };
static const char *const	 params[] = { "REQUEST_METHOD=POST",
    "DOCUMENT_URI=/auth/login", "CONTENT_LENGTH=5", NULL };
static int			 fds[2];	/* [0] ours, [1] the peer's */
static char			*window;
static size_t			 window_size;

static void
setup(void)
{
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
	window_size = conn_window(BODY_LIMIT);
	ck_assert_ptr_nonnull(window = malloc(window_size));
}

static void
teardown(void)
{
	if (fds[0] != -1)
		close(fds[0]);
	if (fds[1] != -1)
		close(fds[1]);
	free(window);
}

static enum conn_state
scan(struct conn_scan *sc)
{
	return conn_scan(fds[0], window, window_size, BODY_LIMIT, &values, sc);
}

static void
peer_sends(const void *buf, size_t len)
{
	ck_assert_int_eq(fcgi_write(fds[1], buf, len), 0);
}

START_TEST(a_connection_with_nothing_queued_is_idle)
{
	struct conn_scan	 sc = { 0, 0 };

	ck_assert_int_eq(scan(&sc), CONN_EMPTY);
}
END_TEST

START_TEST(a_connection_its_peer_closed_is_closed)
{
	struct conn_scan	 sc = { 0, 0 };

	close(fds[1]);
	fds[1] = -1;
	ck_assert_int_eq(scan(&sc), CONN_CLOSE);
}
END_TEST

START_TEST(a_request_is_whole_only_once_its_stdin_has_ended)
{
	unsigned char		 req[REQ_MAX];
	struct conn_scan	 sc = { 0, 0 };
	size_t			 len, i;

	len = fcgi_request(req, sizeof(req), 1, 1, params, "a=b&c", 5, 1);
	ck_assert_uint_gt(len, 0);
	/* every prefix is half a request, whatever record it stops in */
	for (i = 1; i < len; i++) {
		peer_sends(req + i - 1, 1);
		ck_assert_int_eq(scan(&sc), CONN_PARTIAL);
		ck_assert_uint_gt(sc.need, i);
	}
	peer_sends(req + len - 1, 1);
	ck_assert_int_eq(scan(&sc), CONN_REQUEST);
	ck_assert_int_eq(sc.stdin_whole, 1);
	/* nothing was consumed: libfcgi reads it all */
	ck_assert_int_eq(recv(fds[0], window, window_size, MSG_DONTWAIT),
	    (ssize_t)len);
}
END_TEST


START_TEST(a_body_beyond_the_window_is_handed_over_without_its_end)
{
	unsigned char		*req, *body;
	struct conn_scan	 sc = { 0, 0 };
	size_t			 len;

	/* a window that holds the params and part of the body only */
	ck_assert_ptr_nonnull(req = malloc(REQ_MAX));
	ck_assert_ptr_nonnull(body = calloc(1, 70000));
	len = fcgi_request(req, REQ_MAX, 1, 1, params, (char *)body, 70000,
	    1);
	ck_assert_uint_gt(len, 0);
	peer_sends(req, len);
	sc.need = 0;
	ck_assert_int_eq(conn_scan(fds[0], window, 40000, BODY_LIMIT, &values,
	    &sc),
	    CONN_REQUEST);
	ck_assert_int_eq(sc.stdin_whole, 0);
	free(body);
	free(req);
}
END_TEST

START_TEST(stdin_over_the_body_limit_is_enough_to_hand_over)
{
	unsigned char		*req;
	char			*body;
	struct conn_scan	 sc = { 0, 0 };
	size_t			 len;

	/* 100 KiB of a body whose end never comes: the handler says 413 */
	ck_assert_ptr_nonnull(req = malloc(2 * REQ_MAX));
	ck_assert_ptr_nonnull(body = calloc(1, 100 * 1024));
	len = fcgi_request(req, 2 * REQ_MAX, 1, 1, params, body, 100 * 1024,
	    0);
	ck_assert_uint_gt(len, 0);
	peer_sends(req, len - 1000);	/* and stop inside a record */
	ck_assert_int_eq(scan(&sc), CONN_REQUEST);
	ck_assert_int_eq(sc.stdin_whole, 0);
	free(body);
	free(req);
}
END_TEST

START_TEST(params_beyond_the_window_close_the_connection)
{
	unsigned char		 req[REQ_MAX], begin[8] = { 0, 1, 1 };
	char			*big;
	struct conn_scan	 sc = { 0, 0 };
	size_t			 len, n;

	ck_assert_ptr_nonnull(big = calloc(1, 40000));
	len = fcgi_record(req, sizeof(req), FCGI_BEGIN_REQUEST, 1, begin, 8);
	n = fcgi_record(req + len, sizeof(req) - len, FCGI_PARAMS, 1, big,
	    40000);
	ck_assert_uint_gt(n, 0);
	len += n;
	n = fcgi_record(req + len, sizeof(req) - len, FCGI_PARAMS, 1, big,
	    40000);
	ck_assert_uint_gt(n, 0);
	len += n;
	peer_sends(req, len);
	ck_assert_int_eq(conn_scan(fds[0], window, CONN_RECORD_MAX, BODY_LIMIT,
	    &values, &sc), CONN_CLOSE);
	free(big);
}
END_TEST

START_TEST(a_record_of_another_version_closes_the_connection)
{
	static const unsigned char	 bad[8] = { 2, 1, 0, 1, 0, 8, 0, 0 };
	struct conn_scan		 sc = { 0, 0 };

	peer_sends(bad, sizeof(bad));
	ck_assert_int_eq(scan(&sc), CONN_CLOSE);
}
END_TEST

START_TEST(a_stream_record_before_begin_request_closes_the_connection)
{
	unsigned char		 rec[64];
	struct conn_scan	 sc = { 0, 0 };
	size_t			 len;

	len = fcgi_record(rec, sizeof(rec), FCGI_STDIN, 1, "x", 1);
	peer_sends(rec, len);
	ck_assert_int_eq(scan(&sc), CONN_CLOSE);
}
END_TEST

START_TEST(get_values_is_answered_with_the_pools_figures_and_consumed)
{
	unsigned char		 rec[256], in[256];
	unsigned char		 ask[] = {
	    14, 0, 'F', 'C', 'G', 'I', '_', 'M', 'A', 'X', '_', 'C', 'O', 'N',
	    'N', 'S',
	    4, 0, 'N', 'O', 'P', 'E',
	    15, 0, 'F', 'C', 'G', 'I', '_', 'M', 'P', 'X', 'S', '_', 'C', 'O',
	    'N', 'N', 'S' };
	static const unsigned char	 want[] = {
	    14, 2, 'F', 'C', 'G', 'I', '_', 'M', 'A', 'X', '_', 'C', 'O', 'N',
	    'N', 'S', '9', '6',
	    15, 1, 'F', 'C', 'G', 'I', '_', 'M', 'P', 'X', 'S', '_', 'C', 'O',
	    'N', 'N', 'S', '0' };
	struct conn_scan	 sc = { 0, 0 };
	size_t			 len;
	int			 type, id;

	len = fcgi_record(rec, sizeof(rec), FCGI_GET_VALUES, 0, ask,
	    sizeof(ask));
	peer_sends(rec, len);
	ck_assert_int_eq(scan(&sc), CONN_EMPTY);	/* answered, consumed */
	ck_assert_int_eq(fcgi_read_record(fds[1], ANSWER_MS, &type, &id, in,
	    sizeof(in), &len), 0);
	ck_assert_int_eq(type, FCGI_GET_VALUES_RESULT);
	ck_assert_int_eq(id, 0);
	ck_assert_uint_eq(len, sizeof(want));
	ck_assert_mem_eq(in, want, sizeof(want));
}
END_TEST

START_TEST(other_management_records_get_unknown_type)
{
	unsigned char		 rec[64], in[64];
	struct conn_scan	 sc = { 0, 0 };
	size_t			 len;
	int			 type, id;

	len = fcgi_record(rec, sizeof(rec), FCGI_UNKNOWN_TYPE + 5, 0, "xyz",
	    3);
	peer_sends(rec, len);
	ck_assert_int_eq(scan(&sc), CONN_EMPTY);
	ck_assert_int_eq(fcgi_read_record(fds[1], ANSWER_MS, &type, &id, in,
	    sizeof(in), &len), 0);
	ck_assert_int_eq(type, FCGI_UNKNOWN_TYPE);
	ck_assert_uint_eq(len, 8);
	ck_assert_int_eq(in[0], FCGI_UNKNOWN_TYPE + 5);
}
END_TEST

START_TEST(a_malformed_get_values_closes_the_connection)
{
	unsigned char		 rec[64];
	static const unsigned char	 ask[] = { 20, 0, 'F', 'C' };
	struct conn_scan	 sc = { 0, 0 };
	size_t			 len;

	len = fcgi_record(rec, sizeof(rec), FCGI_GET_VALUES, 0, ask,
	    sizeof(ask));
	peer_sends(rec, len);
	ck_assert_int_eq(scan(&sc), CONN_CLOSE);
}
END_TEST

START_TEST(conn_close_ends_the_connection_in_order)
{
	static const char	 late[] = "unread";

	peer_sends(late, sizeof(late));
	conn_close(fds[0]);
	fds[0] = -1;
	ck_assert(fcgi_closed(fds[1], ANSWER_MS));
}
END_TEST

static struct sockaddr_in
v4(const char *addr)
{
	struct sockaddr_in	 sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	ck_assert_int_eq(inet_pton(AF_INET, addr, &sin.sin_addr), 1);
	return sin;
}

START_TEST(fcgi_web_server_addrs_admits_only_the_addresses_it_names)
{
	struct sockaddr_in	 a = v4("10.0.0.7"), b = v4("10.0.0.8");
	struct sockaddr_in6	 m;
	struct sockaddr		 un = { AF_UNIX, { 0 } };

	ck_assert(conn_addr_allowed((struct sockaddr *)&a, NULL));
	ck_assert(conn_addr_allowed((struct sockaddr *)&a, ""));
	ck_assert(conn_addr_allowed((struct sockaddr *)&a,
	    "127.0.0.1, 10.0.0.7"));
	ck_assert(!conn_addr_allowed((struct sockaddr *)&b,
	    "127.0.0.1,10.0.0.7"));
	ck_assert(conn_addr_allowed(&un, "127.0.0.1"));
	memset(&m, 0, sizeof(m));
	m.sin6_family = AF_INET6;
	ck_assert_int_eq(inet_pton(AF_INET6, "::ffff:10.0.0.7", &m.sin6_addr),
	    1);
	ck_assert(conn_addr_allowed((struct sockaddr *)&m, "10.0.0.7"));
	ck_assert(!conn_addr_allowed((struct sockaddr *)&m, "10.0.0.8,::1"));
}
END_TEST

START_TEST(fcgi_allowed_addrs_accepts_only_numeric_addresses)
{
	char	 err[128], many[1024], *p = many;
	int	 i;

	ck_assert_int_eq(pool_peers_check("", err, sizeof(err)), 0);
	ck_assert_int_eq(pool_peers_check("198.51.100.2", err, sizeof(err)),
	    0);
	ck_assert_int_eq(pool_peers_check(" 198.51.100.2 ,\t::1,2001:db8::7",
	    err, sizeof(err)), 0);
	ck_assert_int_eq(pool_peers_check("198.51.100.2,", err, sizeof(err)),
	    0);		/* a trailing comma, as libfcgi reads it */
	ck_assert_int_eq(pool_peers_check("nginx.lan", err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "nginx.lan"));
	ck_assert_int_eq(pool_peers_check("10.0.0.1,,10.0.0.2", err,
	    sizeof(err)), -1);
	ck_assert_int_eq(pool_peers_check("10.0.0.0/8", err, sizeof(err)),
	    -1);	/* no networks: libfcgi has none either */
	ck_assert_int_eq(pool_peers_check("1.2.3.4:9000", err, sizeof(err)),
	    -1);
	memset(many, 'a', 100);
	many[100] = '\0';
	ck_assert_int_eq(pool_peers_check(many, err, sizeof(err)), -1);
	for (i = 0; i < 65; i++)
		p += sprintf(p, "%s10.0.0.%d", i ? "," : "", i);
	ck_assert_int_eq(pool_peers_check(many, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "more than"));
}
END_TEST

Suite *
suite(void)
{
	Suite	*s = suite_create("conn");
	TCase	*scanning = tcase_create("scan");
	TCase	*manage = tcase_create("management");
	TCase	*peers = tcase_create("peers");

	tcase_add_checked_fixture(scanning, setup, teardown);
	tcase_add_test(scanning, a_connection_with_nothing_queued_is_idle);
	tcase_add_test(scanning, a_connection_its_peer_closed_is_closed);
	tcase_add_test(scanning,
	    a_request_is_whole_only_once_its_stdin_has_ended);
	tcase_add_test(scanning,
	    a_body_beyond_the_window_is_handed_over_without_its_end);
	tcase_add_test(scanning,
	    stdin_over_the_body_limit_is_enough_to_hand_over);
	tcase_add_test(scanning, params_beyond_the_window_close_the_connection);
	tcase_add_test(scanning,
	    a_record_of_another_version_closes_the_connection);
	tcase_add_test(scanning,
	    a_stream_record_before_begin_request_closes_the_connection);
	tcase_add_test(scanning, conn_close_ends_the_connection_in_order);
	suite_add_tcase(s, scanning);

	tcase_add_checked_fixture(manage, setup, teardown);
	tcase_add_test(manage,
	    get_values_is_answered_with_the_pools_figures_and_consumed);
	tcase_add_test(manage, other_management_records_get_unknown_type);
	tcase_add_test(manage, a_malformed_get_values_closes_the_connection);
	suite_add_tcase(s, manage);

	tcase_add_test(peers,
	    fcgi_web_server_addrs_admits_only_the_addresses_it_names);
	tcase_add_test(peers, fcgi_allowed_addrs_accepts_only_numeric_addresses);
	suite_add_tcase(s, peers);
	return s;
}
