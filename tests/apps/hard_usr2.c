/*
 * Test app: a signal nobody manages must never run on initsafe's reaper
 * thread. A SIGUSR2 handler (USR2 is not in INITSAFE_SIGNALS) records the
 * thread it runs on. The main thread keeps USR2 blocked but for a moment
 * every 2 ms, so a USR2 sent meanwhile waits for a thread that does not
 * block it: were the reaper thread one, the kernel would hand it the
 * signal there and then. SIGUSR1 (a handler that sets a flag) ends the
 * loop. Prints "ready reaper=TID" (0: no reaper thread), then
 * "usr2 handled=N on_main=N on_reaper=N elsewhere=N" and exits 0.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "app_util.h"

static pid_t main_tid, reaper;
static atomic_long handled, on_main, on_reaper, elsewhere;
static volatile sig_atomic_t stop;

static pid_t gettid_now(void)
{
	return (pid_t)syscall(SYS_gettid);
}

static void on_usr2(int sig)
{
	(void)sig;
	int saved_errno = errno;
	pid_t tid = gettid_now();
	atomic_fetch_add(&handled, 1);
	atomic_fetch_add(tid == main_tid ? &on_main : tid == reaper ? &on_reaper : &elsewhere, 1);
	errno = saved_errno;
}

static void on_usr1(int sig)
{
	(void)sig;
	stop = 1;
}

int main(void)
{
	struct sigaction usr2 = { .sa_handler = on_usr2, .sa_flags = SA_RESTART };
	struct sigaction usr1 = { .sa_handler = on_usr1 };
	struct timespec two_ms = { 0, 2000000L };
	sigset_t only_usr2;

	setvbuf(stdout, NULL, _IOLBF, 0);
	main_tid = gettid_now();
	reaper = reaper_tid();
	sigemptyset(&usr2.sa_mask);
	sigemptyset(&usr1.sa_mask);
	sigaction(SIGUSR2, &usr2, NULL);
	sigaction(SIGUSR1, &usr1, NULL);
	sigemptyset(&only_usr2);
	sigaddset(&only_usr2, SIGUSR2);
	sigprocmask(SIG_BLOCK, &only_usr2, NULL);
	printf("ready reaper=%d\n", (int)reaper);
	while (!stop) {
		sigprocmask(SIG_UNBLOCK, &only_usr2, NULL);
		sigprocmask(SIG_BLOCK, &only_usr2, NULL);
		nanosleep(&two_ms, NULL);
	}
	sigprocmask(SIG_UNBLOCK, &only_usr2, NULL);
	printf("usr2 handled=%ld on_main=%ld on_reaper=%ld elsewhere=%ld\n", (long)handled,
	       (long)on_main, (long)on_reaper, (long)elsewhere);
	return 0;
}
