/*
 * The reaper's idle child. With no child at all, waitid() fails at once
 * with ECHILD, and the next orphan arrives silently (re-parented) and dies
 * with only a SIGCHLD to say so. A SIGCHLD handler would wake the reaper,
 * but it would also make the app's epoll_wait, poll and nanosleep return
 * EINTR where the app left SIGCHLD at SIG_DFL. So while PID 1 has no other
 * child, the reaper keeps one of its own: a clone sharing our memory and fd
 * table, named initsafe-idle, that blocks every signal and sleeps. Its exit
 * signal is 0, so it never sends SIGCHLD and wait()/waitpid(-1) in the app
 * never see it (only __WALL does); the reaper's waitid(__WALL) then blocks
 * and wakes when any child exits.
 */
#ifndef INITSAFE_SENTINEL_H
#define INITSAFE_SENTINEL_H

#include <stdbool.h>
#include <sys/types.h>

/* Starts it if it is not running; false when it cannot (or may not) run. */
bool sentinel_ensure(void);

/* Its pid, 0 when none. */
pid_t sentinel_pid(void);

/* It exited (the reaper reaped it). */
void sentinel_gone(pid_t pid);

/* For good, before a shutdown counts what is left: kill it and wait. */
void sentinel_stop(void);

#endif
