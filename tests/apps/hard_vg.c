/*
 * Test app for tests/valgrind.sh: run as PID 1 with the preload, under
 * valgrind, it goes through the library's interesting paths once each and
 * checks their results:
 *   sigaction (SA_SIGINFO) and signal() handlers, read back;
 *   fork + waitpid (exact status);
 *   system() (exact status) and popen()/pclose() (output and status);
 *   an orphan (double fork) that the reaper must take;
 *   raise(SIGTERM) and raise(SIGUSR1) reaching the app's handlers.
 * Prints "vg-app: step NAME" as it goes, then "vg-app: ok" and exits 0, or
 * names what failed and exits 1.
 * Says "vg-app: not PID 1" (and fails) when not run as PID 1.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t got_term, got_usr1, term_info_ok;
static int failures;

static void check(int ok, const char *what)
{
	if (ok)
		return;
	failures++;
	fprintf(stderr, "vg-app: FAILED: %s\n", what);
}

static void on_term(int sig, siginfo_t *info, void *uc)
{
	(void)uc;
	got_term++;
	term_info_ok = sig == SIGTERM && info && info->si_signo == SIGTERM;
}

static void on_usr1(int sig)
{
	(void)sig;
	got_usr1++;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void handlers(void)
{
	struct sigaction sa = { .sa_sigaction = on_term, .sa_flags = SA_SIGINFO | SA_RESTART };
	struct sigaction back;
	sigemptyset(&sa.sa_mask);
	check(sigaction(SIGTERM, &sa, NULL) == 0, "sigaction(TERM)");
	check(sigaction(SIGTERM, NULL, &back) == 0 && back.sa_sigaction == on_term &&
		      (back.sa_flags & SA_SIGINFO),
	      "TERM read back");
	check(signal(SIGUSR1, on_usr1) == SIG_DFL, "signal(USR1) returns SIG_DFL");
	check(signal(SIGUSR1, on_usr1) == on_usr1, "signal(USR1) returns on_usr1");
}

static void fork_and_wait(void)
{
	int status;
	pid_t pid = fork();
	if (pid == 0)
		_exit(7);
	check(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
		      WEXITSTATUS(status) == 7,
	      "fork + waitpid gives exit 7");
}

static void shell(void)
{
	int status = system("exit 3");
	check(WIFEXITED(status) && WEXITSTATUS(status) == 3, "system(\"exit 3\") gives 3");

	char line[64] = "";
	FILE *p = popen("echo hello", "r");
	check(p != NULL, "popen");
	if (!p)
		return;
	check(fgets(line, sizeof line, p) != NULL && strcmp(line, "hello\n") == 0,
	      "popen reads hello");
	check(pclose(p) == 0, "pclose gives 0");
}

/* A grandchild whose parent leaves at once: PID 1's, and the reaper's. */
static void orphan(void)
{
	int pipe_fds[2], status;
	pid_t grandchild = 0;
	check(pipe(pipe_fds) == 0, "pipe");
	pid_t pid = fork();
	if (pid == 0) {
		pid_t gc = fork();
		if (gc == 0)
			_exit(0);
		if (write(pipe_fds[1], &gc, sizeof gc) != (ssize_t)sizeof gc)
			_exit(1);
		_exit(0);
	}
	close(pipe_fds[1]);
	check(read(pipe_fds[0], &grandchild, sizeof grandchild) == (ssize_t)sizeof grandchild &&
		      grandchild > 0,
	      "the grandchild's pid");
	close(pipe_fds[0]);
	check(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "the orphan's parent exits 0");
	/* A zombie still answers kill(pid, 0); a reaped pid does not. */
	int waited_ms = 0;
	while (grandchild > 0 && kill(grandchild, 0) == 0 && waited_ms < 30000) {
		sleep_ms(10);
		waited_ms += 10;
	}
	check(grandchild > 0 && kill(grandchild, 0) != 0 && errno == ESRCH, "the orphan is reaped");
}

static void step(const char *name)
{
	printf("vg-app: step %s\n", name);
}

int main(void)
{
	if (getpid() != 1) {
		fprintf(stderr, "vg-app: not PID 1\n");
		return 1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	step("handlers");
	handlers();
	step("fork");
	fork_and_wait();
	step("system+popen");
	shell();
	step("orphan");
	orphan();
	step("raise");
	raise(SIGUSR1);
	raise(SIGTERM);
	check(got_usr1 == 1, "the USR1 handler ran once");
	check(got_term == 1 && term_info_ok, "the TERM handler ran once, with its siginfo");
	if (failures)
		return 1;
	puts("vg-app: ok");
	return 0;
}
