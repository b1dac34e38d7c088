/*
 * Tests in a real browser (issue 3, item 8): headless Chromium loads
 * tests/browser/client.html from an origin other than the API's, and the
 * page's script registers, logs in, calls /auth/me, refreshes and logs
 * out with fetch() and FormData as the MockPie web client does.  Issue
 * 15: tests/browser/email.html walks the client's verification and
 * password-reset pages, one load per step, with the codes the pool's mail
 * sender delivered to an SMTP sink of the test's own (tests/smtp_sink.py)
 * read here between the loads and passed in the page's query.
 *
 * How the page's results come back: the script appends one JSON line per
 * step to <pre id="result">, and `chromium --headless --dump-dom` prints
 * the DOM once the page settles.  --virtual-time-budget makes Chromium
 * wait for the script: virtual time only advances while no network fetch
 * is pending, so the dump comes after the last fetch has been answered
 * (checked by hand with an API slowed to 4 s per request; the dump still
 * held every step).  That is simpler than a DevTools client on
 * --remote-debugging-port and needs nothing but Chromium's command line.
 * Chromium runs in a process group of its own, killed whole after
 * CHROMIUM_TIMEOUT_MS, and dies with the test process (PR_SET_PDEATHSIG).
 *
 * The page comes from a small static server forked here, on its own
 * 127.0.0.1 port: one origin listed in MOCKPIE_CORS_ORIGINS, and one not
 * listed, whose page must get nothing out of the API.  A missing
 * Chromium is a failure, not a skip: scripts/test installs it.
 */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "harness.h"
#include "mail_sink.h"
#include "redis_server.h"
#include "runner.h"

#define PAGE_PATH		"/client.html"
#define EMAIL_PAGE_PATH		"/email.html"
#define PAGE_MAX		(64 * 1024)	/* a page, read whole */
#define NPAGES			2
#define PAGE_REQUEST_MAX	8192		/* request head */
#define PAGE_READ_MS		2000		/* per connection */
#define PAGE_CONNECTIONS_MAX	256		/* then it exits */
#define PAGE_LIFETIME_S		300		/* its alarm() */
#define CHROMIUM_TIMEOUT_MS	30000
#define CHROMIUM_VIRTUAL_MS	"10000"
#define CHROMIUM_POLL_MS	20
#define DOM_MAX			(512 * 1024)
#define PATH_LEN		1024
#define URL_LEN			512
#define ORIGIN_LEN		64
#define TEST_TIMEOUT_S		120

/* A static server for the page, in a forked child. */
struct page_server {
	pid_t	 pid;
	int	 port;
};

/* The pages it serves, read from tests/browser/ at setup. */
static struct page {
	const char	*path;		/* as requested, and under browser/ */
	char		 text[PAGE_MAX];
	size_t		 len;
} pages[NPAGES] = { { PAGE_PATH, "", 0 }, { EMAIL_PAGE_PATH, "", 0 } };

static struct stack		*stack;
static struct page_server	 listed, unlisted;
static char			 origin_env[ORIGIN_LEN + 32];
static char			 smtp_env[ORIGIN_LEN + 32];
static struct mail_sink		 smtp;

static void
close_inherited_fds(void)
{
	long	 fd, max;

#ifdef SYS_close_range
	if (syscall(SYS_close_range, 3U, ~0U, 0U) == 0)
		return;
#endif
	if ((max = sysconf(_SC_OPEN_MAX)) < 0 || max > 65536)
		max = 65536;
	for (fd = 3; fd < max; fd++)
		close((int)fd);
}

/* Reads tests/browser/<pg's path> into pg: 0, or -1. */
static int
page_load(struct page *pg)
{
	const char	*srcdir = getenv("MOCKPIE_SRCDIR");
	char		 path[PATH_LEN], *page = pg->text;
	size_t		 page_len;
	ssize_t		 n = -1;
	int		 fd, rc = -1;

	if (srcdir == NULL || *srcdir == '\0')
		srcdir = ".";
	if (snprintf(path, sizeof(path), "%s/tests/browser%s",
	    srcdir, pg->path) >= (int)sizeof(path))
		return -1;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		fprintf(stderr, "it_browser: %s: %s\n", path, strerror(errno));
		return -1;
	}
	page_len = 0;
	while (page_len < sizeof(pg->text)) {
		n = read(fd, page + page_len, sizeof(pg->text) - page_len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		page_len += (size_t)n;
	}
	if (n == 0 && page_len > 0 && page_len < sizeof(pg->text)) {
		pg->len = page_len;
		rc = 0;
	}
	else
		fprintf(stderr, "it_browser: cannot read %s\n", path);
	close(fd);
	return rc;
}

static int
send_all(int fd, const char *buf, size_t len)
{
	ssize_t	 n;

	while (len > 0) {
		if ((n = send(fd, buf, len, MSG_NOSIGNAL)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Answers one connection: a page for GET /<page>.html (any query), 404
 * for anything else, then closes.  A client that sends no complete head
 * within PAGE_READ_MS (a speculative preconnect) is dropped.
 */
static void
page_serve_one(int fd)
{
	struct timeval	 tv = { PAGE_READ_MS / 1000, 0 };
	char		 req[PAGE_REQUEST_MAX + 1], head[256];
	const char	*status = "404 Not Found", *body = "not found\n";
	size_t		 len = 0, body_len = 10, i, pl;
	ssize_t		 n;
	int		 hl;

	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == -1)
		return;
	while (len < PAGE_REQUEST_MAX) {
		n = recv(fd, req + len, PAGE_REQUEST_MAX - len, 0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		len += (size_t)n;
		req[len] = '\0';
		if (strstr(req, "\r\n\r\n") != NULL)
			break;
	}
	req[len] = '\0';
	if (strstr(req, "\r\n\r\n") == NULL)
		return;
	for (i = 0; i < NPAGES; i++) {
		pl = strlen(pages[i].path);
		if (strncmp(req, "GET ", 4) == 0 &&
		    strncmp(req + 4, pages[i].path, pl) == 0 &&
		    (req[4 + pl] == ' ' || req[4 + pl] == '?')) {
			status = "200 OK";
			body = pages[i].text;
			body_len = pages[i].len;
			break;
		}
	}
	hl = snprintf(head, sizeof(head), "HTTP/1.1 %s\r\n"
	    "Content-Type: text/html; charset=utf-8\r\n"
	    "Content-Length: %zu\r\n"
	    "Cache-Control: no-store\r\n"
	    "Connection: close\r\n\r\n", status, body_len);
	if (hl < 0 || hl >= (int)sizeof(head))
		return;
	if (send_all(fd, head, (size_t)hl) == 0)
		send_all(fd, body, body_len);
}

/* The server child: bounded in connections and in time. */
static void
page_server_run(int lfd)
{
	int	 i, fd;

	alarm(PAGE_LIFETIME_S);
	for (i = 0; i < PAGE_CONNECTIONS_MAX; i++) {
		if ((fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) == -1) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			_exit(1);
		}
		page_serve_one(fd);
		close(fd);
	}
	_exit(0);
}

/*
 * Listens on a free 127.0.0.1 port and forks the server (in our process
 * group, so Check's kill reaches it): 0, or -1.
 */
static int
page_server_start(struct page_server *ps)
{
	struct sockaddr_in	 sin;
	socklen_t		 slen = sizeof(sin);
	sigset_t		 none;
	pid_t			 parent = getpid();
	int			 fd;

	ps->pid = -1;
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sin, &slen) == -1 ||
	    listen(fd, 64) == -1)
		goto fail;
	ps->port = ntohs(sin.sin_port);
	if ((ps->pid = fork()) == -1)
		goto fail;
	if (ps->pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGALRM, SIG_DFL);
		page_server_run(fd);
	}
	close(fd);
	return 0;
fail:
	close(fd);
	ps->pid = -1;
	return -1;
}

static void
page_server_stop(struct page_server *ps)
{
	if (ps->pid <= 0)
		return;
	kill(ps->pid, SIGKILL);
	while (waitpid(ps->pid, NULL, 0) == -1 && errno == EINTR)
		;
	ps->pid = -1;
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

/* Removes dir and everything under it (Chromium's profile is deep). */
static void
rm_tree(const char *dir)
{
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/*
 * The Chromium to run: $CHROMIUM, else `chromium` on PATH, written into
 * buf: 0, or -1 when there is none.
 */
static int
chromium_find(char *buf, size_t len)
{
	const char	*env = getenv("CHROMIUM"), *path = getenv("PATH");
	const char	*p, *end;
	int		 n;

	if (env != NULL && *env != '\0') {
		if (snprintf(buf, len, "%s", env) >= (int)len)
			return -1;
		return access(buf, X_OK);
	}
	if (path == NULL)
		path = "/usr/local/bin:/usr/bin:/bin";
	for (p = path; *p != '\0'; p = *end == ':' ? end + 1 : end) {
		if ((end = strchr(p, ':')) == NULL)
			end = p + strlen(p);
		if (end == p)
			continue;
		n = snprintf(buf, len, "%.*s/chromium", (int)(end - p), p);
		if (n > 0 && n < (int)len && access(buf, X_OK) == 0)
			return 0;
	}
	return -1;
}

/* Copies the last bytes of Chromium's log to stderr, for a failure. */
static void
chromium_log_tail(const char *logpath)
{
	char	 buf[2048];
	ssize_t	 n;
	off_t	 size;
	int	 fd;

	if ((fd = open(logpath, O_RDONLY | O_CLOEXEC)) == -1)
		return;
	if ((size = lseek(fd, 0, SEEK_END)) > (off_t)sizeof(buf))
		lseek(fd, size - (off_t)sizeof(buf), SEEK_SET);
	else
		lseek(fd, 0, SEEK_SET);
	if ((n = read(fd, buf, sizeof(buf))) > 0) {
		fprintf(stderr, "it_browser: end of %s:\n", logpath);
		fwrite(buf, 1, (size_t)n, stderr);
		fputc('\n', stderr);
	}
	close(fd);
}

/*
 * Runs headless Chromium on url with a fresh profile under dir and
 * collects what --dump-dom prints into dom (NUL-terminated).  Returns 0
 * when Chromium exited 0 within CHROMIUM_TIMEOUT_MS, or -1 (timed out,
 * failed, or printed more than the buffer holds), saying why in why.
 */
static int
chromium_dump_dom(const char *bin, const char *dir, const char *url,
    char *dom, size_t domsz, char *why, size_t whysz)
{
	char		 profile[PATH_LEN + 32], home[PATH_LEN + 32];
	char		 logpath[PATH_LEN + 32], pdir[PATH_LEN + 48];
	char		*envp[] = { NULL, NULL, NULL, NULL, NULL, NULL };
	char		 env_home[PATH_LEN + 48], env_cfg[PATH_LEN + 64];
	char		 env_cache[PATH_LEN + 64], env_path[PATH_LEN + 16];
	const char	*argv[24];
	struct pollfd	 pfd;
	sigset_t	 none;
	long long	 deadline;
	size_t		 len = 0;
	ssize_t		 n;
	pid_t		 pid, parent = getpid();
	int		 p[2], fd, status, i = 0, left, rc = -1;
	int		 overflow = 0, exited = 0;

	snprintf(why, whysz, "?");
	if (snprintf(profile, sizeof(profile), "%s/profile", dir) >=
	    (int)sizeof(profile) ||
	    snprintf(home, sizeof(home), "%s/home", dir) >= (int)sizeof(home) ||
	    snprintf(logpath, sizeof(logpath), "%s/chromium.log", dir) >=
	    (int)sizeof(logpath) ||
	    snprintf(pdir, sizeof(pdir), "--user-data-dir=%s", profile) >=
	    (int)sizeof(pdir) ||
	    snprintf(env_home, sizeof(env_home), "HOME=%s", home) >=
	    (int)sizeof(env_home) ||
	    snprintf(env_cfg, sizeof(env_cfg), "XDG_CONFIG_HOME=%s/.config",
	    home) >= (int)sizeof(env_cfg) ||
	    snprintf(env_cache, sizeof(env_cache), "XDG_CACHE_HOME=%s/.cache",
	    home) >= (int)sizeof(env_cache) ||
	    snprintf(env_path, sizeof(env_path), "PATH=%s",
	    getenv("PATH") != NULL ? getenv("PATH") : "/usr/bin:/bin") >=
	    (int)sizeof(env_path)) {
		snprintf(why, whysz, "path too long");
		return -1;
	}
	if (mkdir(profile, 0700) == -1 || mkdir(home, 0700) == -1) {
		snprintf(why, whysz, "mkdir: %s", strerror(errno));
		return -1;
	}
	envp[0] = env_home;
	envp[1] = env_cfg;
	envp[2] = env_cache;
	envp[3] = env_path;
	envp[4] = (char *)"LANG=C.UTF-8";
	argv[i++] = bin;
	argv[i++] = "--headless";
	argv[i++] = "--no-sandbox";
	argv[i++] = "--disable-gpu";
	argv[i++] = "--disable-background-networking";
	argv[i++] = "--disable-component-update";
	argv[i++] = "--disable-sync";
	argv[i++] = "--no-first-run";
	argv[i++] = "--disable-quic";
	argv[i++] = pdir;
	argv[i++] = "--virtual-time-budget=" CHROMIUM_VIRTUAL_MS;
	argv[i++] = "--dump-dom";
	argv[i++] = url;
	argv[i] = NULL;

	if (pipe2(p, O_CLOEXEC) == -1) {
		snprintf(why, whysz, "pipe: %s", strerror(errno));
		return -1;
	}
	if ((pid = fork()) == -1) {
		snprintf(why, whysz, "fork: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		/*
		 * A group of its own, so that a timeout kills every
		 * Chromium process; and death with the test process, since
		 * Check's kill of the test's group no longer reaches it.
		 */
		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(126);
		if ((fd = open("/dev/null", O_RDONLY)) != -1)
			dup2(fd, STDIN_FILENO);
		dup2(p[1], STDOUT_FILENO);
		if ((fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC,
		    0600)) != -1)
			dup2(fd, STDERR_FILENO);
		close_inherited_fds();
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		execve(bin, (char *const *)argv, envp);
		_exit(127);
	}
	setpgid(pid, pid);	/* either side may run first */
	close(p[1]);

	/*
	 * Read until EOF or until the browser process has exited (a helper
	 * it leaves behind may still hold the pipe), within the deadline.
	 */
	deadline = test_now_ms() + CHROMIUM_TIMEOUT_MS;
	pfd.fd = p[0];
	pfd.events = POLLIN;
	for (;;) {
		if ((left = (int)(deadline - test_now_ms())) <= 0)
			break;
		if (!exited && waitpid(pid, &status, WNOHANG) == pid) {
			exited = 1;
			left = 0;	/* take what is buffered, then stop */
		} else if (left > CHROMIUM_POLL_MS)
			left = CHROMIUM_POLL_MS;
		if ((n = poll(&pfd, 1, left)) == -1 && errno != EINTR)
			break;
		if (n <= 0) {
			if (exited)
				break;
			continue;
		}
		if (len + 1 < domsz)
			n = read(p[0], dom + len, domsz - 1 - len);
		else {
			char	 sink[4096];

			overflow = 1;
			n = read(p[0], sink, sizeof(sink));
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (!overflow)
			len += (size_t)n;
	}
	dom[len] = '\0';
	close(p[0]);
	while (!exited && test_now_ms() < deadline) {
		if (waitpid(pid, &status, WNOHANG) == pid) {
			exited = 1;
			break;
		}
		usleep(CHROMIUM_POLL_MS * 1000);
	}
	/* the whole group: a timeout, or helpers outliving the browser */
	kill(-pid, SIGKILL);
	if (!exited) {
		while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
			;
		snprintf(why, whysz, "Chromium did not finish within %d ms",
		    CHROMIUM_TIMEOUT_MS);
	} else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		snprintf(why, whysz, "Chromium failed (status 0x%x)", status);
	else if (overflow)
		snprintf(why, whysz, "Chromium printed more than %zu bytes",
		    domsz);
	else
		rc = 0;
	if (rc == -1)
		chromium_log_tail(logpath);
	return rc;
}

/*
 * The text of <pre id="result"> in the dumped DOM, HTML entities
 * decoded, written over dom itself: a pointer into dom, or NULL.
 */
static char *
result_text(char *dom)
{
	static const struct {
		const char	*ent;
		char		 c;
	} ents[] = {
		{ "&amp;", '&' }, { "&lt;", '<' }, { "&gt;", '>' },
		{ "&quot;", '"' }, { "&#39;", '\'' }, { "&nbsp;", ' ' },
	};
	char	*start, *end, *r, *w;
	size_t	 i, n;

	if ((start = strstr(dom, "<pre id=\"result\">")) == NULL)
		return NULL;
	start += strlen("<pre id=\"result\">");
	if ((end = strstr(start, "</pre>")) == NULL)
		return NULL;
	*end = '\0';
	for (r = w = start; *r != '\0'; ) {
		for (i = 0; i < sizeof(ents) / sizeof(ents[0]); i++) {
			n = strlen(ents[i].ent);
			if (strncmp(r, ents[i].ent, n) == 0)
				break;
		}
		if (i < sizeof(ents) / sizeof(ents[0])) {
			*w++ = ents[i].c;
			r += n;
		} else
			*w++ = *r++;
	}
	*w = '\0';
	return start;
}

/*
 * Parses the page's report, one JSON object per line, into an array the
 * caller releases with json_object_put(): the array, or NULL when a line
 * is not a JSON object.
 */
static json_object *
result_parse(char *text)
{
	json_object	*arr, *o;
	char		*line, *save = NULL;

	if ((arr = json_object_new_array()) == NULL)
		return NULL;
	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if ((o = json_tokener_parse(line)) == NULL ||
		    !json_object_is_type(o, json_type_object)) {
			json_object_put(o);
			json_object_put(arr);
			return NULL;
		}
		json_object_array_add(arr, o);
	}
	return arr;
}

/* The first report line of that step, or NULL. */
static json_object *
step(json_object *arr, const char *name)
{
	json_object	*o, *v;
	size_t		 i;

	for (i = 0; i < json_object_array_length(arr); i++) {
		o = json_object_array_get_idx(arr, i);
		if (json_object_object_get_ex(o, "step", &v) &&
		    json_object_is_type(v, json_type_string) &&
		    strcmp(json_object_get_string(v), name) == 0)
			return o;
	}
	return NULL;
}

/* A string member, or "" when missing or not a string. */
static const char *
str_of(json_object *o, const char *key)
{
	json_object	*v;

	if (o == NULL || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return "";
	return json_object_get_string(v);
}

/* An integer member, or -1 when missing or not an integer. */
static int
int_of(json_object *o, const char *key)
{
	json_object	*v;

	if (o == NULL || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_int))
		return -1;
	return json_object_get_int(v);
}

/* A boolean member: 1, 0, or -1 when missing or not a boolean. */
static int
bool_of(json_object *o, const char *key)
{
	json_object	*v;

	if (o == NULL || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_boolean))
		return -1;
	return json_object_get_boolean(v) ? 1 : 0;
}

/*
 * Serves the page at path from ps, loads it in Chromium with the API's
 * address, the user's tag and query (NULL: none) in the query string,
 * and returns the page's report (the caller puts it), or fails the test.
 * The raw report is copied to report for the failure messages.
 */
static json_object *
browse_page(const struct page_server *ps, const char *path, const char *tag,
    const char *query, char *report, size_t reportsz)
{
	static char	 dom[DOM_MAX];
	char		 bin[PATH_LEN], dir[PATH_LEN], url[URL_LEN];
	char		 why[256], *text;
	json_object	*arr;
	int		 rc;

	ck_assert_msg(chromium_find(bin, sizeof(bin)) == 0,
	    "Chromium not found: install Debian's chromium package "
	    "(apt-get install chromium; scripts/test does) or set CHROMIUM "
	    "to the browser's path");
	ck_assert_int_eq(test_tmpdir(dir, sizeof(dir)), 0);
	ck_assert_int_lt(snprintf(url, sizeof(url), "http://127.0.0.1:%d"
	    "%s?api=http://127.0.0.1:%d&tag=%s%s%s", ps->port, path,
	    stack_http_port(stack), tag, query != NULL ? "&" : "",
	    query != NULL ? query : ""), (int)sizeof(url));
	rc = chromium_dump_dom(bin, dir, url, dom, sizeof(dom), why,
	    sizeof(why));
	rm_tree(dir);
	ck_assert_msg(rc == 0, "%s on %s", why, url);
	text = result_text(dom);
	ck_assert_msg(text != NULL, "no <pre id=\"result\"> in the DOM "
	    "Chromium dumped (%zu bytes)", strlen(dom));
	snprintf(report, reportsz, "%s", text);
	arr = result_parse(text);
	ck_assert_msg(arr != NULL, "the page reported a line that is not "
	    "JSON:\n%s", report);
	ck_assert_msg(step(arr, "done") != NULL, "the page's script did not "
	    "finish before the DOM was dumped:\n%s", report);
	return arr;
}

static json_object *
browse(const struct page_server *ps, const char *tag, char *report,
    size_t reportsz)
{
	return browse_page(ps, PAGE_PATH, tag, NULL, report, reportsz);
}

static void
setup(void)
{
	const char	*env[] = {
		origin_env,
		"MOCKPIE_PASSWORD_OPSLIMIT=1",
		"MOCKPIE_PASSWORD_MEMLIMIT=8m",
		/* the pool's own sender, to the sink, which has no TLS */
		smtp_env,
		"MOCKPIE_SMTP_STARTTLS=false",
		/* one log line per request: the preflights reached it */
		"MOCKPIE_LOG_LEVEL=debug",
		NULL
	};
	struct stack_options	 opts;
	size_t			 i;

	for (i = 0; i < NPAGES; i++)
		ck_assert_int_eq(page_load(&pages[i]), 0);
	mail_sink_start(&smtp);
	snprintf(smtp_env, sizeof(smtp_env), "MOCKPIE_SMTP_URL=%s", smtp.url);
	ck_assert_int_eq(page_server_start(&listed), 0);
	ck_assert_int_eq(page_server_start(&unlisted), 0);
	snprintf(origin_env, sizeof(origin_env),
	    "MOCKPIE_CORS_ORIGINS=http://127.0.0.1:%d", listed.port);
	memset(&opts, 0, sizeof(opts));
	opts.workers = 2;
	opts.env = env;
	stack = stack_start(&opts);
	ck_assert_msg(stack != NULL, "the stack did not start");
}

static void
teardown(void)
{
	if (stack != NULL)
		stack_stop(stack);
	stack = NULL;
	page_server_stop(&listed);
	page_server_stop(&unlisted);
	if (smtp.pid > 0)
		mail_sink_stop(&smtp);
}

START_TEST(page_on_an_allowed_origin_runs_a_whole_session_with_fetch)
{
	char		 report[8192], origin[ORIGIN_LEN], api[ORIGIN_LEN];
	char		 tag[16], email[64], username[32];
	json_object	*arr, *o;

	snprintf(tag, sizeof(tag), "%07d", (int)(getpid() % 10000000));
	snprintf(email, sizeof(email), "browser.%s@example.com", tag);
	snprintf(username, sizeof(username), "browser_%s", tag);
	snprintf(origin, sizeof(origin), "http://127.0.0.1:%d", listed.port);
	snprintf(api, sizeof(api), "http://127.0.0.1:%d",
	    stack_http_port(stack));
	arr = browse(&listed, tag, report, sizeof(report));

	ck_assert_msg(step(arr, "error") == NULL, "a fetch failed:\n%s",
	    report);
	o = step(arr, "origin");	/* really another origin than the API */
	ck_assert_str_eq(str_of(o, "origin"), origin);
	ck_assert_str_eq(str_of(o, "api"), api);

	o = step(arr, "register");
	ck_assert_msg(int_of(o, "status") == 201, "register:\n%s", report);
	ck_assert_str_eq(str_of(o, "token_type"), "bearer");
	ck_assert_str_eq(str_of(o, "cache_control"), "no-store");
	ck_assert_int_eq(bool_of(o, "has_access"), 1);
	ck_assert_int_eq(bool_of(o, "has_refresh"), 1);
	ck_assert_str_eq(str_of(o, "email"), email);

	o = step(arr, "login");
	ck_assert_msg(int_of(o, "status") == 200, "login:\n%s", report);
	ck_assert_str_eq(str_of(o, "token_type"), "bearer");
	ck_assert_str_eq(str_of(o, "cache_control"), "no-store");
	ck_assert_int_gt(int_of(o, "expires_in"), 0);
	ck_assert_int_eq(bool_of(o, "has_access"), 1);
	ck_assert_int_eq(bool_of(o, "has_refresh"), 1);

	/* the bearer makes this a preflighted request */
	o = step(arr, "me");
	ck_assert_msg(int_of(o, "status") == 200, "me:\n%s", report);
	ck_assert_str_eq(str_of(o, "email"), email);
	ck_assert_str_eq(str_of(o, "username"), username);
	ck_assert_int_eq(bool_of(o, "id_is_number"), 1);
	ck_assert_int_eq(bool_of(o, "has_password"), 0);

	o = step(arr, "refresh");
	ck_assert_msg(int_of(o, "status") == 200, "refresh:\n%s", report);
	ck_assert_str_eq(str_of(o, "cache_control"), "no-store");
	ck_assert_int_eq(bool_of(o, "rotated"), 1);
	ck_assert_int_eq(bool_of(o, "new_access"), 1);

	o = step(arr, "me_after_refresh");
	ck_assert_msg(int_of(o, "status") == 200, "me after refresh:\n%s",
	    report);
	ck_assert_str_eq(str_of(o, "email"), email);

	/* Content-Type: application/json and no body */
	o = step(arr, "logout");
	ck_assert_msg(int_of(o, "status") == 200, "logout:\n%s", report);
	ck_assert_str_eq(str_of(o, "message"), "Logged out");
	ck_assert_int_eq(int_of(o, "revoked_sessions"), 1);

	/* detail from the JSON, WWW-Authenticate through Expose-Headers */
	o = step(arr, "me_after_logout");
	ck_assert_msg(int_of(o, "status") == 401, "me after logout:\n%s",
	    report);
	ck_assert_str_eq(str_of(o, "detail"), "Invalid or expired token");
	ck_assert_str_eq(str_of(o, "content_type"),
	    "application/json; charset=utf-8");
	ck_assert_str_eq(str_of(o, "www_authenticate"),
	    "Bearer error=\"invalid_token\"");

	o = step(arr, "refresh_after_logout");
	ck_assert_msg(int_of(o, "status") == 401, "refresh after logout:\n%s",
	    report);
	ck_assert_str_eq(str_of(o, "detail"), "Invalid refresh token");
	ck_assert_msg(strncmp(str_of(o, "www_authenticate"), "Bearer", 6) ==
	    0, "no WWW-Authenticate readable:\n%s", report);
	json_object_put(arr);
}
END_TEST

/* Without CORS headers the browser hides every answer from the script. */
START_TEST(page_on_an_unlisted_origin_cannot_read_any_answer)
{
	char		 report[8192], origin[ORIGIN_LEN], tag[16];
	json_object	*arr, *o;

	snprintf(tag, sizeof(tag), "%07d",
	    (int)((getpid() + 5000000) % 10000000));
	snprintf(origin, sizeof(origin), "http://127.0.0.1:%d",
	    unlisted.port);
	arr = browse(&unlisted, tag, report, sizeof(report));
	o = step(arr, "origin");	/* the script ran */
	ck_assert_str_eq(str_of(o, "origin"), origin);
	ck_assert_msg(step(arr, "register") == NULL, "the page read the "
	    "answer to register from an unlisted origin:\n%s", report);
	o = step(arr, "error");
	ck_assert_msg(o != NULL, "no fetch error reported:\n%s", report);
	ck_assert_msg(strstr(str_of(o, "error"), "TypeError") != NULL,
	    "not a CORS refusal:\n%s", report);
	json_object_put(arr);
}
END_TEST

/* 1 when the pool answered a preflight (OPTIONS, 204) for path. */
static int
preflighted(const char *path)
{
	char	 line[128];

	snprintf(line, sizeof(line), "OPTIONS %s 204 ", path);
	return stack_log_count(stack, 0, line) > 0;
}

/*
 * Issue 15: the web client's verification and reset walks, step by step
 * as its pages post them, from the listed origin, with the codes that
 * came by mail.
 */
START_TEST(page_walks_the_clients_verification_and_reset_with_mailed_codes)
{
	static const char *const paths[] = { "/auth/send-verification-otp",
	    "/auth/verify-otp", "/auth/forgot-password",
	    "/auth/reset-password" };
	char		 report[8192], tag[16], email[64], query[64], code[7];
	json_object	*arr, *o;
	size_t		 i;

	snprintf(tag, sizeof(tag), "%07d",
	    (int)((getpid() + 2500000) % 10000000));
	snprintf(email, sizeof(email), "mailwalk.%s@example.com", tag);

	/* sign-up: the code is mailed; "resend" at once sends nothing */
	arr = browse_page(&listed, EMAIL_PAGE_PATH, tag, "step=signup",
	    report, sizeof(report));
	ck_assert_msg(step(arr, "error") == NULL, "a fetch failed:\n%s",
	    report);
	ck_assert_str_eq(str_of(step(arr, "origin"), "email"), email);
	o = step(arr, "register");
	ck_assert_msg(int_of(o, "status") == 201, "register:\n%s", report);
	o = step(arr, "resend");
	ck_assert_msg(int_of(o, "status") == 200 && bool_of(o, "ok") == 1,
	    "resend:\n%s", report);
	ck_assert_str_ne(str_of(o, "message"), "");
	/* JSON bodies: preflighted, then read like the others */
	ck_assert_int_eq(int_of(step(arr, "json_send"), "status"), 200);
	o = step(arr, "json_verify");
	ck_assert_int_eq(int_of(o, "status"), 400);
	ck_assert_str_eq(str_of(o, "detail"), "Invalid OTP provided");
	ck_assert_int_eq(int_of(step(arr, "json_forgot"), "status"), 200);
	o = step(arr, "json_reset");
	ck_assert_int_eq(int_of(o, "status"), 400);
	ck_assert_str_ne(str_of(o, "detail"), "");
	json_object_put(arr);
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		ck_assert_msg(preflighted(paths[i]), "no preflight of %s "
		    "reached the API", paths[i]);

	/* /OTPVerifcation with the mailed code, then /ForgotPassword */
	mail_sink_wait_code(&smtp, email, 1, code);
	snprintf(query, sizeof(query), "step=verify&otp=%s", code);
	arr = browse_page(&listed, EMAIL_PAGE_PATH, tag, query, report,
	    sizeof(report));
	ck_assert_msg(step(arr, "error") == NULL, "a fetch failed:\n%s",
	    report);
	o = step(arr, "verify_wrong");
	ck_assert_msg(int_of(o, "status") == 400 && bool_of(o, "ok") == 0,
	    "a wrong code:\n%s", report);
	ck_assert_str_eq(str_of(o, "detail"), "Invalid OTP provided");
	o = step(arr, "verify");
	ck_assert_msg(int_of(o, "status") == 200 && bool_of(o, "ok") == 1,
	    "verify:\n%s", report);
	ck_assert_str_eq(str_of(o, "message"), "Email verified successfully");
	ck_assert_int_eq(bool_of(o, "verified"), 1);
	o = step(arr, "forgot");
	ck_assert_msg(int_of(o, "status") == 200 && bool_of(o, "ok") == 1,
	    "forgot:\n%s", report);
	json_object_put(arr);

	/* /PasswordResetOTP with the mailed reset code, /ResetPassword */
	mail_sink_wait_code(&smtp, email, 2, code);
	snprintf(query, sizeof(query), "step=reset&otp=%s", code);
	arr = browse_page(&listed, EMAIL_PAGE_PATH, tag, query, report,
	    sizeof(report));
	ck_assert_msg(step(arr, "error") == NULL, "a fetch failed:\n%s",
	    report);
	o = step(arr, "reset_otp");
	ck_assert_msg(int_of(o, "status") == 200 && bool_of(o, "ok") == 1,
	    "the reset code:\n%s", report);
	ck_assert_int_eq(bool_of(o, "has_reset_token"), 1);
	o = step(arr, "reset_weak");	/* the 422 list the page maps */
	ck_assert_msg(int_of(o, "status") == 422, "a weak password:\n%s",
	    report);
	ck_assert_str_eq(str_of(o, "detail_field"), "new_password");
	ck_assert_str_ne(str_of(o, "detail_msg"), "");
	o = step(arr, "reset");
	ck_assert_msg(int_of(o, "status") == 200 && bool_of(o, "ok") == 1,
	    "reset:\n%s", report);
	ck_assert_str_eq(str_of(o, "message"),
	    "Password has been successfully reset");
	o = step(arr, "login_old");
	ck_assert_msg(int_of(o, "status") == 401, "the old password:\n%s",
	    report);
	ck_assert_str_eq(str_of(o, "detail"), "Invalid username or password");
	o = step(arr, "login_new");
	ck_assert_msg(int_of(o, "status") == 200 &&
	    bool_of(o, "has_access") == 1, "the new password:\n%s", report);
	json_object_put(arr);
	/* the verification and the reset code: the resend mailed nothing */
	ck_assert_int_eq(mail_sink_count(&smtp, email, NULL, 0), 2);
}
END_TEST

Suite *
suite(void)
{
	Suite	*s = suite_create("browser");
	TCase	*tc = tcase_create("chromium");

	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, TEST_TIMEOUT_S);
	tcase_add_test(tc,
	    page_on_an_allowed_origin_runs_a_whole_session_with_fetch);
	tcase_add_test(tc, page_on_an_unlisted_origin_cannot_read_any_answer);
	tcase_add_test(tc,
	    page_walks_the_clients_verification_and_reset_with_mailed_codes);
	suite_add_tcase(s, tc);
	return s;
}
