/*
 * Test app: an SA_SIGINFO handler for SIGTERM whose sa_mask holds SIGUSR1.
 * The handler records what it was given and which signals were blocked
 * while it ran; main prints that and exits 0.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

static volatile sig_atomic_t handled;
static int seen_sig, seen_signo, seen_code, seen_pid;
static int usr1_blocked, term_blocked, hup_blocked;

static void on_term(int sig, siginfo_t *info, void *context)
{
	sigset_t blocked;
	(void)context;
	pthread_sigmask(SIG_BLOCK, NULL, &blocked);
	seen_sig = sig;
	seen_signo = info->si_signo;
	seen_code = info->si_code;
	seen_pid = (int)info->si_pid;
	usr1_blocked = sigismember(&blocked, SIGUSR1);
	term_blocked = sigismember(&blocked, SIGTERM);
	hup_blocked = sigismember(&blocked, SIGHUP);
	handled = 1;
}

int main(void)
{
	struct sigaction act;
	sigset_t term, waiting;

	memset(&act, 0, sizeof act);
	act.sa_sigaction = on_term;
	act.sa_flags = SA_SIGINFO;
	sigemptyset(&act.sa_mask);
	sigaddset(&act.sa_mask, SIGUSR1);
	if (sigaction(SIGTERM, &act, NULL) != 0) {
		perror("sigaction");
		return 1;
	}
	/* Blocked until sigsuspend, so the signal cannot slip in before it. */
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	sigprocmask(SIG_BLOCK, &term, &waiting);
	puts("ready");
	fflush(stdout);
	while (!handled)
		sigsuspend(&waiting);
	printf("sig=%d signo=%d code=%d pid=%d usr1_blocked=%d term_blocked=%d hup_blocked=%d\n",
	       seen_sig, seen_signo, seen_code, seen_pid, usr1_blocked, term_blocked, hup_blocked);
	return 0;
}
