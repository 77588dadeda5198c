/*
 * Every way a dynamically linked app starts or waits for a child: the
 * wrappers record which children are the app's, so the reaper never takes
 * their exit status, and forget them when the app has waited.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "children.h"
#include "export.h"
#include "interpose_proc.h"
#include "real.h"
#include "reaper.h"
#include "sigtable.h"
#include "state.h"

EXPORT pid_t __fork(void);
EXPORT pid_t __wait(int *status);

static void note_child(pid_t pid)
{
	int saved_errno = errno;
	if (pid > 0 && !children_add(pid, children_now_tick()))
		proc_warn_children_full();
	children_spawn_end();
	reaper_wake();
	errno = saved_errno;
}

static void note_waited(pid_t pid, int status)
{
	if (pid <= 0 || !(WIFEXITED(status) || WIFSIGNALED(status)) || !in_active_process())
		return;
	int saved_errno = errno;
	children_remove(pid);
	reaper_wake();
	errno = saved_errno;
}

void proc_after_fork_in_child(void)
{
	if (g_active_pid == 0)
		return;
	g_active_pid = 0;
	children_reset();
	sigtable_restore_kernel();
}

/* fork runs the atfork handler (the child goes inert there); _Fork does not. */
static pid_t tracked_fork(pid_t (*real_fork)(void), bool runs_atfork)
{
	if (!in_active_process())
		return real_fork();
	children_spawn_begin();
	pid_t pid = real_fork();
	if (pid != 0)
		note_child(pid);
	else if (!runs_atfork)
		proc_after_fork_in_child();
	return pid;
}

EXPORT pid_t fork(void)
{
	if (!real.fork)
		real_resolve();
	return tracked_fork(real.fork, true);
}

EXPORT pid_t __fork(void)
{
	return fork();
}

EXPORT pid_t _Fork(void)
{
	if (!real._Fork)
		real_resolve();
	return tracked_fork(real._Fork, false);
}

/* Called by vfork.S around the system call; the child shares our memory. */
void initsafe_vfork_prepare(void)
{
	if (in_active_process())
		children_spawn_begin();
}

pid_t initsafe_vfork_parent(pid_t pid)
{
	if (in_active_process())
		note_child(pid);
	return pid;
}

long initsafe_vfork_failed(int error)
{
	if (in_active_process())
		children_spawn_end();
	errno = error;
	return -1;
}

EXPORT int clone(int (*fn)(void *), void *stack, int flags, void *arg, ...)
{
	va_list ap;
	va_start(ap, arg);
	pid_t *parent_tid = va_arg(ap, pid_t *);
	void *tls = va_arg(ap, void *);
	pid_t *child_tid = va_arg(ap, pid_t *);
	va_end(ap);

	if (!real.clone)
		real_resolve();
	/* A thread, or a sibling (CLONE_PARENT), is not our child. */
	bool is_child = !(flags & (CLONE_THREAD | CLONE_PARENT)) && in_active_process();
	if (is_child)
		children_spawn_begin();
	int pid = real.clone(fn, stack, flags, arg, parent_tid, tls, child_tid);
	if (is_child)
		note_child(pid);
	return pid;
}

typedef int (*spawn_fn)(pid_t *, const char *, const posix_spawn_file_actions_t *,
			const posix_spawnattr_t *, char *const[], char *const[]);

static int tracked_spawn(spawn_fn spawn, pid_t *pid, const char *path,
			 const posix_spawn_file_actions_t *actions,
			 const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	pid_t child = 0;
	if (!in_active_process())
		return spawn(pid, path, actions, attr, argv, envp);
	children_spawn_begin();
	int rc = spawn(&child, path, actions, attr, argv, envp);
	note_child(rc == 0 ? child : -1);
	if (rc == 0 && pid)
		*pid = child;
	return rc;
}

EXPORT int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *actions,
		       const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	if (!real.posix_spawn)
		real_resolve();
	return tracked_spawn(real.posix_spawn, pid, path, actions, attr, argv, envp);
}

EXPORT int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *actions,
			const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	if (!real.posix_spawnp)
		real_resolve();
	return tracked_spawn(real.posix_spawnp, pid, file, actions, attr, argv, envp);
}

EXPORT pid_t wait4(pid_t pid, int *status, int options, struct rusage *usage)
{
	int st = 0;
	if (!real.wait4)
		real_resolve();
	pid_t got = real.wait4(pid, &st, options, usage);
	if (got > 0) {
		note_waited(got, st);
		if (status)
			*status = st;
	}
	return got;
}

EXPORT pid_t waitpid(pid_t pid, int *status, int options)
{
	return wait4(pid, status, options, NULL);
}

EXPORT pid_t wait(int *status)
{
	return wait4(-1, status, 0, NULL);
}

EXPORT pid_t wait3(int *status, int options, struct rusage *usage)
{
	return wait4(-1, status, options, usage);
}

EXPORT pid_t __wait(int *status)
{
	return wait4(-1, status, 0, NULL);
}

EXPORT int waitid(idtype_t type, id_t id, siginfo_t *info, int options)
{
	if (!real.waitid)
		real_resolve();
	int rc = real.waitid(type, id, info, options);
	bool reaped = rc == 0 && info && info->si_pid > 0 && !(options & WNOWAIT) &&
		      (info->si_code == CLD_EXITED || info->si_code == CLD_KILLED ||
		       info->si_code == CLD_DUMPED);
	if (reaped)
		note_waited(info->si_pid, info->si_code == CLD_EXITED ? 0 : SIGKILL);
	return rc;
}

/*
 * glibc's daemon() forks and exits through internal symbols, so PID 1
 * calling it would skip both the child's tracking and the exit drain:
 * the daemon it just started would be SIGKILLed by the kernel at once.
 */
static int detach_from_terminal(int nochdir, int noclose)
{
	struct stat st;
	if (setsid() < 0)
		return -1;
	if (!nochdir && chdir("/") < 0)
		return -1;
	if (noclose)
		return 0;
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || !S_ISCHR(st.st_mode)) {
		close(fd);
		return -1;
	}
	dup2(fd, STDIN_FILENO);
	dup2(fd, STDOUT_FILENO);
	dup2(fd, STDERR_FILENO);
	if (fd > STDERR_FILENO)
		close(fd);
	return 0;
}

EXPORT int daemon(int nochdir, int noclose)
{
	if (!real.daemon)
		real_resolve();
	if (!in_active_process())
		return real.daemon(nochdir, noclose);
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid > 0)
		_exit(0);
	return detach_from_terminal(nochdir, noclose);
}
