// sources: preload/sigtable.c preload/real.c
/*
 * Unit tests for preload/sigtable.c: the app's view of its dispositions and
 * the dispatcher the kernel holds. dispatch_signal is a stub that records.
 * The tests share the process's signal state: they run in order, and
 * sigtable_restore_kernel, which changes it for good, runs last.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "dispatch.h"
#include "sigtable.h"

#ifndef SA_RESTORER
#define SA_RESTORER 0x04000000
#endif

#define MANAGED (SIGBIT(SIGUSR1) | SIGBIT(SIGUSR2) | SIGBIT(SIGCHLD) | SIGBIT(SIGTERM))
/* An unmanaged signal whose default action is harmless: glibc's reference. */
#define REF_SIG SIGWINCH

/* ---- the stub dispatcher ---- */

static atomic_int stub_calls;
static atomic_int stub_sig;
static atomic_int stub_signo;
static atomic_int stub_code;
static atomic_int stub_pid;
static _Atomic uint64_t stub_blocked;  /* the thread's mask inside the handler */

void dispatch_signal(int sig, siginfo_t *info, void *uc)
{
	sigset_t now;
	uint64_t bits;

	(void)uc;
	pthread_sigmask(SIG_BLOCK, NULL, &now);
	memcpy(&bits, &now, sizeof bits);
	atomic_store(&stub_blocked, bits);
	atomic_store(&stub_sig, sig);
	atomic_store(&stub_signo, info ? info->si_signo : -1);
	atomic_store(&stub_code, info ? info->si_code : -1);
	atomic_store(&stub_pid, info ? (int)info->si_pid : -1);
	atomic_fetch_add(&stub_calls, 1);
}

static void stub_clear(void)
{
	atomic_store(&stub_calls, 0);
	atomic_store(&stub_sig, 0);
	atomic_store(&stub_signo, 0);
	atomic_store(&stub_code, 0);
	atomic_store(&stub_pid, 0);
	atomic_store(&stub_blocked, 0);
}

/* ---- the app's handlers (the stub never calls them) ---- */

static atomic_int app_a_calls, app_b_calls, ref_calls;

static void handler_a(int sig)
{
	(void)sig;
	atomic_fetch_add(&app_a_calls, 1);
}

static void handler_b(int sig, siginfo_t *info, void *uc)
{
	(void)sig;
	(void)info;
	(void)uc;
	atomic_fetch_add(&app_b_calls, 1);
}

static _Atomic uint64_t ref_blocked;

static void handler_ref(int sig)
{
	sigset_t now;
	uint64_t bits;

	(void)sig;
	pthread_sigmask(SIG_BLOCK, NULL, &now);
	memcpy(&bits, &now, sizeof bits);
	atomic_store(&ref_blocked, bits);
	atomic_fetch_add(&ref_calls, 1);
}

/* ---- helpers ---- */

static uint64_t bit(int sig)
{
	return (uint64_t)1 << (sig - 1);
}

static uint64_t mask8(const sigset_t *set)
{
	uint64_t bits;
	memcpy(&bits, set, sizeof bits);
	return bits;
}

static sigset_t set_of(uint64_t bits)
{
	sigset_t set;
	sigemptyset(&set);
	for (int sig = 1; sig <= 64; sig++)
		if (bits & bit(sig))
			sigaddset(&set, sig);
	return set;
}

/* The rt_sigaction view: what the kernel really holds. */
struct kernel_sigaction {
	void *handler;
	unsigned long flags;
	void *restorer;
	uint64_t mask;
};

static struct kernel_sigaction kernel_action(int sig)
{
	struct kernel_sigaction k;
	memset(&k, 0x5A, sizeof k);
	assert_int_equal(syscall(SYS_rt_sigaction, sig, NULL, &k, 8), 0);
	return k;
}

/* SIG_DFL, no flags, no mask, no restorer: a pristine action. */
static void kernel_set_pristine(int sig)
{
	struct kernel_sigaction k = { .handler = SIG_DFL };
	assert_int_equal(syscall(SYS_rt_sigaction, sig, &k, NULL, 8), 0);
}

static uintptr_t handler_of(const struct sigaction *sa)
{
	return (uintptr_t)sa->sa_handler;
}

static uintptr_t dispatcher(void)
{
	return (uintptr_t)dispatch_signal;
}

/* glibc's __restore_rt, learnt in the group setup. */
static uintptr_t glibc_restorer;
/* The kernel mask of a SIG_DFL managed signal: everything blockable. */
static uint64_t dfl_dispatch_mask;
/* What glibc reported for SIGUSR2 (SIG_IGN) before sigtable_init. */
static struct sigaction usr2_before_init;

static void assert_kernel(int sig, uintptr_t handler, unsigned long flags, uint64_t mask)
{
	struct kernel_sigaction k = kernel_action(sig);
	assert_int_equal((uintptr_t)k.handler, handler);
	assert_int_equal(k.flags, flags);
	assert_int_equal(k.mask, mask);
	if (flags & SA_RESTORER)
		assert_int_equal((uintptr_t)k.restorer, glibc_restorer);
}

static void assert_app(int sig, uintptr_t handler, int flags, uint64_t mask, uintptr_t restorer)
{
	struct app_action a;
	struct sigaction sa;

	memset(&a, 0x5A, sizeof a);
	sigtable_read(sig, &a);
	assert_int_equal(a.handler, handler);
	assert_int_equal(a.flags, flags);
	assert_int_equal(a.mask, mask);
	assert_int_equal(a.restorer, restorer);

	memset(&sa, 0, sizeof sa);
	assert_int_equal(sigtable_sigaction(sig, NULL, &sa), 0);
	assert_int_equal(handler_of(&sa), handler);
	assert_int_equal(sa.sa_flags, flags);
	assert_int_equal(mask8(&sa.sa_mask), mask);
	assert_int_equal((uintptr_t)sa.sa_restorer, restorer);
}

/* Sets sig through sigtable (the app's sigaction); returns the old action. */
static struct sigaction app_set(int sig, uintptr_t handler, int flags, uint64_t mask)
{
	struct sigaction act, old;
	memset(&act, 0, sizeof act);
	memset(&old, 0, sizeof old);
	act.sa_handler = (__sighandler_t)handler;
	act.sa_flags = flags;
	act.sa_mask = set_of(mask);
	assert_int_equal(sigtable_sigaction(sig, &act, &old), 0);
	return old;
}

/* Sets REF_SIG with plain glibc and reads it back: the reference. */
static struct sigaction glibc_set_and_read(uintptr_t handler, int flags, uint64_t mask)
{
	struct sigaction act, back;
	memset(&act, 0, sizeof act);
	memset(&back, 0, sizeof back);
	act.sa_handler = (__sighandler_t)handler;
	act.sa_flags = flags;
	act.sa_mask = set_of(mask);
	assert_int_equal(sigaction(REF_SIG, &act, NULL), 0);
	assert_int_equal(sigaction(REF_SIG, NULL, &back), 0);
	return back;
}

static void assert_same_as_glibc(int sig, uintptr_t handler, int flags, uint64_t mask)
{
	struct sigaction ref = glibc_set_and_read(handler, flags, mask);
	struct sigaction ours;

	app_set(sig, handler, flags, mask);
	memset(&ours, 0, sizeof ours);
	assert_int_equal(sigtable_sigaction(sig, NULL, &ours), 0);
	assert_int_equal(handler_of(&ours), handler_of(&ref));
	assert_int_equal(ours.sa_flags, ref.sa_flags);
	assert_int_equal(mask8(&ours.sa_mask), mask8(&ref.sa_mask));
	assert_int_equal((uintptr_t)ours.sa_restorer, (uintptr_t)ref.sa_restorer);
	kernel_set_pristine(REF_SIG);
}

/* ---- group setup ---- */

static int group_setup(void **state)
{
	(void)state;
	struct sigaction ign, all;

	kernel_set_pristine(SIGUSR1);
	kernel_set_pristine(SIGTERM);
	kernel_set_pristine(SIGCHLD);
	kernel_set_pristine(REF_SIG);

	/* Inherited SIG_IGN, set by a glibc sigaction before initsafe loads. */
	memset(&ign, 0, sizeof ign);
	ign.sa_handler = SIG_IGN;
	if (sigaction(SIGUSR2, &ign, NULL) != 0 || sigaction(SIGUSR2, NULL, &usr2_before_init) != 0)
		return -1;
	glibc_restorer = (uintptr_t)usr2_before_init.sa_restorer;
	if (glibc_restorer == 0 || !(usr2_before_init.sa_flags & SA_RESTORER))
		return -1;

	sigfillset(&all.sa_mask);
	dfl_dispatch_mask = mask8(&all.sa_mask) & ~(bit(SIGKILL) | bit(SIGSTOP));

	sigtable_init(MANAGED);
	return 0;
}

/* ---- tests ---- */

static void test_initial_app_view_and_kernel(void **state)
{
	(void)state;
	const unsigned long dfl_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK | SA_RESTORER;

	/* The app sees what it had before initsafe. */
	assert_app(SIGUSR1, (uintptr_t)SIG_DFL, 0, 0, 0);
	assert_app(SIGTERM, (uintptr_t)SIG_DFL, 0, 0, 0);
	assert_app(SIGCHLD, (uintptr_t)SIG_DFL, 0, 0, 0);
	assert_app(SIGUSR2, (uintptr_t)SIG_IGN, usr2_before_init.sa_flags,
		   mask8(&usr2_before_init.sa_mask), glibc_restorer);
	assert_int_equal(usr2_before_init.sa_flags, SA_RESTORER);

	/* The kernel holds the dispatcher, or SIG_IGN, or SIG_DFL for SIGCHLD. */
	assert_kernel(SIGUSR1, dispatcher(), dfl_flags, dfl_dispatch_mask);
	assert_kernel(SIGTERM, dispatcher(), dfl_flags, dfl_dispatch_mask);
	assert_kernel(SIGUSR2, (uintptr_t)SIG_IGN, SA_RESTORER, 0);
	assert_kernel(SIGCHLD, (uintptr_t)SIG_DFL, SA_RESTORER, 0);
	assert_true(dfl_dispatch_mask & bit(SIGINT));
	assert_true(dfl_dispatch_mask & bit(SIGUSR1));
	assert_false(dfl_dispatch_mask & bit(SIGKILL));

	/* Unmanaged signals are left alone. */
	assert_kernel(REF_SIG, (uintptr_t)SIG_DFL, 0, 0);
}

static void test_manages(void **state)
{
	(void)state;
	assert_true(sigtable_manages(SIGUSR1));
	assert_true(sigtable_manages(SIGUSR2));
	assert_true(sigtable_manages(SIGCHLD));
	assert_true(sigtable_manages(SIGTERM));
	assert_false(sigtable_manages(SIGINT));
	assert_false(sigtable_manages(SIGWINCH));
	assert_false(sigtable_manages(SIGKILL));
	assert_false(sigtable_manages(64));
	assert_false(sigtable_manages(0));
	assert_false(sigtable_manages(65));
	assert_false(sigtable_manages(-1));
}

static void test_handler_read_back(void **state)
{
	(void)state;
	const int flags = SA_SIGINFO | SA_NODEFER | SA_RESTART;
	struct sigaction act, old, back;

	memset(&act, 0, sizeof act);
	act.sa_sigaction = handler_b;
	act.sa_flags = flags;
	sigemptyset(&act.sa_mask);
	sigaddset(&act.sa_mask, SIGINT);
	sigaddset(&act.sa_mask, SIGHUP);
	sigaddset(&act.sa_mask, SIGKILL);

	memset(&old, 0, sizeof old);
	assert_int_equal(sigtable_sigaction(SIGUSR1, &act, &old), 0);
	assert_int_equal(handler_of(&old), (uintptr_t)SIG_DFL);
	assert_int_equal(old.sa_flags, 0);
	assert_int_equal(mask8(&old.sa_mask), 0);

	memset(&back, 0, sizeof back);
	assert_int_equal(sigtable_sigaction(SIGUSR1, NULL, &back), 0);
	assert_ptr_equal(back.sa_sigaction, handler_b);
	assert_int_equal(back.sa_flags, flags | SA_RESTORER);
	assert_true(sigismember(&back.sa_mask, SIGINT));
	assert_true(sigismember(&back.sa_mask, SIGHUP));
	assert_false(sigismember(&back.sa_mask, SIGKILL));
	assert_int_equal(mask8(&back.sa_mask), bit(SIGINT) | bit(SIGHUP));
	assert_non_null(back.sa_restorer);
	assert_int_equal((uintptr_t)back.sa_restorer, glibc_restorer);

	assert_app(SIGUSR1, (uintptr_t)handler_b, flags | SA_RESTORER, bit(SIGINT) | bit(SIGHUP),
		   glibc_restorer);
	assert_kernel(SIGUSR1, dispatcher(),
		      SA_SIGINFO | SA_ONSTACK | SA_NODEFER | SA_RESTART | SA_RESTORER,
		      bit(SIGINT) | bit(SIGHUP));

	/* glibc on an unmanaged signal, set the same way, is the reference. */
	struct sigaction ref;
	assert_int_equal(sigaction(REF_SIG, &act, NULL), 0);
	memset(&ref, 0, sizeof ref);
	assert_int_equal(sigaction(REF_SIG, NULL, &ref), 0);
	assert_ptr_equal(ref.sa_sigaction, back.sa_sigaction);
	assert_int_equal(ref.sa_flags, back.sa_flags);
	assert_int_equal(mask8(&ref.sa_mask), mask8(&back.sa_mask));
	assert_ptr_equal(ref.sa_restorer, back.sa_restorer);
	kernel_set_pristine(REF_SIG);

	/* Setting again returns the previous action in full. */
	old = app_set(SIGUSR1, (uintptr_t)SIG_DFL, 0, 0);
	assert_ptr_equal(old.sa_sigaction, handler_b);
	assert_int_equal(old.sa_flags, flags | SA_RESTORER);
	assert_int_equal(mask8(&old.sa_mask), bit(SIGINT) | bit(SIGHUP));
	assert_int_equal((uintptr_t)old.sa_restorer, glibc_restorer);
	assert_app(SIGUSR1, (uintptr_t)SIG_DFL, SA_RESTORER, 0, glibc_restorer);
	assert_kernel(SIGUSR1, dispatcher(), SA_SIGINFO | SA_RESTART | SA_ONSTACK | SA_RESTORER,
		      dfl_dispatch_mask);
}

/* Flags, masks and dispositions read back exactly as glibc reports them. */
static void test_same_as_glibc(void **state)
{
	(void)state;
	assert_same_as_glibc(SIGUSR1, (uintptr_t)handler_a, 0, 0);
	assert_same_as_glibc(SIGUSR1, (uintptr_t)handler_a, SA_RESTART, bit(SIGINT));
	assert_same_as_glibc(SIGUSR1, (uintptr_t)handler_b, SA_SIGINFO | SA_ONSTACK,
			     bit(SIGKILL) | bit(SIGSTOP) | bit(SIGTERM) | bit(34) | bit(64));
	assert_same_as_glibc(SIGUSR1, (uintptr_t)handler_a, SA_RESETHAND | SA_NODEFER, 0);
	/* Unknown and unsupported bits: the kernel clears them (5.11+). */
	assert_same_as_glibc(SIGUSR1, (uintptr_t)handler_a,
			     SA_RESTART | 0x400 | 0x800 | 0x1000 | SA_INTERRUPT, 0);
	assert_same_as_glibc(SIGUSR1, (uintptr_t)SIG_IGN, SA_RESTART, bit(SIGHUP));
	assert_same_as_glibc(SIGUSR1, (uintptr_t)SIG_DFL, SA_ONSTACK, bit(SIGQUIT));
	assert_same_as_glibc(SIGUSR1, (uintptr_t)SIG_DFL, 0, 0);
}

static void test_oact_writes_eight_mask_bytes(void **state)
{
	(void)state;
	struct sigaction oact, ref;
	const unsigned char *bytes = (const unsigned char *)&oact.sa_mask;

	app_set(SIGUSR1, (uintptr_t)handler_a, SA_RESTART, bit(SIGINT) | bit(64));

	memset(&oact, 0xAA, sizeof oact);
	assert_int_equal(sigtable_sigaction(SIGUSR1, NULL, &oact), 0);
	assert_int_equal(handler_of(&oact), (uintptr_t)handler_a);
	assert_int_equal(oact.sa_flags, SA_RESTART | SA_RESTORER);
	assert_int_equal((uintptr_t)oact.sa_restorer, glibc_restorer);
	assert_int_equal(mask8(&oact.sa_mask), bit(SIGINT) | bit(64));
	for (size_t i = 8; i < sizeof oact.sa_mask; i++)
		assert_int_equal(bytes[i], 0xAA);

	/* Same when act is given too. */
	struct sigaction act;
	memset(&act, 0, sizeof act);
	act.sa_handler = SIG_DFL;
	memset(&oact, 0xAA, sizeof oact);
	assert_int_equal(sigtable_sigaction(SIGUSR1, &act, &oact), 0);
	assert_int_equal(handler_of(&oact), (uintptr_t)handler_a);
	assert_int_equal(mask8(&oact.sa_mask), bit(SIGINT) | bit(64));
	for (size_t i = 8; i < sizeof oact.sa_mask; i++)
		assert_int_equal(bytes[i], 0xAA);

	/*
	 * glibc 2.36 agrees on the 8 bytes the kernel has. Past them it copies
	 * the rest of its own, uninitialised, 128-byte kernel_sigaction mask
	 * (stack leftovers): those bytes carry no signal, so they are not compared.
	 */
	glibc_set_and_read((uintptr_t)handler_a, SA_RESTART, bit(SIGINT) | bit(64));
	memset(&ref, 0xAA, sizeof ref);
	assert_int_equal(sigaction(REF_SIG, NULL, &ref), 0);
	assert_int_equal(mask8(&ref.sa_mask), bit(SIGINT) | bit(64));
	assert_true(sigismember(&ref.sa_mask, 64));
	assert_true(sigismember(&oact.sa_mask, 64));
	assert_int_equal(sigismember(&oact.sa_mask, 65), -1);
	kernel_set_pristine(REF_SIG);
}

static void test_resethand(void **state)
{
	(void)state;
	const int flags = SA_RESETHAND | SA_RESTART;
	const uint64_t mask = bit(SIGQUIT);

	app_set(SIGUSR1, (uintptr_t)handler_a, flags, mask);
	assert_app(SIGUSR1, (uintptr_t)handler_a, flags | SA_RESTORER, mask, glibc_restorer);
	/* The kernel must not reset the dispatcher: initsafe does it. */
	assert_kernel(SIGUSR1, dispatcher(), SA_SIGINFO | SA_ONSTACK | SA_RESTART | SA_RESTORER, mask);

	/* A reset for a handler no longer installed changes nothing. */
	sigtable_reset_handler(SIGUSR1, (uintptr_t)handler_b);
	assert_app(SIGUSR1, (uintptr_t)handler_a, flags | SA_RESTORER, mask, glibc_restorer);

	sigtable_reset_handler(SIGUSR1, (uintptr_t)handler_a);
	assert_app(SIGUSR1, (uintptr_t)SIG_DFL, flags | SA_RESTORER, mask, glibc_restorer);
	assert_kernel(SIGUSR1, dispatcher(), SA_SIGINFO | SA_RESTART | SA_ONSTACK | SA_RESTORER,
		      dfl_dispatch_mask);

	/* The kernel's own SA_RESETHAND, on an unmanaged signal, is the reference. */
	atomic_store(&ref_calls, 0);
	glibc_set_and_read((uintptr_t)handler_ref, flags, mask);
	assert_int_equal(raise(REF_SIG), 0);
	assert_int_equal(atomic_load(&ref_calls), 1);
	/* SA_RESETHAND without SA_NODEFER: the signal is blocked in the handler. */
	assert_int_equal(atomic_load(&ref_blocked), mask | bit(REF_SIG));
	struct sigaction ref, ours;
	memset(&ref, 0, sizeof ref);
	memset(&ours, 0, sizeof ours);
	assert_int_equal(sigaction(REF_SIG, NULL, &ref), 0);
	assert_int_equal(sigtable_sigaction(SIGUSR1, NULL, &ours), 0);
	assert_int_equal(handler_of(&ref), (uintptr_t)SIG_DFL);
	assert_int_equal(handler_of(&ours), handler_of(&ref));
	assert_int_equal(ours.sa_flags, ref.sa_flags);
	assert_int_equal(mask8(&ours.sa_mask), mask8(&ref.sa_mask));
	assert_ptr_equal(ours.sa_restorer, ref.sa_restorer);
	kernel_set_pristine(REF_SIG);

	app_set(SIGUSR1, (uintptr_t)SIG_DFL, 0, 0);
}

static void test_sig_ign(void **state)
{
	(void)state;
	app_set(SIGUSR1, (uintptr_t)SIG_IGN, SA_RESTART, bit(SIGINT));
	assert_app(SIGUSR1, (uintptr_t)SIG_IGN, SA_RESTART | SA_RESTORER, bit(SIGINT), glibc_restorer);
	assert_kernel(SIGUSR1, (uintptr_t)SIG_IGN, SA_RESTART | SA_RESTORER, bit(SIGINT));

	/* An ignored signal never reaches the dispatcher. */
	stub_clear();
	assert_int_equal(raise(SIGUSR1), 0);
	assert_int_equal(atomic_load(&stub_calls), 0);

	struct sigaction old = app_set(SIGUSR1, (uintptr_t)SIG_DFL, 0, 0);
	assert_int_equal(handler_of(&old), (uintptr_t)SIG_IGN);
	assert_int_equal(old.sa_flags, SA_RESTART | SA_RESTORER);
	assert_int_equal(mask8(&old.sa_mask), bit(SIGINT));
	assert_kernel(SIGUSR1, dispatcher(), SA_SIGINFO | SA_RESTART | SA_ONSTACK | SA_RESTORER,
		      dfl_dispatch_mask);
}

static void test_sigchld_hook(void **state)
{
	(void)state;
	const unsigned long hooked = SA_SIGINFO | SA_RESTART | SA_ONSTACK | SA_NOCLDSTOP | SA_RESTORER;

	app_set(SIGCHLD, (uintptr_t)SIG_DFL, 0, 0);
	assert_kernel(SIGCHLD, (uintptr_t)SIG_DFL, SA_RESTORER, 0);

	sigtable_set_chld_hook(true);
	assert_kernel(SIGCHLD, dispatcher(), hooked, 0);
	assert_app(SIGCHLD, (uintptr_t)SIG_DFL, SA_RESTORER, 0, glibc_restorer);
	sigtable_set_chld_hook(true);  /* twice: no change */
	assert_kernel(SIGCHLD, dispatcher(), hooked, 0);

	sigtable_set_chld_hook(false);
	assert_kernel(SIGCHLD, (uintptr_t)SIG_DFL, SA_RESTORER, 0);

	/* Armed while the app sets SIG_DFL again: the hook stays. */
	sigtable_set_chld_hook(true);
	app_set(SIGCHLD, (uintptr_t)SIG_DFL, SA_NOCLDSTOP, 0);
	assert_kernel(SIGCHLD, dispatcher(), hooked, 0);

	/* SA_NOCLDWAIT: the kernel reaps, armed or not. */
	app_set(SIGCHLD, (uintptr_t)SIG_DFL, SA_NOCLDWAIT, 0);
	assert_kernel(SIGCHLD, (uintptr_t)SIG_DFL, SA_NOCLDWAIT | SA_RESTORER, 0);
	assert_app(SIGCHLD, (uintptr_t)SIG_DFL, SA_NOCLDWAIT | SA_RESTORER, 0, glibc_restorer);
	sigtable_set_chld_hook(false);
	assert_kernel(SIGCHLD, (uintptr_t)SIG_DFL, SA_NOCLDWAIT | SA_RESTORER, 0);
	sigtable_set_chld_hook(true);
	assert_kernel(SIGCHLD, (uintptr_t)SIG_DFL, SA_NOCLDWAIT | SA_RESTORER, 0);

	/* SIG_IGN: the kernel's, armed or not. */
	app_set(SIGCHLD, (uintptr_t)SIG_IGN, 0, 0);
	assert_kernel(SIGCHLD, (uintptr_t)SIG_IGN, SA_RESTORER, 0);
	sigtable_set_chld_hook(false);
	assert_kernel(SIGCHLD, (uintptr_t)SIG_IGN, SA_RESTORER, 0);

	/* An app handler: the dispatcher in both states. */
	app_set(SIGCHLD, (uintptr_t)handler_a, SA_RESTART | SA_NOCLDSTOP, bit(SIGINT));
	const unsigned long handled = SA_SIGINFO | SA_ONSTACK | SA_RESTART | SA_NOCLDSTOP | SA_RESTORER;
	assert_kernel(SIGCHLD, dispatcher(), handled, bit(SIGINT));
	sigtable_set_chld_hook(true);
	assert_kernel(SIGCHLD, dispatcher(), handled, bit(SIGINT));
	sigtable_set_chld_hook(false);
	assert_kernel(SIGCHLD, dispatcher(), handled, bit(SIGINT));
	assert_app(SIGCHLD, (uintptr_t)handler_a, SA_RESTART | SA_NOCLDSTOP | SA_RESTORER, bit(SIGINT),
		   glibc_restorer);

	app_set(SIGCHLD, (uintptr_t)SIG_DFL, 0, 0);
	assert_kernel(SIGCHLD, (uintptr_t)SIG_DFL, SA_RESTORER, 0);
}

static void test_delivery(void **state)
{
	(void)state;
	sigset_t none;
	sigemptyset(&none);
	assert_int_equal(pthread_sigmask(SIG_SETMASK, &none, NULL), 0);
	atomic_store(&app_a_calls, 0);
	atomic_store(&app_b_calls, 0);

	/* An app handler: the kernel runs the dispatcher, with the app's mask. */
	app_set(SIGUSR1, (uintptr_t)handler_b, SA_SIGINFO, bit(SIGINT));
	stub_clear();
	assert_int_equal(raise(SIGUSR1), 0);
	assert_int_equal(atomic_load(&stub_calls), 1);
	assert_int_equal(atomic_load(&stub_sig), SIGUSR1);
	assert_int_equal(atomic_load(&stub_signo), SIGUSR1);
	assert_int_equal(atomic_load(&stub_code), SI_TKILL);
	assert_int_equal(atomic_load(&stub_pid), getpid());
	assert_int_equal(atomic_load(&stub_blocked), bit(SIGINT) | bit(SIGUSR1));
	assert_int_equal(atomic_load(&app_b_calls), 0);

	/* SA_NODEFER: the signal itself is not blocked in the handler. */
	app_set(SIGUSR1, (uintptr_t)handler_a, SA_NODEFER, bit(SIGHUP));
	stub_clear();
	assert_int_equal(raise(SIGUSR1), 0);
	assert_int_equal(atomic_load(&stub_calls), 1);
	assert_int_equal(atomic_load(&stub_sig), SIGUSR1);
	assert_int_equal(atomic_load(&stub_blocked), bit(SIGHUP));
	assert_int_equal(atomic_load(&app_a_calls), 0);

	/*
	 * SA_RESETHAND: the kernel keeps the dispatcher for the next one, and
	 * blocks the signal in the handler as the kernel's own SA_RESETHAND does.
	 */
	app_set(SIGUSR1, (uintptr_t)handler_a, SA_RESETHAND, bit(SIGQUIT));
	stub_clear();
	assert_int_equal(raise(SIGUSR1), 0);
	assert_int_equal(atomic_load(&stub_blocked), bit(SIGQUIT) | bit(SIGUSR1));
	assert_int_equal(raise(SIGUSR1), 0);
	assert_int_equal(atomic_load(&stub_calls), 2);

	/* A SIG_DFL managed signal reaches the dispatcher alone. */
	app_set(SIGTERM, (uintptr_t)SIG_DFL, 0, 0);
	stub_clear();
	assert_int_equal(raise(SIGTERM), 0);
	assert_int_equal(atomic_load(&stub_calls), 1);
	assert_int_equal(atomic_load(&stub_sig), SIGTERM);
	assert_int_equal(atomic_load(&stub_signo), SIGTERM);
	assert_int_equal(atomic_load(&stub_blocked), dfl_dispatch_mask);

	app_set(SIGUSR1, (uintptr_t)SIG_DFL, 0, 0);
}

/* ---- concurrency ---- */

enum { WRITERS = 4, READERS = 2, WRITES = 20000 };

static const int a_flags = SA_RESTART;
static const int b_flags = SA_SIGINFO;

static atomic_int writers_left;
static atomic_int mixed_reads;
static atomic_int mixed_olds;
static atomic_long reads_done;

/* A or B, each with its own flags and mask: 0 when it is neither. */
static int which(uintptr_t handler, int flags, uint64_t mask, uintptr_t restorer)
{
	if (restorer != glibc_restorer)
		return 0;
	if (handler == (uintptr_t)handler_a && flags == (a_flags | SA_RESTORER) && mask == bit(SIGINT))
		return 'A';
	if (handler == (uintptr_t)handler_b && flags == (b_flags | SA_RESTORER) && mask == bit(SIGHUP))
		return 'B';
	return 0;
}

static void *writer_main(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg;
	struct sigaction a, b, old;

	memset(&a, 0, sizeof a);
	a.sa_handler = handler_a;
	a.sa_flags = a_flags;
	sigemptyset(&a.sa_mask);
	sigaddset(&a.sa_mask, SIGINT);
	memset(&b, 0, sizeof b);
	b.sa_sigaction = handler_b;
	b.sa_flags = b_flags;
	sigemptyset(&b.sa_mask);
	sigaddset(&b.sa_mask, SIGHUP);

	for (int i = 0; i < WRITES; i++) {
		seed = seed * 1103515245u + 12345u;
		const struct sigaction *act = (seed >> 16) & 1 ? &a : &b;
		memset(&old, 0, sizeof old);
		if (sigtable_sigaction(SIGUSR1, act, &old) != 0 ||
		    !which(handler_of(&old), old.sa_flags, mask8(&old.sa_mask),
			   (uintptr_t)old.sa_restorer))
			atomic_fetch_add(&mixed_olds, 1);
	}
	atomic_fetch_sub(&writers_left, 1);
	return NULL;
}

static void *reader_main(void *arg)
{
	int index = (int)(uintptr_t)arg;
	long n = 0;

	do {
		struct app_action app;
		sigtable_read(SIGUSR1, &app);
		if (!which(app.handler, app.flags, app.mask, app.restorer))
			atomic_fetch_add(&mixed_reads, 1);
		if (index == 1) {
			/* The app's own sigaction(sig, NULL, &old) as well. */
			struct sigaction old;
			memset(&old, 0, sizeof old);
			if (sigtable_sigaction(SIGUSR1, NULL, &old) != 0 ||
			    !which(handler_of(&old), old.sa_flags, mask8(&old.sa_mask),
				   (uintptr_t)old.sa_restorer))
				atomic_fetch_add(&mixed_reads, 1);
		}
		n++;
	} while (atomic_load(&writers_left) > 0);
	atomic_fetch_add(&reads_done, n);
	return NULL;
}

static void test_concurrent_set_and_read(void **state)
{
	(void)state;
	pthread_t writers[WRITERS], readers[READERS];

	app_set(SIGUSR1, (uintptr_t)handler_a, a_flags, bit(SIGINT));
	atomic_store(&writers_left, WRITERS);
	atomic_store(&mixed_reads, 0);
	atomic_store(&mixed_olds, 0);
	atomic_store(&reads_done, 0);

	/* A deadlock ends the run with SIGALRM instead of hanging it. */
	alarm(300);
	for (int i = 0; i < READERS; i++)
		assert_int_equal(pthread_create(&readers[i], NULL, reader_main, (void *)(uintptr_t)i), 0);
	for (int i = 0; i < WRITERS; i++)
		assert_int_equal(pthread_create(&writers[i], NULL, writer_main,
						(void *)(uintptr_t)(i * 7919 + 1)), 0);
	for (int i = 0; i < WRITERS; i++)
		assert_int_equal(pthread_join(writers[i], NULL), 0);
	for (int i = 0; i < READERS; i++)
		assert_int_equal(pthread_join(readers[i], NULL), 0);
	alarm(0);

	assert_int_equal(atomic_load(&mixed_reads), 0);
	assert_int_equal(atomic_load(&mixed_olds), 0);
	assert_true(atomic_load(&reads_done) >= READERS);

	/* The kernel holds the dispatcher for whichever the app set last. */
	struct app_action app;
	sigtable_read(SIGUSR1, &app);
	int last = which(app.handler, app.flags, app.mask, app.restorer);
	assert_true(last == 'A' || last == 'B');
	if (last == 'A')
		assert_kernel(SIGUSR1, dispatcher(), a_flags | SA_SIGINFO | SA_ONSTACK | SA_RESTORER,
			      bit(SIGINT));
	else
		assert_kernel(SIGUSR1, dispatcher(), b_flags | SA_SIGINFO | SA_ONSTACK | SA_RESTORER,
			      bit(SIGHUP));
}

/* ---- last: give the kernel the app's actions back ---- */

static void assert_kernel_holds_app(int sig)
{
	struct app_action app;
	struct kernel_sigaction k = kernel_action(sig);

	sigtable_read(sig, &app);
	assert_int_equal((uintptr_t)k.handler, app.handler);
	/* glibc's sigaction always adds SA_RESTORER and its restorer. */
	assert_int_equal(k.flags, (unsigned int)(app.flags | SA_RESTORER));
	assert_int_equal(k.mask, app.mask);
	assert_int_equal((uintptr_t)k.restorer, glibc_restorer);
}

static void test_restore_kernel(void **state)
{
	(void)state;
	app_set(SIGUSR1, (uintptr_t)handler_a, a_flags | SA_RESETHAND, bit(SIGINT));
	app_set(SIGTERM, (uintptr_t)SIG_DFL, 0, 0);
	app_set(SIGCHLD, (uintptr_t)SIG_DFL, SA_NOCLDSTOP, bit(SIGHUP));
	sigtable_set_chld_hook(true);
	assert_kernel(SIGCHLD, dispatcher(),
		      SA_SIGINFO | SA_RESTART | SA_ONSTACK | SA_NOCLDSTOP | SA_RESTORER, 0);

	sigtable_restore_kernel();

	assert_kernel(SIGUSR1, (uintptr_t)handler_a, a_flags | SA_RESETHAND | SA_RESTORER, bit(SIGINT));
	assert_kernel(SIGTERM, (uintptr_t)SIG_DFL, SA_RESTORER, 0);
	assert_kernel(SIGCHLD, (uintptr_t)SIG_DFL, SA_NOCLDSTOP | SA_RESTORER, bit(SIGHUP));
	assert_kernel(SIGUSR2, (uintptr_t)SIG_IGN, SA_RESTORER, 0);
	assert_kernel_holds_app(SIGUSR1);
	assert_kernel_holds_app(SIGUSR2);
	assert_kernel_holds_app(SIGCHLD);
	assert_kernel_holds_app(SIGTERM);
	assert_kernel(REF_SIG, (uintptr_t)SIG_DFL, 0, 0);

	/* The app's view is unchanged, and the real handler now runs directly. */
	assert_app(SIGUSR1, (uintptr_t)handler_a, a_flags | SA_RESETHAND | SA_RESTORER, bit(SIGINT),
		   glibc_restorer);
	stub_clear();
	atomic_store(&app_a_calls, 0);
	assert_int_equal(raise(SIGUSR1), 0);
	assert_int_equal(atomic_load(&app_a_calls), 1);
	assert_int_equal(atomic_load(&stub_calls), 0);
	/* ...and the kernel's SA_RESETHAND applies again. */
	assert_kernel(SIGUSR1, (uintptr_t)SIG_DFL, a_flags | SA_RESETHAND | SA_RESTORER, bit(SIGINT));

	/* The hook is disarmed: arming it again reinstalls the dispatcher. */
	sigtable_set_chld_hook(true);
	assert_kernel(SIGCHLD, dispatcher(),
		      SA_SIGINFO | SA_RESTART | SA_ONSTACK | SA_NOCLDSTOP | SA_RESTORER, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_initial_app_view_and_kernel),
		cmocka_unit_test(test_manages),
		cmocka_unit_test(test_handler_read_back),
		cmocka_unit_test(test_same_as_glibc),
		cmocka_unit_test(test_oact_writes_eight_mask_bytes),
		cmocka_unit_test(test_resethand),
		cmocka_unit_test(test_sig_ign),
		cmocka_unit_test(test_sigchld_hook),
		cmocka_unit_test(test_delivery),
		cmocka_unit_test(test_concurrent_set_and_read),
		cmocka_unit_test(test_restore_kernel),  /* last: it hands the kernel back */
	};

	return cmocka_run_group_tests_name("sigtable: the app's dispositions and the kernel's dispatcher",
					   tests, group_setup, NULL);
}
