/* Test app, a classic daemon: closes every descriptor above 2, says "ready", waits forever. */
#include <stdio.h>
#include <unistd.h>

int main(void)
{
	for (int fd = 3; fd < 4096; fd++)
		close(fd);
	puts("ready");
	fflush(stdout);
	for (;;)
		pause();
}
