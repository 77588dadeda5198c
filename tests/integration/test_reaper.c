/*
 * Integration tests for the reaper: orphans re-parented to PID 1 are
 * reaped, the app's own children never lose their exit status (C calls,
 * python3, bash), daemons and SIGCHLD=SIG_IGN apps are handled, and the
 * reaper thread costs nothing while idle.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "harness.h"

#define SH "/bin/sh"
#define BASH "/bin/bash"
/* "Promptly", on a loaded 2-core machine. */
#define PROMPT_MS 1000
/* How long orphans may take to be reaped. */
#define REAP_MS 5000

/* 200 orphans, as a `docker exec` session leaves them: each subshell exits at once. */
#define MAKE_ORPHANS "for i in $(seq 200); do (sleep 0.01 &) ; done"

/*
 * An orphan maker for a concurrent session: runs until $1/stop exists (at
 * most 3000 orphans), then says how many it made and touches $1/done.
 */
#define ORPHAN_LOOP                                                              \
	"d=$1; touch \"$d/started\"; n=0; "                                      \
	"while [ ! -e \"$d/stop\" ] && [ $n -lt 3000 ]; do (sleep 0.01 &); n=$((n+1)); done; " \
	"echo orphans=$n; touch \"$d/done\""

/* ---- helpers ---- */

static void start_sleep(struct h_ns *ns, const char *const *env, bool preload)
{
	char *argv[] = { "sleep", "1000", NULL };
	ck_start(ns, (struct h_opts){ .argv = argv, .env = env, .preload = preload });
}

/* A docker-exec-like session that leaves 200 orphans behind; waits for it. */
static void make_orphans(struct h_ns *ns)
{
	char *argv[] = { SH, "-c", MAKE_ORPHANS, NULL };
	int rc = h_enter(ns, argv, NULL, true);
	EXPECT_NS(ns, rc == 0);
}

/* Starts ORPHAN_LOOP in a session that runs beside PID 1 (not waited for). */
static void start_orphan_loop(struct h_ns *ns, const char *dir)
{
	char *argv[] = { SH, "-c", ORPHAN_LOOP, "sh", (char *)dir, NULL };
	int rc = h_enter(ns, argv, NULL, false);
	EXPECT_NS(ns, rc == 0);
}

/*
 * Polls the zombies of the namespace until there are none, for up to
 * timeout_ms, keeping PID 1's output drained. Returns the last count.
 */
static int zombies_after(struct h_ns *ns, int timeout_ms)
{
	long long deadline = h_now_ms() + timeout_ms;
	int zombies = h_count_zombies(ns);
	while (zombies != 0 && h_now_ms() < deadline) {
		h_wait_exit(ns, 20);
		zombies = h_count_zombies(ns);
	}
	return zombies;
}

/* Lets time pass while draining PID 1's output. */
static void pause_ms(struct h_ns *ns, int ms)
{
	long long deadline = h_now_ms() + ms;
	while (h_now_ms() < deadline)
		h_wait_exit(ns, (int)(deadline - h_now_ms()));
}

/* ---- /proc of PID 1's threads ---- */

/* The tid of pid's thread whose comm is name; 0 if none. */
static pid_t thread_named(pid_t pid, const char *name)
{
	char path[64], comm[32];
	struct dirent *entry;
	pid_t found = 0;
	snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
	DIR *dir = opendir(path);
	if (!dir)
		return 0;
	while (!found && (entry = readdir(dir))) {
		char file[320];
		if (entry->d_name[0] == '.')
			continue;
		snprintf(file, sizeof file, "/proc/%d/task/%s/comm", (int)pid, entry->d_name);
		FILE *f = fopen(file, "re");
		if (!f)
			continue;
		if (fgets(comm, sizeof comm, f)) {
			comm[strcspn(comm, "\n")] = '\0';
			if (strcmp(comm, name) == 0)
				found = (pid_t)atoi(entry->d_name);
		}
		fclose(f);
	}
	closedir(dir);
	return found;
}

/* A "Key:\tvalue" line of /proc/pid/task/tid/status, as a heap string. */
static char *task_status_field(pid_t pid, pid_t tid, const char *key)
{
	char path[96], line[256];
	char *value = NULL;
	size_t len = strlen(key);
	snprintf(path, sizeof path, "/proc/%d/task/%d/status", (int)pid, (int)tid);
	FILE *f = fopen(path, "re");
	if (!f)
		return NULL;
	while (!value && fgets(line, sizeof line, f))
		if (strncmp(line, key, len) == 0 && line[len] == ':') {
			char *start = line + len + 1;
			start += strspn(start, " \t");
			value = strndup(start, strcspn(start, "\n"));
		}
	fclose(f);
	return value;
}

/* voluntary + nonvoluntary context switches of a thread; -1 if unreadable. */
static long long context_switches(pid_t pid, pid_t tid)
{
	char *voluntary = task_status_field(pid, tid, "voluntary_ctxt_switches");
	char *nonvoluntary = task_status_field(pid, tid, "nonvoluntary_ctxt_switches");
	long long total = -1;
	if (voluntary && nonvoluntary)
		total = atoll(voluntary) + atoll(nonvoluntary);
	free(voluntary);
	free(nonvoluntary);
	return total;
}

/* The reaper thread exists, blocks every signal and sleeps without waking. */
static void expect_idle_reaper(struct h_ns *ns)
{
	/* Let the start-up settle before measuring. */
	pause_ms(ns, 300);
	pid_t tid = thread_named(ns->pid, "initsafe-reap");
	EXPECT_NS(ns, tid > 0);
	EXPECT_NS(ns, h_threads(ns) == 2);

	char *blocked = task_status_field(ns->pid, tid, "SigBlk");
	EXPECT_NS(ns, blocked != NULL);
	uint64_t mask = strtoull(blocked, NULL, 16);
	/* KILL (bit 8) and STOP (bit 18) cannot be blocked; glibc keeps 32 and 33 (bits 31, 32). */
	const uint64_t may_be_clear = 1ull << 8 | 1ull << 18 | 1ull << 31 | 1ull << 32;
	if ((mask | may_be_clear) != UINT64_MAX) {
		print_message("SigBlk of the reaper: %s\n", blocked);
		fail_msg("the reaper thread does not block every signal");
	}
	free(blocked);

	long long before = context_switches(ns->pid, tid);
	pause_ms(ns, 2000);
	long long after = context_switches(ns->pid, tid);
	print_message("reaper tid %d: %lld then %lld context switches\n", (int)tid, before, after);
	EXPECT_NS(ns, before >= 0 && after >= 0);
	if (after != before)
		fail_msg("the idle reaper was switched in %lld times in 2 s", after - before);
}

/* ---- 1. orphans of a docker-exec-like session ---- */

static void test_exec_session_orphans_reaped(void **state)
{
	const char *const *env = *state;
	struct h_ns ns;
	struct h_result res;

	start_sleep(&ns, env, true);
	make_orphans(&ns);
	int zombies = zombies_after(&ns, REAP_MS);
	EXPECT_NS(&ns, zombies == 0);
	EXPECT_NS(&ns, h_threads(&ns) == 2);
	h_kill(&ns, SIGTERM);
	ck_finish(&ns, &res);
	EXPECT(&res, res.exit_code == 143);
	h_result_free(&res);
}

static void test_exec_session_orphans_stay_without_preload(void **state)
{
	(void)state;
	struct h_ns ns;
	struct h_result res;

	start_sleep(&ns, NULL, false);
	make_orphans(&ns);
	pause_ms(&ns, 1000);
	int zombies = h_count_zombies(&ns);
	h_kill(&ns, SIGKILL);
	ck_finish(&ns, &res);
	if (zombies < 190)
		fail_msg("only %d zombies without initsafe, expected at least 190", zombies);
	h_result_free(&res);
}

static const char *const env_default[] = { NULL };
static const char *const env_grace0[] = { "INITSAFE_REAP_GRACE=0", NULL };

/* ---- 2. every way of waiting keeps its status, orphans reaped meanwhile ---- */

/* Runs reap_statuses; returns the zombies left once it has reported. */
static int run_statuses(const char *const *env, bool preload)
{
	struct h_ns ns;
	struct h_result res;

	ck_start_app(&ns, "reap_statuses", (struct h_opts){ .env = env, .preload = preload });
	WAIT_OUTPUT_MS(&ns, "wrong=", 40000);
	int zombies = preload ? zombies_after(&ns, REAP_MS) : (pause_ms(&ns, 500), h_count_zombies(&ns));
	h_kill(&ns, SIGUSR1);
	ck_finish(&ns, &res);
	EXPECT(&res, strstr(res.out, "wrong=0 echild=0\n") != NULL);
	EXPECT(&res, ck_number_after(res.out, "orphans=") >= 100);
	EXPECT(&res, res.exit_code == 0 && !res.signaled);
	print_message("reap_statuses (%s): %s", preload ? "preload" : "no preload",
		      strstr(res.out, "orphans="));
	h_result_free(&res);
	return zombies;
}

static void test_statuses_exact_while_orphans_reaped(void **state)
{
	const char *const *env = *state;
	int zombies = run_statuses(env, true);
	if (zombies != 0)
		fail_msg("%d zombies left 5 s after the app reported", zombies);
}

/* The control: the same app, statuses right too, but the orphans stay. */
static void test_statuses_orphans_stay_without_preload(void **state)
{
	(void)state;
	int zombies = run_statuses(NULL, false);
	if (zombies < 100)
		fail_msg("only %d zombies without initsafe, expected at least 100", zombies);
}

/* ---- 3. python3's subprocess ---- */

static const char python_script[] =
	"import os, subprocess, sys, time\n"
	"d = sys.argv[1]\n"
	"def wait_file(name):\n"
	"    end = time.monotonic() + 10\n"
	"    while not os.path.exists(os.path.join(d, name)) and time.monotonic() < end:\n"
	"        time.sleep(0.01)\n"
	"print('ready', flush=True)\n"
	"wait_file('started')\n"
	"bad = []\n"
	"for i in range(50):\n"
	"    r = subprocess.run(['sh', '-c', 'exit 7']).returncode\n"
	"    if r != 7: bad.append(('run', i, r))\n"
	"for i in range(20):\n"
	"    p = subprocess.Popen(['sh', '-c', 'exit 7'])\n"
	"    time.sleep(0.05)\n"
	"    r = p.wait()\n"
	"    if r != 7: bad.append(('Popen', i, r))\n"
	"for i in range(5):\n"
	"    p = subprocess.Popen(['sh', '-c', 'exit 7'])\n"
	"    time.sleep(0.2)\n"
	"    r = p.wait()\n"
	"    if r != 7: bad.append(('Popen late', i, r))\n"
	"open(os.path.join(d, 'stop'), 'w').close()\n"
	"wait_file('done')\n"
	"print('bad=%r' % (bad,), flush=True)\n"
	"wait_file('finish')\n"
	"sys.exit(1 if bad else 0)\n";

/* Creates dir/name. */
static void touch(const char *dir, const char *name)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fclose(f);
}

/*
 * Runs argv (whose last argument is dir) as PID 1 while ORPHAN_LOOP makes
 * orphans beside it. Once PID 1 says done_needle, counts the zombies (up to
 * REAP_MS for them to go with the preload, 500 ms without), then lets it
 * finish (dir/finish); it must exit 0. Returns the zombie count.
 */
static int run_beside_orphans(char *const argv[], const char *dir, const char *done_needle,
			      const char *const *env, bool preload)
{
	struct h_ns ns;
	struct h_result res;

	ck_start(&ns, (struct h_opts){ .argv = argv, .env = env, .preload = preload });
	start_orphan_loop(&ns, dir);
	if (!h_wait_output(&ns, done_needle, 40000)) {
		ck_finish(&ns, &res);
		ck_dump_result(&res);
		fail_msg("\"%s\" never appeared", done_needle);
	}
	int zombies = preload ? zombies_after(&ns, REAP_MS) : (pause_ms(&ns, 500), h_count_zombies(&ns));
	touch(dir, "finish");
	ck_finish(&ns, &res);
	/* python3 exits 1 when a status was wrong and prints which. */
	EXPECT(&res, res.exit_code == 0 && !res.signaled);
	long orphans = ck_number_after(res.out, "orphans=");
	print_message("%s (%s): orphans=%ld, zombies after: %d\n", argv[0],
		      preload ? "preload" : "no preload", orphans, zombies);
	EXPECT(&res, orphans >= 10);
	h_result_free(&res);
	return zombies;
}

static void run_python(const char *const *env, bool preload, int *zombies)
{
	char *dir = h_tmpdir();
	assert_non_null(dir);
	char *argv[] = { PYTHON, "-c", (char *)python_script, dir, NULL };
	*zombies = run_beside_orphans(argv, dir, "bad=", env, preload);
	h_rmrf(dir);
	free(dir);
}

static void test_python_subprocess_statuses(void **state)
{
	const char *const *env = *state;
	int zombies;
	ck_require_python();
	run_python(env, true, &zombies);
	assert_int_equal(zombies, 0);
}

/* The control: statuses right too, but the orphans stay. */
static void test_python_orphans_stay_without_preload(void **state)
{
	(void)state;
	int zombies;
	ck_require_python();
	run_python(NULL, false, &zombies);
	if (zombies < 10)
		fail_msg("only %d zombies without initsafe, expected at least 10", zombies);
}

/* ---- 4. bash's $? and wait ---- */

static const char bash_script[] =
	"d=$1; while [ ! -e \"$d/started\" ]; do sleep 0.01; done; "
	"for i in $(seq 1 50); do sh -c \"exit $((i % 256))\"; [ $? -eq $((i % 256)) ] || exit 99; "
	"sleep 0.01 & wait $! || exit 98; (exit 5) & wait $!; [ $? -eq 5 ] || exit 97; done; "
	"touch \"$d/stop\"; while [ ! -e \"$d/done\" ]; do sleep 0.01; done; echo bash-done; "
	"while [ ! -e \"$d/finish\" ]; do sleep 0.01; done; exit 0";

static void run_bash(const char *const *env, int *zombies)
{
	char *dir = h_tmpdir();
	assert_non_null(dir);
	char *argv[] = { BASH, "-c", (char *)bash_script, "bash", dir, NULL };
	*zombies = run_beside_orphans(argv, dir, "bash-done\n", env, true);
	h_rmrf(dir);
	free(dir);
}

/* No control here: bash as PID 1 reaps every child itself (waitpid(-1) on SIGCHLD). */
static void test_bash_statuses(void **state)
{
	const char *const *env = *state;
	int zombies;
	run_bash(env, &zombies);
	assert_int_equal(zombies, 0);
}

/* ---- 5. a daemon that closes every descriptor ---- */

static void test_closefds_daemon_still_reaps(void **state)
{
	(void)state;
	struct h_ns ns;
	struct h_result res;

	ck_start_app(&ns, "reap_closefds", (struct h_opts){ .preload = true });
	WAIT_OUTPUT(&ns, "ready");
	make_orphans(&ns);
	int zombies = zombies_after(&ns, REAP_MS);
	EXPECT_NS(&ns, zombies == 0);
	h_kill(&ns, SIGTERM);
	ck_finish(&ns, &res);
	EXPECT(&res, res.exit_code == 143);
	EXPECT(&res, res.ms_since_kill <= PROMPT_MS);
	h_result_free(&res);
}

/* ---- 6. SIGCHLD = SIG_IGN ---- */

static void test_sigchld_ignored_no_hang_no_zombie(void **state)
{
	(void)state;
	struct h_ns ns;
	struct h_result res;

	ck_start_app(&ns, "reap_sigign", (struct h_opts){ .preload = true });
	WAIT_OUTPUT(&ns, "ready");
	/* POSIX: wait() blocks until the ignored children are gone, then ECHILD. */
	EXPECT_NS(&ns, strstr(h_out(&ns), "wait=ECHILD\n") != NULL);
	make_orphans(&ns);
	int zombies = zombies_after(&ns, REAP_MS);
	EXPECT_NS(&ns, zombies == 0);
	h_kill(&ns, SIGTERM);
	ck_finish(&ns, &res);
	EXPECT(&res, res.exit_code == 143);
	EXPECT(&res, res.ms_since_kill <= PROMPT_MS);
	h_result_free(&res);
}

/* ---- 7. idle costs nothing ---- */

static void test_idle_reaper_with_child_never_wakes(void **state)
{
	(void)state;
	struct h_ns ns;
	struct h_result res;

	ck_start_app(&ns, "reap_idle", (struct h_opts){ .preload = true });
	WAIT_OUTPUT(&ns, "ready");
	expect_idle_reaper(&ns);
	/* The app's child was not taken. */
	EXPECT_NS(&ns, h_count_procs(&ns) == 2);
	h_kill(&ns, SIGTERM);
	ck_finish(&ns, &res);
	EXPECT(&res, res.exit_code == 143);
	h_result_free(&res);
}

static void test_idle_reaper_without_child_never_wakes(void **state)
{
	(void)state;
	struct h_ns ns;
	struct h_result res;

	start_sleep(&ns, NULL, true);
	expect_idle_reaper(&ns);
	h_kill(&ns, SIGTERM);
	ck_finish(&ns, &res);
	EXPECT(&res, res.exit_code == 143);
	h_result_free(&res);
}

/* ---- 8. INITSAFE_REAP=off ---- */

static void test_reap_off_leaves_zombies_one_thread(void **state)
{
	(void)state;
	struct h_ns ns;
	struct h_result res;
	const char *env[] = { "INITSAFE_REAP=off", NULL };

	start_sleep(&ns, env, true);
	make_orphans(&ns);
	pause_ms(&ns, 1000);
	int zombies = h_count_zombies(&ns);
	int threads = h_threads(&ns);
	h_kill(&ns, SIGTERM);
	ck_finish(&ns, &res);
	/* Signals are still managed: TERM works even with the reaper off. */
	EXPECT(&res, res.exit_code == 143);
	h_result_free(&res);
	assert_int_equal(threads, 1);
	if (zombies < 190)
		fail_msg("only %d zombies with INITSAFE_REAP=off, expected at least 190", zombies);
}

/* ---- 9. EINTR in an app that leaves SIGCHLD at SIG_DFL ---- */

/* Runs reap_eintr while 20 orphans die; returns its EINTR count. */
static int eintr_count(bool preload)
{
	struct h_ns ns;
	struct h_result res;
	char *argv[] = { SH, "-c", "for i in $(seq 20); do (sleep 0.01 &) ; sleep 0.02; done", NULL };

	ck_start_app(&ns, "reap_eintr", (struct h_opts){ .preload = preload });
	WAIT_OUTPUT(&ns, "ready");
	int rc = h_enter(&ns, argv, NULL, true);
	EXPECT_NS(&ns, rc == 0);
	/* The app runs 3 s: long enough to see the orphans gone while it lives. */
	int zombies = preload ? zombies_after(&ns, 1500) : (pause_ms(&ns, 200), h_count_zombies(&ns));
	EXPECT_NS(&ns, !h_wait_exit(&ns, 0));
	ck_finish(&ns, &res);
	EXPECT(&res, res.exit_code == 0 && !res.signaled);
	EXPECT(&res, strstr(res.out, "other=0\n") != NULL);
	long count = ck_number_after(res.out, "eintr=");
	EXPECT(&res, count >= 0);
	print_message("reap_eintr (%s): eintr=%ld, zombies while running: %d\n",
		      preload ? "preload" : "no preload", count, zombies);
	h_result_free(&res);
	if (preload && zombies != 0)
		fail_msg("%d zombies left", zombies);
	if (!preload && zombies < 19)
		fail_msg("only %d zombies without initsafe, expected at least 19", zombies);
	return (int)count;
}

/*
 * With no child, the reaper must not wake through a SIGCHLD handler: the
 * app's nanosleep would return EINTR at each orphan's death (it did, 20
 * of 20, before the idle child replaced the hook).
 */
static void test_no_eintr_from_orphans(void **state)
{
	(void)state;
	int with = eintr_count(true);
	int without = eintr_count(false);
	print_message("EINTR seen by a nanosleep loop: %d with initsafe, %d without\n", with,
		      without);
	assert_int_equal(without, 0);
	assert_int_equal(with, 0);
}

#define TEST(fn) cmocka_unit_test_teardown(fn, h_teardown)
/* One test function run with a parameter, under its own name. */
#define TEST_WITH(name, fn, arg) { name, fn, NULL, h_teardown, (void *)(arg) }

int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST_WITH("test_exec_session_orphans_reaped", test_exec_session_orphans_reaped,
			  env_default),
		TEST_WITH("test_exec_session_orphans_reaped_grace0",
			  test_exec_session_orphans_reaped, env_grace0),
		TEST(test_exec_session_orphans_stay_without_preload),
		TEST_WITH("test_statuses_exact_while_orphans_reaped",
			  test_statuses_exact_while_orphans_reaped, env_default),
		TEST_WITH("test_statuses_exact_while_orphans_reaped_grace0",
			  test_statuses_exact_while_orphans_reaped, env_grace0),
		TEST(test_statuses_orphans_stay_without_preload),
		TEST_WITH("test_python_subprocess_statuses", test_python_subprocess_statuses,
			  env_default),
		TEST_WITH("test_python_subprocess_statuses_grace0", test_python_subprocess_statuses,
			  env_grace0),
		TEST(test_python_orphans_stay_without_preload),
		TEST_WITH("test_bash_statuses", test_bash_statuses, env_default),
		TEST_WITH("test_bash_statuses_grace0", test_bash_statuses, env_grace0),
		TEST(test_closefds_daemon_still_reaps),
		TEST(test_sigchld_ignored_no_hang_no_zombie),
		TEST(test_idle_reaper_with_child_never_wakes),
		TEST(test_idle_reaper_without_child_never_wakes),
		TEST(test_reap_off_leaves_zombies_one_thread),
		TEST(test_no_eintr_from_orphans),
	};
	/* Keeps cmocka's stdout lines in order with its stderr ones in a pipe. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	return cmocka_run_group_tests_name("reaper", tests, NULL, h_teardown);
}
