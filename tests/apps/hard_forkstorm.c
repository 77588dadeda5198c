/*
 * Test app for the fork/exec storm under a pids limit:
 *
 *   hard_forkstorm CHILDREN ORPHAN_INTERVAL_MS
 *
 * Blocks SIGUSR2, prints "ready" and waits for SIGUSR2 (the test moves it
 * into a pids cgroup meanwhile). Then the main thread starts CHILDREN
 * short children, at most WINDOW alive at a time, each waited for by pid
 * in order: one in three execs /bin/true (exit 0), one /bin/false (exit
 * 1), one leaves at once with _exit(i % 200 + 2). Every status must be
 * that child's exact code. Meanwhile a thread makes one orphan every
 * ORPHAN_INTERVAL_MS: a child that forks a grandchild and leaves; the
 * grandchild exits at once and, its parent gone, is PID 1's to reap.
 *
 * fork() failing with EAGAIN is counted (the storm retries after 1 ms; it
 * gives up after GIVE_UP consecutive failures, which only happens when
 * nothing reaps the orphans), and so is an intermediate child that could
 * not fork its grandchild (it exits 100). At the end:
 *   forkstorm: children=N waited=N exact=N wrong=N echild=N eagain=N
 *              other_errors=N orphans=N orphan_eagain=N gave_up=0|1
 *   done
 * then it waits for SIGUSR2 again and exits 0.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define WINDOW 8
#define GIVE_UP 200
#define INTERMEDIATE_NO_FORK 100

static atomic_bool stop_factory;
static atomic_long orphans, orphan_eagain, factory_eagain, factory_errors;
static long eagain, other_errors, wrong, echild, exact, waited, started;

static void sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static pid_t wait_for(pid_t pid, int *status)
{
	pid_t got;
	do
		got = waitpid(pid, status, 0);
	while (got < 0 && errno == EINTR);
	return got;
}

static void *orphan_factory(void *arg)
{
	long interval_ms = (long)(intptr_t)arg;
	while (!atomic_load(&stop_factory)) {
		pid_t pid = fork();
		if (pid == 0) {
			pid_t grandchild = fork();
			if (grandchild == 0)
				_exit(0);
			_exit(grandchild < 0 ? INTERMEDIATE_NO_FORK : 0);
		}
		if (pid < 0) {
			atomic_fetch_add(errno == EAGAIN ? &factory_eagain : &factory_errors, 1);
		} else {
			int status;
			if (wait_for(pid, &status) != pid || !WIFEXITED(status))
				atomic_fetch_add(&factory_errors, 1);
			else if (WEXITSTATUS(status) == INTERMEDIATE_NO_FORK)
				atomic_fetch_add(&orphan_eagain, 1);
			else if (WEXITSTATUS(status) == 0)
				atomic_fetch_add(&orphans, 1);
			else
				atomic_fetch_add(&factory_errors, 1);
		}
		sleep_ms(interval_ms);
	}
	return NULL;
}

struct running {
	pid_t pid;
	int expected;
};

static void wait_oldest(struct running *child)
{
	int status;
	pid_t got = wait_for(child->pid, &status);
	waited++;
	if (got != child->pid) {
		if (errno == ECHILD)
			echild++;
		else
			wrong++;
		fprintf(stderr, "waitpid(%d): %s\n", (int)child->pid, strerror(errno));
	} else if (WIFEXITED(status) && WEXITSTATUS(status) == child->expected) {
		exact++;
	} else {
		wrong++;
		fprintf(stderr, "child %d: status %#x, expected exit %d\n", (int)child->pid,
			(unsigned)status, child->expected);
	}
}

/* Starts child i; -1 when fork failed (errno set). */
static pid_t start_child(int i, int *expected)
{
	static char *const true_argv[] = { "true", NULL };
	static char *const false_argv[] = { "false", NULL };
	int kind = i % 3;
	*expected = kind == 0 ? 0 : kind == 1 ? 1 : i % 200 + 2;
	pid_t pid = fork();
	if (pid == 0) {
		if (kind == 0)
			execv("/bin/true", true_argv);
		else if (kind == 1)
			execv("/bin/false", false_argv);
		else
			_exit(*expected);
		_exit(127);
	}
	return pid;
}

/* Returns false when it gave up. */
static bool storm(int children)
{
	struct running ring[WINDOW];
	int head = 0, alive = 0, failures = 0;

	for (int i = 0; i < children;) {
		if (alive == WINDOW) {
			wait_oldest(&ring[head]);
			head = (head + 1) % WINDOW;
			alive--;
		}
		int expected;
		pid_t pid = start_child(i, &expected);
		if (pid < 0) {
			if (errno == EAGAIN)
				eagain++;
			else
				other_errors++;
			if (++failures == GIVE_UP)
				break;
			sleep_ms(1);
			continue;
		}
		failures = 0;
		started++;
		ring[(head + alive) % WINDOW] = (struct running){ pid, expected };
		alive++;
		i++;
	}
	for (; alive > 0; alive--) {
		wait_oldest(&ring[head]);
		head = (head + 1) % WINDOW;
	}
	return failures < GIVE_UP;
}

static void wait_usr2(const sigset_t *usr2)
{
	int sig;
	while (sigwait(usr2, &sig) != 0 || sig != SIGUSR2)
		;
}

int main(int argc, char **argv)
{
	pthread_t factory;
	sigset_t usr2;

	if (argc != 3) {
		fprintf(stderr, "usage: %s CHILDREN ORPHAN_INTERVAL_MS\n", argv[0]);
		return 2;
	}
	int children = atoi(argv[1]);
	long interval_ms = atol(argv[2]);
	setvbuf(stdout, NULL, _IOLBF, 0);
	sigemptyset(&usr2);
	sigaddset(&usr2, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &usr2, NULL);
	puts("ready");
	wait_usr2(&usr2);

	if (pthread_create(&factory, NULL, orphan_factory, (void *)(intptr_t)interval_ms) != 0)
		return 2;
	bool finished = storm(children);
	atomic_store(&stop_factory, true);
	pthread_join(factory, NULL);

	printf("forkstorm: children=%ld waited=%ld exact=%ld wrong=%ld echild=%ld eagain=%ld "
	       "other_errors=%ld orphans=%ld orphan_eagain=%ld factory_eagain=%ld "
	       "factory_errors=%ld gave_up=%d\n",
	       started, waited, exact, wrong, echild, eagain, other_errors, (long)orphans,
	       (long)orphan_eagain, (long)factory_eagain, (long)factory_errors, !finished);
	puts("done");
	wait_usr2(&usr2);
	return 0;
}
