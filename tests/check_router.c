/* The route table: exact matches, 404, 405 with Allow. */
#include <string.h>

#include "http/router.h"
#include "runner.h"

static int
noop(struct ctx *ctx)
{
	(void)ctx;
	return 0;
}

static const struct route health[] = {
	{ "GET", "/health", noop },
	{ NULL, NULL, NULL }
};
static const struct route auth[] = {
	{ "POST", "/auth/login", noop },
	{ "GET", "/auth/me", noop },
	{ NULL, NULL, NULL }
};
static const struct route *const test_routes[] = { health, auth, NULL };

START_TEST(a_known_route_is_found)
{
	char			 allow[64];
	const struct route	*r;

	r = route_find(test_routes, "POST", "/auth/login", allow,
	    sizeof(allow));
	ck_assert_ptr_nonnull(r);
	ck_assert_str_eq(r->path, "/auth/login");
}
END_TEST

START_TEST(wrong_method_gets_405_and_allow)
{
	char	 allow[64];

	ck_assert_ptr_null(route_find(test_routes, "DELETE", "/health",
	    allow, sizeof(allow)));
	ck_assert_str_eq(allow, "GET, OPTIONS");
}
END_TEST

START_TEST(unknown_path_gets_404_with_no_allow)
{
	char	 allow[64];

	ck_assert_ptr_null(route_find(test_routes, "GET", "/auth/x", allow,
	    sizeof(allow)));
	ck_assert_str_eq(allow, "");
	ck_assert_ptr_null(route_find(test_routes, "GET", "/health/", allow,
	    sizeof(allow)));
	ck_assert_str_eq(allow, "");
}
END_TEST

START_TEST(paths_match_exactly_and_case_sensitively)
{
	char	 allow[64];

	ck_assert_ptr_null(route_find(test_routes, "GET", "/Health", allow,
	    sizeof(allow)));
	ck_assert_ptr_null(route_find(test_routes, "get", "/health", allow,
	    sizeof(allow)));
	ck_assert_str_eq(allow, "GET, OPTIONS");
}
END_TEST

START_TEST(the_service_routes_are_all_registered)
{
	char	 allow[64];

	ck_assert_ptr_nonnull(route_find(route_tables, "GET", "/health",
	    allow, sizeof(allow)));
	ck_assert_ptr_nonnull(route_find(route_tables, "GET",
	    "/api/redis-test", allow, sizeof(allow)));
	ck_assert_ptr_nonnull(route_find(route_tables, "POST",
	    "/auth/register", allow, sizeof(allow)));
	ck_assert_ptr_nonnull(route_find(route_tables, "POST",
	    "/auth/refresh", allow, sizeof(allow)));
	ck_assert_ptr_nonnull(route_find(route_tables, "POST",
	    "/auth/logout", allow, sizeof(allow)));
	ck_assert_ptr_null(route_find(route_tables, "POST", "/auth/me",
	    allow, sizeof(allow)));
	ck_assert_str_eq(allow, "GET, OPTIONS");
}
END_TEST

Suite *
suite(void)
{
	Suite	*s = suite_create("router");
	TCase	*tc = tcase_create("match");

	tcase_add_test(tc, a_known_route_is_found);
	tcase_add_test(tc, wrong_method_gets_405_and_allow);
	tcase_add_test(tc, unknown_path_gets_404_with_no_allow);
	tcase_add_test(tc, paths_match_exactly_and_case_sensitively);
	tcase_add_test(tc, the_service_routes_are_all_registered);
	suite_add_tcase(s, tc);
	return s;
}
