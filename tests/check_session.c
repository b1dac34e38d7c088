/*
 * Session records against a real redis-server: the allow-list, refresh
 * rotation with its grace window and reuse detection, logout of one or
 * all sessions, TTLs, and what happens when Redis fails.
 */
#include <sys/wait.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/arena.h"
#include "lib/log.h"
#include "redis/rconn.h"
#include "fake_redis.h"
#include "redis/session_cache.h"
#include "redis_server.h"
#include "runner.h"
#include "auth/session.h"

#define TTL		3600
#define GRACE		10
#define RACE_ROUNDS	10

static const struct session_config cfg = { "test:", TTL, GRACE, 0, NULL,
    NULL, 0, NULL, 0 };

static struct redis_server	*srv;
static char			 srv_dir[64];
static struct rconn		*rc;
static redisContext		*adm;
static struct arena		*arena;

static struct rconn *
conn_new(const struct redis_server *s)
{
	struct rconn	*c;
	char		 url[64];

	redis_server_url(s, url, sizeof(url));
	ck_assert_ptr_nonnull(c = test_rconn_new(url));
	return c;
}

static redisReply *
admin(const char *fmt, ...)
{
	va_list		 ap;
	redisReply	*r;

	va_start(ap, fmt);
	r = redisvCommand(adm, fmt, ap);
	va_end(ap);
	ck_assert_msg(r != NULL, "admin: %s", adm->errstr);
	return r;
}

/* The integer answer of an admin command. */
static long long
admin_int(const char *fmt, const char *key, const char *arg)
{
	redisReply	*r;
	long long	 n;

	r = arg != NULL ? admin(fmt, key, arg) : admin(fmt, key);

	ck_assert_int_eq(r->type, REDIS_REPLY_INTEGER);
	n = r->integer;
	freeReplyObject(r);
	return n;
}

static void
admin_status(const char *fmt, const char *a, const char *b)
{
	redisReply	*r = b != NULL ? admin(fmt, a, b) : admin(fmt, a);

	ck_assert_msg(r->type == REDIS_REPLY_STATUS, "reply type %d", r->type);
	freeReplyObject(r);
}

static void
server_start(void)
{
	ck_assert_int_eq(test_tmpdir(srv_dir, sizeof(srv_dir)), 0);
	ck_assert_ptr_nonnull(srv = redis_server_start(srv_dir));
}

static void
server_stop(void)
{
	redis_server_free(srv);
	srv = NULL;
	test_tmpdir_remove(srv_dir);
}

static void
setup(void)
{
	ck_assert_ptr_nonnull(adm = redis_server_client(srv));
	admin_status("FLUSHALL", NULL, NULL);
	admin_status("CONFIG SET maxmemory %s", "0", NULL);
	rc = conn_new(srv);
	arena = arena_new(4096);
}

static void
teardown(void)
{
	rconn_free(rc);
	redisFree(adm);
	arena_free(arena);
}

/*
 * session_rotate with the successor pair as "access|refresh" (what the
 * handler seals is opaque to sessions), split again into *ga and *gr.
 */
static enum session_rotate
rotate_on(struct rconn *c, const struct session_config *sc, long long uid,
    const char *sid, const char *presented, const char *new_jti,
    const char *access, const char *refresh, time_t now, struct arena *a,
    const char **ga, const char **gr)
{
	enum session_rotate	 st;
	const char		*g, *bar;
	char			 blob[256];

	snprintf(blob, sizeof(blob), "%s|%s", access, refresh);
	st = session_rotate(c, sc, uid, sid, presented, new_jti, blob, now, a,
	    &g);
	*ga = *gr = NULL;
	if (g != NULL) {
		ck_assert_ptr_nonnull(bar = strchr(g, '|'));
		*ga = arena_strndup(a, g, (size_t)(bar - g));
		*gr = arena_strdup(a, bar + 1);
	}
	return st;
}

static enum session_rotate
rotate(long long uid, const char *sid, const char *presented,
    const char *new_jti, const char *access, const char *refresh, time_t now,
    const char **ga, const char **gr)
{
	return rotate_on(rc, &cfg, uid, sid, presented, new_jti, access,
	    refresh, now, arena, ga, gr);
}

START_TEST(new_session_is_valid_until_logged_out)
{
	ck_assert_int_eq(session_create(rc, &cfg, 42, "sidA", "j1"),
	    SESSION_VALID);
	ck_assert_int_eq(session_check(rc, &cfg, 42, "sidA", NULL, 0), SESSION_VALID);
	ck_assert_int_eq(session_revoke(rc, &cfg, 42, "sidA"), 1);
	ck_assert_int_eq(session_check(rc, &cfg, 42, "sidA", NULL, 0),
	    SESSION_REVOKED);
	ck_assert_int_eq(session_revoke(rc, &cfg, 42, "sidA"), 0);
	ck_assert_int_eq(admin_int("SISMEMBER %s %s", "test:{u:42}:sessions",
	    "sidA"), 0);
}
END_TEST

START_TEST(session_unknown_to_redis_is_revoked)
{
	ck_assert_int_eq(session_check(rc, &cfg, 42, "never", NULL, 0),
	    SESSION_REVOKED);
	ck_assert_int_eq(session_create(rc, &cfg, 42, "sidA", "j1"),
	    SESSION_VALID);
	/* another user's token naming this sid is not this session */
	ck_assert_int_eq(session_check(rc, &cfg, 43, "sidA", NULL, 0),
	    SESSION_REVOKED);
	ck_assert_int_eq(session_check(rc, &cfg, 42, "", NULL, 0), SESSION_REVOKED);
}
END_TEST

START_TEST(second_device_stays_logged_in_when_the_first_logs_out)
{
	ck_assert_int_eq(session_create(rc, &cfg, 42, "phone", "j1"),
	    SESSION_VALID);
	ck_assert_int_eq(session_create(rc, &cfg, 42, "laptop", "j2"),
	    SESSION_VALID);
	ck_assert_int_eq(session_revoke(rc, &cfg, 42, "phone"), 1);
	ck_assert_int_eq(session_check(rc, &cfg, 42, "phone", NULL, 0),
	    SESSION_REVOKED);
	ck_assert_int_eq(session_check(rc, &cfg, 42, "laptop", NULL, 0),
	    SESSION_VALID);
}
END_TEST

START_TEST(logout_all_ends_every_session_of_that_user_only)
{
	ck_assert_int_eq(session_create(rc, &cfg, 42, "a", "j1"),
	    SESSION_VALID);
	ck_assert_int_eq(session_create(rc, &cfg, 42, "b", "j2"),
	    SESSION_VALID);
	ck_assert_int_eq(session_create(rc, &cfg, 42, "c", "j3"),
	    SESSION_VALID);
	ck_assert_int_eq(session_create(rc, &cfg, 7, "d", "j4"),
	    SESSION_VALID);
	/* the member of a session whose hash expired does not count */
	ck_assert_int_eq(admin_int("SADD %s %s", "test:{u:42}:sessions",
	    "expired"), 1);
	ck_assert_int_eq(session_revoke_all(rc, &cfg, 42), 3);
	ck_assert_int_eq(session_check(rc, &cfg, 42, "a", NULL, 0), SESSION_REVOKED);
	ck_assert_int_eq(session_check(rc, &cfg, 42, "b", NULL, 0), SESSION_REVOKED);
	ck_assert_int_eq(session_check(rc, &cfg, 42, "c", NULL, 0), SESSION_REVOKED);
	ck_assert_int_eq(session_check(rc, &cfg, 7, "d", NULL, 0), SESSION_VALID);
	ck_assert_int_eq(admin_int("EXISTS %s", "test:{u:42}:sessions", NULL),
	    0);
	ck_assert_int_eq(session_revoke_all(rc, &cfg, 42), 0);
}
END_TEST

START_TEST(every_key_has_a_ttl_and_the_user_hash_tag)
{
	const char	*ga, *gr;
	redisReply	*r;
	long long	 ttl;
	size_t		 i;

	ck_assert_int_eq(session_create(rc, &cfg, 42, "sidA", "j1"),
	    SESSION_VALID);
	ck_assert_int_eq(rotate(42, "sidA", "j1", "j2", "A2", "R2", 1000, &ga,
	    &gr), ROTATE_OK);
	r = admin("KEYS *");
	ck_assert_int_eq(r->elements, 2);
	for (i = 0; i < r->elements; i++) {
		ck_assert_msg(strcmp(r->element[i]->str,
		    "test:{u:42}:s:sidA") == 0 || strcmp(r->element[i]->str,
		    "test:{u:42}:sessions") == 0, "key %s", r->element[i]->str);
		ttl = admin_int("TTL %s", r->element[i]->str, NULL);
		ck_assert_msg(ttl > 0 && ttl <= TTL, "%s: TTL %lld",
		    r->element[i]->str, ttl);
	}
	freeReplyObject(r);
}
END_TEST

START_TEST(rotation_resets_the_ttl_of_the_session_and_its_set)
{
	const char	*ga, *gr;

	ck_assert_int_eq(session_create(rc, &cfg, 42, "sidA", "j1"),
	    SESSION_VALID);
	ck_assert_int_eq(admin_int("EXPIRE %s %s", "test:{u:42}:s:sidA",
	    "100"), 1);
	ck_assert_int_eq(admin_int("EXPIRE %s %s", "test:{u:42}:sessions",
	    "100"), 1);
	ck_assert_int_eq(rotate(42, "sidA", "j1", "j2", "A2", "R2", 1000, &ga,
	    &gr), ROTATE_OK);
	ck_assert_int_gt(admin_int("TTL %s", "test:{u:42}:s:sidA", NULL),
	    TTL - 10);
	ck_assert_int_gt(admin_int("TTL %s", "test:{u:42}:sessions", NULL),
	    TTL - 10);
}
END_TEST

START_TEST(refresh_token_presented_again_within_grace_gets_same_tokens)
{
	const char	*ga, *gr;

	ck_assert_int_eq(session_create(rc, &cfg, 42, "sidA", "j1"),
	    SESSION_VALID);
	ck_assert_int_eq(rotate(42, "sidA", "j1", "j2", "A2", "R2", 1000, &ga,
	    &gr), ROTATE_OK);
	ck_assert_ptr_null(ga);
	ck_assert_ptr_null(gr);
	ck_assert_int_eq(rotate(42, "sidA", "j1", "j3", "A3", "R3", 1004, &ga,
	    &gr), ROTATE_GRACE);
	ck_assert_str_eq(ga, "A2");
	ck_assert_str_eq(gr, "R2");
	ck_assert_int_eq(rotate(42, "sidA", "j1", "j4", "A4", "R4",
	    1000 + GRACE, &ga, &gr), ROTATE_GRACE);	/* last second */
	ck_assert_str_eq(ga, "A2");
	ck_assert_str_eq(gr, "R2");
	/* the successor is current: it rotates */
	ck_assert_int_eq(rotate(42, "sidA", "j2", "j5", "A5", "R5", 1011, &ga,
	    &gr), ROTATE_OK);
	ck_assert_int_eq(session_check(rc, &cfg, 42, "sidA", NULL, 0), SESSION_VALID);
}
END_TEST

START_TEST(refresh_token_reused_after_grace_revokes_the_session)
{
	const char	*ga, *gr;

	ck_assert_int_eq(session_create(rc, &cfg, 42, "sidA", "j1"),
	    SESSION_VALID);
	ck_assert_int_eq(session_create(rc, &cfg, 42, "sidB", "k1"),
	    SESSION_VALID);
	ck_assert_int_eq(rotate(42, "sidA", "j1", "j2", "A2", "R2", 1000, &ga,
	    &gr), ROTATE_OK);
	ck_assert_int_eq(rotate(42, "sidA", "j1", "j3", "A3", "R3",
	    1000 + GRACE + 1, &ga, &gr), ROTATE_REUSE);
	ck_assert_ptr_null(ga);
	ck_assert_int_eq(session_check(rc, &cfg, 42, "sidA", NULL, 0),
	    SESSION_REVOKED);
	ck_assert_int_eq(admin_int("SISMEMBER %s %s", "test:{u:42}:sessions",
	    "sidA"), 0);
	/* the thief's successor is dead too; other devices are not */
	ck_assert_int_eq(rotate(42, "sidA", "j2", "j4", "A4", "R4", 1012, &ga,
	    &gr), ROTATE_INVALID);
	ck_assert_int_eq(session_check(rc, &cfg, 42, "sidB", NULL, 0), SESSION_VALID);
}
END_TEST

START_TEST(refresh_token_older_than_the_previous_one_revokes_the_session)
{
	const char	*ga, *gr;

	ck_assert_int_eq(session_create(rc, &cfg, 42, "sidA", "j1"),
	    SESSION_VALID);
	ck_assert_int_eq(rotate(42, "sidA", "j1", "j2", "A2", "R2", 1000, &ga,
	    &gr), ROTATE_OK);
	ck_assert_int_eq(rotate(42, "sidA", "j2", "j3", "A3", "R3", 1001, &ga,
	    &gr), ROTATE_OK);
	ck_assert_int_eq(rotate(42, "sidA", "j1", "j9", "A9", "R9", 1002, &ga,
	    &gr), ROTATE_REUSE);
	ck_assert_int_eq(session_check(rc, &cfg, 42, "sidA", NULL, 0),
	    SESSION_REVOKED);
}
END_TEST

START_TEST(unknown_refresh_token_revokes_the_session)
{
	const char	*ga, *gr;

	ck_assert_int_eq(session_create(rc, &cfg, 42, "sidA", "j1"),
	    SESSION_VALID);
	ck_assert_int_eq(rotate(42, "sidA", "forged", "j2", "A2", "R2", 1000,
	    &ga, &gr), ROTATE_REUSE);
	ck_assert_int_eq(session_check(rc, &cfg, 42, "sidA", NULL, 0),
	    SESSION_REVOKED);
}
END_TEST

START_TEST(refresh_without_a_session_is_invalid_and_stores_nothing)
{
	const char	*ga, *gr;
	redisReply	*r;

	ck_assert_int_eq(rotate(42, "gone", "j1", "j2", "A2", "R2", 1000, &ga,
	    &gr), ROTATE_INVALID);
	r = admin("DBSIZE");
	ck_assert_int_eq(r->integer, 0);
	freeReplyObject(r);
}
END_TEST

START_TEST(sessions_survive_a_flushed_script_cache)
{
	const char	*ga, *gr;

	ck_assert_int_eq(session_create(rc, &cfg, 42, "sidA", "j1"),
	    SESSION_VALID);
	admin_status("SCRIPT FLUSH", NULL, NULL);
	ck_assert_int_eq(rotate(42, "sidA", "j1", "j2", "A2", "R2", 1000, &ga,
	    &gr), ROTATE_OK);
	admin_status("SCRIPT FLUSH", NULL, NULL);
	ck_assert_int_eq(session_revoke_all(rc, &cfg, 42), 1);
}
END_TEST

START_TEST(redis_error_replies_are_errors_not_valid_nor_unavailable)
{
	const char	*ga, *gr;

	admin_status("SET %s %s", "test:{u:42}:s:sidA", "not a hash");
	ck_assert_int_eq(rotate(42, "sidA", "j1", "j2", "A2", "R2", 1000, &ga,
	    &gr), ROTATE_ERROR);
	/* an anchored check reads the hash: WRONGTYPE is an error too */
	ck_assert_int_eq(session_check(rc, &cfg, 42, "sidA",
	    "AAAAAAAAAAAAAAAAAAAAAA", 0), SESSION_ERROR);
	admin_status("SET %s %s", "test:{u:42}:sessions", "not a set");
	ck_assert_int_eq(session_revoke_all(rc, &cfg, 42), -1);
	ck_assert_int_eq(session_revoke(rc, &cfg, 42, "sidA"), -1);
}
END_TEST

START_TEST(full_redis_refuses_new_sessions_but_still_logs_out)
{
	const char	*ga, *gr;

	ck_assert_int_eq(session_create(rc, &cfg, 42, "sidA", "j1"),
	    SESSION_VALID);
	ck_assert_int_eq(session_create(rc, &cfg, 42, "sidB", "k1"),
	    SESSION_VALID);
	admin_status("CONFIG SET maxmemory %s", "1", NULL);
	ck_assert_int_eq(session_create(rc, &cfg, 42, "sidC", "m1"),
	    SESSION_ERROR);
	ck_assert_int_eq(rotate(42, "sidA", "j1", "j2", "A2", "R2", 1000, &ga,
	    &gr), ROTATE_ERROR);
	ck_assert_int_eq(session_check(rc, &cfg, 42, "sidA", NULL, 0), SESSION_VALID);
	ck_assert_int_eq(session_revoke(rc, &cfg, 42, "sidA"), 1);
	ck_assert_int_eq(session_revoke_all(rc, &cfg, 42), 1);
	admin_status("CONFIG SET maxmemory %s", "0", NULL);
	ck_assert_int_eq(session_check(rc, &cfg, 42, "sidB", NULL, 0),
	    SESSION_REVOKED);
	ck_assert_int_eq(session_check(rc, &cfg, 42, "sidC", NULL, 0),
	    SESSION_REVOKED);
	ck_assert_int_eq(admin_int("EXISTS %s", "test:{u:42}:s:sidC", NULL),
	    0);
}
END_TEST

START_TEST(no_connection_means_unavailable)
{
	const char	*ga = "x", *gr = "x";

	ck_assert_int_eq(session_create(NULL, &cfg, 42, "s", "j1"),
	    SESSION_UNAVAILABLE);
	ck_assert_int_eq(session_check(NULL, &cfg, 42, "s", NULL, 0),
	    SESSION_UNAVAILABLE);
	ck_assert_int_eq(rotate_on(NULL, &cfg, 42, "s", "j1", "j2", "A",
	    "R", 1000, arena, &ga, &gr), ROTATE_UNAVAILABLE);
	ck_assert_ptr_null(ga);
	ck_assert_ptr_null(gr);
	ck_assert_int_eq(session_revoke(NULL, &cfg, 42, "s"), -1);
	ck_assert_int_eq(session_revoke_all(NULL, &cfg, 42), -1);
}
END_TEST

START_TEST(stopped_redis_means_unavailable)
{
	struct redis_server	*own;
	struct rconn		*orc;
	char			 dir[64];
	const char		*ga, *gr;

	ck_assert_int_eq(test_tmpdir(dir, sizeof(dir)), 0);
	ck_assert_ptr_nonnull(own = redis_server_start(dir));
	orc = conn_new(own);
	ck_assert_int_eq(session_create(orc, &cfg, 42, "s", "j1"),
	    SESSION_VALID);
	ck_assert_int_eq(redis_server_stop(own), 0);
	ck_assert_int_eq(session_check(orc, &cfg, 42, "s", NULL, 0),
	    SESSION_UNAVAILABLE);
	ck_assert_int_eq(session_create(orc, &cfg, 42, "t", "j1"),
	    SESSION_UNAVAILABLE);
	ck_assert_int_eq(rotate_on(orc, &cfg, 42, "s", "j1", "j2", "A",
	    "R", 1000, arena, &ga, &gr), ROTATE_UNAVAILABLE);
	ck_assert_int_eq(session_revoke(orc, &cfg, 42, "s"), -1);
	ck_assert_int_eq(session_revoke_all(orc, &cfg, 42), -1);
	rconn_free(orc);
	redis_server_free(own);
	test_tmpdir_remove(dir);
}
END_TEST

struct race_result {
	int	 st;
	char	 access[32];
	char	 refresh[32];
};

/* A browser tab: rotates the same refresh token once the gate opens. */
static void
race_tab(int id, const char *sid, int gate, int out)
{
	struct race_result	 res;
	struct rconn		*trc;
	struct arena		*ta;
	const char		*ga, *gr;
	char			 jti[16], acc[32], ref[32], c;
	redisReply		*r;

	memset(&res, 0, sizeof(res));
	res.st = -1;
	trc = conn_new(srv);
	ta = arena_new(1024);
	if ((r = rconn_command(trc, "PING")) != NULL)	/* connected */
		freeReplyObject(r);
	snprintf(jti, sizeof(jti), "j2-%d", id);
	snprintf(acc, sizeof(acc), "A-%s-%d", sid, id);
	snprintf(ref, sizeof(ref), "R-%s-%d", sid, id);
	if (read(gate, &c, 1) == 1) {
		res.st = (int)rotate_on(trc, &cfg, 42, sid, "j1", jti, acc,
		    ref, time(NULL), ta, &ga, &gr);
		if (res.st == ROTATE_OK) {
			ga = acc;
			gr = ref;
		}
		if (res.st == ROTATE_OK || res.st == ROTATE_GRACE) {
			snprintf(res.access, sizeof(res.access), "%s", ga);
			snprintf(res.refresh, sizeof(res.refresh), "%s", gr);
		}
	}
	(void)write(out, &res, sizeof(res));
	rconn_free(trc);
	arena_free(ta);
	teardown();		/* the test's copies, for the leak checker */
	_exit(0);
}

START_TEST(two_tabs_refreshing_at_once_end_with_the_same_tokens)
{
	struct race_result	 res[2];
	char			 sid[16];
	pid_t			 pid[2];
	int			 gate[2], out[2], round, i, status;

	for (round = 0; round < RACE_ROUNDS; round++) {
		snprintf(sid, sizeof(sid), "race%d", round);
		ck_assert_int_eq(session_create(rc, &cfg, 42, sid, "j1"),
		    SESSION_VALID);
		ck_assert_int_eq(pipe(gate), 0);
		ck_assert_int_eq(pipe(out), 0);
		for (i = 0; i < 2; i++) {
			ck_assert_int_ne(pid[i] = fork(), -1);
			if (pid[i] == 0) {
				close(gate[1]);
				close(out[0]);
				race_tab(i, sid, gate[0], out[1]);
			}
		}
		close(gate[0]);
		close(out[1]);
		usleep(20000);			/* both tabs connect */
		ck_assert_int_eq(write(gate[1], "go", 2), 2);
		close(gate[1]);
		for (i = 0; i < 2; i++)
			ck_assert_int_eq(read(out[0], &res[i], sizeof(res[i])),
			    sizeof(res[i]));
		close(out[0]);
		for (i = 0; i < 2; i++) {
			ck_assert_int_eq(waitpid(pid[i], &status, 0), pid[i]);
			ck_assert(WIFEXITED(status));
		}
		ck_assert_msg((res[0].st == ROTATE_OK &&
		    res[1].st == ROTATE_GRACE) || (res[0].st == ROTATE_GRACE &&
		    res[1].st == ROTATE_OK), "round %d: %d and %d", round,
		    res[0].st, res[1].st);
		ck_assert_str_eq(res[0].access, res[1].access);
		ck_assert_str_eq(res[0].refresh, res[1].refresh);
		ck_assert_int_eq(session_check(rc, &cfg, 42, sid, NULL, 0),
		    SESSION_VALID);
	}
}
END_TEST

/* the link dies after Redis ran the rotation, before its reply arrived */
START_TEST(rotation_whose_reply_was_lost_is_resent_and_not_a_reuse)
{
	static const struct fake_conn_spec specs[] = {
		{ FAKE_PROXY, "LOST-REPLY-ACCESS" }, { FAKE_PROXY, NULL }
	};
	static const struct session_config nograce = { "test:", TTL, 0, 0,
	    NULL, NULL, 0, NULL, 0 };
	struct fake_redis	*f;
	struct rconn		*frc;
	char			 url[64];
	const char		*ga, *gr;

	ck_assert_ptr_nonnull(f = fake_redis_start(redis_server_port(srv),
	    specs, 2, NULL));
	fake_redis_url(f, url, sizeof(url));
	ck_assert_ptr_nonnull(frc = test_rconn_new(url));
	ck_assert_int_eq(session_create(frc, &nograce, 42, "sidL", "j1"),
	    SESSION_VALID);
	/* no grace window at all: only the resend rule can save it */
	ck_assert_int_eq(rotate_on(frc, &nograce, 42, "sidL", "j1", "j2",
	    "LOST-REPLY-ACCESS", "R2", 1000, arena, &ga, &gr), ROTATE_OK);
	ck_assert_int_eq(session_check(frc, &nograce, 42, "sidL", NULL, 0),
	    SESSION_VALID);
	/* exactly one successor: j2 is current, j1 is gone */
	ck_assert_int_eq(rotate_on(frc, &nograce, 42, "sidL", "j2", "j3",
	    "A3", "R3", 1001, arena, &ga, &gr), ROTATE_OK);
	ck_assert_int_eq(rotate_on(frc, &nograce, 42, "sidL", "j1", "j4",
	    "A4", "R4", 1002, arena, &ga, &gr), ROTATE_REUSE);
	rconn_free(frc);
	fake_redis_stop(f);
}
END_TEST

/* tokens minted on signature alone during an outage */
START_TEST(anchored_token_lives_only_while_its_anchor_is_current)
{
	const char	*ga, *gr;

	ck_assert_int_eq(session_create(rc, &cfg, 42, "sidA", "j1"),
	    SESSION_VALID);
	ck_assert_int_eq(session_check(rc, &cfg, 42, "sidA", "j1", 0),
	    SESSION_VALID);
	ck_assert_int_eq(session_check(rc, &cfg, 42, "sidA", "j0", 0),
	    SESSION_REVOKED);
	ck_assert_int_eq(session_check(rc, &cfg, 42, "gone", "j1", 0),
	    SESSION_REVOKED);
	ck_assert_int_eq(rotate(42, "sidA", "j1", "j2", "A2", "R2", 1000, &ga,
	    &gr), ROTATE_OK);
	ck_assert_int_eq(session_check(rc, &cfg, 42, "sidA", "j1", 0),
	    SESSION_REVOKED);
	ck_assert_int_eq(session_check(rc, &cfg, 42, "sidA", "j2", 0),
	    SESSION_VALID);
	ck_assert_int_eq(session_check(rc, &cfg, 42, "sidA", NULL, 0),
	    SESSION_VALID);
}
END_TEST

/* redis_client_cache: live sessions remembered until Redis says otherwise */

static unsigned long
cache_hits(void)
{
	struct session_cache_stats	 st;

	session_cache_stats(&st);
	return st.hits;
}

/* A session checked once (from Redis) and once more (from memory). */
static void
warm(const struct session_config *cc, const char *sid, time_t until)
{
	unsigned long	 h;

	ck_assert_int_eq(session_check(rc, cc, 42, sid, NULL, until),
	    SESSION_VALID);
	h = cache_hits();
	ck_assert_int_eq(session_check(rc, cc, 42, sid, NULL, until),
	    SESSION_VALID);
	ck_assert_uint_eq(cache_hits(), h + 1);	/* the second from memory */
}

/* The session's state once it stops being VALID, within 1 s. */
static enum session_status
soon(const struct session_config *cc, const char *sid, time_t until)
{
	enum session_status	 st;
	long long		 deadline = test_now_ms() + 1000;

	while ((st = session_check(rc, cc, 42, sid, NULL, until)) ==
	    SESSION_VALID && test_now_ms() < deadline)
		test_sleep_ms(1);
	return st;
}

START_TEST(client_cache_forgets_what_redis_changes_before_answering)
{
	struct rconn_config	 rcfg;
	struct session_config	 cc = cfg;
	char			 url[64];
	const char		*why;
	time_t			 until = time(NULL) + 600;
	unsigned long		 h;
	volatile unsigned long	 counter = 0;

	memset(&rcfg, 0, sizeof(rcfg));
	redis_server_url(srv, url, sizeof(url));
	ck_assert_int_eq(rconn_url_parse(url, &rcfg.url, &why), 0);
	rcfg.connect_timeout_ms = 200;
	rcfg.command_timeout_ms = 1000;
	rcfg.backoff_min_ms = 20;
	rcfg.backoff_max_ms = 100;
	cc.client_cache = 1;
	cc.redis = &rcfg;
	ck_assert_int_eq(session_create(rc, &cc, 42, "sidA", "j1"),
	    SESSION_VALID);
	ck_assert_int_eq(session_create(rc, &cc, 42, "sidB", "k1"),
	    SESSION_VALID);
	/* a revocation through the pool's counter: memory dropped at once */
	cc.revocations = &counter;
	warm(&cc, "sidA", until);
	counter++;
	h = cache_hits();
	ck_assert_int_eq(session_check(rc, &cc, 42, "sidA", NULL, until),
	    SESSION_VALID);
	ck_assert_uint_eq(cache_hits(), h);		/* asked Redis */
	cc.revocations = NULL;

	/*
	 * Another pool's logout: forgotten once Redis's message is in.
	 * Redis writes it in the same pass as the DEL's reply, but a busy
	 * machine may run this process between the two writes: bounded.
	 */
	warm(&cc, "sidA", until);
	admin_int("DEL %s", "test:{u:42}:s:sidA", NULL);
	ck_assert_int_eq(soon(&cc, "sidA", until), SESSION_REVOKED);

	/* FLUSHALL: everything forgotten */
	warm(&cc, "sidB", until);
	admin_status("FLUSHALL", NULL, NULL);
	ck_assert_int_eq(soon(&cc, "sidB", until), SESSION_REVOKED);

	/* the subscriber killed: nothing trusted until it is back */
	ck_assert_int_eq(session_create(rc, &cc, 42, "sidC", "m1"),
	    SESSION_VALID);
	warm(&cc, "sidC", until);
	admin_int("CLIENT KILL TYPE %s", "pubsub", NULL);
	h = cache_hits();
	ck_assert_int_eq(session_check(rc, &cc, 42, "sidC", NULL, until),
	    SESSION_VALID);
	ck_assert_uint_eq(cache_hits(), h);		/* asked Redis */

	/* the main connection killed: its tracking went with it */
	warm(&cc, "sidC", until);
	admin_int("CLIENT KILL TYPE %s", "normal", NULL);
	admin_int("DEL %s", "test:{u:42}:s:sidC", NULL);
	ck_assert_int_eq(session_check(rc, &cc, 42, "sidC", NULL, until),
	    SESSION_REVOKED);

	/* never past the token's exp */
	ck_assert_int_eq(session_create(rc, &cc, 42, "sidD", "n1"),
	    SESSION_VALID);
	h = cache_hits();
	ck_assert_int_eq(session_check(rc, &cc, 42, "sidD", NULL,
	    time(NULL) - 1), SESSION_VALID);
	ck_assert_int_eq(session_check(rc, &cc, 42, "sidD", NULL,
	    time(NULL) - 1), SESSION_VALID);
	ck_assert_uint_eq(cache_hits(), h);
}
END_TEST

/* platform_tokens = original: the same settings, mirroring for the original */
static const struct session_config pcfg = { "test:", TTL, GRACE, 0, NULL,
    NULL, 1, "", 900 };

/* The string value of key, or "" when absent (bounded copy). */
static void
admin_get(const char *key, char *buf, size_t len)
{
	redisReply	*r = admin("GET %s", key);

	buf[0] = '\0';
	if (r->type == REDIS_REPLY_STRING)
		snprintf(buf, len, "%s", r->str);
	freeReplyObject(r);
}

static int
platform_holds(const char *key, const char *token, const char *type)
{
	char	 want[256], got[256];

	snprintf(want, sizeof(want), "{\"token\": \"%s\", \"type\": \"%s\"}",
	    token, type);
	admin_get(key, got, sizeof(got));
	return strcmp(want, got) == 0;
}

static enum session_status
create_pair(long long uid, const char *sid, const char *jti,
    const char *access, const char *refresh, const char *legacy)
{
	struct session_pair	 p = { access, refresh, legacy };

	return session_create_mirrored(rc, &pcfg, uid, sid, jti, &p);
}

START_TEST(platform_keys_hold_the_newest_pair_as_the_original_writes_them)
{
	ck_assert_int_eq(create_pair(7, "sidA", "rA", "a.A.1", "r.A.1", NULL),
	    SESSION_VALID);
	ck_assert(platform_holds("access_token:7", "a.A.1", "access"));
	ck_assert(platform_holds("refresh_token:7", "r.A.1", "refresh"));
	ck_assert_int_le(admin_int("TTL %s", "access_token:7", NULL), 900);
	ck_assert_int_gt(admin_int("TTL %s", "refresh_token:7", NULL), 900);
	/* a second device: the newest login wins, as in the original */
	ck_assert_int_eq(create_pair(7, "sidB", "rB", "a.B.1", "r.B.1", NULL),
	    SESSION_VALID);
	ck_assert(platform_holds("access_token:7", "a.B.1", "access"));
	ck_assert_int_eq(session_platform_check(rc, &pcfg, 7, 0, "a.B.1"),
	    SESSION_VALID);
	ck_assert_int_eq(session_platform_check(rc, &pcfg, 7, 0, "a.A.1"),
	    SESSION_REVOKED);
	ck_assert_int_eq(session_platform_check(rc, &pcfg, 7, 1, "a.B.1"),
	    SESSION_REVOKED);	/* an access token is not a refresh token */
	/* the older session's logout leaves the newest in place */
	ck_assert_int_eq(session_revoke(rc, &pcfg, 7, "sidA"), 1);
	ck_assert(platform_holds("access_token:7", "a.B.1", "access"));
	ck_assert(platform_holds("refresh_token:7", "r.B.1", "refresh"));
	/* the newest one's logout removes its pair */
	ck_assert_int_eq(session_revoke(rc, &pcfg, 7, "sidB"), 1);
	ck_assert_int_eq(admin_int("EXISTS %s", "access_token:7", NULL), 0);
	ck_assert_int_eq(admin_int("EXISTS %s", "refresh_token:7", NULL), 0);
}
END_TEST

START_TEST(platform_rotation_mirrors_the_successors_and_reuse_removes_them)
{
	struct session_pair	 next = { "a.A.2", "r.A.2", NULL };
	const char		*grace;

	ck_assert_int_eq(create_pair(8, "sidA", "rA1", "a.A.1", "r.A.1",
	    NULL), SESSION_VALID);
	ck_assert_int_eq(session_rotate_mirrored(rc, &pcfg, 8, "sidA", "rA1",
	    "rA2", "sealed", &next, time(NULL), arena, &grace), ROTATE_OK);
	ck_assert(platform_holds("access_token:8", "a.A.2", "access"));
	ck_assert(platform_holds("refresh_token:8", "r.A.2", "refresh"));
	/* a stranger replaying a rotated-out jti: the family and its keys */
	ck_assert_int_eq(session_rotate_mirrored(rc, &pcfg, 8, "sidA", "old",
	    "rA3", "sealed", &next, time(NULL), arena, &grace), ROTATE_REUSE);
	ck_assert_int_eq(admin_int("EXISTS %s", "access_token:8", NULL), 0);
	ck_assert_int_eq(admin_int("EXISTS %s", "refresh_token:8", NULL), 0);
}
END_TEST

START_TEST(platform_logout_everywhere_removes_the_keys_whatever_they_hold)
{
	ck_assert_int_eq(create_pair(9, "sidA", "rA", "a.A.1", "r.A.1", NULL),
	    SESSION_VALID);
	admin_status("SET %s %s", "access_token:9",
	    "{\"token\": \"issued.by.original\", \"type\": \"access\"}");
	ck_assert_int_eq(session_revoke_all(rc, &pcfg, 9), 1);
	ck_assert_int_eq(admin_int("EXISTS %s", "access_token:9", NULL), 0);
	ck_assert_int_eq(admin_int("EXISTS %s", "refresh_token:9", NULL), 0);
}
END_TEST

START_TEST(platform_exchange_needs_the_original_refresh_token_still_current)
{
	/* what redis_client.py's set_refresh_token writes */
	admin_status("SET %s %s", "refresh_token:10",
	    "{\"token\": \"o.r.1\", \"type\": \"refresh\"}");
	ck_assert_int_eq(create_pair(10, "sidX", "rX", "a.X.1", "r.X.1",
	    "o.r.other"), SESSION_REVOKED);
	ck_assert_int_eq(admin_int("EXISTS %s", "test:{u:10}:s:sidX", NULL),
	    0);
	ck_assert_int_eq(create_pair(10, "sidX", "rX", "a.X.1", "r.X.1",
	    "o.r.1"), SESSION_VALID);
	ck_assert(platform_holds("refresh_token:10", "r.X.1", "refresh"));
	/* the old one is dead now: a second exchange finds nothing */
	ck_assert_int_eq(create_pair(10, "sidY", "rY", "a.Y.1", "r.Y.1",
	    "o.r.1"), SESSION_REVOKED);
	/* a logout with the original's access token, while it is current */
	admin_status("SET %s %s", "access_token:11",
	    "{\"token\": \"o.a.1\", \"type\": \"access\"}");
	ck_assert_int_eq(session_platform_revoke(rc, &pcfg, 11, "o.a.2"), 0);
	ck_assert_int_eq(session_platform_revoke(rc, &pcfg, 11, "o.a.1"), 1);
	ck_assert_int_eq(admin_int("EXISTS %s", "access_token:11", NULL), 0);
}
END_TEST

START_TEST(without_platform_tokens_nothing_is_mirrored)
{
	struct session_pair	 p = { "a.A.1", "r.A.1", NULL };

	ck_assert_int_eq(session_create_mirrored(rc, &cfg, 12, "sidA", "rA",
	    &p), SESSION_VALID);
	ck_assert_int_eq(admin_int("EXISTS %s", "access_token:12", NULL), 0);
	ck_assert_int_eq(session_platform_check(rc, &cfg, 12, 0, "a.A.1"),
	    SESSION_REVOKED);
}
END_TEST

Suite *
suite(void)
{
	Suite	*s = suite_create("session");
	TCase	*tc = tcase_create("redis");

	log_set_level(LOG_LEVEL_ERROR);		/* failures are expected */
	tcase_add_unchecked_fixture(tc, server_start, server_stop);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, new_session_is_valid_until_logged_out);
	tcase_add_test(tc, session_unknown_to_redis_is_revoked);
	tcase_add_test(tc,
	    second_device_stays_logged_in_when_the_first_logs_out);
	tcase_add_test(tc, logout_all_ends_every_session_of_that_user_only);
	tcase_add_test(tc, every_key_has_a_ttl_and_the_user_hash_tag);
	tcase_add_test(tc, rotation_resets_the_ttl_of_the_session_and_its_set);
	tcase_add_test(tc,
	    refresh_token_presented_again_within_grace_gets_same_tokens);
	tcase_add_test(tc,
	    refresh_token_reused_after_grace_revokes_the_session);
	tcase_add_test(tc,
	    refresh_token_older_than_the_previous_one_revokes_the_session);
	tcase_add_test(tc, unknown_refresh_token_revokes_the_session);
	tcase_add_test(tc,
	    refresh_without_a_session_is_invalid_and_stores_nothing);
	tcase_add_test(tc, sessions_survive_a_flushed_script_cache);
	tcase_add_test(tc,
	    redis_error_replies_are_errors_not_valid_nor_unavailable);
	tcase_add_test(tc, full_redis_refuses_new_sessions_but_still_logs_out);
	tcase_add_test(tc, no_connection_means_unavailable);
	tcase_add_test(tc, stopped_redis_means_unavailable);
	tcase_add_test(tc,
	    two_tabs_refreshing_at_once_end_with_the_same_tokens);
	tcase_add_test(tc,
	    rotation_whose_reply_was_lost_is_resent_and_not_a_reuse);
	tcase_add_test(tc, anchored_token_lives_only_while_its_anchor_is_current);
	tcase_add_test(tc,
	    platform_keys_hold_the_newest_pair_as_the_original_writes_them);
	tcase_add_test(tc,
	    platform_rotation_mirrors_the_successors_and_reuse_removes_them);
	tcase_add_test(tc,
	    platform_logout_everywhere_removes_the_keys_whatever_they_hold);
	tcase_add_test(tc,
	    platform_exchange_needs_the_original_refresh_token_still_current);
	tcase_add_test(tc, without_platform_tokens_nothing_is_mirrored);
	tcase_add_test(tc,
	    client_cache_forgets_what_redis_changes_before_answering);
	suite_add_tcase(s, tc);
	return s;
}
