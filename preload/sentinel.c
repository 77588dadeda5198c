#include <linux/prctl.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "real.h"
#include "sentinel.h"

static atomic_int running_pid;
static atomic_bool forbidden;
static char stack[4096] __attribute__((aligned(16)));

/*
 * The clone runs on the reaper's TLS: nothing here may touch errno or any
 * other thread-local state, so the system calls are made by hand.
 */
static long raw_syscall3(long number, long a, long b, long c)
{
	long result;
	__asm__ volatile("syscall"
			 : "=a"(result)
			 : "a"(number), "D"(a), "S"(b), "d"(c)
			 : "rcx", "r11", "memory");
	return result;
}

struct creator {
	pid_t tgid, tid;
};

static struct creator creator;

static int sentinel_main(void *arg)
{
	const struct creator *parent = arg;
	raw_syscall3(SYS_prctl, PR_SET_NAME, (long)"initsafe-idle", 0);
	/* The reaper thread ends when PID 1 execs: go with it. */
	raw_syscall3(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0);
	/* It may have ended before the line above took effect. */
	if (raw_syscall3(SYS_tgkill, parent->tgid, parent->tid, 0) != 0)
		raw_syscall3(SYS_exit, 0, 0, 0);
	for (;;)
		raw_syscall3(SYS_pause, 0, 0, 0);
	return 0;
}

/*
 * valgrind runs a CLONE_VM child as one of its own threads and then
 * breaks PID 1; there the reaper falls back to its SIGCHLD hook.
 */
static bool under_valgrind(void)
{
	const char *preload = getenv("LD_PRELOAD");
	return preload && strstr(preload, "vgpreload");
}

bool sentinel_ensure(void)
{
	if (atomic_load(&running_pid) != 0)
		return true;
	if (atomic_load(&forbidden) || !real.clone || under_valgrind())
		return false;
	creator.tgid = getpid();
	creator.tid = gettid();
	/* Exit signal 0 (the low byte of flags): no SIGCHLD, invisible to wait(). */
	int flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_UNTRACED;
	int pid = real.clone(sentinel_main, stack + sizeof stack, flags, &creator);
	if (pid <= 0)
		return false;
	atomic_store(&running_pid, pid);
	/* A shutdown that began meanwhile must not wait for it. */
	if (atomic_load(&forbidden))
		sentinel_stop();
	return true;
}

pid_t sentinel_pid(void)
{
	return atomic_load(&running_pid);
}

void sentinel_gone(pid_t pid)
{
	int expected = pid;
	atomic_compare_exchange_strong(&running_pid, &expected, 0);
}

void sentinel_stop(void)
{
	atomic_store(&forbidden, true);
	int pid = atomic_exchange(&running_pid, 0);
	if (pid <= 0)
		return;
	kill(pid, SIGKILL);
	/* The reaper may take it first; either way it is gone after this. */
	siginfo_t info;
	real.waitid(P_PID, (id_t)pid, &info, WEXITED | __WCLONE);
}
