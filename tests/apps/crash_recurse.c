/* Test app: recurses without end until the stack overflows. */
#include <stdio.h>

/* Never reached; keeps compilers from calling the recursion endless. */
static volatile int stop_depth = -1;

static __attribute__((noinline)) int recurse(int depth)
{
	volatile char frame[256];
	if (depth == stop_depth)
		return 0;
	frame[0] = (char)depth;
	/* Not a tail call: every level keeps its frame. */
	return recurse(depth + 1) + frame[0];
}

int main(void)
{
	fputs("about to overflow\n", stderr);
	return recurse(0);
}
