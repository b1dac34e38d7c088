/* The per-request arena: alignment, growth, reset, deferred cleanups. */
#include <stdint.h>
#include <string.h>

#include "lib/arena.h"
#include "runner.h"

static int	 cleanup_order[4];
static int	 ncleanups;

static void
record(void *arg)
{
	cleanup_order[ncleanups++] = *(int *)arg;
}

START_TEST(allocations_are_aligned_and_distinct)
{
	struct arena	*a = arena_new(1024);
	char		*p = arena_alloc(a, 3), *q = arena_alloc(a, 5);

	ck_assert_uint_eq((uintptr_t)p % 16, 0);
	ck_assert_uint_eq((uintptr_t)q % 16, 0);
	ck_assert_ptr_ne(p, q);
	memset(p, 'x', 3);
	memset(q, 'y', 5);
	ck_assert_int_eq(p[2], 'x');
	arena_free(a);
}
END_TEST

START_TEST(large_allocations_beyond_a_chunk_work)
{
	struct arena	*a = arena_new(1024);
	char		*big = arena_alloc(a, 100000), *small;

	memset(big, 1, 100000);
	small = arena_alloc(a, 10);
	memset(small, 2, 10);
	ck_assert_int_eq(big[99999], 1);
	arena_reset(a);
	big = arena_alloc(a, 200000);	/* oversized chunks are not kept */
	memset(big, 3, 200000);
	arena_free(a);
}
END_TEST

START_TEST(reset_reuses_memory)
{
	struct arena	*a = arena_new(4096);
	void		*first = arena_alloc(a, 100);

	arena_reset(a);
	ck_assert_ptr_eq(arena_alloc(a, 100), first);
	arena_free(a);
}
END_TEST

START_TEST(cleanups_run_newest_first_at_reset)
{
	struct arena	*a = arena_new(1024);
	int		 one = 1, two = 2, three = 3;

	ncleanups = 0;
	arena_defer(a, record, &one);
	arena_defer(a, record, &two);
	arena_defer(a, record, &three);
	ck_assert_int_eq(ncleanups, 0);
	arena_reset(a);
	ck_assert_int_eq(ncleanups, 3);
	ck_assert_int_eq(cleanup_order[0], 3);
	ck_assert_int_eq(cleanup_order[2], 1);
	arena_reset(a);			/* each runs once */
	ck_assert_int_eq(ncleanups, 3);
	arena_free(a);
}
END_TEST

START_TEST(strings_are_copied_and_formatted)
{
	struct arena	*a = arena_new(1024);

	ck_assert_str_eq(arena_strdup(a, "hello"), "hello");
	ck_assert_str_eq(arena_strndup(a, "hello", 2), "he");
	ck_assert_str_eq(arena_printf(a, "%s-%d", "id", 42), "id-42");
	arena_free(a);
}
END_TEST

START_TEST(many_small_allocations_span_chunks)
{
	struct arena	*a = arena_new(1024);
	int		*v[1000];
	int		 i;

	for (i = 0; i < 1000; i++) {
		v[i] = arena_alloc(a, sizeof(int) * 8);
		*v[i] = i;
	}
	for (i = 0; i < 1000; i++)
		ck_assert_int_eq(*v[i], i);
	arena_free(a);
}
END_TEST

Suite *
suite(void)
{
	Suite	*s = suite_create("arena");
	TCase	*tc = tcase_create("alloc");

	tcase_add_test(tc, allocations_are_aligned_and_distinct);
	tcase_add_test(tc, large_allocations_beyond_a_chunk_work);
	tcase_add_test(tc, reset_reuses_memory);
	tcase_add_test(tc, cleanups_run_newest_first_at_reset);
	tcase_add_test(tc, strings_are_copied_and_formatted);
	tcase_add_test(tc, many_small_allocations_span_chunks);
	suite_add_tcase(s, tc);
	return s;
}
