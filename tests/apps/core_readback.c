/*
 * Test app: exercises every glibc call that sets or reads a signal
 * disposition, for SIGTERM and SIGINT (managed by initsafe by default) and
 * SIGUSR2 (not managed), plus the invalid cases, and prints each result in
 * a form free of addresses. Run as PID 1 with initsafe and as a plain
 * process without it, the outputs must be byte-identical: glibc is the
 * reference.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Exercising the deprecated calls is the point. */
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

/* Exported by glibc, not declared by its headers (bsd_signal: not with _GNU_SOURCE). */
extern int __sigaction(int sig, const struct sigaction *act, struct sigaction *oact);
extern __sighandler_t bsd_signal(int sig, __sighandler_t handler);

#if defined(__x86_64__)
#define HAVE_SIGVEC 1
/* 4.2BSD sigvec survives in glibc as a compat symbol only. */
struct old_sigvec {
	void (*handler)(int);
	int mask;
	int flags;
};
#define OLD_SV_ONSTACK 1
#define OLD_SV_INTERRUPT 2
#define OLD_SV_RESETHAND 4
int sigvec_compat(int sig, const struct old_sigvec *vec, struct old_sigvec *ovec);
__asm__(".symver sigvec_compat, sigvec@GLIBC_2.2.5");
#endif

/* Fills every struct before a read-back: fields left alone show up. */
#define UNTOUCHED 0x5a

typedef __sighandler_t handler_t;

static void fnA(int sig)
{
	(void)sig;
}

static void fnB(int sig, siginfo_t *info, void *context)
{
	(void)sig;
	(void)info;
	(void)context;
}

static const char *name_of(handler_t handler)
{
	uintptr_t value = (uintptr_t)handler;
	if (handler == SIG_DFL)
		return "DFL";
	if (handler == SIG_IGN)
		return "IGN";
	if (handler == SIG_HOLD)
		return "HOLD";
	if (handler == SIG_ERR)
		return "ERR";
	if (value == (uintptr_t)fnA)
		return "fnA";
	if (value == (uintptr_t)fnB)
		return "fnB";
	return "other";
}

static unsigned long long first_64_bits(const sigset_t *set)
{
	uint64_t bits;
	memcpy(&bits, set, sizeof bits);
	return (unsigned long long)bits;
}

static void print_action(const struct sigaction *sa)
{
	printf(" handler=%s flags=%#x mask=%#llx restorer=%d", name_of(sa->sa_handler),
	       (unsigned)sa->sa_flags, first_64_bits(&sa->sa_mask), sa->sa_restorer != NULL);
}

/* rc and, on failure, errno; the caller sets errno to 0 before the call. */
static void print_rc(const char *what, int rc)
{
	printf("%s: rc=%d", what, rc);
	if (rc != 0)
		printf(" errno=%d", errno);
}

static void print_handler_rc(const char *what, handler_t old)
{
	printf("%s: -> %s", what, name_of(old));
	if (old == SIG_ERR)
		printf(" errno=%d", errno);
	printf("\n");
}

static int is_blocked(int sig)
{
	sigset_t now;
	sigprocmask(SIG_BLOCK, NULL, &now);
	return sigismember(&now, sig);
}

static void show(const char *label, int sig)
{
	struct sigaction now;
	memset(&now, UNTOUCHED, sizeof now);
	errno = 0;
	int rc = sigaction(sig, NULL, &now);
	print_rc(label, rc);
	if (rc == 0)
		print_action(&now);
	printf("\n");
}

static struct sigaction full_action(void)
{
	struct sigaction act;
	memset(&act, 0, sizeof act);
	act.sa_sigaction = fnB;
	act.sa_flags = SA_SIGINFO | SA_RESTART | SA_NODEFER;
	sigemptyset(&act.sa_mask);
	sigaddset(&act.sa_mask, SIGUSR1);
	sigaddset(&act.sa_mask, SIGHUP);
	sigaddset(&act.sa_mask, SIGKILL);  /* the kernel drops it */
	sigaddset(&act.sa_mask, SIGRTMIN + 3);
	return act;
}

static void set_with(const char *what, int (*call)(int, const struct sigaction *, struct sigaction *),
		     int sig, const struct sigaction *act)
{
	struct sigaction old;
	memset(&old, UNTOUCHED, sizeof old);
	errno = 0;
	int rc = call(sig, act, &old);
	print_rc(what, rc);
	if (rc == 0) {
		printf(" old:");
		print_action(&old);
	}
	printf("\n");
}

static void with_sigaction(int sig)
{
	struct sigaction act = full_action();
	set_with("sigaction", sigaction, sig, &act);
	show("  read", sig);
}

/* For the calls that return the previous handler; labelled as written. */
#define TRY(call) print_handler_rc(#call, (errno = 0, call))

#define CALL_AND_SHOW(sig, call)                            \
	do {                                                \
		print_handler_rc(#call, (errno = 0, call)); \
		show("  read", sig);                        \
	} while (0)

static void with_signal_family(int sig)
{
	CALL_AND_SHOW(sig, signal(sig, fnA));
	CALL_AND_SHOW(sig, sysv_signal(sig, fnA));
	CALL_AND_SHOW(sig, __sysv_signal(sig, SIG_IGN));
	CALL_AND_SHOW(sig, bsd_signal(sig, fnA));
	CALL_AND_SHOW(sig, ssignal(sig, SIG_DFL));
}

static void with_sigset(int sig)
{
	CALL_AND_SHOW(sig, sigset(sig, fnA));
	CALL_AND_SHOW(sig, sigset(sig, SIG_HOLD));
	printf("  blocked=%d\n", is_blocked(sig));
	CALL_AND_SHOW(sig, sigset(sig, SIG_HOLD));
	CALL_AND_SHOW(sig, sigset(sig, SIG_DFL));
	printf("  blocked=%d\n", is_blocked(sig));
	CALL_AND_SHOW(sig, sigset(sig, SIG_IGN));
}

static void with_sigignore_siginterrupt(int sig)
{
	errno = 0;
	print_rc("sigignore", sigignore(sig));
	printf("\n");
	show("  read", sig);
	CALL_AND_SHOW(sig, signal(sig, fnA));
	errno = 0;
	print_rc("siginterrupt(1)", siginterrupt(sig, 1));
	printf("\n");
	show("  read", sig);
	CALL_AND_SHOW(sig, signal(sig, fnA));
	errno = 0;
	print_rc("siginterrupt(0)", siginterrupt(sig, 0));
	printf("\n");
	show("  read", sig);
	CALL_AND_SHOW(sig, signal(sig, fnA));
}

#ifdef HAVE_SIGVEC
static void print_vec(const char *what, int rc, const struct old_sigvec *ovec)
{
	print_rc(what, rc);
	if (rc == 0)
		printf(" old: handler=%s mask=%#x flags=%#x", name_of(ovec->handler),
		       (unsigned)ovec->mask, (unsigned)ovec->flags);
	printf("\n");
}

static void vec_call(const char *what, int sig, const struct old_sigvec *vec)
{
	struct old_sigvec old;
	memset(&old, UNTOUCHED, sizeof old);
	errno = 0;
	print_vec(what, sigvec_compat(sig, vec, &old), &old);
	show("  read", sig);
}

static void with_sigvec(int sig)
{
	struct old_sigvec catching = {
		.handler = fnA,
		.mask = 1 << (SIGUSR1 - 1) | 1 << (SIGHUP - 1),
		.flags = OLD_SV_INTERRUPT | OLD_SV_RESETHAND,
	};
	struct old_sigvec ignoring = { .handler = SIG_IGN, .flags = OLD_SV_ONSTACK };
	vec_call("sigvec(catch)", sig, &catching);
	vec_call("sigvec(read)", sig, NULL);
	vec_call("sigvec(ignore)", sig, &ignoring);
	vec_call("sigvec(read)", sig, NULL);
}
#else
static void with_sigvec(int sig)
{
	(void)sig;
	printf("sigvec: n/a\n");
}
#endif

static void with_internal_name(int sig)
{
	struct sigaction act = full_action(), dfl = { .sa_handler = SIG_DFL };
	set_with("__sigaction", __sigaction, sig, &act);
	show("  read", sig);
	set_with("sigaction(DFL)", sigaction, sig, &dfl);
	show("  final", sig);
}

static void exercise(const char *name, int sig)
{
	printf("== %s\n", name);
	with_sigaction(sig);
	with_signal_family(sig);
	with_sigset(sig);
	with_sigignore_siginterrupt(sig);
	with_sigvec(sig);
	with_internal_name(sig);
}

static void try_sigaction(const char *what, int sig, bool set)
{
	struct sigaction act = { .sa_handler = fnA }, old;
	memset(&old, UNTOUCHED, sizeof old);
	errno = 0;
	int rc = sigaction(sig, set ? &act : NULL, &old);
	print_rc(what, rc);
	if (rc == 0)
		print_action(&old);
	printf("\n");
}

static void invalid_sigaction(void)
{
	try_sigaction("sigaction(0, act)", 0, true);
	try_sigaction("sigaction(0, NULL)", 0, false);
	try_sigaction("sigaction(-1, act)", -1, true);
	try_sigaction("sigaction(32, act)", 32, true);
	try_sigaction("sigaction(32, NULL)", 32, false);
	try_sigaction("sigaction(33, act)", 33, true);
	try_sigaction("sigaction(64, NULL)", 64, false);
	try_sigaction("sigaction(65, act)", 65, true);
	try_sigaction("sigaction(65, NULL)", 65, false);
	try_sigaction("sigaction(KILL, act)", SIGKILL, true);
	try_sigaction("sigaction(KILL, NULL)", SIGKILL, false);
	try_sigaction("sigaction(STOP, act)", SIGSTOP, true);
}

static void invalid_others(void)
{
	TRY(signal(SIGKILL, fnA));
	TRY(signal(SIGSTOP, fnA));
	TRY(signal(0, fnA));
	TRY(signal(32, fnA));
	TRY(signal(65, fnA));
	TRY(signal(SIGTERM, SIG_ERR));
	TRY(signal(SIGUSR2, SIG_ERR));
	TRY(sysv_signal(SIGKILL, fnA));
	TRY(sysv_signal(65, fnA));
	TRY(sigset(SIGKILL, fnA));
	TRY(sigset(0, fnA));
	TRY(sigset(65, SIG_HOLD));
	errno = 0;
	print_rc("sigignore(KILL)", sigignore(SIGKILL));
	printf("\n");
	errno = 0;
	print_rc("sigignore(0)", sigignore(0));
	printf("\n");
	errno = 0;
	print_rc("siginterrupt(KILL)", siginterrupt(SIGKILL, 1));
	printf("\n");
	errno = 0;
	print_rc("siginterrupt(0)", siginterrupt(0, 1));
	printf("\n");
}

int main(void)
{
	/* Before anything else touches them. */
	show("initial TERM", SIGTERM);
	show("initial INT", SIGINT);
	show("initial USR2", SIGUSR2);
	exercise("TERM", SIGTERM);
	exercise("INT", SIGINT);
	exercise("USR2", SIGUSR2);
	printf("== invalid\n");
	invalid_sigaction();
	invalid_others();
	printf("end\n");
	return 0;
}
