/*
 * Test app for signal()'s BSD semantics: a SIGUSR1 handler installed with
 * signal() must let a blocking read() restart instead of failing with
 * EINTR. A helper thread says "ready" once main sleeps in read(), and
 * writes to the pipe 300 ms after the handler ran.
 */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define WAIT_FOR_READ_MS 5000

static int pipe_fds[2];
static sem_t handler_ran;
static volatile sig_atomic_t handled;

static void on_usr1(int sig)
{
	(void)sig;
	handled = 1;
	sem_post(&handler_ran);
}

/* The first field of /proc/.../syscall is the number of the blocking call. */
static bool sleeps_in_read(pid_t tid)
{
	char path[64];
	long number = -1;
	snprintf(path, sizeof path, "/proc/self/task/%d/syscall", (int)tid);
	FILE *f = fopen(path, "r");
	if (!f)
		return false;
	if (fscanf(f, "%ld", &number) != 1)
		number = -1;
	fclose(f);
	return number == SYS_read;
}

static void *helper(void *arg)
{
	pid_t main_tid = *(const pid_t *)arg;
	struct timespec tick = { 0, 1000000 }, delay = { 0, 300000000 };

	for (int ms = 0; ms < WAIT_FOR_READ_MS && !sleeps_in_read(main_tid); ms++)
		nanosleep(&tick, NULL);
	puts("ready");
	fflush(stdout);
	while (sem_wait(&handler_ran) != 0)
		;
	nanosleep(&delay, NULL);
	if (write(pipe_fds[1], "ping", 4) != 4)
		perror("write");
	return NULL;
}

static void print_disposition(void)
{
	struct sigaction now;
	sigaction(SIGUSR1, NULL, &now);
	printf("handler=%s restart=%d self_blocked=%d\n",
	       now.sa_handler == on_usr1 ? "on_usr1" : "other",
	       (now.sa_flags & SA_RESTART) != 0, sigismember(&now.sa_mask, SIGUSR1));
	fflush(stdout);
}

int main(void)
{
	pid_t main_tid = (pid_t)syscall(SYS_gettid);
	sigset_t usr1;
	pthread_t thread;
	char data[16];

	if (signal(SIGUSR1, on_usr1) == SIG_ERR || pipe(pipe_fds) != 0 || sem_init(&handler_ran, 0, 0) != 0) {
		perror("setup");
		return 1;
	}
	print_disposition();
	/* The helper inherits a mask with USR1 blocked: only main can take it. */
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &usr1, NULL);
	if (pthread_create(&thread, NULL, helper, &main_tid) != 0) {
		fputs("pthread_create failed\n", stderr);
		return 1;
	}
	pthread_sigmask(SIG_UNBLOCK, &usr1, NULL);
	ssize_t n = read(pipe_fds[0], data, sizeof data);
	if (n < 0)
		printf("read=-1 errno=%s\n", strerror(errno));
	else
		printf("read=%zd data=%.*s\n", n, (int)n, data);
	printf("handled=%d\n", handled);
	return 0;
}
