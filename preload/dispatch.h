/* The handler initsafe installs in the kernel for every managed signal. */
#ifndef INITSAFE_DISPATCH_H
#define INITSAFE_DISPATCH_H

#include <signal.h>

/* Async-signal context. */
void dispatch_signal(int sig, siginfo_t *info, void *ucontext);

/* The kernel's default action for sig, here and now. Async-signal-safe. */
void dispatch_default_in_kernel(int sig);

/* Dies as sig's default action would: 128+sig as PID 1. Async-signal-safe. */
void dispatch_die_of(int sig) __attribute__((noreturn));

#endif
