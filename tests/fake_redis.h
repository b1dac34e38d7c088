/*
 * A fake Redis, named as such, for what a real redis-server cannot be
 * made to do on demand: a server that answers every command with one
 * error (-LOADING while a big data set loads, -READONLY from a demoted
 * master), or a link that dies after Redis ran a command but before its
 * reply arrived.  It is a forked child in the caller's process group
 * (Check's kill of the group reaches it) listening on a free 127.0.0.1
 * port; each connection it accepts is handled by the next spec in turn,
 * the last spec for every connection after that.
 */
#ifndef MOCKPIE_FAKE_REDIS_H
#define MOCKPIE_FAKE_REDIS_H

enum fake_mode {
	FAKE_PROXY,	/* pass everything to the real server and back */
	FAKE_ERROR,	/* answer each command with the error line */
	FAKE_RAW	/* answer each command with the given reply, as it
			   is (RESP): a sentinel naming a chosen address */
};

struct fake_conn_spec {
	enum fake_mode	 mode;
	/*
	 * FAKE_PROXY: the first command holding these bytes is passed on,
	 * and when its reply comes back the client's connection is closed
	 * instead; NULL never.
	 */
	const char	*drop_reply_to;
};

struct fake_redis;

struct fake_redis	*fake_redis_start(int, const struct fake_conn_spec *,
			    int, const char *);
int			 fake_redis_port(const struct fake_redis *);
void			 fake_redis_url(const struct fake_redis *, char *,
			    size_t);
void			 fake_redis_stop(struct fake_redis *);

#endif
