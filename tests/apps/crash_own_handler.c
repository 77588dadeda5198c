/* Test app: has its own SIGSEGV handler, which says "own handler" and _exit(42)s. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int *volatile crash_target;

static void on_segv(int sig)
{
	static const char line[] = "own handler\n";
	(void)sig;
	if (write(STDERR_FILENO, line, sizeof line - 1) < 0)
		_exit(43);
	_exit(42);
}

/* A real fault even in sanitized builds (UBSan would stop at the NULL store). */
static __attribute__((noinline, no_sanitize("undefined"))) void crash_here(void)
{
	*crash_target = 1;
}

int main(void)
{
	struct sigaction act;
	memset(&act, 0, sizeof act);
	act.sa_handler = on_segv;
	sigemptyset(&act.sa_mask);
	if (sigaction(SIGSEGV, &act, NULL) != 0) {
		perror("sigaction");
		return 1;
	}
	crash_here();
	return 0;
}
