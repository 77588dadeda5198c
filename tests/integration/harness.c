/* See harness.h. */
#include "harness.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MINIMAL_PATH "/usr/sbin:/usr/bin:/sbin:/bin"
#define MINIMAL_HOME "/root"
#define POLL_SLICE_MS 5
#define MAX_LIVE 16
#define MAX_ENTERED 32
#define DRAIN_EOF_MS 2000
#define HELPER_REAP_MS 2000
#define ENTER_TIMEOUT_MS 30000
#define KILLED_EXIT_MS 10000
#define PARENT_WALK_MAX 64

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif

/* A growable, always NUL-terminated byte buffer. */
struct buf {
	char *data;
	size_t len;
	size_t cap;
};

struct h_ns_impl {
	pid_t pid;
	int pidfd;               /* -1: the exit is noticed by polling */
	int out_fd, err_fd;      /* read ends, -1 once at EOF */
	int out_w, err_w;        /* write ends kept for h_enter, closed by h_finish */
	struct buf out, err;
	bool no_pid_ns;
	dev_t ns_dev;
	ino_t ns_ino;
	long long start_ms;
	long long kill_ms;       /* -1 until h_kill */
	long long exit_ms;
	bool exited;
	int status;
	pid_t entered[MAX_ENTERED];  /* h_enter helpers not yet reaped */
	int n_entered;
};

/* What a forked child needs to exec; prepared before forking. */
struct launch {
	const char *path;
	char *const *argv;
	char *const *envp;
	const char *cwd;
	int out_w, err_w;
	int report_fd;           /* close-on-exec: EOF means the exec worked */
};

/* Sent through report_fd when a child fails before its exec. */
struct failure {
	int err;
	char stage[12];
};

static struct h_ns_impl *live[MAX_LIVE];

/* ---- small helpers ---- */

long long h_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *xrealloc(void *ptr, size_t size)
{
	void *p = realloc(ptr, size);
	if (!p) {
		fputs("harness: out of memory\n", stderr);
		abort();
	}
	return p;
}

static char *xstrdup(const char *s)
{
	return strcpy(xrealloc(NULL, strlen(s) + 1), s);
}

static char *join3(const char *a, const char *b, const char *c)
{
	size_t la = strlen(a), lb = strlen(b), lc = strlen(c);
	char *s = xrealloc(NULL, la + lb + lc + 1);
	memcpy(s, a, la);
	memcpy(s + la, b, lb);
	memcpy(s + la + lb, c, lc + 1);
	return s;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static int remaining_ms(long long deadline)
{
	long long left = deadline - h_now_ms();
	return left <= 0 ? 0 : left > INT_MAX ? INT_MAX : (int)left;
}

static int min_int(int a, int b)
{
	return a < b ? a : b;
}

static int exit_code_of(int status)
{
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

static int pidfd_open(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

/* ---- paths ---- */

const char *h_build_dir(void)
{
	const char *dir = getenv("BUILD");
	return dir && *dir ? dir : "build";
}

char *h_path(const char *rel)
{
	const char *dir = h_build_dir();
	char *base, *path, cwd[PATH_MAX];

	if (dir[0] == '/' || !getcwd(cwd, sizeof cwd))
		base = xstrdup(dir);
	else
		base = join3(cwd, "/", dir);
	path = join3(base, "/", rel);
	free(base);
	return path;
}

char *h_tmpdir(void)
{
	char templ[] = "/tmp/initsafe-test-XXXXXX";
	return mkdtemp(templ) ? xstrdup(templ) : NULL;
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return type == FTW_DP ? rmdir(path) : unlink(path);
}

int h_rmrf(const char *path)
{
	return nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* argv[0] as execve needs it: names without '/' are looked up in MINIMAL_PATH. */
static char *resolve_program(const char *name)
{
	if (strchr(name, '/'))
		return xstrdup(name);
	char dirs[] = MINIMAL_PATH;
	for (char *save, *dir = strtok_r(dirs, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		char *path = join3(dir, "/", name);
		if (access(path, X_OK) == 0)
			return path;
		free(path);
	}
	return xstrdup(name);
}

/* ---- environment ---- */

static size_t count_entries(const char *const *list)
{
	size_t n = 0;
	while (list && list[n])
		n++;
	return n;
}

static void free_env(char **envp)
{
	for (size_t i = 0; envp && envp[i]; i++)
		free(envp[i]);
	free(envp);
}

/*
 * A sanitized build of the library (make sanitize) needs its runtime
 * loaded first: H_SANITIZER_RUNTIME names it, and the sanitizer's options
 * pass through.
 */
static const char *const passed_through[] = { "ASAN_OPTIONS", "UBSAN_OPTIONS", "TSAN_OPTIONS" };
#define N_PASSED (sizeof passed_through / sizeof passed_through[0])

static char *preload_value(const char *preload_path)
{
	const char *runtime = getenv("H_SANITIZER_RUNTIME");
	if (runtime && *runtime)
		return join3(runtime, ":", preload_path);
	return xstrdup(preload_path);
}

/* Minimal env, then LD_PRELOAD if preload_path, then extra. NULL on error. */
static char **build_env(const char *preload_path, const char *const *extra)
{
	size_t n = 0, room = 4 + N_PASSED + count_entries(extra);
	char **envp = xrealloc(NULL, room * sizeof *envp);

	envp[n++] = xstrdup("PATH=" MINIMAL_PATH);
	envp[n++] = xstrdup("HOME=" MINIMAL_HOME);
	for (size_t i = 0; i < N_PASSED; i++) {
		const char *value = getenv(passed_through[i]);
		if (value)
			envp[n++] = join3(passed_through[i], "=", value);
	}
	if (preload_path) {
		char *value = preload_value(preload_path);
		envp[n++] = join3("LD_PRELOAD=", value, "");
		free(value);
	}
	for (size_t i = 0; extra && extra[i]; i++)
		envp[n++] = xstrdup(extra[i]);
	envp[n] = NULL;
	return envp;
}

static char *library_path(void)
{
	char *rel = h_path("libinitsafe.so");
	char *abs = realpath(rel, NULL);
	if (!abs)
		fprintf(stderr, "harness: %s: %s\n", rel, strerror(errno));
	free(rel);
	return abs;
}

/* ---- output capture ---- */

static void buf_init(struct buf *b)
{
	b->cap = 256;
	b->len = 0;
	b->data = xrealloc(NULL, b->cap);
	b->data[0] = '\0';
}

static void buf_append(struct buf *b, const char *bytes, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		while (b->len + n + 1 > b->cap)
			b->cap *= 2;
		b->data = xrealloc(b->data, b->cap);
	}
	memcpy(b->data + b->len, bytes, n);
	b->len += n;
	b->data[b->len] = '\0';
}

/* Reads what fd has without blocking; closes it at EOF. */
static void drain_fd(int *fd, struct buf *b)
{
	char chunk[4096];
	while (*fd >= 0) {
		ssize_t n = read(*fd, chunk, sizeof chunk);
		if (n > 0)
			buf_append(b, chunk, (size_t)n);
		else if (n < 0 && errno == EINTR)
			continue;
		else if (n < 0 && errno == EAGAIN)
			return;
		else
			close_fd(fd);
	}
}

static void drain_all(struct h_ns_impl *p)
{
	drain_fd(&p->out_fd, &p->out);
	drain_fd(&p->err_fd, &p->err);
}

/* ---- noticing exits ---- */

static bool check_exit(struct h_ns_impl *p)
{
	int status;
	if (p->exited)
		return true;
	if (waitpid(p->pid, &status, WNOHANG) != p->pid)
		return false;
	p->exit_ms = h_now_ms();
	p->exited = true;
	p->status = status;
	close_fd(&p->pidfd);
	return true;
}

static void reap_entered(struct h_ns_impl *p)
{
	for (int i = 0; i < p->n_entered;) {
		if (waitpid(p->entered[i], NULL, WNOHANG) == p->entered[i])
			p->entered[i] = p->entered[--p->n_entered];
		else
			i++;
	}
}

/*
 * Sleeps until output arrives, PID 1 or extra_fd (a pidfd) becomes
 * readable, or timeout_ms passes; then drains and checks for exits.
 */
static void pump(struct h_ns_impl *p, int extra_fd, int timeout_ms)
{
	struct pollfd fds[4];
	nfds_t n = 0;
	int fd_list[] = { p->out_fd, p->err_fd, p->pidfd, extra_fd };

	for (size_t i = 0; i < sizeof fd_list / sizeof fd_list[0]; i++)
		if (fd_list[i] >= 0)
			fds[n++] = (struct pollfd){ .fd = fd_list[i], .events = POLLIN };
	if (p->pidfd < 0 && !p->exited)
		timeout_ms = min_int(timeout_ms, POLL_SLICE_MS);
	if (timeout_ms > 0 || n > 0)
		poll(fds, n, timeout_ms);
	drain_all(p);
	check_exit(p);
	reap_entered(p);
}

/* ---- registry of running namespaces ---- */

static void register_live(struct h_ns_impl *p)
{
	for (int i = 0; i < MAX_LIVE; i++)
		if (!live[i]) {
			live[i] = p;
			return;
		}
	fputs("harness: too many namespaces at once\n", stderr);
	abort();
}

static void release(struct h_ns_impl *p)
{
	for (int i = 0; i < MAX_LIVE; i++)
		if (live[i] == p)
			live[i] = NULL;
	close_fd(&p->pidfd);
	close_fd(&p->out_fd);
	close_fd(&p->err_fd);
	close_fd(&p->out_w);
	close_fd(&p->err_w);
	free(p->out.data);
	free(p->err.data);
	free(p);
}

/* ---- the child side (between fork/clone and exec) ---- */

static void report_failure(int fd, const char *stage) __attribute__((noreturn));
static void report_failure(int fd, const char *stage)
{
	struct failure f = { .err = errno };
	strncpy(f.stage, stage, sizeof f.stage - 1);
	if (write(fd, &f, sizeof f) < 0) {
		/* the parent sees a short report and says so */
	}
	_exit(127);
}

/* Inherited ignored signals or a blocked mask would change every test. */
static void reset_signals(void)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	sigset_t none;
	for (int sig = 1; sig < NSIG; sig++)
		sigaction(sig, &dfl, NULL);  /* fails harmlessly on KILL, STOP, 32, 33 */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

/* 1 byte: below any core size, and the kernel's "no pipe dump" value. */
static void disable_core_dumps(void)
{
	struct rlimit lim;
	if (getrlimit(RLIMIT_CORE, &lim) == 0) {
		lim.rlim_cur = 1;
		setrlimit(RLIMIT_CORE, &lim);
	}
}

/* dup2 that also works when from == to (clearing close-on-exec). */
static int move_fd(int from, int to)
{
	if (from == to)
		return fcntl(to, F_SETFD, 0);
	return dup2(from, to) < 0 ? -1 : 0;
}

static int setup_stdio(int out_w, int err_w)
{
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (null < 0 || move_fd(null, STDIN_FILENO) != 0)
		return -1;
	if (move_fd(out_w, STDOUT_FILENO) != 0 || move_fd(err_w, STDERR_FILENO) != 0)
		return -1;
	return 0;
}

static void exec_launch(const struct launch *l) __attribute__((noreturn));
static void exec_launch(const struct launch *l)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	reset_signals();
	disable_core_dumps();
	if (setup_stdio(l->out_w, l->err_w) != 0)
		report_failure(l->report_fd, "stdio");
	if (l->cwd && chdir(l->cwd) != 0)
		report_failure(l->report_fd, "chdir");
	execve(l->path, l->argv, l->envp);
	report_failure(l->report_fd, "exec");
}

/* In the new mount namespace: stop propagation to the host, own /proc. */
static void isolate_mounts(int report_fd)
{
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
		report_failure(report_fd, "mount /");
	if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0)
		report_failure(report_fd, "mount proc");
}

/* ---- the parent side of a launch ---- */

/* Closes our copy of the report pipe and waits for the exec or a failure. */
static int await_exec(int report_fd, const char *what)
{
	struct failure f;
	ssize_t n;
	do
		n = read(report_fd, &f, sizeof f);
	while (n < 0 && errno == EINTR);
	close(report_fd);
	if (n == 0)
		return 0;
	if (n == (ssize_t)sizeof f)
		fprintf(stderr, "harness: %s: %s failed: %s\n", what, f.stage, strerror(f.err));
	else
		fprintf(stderr, "harness: %s: failed before exec\n", what);
	return -1;
}

static int make_pipe(int fds[2], bool nonblocking_read)
{
	if (pipe2(fds, O_CLOEXEC) != 0)
		return -1;
	if (nonblocking_read)
		fcntl(fds[0], F_SETFL, O_NONBLOCK);
	return 0;
}

static struct h_ns_impl *new_impl(bool no_pid_ns)
{
	struct h_ns_impl *p = xrealloc(NULL, sizeof *p);
	memset(p, 0, sizeof *p);
	p->pidfd = p->out_fd = p->err_fd = p->out_w = p->err_w = -1;
	p->kill_ms = -1;
	p->no_pid_ns = no_pid_ns;
	buf_init(&p->out);
	buf_init(&p->err);
	return p;
}

static pid_t spawn(const struct launch *l, bool new_namespace)
{
	pid_t pid;
	if (!new_namespace)
		pid = fork();
	else
		pid = (pid_t)syscall(SYS_clone, CLONE_NEWPID | CLONE_NEWNS | SIGCHLD, 0, 0, 0, 0);
	if (pid == 0) {
		if (new_namespace)
			isolate_mounts(l->report_fd);
		exec_launch(l);
	}
	return pid;
}

static void remember_namespace(struct h_ns_impl *p)
{
	char path[64];
	struct stat st;
	snprintf(path, sizeof path, "/proc/%d/ns/pid", (int)p->pid);
	if (stat(path, &st) == 0) {
		p->ns_dev = st.st_dev;
		p->ns_ino = st.st_ino;
	}
}

/*
 * Opens the capture pipes (owned by p from then on, released with it) and
 * the report pipe; fills the launch's ends. -1 on error.
 */
static int open_capture(struct h_ns_impl *p, struct launch *l, int report[2])
{
	int out[2], err[2];
	if (make_pipe(out, true) != 0)
		return -1;
	p->out_fd = out[0];
	p->out_w = l->out_w = out[1];
	if (make_pipe(err, true) != 0)
		return -1;
	p->err_fd = err[0];
	p->err_w = l->err_w = err[1];
	if (make_pipe(report, false) != 0)
		return -1;
	l->report_fd = report[1];
	return 0;
}

int h_start(struct h_ns *ns, const struct h_opts *opts)
{
	struct launch l = { .argv = opts->argv, .cwd = opts->cwd };
	char *lib = NULL, *path, **envp;
	int report[2], rc = -1;
	struct h_ns_impl *p;

	ns->pid = -1;
	ns->impl = NULL;
	if (opts->preload && !(lib = library_path()))
		return -1;
	p = new_impl(opts->no_pid_ns);
	l.envp = envp = build_env(lib, opts->env);
	l.path = path = resolve_program(opts->argv[0]);
	if (open_capture(p, &l, report) != 0) {
		perror("harness: pipe");
		goto out;
	}
	p->start_ms = h_now_ms();
	p->pid = spawn(&l, !opts->no_pid_ns);
	close(report[1]);
	if (p->pid < 0) {
		perror("harness: clone");
		close(report[0]);
		goto out;
	}
	p->pidfd = pidfd_open(p->pid);
	if (await_exec(report[0], path) != 0) {
		waitpid(p->pid, NULL, 0);
		goto out;
	}
	remember_namespace(p);
	register_live(p);
	ns->pid = p->pid;
	ns->impl = p;
	p = NULL;
	rc = 0;
out:
	if (p)
		release(p);
	free(path);
	free(lib);
	free_env(envp);
	return rc;
}

/* ---- watching ---- */

const char *h_out(struct h_ns *ns)
{
	drain_all(ns->impl);
	return ns->impl->out.data;
}

const char *h_err(struct h_ns *ns)
{
	drain_all(ns->impl);
	return ns->impl->err.data;
}

long long h_elapsed_ms(struct h_ns *ns)
{
	return h_now_ms() - ns->impl->start_ms;
}

static bool output_contains(struct h_ns_impl *p, const char *needle)
{
	return strstr(p->out.data, needle) || strstr(p->err.data, needle);
}

bool h_wait_output(struct h_ns *ns, const char *needle, int timeout_ms)
{
	struct h_ns_impl *p = ns->impl;
	long long deadline = h_now_ms() + timeout_ms;

	for (;;) {
		drain_all(p);
		if (output_contains(p, needle))
			return true;
		if (check_exit(p)) {
			drain_all(p);
			return output_contains(p, needle);
		}
		if (h_now_ms() >= deadline)
			return false;
		pump(p, -1, remaining_ms(deadline));
	}
}

bool h_wait_exit(struct h_ns *ns, int timeout_ms)
{
	struct h_ns_impl *p = ns->impl;
	long long deadline = h_now_ms() + timeout_ms;

	pump(p, -1, 0);
	while (!p->exited && h_now_ms() < deadline)
		pump(p, -1, remaining_ms(deadline));
	return p->exited;
}

bool h_wait_procs(struct h_ns *ns, int at_least, int timeout_ms)
{
	struct h_ns_impl *p = ns->impl;
	long long deadline = h_now_ms() + timeout_ms;

	for (;;) {
		if (h_count_procs(ns) >= at_least)
			return true;
		if (p->exited || h_now_ms() >= deadline)
			return false;
		pump(p, -1, min_int(POLL_SLICE_MS, remaining_ms(deadline)));
	}
}

int h_kill(struct h_ns *ns, int sig)
{
	ns->impl->kill_ms = h_now_ms();
	return kill(ns->impl->pid, sig);
}

/* ---- counting processes from the host's /proc ---- */

/* State letter and parent of pid from /proc/PID/stat; false when gone. */
static bool read_stat(pid_t pid, char *state, pid_t *ppid)
{
	char path[64], line[512];
	int ppid_value = 0;
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, line, sizeof line - 1);
	close(fd);
	if (n <= 0)
		return false;
	line[n] = '\0';
	/* comm may hold spaces and parentheses: the last ')' ends it. */
	char *end = strrchr(line, ')');
	char state_letter;
	if (!end || sscanf(end + 1, " %c %d", &state_letter, &ppid_value) != 2)
		return false;
	if (state)
		*state = state_letter;
	if (ppid)
		*ppid = ppid_value;
	return true;
}

static bool descends_from(pid_t pid, pid_t root)
{
	for (int depth = 0; depth < PARENT_WALK_MAX; depth++) {
		if (pid == root)
			return true;
		if (!read_stat(pid, NULL, &pid) || pid <= 0)
			return false;
	}
	return false;
}

static bool in_namespace(const struct h_ns_impl *p, pid_t pid)
{
	char path[64];
	struct stat st;
	if (p->no_pid_ns)
		return descends_from(pid, p->pid);
	snprintf(path, sizeof path, "/proc/%d/ns/pid", (int)pid);
	return stat(path, &st) == 0 && st.st_dev == p->ns_dev && st.st_ino == p->ns_ino;
}

/* initsafe's idle child (preload/sentinel.h) is not one of the app's processes. */
static bool is_initsafe_idle(pid_t pid)
{
	char path[64], comm[32] = "";
	snprintf(path, sizeof path, "/proc/%d/comm", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return false;
	bool idle = fgets(comm, sizeof comm, f) && strcmp(comm, "initsafe-idle\n") == 0;
	fclose(f);
	return idle;
}

static int count_members(struct h_ns *ns, bool zombies_only)
{
	DIR *dir = opendir("/proc");
	struct dirent *entry;
	int count = 0;

	if (!dir)
		return -1;
	while ((entry = readdir(dir))) {
		char *end, state;
		long pid = strtol(entry->d_name, &end, 10);
		if (*end || pid <= 0 || !in_namespace(ns->impl, (pid_t)pid))
			continue;
		if (is_initsafe_idle((pid_t)pid))
			continue;
		if (!read_stat((pid_t)pid, &state, NULL))
			continue;
		if (!zombies_only || state == 'Z')
			count++;
	}
	closedir(dir);
	return count;
}

int h_count_zombies(struct h_ns *ns)
{
	return count_members(ns, true);
}

int h_count_procs(struct h_ns *ns)
{
	return count_members(ns, false);
}

int h_threads(struct h_ns *ns)
{
	char path[64], line[256];
	int threads = -1;
	snprintf(path, sizeof path, "/proc/%d/status", (int)ns->impl->pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "Threads: %d", &threads) == 1)
			break;
	fclose(f);
	return threads;
}

/* ---- h_enter ---- */

static int join_namespaces(pid_t pid1)
{
	char pid_path[64], mnt_path[64];
	snprintf(pid_path, sizeof pid_path, "/proc/%d/ns/pid", (int)pid1);
	snprintf(mnt_path, sizeof mnt_path, "/proc/%d/ns/mnt", (int)pid1);
	/* Both opened first: after joining the mount ns, /proc is the namespace's. */
	int pid_fd = open(pid_path, O_RDONLY | O_CLOEXEC);
	int mnt_fd = open(mnt_path, O_RDONLY | O_CLOEXEC);
	int rc = -1;
	if (pid_fd >= 0 && mnt_fd >= 0 && setns(pid_fd, CLONE_NEWPID) == 0 &&
	    setns(mnt_fd, CLONE_NEWNS) == 0)
		rc = 0;
	if (pid_fd >= 0)
		close(pid_fd);
	if (mnt_fd >= 0)
		close(mnt_fd);
	return rc;
}

/*
 * The process outside the namespace that plays docker exec's part: it joins
 * the namespaces (setns on a PID ns only affects children), forks the
 * command and relays its exit code.
 */
static void run_enter_helper(const struct h_ns_impl *p, struct launch *l) __attribute__((noreturn));
static void run_enter_helper(const struct h_ns_impl *p, struct launch *l)
{
	int status;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (join_namespaces(p->pid) != 0)
		report_failure(l->report_fd, "setns");
	pid_t child = fork();
	if (child < 0)
		report_failure(l->report_fd, "fork");
	if (child == 0)
		exec_launch(l);
	/* Holding no pipe (of this or another namespace) keeps every EOF prompt. */
	if (syscall(SYS_close_range, 3, ~0U, 0) != 0) {
		close(l->report_fd);
		close(l->out_w);
		close(l->err_w);
	}
	while (waitpid(child, &status, 0) < 0)
		if (errno != EINTR)
			_exit(127);
	_exit(exit_code_of(status));
}

static int wait_helper(struct h_ns_impl *p, pid_t helper)
{
	long long deadline = h_now_ms() + ENTER_TIMEOUT_MS;
	int pidfd = pidfd_open(helper), status, rc = -1;

	for (;;) {
		if (waitpid(helper, &status, WNOHANG) == helper) {
			rc = exit_code_of(status);
			break;
		}
		if (h_now_ms() >= deadline) {
			fprintf(stderr, "harness: h_enter: no exit after %d ms\n", ENTER_TIMEOUT_MS);
			kill(helper, SIGKILL);
			waitpid(helper, NULL, 0);
			break;
		}
		int slice = pidfd < 0 ? POLL_SLICE_MS : remaining_ms(deadline);
		pump(p, pidfd, min_int(slice, remaining_ms(deadline)));
	}
	close_fd(&pidfd);
	return rc;
}

int h_enter(struct h_ns *ns, char *const argv[], const char *const env[], bool wait)
{
	struct h_ns_impl *p = ns->impl;
	struct launch l = { .argv = argv, .cwd = "/", .out_w = p->out_w, .err_w = p->err_w };
	int report[2], rc = -1;

	if (p->no_pid_ns || p->exited || p->out_w < 0 || (!wait && p->n_entered == MAX_ENTERED))
		return -1;
	if (make_pipe(report, false) != 0)
		return -1;
	char *path = resolve_program(argv[0]);
	char **own_env = env ? NULL : build_env(NULL, NULL);
	l.path = path;
	l.envp = own_env ? own_env : (char *const *)env;
	l.report_fd = report[1];
	pid_t helper = fork();
	if (helper == 0)
		run_enter_helper(p, &l);
	close(report[1]);
	if (helper < 0) {
		close(report[0]);
		goto out;
	}
	if (await_exec(report[0], path) != 0) {
		waitpid(helper, NULL, 0);
		goto out;
	}
	if (wait) {
		rc = wait_helper(p, helper);
	} else {
		p->entered[p->n_entered++] = helper;
		rc = 0;
	}
out:
	free(path);
	free_env(own_env);
	return rc;
}

/* ---- ending ---- */

static void wait_killed(struct h_ns_impl *p)
{
	long long deadline = h_now_ms() + KILLED_EXIT_MS;
	while (!check_exit(p) && h_now_ms() < deadline)
		pump(p, -1, remaining_ms(deadline));
	if (!p->exited && waitpid(p->pid, &p->status, 0) == p->pid) {
		p->exited = true;
		p->exit_ms = h_now_ms();
	}
}

static void reap_helpers(struct h_ns_impl *p, int timeout_ms)
{
	long long deadline = h_now_ms() + timeout_ms;
	while (p->n_entered > 0 && h_now_ms() < deadline)
		pump(p, -1, min_int(POLL_SLICE_MS, remaining_ms(deadline)));
	for (int i = 0; i < p->n_entered; i++) {
		kill(p->entered[i], SIGKILL);
		waitpid(p->entered[i], NULL, 0);
	}
	p->n_entered = 0;
}

static void drain_to_eof(struct h_ns_impl *p, int timeout_ms)
{
	long long deadline = h_now_ms() + timeout_ms;
	drain_all(p);
	while ((p->out_fd >= 0 || p->err_fd >= 0) && h_now_ms() < deadline)
		pump(p, -1, remaining_ms(deadline));
}

static char *take_buf(struct buf *b)
{
	char *data = b->data;
	buf_init(b);
	return data;
}

static void fill_result(struct h_ns_impl *p, struct h_result *res)
{
	res->status = p->status;
	res->exit_code = exit_code_of(p->status);
	res->signaled = WIFSIGNALED(p->status);
	res->term_sig = res->signaled ? WTERMSIG(p->status) : 0;
	res->ms_since_kill = p->kill_ms < 0 ? -1 : p->exit_ms - p->kill_ms;
	res->ms_total = p->exit_ms - p->start_ms;
	res->out = take_buf(&p->out);
	res->err = take_buf(&p->err);
}

int h_finish(struct h_ns *ns, int timeout_ms, struct h_result *res)
{
	struct h_ns_impl *p = ns->impl;

	memset(res, 0, sizeof *res);
	if (!p)
		return -1;
	if (!h_wait_exit(ns, timeout_ms)) {
		res->timed_out = true;
		kill(p->pid, SIGKILL);
		wait_killed(p);
	}
	reap_helpers(p, HELPER_REAP_MS);
	close_fd(&p->out_w);
	close_fd(&p->err_w);
	drain_to_eof(p, DRAIN_EOF_MS);
	fill_result(p, res);
	release(p);
	ns->impl = NULL;
	return 0;
}

void h_result_free(struct h_result *res)
{
	free(res->out);
	free(res->err);
	res->out = res->err = NULL;
}

void h_cleanup_all(void)
{
	for (int i = 0; i < MAX_LIVE; i++) {
		struct h_ns_impl *p = live[i];
		if (!p)
			continue;
		if (!check_exit(p)) {
			kill(p->pid, SIGKILL);
			wait_killed(p);
		}
		reap_helpers(p, 0);
		release(p);
	}
}

int h_teardown(void **state)
{
	(void)state;
	h_cleanup_all();
	return 0;
}
