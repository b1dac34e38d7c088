/*
 * A worker's memory of user rows it read by id (/auth/me, /auth/verify,
 * refresh, logout), for user_cache_ttl seconds: a browser asking /auth/me
 * again and again then costs no SQLite read.  What mockpie writes itself
 * is seen at once (registration makes a new id, a re-hash is forgotten
 * here); a row changed behind mockpie's back (another backend sharing the
 * table, a session stamp changed by hand) is seen within the TTL.
 */
#ifndef MOCKPIE_USER_CACHE_H
#define MOCKPIE_USER_CACHE_H

struct arena;
struct user;
struct users;

#define USER_CACHE_SLOTS	256	/* direct-mapped by id, per worker */
#define USER_CACHE_ROW_MAX	2048	/* bytes of a row's strings cached */

int	 user_cache_find(struct users *, long long, long, struct arena *,
	    struct user *);
void	 user_cache_forget(long long);

#endif
