/*
 * A well-behaved app for the demo (experiment 6): it installs its own
 * SIGTERM handler (SA_SIGINFO | SA_RESTART) and, once stopped, reads its
 * disposition back, runs a cleanup command with system() and exits 0. Its
 * output is the same whoever is PID 1, and must stay so under initsafe:
 * the handler sees the signal as the app asked, sigaction() reads back the
 * app's own handler, and system() gets its child's status (7).
 *
 *   term_app READY_FILE     creates READY_FILE once the handler is in place
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t got_sig, got_code;

static void on_term(int sig, siginfo_t *info, void *ctx)
{
	(void)ctx;
	got_sig = sig;
	got_code = info->si_code;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_sigaction = on_term, .sa_flags = SA_SIGINFO | SA_RESTART };
	struct sigaction back;
	sigset_t mask, old;

	if (argc != 2) {
		fputs("usage: term_app READY_FILE\n", stderr);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	printf("app: SIGTERM handler installed\n");
	int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd >= 0)
		close(fd);

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigprocmask(SIG_BLOCK, &mask, &old);
	while (!got_sig)
		sigsuspend(&old);
	sigprocmask(SIG_SETMASK, &old, NULL);

	sigaction(SIGTERM, NULL, &back);
	printf("app: got %s (si_code %s)\n", sigabbrev_np(got_sig),
	       got_code == SI_USER ? "SI_USER" : got_code == SI_KERNEL ? "SI_KERNEL" : "other");
	printf("app: sigaction(SIGTERM) reads back: %s, flags%s%s\n",
	       back.sa_sigaction == on_term ? "the app's handler" : "SOMETHING ELSE",
	       back.sa_flags & SA_SIGINFO ? " SA_SIGINFO" : "", back.sa_flags & SA_RESTART ? " SA_RESTART" : "");
	int status = system("sleep 0.05; exit 7");
	printf("app: cleanup command: %s %d\n", WIFEXITED(status) ? "exited" : "failed,",
	       WIFEXITED(status) ? WEXITSTATUS(status) : status);
	printf("app: clean shutdown, exit 0\n");
	return 0;
}
