/* What the constructor decided: read-only once it has run. */
#ifndef INITSAFE_STATE_H
#define INITSAFE_STATE_H

#include <stdbool.h>
#include <sys/types.h>
#include <unistd.h>

#include "config.h"

extern struct config g_cfg;

/*
 * The pid of the process initsafe manages, 0 when inert. Children made by
 * fork() see it reset to 0 by the atfork handler; a vfork() child or a raw
 * clone shares or copies memory without running that handler, so anything
 * that may run there compares with the real pid instead.
 */
extern pid_t g_active_pid;
extern bool g_is_pid1;

/* True only in the process initsafe manages (one getpid syscall). */
static inline bool in_active_process(void)
{
	return g_active_pid != 0 && getpid() == g_active_pid;
}

#endif
