/*
 * Exit drain: when the active process leaves on its own, the kernel would
 * SIGKILL everything else in the namespace mid-write. exit() and a return
 * from main reach an on_exit handler (glibc's __libc_start_main calls its
 * own exit, which no wrapper sees); _exit and _Exit are interposed.
 */
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "export.h"
#include "interpose_exit.h"
#include "real.h"
#include "shutdown.h"

static void drain_on_exit(int exit_code, void *unused)
{
	(void)unused;
	shutdown_drain(exit_code);
}

void exit_drain_install(void)
{
	on_exit(drain_on_exit, NULL);
}

static void leave(int exit_code) __attribute__((noreturn));
static void leave(int exit_code)
{
	shutdown_drain(exit_code);
	if (!real._exit)
		real_resolve();
	if (real._exit)
		real._exit(exit_code);
	for (;;)
		syscall(SYS_exit_group, exit_code);
}

EXPORT void _exit(int exit_code)
{
	leave(exit_code);
}

EXPORT void _Exit(int exit_code)
{
	leave(exit_code);
}
