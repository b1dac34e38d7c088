/* placeholder */
#include "runner.h"
Suite *
suite(void)
{
	return suite_create("it_sentinel");
}
