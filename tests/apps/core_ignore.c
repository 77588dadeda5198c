/* Test app that sets SIGTERM to SIG_IGN, says "ready", then waits forever. */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

int main(void)
{
	if (signal(SIGTERM, SIG_IGN) == SIG_ERR) {
		perror("signal");
		return 1;
	}
	puts("ready");
	fflush(stdout);
	for (;;)
		pause();
}
