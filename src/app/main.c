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

#include "app/app.h"
#include "app/config.h"
#include "lib/log.h"
#include "mail/sender.h"
#include "pool/master.h"
#include "store/users.h"

#define TEMPLATE_ERR_MAX	(POOL_PATH_MAX + 256)	/* a path and why */

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

/*
 * Issue 15: a host that runs the mail sender needs every template whole,
 * or no mail could ever be sent; a host with mail_sender = false never
 * renders one.  0, or -1 with the file and the reason in err.
 */
static int
templates_check(const struct config *cfg, char *err, size_t errlen)
{
	if (!cfg->mail_sender)
		return 0;
	return mail_templates_check(cfg->mail_templates_dir, err, errlen);
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
	struct config_overrides	 over = { NULL, NULL, NULL };
	struct app_source	 src = { getenv("MOCKPIE_CONFIG"), &over };
	struct pool_app		 app;
	struct users_settings	 set;
	struct config		*cfg;
	char			 err[CONFIG_ERR_MAX], unix_path[POOL_PATH_MAX];
	char			 terr[TEMPLATE_ERR_MAX];
	int			 ch, check = 0, init_db = 0, fd, rc;

	log_init("mockpie", LOG_LEVEL_INFO);
	while ((ch = getopt_long(argc, argv, "c:l:w:p:th", longopts, NULL))
	    != -1) {
		switch (ch) {
		case 'c': src.path = optarg; break;
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
	if ((cfg = app_load(&src, err, sizeof(err))) == NULL) {
		fprintf(stderr, "mockpie-fcgi: configuration: %s\n", err);
		return 1;
	}
	if (check) {
		if (templates_check(cfg, terr, sizeof(terr)) == -1) {
			fprintf(stderr, "mockpie-fcgi: configuration: %s\n",
			    terr);
			app_unload(cfg);
			return 1;
		}
		printf("mockpie-fcgi: configuration %s is valid\n",
		    src.path ? src.path : "(defaults and environment)");
		app_unload(cfg);
		return 0;
	}
	log_set_level(cfg->pool.log_level);
	signal(SIGPIPE, SIG_IGN);	/* PITFALLS: hiredis */
	if (init_db) {			/* issue 10: SQLite or PostgreSQL */
		app_users_settings(cfg, &set);
		rc = users_init_db(&set) == 0 ? 0 : 1;
		app_unload(cfg);
		return rc;
	}
	if (templates_check(cfg, terr, sizeof(terr)) == -1) {
		log_errorx("%s: not starting, the mail sender could send "
		    "nothing", terr);
		app_unload(cfg);
		return 1;
	}
	if (cfg->pool.listen[0] != '\0') {
		if ((fd = master_listen(&cfg->pool, err, sizeof(err))) == -1) {
			log_errorx("%s", err);
			app_unload(cfg);
			return 1;
		}
	} else if (stdin_is_listener())
		fd = 0;
	else {
		log_errorx("no listening socket: pass --listen, set listen in "
		    "the configuration, or start under spawn-fcgi");
		app_unload(cfg);
		return 1;
	}
	unix_path[0] = '\0';
	if (strncmp(cfg->pool.listen, "unix:", 5) == 0)
		snprintf(unix_path, sizeof(unix_path), "%s",
		    cfg->pool.listen + 5);
	app = app_pool(&src);
	rc = master_run(&app, cfg, fd);		/* it owns cfg now */
	if (unix_path[0] != '\0')
		(void)unlink(unix_path);
	close(fd);
	return rc;
}
