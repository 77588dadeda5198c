#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dispatch.h"
#include "log.h"
#include "procscan.h"
#include "real.h"
#include "sentinel.h"
#include "shutdown.h"
#include "sigtable.h"
#include "state.h"

/* Processes handled one by one in subreaper mode; kept on the stack. */
#define MAX_TARGETS 512
/* A SIGCHLD wakes the wait at once; this bounds it when none comes. */
#define RECHECK_MS 10
/* After SIGKILL, how long to wait for the kernel to finish them off. */
#define KILL_WAIT_MS 1000

static atomic_bool started;

bool shutdown_claim(void)
{
	return !atomic_exchange(&started, true);
}

bool shutdown_started(void)
{
	return atomic_load(&started);
}

static const char *name_of(int sig, char buf[16])
{
	return config_signal_name(sig, buf);
}

void shutdown_signal_others(int sig)
{
	if (g_is_pid1) {
		/* From a namespace's init, -1 means every other process of it. */
		kill(-1, sig);
		return;
	}
	pid_t targets[MAX_TARGETS];
	int count = procscan_descendants(getpid(), targets, MAX_TARGETS);
	for (int i = 0; i < count; i++)
		kill(targets[i], sig);
}

void shutdown_forward(int sig)
{
	int target = g_cfg.rewrite[sig] ? g_cfg.rewrite[sig] : sig;
	shutdown_signal_others(target);
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void reap_children(void)
{
	int status;
	pid_t pid;
	while ((pid = waitpid(-1, &status, WNOHANG | __WALL)) > 0)
		log_debug("reaped %d during shutdown", (int)pid);
}

static bool others_exist(void)
{
	if (g_is_pid1)
		return kill(-1, 0) == 0;
	siginfo_t info;
	return waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT | __WALL) == 0;
}

/*
 * Sleeps until a SIGCHLD arrives or timeout_ms passes. The SIGCHLD hook
 * makes the signal queue even where the app leaves it at SIG_DFL.
 */
static void wait_for_child_event(long long timeout_ms)
{
	sigset_t chld, saved;
	struct timespec ts = {
		.tv_sec = timeout_ms / 1000,
		.tv_nsec = (timeout_ms % 1000) * 1000000,
	};
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	pthread_sigmask(SIG_BLOCK, &chld, &saved);
	sigtimedwait(&chld, NULL, &ts);
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
}

static bool wait_until_gone(long long deadline_ms)
{
	for (;;) {
		reap_children();
		if (!others_exist())
			return true;
		long long left = deadline_ms - now_ms();
		if (left <= 0)
			return false;
		wait_for_child_event(left < RECHECK_MS ? left : RECHECK_MS);
	}
}

static void log_victim(pid_t pid, unsigned grace_ms)
{
	char comm[17], state;
	if (procscan_stat(pid, comm, &state) && state != 'Z')
		log_warn("grace of %ums expired: killing %d (%s)", grace_ms, (int)pid, comm);
}

static int kill_remaining(unsigned grace_ms)
{
	pid_t targets[MAX_TARGETS];
	int count;

	if (g_is_pid1)
		count = procscan_is_own_namespace() ? procscan_all_others(targets, MAX_TARGETS) : 0;
	else
		count = procscan_descendants(getpid(), targets, MAX_TARGETS);
	for (int i = 0; i < count; i++)
		log_victim(targets[i], grace_ms);
	if (g_is_pid1)
		kill(-1, SIGKILL);
	else
		for (int i = 0; i < count; i++)
			kill(targets[i], SIGKILL);
	return count < 0 ? 0 : count;
}

int shutdown_wait_then_kill(unsigned grace_ms)
{
	sentinel_stop();
	reap_children();
	if (!others_exist())
		return 0;
	sigtable_set_chld_hook(true);
	if (wait_until_gone(now_ms() + grace_ms))
		return 0;
	int killed = kill_remaining(grace_ms);
	wait_until_gone(now_ms() + KILL_WAIT_MS);
	return killed;
}

/* async-signal context */
void shutdown_on_signal(int sig)
{
	char name[16], fwd_name[16];
	if (!shutdown_claim())
		return;
	int forward = g_cfg.rewrite[sig] ? g_cfg.rewrite[sig] : sig;
	if (g_cfg.forward == FORWARD_NEVER) {
		log_info("%s received; forwarding disabled, exiting", name_of(sig, name));
		dispatch_die_of(sig);
	}
	log_info("%s received: sending %s to the other processes, grace %ums",
		 name_of(sig, name), name_of(forward, fwd_name), g_cfg.grace_ms);
	shutdown_signal_others(forward);
	shutdown_wait_then_kill(g_cfg.grace_ms);
	dispatch_die_of(sig);
}

void shutdown_drain(int exit_code)
{
	char name[16];
	if (!g_cfg.drain || !in_active_process() || !shutdown_claim())
		return;
	sentinel_stop();
	reap_children();
	/* Alone: leave at once, no sleep and no scan. */
	if (!others_exist())
		return;
	int term = g_cfg.rewrite[SIGTERM] ? g_cfg.rewrite[SIGTERM] : SIGTERM;
	log_info("exit %d: sending %s to the other processes, grace %ums", exit_code,
		 name_of(term, name), g_cfg.grace_ms);
	shutdown_signal_others(term);
	shutdown_wait_then_kill(g_cfg.grace_ms);
}
