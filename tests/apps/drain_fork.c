/*
 * Test app: the exit drain belongs to PID 1 alone. Starts a sibling whose
 * SIGTERM handler appends "term" to the file F (working directory) and
 * carries on, then children that leave by exit(0), _exit(0), a return
 * from main and a vfork child's _exit(0): none of them may send TERM. Prints "early-term=N" (lines of F before its own exit,
 * which must be 0) and "sibling=PID", then exits 0: now the sibling must
 * get exactly one TERM.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void on_term(int sig)
{
	static const char line[] = "term\n";
	(void)sig;
	int fd = open("F", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd >= 0) {
		if (write(fd, line, sizeof line - 1) < 0)
			_exit(2);
		close(fd);
	}
}

static int count_lines(const char *path)
{
	FILE *f = fopen(path, "re");
	int lines = 0, c;
	if (!f)
		return 0;
	while ((c = fgetc(f)) != EOF)
		lines += c == '\n';
	fclose(f);
	return lines;
}

static int wait_for(pid_t pid)
{
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static pid_t start_sibling(void)
{
	int ready[2];
	char byte;
	if (pipe(ready) != 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		struct sigaction act;
		memset(&act, 0, sizeof act);
		act.sa_handler = on_term;
		act.sa_flags = SA_RESTART;
		sigemptyset(&act.sa_mask);
		sigaction(SIGTERM, &act, NULL);
		close(ready[0]);
		if (write(ready[1], "r", 1) != 1)
			_exit(2);
		for (;;)
			pause();
	}
	close(ready[1]);
	if (pid > 0 && read(ready[0], &byte, 1) != 1)
		pid = -1;
	close(ready[0]);
	return pid;
}

/* In a function of its own: nothing of main's is live across vfork. */
static int vfork_exit(void)
{
	pid_t pid = vfork();
	if (pid == 0)
		_exit(0);
	return pid < 0 ? -1 : wait_for(pid);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	pid_t sibling = start_sibling();
	if (sibling < 0) {
		fputs("no sibling\n", stderr);
		return 2;
	}
	int codes[4];
	pid_t pid;

	if ((pid = fork()) == 0)
		exit(0);
	codes[0] = wait_for(pid);
	if ((pid = fork()) == 0)
		_exit(0);
	codes[1] = wait_for(pid);
	if ((pid = fork()) == 0)
		return 0;
	codes[2] = wait_for(pid);
	codes[3] = vfork_exit();

	/* Time for a stray TERM to arrive and be written down. */
	struct timespec ts = { .tv_sec = 0, .tv_nsec = 300 * 1000000L };
	nanosleep(&ts, NULL);
	printf("children=%d,%d,%d,%d early-term=%d sibling=%d\n", codes[0], codes[1], codes[2],
	       codes[3], count_lines("F"), (int)sibling);
	exit(0);
}
