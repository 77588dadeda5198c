/*
 * Test app: checks that every way of starting and waiting for a child gives
 * the app the exact exit status, while a thread keeps making orphans
 * (double fork) for the reaper to take. Blocks SIGUSR1 first (the thread
 * inherits the mask), runs the checks, prints "wrong=N echild=M", then
 * waits for SIGUSR1 with sigwait and exits 0 only if both counts are 0.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ROUNDS 100

extern char **environ;

static atomic_int wrong, echild;
static atomic_bool stop_factory;
static atomic_long orphans_made;

static void sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Records an error of a call that should have given a status. */
static void failed(const char *what, int round)
{
	int error = errno;
	if (error == ECHILD)
		atomic_fetch_add(&echild, 1);
	else
		atomic_fetch_add(&wrong, 1);
	fprintf(stderr, "%s round %d: %s\n", what, round, strerror(error));
}

/* Compares a wait status with the exit code expected. */
static void check(const char *what, int round, int status, int expected)
{
	if (WIFEXITED(status) && WEXITSTATUS(status) == expected)
		return;
	atomic_fetch_add(&wrong, 1);
	fprintf(stderr, "%s round %d: status %#x, expected exit %d\n", what, round,
		(unsigned)status, expected);
}

static pid_t wait_for(pid_t pid, int *status)
{
	pid_t got;
	do
		got = waitpid(pid, status, 0);
	while (got < 0 && errno == EINTR);
	return got;
}

static void by_fork(int i)
{
	int status;
	pid_t pid = fork();
	if (pid == 0)
		_exit(i);
	if (pid < 0 || wait_for(pid, &status) != pid)
		failed("fork+waitpid", i);
	else
		check("fork+waitpid", i, status, i);
}

static void by_fork_late_wait(int i)
{
	int status;
	pid_t pid = fork();
	if (pid == 0)
		_exit(i);
	sleep_ms(30);
	if (pid < 0 || wait_for(pid, &status) != pid)
		failed("fork+late waitpid", i);
	else
		check("fork+late waitpid", i, status, i);
}

/* Every tenth round: waits longer than the reaper's default grace (50 ms). */
static void by_fork_very_late_wait(int i)
{
	int status;
	if (i % 10 != 0)
		return;
	pid_t pid = fork();
	if (pid == 0)
		_exit(i);
	sleep_ms(150);
	if (pid < 0 || wait_for(pid, &status) != pid)
		failed("fork+very late waitpid", i);
	else
		check("fork+very late waitpid", i, status, i);
}

static void by_posix_spawn(int i)
{
	char command[32];
	int status;
	pid_t pid;
	snprintf(command, sizeof command, "exit %d", i);
	char *argv[] = { "sh", "-c", command, NULL };
	int rc = posix_spawn(&pid, "/bin/sh", NULL, NULL, argv, environ);
	if (rc != 0) {
		errno = rc;
		failed("posix_spawn", i);
	} else if (wait_for(pid, &status) != pid) {
		failed("posix_spawn+waitpid", i);
	} else {
		check("posix_spawn+waitpid", i, status, i);
	}
}

static void by_system(int i)
{
	char command[32];
	snprintf(command, sizeof command, "exit %d", i);
	int status = system(command);
	if (status < 0)
		failed("system", i);
	else
		check("system", i, status, i);
}

static void by_popen(int i)
{
	char command[32];
	snprintf(command, sizeof command, "exit %d", i);
	FILE *f = popen(command, "r");
	if (!f) {
		failed("popen", i);
		return;
	}
	int status = pclose(f);
	if (status < 0)
		failed("pclose", i);
	else
		check("popen+pclose", i, status, i);
}

static void by_vfork(int i)
{
	int status;
	pid_t pid = vfork();
	if (pid == 0)
		_exit(i);
	if (pid < 0 || wait_for(pid, &status) != pid)
		failed("vfork+waitpid", i);
	else
		check("vfork+waitpid", i, status, i);
}

static void by_waitid(int i)
{
	siginfo_t info;
	int rc;
	pid_t pid = fork();
	if (pid == 0)
		_exit(i);
	memset(&info, 0, sizeof info);
	do
		rc = waitid(P_PID, (id_t)pid, &info, WEXITED);
	while (rc < 0 && errno == EINTR);
	if (pid < 0 || rc < 0) {
		failed("fork+waitid", i);
	} else if (info.si_pid != pid || info.si_code != CLD_EXITED || info.si_status != i) {
		atomic_fetch_add(&wrong, 1);
		fprintf(stderr, "fork+waitid round %d: pid %d code %d status %d\n", i,
			(int)info.si_pid, info.si_code, info.si_status);
	}
}

/* Double forks: the grandchild, re-parented to PID 1, dies 1-5 ms later. */
static void *orphan_factory(void *unused)
{
	unsigned seed = 12345;
	(void)unused;
	while (!atomic_load(&stop_factory)) {
		int status;
		long nap = 1 + rand_r(&seed) % 5;
		pid_t child = fork();
		if (child == 0) {
			if (fork() == 0) {
				sleep_ms(nap);
				_exit(0);
			}
			_exit(0);
		}
		if (child < 0 || wait_for(child, &status) != child)
			failed("orphan factory waitpid", 0);
		else
			check("orphan factory waitpid", 0, status, 0);
		atomic_fetch_add(&orphans_made, 1);
		sleep_ms(2);
	}
	return NULL;
}

int main(void)
{
	static void (*const ways[])(int) = {
		by_fork, by_fork_late_wait, by_fork_very_late_wait, by_posix_spawn, by_system, by_popen, by_vfork, by_waitid,
	};
	sigset_t usr1;
	pthread_t factory;
	int sig;

	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &usr1, NULL);
	if (pthread_create(&factory, NULL, orphan_factory, NULL) != 0) {
		fputs("pthread_create failed\n", stderr);
		return 2;
	}
	for (int i = 1; i <= ROUNDS; i++)
		for (size_t w = 0; w < sizeof ways / sizeof ways[0]; w++)
			ways[w](i);
	atomic_store(&stop_factory, true);
	pthread_join(factory, NULL);
	/* The last grandchildren die within 5 ms. */
	sleep_ms(50);
	printf("orphans=%ld\n", atomic_load(&orphans_made));
	printf("wrong=%d echild=%d\n", atomic_load(&wrong), atomic_load(&echild));
	fflush(stdout);
	sigwait(&usr1, &sig);
	return atomic_load(&wrong) == 0 && atomic_load(&echild) == 0 ? 0 : 1;
}
