#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>

#include "dispatch.h"
#include "real.h"
#include "sigtable.h"

/* x86_64: glibc always sets it, with its own __restore_rt. */
#ifndef SA_RESTORER
#define SA_RESTORER 0x04000000
#endif

/* Flags the kernel keeps and reports back (others it clears, 5.11+). */
#define KERNEL_SA_FLAGS (SA_NOCLDSTOP | SA_NOCLDWAIT | SA_SIGINFO | SA_ONSTACK | \
			 SA_RESTART | SA_NODEFER | SA_RESETHAND | SA_RESTORER | 0x800)
#define SIGBITS_UNBLOCKABLE (SIGBIT(SIGKILL) | SIGBIT(SIGSTOP))

/*
 * One slot per signal, a sequence lock: a writer makes seq odd, writes,
 * makes it even again. Writers run with every signal blocked, so a handler
 * never interrupts a writer on its own thread and a reader that finds seq
 * odd only waits for another thread. sigaction() is async-signal-safe and
 * may race with itself, hence no mutex.
 */
struct slot {
	atomic_uint seq;
	_Atomic uintptr_t handler;
	atomic_int flags;
	_Atomic uint64_t mask;
	_Atomic uintptr_t restorer;
};

static struct slot slots[CONFIG_MAX_SIG + 1];
static sigbits_t managed_sigs;
static atomic_bool chld_hook_armed;
/* glibc's __restore_rt, as its sigaction stores it with SA_RESTORER. */
static _Atomic uintptr_t libc_restorer;

bool sigtable_manages(int sig)
{
	return sig >= 1 && sig <= CONFIG_MAX_SIG && (managed_sigs & SIGBIT(sig));
}

static void block_all(sigset_t *saved)
{
	sigset_t all;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, saved);
}

static void slot_lock(struct slot *s)
{
	for (;;) {
		unsigned seq = atomic_load_explicit(&s->seq, memory_order_relaxed);
		if (!(seq & 1) && atomic_compare_exchange_weak_explicit(
				&s->seq, &seq, seq + 1, memory_order_acquire, memory_order_relaxed))
			return;
		__builtin_ia32_pause();
	}
}

static void slot_unlock(struct slot *s)
{
	atomic_fetch_add_explicit(&s->seq, 1, memory_order_release);
}

static void slot_load(struct slot *s, struct app_action *a)
{
	a->handler = atomic_load_explicit(&s->handler, memory_order_relaxed);
	a->flags = atomic_load_explicit(&s->flags, memory_order_relaxed);
	a->mask = atomic_load_explicit(&s->mask, memory_order_relaxed);
	a->restorer = atomic_load_explicit(&s->restorer, memory_order_relaxed);
}

static void slot_store(struct slot *s, const struct app_action *a)
{
	atomic_store_explicit(&s->handler, a->handler, memory_order_relaxed);
	atomic_store_explicit(&s->flags, a->flags, memory_order_relaxed);
	atomic_store_explicit(&s->mask, a->mask, memory_order_relaxed);
	atomic_store_explicit(&s->restorer, a->restorer, memory_order_relaxed);
}

/* async-signal-safe */
void sigtable_read(int sig, struct app_action *out)
{
	struct slot *s = &slots[sig];
	for (;;) {
		unsigned before = atomic_load_explicit(&s->seq, memory_order_acquire);
		if (before & 1) {
			__builtin_ia32_pause();
			continue;
		}
		slot_load(s, out);
		atomic_thread_fence(memory_order_acquire);
		if (atomic_load_explicit(&s->seq, memory_order_relaxed) == before)
			return;
	}
}

static uint64_t mask_from_sigset(const sigset_t *set)
{
	uint64_t bits;
	memcpy(&bits, set, sizeof bits);
	return bits & ~SIGBITS_UNBLOCKABLE;
}

static void mask_to_sigset(uint64_t bits, sigset_t *set)
{
	memcpy(set, &bits, sizeof bits);
}

static struct app_action app_from_sigaction(const struct sigaction *sa)
{
	struct app_action a = {
		.handler = (uintptr_t)sa->sa_handler,
		.flags = sa->sa_flags & KERNEL_SA_FLAGS,
		.mask = mask_from_sigset(&sa->sa_mask),
		.restorer = (uintptr_t)sa->sa_restorer,
	};
	return a;
}

/* What glibc's sigaction would have stored in the kernel for act. */
static struct app_action app_as_stored(const struct sigaction *act)
{
	struct app_action a = app_from_sigaction(act);
	a.flags |= SA_RESTORER;
	a.restorer = atomic_load_explicit(&libc_restorer, memory_order_relaxed);
	return a;
}

/* Only the 8 bytes the kernel has are written, as glibc does. */
void sigtable_to_sigaction(const struct app_action *app, struct sigaction *sa)
{
	sa->sa_handler = (__sighandler_t)app->handler;
	sa->sa_flags = app->flags;
	sa->sa_restorer = (void (*)(void))app->restorer;
	mask_to_sigset(app->mask, &sa->sa_mask);
}

static void kernel_action_for(int sig, const struct app_action *app, struct sigaction *k)
{
	memset(k, 0, sizeof *k);
	if (app->handler == (uintptr_t)SIG_IGN) {
		k->sa_handler = SIG_IGN;
		k->sa_flags = app->flags & ~SA_RESTORER;
		mask_to_sigset(app->mask, &k->sa_mask);
		return;
	}
	if (app->handler == (uintptr_t)SIG_DFL) {
		bool chld = sig == SIGCHLD;
		if (chld && (!atomic_load(&chld_hook_armed) || (app->flags & SA_NOCLDWAIT))) {
			k->sa_handler = SIG_DFL;
			k->sa_flags = app->flags & ~SA_RESTORER;
			return;
		}
		k->sa_sigaction = dispatch_signal;
		k->sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK;
		if (chld)
			k->sa_flags |= SA_NOCLDSTOP;
		else
			sigfillset(&k->sa_mask);  /* the default action runs alone */
		return;
	}
	/* Go's runtime aborts on a handler without SA_ONSTACK. */
	k->sa_sigaction = dispatch_signal;
	k->sa_flags = (app->flags & ~(SA_RESETHAND | SA_RESTORER)) | SA_SIGINFO | SA_ONSTACK;
	mask_to_sigset(app->mask, &k->sa_mask);
}

static int install_kernel(int sig, const struct app_action *app)
{
	struct sigaction k;
	kernel_action_for(sig, app, &k);
	return real_sigaction(sig, &k, NULL);
}

static void learn_libc_restorer(int sig)
{
	struct sigaction now;
	if (real_sigaction(sig, NULL, &now) == 0 && (now.sa_flags & SA_RESTORER))
		atomic_store(&libc_restorer, (uintptr_t)now.sa_restorer);
}

void sigtable_init(sigbits_t managed)
{
	managed_sigs = managed;
	for (int sig = 1; sig <= CONFIG_MAX_SIG; sig++) {
		if (!sigtable_manages(sig))
			continue;
		struct sigaction kernel_had;
		if (real_sigaction(sig, NULL, &kernel_had) != 0)
			continue;
		struct app_action app = app_from_sigaction(&kernel_had);
		slot_store(&slots[sig], &app);
		if (install_kernel(sig, &app) == 0 && !atomic_load(&libc_restorer))
			learn_libc_restorer(sig);
	}
}

int sigtable_sigaction(int sig, const struct sigaction *act, struct sigaction *oact)
{
	sigset_t saved;
	struct slot *s = &slots[sig];
	struct app_action old, new;
	int rc = 0;

	block_all(&saved);
	slot_lock(s);
	slot_load(s, &old);
	if (act) {
		new = app_as_stored(act);
		rc = install_kernel(sig, &new);
		if (rc == 0)
			slot_store(s, &new);
	}
	slot_unlock(s);
	int saved_errno = errno;
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
	errno = saved_errno;
	if (rc == 0 && oact)
		sigtable_to_sigaction(&old, oact);
	return rc;
}

/*
 * The kernel only replaces the handler; flags and mask stay. Another thread
 * may have set a new action since this delivery began: that one is kept,
 * as the kernel's reset is atomic with the delivery. Async-signal-safe.
 */
void sigtable_reset_handler(int sig, uintptr_t delivered)
{
	sigset_t saved;
	struct slot *s = &slots[sig];
	struct app_action app;

	block_all(&saved);
	slot_lock(s);
	slot_load(s, &app);
	if (app.handler == delivered) {
		app.handler = (uintptr_t)SIG_DFL;
		if (install_kernel(sig, &app) == 0)
			slot_store(s, &app);
	}
	slot_unlock(s);
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
}

void sigtable_set_chld_hook(bool armed)
{
	sigset_t saved;
	struct slot *s = &slots[SIGCHLD];
	struct app_action app;

	if (!sigtable_manages(SIGCHLD) || atomic_load(&chld_hook_armed) == armed)
		return;
	block_all(&saved);
	slot_lock(s);
	atomic_store(&chld_hook_armed, armed);
	slot_load(s, &app);
	install_kernel(SIGCHLD, &app);
	slot_unlock(s);
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
}

void sigtable_restore_kernel(void)
{
	for (int sig = 1; sig <= CONFIG_MAX_SIG; sig++) {
		if (!sigtable_manages(sig))
			continue;
		struct slot *s = &slots[sig];
		/* A writer in another thread at fork time does not exist here. */
		unsigned seq = atomic_load(&s->seq);
		if (seq & 1)
			atomic_store(&s->seq, seq + 1);
		struct app_action app;
		struct sigaction k;
		slot_load(s, &app);
		sigtable_to_sigaction(&app, &k);
		k.sa_flags &= ~SA_RESTORER;
		real_sigaction(sig, &k, NULL);
	}
	atomic_store(&chld_hook_armed, false);
}
