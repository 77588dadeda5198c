/* Forwarding, grace, and the exit that follows. */
#ifndef INITSAFE_SHUTDOWN_H
#define INITSAFE_SHUTDOWN_H

#include <stdbool.h>

/*
 * The default action of a managed signal the app left at SIG_DFL: forward
 * it (or its rewrite) to the other processes, wait up to the grace while
 * reaping, SIGKILL the rest, exit 128+sig. Runs once; a later call returns
 * at once. Async-signal context.
 */
void shutdown_on_signal(int sig);

/* INITSAFE_FORWARD=always: pass sig on to the others, no waiting. */
void shutdown_forward(int sig);

/* Sends sig to the others: all of the namespace as PID 1, else descendants. */
void shutdown_signal_others(int sig);

/*
 * Waits until no other process is left or grace_ms has passed, reaping
 * children as they exit; then SIGKILLs whatever remains and waits for it.
 * Returns the number of processes that had to be killed.
 */
int shutdown_wait_then_kill(unsigned grace_ms);

/*
 * The active process is leaving on its own (exit, return from main, _exit)
 * with exit_code: send TERM (or its rewrite) to the others, wait up to the
 * grace while reaping, SIGKILL the rest. Returns at once when alone, when
 * INITSAFE_DRAIN is off, in any other process, or when a shutdown ran.
 */
void shutdown_drain(int exit_code);

/* True once a shutdown has begun (signal or drain). */
bool shutdown_started(void);

/* Claims the one shutdown; false when another already runs. */
bool shutdown_claim(void);

#endif
