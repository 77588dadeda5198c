/*
 * Finding processes through /proc with raw system calls only (no heap, no
 * stdio), so it works in a signal handler and after the app closed fds.
 */
#ifndef INITSAFE_PROCSCAN_H
#define INITSAFE_PROCSCAN_H

#include <stdbool.h>
#include <sys/types.h>

/* True when /proc belongs to the caller's PID namespace (not the host's). */
bool procscan_is_own_namespace(void);

/* Children of every thread of process pid; returns how many (≤ max), -1 on error. */
int procscan_children(pid_t pid, pid_t *out, int max);

/*
 * Every process below pid (children, their children, ...), breadth first;
 * returns how many (≤ max).
 */
int procscan_descendants(pid_t pid, pid_t *out, int max);

/* Every process in /proc but the caller; returns how many (≤ max), -1 on error. */
int procscan_all_others(pid_t *out, int max);

/* The command name (comm) and state letter of pid; false when gone. */
bool procscan_stat(pid_t pid, char comm[17], char *state);

/* Start time of pid in clock ticks since boot (field 22); 0 when gone. */
unsigned long long procscan_start_ticks(pid_t pid);



/* True when /proc/PID/maps of pid names a file containing needle. */
bool procscan_maps_contain(pid_t pid, const char *needle);

/* Pids of the pidfds the caller holds (/proc/self/fdinfo "Pid:"); count ≤ max. */
int procscan_pidfd_pids(pid_t *out, int max);

#endif
