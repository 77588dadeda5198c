/*
 * The dispositions the app sees, and the one dispatcher the kernel sees.
 *
 * For each managed signal the table holds what the app last asked for;
 * the kernel holds initsafe's dispatcher (or SIG_IGN when the app ignores
 * the signal, so the kernel discards it and exec'd children inherit it).
 * Signals that are not managed never touch the table.
 */
#ifndef INITSAFE_SIGTABLE_H
#define INITSAFE_SIGTABLE_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "config.h"

/* What the app asked for, as the kernel would report it back. */
struct app_action {
	uintptr_t handler;  /* SIG_DFL, SIG_IGN or the app's function */
	int flags;
	uint64_t mask;      /* signals 1..64, bit (sig - 1) */
	uintptr_t restorer;
};

/* Reads the kernel's current actions and installs the dispatcher. */
void sigtable_init(sigbits_t managed);

bool sigtable_manages(int sig);

/* sigaction() for a managed signal in the active process. */
int sigtable_sigaction(int sig, const struct sigaction *act, struct sigaction *oact);

/* Async-signal-safe snapshot of the app's action for sig. */
void sigtable_read(int sig, struct app_action *out);

/*
 * SA_RESETHAND fired for the handler delivered: it becomes SIG_DFL, unless
 * the app set another action meanwhile. Async-signal-safe.
 */
void sigtable_reset_handler(int sig, uintptr_t delivered);

/*
 * While armed, a SIGCHLD the app leaves at SIG_DFL still reaches the
 * dispatcher (the reaper's wake-up when it has no child to wait on).
 */
void sigtable_set_chld_hook(bool armed);

/*
 * In a forked child, which initsafe leaves alone: give the kernel the app's
 * own actions back and unlock slots a writer held at fork time.
 */
void sigtable_restore_kernel(void);

/* The app's action as a struct sigaction (8 bytes of mask, like glibc). */
void sigtable_to_sigaction(const struct app_action *app, struct sigaction *sa);

#endif
