/*
 * Integration tests for the exit drain: when PID 1 leaves on its own
 * (exit, return from main, _exit), the other processes of the namespace
 * get SIGTERM and the grace to finish before the kernel kills them, and
 * PID 1's exit code is kept. Only PID 1 drains, and only once.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "harness.h"

#define SH "/bin/sh"
/* "Promptly", on a loaded 2-core machine. */
#define PROMPT_MS 1000
/* Well under the default grace (8 s): PID 1 did not wait it out. */
#define NO_GRACE_WAIT_MS 3000

/* A child that writes F when TERM comes, while PID 1 leaves with 3. */
#define TRAP_CHILD_THEN_EXIT_3 \
	"(trap 'echo drained > F; exit 0' TERM; while :; do sleep 0.05; done) & sleep 0.4; exit 3"

/* ---- helpers ---- */

/* A scratch working directory for PID 1; remove with done_dir. */
static char *new_dir(void)
{
	char *dir = h_tmpdir();
	assert_non_null(dir);
	return dir;
}

static void done_dir(char *dir)
{
	h_rmrf(dir);
	free(dir);
}

/* The content of dir/name as a heap string; NULL when there is no such file. */
static char *read_file(const char *dir, const char *name)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "re");
	if (!f)
		return NULL;
	char *text = calloc(1, 4096);
	assert_non_null(text);
	size_t n = fread(text, 1, 4095, f);
	text[n] = '\0';
	fclose(f);
	return text;
}

/* Runs `sh -c script` as PID 1 in dir to its end. */
static void run_shell(const char *script, const char *dir, const char *const *env, bool preload,
		      struct h_result *res)
{
	struct h_ns ns;
	char *argv[] = { SH, "-c", (char *)script, NULL };
	struct h_opts opts = { .argv = argv, .env = env, .preload = preload, .cwd = dir };
	ck_start(&ns, opts);
	ck_finish(&ns, res);
}

/* Runs build/apps/<app> with one argument (or none: NULL) as PID 1 in dir to its end. */
static void run_app(const char *app, const char *arg, const char *dir, const char *const *env,
		    bool preload, struct h_result *res)
{
	struct h_ns ns;
	char *args[] = { (char *)arg, NULL };
	struct h_opts opts = { .env = env, .preload = preload, .cwd = dir };
	ck_start_app_args(&ns, app, args, opts);
	ck_finish(&ns, res);
}

static int count_lines(const char *text)
{
	int lines = 0;
	for (; text && *text; text++)
		lines += *text == '\n';
	return lines;
}

/* ---- 1. the shell leaves; its child hears TERM first ---- */

static void test_shell_exit_drains_child(void **state)
{
	(void)state;
	struct h_result res;
	char *dir = new_dir();

	run_shell(TRAP_CHILD_THEN_EXIT_3, dir, NULL, true, &res);
	char *f = read_file(dir, "F");
	done_dir(dir);
	EXPECT(&res, !res.signaled && res.exit_code == 3);
	EXPECT(&res, res.ms_total < NO_GRACE_WAIT_MS);
	EXPECT(&res, f != NULL && strcmp(f, "drained\n") == 0);
	free(f);
	h_result_free(&res);
}

/* The control: without initsafe the kernel kills the child unwarned. */
static void test_shell_exit_without_preload_kills_child(void **state)
{
	(void)state;
	struct h_result res;
	char *dir = new_dir();

	run_shell(TRAP_CHILD_THEN_EXIT_3, dir, NULL, false, &res);
	char *f = read_file(dir, "F");
	done_dir(dir);
	EXPECT(&res, !res.signaled && res.exit_code == 3);
	EXPECT(&res, f == NULL);
	h_result_free(&res);
}

/* ---- 2. a child that ignores TERM: killed when the grace expires ---- */

static void test_grace_expires_exit_code_kept(void **state)
{
	(void)state;
	struct h_result res;
	const char *env[] = { "INITSAFE_GRACE=500ms", NULL };
	const char script[] =
		"sh -c 'trap \"\" TERM; echo child-pid=$$ >&2; while :; do sleep 0.05; done' & "
		"sleep 0.4; exit 4";

	run_shell(script, NULL, env, true, &res);
	long child = ck_number_after(res.err, "child-pid=");
	char expected[128];
	snprintf(expected, sizeof expected, "initsafe: grace of 500ms expired: killing %ld (sh)\n",
		 child);
	EXPECT(&res, child > 1);
	EXPECT(&res, !res.signaled && res.exit_code == 4);
	EXPECT(&res, strstr(res.err, expected) != NULL);
	/* sleep 0.4, then the whole grace: at least 0.9 s. */
	EXPECT(&res, res.ms_total >= 900 && res.ms_total < 5000);
	h_result_free(&res);
}

/* ---- 3. alone, PID 1 leaves at once ---- */

static void test_alone_exits_at_once(void **state)
{
	(void)state;
	struct h_result res;

	run_shell("exit 5", NULL, NULL, true, &res);
	EXPECT(&res, !res.signaled && res.exit_code == 5);
	EXPECT(&res, res.ms_total < PROMPT_MS);
	EXPECT(&res, strstr(res.err, "initsafe:") == NULL);
	h_result_free(&res);
}

/* ---- 4. INITSAFE_DRAIN=off ---- */

static void test_drain_off_child_not_warned(void **state)
{
	(void)state;
	struct h_result res;
	const char *env[] = { "INITSAFE_DRAIN=off", NULL };
	char *dir = new_dir();

	run_shell(TRAP_CHILD_THEN_EXIT_3, dir, env, true, &res);
	char *f = read_file(dir, "F");
	done_dir(dir);
	EXPECT(&res, !res.signaled && res.exit_code == 3);
	EXPECT(&res, res.ms_total < NO_GRACE_WAIT_MS);
	EXPECT(&res, f == NULL);
	h_result_free(&res);
}

/* ---- 5. a C app leaving by _exit, _Exit, exit or return from main ---- */

struct way_out {
	const char *arg;
	int code;
};

static const struct way_out by_underscore_exit = { "_exit", 6 };
static const struct way_out by_underscore_Exit = { "_Exit", 9 };
static const struct way_out by_exit = { "exit", 7 };
static const struct way_out by_return = { "return", 8 };

static void test_app_exit_path_drains(void **state)
{
	const struct way_out *way = *state;
	struct h_result res;
	char *dir = new_dir();

	run_app("drain_exit", way->arg, dir, NULL, true, &res);
	char *f = read_file(dir, "F");
	done_dir(dir);
	EXPECT(&res, !res.signaled && res.exit_code == way->code);
	EXPECT(&res, res.ms_total < NO_GRACE_WAIT_MS);
	EXPECT(&res, f != NULL && strcmp(f, "term\n") == 0);
	free(f);
	h_result_free(&res);
}

static void test_app_exit_without_preload_kills_child(void **state)
{
	(void)state;
	struct h_result res;
	char *dir = new_dir();

	run_app("drain_exit", "_exit", dir, NULL, false, &res);
	char *f = read_file(dir, "F");
	done_dir(dir);
	EXPECT(&res, !res.signaled && res.exit_code == 6);
	EXPECT(&res, f == NULL);
	h_result_free(&res);
}

/* ---- 6. only PID 1 drains, and once ---- */

static void test_drain_once_and_not_in_fork_children(void **state)
{
	(void)state;
	struct h_result res;
	const char *env[] = { "INITSAFE_GRACE=1s", NULL };
	char *dir = new_dir();

	run_app("drain_fork", NULL, dir, env, true, &res);
	char *f = read_file(dir, "F");
	done_dir(dir);
	long sibling = ck_number_after(res.out, "sibling=");
	char expected[128];
	snprintf(expected, sizeof expected,
		 "initsafe: grace of 1000ms expired: killing %ld (drain_fork)\n", sibling);
	EXPECT(&res, !res.signaled && res.exit_code == 0);
	EXPECT(&res, strstr(res.out, "children=0,0,0,0 early-term=0 ") != NULL);
	/* The sibling keeps running after its TERM: the grace ends it. */
	EXPECT(&res, strstr(res.err, expected) != NULL);
	if (count_lines(f) != 1) {
		ck_dump_result(&res);
		fail_msg("the sibling got TERM %d times, expected once", count_lines(f));
	}
	free(f);
	h_result_free(&res);
}

#define TEST(fn) cmocka_unit_test_teardown(fn, h_teardown)
/* One test function run with a parameter, under its own name. */
#define TEST_WITH(name, fn, arg) { name, fn, NULL, h_teardown, (void *)(arg) }

int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(test_shell_exit_drains_child),
		TEST(test_shell_exit_without_preload_kills_child),
		TEST(test_grace_expires_exit_code_kept),
		TEST(test_alone_exits_at_once),
		TEST(test_drain_off_child_not_warned),
		TEST_WITH("test_app_exit_path_drains__exit", test_app_exit_path_drains,
			  &by_underscore_exit),
		TEST_WITH("test_app_exit_path_drains__Exit", test_app_exit_path_drains,
			  &by_underscore_Exit),
		TEST_WITH("test_app_exit_path_drains_exit", test_app_exit_path_drains, &by_exit),
		TEST_WITH("test_app_exit_path_drains_return", test_app_exit_path_drains, &by_return),
		TEST(test_app_exit_without_preload_kills_child),
		TEST(test_drain_once_and_not_in_fork_children),
	};
	/* Keeps cmocka's stdout lines in order with its stderr ones in a pipe. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	return cmocka_run_group_tests_name("drain", tests, NULL, h_teardown);
}
