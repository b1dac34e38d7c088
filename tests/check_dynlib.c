/*
 * Libraries loaded when configured (lib/dynlib.h): the table is filled
 * and callable, and a library or a symbol that is missing gives an error
 * that names it and the Debian package to install, with the table left
 * as it was.
 */
#include <math.h>
#include <string.h>

#include "lib/dynlib.h"
#include "runner.h"

#define LIBM_FUNCTIONS(X)						\
	X(cosine, cos)							\
	X(square_root, sqrt)

struct libm_api {
	LIBM_FUNCTIONS(DYNLIB_MEMBER)
};

static const char *const libm_names[] = { LIBM_FUNCTIONS(DYNLIB_NAME) };

START_TEST(a_library_loads_into_a_table_of_its_own_types)
{
	struct libm_api	 m;
	char		 err[256] = "";

	memset(&m, 0, sizeof(m));
	ck_assert_int_eq(dynlib_load("libm.so.6", "libc6", libm_names, 2, &m,
	    sizeof(m), err, sizeof(err)), 0);
	ck_assert_str_eq(err, "");
	ck_assert(m.cosine(0.0) == 1.0);
	ck_assert(m.square_root(6.25) == 2.5);
	/* a second load of the same library is as good */
	ck_assert_int_eq(dynlib_load("libm.so.6", "libc6", libm_names, 2, &m,
	    sizeof(m), err, sizeof(err)), 0);
	ck_assert(m.square_root(9.0) == 3.0);
}
END_TEST

START_TEST(a_missing_library_names_itself_and_its_package)
{
	struct libm_api	 m;
	char		 err[256] = "";

	memset(&m, 0, sizeof(m));
	ck_assert_int_eq(dynlib_load("libmockpie-absent.so.9",
	    "libmockpie-absent9", libm_names, 2, &m, sizeof(m), err,
	    sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "libmockpie-absent.so.9"));
	ck_assert_ptr_nonnull(strstr(err, "install the Debian package "
	    "libmockpie-absent9"));
	ck_assert_ptr_null(m.cosine);
}
END_TEST

START_TEST(a_missing_symbol_names_itself_and_leaves_the_table)
{
	static const char *const names[] = { "cos", "mockpie_no_such_fn" };
	struct libm_api	 m;
	char		 err[256] = "";

	memset(&m, 0, sizeof(m));
	ck_assert_int_eq(dynlib_load("libm.so.6", "libc6", names, 2, &m,
	    sizeof(m), err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "no mockpie_no_such_fn"));
	ck_assert_ptr_nonnull(strstr(err, "libc6"));
	ck_assert_ptr_null(m.cosine);	/* not half filled */
	ck_assert_ptr_null(m.square_root);
}
END_TEST

START_TEST(a_table_of_another_size_is_refused)
{
	struct libm_api	 m;
	char		 err[256] = "";

	memset(&m, 0, sizeof(m));
	ck_assert_int_eq(dynlib_load("libm.so.6", "libc6", libm_names, 1, &m,
	    sizeof(m), err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "do not fit"));
	ck_assert_ptr_null(m.cosine);
}
END_TEST

Suite *
suite(void)
{
	Suite	*s = suite_create("dynlib");
	TCase	*tc = tcase_create("load");

	tcase_add_test(tc, a_library_loads_into_a_table_of_its_own_types);
	tcase_add_test(tc, a_missing_library_names_itself_and_its_package);
	tcase_add_test(tc, a_missing_symbol_names_itself_and_leaves_the_table);
	tcase_add_test(tc, a_table_of_another_size_is_refused);
	suite_add_tcase(s, tc);
	return s;
}
