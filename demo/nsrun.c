/*
 * nsrun: runs a command as PID 1 of a new PID + mount namespace, the kernel
 * mechanism behind every container, and stops it the way `docker stop` does.
 * nsrun is PID 1's direct parent (raw clone(CLONE_NEWPID|CLONE_NEWNS)), so
 * it sees the real wait status: util-linux `unshare --fork` reports 1 for a
 * PID 1 killed by SIGKILL.
 *
 *   nsrun [OPTIONS] [--] CMD [ARG...]     run CMD as PID 1, print a result
 *   nsrun enter PID CMD [ARG...]          `docker exec`: run CMD inside the
 *                                         namespace of PID (host numbering)
 *   nsrun count PID                       "procs=N zombies=N" of that namespace
 *
 * Options of the run mode:
 *   --preload LIB        LD_PRELOAD=LIB for PID 1 (and what it runs)
 *   --env K=V            one more environment entry for PID 1 (repeatable)
 *   --ready FILE         PID 1 is "ready" once FILE exists (polled every 5 ms);
 *                        the times below count from then (default: from start)
 *   --stop-after MS      `docker stop`: the stop signal, from the parent
 *                        namespace, MS ms after readiness
 *   --stop-on FILE       count --stop-after from FILE's appearance instead
 *                        (e.g. written by an --exec-at command when done)
 *   --signal SIG         the stop signal (TERM by default; a name or number)
 *   --kill-timeout MS    SIGKILL MS ms after the stop signal (docker stop -t;
 *                        10000 by default, as Docker)
 *   --exec-at MS CMD     at MS ms after readiness, run `sh -c CMD` inside the
 *                        namespace like `docker exec` (repeatable, up to 8)
 *   --timeout MS         safety net: SIGKILL PID 1 MS ms after start
 *   --pid-file FILE      write PID 1's host pid there once it runs
 *   --result FILE        write the result there instead of stderr
 *
 * SIGTERM or SIGINT sent to nsrun itself means "docker stop now": the stop
 * signal goes to PID 1 and the kill timeout starts.
 *
 * The result is one line of key=value pairs:
 *   exit=143 signaled=0 signal=- stop_ms=12 killed=0 ready_ms=5 total_ms=345
 * exit is the code Docker would show (128+N when killed by signal N),
 * stop_ms the time from the stop signal to PID 1's exit (-1: never stopped),
 * killed=1 when the kill timeout had to SIGKILL it. nsrun's own exit status
 * is `exit` (or 125 when it could not run the command, as docker run does).
 *
 * Must run as root. stdin of PID 1 is /dev/null; it starts in a session of
 * its own, with every signal at SIG_DFL and unblocked.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <dirent.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_EXEC 8
#define MAX_ENV 32
#define READY_POLL_MS 5
#define EXIT_FAILED_TO_RUN 125

extern char **environ;

struct exec_at {
	long ms;
	const char *cmd;
	bool done;
};

struct options {
	const char *preload;
	const char *env[MAX_ENV];
	int n_env;
	const char *ready_file;
	const char *stop_file;
	long stop_after;         /* -1: only on request */
	int stop_sig;
	long kill_timeout;
	struct exec_at exec[MAX_EXEC];
	int n_exec;
	long timeout;            /* -1: none */
	const char *pid_file;
	const char *result_file;
	char **argv;
};

struct run {
	pid_t pid1;
	long long start, ready, stop_ready, stop_sent, kill_sent, exited;
	bool killed, timed_out;
	int status;
	pid_t helpers[MAX_EXEC];
	int n_helpers;
};

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void die(const char *what)
{
	fprintf(stderr, "nsrun: %s: %s\n", what, strerror(errno));
	exit(EXIT_FAILED_TO_RUN);
}

static void usage(void)
{
	fputs("usage: nsrun [--preload LIB] [--env K=V] [--ready FILE] [--stop-after MS]\n"
	      "             [--stop-on FILE] [--signal SIG] [--kill-timeout MS] [--exec-at MS CMD]\n"
	      "             [--timeout MS] [--pid-file FILE] [--result FILE] [--] CMD [ARG...]\n"
	      "       nsrun enter PID CMD [ARG...]\n"
	      "       nsrun count PID\n",
	      stderr);
	exit(2);
}

static long parse_ms(const char *s)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || *end || v < 0) {
		fprintf(stderr, "nsrun: '%s' is not a number of milliseconds\n", s);
		exit(2);
	}
	return v;
}

static int parse_signal(const char *s)
{
	static const struct { const char *name; int sig; } names[] = {
		{ "TERM", SIGTERM }, { "INT", SIGINT }, { "HUP", SIGHUP }, { "QUIT", SIGQUIT },
		{ "KILL", SIGKILL }, { "USR1", SIGUSR1 }, { "USR2", SIGUSR2 },
	};
	if (isdigit((unsigned char)s[0]))
		return (int)parse_ms(s);
	if (strncmp(s, "SIG", 3) == 0)
		s += 3;
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strcmp(s, names[i].name) == 0)
			return names[i].sig;
	fprintf(stderr, "nsrun: unknown signal '%s'\n", s);
	exit(2);
}

static const char *need_arg(int argc, char **argv, int i)
{
	if (i + 1 >= argc)
		usage();
	return argv[i + 1];
}

static void parse_options(int argc, char **argv, struct options *o)
{
	int i;
	*o = (struct options){ .stop_after = -1, .stop_sig = SIGTERM, .kill_timeout = 10000, .timeout = -1 };
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--") == 0) {
			i++;
			break;
		} else if (strcmp(a, "--preload") == 0) {
			o->preload = need_arg(argc, argv, i++);
		} else if (strcmp(a, "--env") == 0) {
			if (o->n_env == MAX_ENV)
				usage();
			o->env[o->n_env++] = need_arg(argc, argv, i++);
		} else if (strcmp(a, "--ready") == 0) {
			o->ready_file = need_arg(argc, argv, i++);
		} else if (strcmp(a, "--stop-on") == 0) {
			o->stop_file = need_arg(argc, argv, i++);
		} else if (strcmp(a, "--stop-after") == 0) {
			o->stop_after = parse_ms(need_arg(argc, argv, i++));
		} else if (strcmp(a, "--signal") == 0) {
			o->stop_sig = parse_signal(need_arg(argc, argv, i++));
		} else if (strcmp(a, "--kill-timeout") == 0) {
			o->kill_timeout = parse_ms(need_arg(argc, argv, i++));
		} else if (strcmp(a, "--exec-at") == 0) {
			if (o->n_exec == MAX_EXEC || i + 2 >= argc)
				usage();
			o->exec[o->n_exec].ms = parse_ms(argv[i + 1]);
			o->exec[o->n_exec++].cmd = argv[i + 2];
			i += 2;
		} else if (strcmp(a, "--timeout") == 0) {
			o->timeout = parse_ms(need_arg(argc, argv, i++));
		} else if (strcmp(a, "--pid-file") == 0) {
			o->pid_file = need_arg(argc, argv, i++);
		} else if (strcmp(a, "--result") == 0) {
			o->result_file = need_arg(argc, argv, i++);
		} else {
			usage();
		}
	}
	if (i >= argc)
		usage();
	o->argv = argv + i;
}

/* ---- joining a namespace (enter, --exec-at) ---- */

static int join_namespaces(pid_t pid)
{
	char path[64];
	int pid_fd, mnt_fd, rc = -1;
	snprintf(path, sizeof path, "/proc/%d/ns/pid", (int)pid);
	pid_fd = open(path, O_RDONLY | O_CLOEXEC);
	snprintf(path, sizeof path, "/proc/%d/ns/mnt", (int)pid);
	mnt_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (pid_fd >= 0 && mnt_fd >= 0 && setns(pid_fd, CLONE_NEWPID) == 0 && setns(mnt_fd, CLONE_NEWNS) == 0)
		rc = 0;
	if (pid_fd >= 0)
		close(pid_fd);
	if (mnt_fd >= 0)
		close(mnt_fd);
	return rc;
}

static int code_of(int status)
{
	return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}

/*
 * Like docker exec: this process stays outside the namespace (setns on a
 * PID namespace only affects children), its child runs argv inside, and
 * the child's exit code is returned. Orphans the child leaves go to PID 1.
 */
static int enter(pid_t pid, char **argv)
{
	int status;
	if (join_namespaces(pid) != 0)
		die("setns");
	pid_t child = fork();
	if (child < 0)
		die("fork");
	if (child == 0) {
		if (chdir("/") != 0) {
			/* keep the current directory */
		}
		execvp(argv[0], argv);
		fprintf(stderr, "nsrun: %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	while (waitpid(child, &status, 0) < 0)
		if (errno != EINTR)
			die("waitpid");
	return code_of(status);
}

/* ---- counting the processes of a namespace from the host ---- */

static bool same_pid_ns(pid_t pid, const struct stat *ns)
{
	char path[64];
	struct stat st;
	snprintf(path, sizeof path, "/proc/%d/ns/pid", (int)pid);
	return stat(path, &st) == 0 && st.st_dev == ns->st_dev && st.st_ino == ns->st_ino;
}

static char state_of(pid_t pid)
{
	char path[64], line[512];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, line, sizeof line - 1);
	close(fd);
	if (n <= 0)
		return 0;
	line[n] = '\0';
	char *end = strrchr(line, ')');
	return end && end[1] == ' ' ? end[2] : 0;
}

static int count(pid_t pid)
{
	char path[64];
	struct stat ns;
	struct dirent *e;
	int procs = 0, zombies = 0;
	snprintf(path, sizeof path, "/proc/%d/ns/pid", (int)pid);
	if (stat(path, &ns) != 0)
		die(path);
	DIR *dir = opendir("/proc");
	if (!dir)
		die("/proc");
	while ((e = readdir(dir))) {
		char *end;
		long p = strtol(e->d_name, &end, 10);
		if (*end || p <= 0 || !same_pid_ns((pid_t)p, &ns))
			continue;
		char st = state_of((pid_t)p);
		if (!st)
			continue;
		procs++;
		zombies += st == 'Z';
	}
	closedir(dir);
	printf("procs=%d zombies=%d\n", procs, zombies);
	return 0;
}

/* ---- the run mode ---- */

static char **child_env(const struct options *o)
{
	size_t n = 0, k = 0;
	while (environ[n])
		n++;
	char **env = calloc(n + (size_t)o->n_env + 2, sizeof *env);
	if (!env)
		die("calloc");
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "LD_PRELOAD=", 11) != 0)
			env[k++] = environ[i];
	if (o->preload) {
		char *real = realpath(o->preload, NULL);
		if (!real)
			die(o->preload);
		size_t len = strlen(real) + 12;
		env[k] = malloc(len);
		if (!env[k])
			die("malloc");
		snprintf(env[k++], len, "LD_PRELOAD=%s", real);
		free(real);
	}
	for (int i = 0; i < o->n_env; i++)
		env[k++] = (char *)o->env[i];
	env[k] = NULL;
	return env;
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

/* Runs in the new namespaces as PID 1; reports a failure through fd. */
static void child(int report_fd, char **argv, char **envp) __attribute__((noreturn));
static void child(int report_fd, char **argv, char **envp)
{
	const char *stage = "prctl";
	int devnull;
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0)
		goto fail;
	stage = "mount /";
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
		goto fail;
	stage = "mount /proc";
	if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0)
		goto fail;
	stage = "/dev/null";
	devnull = open("/dev/null", O_RDONLY);
	if (devnull < 0 || dup2(devnull, 0) < 0)
		goto fail;
	if (devnull > 0)
		close(devnull);
	setsid();
	reset_signals();
	stage = "exec";
	environ = envp;
	execvp(argv[0], argv);
fail:;
	char msg[256];
	int len = snprintf(msg, sizeof msg, "%s: %s", stage, strerror(errno));
	if (write(report_fd, msg, (size_t)len) < 0) {
		/* the parent sees an empty report: still a failure */
	}
	_exit(127);
}

static pid_t start(const struct options *o, char **envp)
{
	int report[2];
	char msg[256];
	if (pipe2(report, O_CLOEXEC) != 0)
		die("pipe");
	pid_t pid = (pid_t)syscall(SYS_clone, CLONE_NEWPID | CLONE_NEWNS | SIGCHLD, 0, 0, 0, 0);
	if (pid < 0)
		die("clone(CLONE_NEWPID|CLONE_NEWNS)");
	if (pid == 0) {
		close(report[0]);
		child(report[1], o->argv, envp);
	}
	close(report[1]);
	ssize_t n;
	while ((n = read(report[0], msg, sizeof msg - 1)) < 0 && errno == EINTR)
		;
	close(report[0]);
	if (n > 0) {
		msg[n] = '\0';
		fprintf(stderr, "nsrun: %s: %s\n", o->argv[0], msg);
		waitpid(pid, NULL, 0);
		exit(EXIT_FAILED_TO_RUN);
	}
	return pid;
}

static void start_exec(struct run *r, const char *cmd)
{
	fflush(NULL);
	pid_t helper = fork();
	if (helper < 0) {
		perror("nsrun: fork");
		return;
	}
	if (helper == 0) {
		char *argv[] = { "sh", "-c", (char *)cmd, NULL };
		reset_signals();
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		_exit(enter(r->pid1, argv));
	}
	r->helpers[r->n_helpers++] = helper;
}

static void write_pid_file(const char *path, pid_t pid)
{
	FILE *f = fopen(path, "we");
	if (!f || fprintf(f, "%d\n", (int)pid) < 0 || fclose(f) != 0)
		die(path);
}

static void report(const struct options *o, const struct run *r)
{
	int code = code_of(r->status);
	FILE *out = stderr;
	if (o->result_file && !(out = fopen(o->result_file, "we")))
		die(o->result_file);
	fprintf(out, "exit=%d signaled=%d signal=%s stop_ms=%lld killed=%d timed_out=%d ready_ms=%lld total_ms=%lld\n",
		code, WIFSIGNALED(r->status) ? 1 : 0,
		WIFSIGNALED(r->status) ? sigabbrev_np(WTERMSIG(r->status)) : "-",
		r->stop_sent ? r->exited - r->stop_sent : -1LL, r->killed, r->timed_out,
		r->ready ? r->ready - r->start : -1LL, r->exited - r->start);
	if (out != stderr)
		fclose(out);
}

/* The earliest of the pending deadlines, as a poll timeout. */
static int next_timeout(const struct options *o, const struct run *r)
{
	long long now = now_ms(), next = LLONG_MAX;
#define CONSIDER(t) do { if ((t) < next) next = (t); } while (0)
	if (!r->ready || (o->stop_after >= 0 && !r->stop_ready && !r->stop_sent))
		CONSIDER(now + READY_POLL_MS);
	if (r->stop_ready && o->stop_after >= 0 && !r->stop_sent)
		CONSIDER(r->stop_ready + o->stop_after);
	if (r->ready) {
		for (int i = 0; i < o->n_exec; i++)
			if (!o->exec[i].done)
				CONSIDER(r->ready + o->exec[i].ms);
	}
	if (r->stop_sent && !r->kill_sent)
		CONSIDER(r->stop_sent + o->kill_timeout);
	if (o->timeout >= 0 && !r->kill_sent)
		CONSIDER(r->start + o->timeout);
#undef CONSIDER
	if (next == LLONG_MAX)
		return -1;
	return next <= now ? 0 : next - now > INT_MAX ? INT_MAX : (int)(next - now);
}

static void stop(const struct options *o, struct run *r)
{
	if (r->stop_sent)
		return;
	r->stop_sent = now_ms();
	kill(r->pid1, o->stop_sig);
}

static void sigkill(struct run *r)
{
	if (r->kill_sent)
		return;
	r->kill_sent = now_ms();
	kill(r->pid1, SIGKILL);
}

/* Acts on every deadline that has passed. */
static void on_time(struct options *o, struct run *r)
{
	long long now = now_ms();
	if (!r->ready && (!o->ready_file || access(o->ready_file, F_OK) == 0))
		r->ready = now;
	if (r->ready && !r->stop_ready && (!o->stop_file || access(o->stop_file, F_OK) == 0))
		r->stop_ready = now;
	if (r->stop_ready && o->stop_after >= 0 && now >= r->stop_ready + o->stop_after)
		stop(o, r);
	if (r->ready) {
		for (int i = 0; i < o->n_exec; i++)
			if (!o->exec[i].done && now >= r->ready + o->exec[i].ms) {
				o->exec[i].done = true;
				start_exec(r, o->exec[i].cmd);
			}
	}
	if (r->stop_sent && now >= r->stop_sent + o->kill_timeout) {
		r->killed = !r->kill_sent;
		sigkill(r);
	}
	if (o->timeout >= 0 && now >= r->start + o->timeout && !r->kill_sent) {
		r->timed_out = true;
		sigkill(r);
	}
}

/* Reaps PID 1 and exec helpers; true once PID 1 is gone. */
static bool reap(struct run *r)
{
	int status;
	pid_t pid;
	bool gone = false;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (pid == r->pid1) {
			r->exited = now_ms();
			r->status = status;
			gone = true;
		}
	}
	return gone;
}

static int run(struct options *o)
{
	struct run r = { 0 };
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0)
		die("signalfd");

	char **envp = child_env(o);
	fflush(NULL);
	r.start = now_ms();
	r.pid1 = start(o, envp);
	if (o->pid_file)
		write_pid_file(o->pid_file, r.pid1);
	on_time(o, &r);

	for (;;) {
		struct pollfd p = { .fd = sfd, .events = POLLIN };
		int rc = poll(&p, 1, next_timeout(o, &r));
		if (rc < 0 && errno != EINTR)
			die("poll");
		struct signalfd_siginfo si;
		bool gone = false;
		while (read(sfd, &si, sizeof si) == sizeof si) {
			if (si.ssi_signo == SIGCHLD)
				gone |= reap(&r);
			else
				stop(o, &r);
		}
		gone |= reap(&r);
		if (gone)
			break;
		on_time(o, &r);
	}
	/* Exec helpers die with the namespace; collect them. */
	for (int i = 0; i < r.n_helpers; i++)
		waitpid(r.helpers[i], NULL, 0);
	if (o->pid_file)
		unlink(o->pid_file);
	report(o, &r);
	return code_of(r.status);
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "enter") == 0) {
		if (argc < 4)
			usage();
		return enter((pid_t)parse_ms(argv[2]), argv + 3);
	}
	if (argc >= 2 && strcmp(argv[1], "count") == 0) {
		if (argc != 3)
			usage();
		return count((pid_t)parse_ms(argv[2]));
	}
	struct options o;
	parse_options(argc, argv, &o);
	return run(&o);
}
