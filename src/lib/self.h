/*
 * This process's pid without a system call per look: the caches and
 * handles that must not be used across fork compare it on every request.
 */
#ifndef MOCKPIE_SELF_H
#define MOCKPIE_SELF_H

#include <sys/types.h>

pid_t	 self_pid(void);

#endif
