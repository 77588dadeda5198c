/*
 * Every exported glibc function that changes a signal disposition. glibc
 * calls its own __sigaction internally, so interposing sigaction alone
 * would let signal(), sigset() and friends reach the kernel unseen: each
 * is rebuilt here on the interposed sigaction, with glibc's semantics.
 */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>

#include "export.h"
#include "real.h"
#include "sigtable.h"
#include "state.h"

/* glibc's internal cancellation and setxid signals. */
#define SIGCANCEL 32
#define SIGSETXID 33

/* 4.2BSD's sigvec, which glibc keeps as a compat symbol only. */
struct bsd_sigvec {
	void (*sv_handler)(int);
	int sv_mask;
	int sv_flags;
};
#define SV_ONSTACK   1
#define SV_INTERRUPT 2
#define SV_RESETHAND 4

EXPORT int __sigaction(int sig, const struct sigaction *act, struct sigaction *oact);
EXPORT __sighandler_t bsd_signal(int sig, __sighandler_t handler);
EXPORT __sighandler_t __sysv_signal(int sig, __sighandler_t handler);
EXPORT int sigvec(int sig, const struct bsd_sigvec *vec, struct bsd_sigvec *ovec);

/* Signals siginterrupt() asked to interrupt system calls (glibc's _sigintr). */
static _Atomic sigbits_t interrupting;

static bool is_valid_signal(int sig)
{
	return sig >= 1 && sig < NSIG && sig != SIGCANCEL && sig != SIGSETXID;
}

EXPORT int sigaction(int sig, const struct sigaction *act, struct sigaction *oact)
{
	if (!sigtable_manages(sig) || !in_active_process())
		return real_sigaction(sig, act, oact);
	return sigtable_sigaction(sig, act, oact);
}

EXPORT int __sigaction(int sig, const struct sigaction *act, struct sigaction *oact)
{
	return sigaction(sig, act, oact);
}

static __sighandler_t install(int sig, __sighandler_t handler, int flags, const sigset_t *mask)
{
	struct sigaction act = { .sa_handler = handler, .sa_flags = flags };
	struct sigaction old;
	if (mask)
		act.sa_mask = *mask;
	else
		sigemptyset(&act.sa_mask);
	if (sigaction(sig, &act, &old) < 0)
		return SIG_ERR;
	return old.sa_handler;
}

/* BSD semantics: restart, and block the signal in its own handler. */
EXPORT __sighandler_t signal(int sig, __sighandler_t handler)
{
	if (handler == SIG_ERR || !is_valid_signal(sig)) {
		errno = EINVAL;
		return SIG_ERR;
	}
	sigset_t self;
	sigemptyset(&self);
	sigaddset(&self, sig);
	bool interrupts = sig <= CONFIG_MAX_SIG && (atomic_load(&interrupting) & SIGBIT(sig));
	return install(sig, handler, interrupts ? 0 : SA_RESTART, &self);
}

EXPORT __sighandler_t bsd_signal(int sig, __sighandler_t handler)
{
	return signal(sig, handler);
}

EXPORT __sighandler_t ssignal(int sig, __sighandler_t handler)
{
	return signal(sig, handler);
}

/* System V semantics: one-shot, not blocked in its own handler, no restart. */
EXPORT __sighandler_t __sysv_signal(int sig, __sighandler_t handler)
{
	if (handler == SIG_ERR || sig < 1 || sig >= NSIG) {
		errno = EINVAL;
		return SIG_ERR;
	}
	return install(sig, handler, SA_RESETHAND | SA_NODEFER | SA_INTERRUPT, NULL);
}

EXPORT __sighandler_t sysv_signal(int sig, __sighandler_t handler)
{
	return __sysv_signal(sig, handler);
}

EXPORT int sigignore(int sig)
{
	struct sigaction act = { .sa_handler = SIG_IGN };
	sigemptyset(&act.sa_mask);
	return sigaction(sig, &act, NULL);
}

EXPORT int siginterrupt(int sig, int interrupt)
{
	struct sigaction act;
	if (sigaction(sig, NULL, &act) < 0)
		return -1;
	if (interrupt) {
		atomic_fetch_or(&interrupting, SIGBIT(sig));
		act.sa_flags &= ~SA_RESTART;
	} else {
		atomic_fetch_and(&interrupting, ~SIGBIT(sig));
		act.sa_flags |= SA_RESTART;
	}
	return sigaction(sig, &act, NULL) < 0 ? -1 : 0;
}

static __sighandler_t hold(int sig, const sigset_t *only)
{
	sigset_t was;
	struct sigaction old;
	if (sigprocmask(SIG_BLOCK, only, &was) < 0)
		return SIG_ERR;
	if (sigismember(&was, sig))
		return SIG_HOLD;
	if (sigaction(sig, NULL, &old) < 0)
		return SIG_ERR;
	return old.sa_handler;
}

EXPORT __sighandler_t sigset(int sig, __sighandler_t disp)
{
	sigset_t only, was;
	sigemptyset(&only);
	if (sigaddset(&only, sig) < 0)
		return SIG_ERR;
	if (disp == SIG_HOLD)
		return hold(sig, &only);
	__sighandler_t old = install(sig, disp, 0, NULL);
	if (old == SIG_ERR)
		return SIG_ERR;
	if (sigprocmask(SIG_UNBLOCK, &only, &was) < 0)
		return SIG_ERR;
	return sigismember(&was, sig) ? SIG_HOLD : old;
}

static sigset_t sigset_from_bsd_mask(int mask)
{
	sigset_t set;
	sigemptyset(&set);
	for (int sig = 1; sig <= 32; sig++)
		if ((unsigned)mask & (1u << (sig - 1)))
			sigaddset(&set, sig);
	return set;
}

static int bsd_mask_from_sigset(const sigset_t *set)
{
	unsigned mask = 0;
	for (int sig = 1; sig <= 32; sig++)
		if (sigismember(set, sig) == 1)
			mask |= 1u << (sig - 1);
	return (int)mask;
}

EXPORT int sigvec(int sig, const struct bsd_sigvec *vec, struct bsd_sigvec *ovec)
{
	struct sigaction act, old;
	if (vec) {
		act.sa_handler = vec->sv_handler;
		act.sa_mask = sigset_from_bsd_mask(vec->sv_mask);
		act.sa_flags = 0;
		if (vec->sv_flags & SV_ONSTACK)
			act.sa_flags |= SA_ONSTACK;
		if (!(vec->sv_flags & SV_INTERRUPT))
			act.sa_flags |= SA_RESTART;
		if (vec->sv_flags & SV_RESETHAND)
			act.sa_flags |= SA_RESETHAND;
	}
	if (sigaction(sig, vec ? &act : NULL, &old) < 0)
		return -1;
	if (ovec) {
		ovec->sv_handler = old.sa_handler;
		ovec->sv_mask = bsd_mask_from_sigset(&old.sa_mask);
		ovec->sv_flags = (old.sa_flags & SA_ONSTACK ? SV_ONSTACK : 0) |
				 (old.sa_flags & SA_RESTART ? 0 : SV_INTERRUPT) |
				 (old.sa_flags & SA_RESETHAND ? SV_RESETHAND : 0);
	}
	return 0;
}
