/*
 * Integration tests for issue #2: how libinitsafe.so behaves as PID 1 of a
 * PID namespace when signals come in (default actions, the app's own
 * handlers, read-back fidelity, forwarding, grace, configuration errors),
 * and that it stays out of the way outside PID 1.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ctype.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "harness.h"
#include "initsafe.h"

#define SH "/bin/sh"
/* "Promptly", on a loaded 2-core machine. */
#define PROMPT_MS 1000

/* A shell-form CMD whose real work is a second shell running $1. */
#define OUTER_SCRIPT "sh -c \"$1\"; true"
#define TERM_TRAP "trap 'echo got-term >&2; exit 0' TERM; "
#define QUIT_TRAP "trap 'echo got-quit >&2; exit 0' QUIT; "
#define IGNORE_TERM "trap '' TERM; "
#define SAY_READY "echo child-ready >&2; "
#define SPIN "while :; do sleep 0.05; done"

/* ---- helpers ---- */

/* PID 1 is `sh -c 'sh -c "$1"; true'` and the inner shell runs inner. */
static void start_nested_shell(struct h_ns *ns, const char *inner, const char *const *env, bool preload)
{
	char *argv[] = { SH, "-c", OUTER_SCRIPT, "sh", (char *)inner, NULL };
	ck_start(ns, (struct h_opts){ .argv = argv, .env = env, .preload = preload });
}

/* number appears in text with no digit right before or after it. */
static bool has_number_token(const char *text, long number)
{
	char digits[24];
	snprintf(digits, sizeof digits, "%ld", number);
	size_t len = strlen(digits);
	for (const char *at = strstr(text, digits); at; at = strstr(at + 1, digits)) {
		bool digit_before = at > text && isdigit((unsigned char)at[-1]);
		if (!digit_before && !isdigit((unsigned char)at[len]))
			return true;
	}
	return false;
}

/* Shows the first line where two outputs differ. */
static void expect_same_output(const char *what, const char *expected, const char *seen)
{
	if (strcmp(expected, seen) == 0)
		return;
	int line = 1;
	size_t i = 0;
	for (; expected[i] && expected[i] == seen[i]; i++)
		if (expected[i] == '\n')
			line++;
	const char *a = expected + i, *b = seen + i;
	while (a > expected && a[-1] != '\n')
		a--, b--;
	print_message("first difference, line %d:\n  reference: %.*s\n  seen:      %.*s\n", line,
		      (int)strcspn(a, "\n"), a, (int)strcspn(b, "\n"), b);
	fail_msg("%s: outputs differ", what);
}

/* ---- a. shell-form CMD ---- */

static void test_shell_form_exits_143_on_term(void **state)
{
	(void)state;
	struct h_ns ns;
	struct h_result res;
	char *argv[] = { SH, "-c", "sleep 1000; true", NULL };

	ck_start(&ns, (struct h_opts){ .argv = argv, .preload = true });
	assert_true(h_wait_procs(&ns, 2, LONG_MS));
	assert_int_equal(h_kill(&ns, SIGTERM), 0);
	ck_finish(&ns, &res);
	EXPECT(&res, !res.timed_out);
	EXPECT(&res, res.exit_code == 143);
	EXPECT(&res, res.ms_since_kill <= PROMPT_MS);
	h_result_free(&res);
}

static void test_shell_form_child_receives_term(void **state)
{
	(void)state;
	struct h_ns ns;
	struct h_result res;

	start_nested_shell(&ns, TERM_TRAP SAY_READY SPIN, NULL, true);
	WAIT_OUTPUT(&ns, "child-ready");
	assert_int_equal(h_kill(&ns, SIGTERM), 0);
	ck_finish(&ns, &res);
	EXPECT(&res, res.exit_code == 143);
	EXPECT(&res, res.ms_since_kill <= PROMPT_MS);
	EXPECT(&res, strstr(res.err, "got-term") != NULL);
	h_result_free(&res);
}

/* The control: without initsafe the kernel drops TERM sent to a PID 1 at SIG_DFL. */
static void test_shell_form_without_preload_ignores_term(void **state)
{
	(void)state;
	struct h_ns ns;
	struct h_result res;
	char *argv[] = { SH, "-c", "sleep 1000; true", NULL };

	ck_start(&ns, (struct h_opts){ .argv = argv, .preload = false });
	assert_true(h_wait_procs(&ns, 2, LONG_MS));
	assert_int_equal(h_kill(&ns, SIGTERM), 0);
	assert_false(h_wait_exit(&ns, PROMPT_MS));
	assert_int_equal(h_kill(&ns, SIGKILL), 0);
	ck_finish(&ns, &res);
	EXPECT(&res, res.signaled && res.term_sig == SIGKILL);
	h_result_free(&res);
}

/* ---- b. an app without handlers: 128 + signal ---- */

static void test_default_action_exit_code(void **state)
{
	int sig = *(const int *)*state;
	struct h_ns ns;
	struct h_result res;

	ck_start_app(&ns, "core_idle", (struct h_opts){ .preload = true });
	WAIT_OUTPUT(&ns, "ready");
	assert_int_equal(h_kill(&ns, sig), 0);
	ck_finish(&ns, &res);
	EXPECT(&res, !res.signaled);
	EXPECT(&res, res.exit_code == 128 + sig);
	EXPECT(&res, res.ms_since_kill <= PROMPT_MS);
	h_result_free(&res);
}

static int sig_term = SIGTERM, sig_int = SIGINT, sig_hup = SIGHUP, sig_quit = SIGQUIT;

/* ---- c. the app's SA_SIGINFO handler ---- */

static char *handler_report(bool preload)
{
	struct h_ns ns;
	struct h_result res;

	ck_start_app(&ns, "core_handlers", (struct h_opts){ .preload = preload });
	WAIT_OUTPUT(&ns, "ready");
	assert_int_equal(h_kill(&ns, SIGTERM), 0);
	ck_finish(&ns, &res);
	EXPECT(&res, res.exit_code == 0 && !res.signaled);
	char *line = ck_line_starting(res.out, "sig=");
	EXPECT(&res, line != NULL);
	h_result_free(&res);
	return line;
}

static void test_app_handler_gets_siginfo_and_mask(void **state)
{
	(void)state;
	char *with = handler_report(true);
	char *reference = handler_report(false);

	/* SI_USER from a sender outside the namespace, whose pid reads as 0. */
	assert_string_equal(with, "sig=15 signo=15 code=0 pid=0 usr1_blocked=1 term_blocked=1 hup_blocked=0");
	assert_string_equal(with, reference);
	free(with);
	free(reference);
}

/* ---- d. signal() keeps BSD restart semantics ---- */

static void test_signal_handler_restarts_read(void **state)
{
	(void)state;
	struct h_ns ns;
	struct h_result res;
	const char *env[] = { "INITSAFE_SIGNALS=TERM,INT,HUP,QUIT,USR1", NULL };

	ck_start_app(&ns, "core_restart", (struct h_opts){ .env = env, .preload = true });
	WAIT_OUTPUT(&ns, "ready");
	assert_int_equal(h_kill(&ns, SIGUSR1), 0);
	ck_finish(&ns, &res);
	EXPECT(&res, res.exit_code == 0);
	EXPECT(&res, strstr(res.out, "handler=on_usr1 restart=1 self_blocked=1\n") != NULL);
	EXPECT(&res, strstr(res.out, "read=4 data=ping\n") != NULL);
	EXPECT(&res, strstr(res.out, "handled=1\n") != NULL);
	h_result_free(&res);
}

/* ---- e. read-back fidelity: glibc is the reference ---- */

static char *readback_output(bool preload, bool no_pid_ns)
{
	struct h_ns ns;
	struct h_result res;

	ck_start_app(&ns, "core_readback", (struct h_opts){ .preload = preload, .no_pid_ns = no_pid_ns });
	ck_finish(&ns, &res);
	EXPECT(&res, res.exit_code == 0);
	EXPECT(&res, strstr(res.out, "\nend\n") != NULL);
	char *out = res.out;
	res.out = NULL;
	h_result_free(&res);
	return out;
}

static void test_readback_matches_glibc(void **state)
{
	(void)state;
	char *reference = readback_output(false, true);
	char *as_pid1 = readback_output(true, false);
	char *inert = readback_output(true, true);

	expect_same_output("PID 1 with initsafe vs plain glibc", reference, as_pid1);
	expect_same_output("inert initsafe vs plain glibc", reference, inert);
	free(reference);
	free(as_pid1);
	free(inert);
}

/* ---- f. SA_RESETHAND ---- */

static void test_resethand_then_default_action(void **state)
{
	(void)state;
	struct h_ns ns;
	struct h_result res;

	ck_start_app(&ns, "core_resethand", (struct h_opts){ .no_pid_ns = true });
	WAIT_OUTPUT(&ns, "ready");
	h_kill(&ns, SIGTERM);
	WAIT_OUTPUT(&ns, "after:");
	char *reference = ck_line_starting(h_out(&ns), "after:");
	h_kill(&ns, SIGTERM);
	ck_finish(&ns, &res);
	EXPECT(&res, res.signaled && res.term_sig == SIGTERM);
	h_result_free(&res);

	ck_start_app(&ns, "core_resethand", (struct h_opts){ .preload = true });
	WAIT_OUTPUT(&ns, "ready");
	h_kill(&ns, SIGTERM);
	WAIT_OUTPUT(&ns, "after:");
	char *seen = ck_line_starting(h_out(&ns), "after:");
	h_kill(&ns, SIGTERM);
	ck_finish(&ns, &res);
	EXPECT(&res, strstr(res.out, "handled\n") != NULL);
	EXPECT(&res, res.exit_code == 143);
	h_result_free(&res);
	assert_non_null(reference);
	assert_non_null(seen);
	assert_string_equal(seen, reference);
	free(reference);
	free(seen);
}

/* ---- g. SIG_IGN set by the app ---- */

static void test_sig_ign_is_honoured(void **state)
{
	(void)state;
	struct h_ns ns;
	struct h_result res;

	ck_start_app(&ns, "core_ignore", (struct h_opts){ .preload = true });
	WAIT_OUTPUT(&ns, "ready");
	h_kill(&ns, SIGTERM);
	assert_false(h_wait_exit(&ns, PROMPT_MS));
	h_kill(&ns, SIGKILL);
	ck_finish(&ns, &res);
	EXPECT(&res, res.signaled && res.term_sig == SIGKILL);
	h_result_free(&res);
}

/* ---- h. signalfd: initsafe's threads never take a blocked signal ---- */

static void test_signalfd_app_reads_term(void **state)
{
	(void)state;
	struct h_ns ns;
	struct h_result res;

	ck_start_app(&ns, "core_signalfd", (struct h_opts){ .preload = true });
	WAIT_OUTPUT(&ns, "ready");
	h_kill(&ns, SIGTERM);
	ck_finish(&ns, &res);
	EXPECT(&res, res.exit_code == 0 && !res.signaled);
	EXPECT(&res, strstr(res.out, "got TERM from signalfd\n") != NULL);
	h_result_free(&res);
}

/* ---- i. INITSAFE_REWRITE ---- */

static void test_rewrite_term_to_quit(void **state)
{
	(void)state;
	struct h_ns ns;
	struct h_result res;
	const char *env[] = { "INITSAFE_REWRITE=TERM:QUIT", NULL };

	start_nested_shell(&ns, QUIT_TRAP TERM_TRAP SAY_READY SPIN, env, true);
	WAIT_OUTPUT(&ns, "child-ready");
	h_kill(&ns, SIGTERM);
	ck_finish(&ns, &res);
	EXPECT(&res, res.exit_code == 143);
	EXPECT(&res, strstr(res.err, "got-quit") != NULL);
	EXPECT(&res, strstr(res.err, "got-term") == NULL);
	h_result_free(&res);
}

/* ---- j. the grace expires ---- */

/* A line of initsafe's names pid, a process called "sh". */
static bool reports_kill_of(const char *err, long pid)
{
	bool found = false;
	FOR_EACH_LINE(line, err) {
		char *copy = strndup(line, strcspn(line, "\n"));
		found = strncmp(copy, "initsafe: ", 10) == 0 && has_number_token(copy, pid) &&
			strstr(copy, "sh") != NULL;
		free(copy);
		if (found)
			break;
	}
	return found;
}

static void test_grace_expiry_kills_and_says_so(void **state)
{
	(void)state;
	struct h_ns ns;
	struct h_result res;
	const char *env[] = { "INITSAFE_GRACE=500ms", NULL };

	start_nested_shell(&ns, IGNORE_TERM "echo child-pid=$$ >&2; " SPIN, env, true);
	WAIT_OUTPUT(&ns, "child-pid=");
	long child = ck_number_after(h_err(&ns), "child-pid=");
	h_kill(&ns, SIGTERM);
	ck_finish(&ns, &res);
	EXPECT(&res, res.exit_code == 143);
	EXPECT(&res, res.ms_since_kill >= 500 && res.ms_since_kill <= 5000);
	EXPECT(&res, child > 1 && reports_kill_of(res.err, child));
	h_result_free(&res);
}

/* ---- k. python3 as PID 1 ---- */

static void test_python_keyboard_interrupt(void **state)
{
	(void)state;
	struct h_ns ns;
	struct h_result res;
	char *argv[] = { PYTHON, "-c",
			 "import time,sys\n"
			 "try:\n"
			 "  print('ready',flush=True)\n"
			 "  time.sleep(100)\n"
			 "except KeyboardInterrupt:\n"
			 "  print('KeyboardInterrupt', flush=True); sys.exit(7)",
			 NULL };

	ck_require_python();
	ck_start(&ns, (struct h_opts){ .argv = argv, .preload = true });
	WAIT_OUTPUT(&ns, "ready");
	h_kill(&ns, SIGINT);
	ck_finish(&ns, &res);
	EXPECT(&res, res.exit_code == 7);
	EXPECT(&res, strstr(res.out, "KeyboardInterrupt") != NULL);
	h_result_free(&res);
}

/* ---- l. malformed settings: one line each, default kept ---- */

struct bad_setting {
	const char *entry;     /* as put in the environment */
	const char *prefix;    /* the line initsafe must start with */
	const char *fallback;  /* the value used instead, NULL: wording not pinned */
};

static void expect_one_report(const struct h_result *res, const struct bad_setting *bad)
{
	int count = ck_count_lines_starting(res->err, bad->prefix);
	if (count != 1) {
		ck_dump_result(res);
		fail_msg("%d lines start with \"%s\", expected 1", count, bad->prefix);
	}
	char *line = ck_line_starting(res->err, bad->prefix);
	bool names_fallback = !bad->fallback || strstr(line, bad->fallback);
	free(line);
	if (!names_fallback) {
		ck_dump_result(res);
		fail_msg("the line for %s does not name \"%s\"", bad->entry, bad->fallback);
	}
}

static void test_bad_values_reported_once_defaults_kept(void **state)
{
	(void)state;
	char grace[16];
	snprintf(grace, sizeof grace, "%us", INITSAFE_DEFAULT_GRACE_MS / 1000);
	const struct bad_setting bad[] = {
		{ "INITSAFE_GRACE=banana", "initsafe: INITSAFE_GRACE='banana'", grace },
		{ "INITSAFE_SIGNALS=TERM,BOGUS", "initsafe: INITSAFE_SIGNALS='TERM,BOGUS'",
		  INITSAFE_DEFAULT_SIGNALS },
		{ "INITSAFE_LOG=loud", "initsafe: INITSAFE_LOG='loud'", INITSAFE_DEFAULT_LOG },
		{ "INITSAFE_FORWARD=sometimes", "initsafe: INITSAFE_FORWARD='sometimes'",
		  INITSAFE_DEFAULT_FORWARD },
		{ "INITSAFE_REWRITE=TERM:NOPE", "initsafe: INITSAFE_REWRITE='TERM:NOPE'", NULL },
	};
	enum { BAD = sizeof bad / sizeof bad[0] };
	const char *env[BAD + 1];
	struct h_ns ns;
	struct h_result res;

	for (int i = 0; i < BAD; i++)
		env[i] = bad[i].entry;
	env[BAD] = NULL;
	ck_start_app(&ns, "core_idle", (struct h_opts){ .env = env, .preload = true });
	WAIT_OUTPUT(&ns, "ready");
	h_kill(&ns, SIGTERM);
	ck_finish(&ns, &res);
	EXPECT(&res, res.exit_code == 143);
	for (int i = 0; i < BAD; i++)
		expect_one_report(&res, &bad[i]);
	EXPECT(&res, ck_count_lines_starting(res.err, "initsafe: ") == BAD);
	h_result_free(&res);
}

/* ---- m. outside PID 1: inert ---- */

static void test_outside_pid1_default_death_one_thread(void **state)
{
	(void)state;
	struct h_ns ns;
	struct h_result res;

	ck_start_app(&ns, "core_idle", (struct h_opts){ .preload = true, .no_pid_ns = true });
	WAIT_OUTPUT(&ns, "ready");
	int threads = h_threads(&ns);
	h_kill(&ns, SIGTERM);
	ck_finish(&ns, &res);
	EXPECT(&res, res.signaled && res.term_sig == SIGTERM);
	assert_int_equal(threads, 1);
	h_result_free(&res);
}

/* ---- n. a second TERM does not restart the grace ---- */

static void test_second_term_keeps_first_deadline(void **state)
{
	(void)state;
	struct h_ns ns;
	struct h_result res;
	const char *env[] = { "INITSAFE_GRACE=2s", NULL };

	start_nested_shell(&ns, IGNORE_TERM SAY_READY SPIN, env, true);
	WAIT_OUTPUT(&ns, "child-ready");
	h_kill(&ns, SIGTERM);
	long long first_term = h_elapsed_ms(&ns);
	/* Also shows the grace is not cut short. */
	assert_false(h_wait_exit(&ns, 1500));
	h_kill(&ns, SIGTERM);
	ck_finish(&ns, &res);
	long long since_first = res.ms_total - first_term;
	EXPECT(&res, res.exit_code == 143);
	/* A restarted grace would end 3.5 s after the first TERM. */
	EXPECT(&res, since_first >= 1900 && since_first < 3000);
	h_result_free(&res);
}

/* ---- o. INITSAFE_FORWARD=always / auto with an app handler ---- */

static void test_forward_always_with_app_handler(void **state)
{
	(void)state;
	struct h_ns ns;
	struct h_result res;
	const char *env[] = { "INITSAFE_FORWARD=always", NULL };

	ck_start_app(&ns, "core_forward", (struct h_opts){ .env = env, .preload = true });
	WAIT_OUTPUT(&ns, "ready");
	WAIT_OUTPUT(&ns, "child-ready");
	h_kill(&ns, SIGTERM);
	ck_finish(&ns, &res);
	EXPECT(&res, res.exit_code == 0 && !res.signaled);
	EXPECT(&res, strstr(res.err, "got-term") != NULL);
	EXPECT(&res, strstr(res.out, "app-handler\n") != NULL);
	EXPECT(&res, strstr(res.out, "child-exit=0 handled=1\n") != NULL);
	h_result_free(&res);
}

/* The counterpart: by default a handling app's children hear nothing. */
static void test_forward_auto_leaves_children_alone(void **state)
{
	(void)state;
	struct h_ns ns;
	struct h_result res;

	ck_start_app(&ns, "core_forward", (struct h_opts){ .preload = true });
	WAIT_OUTPUT(&ns, "ready");
	WAIT_OUTPUT(&ns, "child-ready");
	h_kill(&ns, SIGTERM);
	WAIT_OUTPUT(&ns, "app-handler");
	bool child_heard = h_wait_output(&ns, "got-term", PROMPT_MS);
	h_kill(&ns, SIGKILL);
	ck_finish(&ns, &res);
	EXPECT(&res, !child_heard);
	EXPECT(&res, res.signaled && res.term_sig == SIGKILL);
	h_result_free(&res);
}

/* ---- p. INITSAFE_FORWARD=never ---- */

static void test_forward_never_exits_without_forwarding(void **state)
{
	(void)state;
	struct h_ns ns;
	struct h_result res;
	const char *env[] = { "INITSAFE_FORWARD=never", NULL };

	start_nested_shell(&ns, TERM_TRAP SAY_READY SPIN, env, true);
	WAIT_OUTPUT(&ns, "child-ready");
	h_kill(&ns, SIGTERM);
	ck_finish(&ns, &res);
	EXPECT(&res, res.exit_code == 143);
	EXPECT(&res, res.ms_since_kill <= PROMPT_MS);
	EXPECT(&res, strstr(res.err, "got-term") == NULL);
	h_result_free(&res);
}

/* ---- q. TERM from inside the namespace (docker exec ... kill 1) ---- */

static void test_term_from_inside_namespace(void **state)
{
	(void)state;
	struct h_ns ns;
	struct h_result res;
	char *kill_one[] = { SH, "-c", "kill -TERM 1", NULL };

	ck_start_app(&ns, "core_idle", (struct h_opts){ .preload = true });
	WAIT_OUTPUT(&ns, "ready");
	int rc = h_enter(&ns, kill_one, NULL, true);
	ck_finish(&ns, &res);
	/* The shell is in the namespace too: the forwarded TERM may catch it. */
	EXPECT(&res, rc == 0 || rc == 143);
	EXPECT(&res, !res.timed_out);
	EXPECT(&res, res.exit_code == 143);
	h_result_free(&res);
}

#define TEST(fn) cmocka_unit_test_teardown(fn, h_teardown)
/* One test function run with a parameter, under its own name. */
#define TEST_WITH(name, fn, arg) { name, fn, NULL, h_teardown, arg }

int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(test_shell_form_exits_143_on_term),
		TEST(test_shell_form_child_receives_term),
		TEST(test_shell_form_without_preload_ignores_term),
		TEST_WITH("test_default_action_exit_code_TERM", test_default_action_exit_code, &sig_term),
		TEST_WITH("test_default_action_exit_code_INT", test_default_action_exit_code, &sig_int),
		TEST_WITH("test_default_action_exit_code_HUP", test_default_action_exit_code, &sig_hup),
		TEST_WITH("test_default_action_exit_code_QUIT", test_default_action_exit_code, &sig_quit),
		TEST(test_app_handler_gets_siginfo_and_mask),
		TEST(test_signal_handler_restarts_read),
		TEST(test_readback_matches_glibc),
		TEST(test_resethand_then_default_action),
		TEST(test_sig_ign_is_honoured),
		TEST(test_signalfd_app_reads_term),
		TEST(test_rewrite_term_to_quit),
		TEST(test_grace_expiry_kills_and_says_so),
		TEST(test_python_keyboard_interrupt),
		TEST(test_bad_values_reported_once_defaults_kept),
		TEST(test_outside_pid1_default_death_one_thread),
		TEST(test_second_term_keeps_first_deadline),
		TEST(test_forward_always_with_app_handler),
		TEST(test_forward_auto_leaves_children_alone),
		TEST(test_forward_never_exits_without_forwarding),
		TEST(test_term_from_inside_namespace),
	};
	/* Keeps cmocka's stdout lines in order with its stderr ones in a pipe. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	return cmocka_run_group_tests_name("core", tests, NULL, h_teardown);
}
