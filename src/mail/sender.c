/*
 * The mail sender's loop (sender.h).  It owns its Redis connection (the
 * queue read blocks for up to SENDER_BLOCK_MS, so its command timeout is
 * longer than the workers'), the templates and the SMTP password, read
 * once at start.  What it sends never reaches the log: without an SMTP
 * URL the log gets the purpose, the masked address and the subject.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <sodium.h>

#include "lib/dynlib.h"
#include "lib/log.h"
#include "mail/mailq.h"
#include "mail/sender.h"
#include "redis/rconn.h"

#define TEMPLATE_MAX		8192	/* a template file, bytes */
#define SUBJECT_MAX		256
#define MESSAGE_MAX		(TEMPLATE_MAX * 2 + 2048)
#define PASSWORD_MAX		512
#define CONSUMER_MAX		128
#define NAP_MS			100	/* while Redis is away */
#define MASKED_MAX		(MAILQ_ADDR_MAX + 8)

/*
 * libcurl is loaded by the sender alone, and only with an smtp_url
 * (lib/dynlib.h): the master and the workers, which never send mail,
 * map neither it nor its TLS, LDAP and SSH libraries.
 */
#define CURL_FUNCTIONS(X)						\
	X(global_init, curl_global_init)				\
	X(global_cleanup, curl_global_cleanup)				\
	X(easy_init, curl_easy_init)					\
	X(easy_setopt, curl_easy_setopt)				\
	X(easy_perform, curl_easy_perform)				\
	X(easy_strerror, curl_easy_strerror)				\
	X(easy_cleanup, curl_easy_cleanup)				\
	X(slist_append, curl_slist_append)				\
	X(slist_free_all, curl_slist_free_all)

static struct curl_api {
	CURL_FUNCTIONS(DYNLIB_MEMBER)
}			 libcurl;

static int
libcurl_load(void)
{
	static const char *const names[] = { CURL_FUNCTIONS(DYNLIB_NAME) };
	char			 err[256];

	if (dynlib_load("libcurl.so.4", "libcurl4", names,
	    sizeof(names) / sizeof(names[0]), &libcurl, sizeof(libcurl),
	    err, sizeof(err)) == -1) {
		log_errorx("mail sender: %s", err);
		return -1;
	}
	if (libcurl.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		log_errorx("mail sender: curl_global_init failed");
		return -1;
	}
	return 0;
}

struct template {
	char	 subject[SUBJECT_MAX];
	char	 body[TEMPLATE_MAX];
};

static const char *const mail_purposes[] = { "verify", "reset" };
#define NPURPOSES	(sizeof(mail_purposes) / sizeof(mail_purposes[0]))

struct sender {
	const struct mail_sender_config	*cfg;
	struct mail_stats		*stats;
	struct template			 tpl[NPURPOSES];
	char				 password[PASSWORD_MAX];
	char				 from_addr[MAILQ_ADDR_MAX];
	char				 consumer[CONSUMER_MAX];
};

struct upload {
	const char	*data;
	size_t		 len, off;
};

static long long
wall_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A line with no control character (a header must not be split). */
static int
clean_line(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

/*
 * <dir>/<purpose>.txt: "Subject: ..." on the first line, a blank line,
 * the body.  0, or -1 with the reason in err.
 */
static int
template_load(const char *dir, const char *purpose, struct template *t,
    char *err, size_t errlen)
{
	char		 path[1024], buf[TEMPLATE_MAX + 1], *nl, *body;
	ssize_t		 n;
	int		 fd;

	snprintf(path, sizeof(path), "%s/%s.txt", dir, purpose);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "mail template %s: %s", path,
		    strerror(errno));
		return -1;
	}
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n < 0 || (size_t)n > TEMPLATE_MAX) {
		snprintf(err, errlen, "mail template %s: %s", path, n < 0 ?
		    strerror(errno) : "too large");
		return -1;
	}
	buf[n] = '\0';
	if (memchr(buf, '\0', (size_t)n) != NULL ||
	    strncmp(buf, "Subject:", 8) != 0 ||
	    (nl = strchr(buf, '\n')) == NULL) {
		snprintf(err, errlen, "mail template %s: expected \"Subject: "
		    "...\", a blank line and the body", path);
		return -1;
	}
	*nl = '\0';
	if (nl > buf && nl[-1] == '\r')
		nl[-1] = '\0';
	for (body = buf + 8; *body == ' '; body++)
		;
	if (strlen(body) >= sizeof(t->subject) || !clean_line(body)) {
		snprintf(err, errlen, "mail template %s: bad subject", path);
		return -1;
	}
	memcpy(t->subject, body, strlen(body) + 1);
	body = nl + 1;
	if (*body == '\r')
		body++;
	if (*body == '\n')
		body++;
	memcpy(t->body, body, strlen(body) + 1);
	if (strstr(t->body, "{{code}}") == NULL) {
		snprintf(err, errlen, "mail template %s: the body has no "
		    "{{code}}", path);
		return -1;
	}
	return 0;
}

/* Every purpose's template under dir: 0, or -1 with the reason in err. */
int
mail_templates_check(const char *dir, char *err, size_t errlen)
{
	struct template	 t;
	size_t		 i;

	for (i = 0; i < NPURPOSES; i++)
		if (template_load(dir, mail_purposes[i], &t, err, errlen) ==
		    -1)
			return -1;
	return 0;
}

/*
 * in with {{code}} and {{minutes}} filled and line ends as CRLF, into
 * out: 0, or -1 when it does not fit.
 */
static int
render(const char *in, const char *code, long minutes, char *out,
    size_t outlen)
{
	char	 min[24];
	size_t	 o = 0, n;

	snprintf(min, sizeof(min), "%ld", minutes);
	while (*in != '\0') {
		const char	*put = NULL;

		if (strncmp(in, "{{code}}", 8) == 0) {
			put = code;
			in += 8;
		} else if (strncmp(in, "{{minutes}}", 11) == 0) {
			put = min;
			in += 11;
		}
		if (put != NULL) {
			if ((n = strlen(put)) + 1 > outlen - o)
				return -1;
			memcpy(out + o, put, n);
			o += n;
			continue;
		}
		if (*in == '\n' && (o == 0 || out[o - 1] != '\r')) {
			if (o + 3 > outlen)
				return -1;
			out[o++] = '\r';
		}
		if (o + 2 > outlen)
			return -1;
		out[o++] = *in++;
	}
	out[o] = '\0';
	return 0;
}

/* a***@example.com: enough to follow a mail in the log, not the user */
static void
mask_address(const char *to, char out[MASKED_MAX])
{
	const char	*at = strrchr(to, '@');

	if (at == NULL || at == to) {
		snprintf(out, MASKED_MAX, "***");
		return;
	}
	snprintf(out, MASKED_MAX, "%.1s***%s", to, at);
}

static size_t
upload_read(char *buf, size_t size, size_t nmemb, void *arg)
{
	struct upload	*u = arg;
	size_t		 n = size * nmemb;

	if (n > u->len - u->off)
		n = u->len - u->off;
	memcpy(buf, u->data + u->off, n);
	u->off += n;
	return n;
}

/* The message as sent: headers, blank line, body; 0 or -1 (too long). */
static int
compose(const struct sender *s, const struct template *t,
    const struct mail_msg *m, char *out, size_t outlen)
{
	char		 body[TEMPLATE_MAX * 2], date[64], mid[40];
	unsigned char	 rnd[12];
	struct tm	 tm;
	time_t		 now = time(NULL);
	int		 n;

	if (render(t->body, m->code, (m->ttl + 59) / 60, body,
	    sizeof(body)) == -1)
		return -1;
	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2hex(mid, sizeof(mid), rnd, sizeof(rnd));
	n = snprintf(out, outlen, "Date: %s\r\nFrom: %s\r\nTo: <%s>\r\n"
	    "Subject: %s\r\nMessage-ID: <%s@mockpie>\r\nMIME-Version: 1.0\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: 8bit\r\n\r\n%s", date,
	    s->cfg->mail_from, m->to, t->subject, mid, body);
	sodium_memzero(body, sizeof(body));
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

/*
 * curl's detail for the failures of connection, TLS and AUTH (which
 * certificate, which reply); not for the others, whose replies can
 * quote the recipient's address.
 */
static int
detail_safe(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_USE_SSL_FAILED:
	case CURLE_LOGIN_DENIED:
		return 1;
	default:
		return 0;
	}
}

/* One message through SMTP: 0 sent, -1 not (logged, without content). */
static int
smtp_send(const struct sender *s, const struct mail_msg *m, const char *msg)
{
	const struct mail_sender_config	*cfg = s->cfg;
	struct curl_slist		*rcpt = NULL;
	struct upload			 up;
	char				 to[MAILQ_ADDR_MAX + 2];
	char				 from[MAILQ_ADDR_MAX + 2];
	char				 masked[MASKED_MAX];
	char				 why[CURL_ERROR_SIZE], *p;
	CURL				*c;
	CURLcode			 rc;

	if ((c = libcurl.easy_init()) == NULL) {
		log_warnx("mail: curl_easy_init failed");
		return -1;
	}
	why[0] = '\0';
	snprintf(to, sizeof(to), "<%s>", m->to);
	snprintf(from, sizeof(from), "<%s>", s->from_addr);
	if ((rcpt = libcurl.slist_append(NULL, to)) == NULL)
		log_fatal("curl_slist_append");
	up.data = msg;
	up.len = strlen(msg);
	up.off = 0;
	libcurl.easy_setopt(c, CURLOPT_URL, cfg->smtp_url);
	libcurl.easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	libcurl.easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	libcurl.easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
	    cfg->smtp_timeout_ms);
	libcurl.easy_setopt(c, CURLOPT_TIMEOUT_MS, cfg->smtp_timeout_ms);
	libcurl.easy_setopt(c, CURLOPT_USE_SSL, cfg->smtp_starttls ?
	    (long)CURLUSESSL_ALL : (long)CURLUSESSL_NONE);
	/* the server's certificate and name, always (curl's defaults, kept) */
	libcurl.easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	libcurl.easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (cfg->smtp_ca_file != NULL && cfg->smtp_ca_file[0] != '\0') {
		/* that bundle alone, not also the system's directory */
		libcurl.easy_setopt(c, CURLOPT_CAINFO, cfg->smtp_ca_file);
		libcurl.easy_setopt(c, CURLOPT_CAPATH, (char *)NULL);
	}
	libcurl.easy_setopt(c, CURLOPT_ERRORBUFFER, why);
	if (cfg->smtp_user[0] != '\0') {
		libcurl.easy_setopt(c, CURLOPT_USERNAME, cfg->smtp_user);
		libcurl.easy_setopt(c, CURLOPT_PASSWORD, s->password);
	}
	libcurl.easy_setopt(c, CURLOPT_MAIL_FROM, from);
	libcurl.easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
	libcurl.easy_setopt(c, CURLOPT_READFUNCTION, upload_read);
	libcurl.easy_setopt(c, CURLOPT_READDATA, &up);
	libcurl.easy_setopt(c, CURLOPT_INFILESIZE_LARGE,
	    (curl_off_t)up.len);
	libcurl.easy_setopt(c, CURLOPT_UPLOAD, 1L);
	rc = libcurl.easy_perform(c);
	why[sizeof(why) - 1] = '\0';
	for (p = why; *p != '\0'; p++)	/* one log line */
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	mask_address(m->to, masked);
	if (!detail_safe(rc))
		why[0] = '\0';
	if (rc != CURLE_OK)
		log_warnx("mail %s to %s: not sent: %s%s%s", m->purpose,
		    masked, libcurl.easy_strerror(rc),
		    why[0] != '\0' ? ": " : "", why);
	else
		log_info("mail %s to %s: sent", m->purpose, masked);
	libcurl.slist_free_all(rcpt);
	libcurl.easy_cleanup(c);
	return rc == CURLE_OK ? 0 : -1;
}

static const struct template *
template_of(const struct sender *s, const char *purpose)
{
	size_t	 i;

	for (i = 0; i < NPURPOSES; i++)
		if (strcmp(mail_purposes[i], purpose) == 0)
			return &s->tpl[i];
	return NULL;
}

/*
 * Sends (or logs) one message: 0 done, -1 to be retried, -2 to be
 * dead-lettered at once (it can never be sent).
 */
static int
deliver(struct sender *s, const struct mail_msg *m)
{
	const struct template	*t;
	char			*msg;
	char			 masked[MASKED_MAX];
	int			 rc;

	if ((t = template_of(s, m->purpose)) == NULL || !clean_line(m->to)) {
		log_warnx("mail: message of unknown purpose or bad address");
		return -2;
	}
	mask_address(m->to, masked);
	if (s->cfg->smtp_url[0] == '\0') {
		log_info("mail %s to %s: not sent (no smtp_url set): "
		    "\"%s\", code ******", m->purpose, masked, t->subject);
		return 0;
	}
	if ((msg = malloc(MESSAGE_MAX)) == NULL)
		log_fatal("malloc");
	if (compose(s, t, m, msg, MESSAGE_MAX) == -1) {
		log_warnx("mail %s to %s: message too long", m->purpose,
		    masked);
		free(msg);
		return -2;
	}
	rc = smtp_send(s, m, msg);
	sodium_memzero(msg, MESSAGE_MAX);
	free(msg);
	return rc;
}

static void
handle(struct sender *s, struct rconn *rc, struct mailq_entry *e)
{
	const struct mailq_config	*q = &s->cfg->q;
	int				 d;

	d = e->sealed_ok ? deliver(s, &e->msg) : -2;
	if (!e->sealed_ok)
		log_warnx("mail: entry %s cannot be opened (another JWT "
		    "secret?): dead-lettered", e->id);
	if (d == 0) {
		s->stats->sent++;
		s->stats->last_sent_ms = wall_ms();
		if (mailq_done(rc, q, e) == -1)
			s->stats->redis_failures++;
		return;
	}
	if (d == -2)
		e->sealed_ok = 0;	/* failed() dead-letters it */
	switch (mailq_failed(rc, q, e, wall_ms())) {
	case 1:
		s->stats->retried++;
		break;
	case 2:
		s->stats->dead++;
		log_warnx("mail entry %s: given up after %ld tries: "
		    "dead-lettered", e->id, e->tries + 1);
		break;
	case -1:
		s->stats->redis_failures++;
		break;
	default:
		break;
	}
}

/* The address of "Name <addr>" or of a bare addr. */
static int
from_address(const char *from, char out[MAILQ_ADDR_MAX])
{
	const char	*lt = strrchr(from, '<'), *gt;
	size_t		 len;

	if (lt != NULL && (gt = strchr(lt, '>')) != NULL) {
		len = (size_t)(gt - lt - 1);
		from = lt + 1;
	} else
		len = strlen(from);
	if (len == 0 || len >= MAILQ_ADDR_MAX)
		return -1;
	memcpy(out, from, len);
	out[len] = '\0';
	return clean_line(out) ? 0 : -1;
}

static int
read_password(const char *path, char out[PASSWORD_MAX])
{
	ssize_t	 n;
	int	 fd;

	out[0] = '\0';
	if (path == NULL || *path == '\0')
		return 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		log_warn("mail: smtp_password_file %s", path);
		return -1;
	}
	n = read(fd, out, PASSWORD_MAX - 1);
	close(fd);
	if (n < 0) {
		log_warn("mail: smtp_password_file %s", path);
		return -1;
	}
	while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r'))
		n--;
	out[n] = '\0';
	return 0;
}

static void
nap(void)
{
	(void)poll(NULL, 0, NAP_MS);
}

/*
 * Runs until *stop: claims, sends, acknowledges.  0 when stopped, -1
 * when it cannot start (templates, password file or mail_from: logged).
 * Messages it had claimed and not finished when stopped are claimed by
 * another sender after claim_idle_ms.
 */
int
mail_sender_loop(const struct mail_sender_config *cfg,
    volatile sig_atomic_t *stop, struct mail_stats *stats)
{
	struct mailq_entry	 batch[MAILQ_BATCH];
	struct sender		*s;
	struct rconn		*rc, *h;
	char			 err[512], host[64];
	int			 n, i, need_group = 1, ret = -1;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		log_fatal("calloc");
	s->cfg = cfg;
	s->stats = stats;
	for (i = 0; i < (int)NPURPOSES; i++)
		if (template_load(cfg->templates_dir, mail_purposes[i],
		    &s->tpl[i], err, sizeof(err)) == -1) {
			log_errorx("mail sender: %s", err);
			goto out;
		}
	if (from_address(cfg->mail_from, s->from_addr) == -1) {
		log_errorx("mail sender: mail_from has no address");
		goto out;
	}
	if (read_password(cfg->smtp_password_file, s->password) == -1)
		goto out;
	if (gethostname(host, sizeof(host)) == -1)
		snprintf(host, sizeof(host), "host");
	host[sizeof(host) - 1] = '\0';
	snprintf(s->consumer, sizeof(s->consumer), "%s:%ld", host,
	    (long)getpid());
	if (cfg->smtp_url[0] != '\0' && libcurl_load() == -1)
		goto out;
	if ((rc = rconn_new(&cfg->redis)) == NULL)
		log_fatal("rconn_new");
	if (cfg->smtp_url[0] == '\0')
		log_info("mail sender: no smtp_url: mail is logged, code "
		    "masked, not sent");
	else
		log_info("mail sender: sending through SMTP");
	while (!*stop) {
		if ((h = rconn_get(rc)) == NULL) {
			nap();
			continue;
		}
		if (need_group) {
			if (mailq_group(h, &cfg->q) == -1) {
				stats->redis_failures++;
				nap();
				continue;
			}
			need_group = 0;
		}
		(void)mailq_promote(h, &cfg->q, wall_ms());
		if ((n = mailq_claim(h, &cfg->q, s->consumer, SENDER_BLOCK_MS,
		    batch, MAILQ_BATCH)) == -1) {
			stats->redis_failures++;
			need_group = 1;
			nap();
			continue;
		}
		for (i = 0; i < n; i++) {
			if (!*stop)
				handle(s, h, &batch[i]);
			mailq_entry_free(&batch[i]);
		}
	}
	rconn_free(rc);
	if (cfg->smtp_url[0] != '\0')
		libcurl.global_cleanup();
	ret = 0;
out:
	sodium_memzero(s, sizeof(*s));
	free(s);
	return ret;
}
