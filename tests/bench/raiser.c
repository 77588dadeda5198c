/*
 * The app of the signal-dispatch benchmark: N times raise(SIGUSR1) with its
 * own handler installed. As PID 1 with INITSAFE_SIGNALS including USR1, each
 * one passes through initsafe's dispatcher; without the preload the kernel
 * calls the handler directly. Prints on stdout
 * "<wall ns per raise> <N> <CPU ns per raise (user+sys)>".
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

static volatile sig_atomic_t hits;

static void on_usr1(int sig)
{
	(void)sig;
	hits++;
}

static long long cpu_ns(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000LL +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000LL;
}

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 1000000;
	long warm = n < 1000 ? n : 1000;
	struct sigaction sa = { .sa_handler = on_usr1, .sa_flags = SA_RESTART };
	sigemptyset(&sa.sa_mask);
	if (n <= 0 || sigaction(SIGUSR1, &sa, NULL) != 0)
		return 2;
	for (long i = 0; i < warm; i++)
		raise(SIGUSR1);
	long long c0 = cpu_ns(), t0 = now_ns();
	for (long i = 0; i < n; i++)
		raise(SIGUSR1);
	long long t1 = now_ns(), c1 = cpu_ns();
	if (hits != (sig_atomic_t)(n + warm)) {
		fprintf(stderr, "raiser: %ld signals raised, %ld handled\n", n + warm, (long)hits);
		return 1;
	}
	printf("%.2f %ld %.2f\n", (double)(t1 - t0) / (double)n, n, (double)(c1 - c0) / (double)n);
	return 0;
}
