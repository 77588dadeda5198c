/*
 * The crash report's backtrace, with libunwind. Built as its own module
 * (libinitsafe-crash.so), loaded RTLD_LOCAL only by the child an active
 * PID 1 forks when it crashes (see preload/crash.c): libunwind.so.8
 * exports _Unwind_* unversioned and would otherwise take over C++
 * exceptions in every process of the container.
 */
#define UNW_LOCAL_ONLY
#include <libunwind.h>
#include <stdint.h>
#include <string.h>
#include <ucontext.h>

#include "crash_module.h"

#define MAX_FRAMES 64

/* Calls frame() for each frame from the faulting one outward; returns the count. */
__attribute__((visibility("default"))) int
initsafe_crash_walk(void *ucontext, crash_frame_fn frame, void *ctx)
{
	unw_cursor_t cursor;
	int count = 0;
	if (unw_init_local2(&cursor, (unw_context_t *)ucontext, UNW_INIT_SIGNAL_FRAME) != 0)
		return 0;
	do {
		unw_word_t ip = 0, offset = 0;
		char name[128];
		if (unw_get_reg(&cursor, UNW_REG_IP, &ip) != 0 || ip == 0)
			break;
		if (unw_get_proc_name(&cursor, name, sizeof name, &offset) != 0)
			name[0] = '\0';
		frame(ctx, count, (uintptr_t)ip, name[0] ? name : NULL, (uintptr_t)offset);
		count++;
	} while (count < MAX_FRAMES && unw_step(&cursor) > 0);
	return count;
}
