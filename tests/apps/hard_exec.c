/*
 * Test app: PID 1 that execs itself. Stage 1 (no argument): blocks SIGUSR2,
 * prints "stage1 ready" and waits for SIGUSR2 with sigwait, then execs its
 * own path with the argument "stage2" (the library's constructor runs
 * again there). Stage 2: prints "stage2 ready", makes an orphan (a child
 * that forks a grandchild and leaves; the grandchild exits at once), waits
 * until it is reaped ("orphan-reaped=1"; 0 after 10 s), then pauses until
 * a signal ends it.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "app_util.h"

static void sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2) {
		sigset_t usr2;
		int sig;
		sigemptyset(&usr2);
		sigaddset(&usr2, SIGUSR2);
		sigprocmask(SIG_BLOCK, &usr2, NULL);
		printf("stage1 ready pid=%d\n", (int)getpid());
		while (sigwait(&usr2, &sig) != 0 || sig != SIGUSR2)
			;
		char *const next[] = { argv[0], "stage2", NULL };
		execv(argv[0], next);
		printf("exec failed: %s\n", strerror(errno));
		return 1;
	}
	printf("stage2 ready pid=%d\n", (int)getpid());
	pid_t orphan = make_orphan();
	for (int tries = 0; orphan > 0 && kill(orphan, 0) == 0 && tries < 1000; tries++)
		sleep_ms(10);
	printf("orphan-reaped=%d\n", orphan > 0 && kill(orphan, 0) != 0 && errno == ESRCH);
	for (;;)
		pause();
}
