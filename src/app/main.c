/*
 * mockpie-fcgi: command line, configuration, the listening socket (fd 0
 * from spawn-fcgi, or --listen), then the master.
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app/config.h"
#include "lib/log.h"
#include "pool/master.h"
#include "store/users.h"

static void
usage(FILE *f)
{
	fprintf(f, "usage: mockpie-fcgi [-c file] [--listen unix:/path|host:port]"
	    " [--workers N]\n"
	    "                    [--pidfile file] [--check-config]"
	    " [--init-db]\n"
	    "Without --listen the listening socket is inherited on fd 0, as "
	    "spawn-fcgi hands it.\n");
}

/* 1 when fd 0 is a listening stream socket. */
static int
stdin_is_listener(void)
{
	struct stat	 st;
	int		 type, listening;
	socklen_t	 len = sizeof(type);

	if (fstat(0, &st) == -1 || !S_ISSOCK(st.st_mode))
		return 0;
	if (getsockopt(0, SOL_SOCKET, SO_TYPE, &type, &len) == -1 ||
	    type != SOCK_STREAM)
		return 0;
	len = sizeof(listening);
	if (getsockopt(0, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) == -1)
		return 0;
	return listening;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "config",		required_argument,	NULL, 'c' },
		{ "listen",		required_argument,	NULL, 'l' },
		{ "workers",		required_argument,	NULL, 'w' },
		{ "pidfile",		required_argument,	NULL, 'p' },
		{ "check-config",	no_argument,		NULL, 't' },
		{ "init-db",		no_argument,		NULL, 'i' },
		{ "help",		no_argument,		NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	static struct config	 cfg;
	struct config_overrides	 over = { NULL, NULL, NULL };
	const char		*path = getenv("MOCKPIE_CONFIG");
	char			 err[CONFIG_ERR_MAX];
	int			 ch, check = 0, init_db = 0, fd, rc;

	log_init("mockpie", LOG_LEVEL_INFO);
	while ((ch = getopt_long(argc, argv, "c:l:w:p:th", longopts, NULL))
	    != -1) {
		switch (ch) {
		case 'c': path = optarg; break;
		case 'l': over.listen = optarg; break;
		case 'w': over.workers = optarg; break;
		case 'p': over.pidfile = optarg; break;
		case 't': check = 1; break;
		case 'i': init_db = 1; break;	/* users.c: schema now */
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (config_load_with(&cfg, path, &over, err, sizeof(err)) == -1) {
		fprintf(stderr, "mockpie-fcgi: configuration: %s\n", err);
		config_fini(&cfg);
		return 1;
	}
	if (check) {
		printf("mockpie-fcgi: configuration %s is valid\n",
		    path ? path : "(defaults and environment)");
		config_fini(&cfg);
		return 0;
	}
	log_set_level(cfg.log_level);
	signal(SIGPIPE, SIG_IGN);	/* PITFALLS: hiredis */
	if (init_db) {			/* issue 10: SQLite or PostgreSQL */
		rc = users_init_db(&cfg) == 0 ? 0 : 1;
		config_fini(&cfg);
		return rc;
	}
	if (cfg.listen[0] != '\0') {
		if ((fd = master_listen(&cfg, err, sizeof(err))) == -1) {
			log_errorx("%s", err);
			config_fini(&cfg);
			return 1;
		}
	} else if (stdin_is_listener())
		fd = 0;
	else {
		log_errorx("no listening socket: pass --listen, set listen in "
		    "the configuration, or start under spawn-fcgi");
		config_fini(&cfg);
		return 1;
	}
	rc = master_run(&cfg, fd, path, &over);
	if (cfg.listen[0] != '\0' && strncmp(cfg.listen, "unix:", 5) == 0)
		(void)unlink(cfg.listen + 5);
	close(fd);
	config_fini(&cfg);
	return rc;
}
