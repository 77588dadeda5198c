/* Test app with no signal handlers at all: says "ready", then waits forever. */
#include <stdio.h>
#include <unistd.h>

int main(void)
{
	puts("ready");
	fflush(stdout);
	for (;;)
		pause();
}
