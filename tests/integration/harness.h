/*
 * Integration-test harness: runs a program as PID 1 of a fresh PID (and
 * mount) namespace, the way a container runtime does, with or without
 * build/libinitsafe.so preloaded, and observes it from the parent namespace.
 *
 * Typical use (cmocka):
 *
 *	struct h_ns ns;
 *	struct h_result res;
 *	char *const argv[] = { "/bin/sh", "-c", "sleep 1000; true", NULL };
 *	struct h_opts opts = { .argv = argv, .preload = true };
 *
 *	assert_int_equal(h_start(&ns, &opts), 0);
 *	assert_true(h_wait_procs(&ns, 2, 5000));
 *	h_kill(&ns, SIGTERM);
 *	h_finish(&ns, 5000, &res);
 *	assert_int_equal(res.exit_code, 143);
 *	h_result_free(&res);
 *
 * Register h_teardown as the teardown of every test that starts
 * namespaces (cmocka_unit_test_teardown): a failed assertion leaves the
 * test function by longjmp, and h_teardown then kills and frees whatever
 * that test left running. PID 1 also gets SIGKILL if the harness dies.
 *
 * Must run as root (namespaces, setns, mounting /proc). Not thread-safe.
 * Every call that waits keeps draining the captured output, so a chatty
 * program never blocks on a full pipe. Times are CLOCK_MONOTONIC.
 */
#ifndef INITSAFE_TEST_HARNESS_H
#define INITSAFE_TEST_HARNESS_H

#include <stdbool.h>
#include <sys/types.h>

/* ---- paths and time ---- */

/* $BUILD, or "build" when unset or empty. */
const char *h_build_dir(void);

/* Absolute path of rel inside the build directory, e.g.
 * h_path("apps/core_idle"). Heap string, caller frees. */
char *h_path(const char *rel);

/* A fresh directory under /tmp (mkdtemp). Heap string, caller frees;
 * remove the directory with h_rmrf. NULL on error. */
char *h_tmpdir(void);

/* rm -rf path (does not follow symlinks). 0, or -1 with errno. */
int h_rmrf(const char *path);

/* CLOCK_MONOTONIC in milliseconds. */
long long h_now_ms(void);

/* ---- starting and watching a namespace ---- */

struct h_opts {
	char *const *argv;        /* NULL-terminated; argv[0] without '/' is
				     looked up in the minimal PATH */
	const char *const *env;   /* extra "K=V" entries, NULL-terminated, or NULL */
	bool preload;             /* add LD_PRELOAD=<abs path of libinitsafe.so> */
	bool no_pid_ns;           /* plain child of the harness, same namespaces */
	const char *cwd;          /* working directory; NULL keeps the harness's */
};

/*
 * The environment is always PATH=/usr/sbin:/usr/bin:/sbin:/bin and
 * HOME=/root, then LD_PRELOAD when asked, then opts.env. stdin is
 * /dev/null; every signal starts at SIG_DFL and unblocked; RLIMIT_CORE is
 * 1 byte, which disables core dumps (pipe handlers included).
 */

struct h_ns_impl;

struct h_ns {
	pid_t pid;               /* PID 1 (or the plain child), host numbering */
	struct h_ns_impl *impl;  /* harness-private */
};

/*
 * Starts opts->argv as PID 1 of a new PID + mount namespace (mounts made
 * private, a fresh /proc), the harness being its direct parent so the real
 * wait status is seen. Returns once the program is exec'd: 0, or -1 (with
 * a message on stderr) when the namespace or the exec failed.
 */
int h_start(struct h_ns *ns, const struct h_opts *opts);

/* Waits until stdout or stderr contains needle. False on timeout, or when
 * PID 1 exited without having written it. */
bool h_wait_output(struct h_ns *ns, const char *needle, int timeout_ms);

/* Waits up to timeout_ms (0: just looks) for PID 1 to exit; true if it has.
 * The status is kept for h_finish. */
bool h_wait_exit(struct h_ns *ns, int timeout_ms);

/* Waits until h_count_procs(ns) >= at_least (polled every 5 ms). */
bool h_wait_procs(struct h_ns *ns, int at_least, int timeout_ms);

/* What was captured so far (NUL-terminated, valid until the next harness
 * call on ns). */
const char *h_out(struct h_ns *ns);
const char *h_err(struct h_ns *ns);

/* Milliseconds since h_start. */
long long h_elapsed_ms(struct h_ns *ns);

/* kill(2) from the parent namespace to PID 1, as `docker kill` does; the
 * send time is recorded for h_result.ms_since_kill. kill's result. */
int h_kill(struct h_ns *ns, int sig);

/*
 * Runs argv inside the namespace, like `docker exec`: its parent is a
 * harness process outside the namespace, so if it leaves orphans they go
 * to PID 1. argv[0] without '/' is looked up in the minimal PATH; env is
 * the complete environment (NULL: the minimal one, without LD_PRELOAD);
 * the working directory is "/"; stdout/stderr go to the same capture as
 * PID 1's. wait=true: returns its exit code (128+sig when killed by a
 * signal; gives up after 30 s). wait=false: returns 0 once it is exec'd.
 * -1 on error. Not available with no_pid_ns.
 */
int h_enter(struct h_ns *ns, char *const argv[], const char *const env[], bool wait);

/*
 * Processes of the namespace seen from the host /proc (PID 1 included):
 * those in state Z, all of them. initsafe's idle child (comm
 * "initsafe-idle", see preload/sentinel.h) is not counted. With no_pid_ns, "the namespace" is the
 * child and its descendants. -1 on error.
 */
int h_count_zombies(struct h_ns *ns);
int h_count_procs(struct h_ns *ns);

/* The Threads: count of PID 1, -1 when it is gone. */
int h_threads(struct h_ns *ns);

/* ---- ending ---- */

struct h_result {
	int status;             /* raw wait status of PID 1 */
	int exit_code;          /* WEXITSTATUS, or 128 + signal when signaled */
	bool signaled;
	int term_sig;           /* 0 unless signaled */
	bool timed_out;         /* h_finish had to SIGKILL it */
	long long ms_since_kill;  /* last h_kill to PID 1's exit; -1 if none */
	long long ms_total;     /* h_start to PID 1's exit */
	char *out;              /* all of stdout, NUL-terminated, heap */
	char *err;              /* all of stderr, NUL-terminated, heap */
};

/*
 * Waits up to timeout_ms for PID 1 to exit (then SIGKILLs it and sets
 * timed_out), reaps the h_enter helpers, reads the output to EOF (giving up
 * after 2 s if something outside the namespace still holds the pipes),
 * fills res and releases ns. 0, or -1 if ns was not running.
 */
int h_finish(struct h_ns *ns, int timeout_ms, struct h_result *res);

void h_result_free(struct h_result *res);

/* SIGKILLs and releases every namespace not yet finished. */
void h_cleanup_all(void);

/* h_cleanup_all with cmocka's fixture signature; always returns 0. */
int h_teardown(void **state);

#endif
