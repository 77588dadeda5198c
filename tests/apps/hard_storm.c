/*
 * Test app for the signal storm: PID 1 whose four threads keep changing
 * the handlers of SIGTERM and SIGUSR1 (run with INITSAFE_SIGNALS naming
 * both, so both are managed) while a fifth keeps forking children that
 * exit at once and waiting for each (SIGCHLD storm), and a sender outside
 * floods the process with TERM and USR1.
 *
 * Each signal only ever has one of two actions, never SIG_DFL (TERM at
 * SIG_DFL would legitimately end PID 1):
 *   A: sigaction(), on_a with SA_SIGINFO|SA_RESTART, sa_mask {USR2}
 *   B: signal() or bsd_signal(), on_b: SA_RESTART, mask {sig} (glibc's BSD)
 * The exact triples (handler, flags, first 64 mask bits) the library
 * reports for A and B are learnt once, single-threaded, before the storm.
 *
 * What is checked, and counted as a violation when wrong:
 *  - every read-back (sigaction(sig, NULL, &old)), every old action a
 *    change returns, and signal()'s return value is A's or B's, never a mix;
 *  - every handler run has the calling convention of its action: on_a gets
 *    a siginfo_t with si_signo == sig and either SI_USER from outside the
 *    namespace (si_pid 0) or SI_TKILL from PID 1 itself;
 *  - exact checks: a setter that made an install no other install
 *    overlapped (two counters per signal: installs started and finished)
 *    reads it back and raises the signal on itself. If no install started
 *    since, the table can only hold its action when the dispatcher reads
 *    it, so the handler that runs must be that action's, with that
 *    action's mask blocked (USR2 for A, not for B), and the read-back
 *    must be that exact triple. The raise must run a handler before it
 *    returns;
 *  - every child's waitpid returns that child's exact exit code;
 *  - SIGCHLD handler runs carry si_signo == SIGCHLD and CLD_EXITED.
 *
 * Prints "ready", runs until SIGHUP (blocked everywhere, taken with
 * sigwait by the main thread), then joins every thread and prints
 *   delivered: term=N usr1=N chld=N
 *   details: ...
 *   violations=N
 * and exits 0 (1 when violations were found).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define SETTERS 4
#define EXACT_EVERY 4  /* one exclusive install + raise in every 4 changes */
#define SHOW_BAD 5     /* violations of a kind described on stderr */

enum { ACT_A, ACT_B, N_ACTS };
enum { S_TERM, S_USR1, N_SIGS };

/* Still exported by glibc (and interposed), no longer declared (XPG7 dropped it). */
extern __sighandler_t bsd_signal(int sig, __sighandler_t handler);

static const int storm_sig[N_SIGS] = { SIGTERM, SIGUSR1 };

struct sig_state {
	atomic_ulong started;    /* installs begun */
	atomic_ulong finished;   /* installs completed */
	struct sigaction ref[N_ACTS];
	atomic_long runs[N_ACTS];
	atomic_long raises;
};

static struct sig_state states[N_SIGS];
static atomic_bool stop;

/* Violations, by kind. */
static atomic_long bad_readback, bad_old, bad_signal_ret, bad_convention, bad_siginfo;
static atomic_long bad_exact_handler, bad_exact_mask, bad_exact_readback, lost_raise;
static atomic_long bad_status, bad_chld_info, bad_install;
/* The first wrong mask seen in an exact check, shown at the end. */
static volatile int bad_mask_sig, bad_mask_act;
static volatile unsigned long long bad_mask_bits;
/* Figures. */
static atomic_long installs, readbacks, exact_checked, exact_inconclusive, contended;
static atomic_long chld_runs, children, exact_statuses;

/* The exclusive install this thread is checking, while it raises. */
static _Thread_local volatile int tl_expect_sig;
static _Thread_local volatile int tl_expect_act;
static _Thread_local volatile unsigned long tl_ticket;
static _Thread_local volatile int tl_seen;
static _Thread_local int tl_depth;

static int index_of(int sig)
{
	return sig == SIGTERM ? S_TERM : S_USR1;
}

/* The first 64 bits of a mask, the part the kernel has. */
static unsigned long long mask_bits(const sigset_t *set)
{
	unsigned long long bits = 0;
	for (int sig = 1; sig <= 64; sig++)
		if (sigismember(set, sig) == 1)
			bits |= 1ULL << (sig - 1);
	return bits;
}

static bool same_action(const struct sigaction *a, const struct sigaction *b)
{
	return a->sa_handler == b->sa_handler && a->sa_flags == b->sa_flags &&
	       mask_bits(&a->sa_mask) == mask_bits(&b->sa_mask);
}

static void show_action(const char *what, int sig, const struct sigaction *sa)
{
	fprintf(stderr, "%s for %d is neither A nor B: handler %p flags %#x mask %#llx\n", what,
		sig, (void *)(uintptr_t)sa->sa_handler, (unsigned)sa->sa_flags,
		mask_bits(&sa->sa_mask));
}

/* ACT_A, ACT_B, or -1 for anything else. */
static int action_of(int idx, const struct sigaction *sa)
{
	for (int act = 0; act < N_ACTS; act++)
		if (same_action(sa, &states[idx].ref[act]))
			return act;
	return -1;
}

static void on_delivery(int sig, int act, siginfo_t *info)
{
	int idx = index_of(sig);
	tl_depth++;
	atomic_fetch_add(&states[idx].runs[act], 1);
	if (act == ACT_A) {
		if (!info || info->si_signo != sig)
			atomic_fetch_add(&bad_convention, 1);
		else if (!((info->si_code == SI_USER && info->si_pid == 0) ||
			   (info->si_code == SI_TKILL && info->si_pid == 1)))
			atomic_fetch_add(&bad_siginfo, 1);
	}
	if (tl_expect_sig == sig) {
		tl_seen++;
		if (atomic_load(&states[idx].started) != tl_ticket) {
			atomic_fetch_add(&exact_inconclusive, 1);
		} else {
			sigset_t blocked;
			atomic_fetch_add(&exact_checked, 1);
			if (act != tl_expect_act)
				atomic_fetch_add(&bad_exact_handler, 1);
			pthread_sigmask(SIG_BLOCK, NULL, &blocked);
			bool usr2 = sigismember(&blocked, SIGUSR2) == 1;
			bool self = sigismember(&blocked, sig) == 1;
			/*
			 * The other storm signal blocked: the kernel delivered it
			 * in the same return to user mode, its frame lies below
			 * this one and its mask is in force here too.
			 */
			int other = sig == SIGTERM ? SIGUSR1 : SIGTERM;
			bool stacked = tl_depth > 1 || sigismember(&blocked, other) == 1;
			if (!stacked && (!self || usr2 != (act == ACT_A)) &&
			    atomic_fetch_add(&bad_exact_mask, 1) == 0) {
				bad_mask_sig = sig;
				bad_mask_act = act;
				bad_mask_bits = mask_bits(&blocked);
			}
		}
	}
	tl_depth--;
}

static void on_a(int sig, siginfo_t *info, void *uc)
{
	int saved_errno = errno;
	if (!uc)
		atomic_fetch_add(&bad_convention, 1);
	on_delivery(sig, ACT_A, info);
	errno = saved_errno;
}

static void on_b(int sig)
{
	int saved_errno = errno;
	on_delivery(sig, ACT_B, NULL);
	errno = saved_errno;
}

static void on_chld(int sig, siginfo_t *info, void *uc)
{
	(void)uc;
	atomic_fetch_add(&chld_runs, 1);
	if (sig != SIGCHLD || !info || info->si_signo != SIGCHLD || info->si_code != CLD_EXITED)
		atomic_fetch_add(&bad_chld_info, 1);
}

/*
 * Installs act for sig; the old action is checked. The changes alternate
 * between the APIs: A always by sigaction, B by signal() or bsd_signal().
 */
static void install(int idx, int act, unsigned long round)
{
	int sig = storm_sig[idx];
	if (act == ACT_A) {
		struct sigaction sa = { .sa_sigaction = on_a, .sa_flags = SA_SIGINFO | SA_RESTART };
		struct sigaction old;
		sigemptyset(&sa.sa_mask);
		sigaddset(&sa.sa_mask, SIGUSR2);
		if (sigaction(sig, &sa, &old) != 0)
			atomic_fetch_add(&bad_install, 1);
		else if (action_of(idx, &old) < 0 && atomic_fetch_add(&bad_old, 1) < SHOW_BAD)
			show_action("old action returned by sigaction", sig, &old);
	} else {
		void (*old)(int) = round & 1 ? signal(sig, on_b) : bsd_signal(sig, on_b);
		if (old == SIG_ERR)
			atomic_fetch_add(&bad_install, 1);
		else if ((uintptr_t)old != (uintptr_t)on_a && old != on_b &&
			 atomic_fetch_add(&bad_signal_ret, 1) < SHOW_BAD)
			fprintf(stderr, "signal(%d) returned %p: neither on_a %p nor on_b %p\n", sig,
				(void *)(uintptr_t)old, (void *)(uintptr_t)on_a, (void *)(uintptr_t)on_b);
	}
	atomic_fetch_add(&installs, 1);
}

/* The current action: must be A or B; returns which (-1 when neither). */
static int read_back(int idx)
{
	struct sigaction now;
	atomic_fetch_add(&readbacks, 1);
	if (sigaction(storm_sig[idx], NULL, &now) != 0) {
		atomic_fetch_add(&bad_readback, 1);
		return -1;
	}
	int act = action_of(idx, &now);
	if (act < 0 && atomic_fetch_add(&bad_readback, 1) < SHOW_BAD)
		show_action("read-back", storm_sig[idx], &now);
	return act;
}

static void free_install(int idx, int act, unsigned long round)
{
	struct sig_state *s = &states[idx];
	atomic_fetch_add(&s->started, 1);
	install(idx, act, round);
	atomic_fetch_add(&s->finished, 1);
	read_back(idx);
}

/*
 * An install that no other overlaps: claimed only when every install
 * begun has finished, by moving "started" from that very value. If no
 * other install starts until the handler runs, the table holds act.
 */
static void exact_install(int idx, int act, unsigned long round)
{
	struct sig_state *s = &states[idx];
	unsigned long begun = atomic_load(&s->started);
	if (atomic_load(&s->finished) != begun ||
	    !atomic_compare_exchange_strong(&s->started, &begun, begun + 1)) {
		atomic_fetch_add(&contended, 1);
		free_install(idx, act, round);
		return;
	}
	unsigned long ticket = begun + 1;
	install(idx, act, round);
	atomic_fetch_add(&s->finished, 1);
	int now = read_back(idx);
	if (atomic_load(&s->started) == ticket && now >= 0 && now != act)
		atomic_fetch_add(&bad_exact_readback, 1);

	tl_expect_act = act;
	tl_ticket = ticket;
	tl_seen = 0;
	tl_expect_sig = storm_sig[idx];
	atomic_fetch_add(&s->raises, 1);
	raise(storm_sig[idx]);
	tl_expect_sig = 0;
	if (tl_seen == 0)
		atomic_fetch_add(&lost_raise, 1);
}

static void *setter(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg * 2654435761u + 1;
	for (unsigned long round = 0; !atomic_load(&stop); round++) {
		int idx = rand_r(&seed) % N_SIGS;
		int act = rand_r(&seed) % N_ACTS;
		if (round % EXACT_EVERY == 0)
			exact_install(idx, act, round);
		else
			free_install(idx, act, round);
	}
	return NULL;
}

/* Children that exit at once with a code of their own, each waited for. */
static void *forker(void *unused)
{
	(void)unused;
	for (int i = 0; !atomic_load(&stop); i++) {
		int code = i % 100, status;
		pid_t pid = fork();
		if (pid == 0)
			_exit(code);
		if (pid < 0) {
			atomic_fetch_add(&bad_status, 1);
			continue;
		}
		atomic_fetch_add(&children, 1);
		pid_t got;
		do
			got = waitpid(pid, &status, 0);
		while (got < 0 && errno == EINTR);
		if (got == pid && WIFEXITED(status) && WEXITSTATUS(status) == code)
			atomic_fetch_add(&exact_statuses, 1);
		else
			atomic_fetch_add(&bad_status, 1);
	}
	return NULL;
}

/* Learns the triples the library reports for A and B; leaves A installed. */
static int learn_references(void)
{
	for (int idx = 0; idx < N_SIGS; idx++) {
		int sig = storm_sig[idx];
		struct sig_state *s = &states[idx];
		struct sigaction a = { .sa_sigaction = on_a, .sa_flags = SA_SIGINFO | SA_RESTART };
		sigemptyset(&a.sa_mask);
		sigaddset(&a.sa_mask, SIGUSR2);
		if (signal(sig, on_b) == SIG_ERR || sigaction(sig, NULL, &s->ref[ACT_B]) != 0 ||
		    sigaction(sig, &a, NULL) != 0 || sigaction(sig, NULL, &s->ref[ACT_A]) != 0)
			return -1;
		if (s->ref[ACT_A].sa_sigaction != on_a || s->ref[ACT_B].sa_handler != on_b ||
		    !(s->ref[ACT_A].sa_flags & SA_SIGINFO) || (s->ref[ACT_B].sa_flags & SA_SIGINFO) ||
		    sigismember(&s->ref[ACT_A].sa_mask, SIGUSR2) != 1 ||
		    sigismember(&s->ref[ACT_B].sa_mask, sig) != 1) {
			fprintf(stderr, "unexpected read-back of the reference actions for %d\n", sig);
			return -1;
		}
	}
	return 0;
}

int main(void)
{
	pthread_t setters[SETTERS], fork_thread;
	struct sigaction chld = { .sa_sigaction = on_chld,
				  .sa_flags = SA_SIGINFO | SA_RESTART | SA_NOCLDSTOP };
	sigset_t hup;
	int sig;

	setvbuf(stdout, NULL, _IOLBF, 0);
	sigemptyset(&chld.sa_mask);
	if (learn_references() != 0 || sigaction(SIGCHLD, &chld, NULL) != 0)
		return 2;
	/* Every thread inherits HUP blocked: only sigwait below takes it. */
	sigemptyset(&hup);
	sigaddset(&hup, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &hup, NULL);
	for (uintptr_t i = 0; i < SETTERS; i++)
		if (pthread_create(&setters[i], NULL, setter, (void *)(i + 1)) != 0)
			return 2;
	if (pthread_create(&fork_thread, NULL, forker, NULL) != 0)
		return 2;
	puts("ready");
	while (sigwait(&hup, &sig) != 0 || sig != SIGHUP)
		;
	atomic_store(&stop, true);
	for (int i = 0; i < SETTERS; i++)
		pthread_join(setters[i], NULL);
	pthread_join(fork_thread, NULL);

	long term = states[S_TERM].runs[ACT_A] + states[S_TERM].runs[ACT_B];
	long usr1 = states[S_USR1].runs[ACT_A] + states[S_USR1].runs[ACT_B];
	long violations = bad_readback + bad_old + bad_signal_ret + bad_convention + bad_siginfo +
			  bad_exact_handler + bad_exact_mask + bad_exact_readback + lost_raise +
			  bad_status + bad_chld_info + bad_install;
	printf("delivered: term=%ld usr1=%ld chld=%ld\n", term, usr1, (long)chld_runs);
	printf("raised: term=%ld usr1=%ld\n", (long)states[S_TERM].raises,
	       (long)states[S_USR1].raises);
	printf("details: term_a=%ld term_b=%ld usr1_a=%ld usr1_b=%ld installs=%ld readbacks=%ld "
	       "exact_checked=%ld exact_inconclusive=%ld contended=%ld children=%ld "
	       "exact_statuses=%ld\n",
	       (long)states[S_TERM].runs[ACT_A], (long)states[S_TERM].runs[ACT_B],
	       (long)states[S_USR1].runs[ACT_A], (long)states[S_USR1].runs[ACT_B], (long)installs,
	       (long)readbacks, (long)exact_checked, (long)exact_inconclusive, (long)contended,
	       (long)children, (long)exact_statuses);
	printf("bad: readback=%ld old=%ld signal_ret=%ld convention=%ld siginfo=%ld "
	       "exact_handler=%ld exact_mask=%ld exact_readback=%ld lost_raise=%ld status=%ld "
	       "chld_info=%ld install=%ld\n",
	       (long)bad_readback, (long)bad_old, (long)bad_signal_ret, (long)bad_convention,
	       (long)bad_siginfo, (long)bad_exact_handler, (long)bad_exact_mask,
	       (long)bad_exact_readback, (long)lost_raise, (long)bad_status, (long)bad_chld_info,
	       (long)bad_install);
	if (bad_exact_mask)
		fprintf(stderr, "first wrong mask: signal %d, action %c, blocked %#llx\n", bad_mask_sig,
			"AB"[bad_mask_act], (unsigned long long)bad_mask_bits);
	printf("violations=%ld\n", violations);
	return violations == 0 ? 0 : 1;
}
