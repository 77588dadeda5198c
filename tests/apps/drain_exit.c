/*
 * Test app: forks a child whose SIGTERM handler writes "term" into the
 * file argv[2] (in the working directory) and exits; once the child is
 * ready, leaves without waiting for it, as argv[1] says:
 *   _exit   _exit(6)
 *   _Exit   _Exit(9)
 *   exit    exit(7)
 *   return  return 8 from main
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

static const char *file_name = "F";

static void on_term(int sig)
{
	static const char line[] = "term\n";
	(void)sig;
	int fd = open(file_name, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd >= 0) {
		if (write(fd, line, sizeof line - 1) < 0)
			_exit(2);
		close(fd);
	}
	_exit(0);
}

int main(int argc, char **argv)
{
	int ready[2];
	char byte;

	if (argc < 2) {
		fputs("usage: drain_exit _exit|_Exit|exit|return [file]\n", stderr);
		return 2;
	}
	if (argc > 2)
		file_name = argv[2];
	if (pipe(ready) != 0) {
		perror("pipe");
		return 2;
	}
	pid_t pid = fork();
	if (pid < 0) {
		perror("fork");
		return 2;
	}
	if (pid == 0) {
		struct sigaction act;
		memset(&act, 0, sizeof act);
		act.sa_handler = on_term;
		sigemptyset(&act.sa_mask);
		sigaction(SIGTERM, &act, NULL);
		close(ready[0]);
		if (write(ready[1], "r", 1) != 1)
			_exit(2);
		for (;;)
			pause();
	}
	close(ready[1]);
	if (read(ready[0], &byte, 1) != 1) {
		fputs("the child never got ready\n", stderr);
		return 2;
	}
	printf("child=%d\n", (int)pid);
	fflush(stdout);
	if (strcmp(argv[1], "_exit") == 0)
		_exit(6);
	if (strcmp(argv[1], "_Exit") == 0)
		_Exit(9);
	if (strcmp(argv[1], "exit") == 0)
		exit(7);
	return 8;
}
