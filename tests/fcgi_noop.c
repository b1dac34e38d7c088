/*
 * A libfcgi responder that does nothing but answer 200: the benchmark's
 * ceiling for what libfcgi itself allows.  Forks N children sharing the
 * listening socket on fd 0 (as spawn-fcgi hands it), like the pool.
 */
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcgiapp.h>

int
main(int argc, char *argv[])
{
	FCGX_Request	 req;
	int		 i, n = argc > 1 ? atoi(argv[1]) : 4;

	signal(SIGPIPE, SIG_IGN);
	for (i = 1; i < n; i++)
		if (fork() == 0)
			break;
	FCGX_Init();
	FCGX_InitRequest(&req, 0, 0);
	while (FCGX_Accept_r(&req) >= 0) {
		FCGX_PutS("Status: 200 OK\r\nContent-Type: application/json"
		    "\r\nContent-Length: 2\r\n\r\n{}", req.out);
		FCGX_Finish_r(&req);
	}
	return 0;
}
