/*
 * Checks for the integration tests, on top of harness.h: cmocka assertions
 * that, when they fail, show what PID 1 said (its captured stdout and
 * stderr; with a result, also its wait status and timings), the start and
 * finish steps of every test, and readers of the captured output.
 *
 * Typical use (cmocka):
 *
 *	struct h_ns ns;
 *	struct h_result res;
 *
 *	ck_start_app(&ns, "core_idle", (struct h_opts){ .preload = true });
 *	WAIT_OUTPUT(&ns, "ready");
 *	EXPECT_NS(&ns, h_threads(&ns) == 2);
 *	h_kill(&ns, SIGTERM);
 *	ck_finish(&ns, &res);
 *	EXPECT(&res, res.exit_code == 143);
 *	h_result_free(&res);
 *
 * A failed check prints with cmocka's print_message, then fails the test
 * with fail_msg, naming the test's line; ck_start* and ck_finish fail by a
 * cmocka assertion. Either way the test function is left by longjmp, so
 * register h_teardown (or a teardown that calls it), as harness.h says.
 */
#ifndef INITSAFE_TEST_CHECK_H
#define INITSAFE_TEST_CHECK_H

#include <stdbool.h>

#include "harness.h"

/* For what should happen at once: only reached when something is wrong. */
#define LONG_MS 10000

#define PYTHON "/usr/bin/python3"

/* ---- showing what PID 1 said ---- */

/* Prints captured stdout and stderr between markers. */
void ck_dump(const char *out, const char *err);

/* Prints res's status, exit code, signal, timeout and timings, then its output. */
void ck_dump_result(const struct h_result *res);

/* ---- checks ---- */

/* Fails the test, showing everything about res (ck_dump_result), when cond
 * is false: "line N: expected <cond>". */
#define EXPECT(res, cond) ck_expect_at((cond), #cond, (res), __LINE__)
void ck_expect_at(bool ok, const char *text, const struct h_result *res, int line);

/* The same while PID 1 still runs: shows what it has said so far. */
#define EXPECT_NS(ns, cond) ck_expect_ns_at((cond), #cond, (ns), __LINE__)
void ck_expect_ns_at(bool ok, const char *text, struct h_ns *ns, int line);

/* h_wait_output for LONG_MS (or timeout_ms); on timeout, shows what PID 1
 * has said and fails: "line N: "<needle>" never appeared". */
#define WAIT_OUTPUT(ns, needle) ck_wait_output_at((ns), (needle), LONG_MS, __LINE__)
#define WAIT_OUTPUT_MS(ns, needle, timeout_ms) \
	ck_wait_output_at((ns), (needle), (timeout_ms), __LINE__)
void ck_wait_output_at(struct h_ns *ns, const char *needle, int timeout_ms, int line);

/* Fails (never skips) when PYTHON is not installed. */
void ck_require_python(void);

/* ---- starting and finishing ---- */

/* h_start, asserted to succeed. */
void ck_start(struct h_ns *ns, struct h_opts opts);

/* Starts build/apps/<app> with opts (whose argv is ignored); args, a
 * NULL-terminated list (at most 8) or NULL, follow the app's path in argv. */
void ck_start_app(struct h_ns *ns, const char *app, struct h_opts opts);
void ck_start_app_args(struct h_ns *ns, const char *app, char *const *args, struct h_opts opts);

/* h_finish with LONG_MS, asserted to succeed: fills res, releases ns. */
void ck_finish(struct h_ns *ns, struct h_result *res);

/* ---- reading the output ---- */

/* The start of the line after line; NULL at the end of the text. */
const char *ck_next_line(const char *line);

/* line walks the lines of text (each still followed by the rest of text). */
#define FOR_EACH_LINE(line, text) \
	for (const char *line = (text); line && *line; line = ck_next_line(line))

/* The first line of text that starts with prefix, as a heap string (no
 * newline); NULL if none. */
char *ck_line_starting(const char *text, const char *prefix);

/* How many lines of text start with prefix. */
int ck_count_lines_starting(const char *text, const char *prefix);

/* The number (strtol, base 10) right after the first key in text, e.g.
 * ck_number_after(out, "pid="); -1 when key is absent. */
long ck_number_after(const char *text, const char *key);

#endif
