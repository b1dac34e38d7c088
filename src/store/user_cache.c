/*
 * User rows by id, remembered per worker for a few seconds (user_cache.h).
 * An entry keeps the row's strings one after another, NUL-terminated; a
 * hit copies them into the request's arena, so nothing a handler holds
 * points into the table.  Rows whose strings do not fit are not cached.
 * One table per process, made afresh after fork, like token_cache.c.
 */
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/arena.h"
#include "lib/self.h"
#include "store/user_cache.h"
#include "store/users.h"

#define USER_STRINGS	7	/* names, username, email, phone, gender, stamp */

struct entry {
	unsigned long	 gen;		/* cache_gen when filled */
	long long	 id;		/* 0: free */
	long long	 until_ms;
	time_t		 created_at, updated_at;
	size_t		 len;
	char		 data[USER_CACHE_ROW_MAX];
};

static struct entry	 cache[USER_CACHE_SLOTS];
static pid_t		 cache_owner;
static unsigned long	 cache_gen;	/* an entry of another is free */

static long long
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct entry *
slot_of(long long id)
{
	/* a child starts empty by generation: no page of it touched */
	if (cache_owner != self_pid()) {
		cache_gen++;
		cache_owner = self_pid();
	}
	return &cache[(unsigned long long)id % USER_CACHE_SLOTS];
}

static const char **
field(struct user *u, int i)
{
	switch (i) {
	case 0: return &u->first_name;
	case 1: return &u->last_name;
	case 2: return &u->username;
	case 3: return &u->email;
	case 4: return &u->phone_number;
	case 5: return &u->gender;
	default: return &u->session_stamp;
	}
}

static void
store(struct entry *e, const struct user *u, long long until_ms)
{
	size_t		 len = 0, n;
	const char	*s;
	int		 i;

	e->id = 0;
	for (i = 0; i < USER_STRINGS; i++) {
		s = *field((struct user *)u, i);
		n = s != NULL ? strlen(s) : 0;
		if (s == NULL || len + n + 1 > sizeof(e->data))
			return;			/* too big: not cached */
		memcpy(e->data + len, s, n + 1);
		len += n + 1;
	}
	e->len = len;
	e->created_at = u->created_at;
	e->updated_at = u->updated_at;
	e->until_ms = until_ms;
	e->gen = cache_gen;
	e->id = u->id;
}

static void
load(const struct entry *e, struct arena *arena, struct user *u)
{
	char	*p = arena_alloc(arena, e->len);
	int	 i;

	memcpy(p, e->data, e->len);
	memset(u, 0, sizeof(*u));
	u->id = e->id;
	for (i = 0; i < USER_STRINGS; i++) {
		*field(u, i) = p;
		p += strlen(p) + 1;
	}
	u->created_at = e->created_at;
	u->updated_at = e->updated_at;
}

/*
 * users_find_by_id(), answered from memory when this worker read the row
 * less than ttl seconds ago (ttl 0: always the store).  Same results.
 */
int
user_cache_find(struct users *users, long long id, long ttl,
    struct arena *arena, struct user *u)
{
	struct entry	*e;
	long long	 now;
	int		 found;

	if (ttl <= 0 || id <= 0)
		return users_find_by_id(users, id, arena, u);
	e = slot_of(id);
	now = now_ms();
	if (e->id == id && e->gen == cache_gen && now < e->until_ms) {
		load(e, arena, u);
		return 1;
	}
	if ((found = users_find_by_id(users, id, arena, u)) == 1)
		store(e, u, now + ttl * 1000);
	return found;
}

/* This worker changed the row: the next read goes to the store. */
void
user_cache_forget(long long id)
{
	struct entry	*e = slot_of(id);

	if (e->id == id)
		e->id = 0;
}
