/* The real libc functions behind the interposed ones (dlsym RTLD_NEXT). */
#ifndef INITSAFE_REAL_H
#define INITSAFE_REAL_H

#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <sys/types.h>
#include <sys/wait.h>

struct real_fns {
	int (*sigaction)(int, const struct sigaction *, struct sigaction *);
	pid_t (*fork)(void);
	pid_t (*_Fork)(void);
	int (*clone)(int (*)(void *), void *, int, void *, ...);
	int (*posix_spawn)(pid_t *, const char *, const posix_spawn_file_actions_t *,
			   const posix_spawnattr_t *, char *const[], char *const[]);
	int (*posix_spawnp)(pid_t *, const char *, const posix_spawn_file_actions_t *,
			    const posix_spawnattr_t *, char *const[], char *const[]);
	pid_t (*wait)(int *);
	pid_t (*waitpid)(pid_t, int *, int);
	int (*waitid)(idtype_t, id_t, siginfo_t *, int);
	pid_t (*wait3)(int *, int, struct rusage *);
	pid_t (*wait4)(pid_t, int *, int, struct rusage *);
	int (*system)(const char *);
	FILE *(*popen)(const char *, const char *);
	int (*pclose)(FILE *);
	void (*exit)(int) __attribute__((noreturn));
	void (*_exit)(int) __attribute__((noreturn));
	int (*daemon)(int, int);
};

extern struct real_fns real;

/* Resolves every pointer; safe to call again (a wrapper may run first). */
void real_resolve(void);

/* The real sigaction, resolved on first use. */
int real_sigaction(int sig, const struct sigaction *act, struct sigaction *oact);

#endif
