/*
 * The libFuzzer entry points each tests/fuzz/fuzz_*.c defines; libFuzzer
 * calls them under scripts/fuzz, tests/fuzz/replay.c under make check.
 * FUZZ_CHECK states what must hold of an outcome: when it does not, it
 * names the check and aborts, which both report as a crash.
 */
#ifndef MOCKPIE_FUZZ_H
#define MOCKPIE_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define FUZZ_CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: fuzz check failed: %s\n",	\
		    __FILE__, __LINE__, #cond);				\
		abort();						\
	}								\
} while (0)

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#endif
