/*
 * The reaper thread. It peeks at exited children with WNOWAIT and reaps
 * one pid at a time, never waitpid(-1): a status the app will wait for
 * (system(), pclose(), Popen.wait(), bash's $?) must stay where it is.
 *
 * States and how it sleeps, all in the kernel, none periodic:
 *  - children, none exited:   waitid(P_ALL, WEXITED|WNOWAIT) blocks.
 *  - no child at all:         the idle child (sentinel.h) keeps waitid
 *                             blocking; without it, a futex that a SIGCHLD
 *                             hook (armed only then) or a fork wakes.
 *  - an orphan exited:        waits INITSAFE_REAP_GRACE (a raw-clone child
 *                             of the app would be waited for by then), reaps.
 *  - only the app's own zombies remain: futex with a backoff (1 ms .. 1 s),
 *                             woken early by the app's wait; the one state
 *                             with timed wake-ups, and it lasts only while
 *                             the app has not yet waited for its child.
 */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "children.h"
#include "log.h"
#include "procscan.h"
#include "real.h"
#include "reaper.h"
#include "sentinel.h"
#include "shutdown.h"
#include "sigtable.h"
#include "state.h"

#define REAPER_STACK (64 * 1024)
#define MAX_BATCH 8192
#define MAX_PIDFDS 64
#define BACKOFF_MIN_MS 1
#define BACKOFF_MAX_MS 1000

static atomic_uint wake_seq;
static atomic_bool reaper_sleeping;

/* async-signal-safe */
void reaper_wake(void)
{
	atomic_fetch_add(&wake_seq, 1);
	if (atomic_load(&reaper_sleeping)) {
		int saved_errno = errno;
		syscall(SYS_futex, &wake_seq, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
		errno = saved_errno;
	}
}

/* Sleeps until reaper_wake() after seen was read, or timeout_ms (-1: none). */
static void sleep_until_woken(unsigned seen, long timeout_ms)
{
	struct timespec ts, *timeout = NULL;
	if (timeout_ms >= 0) {
		ts.tv_sec = timeout_ms / 1000;
		ts.tv_nsec = (timeout_ms % 1000) * 1000000L;
		timeout = &ts;
	}
	syscall(SYS_futex, &wake_seq, FUTEX_WAIT_PRIVATE, seen, timeout, NULL, 0);
}

static void sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

enum peek { PEEK_NO_CHILD, PEEK_NONE_EXITED, PEEK_EXITED };

static enum peek peek_children(pid_t *pid)
{
	siginfo_t info;
	info.si_pid = 0;
	if (real.waitid(P_ALL, 0, &info, WEXITED | WNOWAIT | WNOHANG | __WALL) < 0)
		return errno == ECHILD ? PEEK_NO_CHILD : PEEK_NONE_EXITED;
	*pid = info.si_pid;
	return info.si_pid ? PEEK_EXITED : PEEK_NONE_EXITED;
}

static bool is_zombie_child(pid_t pid)
{
	siginfo_t info;
	info.si_pid = 0;
	return real.waitid(P_PID, (id_t)pid, &info, WEXITED | WNOWAIT | WNOHANG) == 0 &&
	       info.si_pid == pid;
}

/*
 * What one pass knows: the pids the active process holds a pidfd for
 * (/proc/self/fdinfo "Pid:"), a sign the app will wait for them (Go 1.23+,
 * systemd-style code). Read once per pass: it costs a readlink per fd.
 */
struct pass {
	pid_t pidfds[MAX_PIDFDS];
	int npidfds;
};

static void pass_begin(struct pass *p)
{
	p->npidfds = procscan_pidfd_pids(p->pidfds, MAX_PIDFDS);
}

static bool in_list(pid_t pid, const pid_t *list, int count)
{
	for (int i = 0; i < count; i++)
		if (list[i] == pid)
			return true;
	return false;
}

/* Not recorded as the app's (or recorded for a pid since reused), no pidfd held. */
static bool is_unowned(pid_t pid, const struct pass *p)
{
	if (in_list(pid, p->pidfds, p->npidfds))
		return false;
	if (!children_owns(pid, 0))
		return true;
	return !children_owns(pid, procscan_start_ticks(pid));
}

/*
 * An exited child nobody will wait for. While a spawn is in flight, an
 * unrecorded zombie may be its child, not yet recorded.
 */
static bool is_orphan(pid_t pid, const struct pass *p)
{
	return !children_spawn_in_flight() && is_unowned(pid, p);
}

static void reap(pid_t pid)
{
	char comm[17] = "?", state;
	int status;
	bool want_log = log_enabled(LOG_INFO);
	if (want_log)
		procscan_stat(pid, comm, &state);
	if (real.waitpid(pid, &status, WNOHANG | __WALL) != pid)
		return;
	if (!want_log)
		return;
	if (WIFSIGNALED(status))
		log_info("reaped orphan %d (%s) killed by signal %d", (int)pid, comm, WTERMSIG(status));
	else
		log_info("reaped orphan %d (%s) exit %d", (int)pid, comm, WEXITSTATUS(status));
}

/*
 * INITSAFE_REAP_GRACE=0: reap orphans as waitid hands them over, one
 * pidfd scan for the whole run. False when the head is the app's.
 */
static bool reap_heads_at_once(pid_t head)
{
	struct pass p;
	if (g_cfg.reap_grace_ms != 0)
		return false;
	pass_begin(&p);
	if (!is_orphan(head, &p))
		return false;
	do
		reap(head);
	while (peek_children(&head) == PEEK_EXITED && head != sentinel_pid() && is_orphan(head, &p));
	return true;
}

/*
 * Big enough for an orphan storm in one pass; static (the thread's stack
 * is small), touched only when that many children exist.
 */
static pid_t pass_children[MAX_BATCH], pass_orphans[MAX_BATCH];

/* Exited children that are orphans: head first, then the others found in /proc. */
static int collect_orphans(pid_t head, const struct pass *p)
{
	int count = 0;
	if (is_orphan(head, p))
		pass_orphans[count++] = head;
	int nchildren = procscan_children(getpid(), pass_children, MAX_BATCH);
	for (int i = 0; i < nchildren && count < MAX_BATCH; i++)
		if (pass_children[i] != head && is_zombie_child(pass_children[i]) &&
		    is_orphan(pass_children[i], p))
			pass_orphans[count++] = pass_children[i];
	return count;
}

/*
 * Every orphan exited now gets the grace at once, then all are reaped
 * together. Returns false when every exited child is the app's to wait for.
 */
static bool reap_orphans(pid_t head)
{
	struct pass p;
	pass_begin(&p);
	int count = collect_orphans(head, &p);
	if (count == 0)
		return false;
	/* Let the app wait for a child it made behind our back (raw clone). */
	if (g_cfg.reap_grace_ms) {
		log_debug("%d orphan(s), first %d: waiting the %ums grace", count,
			  (int)pass_orphans[0], g_cfg.reap_grace_ms);
		sleep_ms(g_cfg.reap_grace_ms);
		pass_begin(&p);
	}
	/*
	 * These were zombies before any spawn now in flight began, so none can
	 * be its child: only a recording or a pidfd since then can save them.
	 */
	for (int i = 0; i < count; i++) {
		if (is_unowned(pass_orphans[i], &p))
			reap(pass_orphans[i]);
		else
			log_debug("%d was claimed during the grace: left to the app",
				  (int)pass_orphans[i]);
	}
	return true;
}

static void wait_for_any_child(void)
{
	siginfo_t info;
	sigtable_set_chld_hook(false);
	real.waitid(P_ALL, 0, &info, WEXITED | WNOWAIT | __WALL);
}

/*
 * No child at all. The idle child makes waitid block again; failing that,
 * only a SIGCHLD (an orphan that arrived silently died) or a fork wakes us.
 */
static void wait_for_first_child(void)
{
	pid_t pid;
	if (sentinel_ensure())
		return;
	unsigned seen = atomic_load(&wake_seq);
	atomic_store(&reaper_sleeping, true);
	sigtable_set_chld_hook(true);
	/* An orphan may have arrived and died before the hook was armed. */
	if (peek_children(&pid) == PEEK_NO_CHILD)
		sleep_until_woken(seen, -1);
	atomic_store(&reaper_sleeping, false);
}

static void wait_for_app(long *backoff_ms)
{
	unsigned seen = atomic_load(&wake_seq);
	atomic_store(&reaper_sleeping, true);
	sleep_until_woken(seen, *backoff_ms);
	atomic_store(&reaper_sleeping, false);
	*backoff_ms = *backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : *backoff_ms * 2;
}

/* Sleeps for good: nothing ever wakes this futex. */
static void park(void)
{
	static int never;
	for (;;)
		syscall(SYS_futex, &never, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
}

static void *reaper_main(void *unused)
{
	long backoff_ms = BACKOFF_MIN_MS;
	(void)unused;
	for (;;) {
		pid_t head = 0;
		/* The shutdown reaps everything itself; keep off its CPU. */
		if (shutdown_started())
			park();
		switch (peek_children(&head)) {
		case PEEK_NO_CHILD:
			wait_for_first_child();
			backoff_ms = BACKOFF_MIN_MS;
			continue;
		case PEEK_NONE_EXITED:
			wait_for_any_child();
			backoff_ms = BACKOFF_MIN_MS;
			continue;
		case PEEK_EXITED:
			break;
		}
		if (head == sentinel_pid()) {
			real.waitpid(head, NULL, WNOHANG | __WCLONE);
			sentinel_gone(head);
			continue;
		}
		if (reap_heads_at_once(head) || reap_orphans(head)) {
			backoff_ms = BACKOFF_MIN_MS;
		} else {
			if (backoff_ms == BACKOFF_MIN_MS)
				log_debug("%d exited and is the app's to wait for", (int)head);
			wait_for_app(&backoff_ms);
		}
	}
	return NULL;
}

int reaper_start(void)
{
	pthread_attr_t attr;
	pthread_t thread;
	sigset_t all, saved;

	/* Created with every signal blocked: it must never take the app's. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &saved);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, REAPER_STACK);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	int rc = pthread_create(&thread, &attr, reaper_main, NULL);
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
	if (rc != 0) {
		log_error("cannot start the reaper thread (%s); orphans will not be reaped",
			  strerror(rc));
		return -1;
	}
	pthread_setname_np(thread, "initsafe-reap");
	return 0;
}
