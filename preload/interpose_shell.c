/*
 * system() and popen()/pclose() for the active process. glibc's own spawn
 * with its internal __posix_spawn and wait with its internal __waitpid, so
 * no wrapper would see those children; rebuilt here on the tracked spawn,
 * with glibc's documented semantics.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "children.h"
#include "export.h"
#include "real.h"
#include "state.h"

extern char **environ;

static const char shell_path[] = "/bin/sh";

/* Waits for one child of ours, through the tracked waitpid. */
static int wait_child(pid_t pid, int *status)
{
	pid_t got;
	do
		got = waitpid(pid, status, 0);
	while (got < 0 && errno == EINTR);
	return got == pid ? 0 : -1;
}

static int spawn_shell(pid_t *pid, const char *command,
		       const posix_spawn_file_actions_t *actions, const posix_spawnattr_t *attr)
{
	char *const argv[] = { (char *)"sh", (char *)"-c", (char *)command, NULL };
	return posix_spawn(pid, shell_path, actions, attr, argv, environ);
}

/*
 * SIGINT and SIGQUIT are ignored while any system() runs (a count, as
 * several threads may call it); SIGCHLD is blocked in the caller.
 */
static pthread_mutex_t system_lock = PTHREAD_MUTEX_INITIALIZER;
static int system_running;
static struct sigaction saved_int, saved_quit;

static void ignore_int_quit(struct sigaction *was_int, struct sigaction *was_quit)
{
	pthread_mutex_lock(&system_lock);
	if (system_running++ == 0) {
		struct sigaction ignore = { .sa_handler = SIG_IGN };
		sigemptyset(&ignore.sa_mask);
		sigaction(SIGINT, &ignore, &saved_int);
		sigaction(SIGQUIT, &ignore, &saved_quit);
	}
	*was_int = saved_int;
	*was_quit = saved_quit;
	pthread_mutex_unlock(&system_lock);
}

static void restore_int_quit(void)
{
	pthread_mutex_lock(&system_lock);
	if (--system_running == 0) {
		sigaction(SIGINT, &saved_int, NULL);
		sigaction(SIGQUIT, &saved_quit, NULL);
	}
	pthread_mutex_unlock(&system_lock);
}

static int run_shell(const char *command)
{
	struct sigaction was_int, was_quit;
	sigset_t chld, was_mask, reset;
	posix_spawnattr_t attr;
	pid_t pid;
	int status = -1;

	ignore_int_quit(&was_int, &was_quit);
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, &was_mask);

	/* The shell gets the caller's mask and INT/QUIT as they were before. */
	sigemptyset(&reset);
	if (was_int.sa_handler != SIG_IGN)
		sigaddset(&reset, SIGINT);
	if (was_quit.sa_handler != SIG_IGN)
		sigaddset(&reset, SIGQUIT);
	posix_spawnattr_init(&attr);
	posix_spawnattr_setsigmask(&attr, &was_mask);
	posix_spawnattr_setsigdefault(&attr, &reset);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);

	int rc = spawn_shell(&pid, command, NULL, &attr);
	if (rc == 0) {
		if (wait_child(pid, &status) < 0)
			status = -1;
	} else {
		status = W_EXITCODE(127, 0);
	}
	posix_spawnattr_destroy(&attr);

	int saved_errno = errno;
	restore_int_quit();
	sigprocmask(SIG_SETMASK, &was_mask, NULL);
	errno = saved_errno;
	return status;
}

EXPORT int system(const char *command)
{
	if (!real.system)
		real_resolve();
	if (!in_active_process())
		return real.system(command);
	if (!command)
		return run_shell("exit 0") == 0;
	return run_shell(command);
}

/* Streams popen() returned and not yet closed, with their children. */
struct popen_stream {
	FILE *file;
	pid_t pid;
	struct popen_stream *next;
};

static pthread_mutex_t streams_lock = PTHREAD_MUTEX_INITIALIZER;
static struct popen_stream *streams;

struct popen_mode {
	bool reading;
	bool cloexec;
};

static bool parse_mode(const char *mode, struct popen_mode *out)
{
	if (!mode || (mode[0] != 'r' && mode[0] != 'w'))
		return false;
	out->reading = mode[0] == 'r';
	out->cloexec = false;
	for (const char *c = mode + 1; *c; c++) {
		if (*c != 'e')
			return false;
		out->cloexec = true;
	}
	return true;
}

/* The child must not keep earlier popen() pipes open (POSIX). */
static void close_earlier_streams(posix_spawn_file_actions_t *actions)
{
	for (struct popen_stream *s = streams; s; s = s->next)
		posix_spawn_file_actions_addclose(actions, fileno(s->file));
}

static FILE *open_stream(const char *command, struct popen_mode mode)
{
	int ends[2];
	if (pipe2(ends, O_CLOEXEC) < 0)
		return NULL;
	int ours = mode.reading ? ends[0] : ends[1];
	int theirs = mode.reading ? ends[1] : ends[0];
	int target = mode.reading ? STDOUT_FILENO : STDIN_FILENO;
	struct popen_stream *entry = malloc(sizeof *entry);
	posix_spawn_file_actions_t actions;
	pid_t pid;
	int rc = ENOMEM;

	posix_spawn_file_actions_init(&actions);
	pthread_mutex_lock(&streams_lock);
	if (entry) {
		close_earlier_streams(&actions);
		/* dup2 onto itself clears FD_CLOEXEC in glibc's posix_spawn. */
		posix_spawn_file_actions_adddup2(&actions, theirs, target);
		rc = spawn_shell(&pid, command, &actions, NULL);
	}
	FILE *file = NULL;
	if (rc == 0) {
		if (!mode.cloexec)
			fcntl(ours, F_SETFD, 0);
		file = fdopen(ours, mode.reading ? "r" : "w");
	}
	if (file) {
		entry->file = file;
		entry->pid = pid;
		entry->next = streams;
		streams = entry;
	}
	pthread_mutex_unlock(&streams_lock);
	posix_spawn_file_actions_destroy(&actions);
	close(theirs);
	if (file)
		return file;
	int saved_errno = rc ? rc : errno;
	close(ours);
	free(entry);
	if (rc == 0)
		wait_child(pid, &(int){ 0 });
	errno = saved_errno;
	return NULL;
}

EXPORT FILE *popen(const char *command, const char *mode)
{
	struct popen_mode parsed;
	if (!real.popen)
		real_resolve();
	if (!in_active_process())
		return real.popen(command, mode);
	if (!parse_mode(mode, &parsed)) {
		errno = EINVAL;
		return NULL;
	}
	return open_stream(command, parsed);
}

static struct popen_stream *take_stream(FILE *file)
{
	pthread_mutex_lock(&streams_lock);
	struct popen_stream **link = &streams;
	while (*link && (*link)->file != file)
		link = &(*link)->next;
	struct popen_stream *found = *link;
	if (found)
		*link = found->next;
	pthread_mutex_unlock(&streams_lock);
	return found;
}

EXPORT int pclose(FILE *file)
{
	if (!real.pclose)
		real_resolve();
	struct popen_stream *stream = take_stream(file);
	if (!stream) {
		if (!in_active_process())
			return real.pclose(file);
		errno = ECHILD;
		return -1;
	}
	pid_t pid = stream->pid;
	int status;
	free(stream);
	fclose(file);
	return wait_child(pid, &status) == 0 ? status : -1;
}
