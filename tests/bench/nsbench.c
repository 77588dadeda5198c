/*
 * nsbench: the measuring half of `make bench` (tests/bench/bench.sh drives it).
 *
 * It makes the PID namespace itself (raw clone(CLONE_NEWPID|CLONE_NEWNS|
 * SIGCHLD), a private mount tree and a fresh /proc), so that the program under
 * test is PID 1 exactly as in a container, and it times with CLOCK_MONOTONIC.
 * One invocation is one sample; it prints one line of numbers on stdout.
 *
 *   nsbench stop    [opts] -- CMD...  TERM to PID 1 once `sleep` runs in the
 *                                     namespace: "<ns> <exit code>", or
 *                                     "timeout <ns> -1" when PID 1 ignored it
 *   nsbench storm   [opts] -- CMD...  -n orphans made by a session that
 *                                     entered the namespace (setns) and left,
 *                                     all released at once; zombies counted
 *                                     from outside with one pidfd each:
 *                                     "<last exit→0 zombies ns> <go→0 ns>
 *                                      <peak zombies> <go→last exit ns>
 *                                      <spawn ns> <polls> <PID 1's CPU ns
 *                                      from go to 0 zombies>", or "timeout
 *                                      <go→timeout ns> <peak> <go→last exit>
 *                                      <spawn ns> <polls> <left>" after -T
 *   nsbench mem     [opts] -- CMD...  smaps_rollup of PID 1 once ready (KiB):
 *                                     "<Rss> <Pss> <Pss_Anon> <Pss_File>
 *                                      <Private_Dirty> <Anonymous>"
 *   nsbench startup [opts] -- CMD...  exec of PID 1 → the app's main (the app
 *                                     writes its CLOCK_MONOTONIC to fd 9):
 *                                     "<ns>"
 *   nsbench run     [opts] -- CMD...  runs CMD as PID 1 and exits as it did
 *   nsbench loop    [opts] -- CMD...  runs CMD as a plain child (no namespace):
 *                                     "<wall ns> <user us> <sys us> <minflt>
 *                                      <voluntary cs> <involuntary cs>"
 *   nsbench idle    [opts] -- GROUP [--- GROUP]...
 *                                     every GROUP ("LABEL [-e N=V] [-t THREAD]
 *                                     CMD...") runs at once as PID 1 of its own
 *                                     namespace; the context switches of the
 *                                     watched task (thread THREAD of PID 1, or
 *                                     all of PID 1) are sampled -k times over
 *                                     -S ms: "LABEL <total> <slice>..." a line
 *
 * Options: -e NAME=VALUE  add to CMD's environment (repeatable; nsbench
 *                         itself never runs with the preload)
 *          -t THREAD      also wait for a thread of PID 1 with this name
 *          -w COMM        the process whose running means ready (sleep)
 *          -T MS          timeout (default 10000); stop: before SIGKILL;
 *                         storm: from the last orphan's exit to 0 zombies
 *          -n N           orphans (storm; default 5000)
 *          -s MS          settle time once ready (default 20)
 *          -p US          storm: poll interval after the last exit (100)
 *          -S MS, -k N    idle: observation time and slices (5000, 10)
 *          -q             CMD's stdin and stdout on /dev/null
 *          -P FILE        write PID 1's host pid to FILE once ready (to profile)
 *          -M FILE        mem: also copy PID 1's /proc/PID/smaps to FILE
 *          -x COMM        idle: also watch PID 1's descendants named COMM;
 *                         storm: never count them as orphans
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

#define MAX_ENV 32
#define MAX_GROUPS 16
#define MAX_PIDS 16384
#define APP_FD 9

struct opts {
	char *env[MAX_ENV];
	int nenv;
	const char *thread;     /* thread of PID 1 to wait for / watch */
	const char *ready_comm; /* process whose running means ready */
	int timeout_ms;
	int orphans;
	int settle_ms;
	int poll_us;
	int idle_ms;
	int slices;
	bool quiet;
	const char *pid_file;   /* gets PID 1's host pid once ready (profiling) */
	const char *smaps_file; /* mem: a copy of PID 1's smaps */
	const char *extra_comm; /* idle: also watch PID 1's descendants of this name */
};

static void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("nsbench: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(2);
}

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void sleep_us(long us)
{
	struct timespec ts = { .tv_sec = us / 1000000, .tv_nsec = (us % 1000000) * 1000 };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int pidfd_open(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

/* ---- options ---- */

static void opts_default(struct opts *o)
{
	memset(o, 0, sizeof *o);
	o->ready_comm = "sleep";
	o->timeout_ms = 10000;
	o->orphans = 5000;
	o->settle_ms = 20;
	o->poll_us = 100;
	o->idle_ms = 5000;
	o->slices = 10;
}

static int to_int(const char *s, const char *what)
{
	char *end;
	long v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || v < 0 || v > INT_MAX)
		die("bad %s: '%s'", what, s);
	return (int)v;
}

/* Parses options up to "--" (or, with stop_at_word, the first non-option). */
static int parse_opts(int argc, char **argv, int i, struct opts *o, bool stop_at_word)
{
	for (; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--") == 0)
			return i + 1;
		if (a[0] != '-' || a[1] == '\0' || a[2] != '\0') {
			if (stop_at_word)
				return i;
			die("unexpected argument '%s'", a);
		}
		if (a[1] == 'q') {
			o->quiet = true;
			continue;
		}
		if (i + 1 >= argc)
			die("option %s needs a value", a);
		const char *v = argv[++i];
		switch (a[1]) {
		case 'e':
			if (o->nenv == MAX_ENV || !strchr(v, '='))
				die("bad -e '%s'", v);
			o->env[o->nenv++] = (char *)v;
			break;
		case 't': o->thread = v; break;
		case 'w': o->ready_comm = v; break;
		case 'T': o->timeout_ms = to_int(v, "-T"); break;
		case 'n': o->orphans = to_int(v, "-n"); break;
		case 's': o->settle_ms = to_int(v, "-s"); break;
		case 'p': o->poll_us = to_int(v, "-p"); break;
		case 'S': o->idle_ms = to_int(v, "-S"); break;
		case 'k': o->slices = to_int(v, "-k"); break;
		case 'P': o->pid_file = v; break;
		case 'M': o->smaps_file = v; break;
		case 'x': o->extra_comm = v; break;
		default: die("unknown option %s", a);
		}
	}
	return i;
}

/* ---- /proc from the outside (host pids) ---- */

static ssize_t read_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t got = 0;
	for (;;) {
		ssize_t n = read(fd, buf + got, size - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
		if (got == size - 1)
			break;
	}
	close(fd);
	buf[got] = '\0';
	return (ssize_t)got;
}

/* Appends the pids listed in one children file; returns the new count. */
static int add_children_file(const char *path, pid_t *out, int count, int max)
{
	static char buf[1 << 17];
	if (read_file(path, buf, sizeof buf) < 0)
		return count;
	long v = 0;
	for (char *p = buf;; p++) {
		if (*p >= '0' && *p <= '9') {
			v = v * 10 + (*p - '0');
			continue;
		}
		if (v > 0 && count < max)
			out[count++] = (pid_t)v;
		v = 0;
		if (*p == '\0')
			break;
	}
	return count;
}

/* Children of every thread of pid; -1 when pid is gone. */
static int children_of(pid_t pid, pid_t *out, int max)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
	DIR *dir = opendir(path);
	if (!dir)
		return -1;
	int count = 0;
	struct dirent *d;
	while ((d = readdir(dir)) != NULL) {
		if (d->d_name[0] < '0' || d->d_name[0] > '9')
			continue;
		char file[96];
		snprintf(file, sizeof file, "/proc/%d/task/%d/children", (int)pid, atoi(d->d_name));
		count = add_children_file(file, out, count, max);
	}
	closedir(dir);
	return count;
}

/* pid and all its descendants, pid first. */
static int tree_of(pid_t pid, pid_t *out, int max)
{
	int count = 0;
	out[count++] = pid;
	for (int next = 0; next < count && count < max; next++) {
		int more = children_of(out[next], out + count, max - count);
		if (more > 0)
			count += more;
	}
	return count;
}

static bool comm_is(const char *path, const char *name)
{
	char comm[64];
	if (read_file(path, comm, sizeof comm) <= 0)
		return false;
	comm[strcspn(comm, "\n")] = '\0';
	return strcmp(comm, name) == 0;
}

static bool tree_has_comm(pid_t pid1, const char *name)
{
	static pid_t tree[256];
	int n = tree_of(pid1, tree, 256);
	for (int i = 0; i < n; i++) {
		char path[64];
		snprintf(path, sizeof path, "/proc/%d/comm", (int)tree[i]);
		if (comm_is(path, name))
			return true;
	}
	return false;
}

/* The tid of pid's thread named name, 0 when there is none. */
static pid_t thread_named(pid_t pid, const char *name)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
	DIR *dir = opendir(path);
	if (!dir)
		return 0;
	pid_t found = 0;
	struct dirent *d;
	while (!found && (d = readdir(dir)) != NULL) {
		if (d->d_name[0] < '0' || d->d_name[0] > '9')
			continue;
		char file[96];
		snprintf(file, sizeof file, "/proc/%d/task/%d/comm", (int)pid, atoi(d->d_name));
		if (comm_is(file, name))
			found = (pid_t)atoi(d->d_name);
	}
	closedir(dir);
	return found;
}

static bool is_ready(pid_t pid1, const struct opts *o)
{
	if (o->ready_comm && *o->ready_comm && !tree_has_comm(pid1, o->ready_comm))
		return false;
	return !o->thread || thread_named(pid1, o->thread) != 0;
}

static void write_pid_file(const struct opts *o, pid_t pid1)
{
	if (!o->pid_file)
		return;
	FILE *f = fopen(o->pid_file, "w");
	if (f) {
		fprintf(f, "%d\n", (int)pid1);
		fclose(f);
	}
}

static void wait_ready(pid_t pid1, const struct opts *o)
{
	long long deadline = now_ns() + 10000000000LL;
	while (!is_ready(pid1, o)) {
		int status;
		if (waitpid(pid1, &status, WNOHANG) == pid1)
			die("PID 1 exited (status 0x%x) before it was ready", status);
		if (now_ns() > deadline)
			die("PID 1 not ready after 10 s (waiting for %s%s%s)", o->ready_comm,
			    o->thread ? " and thread " : "", o->thread ? o->thread : "");
		sleep_us(200);
	}
	write_pid_file(o, pid1);
	if (o->settle_ms)
		sleep_us(o->settle_ms * 1000L);
}

/* Voluntary plus involuntary context switches of one task. */
static long long ctxt_switches(pid_t pid, pid_t tid)
{
	char path[96], text[4096];
	if (tid)
		snprintf(path, sizeof path, "/proc/%d/task/%d/status", (int)pid, (int)tid);
	else
		snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	if (read_file(path, text, sizeof text) <= 0)
		return -1;
	long long sum = 0;
	const char *keys[] = { "voluntary_ctxt_switches:", "nonvoluntary_ctxt_switches:" };
	for (int k = 0; k < 2; k++) {
		const char *at = strstr(text, keys[k]);
		if (!at)
			return -1;
		sum += atoll(at + strlen(keys[k]));
	}
	return sum;
}

/* All threads of pid together. */
static long long ctxt_switches_all(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
	DIR *dir = opendir(path);
	if (!dir)
		return -1;
	long long sum = 0;
	struct dirent *d;
	while ((d = readdir(dir)) != NULL)
		if (d->d_name[0] >= '1' && d->d_name[0] <= '9')
			sum += ctxt_switches(pid, (pid_t)atoi(d->d_name));
	closedir(dir);
	return sum;
}

/* CPU time (ns) all threads of pid have run, from /proc/PID/task/TID/schedstat. */
static long long cpu_ns(pid_t pid)
{
	char path[64], text[128];
	snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
	DIR *dir = opendir(path);
	if (!dir)
		return -1;
	long long sum = 0;
	struct dirent *d;
	while ((d = readdir(dir)) != NULL) {
		if (d->d_name[0] < '1' || d->d_name[0] > '9')
			continue;
		snprintf(path, sizeof path, "/proc/%d/task/%d/schedstat", (int)pid, atoi(d->d_name));
		if (read_file(path, text, sizeof text) > 0)
			sum += atoll(text);
	}
	closedir(dir);
	return sum;
}

/* ---- launching ---- */

static void child_fail(int fd, const char *stage) __attribute__((noreturn));
static void child_fail(int fd, const char *stage)
{
	char msg[160];
	int len = snprintf(msg, sizeof msg, "%s: %s", stage, strerror(errno));
	if (write(fd, msg, (size_t)len) < 0) {
		/* the parent sees a short report */
	}
	_exit(127);
}

static void reset_signals(void)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	sigset_t none;
	for (int sig = 1; sig < NSIG; sig++)
		sigaction(sig, &dfl, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

/*
 * Starts argv as PID 1 of a new PID and mount namespace (or, with !new_ns,
 * as a plain child). app_fd >= 0 becomes fd 9 of the program. When t_exec
 * is given (shared memory), the child stores the time just before execve.
 */
static pid_t launch(char **argv, const struct opts *o, bool new_ns, int app_fd,
		    volatile long long *t_exec)
{
	int rep[2];
	if (pipe2(rep, O_CLOEXEC) != 0)
		die("pipe: %s", strerror(errno));
	fflush(NULL);
	pid_t pid;
	if (new_ns)
		pid = (pid_t)syscall(SYS_clone, CLONE_NEWPID | CLONE_NEWNS | SIGCHLD, NULL, NULL, NULL,
				     NULL);
	else
		pid = fork();
	if (pid < 0)
		die("clone: %s", strerror(errno));
	if (pid == 0) {
		close(rep[0]);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		reset_signals();
		if (new_ns) {
			if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
				child_fail(rep[1], "mount /");
			if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0)
				child_fail(rep[1], "mount /proc");
		}
		for (int i = 0; i < o->nenv; i++)
			if (putenv(o->env[i]) != 0)
				child_fail(rep[1], "putenv");
		if (o->quiet) {
			int null = open("/dev/null", O_RDWR);
			if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0)
				child_fail(rep[1], "/dev/null");
			if (null > 2)
				close(null);
		}
		if (app_fd >= 0 && dup2(app_fd, APP_FD) < 0)
			child_fail(rep[1], "dup2");
		if (t_exec)
			*t_exec = now_ns();
		execvp(argv[0], argv);
		child_fail(rep[1], argv[0]);
	}
	close(rep[1]);
	char msg[160];
	ssize_t n;
	do
		n = read(rep[0], msg, sizeof msg - 1);
	while (n < 0 && errno == EINTR);
	close(rep[0]);
	if (n > 0) {
		msg[n] = '\0';
		waitpid(pid, NULL, 0);
		die("%s", msg);
	}
	return pid;
}

/* Waits for pid to exit; returns the time it was seen gone, or -1 on timeout. */
static long long wait_exit(pid_t pid, int timeout_ms, int *status)
{
	int fd = pidfd_open(pid);
	if (fd >= 0) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int rc;
		do
			rc = poll(&p, 1, timeout_ms);
		while (rc < 0 && errno == EINTR);
		long long t = now_ns();
		close(fd);
		if (rc == 0)
			return -1;
		waitpid(pid, status, 0);
		return t;
	}
	/* No pidfd: poll waitpid. */
	long long deadline = now_ns() + (long long)timeout_ms * 1000000;
	for (;;) {
		if (waitpid(pid, status, WNOHANG) == pid)
			return now_ns();
		if (now_ns() > deadline)
			return -1;
		sleep_us(50);
	}
}

static void kill_and_reap(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static int exit_code(int status)
{
	return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}

/* ---- the measurements ---- */

static int cmd_stop(struct opts *o, char **argv)
{
	pid_t pid1 = launch(argv, o, true, -1, NULL);
	wait_ready(pid1, o);
	int status = 0;
	long long t0 = now_ns();
	kill(pid1, SIGTERM);
	long long t1 = wait_exit(pid1, o->timeout_ms, &status);
	if (t1 < 0) {
		kill_and_reap(pid1);
		printf("timeout %lld -1\n", now_ns() - t0);
		return 0;
	}
	printf("%lld %d\n", t1 - t0, exit_code(status));
	return 0;
}

static bool in_set(pid_t pid, const pid_t *set, int n)
{
	for (int i = 0; i < n; i++)
		if (set[i] == pid)
			return true;
	return false;
}

/* Children of pid1 that are not the app's (the orphans still present). */
static int list_orphans(pid_t pid1, const pid_t *app, int napp, pid_t *out, int max)
{
	static pid_t kids[MAX_PIDS];
	int n = children_of(pid1, kids, MAX_PIDS);
	if (n < 0)
		return -1;
	int count = 0;
	for (int i = 0; i < n && count < max; i++)
		if (!in_set(kids[i], app, napp))
			out[count++] = kids[i];
	return count;
}

/* An orphan: blocks until the go pipe closes, then exits (raw syscalls only). */
static int orphan_main(void *arg)
{
	char b;
	int fd = (int)(long)arg;
	while (syscall(SYS_read, fd, &b, 1) < 0)
		;
	syscall(SYS_exit, 0);
	return 0;
}

#define ORPHAN_STACK 4096

/*
 * The session of `docker exec`: enters the namespace, spawns the orphans,
 * leaves. The orphans are processes of their own that share the session's
 * memory (CLONE_VM, SIGCHLD), so that 5000 of them start in a fraction of a
 * second; to the init they are ordinary children that exit and must be
 * reaped.
 */
static void make_orphans(pid_t pid1, int n, int go_r)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/ns/pid", (int)pid1);
	int nsfd = open(path, O_RDONLY | O_CLOEXEC);
	if (nsfd < 0 || setns(nsfd, CLONE_NEWPID) != 0)
		_exit(3);
	pid_t session = fork();  /* the first process inside */
	if (session < 0)
		_exit(4);
	if (session == 0) {
		char *stacks = mmap(NULL, (size_t)n * ORPHAN_STACK, PROT_READ | PROT_WRITE,
				    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (stacks == MAP_FAILED)
			_exit(5);
		for (int i = 0; i < n; i++)
			if (clone(orphan_main, stacks + (size_t)(i + 1) * ORPHAN_STACK,
				  CLONE_VM | SIGCHLD, (void *)(long)go_r) < 0)
				_exit(5);
		_exit(0);  /* its children are re-parented to PID 1 */
	}
	int status;
	waitpid(session, &status, 0);
	_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 6);
}

/* Removes the pids whose comm is name (initsafe's idle child); returns the count. */
static int drop_named(pid_t *pids, int n, const char *name)
{
	int kept = 0;
	for (int i = 0; i < n; i++) {
		char path[64];
		snprintf(path, sizeof path, "/proc/%d/comm", (int)pids[i]);
		if (!comm_is(path, name))
			pids[kept++] = pids[i];
	}
	return kept;
}

static void raise_nofile(int need)
{
	struct rlimit lim;
	if (getrlimit(RLIMIT_NOFILE, &lim) != 0)
		return;
	if (lim.rlim_cur < (rlim_t)need) {
		lim.rlim_cur = lim.rlim_max < (rlim_t)need ? lim.rlim_max : (rlim_t)need;
		setrlimit(RLIMIT_NOFILE, &lim);
	}
}

/*
 * One pidfd per orphan in a level-triggered epoll set: a process that has
 * exited is reported EPOLLIN while a zombie and EPOLLIN|EPOLLHUP once reaped
 * (pidfd_poll), so each look costs O(zombies), not O(orphans). The done pipe
 * reaches EOF when the last orphan has closed its files on the way out.
 */
static int cmd_storm(struct opts *o, char **argv)
{
	static pid_t app[64];
	int n = o->orphans;
	if (n < 1 || n > MAX_PIDS - 64)
		die("-n must be 1..%d", MAX_PIDS - 64);
	raise_nofile(n + 64);
	pid_t pid1 = launch(argv, o, true, -1, NULL);
	wait_ready(pid1, o);
	int napp = children_of(pid1, app, 64);
	if (napp < 0)
		die("PID 1 gone");

	int go[2], done[2];
	if (pipe2(go, O_CLOEXEC) != 0 || pipe2(done, O_CLOEXEC) != 0)
		die("pipe: %s", strerror(errno));
	long long t_spawn = now_ns();
	pid_t helper = fork();
	if (helper < 0)
		die("fork: %s", strerror(errno));
	if (helper == 0) {
		close(go[1]);
		close(done[0]);
		make_orphans(pid1, n, go[0]);
	}
	close(go[0]);
	close(done[1]);
	int status;
	waitpid(helper, &status, 0);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		kill_and_reap(pid1);
		die("the orphan session failed (status 0x%x)", status);
	}
	/* Every orphan re-parented to PID 1 and blocked on the go pipe. */
	static pid_t orphans[MAX_PIDS];
	long long deadline = now_ns() + 30000000000LL;
	int found;
	while ((found = list_orphans(pid1, app, napp, orphans, MAX_PIDS)) < n ||
	       (o->extra_comm && (found = drop_named(orphans, found, o->extra_comm)) < n)) {
		if (now_ns() > deadline) {
			kill_and_reap(pid1);
			die("orphans not all re-parented to PID 1 (%d of %d)", found, n);
		}
		sleep_us(1000);
	}
	long long spawn_ns = now_ns() - t_spawn;
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = done[0] };
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, done[0], &ev) != 0)
		die("epoll: %s", strerror(errno));
	for (int i = 0; i < n; i++) {
		int fd = pidfd_open(orphans[i]);
		ev = (struct epoll_event){ .events = EPOLLIN, .data.fd = fd };
		if (fd < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
			kill_and_reap(pid1);
			die("pidfd %d: %s", (int)orphans[i], strerror(errno));
		}
	}
	if (o->settle_ms)
		sleep_us(o->settle_ms * 1000L);

	static struct epoll_event events[MAX_PIDS];
	long long cpu_before = cpu_ns(pid1);
	long long t_go = now_ns(), t_last = -1, t_zero = -1;
	long peak = 0, polls = 0;
	int left = n;  /* not yet reaped */
	close(go[1]);
	deadline = t_go + 60000000000LL;  /* until the last exit; then -T */
	for (;;) {
		polls++;
		long long t_poll = now_ns();
		int got = epoll_wait(ep, events, MAX_PIDS, 0);
		if (got < 0 && errno != EINTR)
			die("epoll_wait: %s", strerror(errno));
		long long t = now_ns();
		long zombies = 0;
		for (int i = 0; i < got; i++) {
			int fd = events[i].data.fd;
			if (fd == done[0]) {
				if (t_last < 0)
					t_last = t;  /* every orphan has exited */
				epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
			} else if (events[i].events & EPOLLHUP) {
				epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
				close(fd);
				left--;
			} else {
				zombies++;
			}
		}
		/*
		 * While orphans are still exiting, look seldom (every 5 ms, or
		 * more seldom when a look is dear) and otherwise sleep on the done
		 * pipe: the storm runs on the same 2 cores as the init under test.
		 */
		if (t_last < 0) {
			long long cost = now_ns() - t_poll;
			int wait_ms = cost * 2 / 1000000 > 5 ? (int)(cost * 2 / 1000000) : 5;
			struct pollfd p = { .fd = done[0], .events = POLLIN };
			if (poll(&p, 1, wait_ms) == 1 && t_last < 0)
				t_last = now_ns();
		}
		if (zombies > peak)
			peak = zombies;
		if (t_last >= 0 && left == 0) {
			t_zero = t;
			break;
		}
		if (t_last >= 0 && deadline > t_last + (long long)o->timeout_ms * 1000000)
			deadline = t_last + (long long)o->timeout_ms * 1000000;
		if (t > deadline) {
			/* Never reaped (a PID 1 that does not wait): say so, not fail. */
			kill_and_reap(pid1);
			printf("timeout %lld %ld %lld %lld %ld %d\n", t - t_go, peak,
			       t_last < 0 ? -1 : t_last - t_go, spawn_ns, polls, left);
			return 0;
		}
		/* After the last exit: look often, but leave the init most of a core. */
		if (t_last >= 0) {
			long long cost_us = (now_ns() - t_poll) / 1000;
			sleep_us(cost_us > o->poll_us ? cost_us : o->poll_us);
		}
	}
	long long cpu = cpu_ns(pid1) - cpu_before;
	kill_and_reap(pid1);
	printf("%lld %lld %ld %lld %lld %ld %lld\n", t_zero - t_last, t_zero - t_go, peak,
	       t_last - t_go, spawn_ns, polls, cpu);
	return 0;
}

static long long rollup_field(const char *text, const char *key)
{
	const char *at = strstr(text, key);
	return at ? atoll(at + strlen(key)) : -1;
}

static int cmd_mem(struct opts *o, char **argv)
{
	char path[64], text[4096];
	pid_t pid1 = launch(argv, o, true, -1, NULL);
	wait_ready(pid1, o);
	snprintf(path, sizeof path, "/proc/%d/smaps_rollup", (int)pid1);
	if (read_file(path, text, sizeof text) <= 0) {
		kill_and_reap(pid1);
		die("cannot read %s", path);
	}
	if (o->smaps_file) {
		static char smaps[1 << 20];
		snprintf(path, sizeof path, "/proc/%d/smaps", (int)pid1);
		ssize_t n = read_file(path, smaps, sizeof smaps);
		FILE *f = fopen(o->smaps_file, "w");
		if (n > 0 && f)
			fwrite(smaps, 1, (size_t)n, f);
		if (f)
			fclose(f);
	}
	kill_and_reap(pid1);
	printf("%lld %lld %lld %lld %lld %lld\n", rollup_field(text, "\nRss:"),
	       rollup_field(text, "\nPss:"), rollup_field(text, "\nPss_Anon:"),
	       rollup_field(text, "\nPss_File:"), rollup_field(text, "\nPrivate_Dirty:"),
	       rollup_field(text, "\nAnonymous:"));
	return 0;
}

static int cmd_startup(struct opts *o, char **argv)
{
	int fds[2];
	volatile long long *t_exec = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
					  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (t_exec == MAP_FAILED || pipe2(fds, O_CLOEXEC) != 0)
		die("setup: %s", strerror(errno));
	pid_t pid1 = launch(argv, o, true, fds[1], t_exec);
	close(fds[1]);
	long long t_main = 0;
	ssize_t n;
	do
		n = read(fds[0], &t_main, sizeof t_main);
	while (n < 0 && errno == EINTR);
	int status = 0;
	if (wait_exit(pid1, o->timeout_ms, &status) < 0)
		kill_and_reap(pid1);
	if (n != (ssize_t)sizeof t_main)
		die("the app reported no start time (exit %d)", exit_code(status));
	printf("%lld\n", t_main - *t_exec);
	return 0;
}

static int cmd_run(struct opts *o, char **argv, bool new_ns)
{
	pid_t pid = launch(argv, o, new_ns, -1, NULL);
	write_pid_file(o, pid);
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return exit_code(status);
}

static int cmd_loop(struct opts *o, char **argv)
{
	long long t0 = now_ns();
	pid_t pid = launch(argv, o, false, -1, NULL);
	int status;
	struct rusage ru;
	while (wait4(pid, &status, 0, &ru) < 0 && errno == EINTR)
		;
	long long wall = now_ns() - t0;
	if (exit_code(status) != 0)
		die("%s exited %d", argv[0], exit_code(status));
	printf("%lld %ld %ld %ld %ld %ld\n", wall,
	       ru.ru_utime.tv_sec * 1000000L + ru.ru_utime.tv_usec,
	       ru.ru_stime.tv_sec * 1000000L + ru.ru_stime.tv_usec, ru.ru_minflt, ru.ru_nvcsw,
	       ru.ru_nivcsw);
	return 0;
}

#define MAX_WATCH 16

struct group {
	const char *label;
	struct opts o;
	char **argv;
	pid_t pid1;
	int nwatch;
	pid_t wpid[MAX_WATCH], wtid[MAX_WATCH];  /* wtid 0: every thread of wpid */
	long long wlast[MAX_WATCH];
	long long total;
	long long slice[64];
};

static long long task_switches(pid_t pid, pid_t tid)
{
	return tid ? ctxt_switches(pid, tid) : ctxt_switches_all(pid);
}

/*
 * The init machinery of a group: thread -t of PID 1 (or all of PID 1), and
 * the descendants named -x (initsafe's idle child). Tasks seen for the
 * first time count from now on; returns the switches since the last look.
 */
static long long group_switches(struct group *g)
{
	pid_t pids[MAX_WATCH], tids[MAX_WATCH];
	int n = 0;
	pids[n] = g->pid1;
	tids[n++] = g->o.thread ? thread_named(g->pid1, g->o.thread) : 0;
	if (g->o.extra_comm) {
		static pid_t tree[256];
		int count = tree_of(g->pid1, tree, 256);
		for (int i = 1; i < count && n < MAX_WATCH; i++) {
			char path[64];
			snprintf(path, sizeof path, "/proc/%d/comm", (int)tree[i]);
			if (comm_is(path, g->o.extra_comm)) {
				pids[n] = tree[i];
				tids[n++] = 0;
			}
		}
	}
	long long delta = 0;
	for (int i = 0; i < n; i++) {
		long long now = task_switches(pids[i], tids[i]);
		if (now < 0)
			continue;
		int k = 0;
		while (k < g->nwatch && (g->wpid[k] != pids[i] || g->wtid[k] != tids[i]))
			k++;
		if (k == g->nwatch) {
			if (g->nwatch == MAX_WATCH)
				continue;
			g->wpid[k] = pids[i];
			g->wtid[k] = tids[i];
			g->wlast[k] = now;
			g->nwatch++;
		}
		delta += now - g->wlast[k];
		g->wlast[k] = now;
	}
	return delta;
}

static int cmd_idle(struct opts *o, int argc, char **argv)
{
	static struct group groups[MAX_GROUPS];
	int ng = 0;
	if (o->slices < 1 || o->slices > 64)
		die("-k must be 1..64");
	for (int i = 0; i < argc;) {
		if (ng == MAX_GROUPS)
			die("too many groups");
		struct group *g = &groups[ng++];
		int end = i;
		while (end < argc && strcmp(argv[end], "---") != 0)
			end++;
		argv[end < argc ? end : argc] = NULL;  /* argv[argc] is NULL already */
		g->label = argv[i];
		g->o = *o;
		int at = parse_opts(end, argv, i + 1, &g->o, true);
		if (at >= end)
			die("group %s has no command", g->label);
		g->argv = argv + at;
		i = end + 1;
	}
	for (int i = 0; i < ng; i++)
		groups[i].pid1 = launch(groups[i].argv, &groups[i].o, true, -1, NULL);
	for (int i = 0; i < ng; i++) {
		struct group *g = &groups[i];
		struct opts ready = g->o;
		ready.settle_ms = 0;
		wait_ready(g->pid1, &ready);
	}
	sleep_us(o->settle_ms * 1000L);
	for (int i = 0; i < ng; i++)
		group_switches(&groups[i]);
	long long start = now_ns();
	for (int s = 0; s < o->slices; s++) {
		long long until = start + (long long)o->idle_ms * 1000000 * (s + 1) / o->slices;
		long long left = until - now_ns();
		if (left > 0)
			sleep_us(left / 1000);
		for (int i = 0; i < ng; i++) {
			struct group *g = &groups[i];
			g->slice[s] = group_switches(g);
			g->total += g->slice[s];
		}
	}
	for (int i = 0; i < ng; i++) {
		kill_and_reap(groups[i].pid1);
		printf("%s %lld", groups[i].label, groups[i].total);
		for (int s = 0; s < o->slices; s++)
			printf(" %lld", groups[i].slice[s]);
		printf("\n");
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o;
	if (argc < 2)
		die("usage: nsbench stop|storm|mem|startup|run|loop|idle [options] -- CMD...");
	opts_default(&o);
	const char *mode = argv[1];
	int at = parse_opts(argc, argv, 2, &o, false);
	if (at >= argc)
		die("no command given");
	char **cmd = argv + at;
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (strcmp(mode, "stop") == 0)
		return cmd_stop(&o, cmd);
	if (strcmp(mode, "storm") == 0)
		return cmd_storm(&o, cmd);
	if (strcmp(mode, "mem") == 0)
		return cmd_mem(&o, cmd);
	if (strcmp(mode, "startup") == 0)
		return cmd_startup(&o, cmd);
	if (strcmp(mode, "run") == 0)
		return cmd_run(&o, cmd, true);
	if (strcmp(mode, "loop") == 0)
		return cmd_loop(&o, cmd);
	if (strcmp(mode, "idle") == 0)
		return cmd_idle(&o, argc - at, cmd);
	die("unknown mode %s", mode);
}
