/*
 * Test app: sets SIGCHLD to SIG_IGN (the kernel then reaps its children),
 * forks 50 children that exit at once, and checks POSIX's promise: wait()
 * blocks until they are all gone, then fails with ECHILD. Prints
 * "wait=ECHILD" (or what it saw instead) and "ready", then waits forever.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(void)
{
	int status;

	if (signal(SIGCHLD, SIG_IGN) == SIG_ERR) {
		perror("signal");
		return 1;
	}
	for (int i = 0; i < 50; i++) {
		pid_t pid = fork();
		if (pid < 0) {
			perror("fork");
			return 1;
		}
		if (pid == 0)
			_exit(i);
	}
	pid_t got = wait(&status);
	if (got < 0)
		printf("wait=%s\n", errno == ECHILD ? "ECHILD" : strerror(errno));
	else
		printf("wait=pid status=%#x\n", (unsigned)status);
	struct timespec ts = { .tv_sec = 0, .tv_nsec = 100 * 1000000L };
	nanosleep(&ts, NULL);
	puts("ready");
	fflush(stdout);
	for (;;)
		pause();
}
