/* See check.h. */
#include "check.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- showing what PID 1 said ---- */

void ck_dump(const char *out, const char *err)
{
	print_message("---- stdout ----\n%s---- stderr ----\n%s----------------\n", out, err);
}

void ck_dump_result(const struct h_result *res)
{
	print_message("status=%#x exit_code=%d signaled=%d term_sig=%d timed_out=%d "
		      "ms_since_kill=%lld ms_total=%lld\n",
		      (unsigned)res->status, res->exit_code, res->signaled, res->term_sig,
		      res->timed_out, res->ms_since_kill, res->ms_total);
	ck_dump(res->out, res->err);
}

/* ---- checks ---- */

void ck_expect_at(bool ok, const char *text, const struct h_result *res, int line)
{
	if (ok)
		return;
	ck_dump_result(res);
	fail_msg("line %d: expected %s", line, text);
}

void ck_expect_ns_at(bool ok, const char *text, struct h_ns *ns, int line)
{
	if (ok)
		return;
	ck_dump(h_out(ns), h_err(ns));
	fail_msg("line %d: expected %s", line, text);
}

void ck_wait_output_at(struct h_ns *ns, const char *needle, int timeout_ms, int line)
{
	if (h_wait_output(ns, needle, timeout_ms))
		return;
	ck_dump(h_out(ns), h_err(ns));
	fail_msg("line %d: \"%s\" never appeared", line, needle);
}

void ck_require_python(void)
{
	if (access(PYTHON, X_OK) != 0)
		fail_msg(PYTHON " is missing: install python3 (CI does), this test needs it");
}

/* ---- starting and finishing ---- */

#define MAX_APP_ARGS 8

void ck_start(struct h_ns *ns, struct h_opts opts)
{
	assert_int_equal(h_start(ns, &opts), 0);
}

void ck_start_app(struct h_ns *ns, const char *app, struct h_opts opts)
{
	ck_start_app_args(ns, app, NULL, opts);
}

void ck_start_app_args(struct h_ns *ns, const char *app, char *const *args, struct h_opts opts)
{
	char rel[128];
	char *argv[1 + MAX_APP_ARGS + 1] = { NULL };
	size_t n = 0;
	while (args && args[n])
		n++;
	assert_true(n <= MAX_APP_ARGS);
	snprintf(rel, sizeof rel, "apps/%s", app);
	char *path = h_path(rel);
	argv[0] = path;
	for (size_t i = 0; i < n; i++)
		argv[1 + i] = args[i];
	opts.argv = argv;
	int rc = h_start(ns, &opts);
	free(path);
	assert_int_equal(rc, 0);
}

void ck_finish(struct h_ns *ns, struct h_result *res)
{
	assert_int_equal(h_finish(ns, LONG_MS, res), 0);
}

/* ---- reading the output ---- */

const char *ck_next_line(const char *line)
{
	const char *newline = strchr(line, '\n');
	return newline && newline[1] ? newline + 1 : NULL;
}

char *ck_line_starting(const char *text, const char *prefix)
{
	FOR_EACH_LINE(line, text)
		if (strncmp(line, prefix, strlen(prefix)) == 0)
			return strndup(line, strcspn(line, "\n"));
	return NULL;
}

int ck_count_lines_starting(const char *text, const char *prefix)
{
	int count = 0;
	FOR_EACH_LINE(line, text)
		count += strncmp(line, prefix, strlen(prefix)) == 0;
	return count;
}

long ck_number_after(const char *text, const char *key)
{
	const char *at = strstr(text, key);
	return at ? strtol(at + strlen(key), NULL, 10) : -1;
}
