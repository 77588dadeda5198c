/*
 * The children the app started itself: the reaper never takes their exit
 * status. Lock-free, so fork wrappers, wait wrappers, signal handlers and
 * the reaper thread can all use it at once.
 */
#ifndef INITSAFE_CHILDREN_H
#define INITSAFE_CHILDREN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define CHILDREN_SLOTS 2048

/*
 * A child is recorded with the clock tick (CLOCK_BOOTTIME, 1/100 s, the
 * unit of /proc/PID/stat's start time) read after fork returned: the real
 * child started no later; a recycled pid started after the child died.
 */
uint32_t children_now_tick(void);

/* Returns false when the set is full (the child then goes untracked). */
bool children_add(pid_t pid, uint32_t tick);

/* The app waited for pid: forget it. True when it was there. */
bool children_remove(pid_t pid);

/*
 * Does the app own the process pid that started at start_tick (from
 * /proc)? A stale entry (the pid was reused) is dropped and reported as
 * not owned. start_tick 0 means unknown: then any entry counts.
 */
bool children_owns(pid_t pid, uint64_t start_tick);

/* How many children are recorded (for tests and logs). */
int children_count(void);

/*
 * A spawn is under way: until it ends, a zombie the set does not know may
 * be the new child, not yet recorded.
 */
void children_spawn_begin(void);
void children_spawn_end(void);
bool children_spawn_in_flight(void);

/* Forgets everything (after fork, in the child; in tests). */
void children_reset(void);

#endif
