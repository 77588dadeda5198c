/*
 * Test app: prints its environment, one "env: NAME=VALUE" line per entry of
 * environ in order, between "env-start" and "env-start-end"; then runs
 * system("true") and a fork + wait and prints it again between "env-end"
 * and "env-end-end". Exits 0.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static void print_environ(const char *label)
{
	printf("%s\n", label);
	for (char **entry = environ; entry && *entry; entry++)
		printf("env: %s\n", *entry);
	printf("%s-end\n", label);
}

int main(void)
{
	int status;
	print_environ("env-start");
	if (system("true") != 0)
		printf("system failed\n");
	pid_t pid = fork();
	if (pid == 0)
		_exit(0);
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		printf("fork failed\n");
	print_environ("env-end");
	return 0;
}
