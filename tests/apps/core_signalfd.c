/*
 * Test app: blocks SIGTERM before starting two idle threads (so no thread
 * of the app can take it) and reads it from a signalfd.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/signalfd.h>
#include <unistd.h>

static void *idle(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

int main(void)
{
	struct signalfd_siginfo info;
	pthread_t threads[2];
	sigset_t term;

	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &term, NULL);
	for (int i = 0; i < 2; i++)
		if (pthread_create(&threads[i], NULL, idle, NULL) != 0) {
			fputs("pthread_create failed\n", stderr);
			return 1;
		}
	int fd = signalfd(-1, &term, SFD_CLOEXEC);
	if (fd < 0) {
		perror("signalfd");
		return 1;
	}
	puts("ready");
	fflush(stdout);
	if (read(fd, &info, sizeof info) != (ssize_t)sizeof info) {
		perror("read");
		return 1;
	}
	printf("got %s from signalfd\n", info.ssi_signo == SIGTERM ? "TERM" : "another signal");
	return 0;
}
