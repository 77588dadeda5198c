/*
 * Small pieces the hard_* test apps share: making an orphan, finding
 * initsafe's reaper thread. Header-only: each app is one program.
 */
#ifndef INITSAFE_TEST_APP_UTIL_H
#define INITSAFE_TEST_APP_UTIL_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* An orphan: a child that forks a grandchild (exits at once) and leaves. */
static inline pid_t make_orphan(void)
{
	int ends[2], status;
	pid_t grandchild = -1;
	if (pipe(ends) != 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		pid_t gc = fork();
		if (gc == 0)
			_exit(0);
		_exit(write(ends[1], &gc, sizeof gc) == (ssize_t)sizeof gc ? 0 : 1);
	}
	close(ends[1]);
	if (read(ends[0], &grandchild, sizeof grandchild) != (ssize_t)sizeof grandchild)
		grandchild = -1;
	close(ends[0]);
	if (pid > 0)
		waitpid(pid, &status, 0);
	return grandchild;
}

/* The reaper's tid (the namespace's numbering), 0 when there is none. */
static inline pid_t reaper_tid(void)
{
	DIR *dir = opendir("/proc/self/task");
	struct dirent *entry;
	pid_t found = 0;
	while (dir && (entry = readdir(dir)) && !found) {
		char path[300], comm[32] = "";
		snprintf(path, sizeof path, "/proc/self/task/%s/comm", entry->d_name);
		FILE *f = fopen(path, "re");
		if (!f)
			continue;
		if (fgets(comm, sizeof comm, f) && strcmp(comm, "initsafe-reap\n") == 0)
			found = (pid_t)atoi(entry->d_name);
		fclose(f);
	}
	if (dir)
		closedir(dir);
	return found;
}

#endif
