/*
 * Test app: initsafe leaves no descriptor open in the app. Lists
 * /proc/self/fd at the start of main ("fds-start: 0,1,2", the listing's
 * own directory descriptor left out), makes ORPHANS orphans and waits until
 * every one is reaped ("orphans-reaped=N/ORPHANS"), waits until the reaper
 * thread (comm initsafe-reap) sleeps in futex or waitid, so that none of
 * its /proc scans is under way ("reaper-idle=1"; 0 after 10 s, or when
 * there is no reaper), runs system() and popen()/pclose(), lists again
 * ("fds-end: ..."). Each descriptor beyond 0-2 is described on stderr.
 * Exits 0. With the argument "start-only", lists once and exits: the
 * reference run without the library (descriptors the test runner leaks
 * into its children show in both).
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "app_util.h"

#define ORPHANS 20
#define MAX_FDS 256

static void sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int by_number(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

static void list_fds(const char *label)
{
	int fds[MAX_FDS], count = 0;
	DIR *dir = opendir("/proc/self/fd");
	struct dirent *entry;
	if (!dir) {
		printf("%s: cannot list: %s\n", label, strerror(errno));
		return;
	}
	while ((entry = readdir(dir)) && count < MAX_FDS) {
		char *end;
		long fd = strtol(entry->d_name, &end, 10);
		if (*end || entry->d_name[0] == '\0' || fd == dirfd(dir))
			continue;
		fds[count++] = (int)fd;
	}
	qsort(fds, (size_t)count, sizeof fds[0], by_number);
	printf("%s: ", label);
	for (int i = 0; i < count; i++) {
		printf("%s%d", i ? "," : "", fds[i]);
		if (fds[i] > 2) {
			char path[64], target[256] = "?";
			snprintf(path, sizeof path, "/proc/self/fd/%d", fds[i]);
			ssize_t n = readlink(path, target, sizeof target - 1);
			target[n > 0 ? n : 1] = '\0';
			fprintf(stderr, "%s: fd %d -> %s\n", label, fds[i], target);
		}
	}
	printf("\n");
	closedir(dir);
}

/* The reaper sleeps in futex or waitid: no scan of /proc is open. */
static int reaper_idle(pid_t tid)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/self/task/%d/syscall", (int)tid);
	for (int tries = 0; tries < 1000; tries++) {
		long number = -1;
		FILE *f = fopen(path, "re");
		if (f) {
			if (fscanf(f, "%ld", &number) != 1)
				number = -1;
			fclose(f);
		}
		if (number == SYS_futex || number == SYS_waitid)
			return 1;
		sleep_ms(10);
	}
	return 0;
}

int main(int argc, char **argv)
{
	pid_t orphans[ORPHANS];
	int reaped = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	list_fds("fds-start");
	if (argc > 1 && strcmp(argv[1], "start-only") == 0)
		return 0;
	for (int i = 0; i < ORPHANS; i++)
		orphans[i] = make_orphan();
	for (int i = 0; i < ORPHANS; i++) {
		/* A zombie still answers kill(pid, 0); a reaped pid does not. */
		for (int tries = 0; orphans[i] > 0 && kill(orphans[i], 0) == 0 && tries < 1000; tries++)
			sleep_ms(10);
		reaped += orphans[i] > 0 && kill(orphans[i], 0) != 0 && errno == ESRCH;
	}
	printf("orphans-reaped=%d/%d\n", reaped, ORPHANS);
	pid_t tid = reaper_tid();
	printf("reaper-idle=%d\n", tid ? reaper_idle(tid) : 0);
	int status = system("true");
	FILE *p = popen("echo x", "r");
	char line[8] = "";
	if (p) {
		if (!fgets(line, sizeof line, p))
			line[0] = '\0';
		status |= pclose(p);
	}
	printf("shell=%s\n", status == 0 && strcmp(line, "x\n") == 0 ? "ok" : "failed");
	list_fds("fds-end");
	return 0;
}
