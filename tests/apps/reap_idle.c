/* Test app: starts one child (`sleep 1000`, never waited for), says "ready", waits forever. */
#include <stdio.h>
#include <unistd.h>

int main(void)
{
	pid_t pid = fork();
	if (pid < 0) {
		perror("fork");
		return 1;
	}
	if (pid == 0) {
		execl("/bin/sleep", "sleep", "1000", (char *)NULL);
		_exit(127);
	}
	printf("ready child=%d\n", (int)pid);
	fflush(stdout);
	for (;;)
		pause();
}
