/*
 * Test app: a SIGTERM handler installed with SA_RESETHAND. The first TERM
 * runs it (it writes "handled"), main then prints the disposition read
 * back and waits on: a second TERM meets the default action.
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t handled;

static void on_term(int sig)
{
	static const char line[] = "handled\n";
	(void)sig;
	if (write(STDOUT_FILENO, line, sizeof line - 1) < 0)
		handled = 2;
	handled = 1;
}

static void print_disposition(void)
{
	struct sigaction now;
	uint64_t mask;
	sigaction(SIGTERM, NULL, &now);
	memcpy(&mask, &now.sa_mask, sizeof mask);
	printf("after: handler=%s flags=%#x mask=%#llx\n",
	       now.sa_handler == SIG_DFL ? "DFL" : now.sa_handler == on_term ? "on_term" : "other",
	       (unsigned)now.sa_flags, (unsigned long long)mask);
	fflush(stdout);
}

int main(void)
{
	struct sigaction act;
	sigset_t term, waiting;

	memset(&act, 0, sizeof act);
	act.sa_handler = on_term;
	act.sa_flags = SA_RESETHAND;
	sigemptyset(&act.sa_mask);
	sigaddset(&act.sa_mask, SIGUSR1);
	if (sigaction(SIGTERM, &act, NULL) != 0) {
		perror("sigaction");
		return 1;
	}
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	sigprocmask(SIG_BLOCK, &term, &waiting);
	puts("ready");
	fflush(stdout);
	while (!handled)
		sigsuspend(&waiting);
	print_disposition();
	for (;;)
		sigsuspend(&waiting);
}
