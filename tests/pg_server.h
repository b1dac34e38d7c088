/*
 * A real PostgreSQL server for tests (issue 10), on a free 127.0.0.1
 * port, its data and socket in a fresh directory.  postgres and initdb
 * refuse root (PITFALLS), so as root they run as the postgres user.  The
 * server is a forked child in the caller's process group (no setsid, and
 * it dies with its parent), so Check's kill reaches it; stop or restart
 * it only from the process that started it.
 */
#ifndef MOCKPIE_PG_SERVER_H
#define MOCKPIE_PG_SERVER_H

#include <sys/types.h>

#include <stddef.h>

#include <libpq-fe.h>

struct pg_server;

int			 pg_server_usable(char *, size_t);
struct pg_server	*pg_server_start(void);
int			 pg_server_stop(struct pg_server *);
int			 pg_server_restart(struct pg_server *);
void			 pg_server_free(struct pg_server *);
int			 pg_server_port(const struct pg_server *);
const char		*pg_server_socket_dir(const struct pg_server *);
pid_t			 pg_server_pid(const struct pg_server *);
const char		*pg_server_password(const struct pg_server *);
int			 pg_server_create_db(struct pg_server *, const char *);
void			 pg_server_url(const struct pg_server *, const char *,
			    char *, size_t);
PGconn			*pg_server_admin(const struct pg_server *,
			    const char *);
int			 pg_server_signal_all(const struct pg_server *, int);

#endif
