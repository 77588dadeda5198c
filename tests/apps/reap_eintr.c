/*
 * Test app: leaves SIGCHLD at SIG_DFL, has no child, and sleeps in
 * nanosleep until 3 s after start, counting the EINTRs that cut a sleep
 * short. Prints "ready" first and "eintr=N" at the end; exits 0.
 */
#include <errno.h>
#include <stdio.h>
#include <time.h>

#define RUN_MS 3000

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int main(void)
{
	long long deadline = now_ms() + RUN_MS;
	int eintr = 0, other = 0;

	puts("ready");
	fflush(stdout);
	for (long long left; (left = deadline - now_ms()) > 0;) {
		/* A 3 s sleep, cut to what is left of the run. */
		long long ms = left < 3000 ? left : 3000;
		struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };
		if (nanosleep(&ts, NULL) < 0) {
			if (errno == EINTR)
				eintr++;
			else
				other++;
		}
	}
	printf("eintr=%d other=%d\n", eintr, other);
	return 0;
}
