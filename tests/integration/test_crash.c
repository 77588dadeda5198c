/*
 * Integration tests for crash reports: when PID 1 dies of a fault or
 * abort() with no handler of its own, one symbolised backtrace goes to
 * stderr and the process still dies as it would have; nothing is added
 * outside PID 1, with INITSAFE_CRASH=off, or when the app handles the
 * signal. The unwinder must not disturb C++ exceptions, and the library
 * itself needs nothing but libc.
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

#define REPORT_SEGV "initsafe: PID 1 crashed: SIGSEGV"
#define REPORT_ABRT "initsafe: PID 1 crashed: SIGABRT"

/* ---- helpers ---- */

/* Runs build/apps/<app> to its end with opts (whose argv is ignored). */
static void run_app(const char *app, struct h_opts opts, struct h_result *res)
{
	struct h_ns ns;
	ck_start_app(&ns, app, opts);
	ck_finish(&ns, res);
}

/*
 * The index of the first backtrace frame of initsafe's report that names
 * function (a line "initsafe:   #N 0x... function+0x..."); -1 if none.
 */
static int frame_of(const char *err, const char *function)
{
	char needle[128];
	snprintf(needle, sizeof needle, " %s+0x", function);
	FOR_EACH_LINE(line, err) {
		size_t len = strcspn(line, "\n");
		if (strncmp(line, "initsafe:   #", 13) != 0)
			continue;
		char *copy = strndup(line, len);
		bool named = strstr(copy, needle) != NULL;
		free(copy);
		if (named)
			return atoi(line + 13);
	}
	return -1;
}

static bool killed_by(const struct h_result *res, int sig)
{
	return res->signaled && res->term_sig == sig && res->exit_code == 128 + sig;
}

/* ---- 1. NULL dereference ---- */

static void test_segv_report_with_backtrace(void **state)
{
	(void)state;
	struct h_result res;

	run_app("crash_null", (struct h_opts){ .preload = true }, &res);
	int crash_here = frame_of(res.err, "crash_here");
	int outer = frame_of(res.err, "outer");
	int main_frame = frame_of(res.err, "main");
	EXPECT(&res, killed_by(&res, SIGSEGV));
	EXPECT(&res, strstr(res.err, REPORT_SEGV) != NULL);
	/* Innermost first: crash_here, then its caller, then main. */
	EXPECT(&res, crash_here == 0);
	EXPECT(&res, outer == crash_here + 1);
	EXPECT(&res, main_frame == outer + 1);
	h_result_free(&res);
}

static void test_segv_without_preload_no_report(void **state)
{
	(void)state;
	struct h_result res;

	run_app("crash_null", (struct h_opts){ .preload = false }, &res);
	EXPECT(&res, killed_by(&res, SIGSEGV));
	EXPECT(&res, strstr(res.err, "about to crash\n") != NULL);
	EXPECT(&res, strstr(res.err, "initsafe:") == NULL);
	h_result_free(&res);
}

/* ---- 2. abort() ---- */

static void test_abort_report(void **state)
{
	(void)state;
	struct h_result res;

	run_app("crash_abort", (struct h_opts){ .preload = true }, &res);
	EXPECT(&res, !res.signaled && res.exit_code == 134);
	EXPECT(&res, strstr(res.err, REPORT_ABRT) != NULL);
	EXPECT(&res, frame_of(res.err, "abort") >= 0);
	EXPECT(&res, frame_of(res.err, "abort") < frame_of(res.err, "main"));
	h_result_free(&res);
}

/* The control: raise(SIGABRT) is dropped for PID 1, glibc's fallback faults. */
static void test_abort_without_preload_dies_of_segv(void **state)
{
	(void)state;
	struct h_result res;

	run_app("crash_abort", (struct h_opts){ .preload = false }, &res);
	EXPECT(&res, killed_by(&res, SIGSEGV));
	EXPECT(&res, strstr(res.err, "initsafe:") == NULL);
	h_result_free(&res);
}

/* ---- 3. stack overflow ---- */

static void test_stack_overflow_report_no_hang(void **state)
{
	(void)state;
	struct h_result res;

	run_app("crash_recurse", (struct h_opts){ .preload = true }, &res);
	EXPECT(&res, !res.timed_out);
	EXPECT(&res, killed_by(&res, SIGSEGV));
	EXPECT(&res, strstr(res.err, REPORT_SEGV) != NULL);
	h_result_free(&res);
}

/* ---- 4. the app's own handler ---- */

static void test_own_handler_wins(void **state)
{
	(void)state;
	struct h_result res;

	run_app("crash_own_handler", (struct h_opts){ .preload = true }, &res);
	EXPECT(&res, !res.signaled && res.exit_code == 42);
	EXPECT(&res, strstr(res.err, "own handler\n") != NULL);
	EXPECT(&res, strstr(res.err, "initsafe: PID 1 crashed") == NULL);
	h_result_free(&res);
}

/* ---- 5. outside PID 1 ---- */

static void test_outside_pid1_no_report(void **state)
{
	(void)state;
	struct h_result res;

	run_app("crash_null", (struct h_opts){ .preload = true, .no_pid_ns = true }, &res);
	EXPECT(&res, killed_by(&res, SIGSEGV));
	EXPECT(&res, strstr(res.err, "about to crash\n") != NULL);
	EXPECT(&res, strstr(res.err, "initsafe:") == NULL);
	h_result_free(&res);
}

/* ---- 6. INITSAFE_CRASH=off ---- */

static void test_crash_off_no_report(void **state)
{
	(void)state;
	struct h_result res;
	const char *env[] = { "INITSAFE_CRASH=off", NULL };

	run_app("crash_null", (struct h_opts){ .env = env, .preload = true }, &res);
	EXPECT(&res, killed_by(&res, SIGSEGV));
	EXPECT(&res, strstr(res.err, "about to crash\n") != NULL);
	EXPECT(&res, strstr(res.err, "initsafe:") == NULL);
	h_result_free(&res);
}

/* ---- 7. C++ exceptions ---- */

static void test_cxx_exceptions(void **state)
{
	bool no_pid_ns = *(const bool *)*state;
	struct h_result res;

	run_app("crash_cxx", (struct h_opts){ .preload = true, .no_pid_ns = no_pid_ns }, &res);
	EXPECT(&res, !res.signaled && res.exit_code == 0);
	EXPECT(&res, strcmp(res.out, "caught=1000\n") == 0);
	EXPECT(&res, strstr(res.err, "initsafe:") == NULL);
	h_result_free(&res);
}

static const bool as_pid1 = false, as_plain_process = true;

/* ---- 8. no NEEDED library but libc ---- */

static void test_library_needs_only_libc(void **state)
{
	(void)state;
	char *lib = h_path("libinitsafe.so");
	char command[4200], line[512];
	int needed = 0, libc = 0;

	assert_int_equal(access(lib, R_OK), 0);
	snprintf(command, sizeof command, "readelf -d '%s' 2>&1", lib);
	free(lib);
	FILE *p = popen(command, "r");
	assert_non_null(p);
	while (fgets(line, sizeof line, p)) {
		if (!strstr(line, "(NEEDED)"))
			continue;
		/* make sanitize links the sanitizer runtimes in: not ours to count. */
		if (strstr(line, "[libasan.so") || strstr(line, "[libubsan.so") ||
		    strstr(line, "[libtsan.so"))
			continue;
		needed++;
		if (strstr(line, "[libc.so.6]"))
			libc++;
		else
			print_message("unexpected: %s", line);
	}
	int status = pclose(p);
	assert_int_equal(status, 0);
	assert_int_equal(libc, 1);
	assert_int_equal(needed, 1);
}

#define TEST(fn) cmocka_unit_test_teardown(fn, h_teardown)
/* One test function run with a parameter, under its own name. */
#define TEST_WITH(name, fn, arg) { name, fn, NULL, h_teardown, (void *)(arg) }

int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(test_segv_report_with_backtrace),
		TEST(test_segv_without_preload_no_report),
		TEST(test_abort_report),
		TEST(test_abort_without_preload_dies_of_segv),
		TEST(test_stack_overflow_report_no_hang),
		TEST(test_own_handler_wins),
		TEST(test_outside_pid1_no_report),
		TEST(test_crash_off_no_report),
		TEST_WITH("test_cxx_exceptions_as_pid1", test_cxx_exceptions, &as_pid1),
		TEST_WITH("test_cxx_exceptions_as_plain_process", test_cxx_exceptions,
			  &as_plain_process),
		TEST(test_library_needs_only_libc),
	};
	/* Keeps cmocka's stdout lines in order with its stderr ones in a pipe. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	return cmocka_run_group_tests_name("crash", tests, NULL, h_teardown);
}
