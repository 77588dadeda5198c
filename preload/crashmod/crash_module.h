/* The interface between the preload and libinitsafe-crash.so. */
#ifndef INITSAFE_CRASH_MODULE_H
#define INITSAFE_CRASH_MODULE_H

#include <stdint.h>

/* One frame: its index, instruction pointer, and function name + offset when known. */
typedef void (*crash_frame_fn)(void *ctx, int index, uintptr_t ip, const char *name,
			       uintptr_t offset);

typedef int (*crash_walk_fn)(void *ucontext, crash_frame_fn frame, void *ctx);

#define CRASH_MODULE_FILE "libinitsafe-crash.so"

/* Exported by the module (looked up with dlsym). */
int initsafe_crash_walk(void *ucontext, crash_frame_fn frame, void *ctx);

#endif
