/*
 * The mail queue in Redis (issue 15): a stream with a consumer group, so
 * several senders on several hosts share the work and each message goes
 * to one of them; a sorted set of messages waiting to be retried, a
 * dead-letter list, and counters.  Requests only enqueue; the sender
 * (sender.h) claims, sends, acknowledges or reschedules.  Messages are
 * sealed (XSalsa20-Poly1305) under a key derived from the JWT secret, so
 * the codes they carry are not readable in Redis, its AOF or RDB.
 */
#ifndef MOCKPIE_MAILQ_H
#define MOCKPIE_MAILQ_H

#include <stddef.h>

struct rconn;

#define MAILQ_KEY_BYTES		32
#define MAILQ_ADDR_MAX		320	/* an address as stored, and NUL */
#define MAILQ_CODE_MAX		16
#define MAILQ_PURPOSE_MAX	16
#define MAILQ_ID_MAX		48	/* a stream entry id */
#define MAILQ_BATCH		16	/* entries read per call */

struct mailq_config {
	const char	*prefix;		/* "mockpie:" */
	unsigned char	 key[MAILQ_KEY_BYTES];	/* sealing key */
	long		 max_tries;		/* then dead-lettered */
	long		 retry_base;		/* s: base * 2^(try-1) */
	long		 claim_idle_ms;		/* a dead sender's entries */
};

/* What a message says; the sender renders it from a template. */
struct mail_msg {
	char	 purpose[MAILQ_PURPOSE_MAX];	/* "verify", "reset" */
	char	 to[MAILQ_ADDR_MAX];
	char	 code[MAILQ_CODE_MAX];
	long	 ttl;				/* the code's, seconds */
};

/* An entry claimed by a sender. */
struct mailq_entry {
	char		 id[MAILQ_ID_MAX];
	long		 tries;		/* failed sends so far */
	int		 sealed_ok;	/* 0: unreadable (another secret) */
	struct mail_msg	 msg;
	char		*blob;		/* the sealed message, malloc'd */
	size_t		 bloblen;
};

/* /status: the queue as Redis holds it now. */
struct mailq_depth {
	long long	 queued;	/* in the stream: new or being sent */
	long long	 pending;	/* claimed by a sender, not yet done */
	long long	 retrying;	/* waiting for their next try */
	long long	 dead;		/* in the dead-letter list */
	long long	 sent;		/* counters, all senders */
	long long	 retried;
	long long	 dead_total;
};

int	 mailq_enqueue(struct rconn *, const struct mailq_config *,
	    const struct mail_msg *);
int	 mailq_group(struct rconn *, const struct mailq_config *);
int	 mailq_promote(struct rconn *, const struct mailq_config *,
	    long long);
int	 mailq_claim(struct rconn *, const struct mailq_config *,
	    const char *, int, struct mailq_entry *, int);
int	 mailq_done(struct rconn *, const struct mailq_config *,
	    const struct mailq_entry *);
int	 mailq_failed(struct rconn *, const struct mailq_config *,
	    const struct mailq_entry *, long long);
void	 mailq_entry_free(struct mailq_entry *);
int	 mailq_depth(struct rconn *, const struct mailq_config *,
	    struct mailq_depth *);

#endif
