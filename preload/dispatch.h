/* The handler initsafe installs in the kernel for every managed signal. */
#ifndef INITSAFE_DISPATCH_H
#define INITSAFE_DISPATCH_H

#include <signal.h>

/* Async-signal context. */
void dispatch_signal(int sig, siginfo_t *info, void *ucontext);

#endif
