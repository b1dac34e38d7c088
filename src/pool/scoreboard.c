/*
 * The scoreboard lives in an anonymous shared mapping made by the master
 * before it forks.  A worker writes only its own slot; the master reads
 * them all.  Torn reads of the request description are harmless: it is
 * only logged.
 */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "lib/log.h"
#include "pool/scoreboard.h"

/* The shared scoreboard, all slots free; exits on failure. */
struct scoreboard *
scoreboard_new(void)
{
	struct scoreboard	*sb;

	sb = mmap(NULL, sizeof(*sb), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sb == MAP_FAILED)
		log_fatal("scoreboard: mmap");
	return sb;		/* zero-filled: every slot SLOT_FREE */
}

void
scoreboard_free(struct scoreboard *sb)
{
	if (sb != NULL)
		munmap(sb, sizeof(*sb));
}

long long
scoreboard_now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Copies src into dst of size bytes, cut to fit, NUL-terminated. */
static void
copy_cut(char *dst, const char *src, size_t size)
{
	if (memccpy(dst, src, '\0', size) == NULL)
		dst[size - 1] = '\0';
}

/* Marks the slot busy with a request from now on (once per request). */
void
scoreboard_busy(struct slot *s, const char *id, const char *method,
    const char *path)
{
	copy_cut(s->request_id, id, sizeof(s->request_id));
	copy_cut(s->method, method, sizeof(s->method));
	copy_cut(s->path, path, sizeof(s->path));
	s->busy_since_ms = scoreboard_now_ms();
	__atomic_store_n(&s->state, SLOT_BUSY, __ATOMIC_RELEASE);
}

void
scoreboard_idle(struct slot *s)
{
	s->requests++;
	__atomic_store_n(&s->state, SLOT_IDLE, __ATOMIC_RELEASE);
}

/* The name of an exit cause in logs, /status and metrics. */
const char *
scoreboard_exit_name(enum exit_cause c)
{
	static const char *const names[EXIT_CAUSES] = {
		"recycled", "stopped", "timeout", "crashed", "failed"
	};

	return c < EXIT_CAUSES ? names[c] : "unknown";
}
