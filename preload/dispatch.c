#include <errno.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "crash.h"
#include "dispatch.h"
#include "real.h"
#include "reaper.h"
#include "shutdown.h"
#include "sigtable.h"
#include "state.h"

typedef void (*plain_handler)(int);
typedef void (*info_handler)(int, siginfo_t *, void *);

static void call_app(const struct app_action *app, int sig, siginfo_t *info, void *uc)
{
	if (app->flags & SA_SIGINFO)
		((info_handler)app->handler)(sig, info, uc);
	else
		((plain_handler)app->handler)(sig);
}

/* The kernel's default action for sig, here and now. Async-signal-safe. */
void dispatch_default_in_kernel(int sig)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	sigset_t only;
	real_sigaction(sig, &dfl, NULL);
	sigemptyset(&only);
	sigaddset(&only, sig);
	pthread_sigmask(SIG_UNBLOCK, &only, NULL);
	raise(sig);
}

/*
 * A forked child made behind initsafe's back (raw clone, glibc-internal
 * fork) or a vfork child that shares PID 1's memory: behave as the kernel
 * would with the app's action, and write nothing shared.
 */
static void deliver_inert(int sig, siginfo_t *info, void *uc, const struct app_action *app)
{
	if (app->handler == (uintptr_t)SIG_IGN)
		return;
	if (app->handler == (uintptr_t)SIG_DFL) {
		dispatch_default_in_kernel(sig);
		return;
	}
	if (app->flags & SA_RESETHAND) {
		struct sigaction dfl = { .sa_handler = SIG_DFL };
		real_sigaction(sig, &dfl, NULL);
	}
	call_app(app, sig, info, uc);
}

static void default_action(int sig, siginfo_t *info, void *uc)
{
	if (sig == SIGCHLD)
		return;
	if (crash_is_crash_signal(sig))
		crash_on_signal(sig, info, uc);
	else if (sigbits_has(g_cfg.signals, sig))
		shutdown_on_signal(sig);
}

/*
 * An app handler that needs nothing more from initsafe: no SA_RESETHAND to
 * emulate, nothing to forward. It runs the same in PID 1 and in a vfork
 * child sharing PID 1's memory, so the getpid() that tells them apart (a
 * system call per signal) is skipped. Waking the reaper is harmless there.
 */
static bool is_plain_handler(int sig, const struct app_action *app)
{
	bool forwards = g_cfg.forward == FORWARD_ALWAYS && sigbits_has(g_cfg.signals, sig);
	return app->handler != (uintptr_t)SIG_DFL && app->handler != (uintptr_t)SIG_IGN &&
	       !(app->flags & SA_RESETHAND) && !forwards;
}

/* async-signal context */
void dispatch_signal(int sig, siginfo_t *info, void *uc)
{
	int saved_errno = errno;
	struct app_action app;

	sigtable_read(sig, &app);
	if (is_plain_handler(sig, &app)) {
		if (sig == SIGCHLD)
			reaper_wake();
		errno = saved_errno;
		call_app(&app, sig, info, uc);
		return;
	}
	if (!in_active_process()) {
		deliver_inert(sig, info, uc, &app);
		errno = saved_errno;
		return;
	}
	if (sig == SIGCHLD)
		reaper_wake();
	if (app.handler == (uintptr_t)SIG_IGN) {
		errno = saved_errno;
		return;
	}
	if (app.handler == (uintptr_t)SIG_DFL) {
		default_action(sig, info, uc);
		errno = saved_errno;
		return;
	}
	if (g_cfg.forward == FORWARD_ALWAYS && sigbits_has(g_cfg.signals, sig))
		shutdown_forward(sig);
	if (app.flags & SA_RESETHAND)
		sigtable_reset_handler(sig, app.handler);
	errno = saved_errno;
	call_app(&app, sig, info, uc);
}

/*
 * PID 1 cannot die of a signal it sends itself (the kernel drops it):
 * it exits 128+sig, what Docker reports for a process killed by sig.
 * Any other process dies of the signal for real.
 */
void dispatch_die_of(int sig)
{
	if (!g_is_pid1)
		dispatch_default_in_kernel(sig);
	for (;;)
		syscall(SYS_exit_group, 128 + sig);
}
