/*
 * Test app: PID 1 that calls daemon(1, 1) as legacy services do (keeping
 * the working directory and stdio). A TERM handler is installed first, so
 * the daemon has it from the start: there (not PID 1) it writes
 * "daemon-term pid=N" on stderr and exits 0. PID 1 prints "parent pid=1",
 * then leaves inside daemon() (glibc's parent side calls _exit(0)); the
 * daemon prints "daemon-ready pid=N" and pauses.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void on_term(int sig)
{
	char line[64];
	(void)sig;
	if (getpid() == 1)
		return;
	/* async-signal-safe formatting of "daemon-term pid=N\n" */
	const char prefix[] = "daemon-term pid=";
	char digits[16];
	int n = 0, len = 0;
	for (long pid = getpid(); pid > 0 && n < (int)sizeof digits; pid /= 10)
		digits[n++] = (char)('0' + pid % 10);
	memcpy(line, prefix, sizeof prefix - 1);
	len = (int)sizeof prefix - 1;
	while (n > 0)
		line[len++] = digits[--n];
	line[len++] = '\n';
	if (write(STDERR_FILENO, line, (size_t)len) < 0)
		_exit(1);
	_exit(0);
}

int main(void)
{
	struct sigaction sa = { .sa_handler = on_term };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	printf("parent pid=%d\n", (int)getpid());
	fflush(stdout);
	if (daemon(1, 1) != 0) {
		perror("daemon");
		return 1;
	}
	fprintf(stderr, "daemon-ready pid=%d\n", (int)getpid());
	for (;;)
		pause();
}
