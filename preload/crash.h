/* Crash reports for the active process (see crash.c). */
#ifndef INITSAFE_CRASH_H
#define INITSAFE_CRASH_H

#include <signal.h>
#include <stdbool.h>

#include "config.h"

/* SEGV, BUS, ILL, FPE, ABRT. */
bool crash_is_crash_signal(int sig);
sigbits_t crash_signals(void);

/* Finds the unwinder module, sets an alternate stack. Constructor only. */
void crash_init(void);

/*
 * A crash signal the app leaves at SIG_DFL: report, then die as the
 * default action would. Returns when the kernel is to finish the job (a
 * fault re-executes with SIG_DFL) or the signal is to be dropped as the
 * kernel drops it for PID 1. Async-signal context.
 */
void crash_on_signal(int sig, siginfo_t *info, void *ucontext);

#endif
