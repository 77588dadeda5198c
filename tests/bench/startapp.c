/*
 * The app of the startup benchmark: the first thing main does is write its
 * CLOCK_MONOTONIC (8 bytes, ns) to fd 9 (or argv[1]), for nsbench startup.
 */
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	long long ns = (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
	int fd = argc > 1 ? atoi(argv[1]) : 9;
	return write(fd, &ns, sizeof ns) == (ssize_t)sizeof ns ? 0 : 1;
}
