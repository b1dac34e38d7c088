/* Each test program defines suite(); tests/runner.c runs it. */
#ifndef MOCKPIE_RUNNER_H
#define MOCKPIE_RUNNER_H

#include <check.h>

Suite	*suite(void);

#endif
