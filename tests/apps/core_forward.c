/*
 * Test app: handles SIGTERM itself (the handler only says so) and runs a
 * child shell that reports on stderr the TERM it receives. Exits 0 once
 * the child has gone, printing its exit code and whether the handler ran.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char child_script[] =
	"trap 'echo got-term >&2; exit 0' TERM; echo child-ready >&2; "
	"while :; do sleep 0.05; done";

static volatile sig_atomic_t handled;

static void on_term(int sig)
{
	static const char line[] = "app-handler\n";
	(void)sig;
	handled = 1;
	if (write(STDOUT_FILENO, line, sizeof line - 1) < 0)
		handled = 2;
}

int main(void)
{
	struct sigaction act;
	int status;

	memset(&act, 0, sizeof act);
	act.sa_handler = on_term;
	act.sa_flags = SA_RESTART;
	sigemptyset(&act.sa_mask);
	if (sigaction(SIGTERM, &act, NULL) != 0) {
		perror("sigaction");
		return 1;
	}
	pid_t child = fork();
	if (child < 0) {
		perror("fork");
		return 1;
	}
	if (child == 0) {
		execl("/bin/sh", "sh", "-c", child_script, (char *)NULL);
		_exit(127);
	}
	puts("ready");
	fflush(stdout);
	while (waitpid(child, &status, 0) < 0)
		if (errno != EINTR) {
			perror("waitpid");
			return 1;
		}
	printf("child-exit=%d handled=%d\n",
	       WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status), handled);
	return 0;
}
