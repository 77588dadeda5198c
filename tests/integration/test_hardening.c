/*
 * Integration tests for issue #7, hardening: libinitsafe.so as PID 1 of
 * real PID namespaces under storms (signals while handlers change, forks
 * and orphans under a pids limit), fed malformed settings, checked for
 * hygiene (exported symbols, descriptors, environ) and put through faults
 * (exec, daemon(), SIGSTOP/SIGCONT, a signal the reaper must never take).
 *
 * HARDENING_ONLY=<glob> runs the matching tests only (cmocka's filter).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "harness.h"
#include "initsafe.h"

/* "Promptly", on a loaded 2-core machine. */
#define PROMPT_MS 1000

/* ---- helpers ---- */

static void sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/*
 * The number after "key=" in the first line starting with prefix, the key
 * matched as a whole word ("eagain" is not "orphan_eagain"); -1 when the
 * line or the key is missing.
 */
static long field(const char *text, const char *prefix, const char *key)
{
	char *line = ck_line_starting(text, prefix);
	char needle[64];
	long value = -1;
	if (!line)
		return -1;
	snprintf(needle, sizeof needle, "%s=", key);
	for (const char *at = strstr(line, needle); at; at = strstr(at + 1, needle)) {
		if (at == line || at[-1] == ' ' || at[-1] == ':') {
			value = strtol(at + strlen(needle), NULL, 10);
			break;
		}
	}
	free(line);
	return value;
}

/* ---- 1. signal storm ---- */

#define STORM_SIGNALS 100000
#define STORM_BATCH 1000
/* Between batches: lets the app's threads run, and notices an early exit. */
#define STORM_PAUSE_MS 20

static void test_signal_storm(void **state)
{
	(void)state;
	struct h_ns ns;
	struct h_result res;
	const char *env[] = { "INITSAFE_SIGNALS=TERM,INT,HUP,QUIT,USR1", NULL };
	long sent_term = 0, sent_usr1 = 0;

	ck_start_app(&ns, "hard_storm", (struct h_opts){ .env = env, .preload = true });
	WAIT_OUTPUT(&ns, "ready");
	for (int i = 0; i < STORM_SIGNALS; i++) {
		int sig = i % 2 ? SIGUSR1 : SIGTERM;
		if (kill(ns.pid, sig) != 0) {
			ck_dump(h_out(&ns), h_err(&ns));
			fail_msg("kill #%d: %s", i, strerror(errno));
		}
		if (sig == SIGTERM)
			sent_term++;
		else
			sent_usr1++;
		if ((i + 1) % STORM_BATCH == 0 && h_wait_exit(&ns, STORM_PAUSE_MS)) {
			ck_finish(&ns, &res);
			ck_dump_result(&res);
			fail_msg("PID 1 exited during the storm, after %d signals", i + 1);
		}
	}
	assert_int_equal(h_kill(&ns, SIGHUP), 0);
	ck_finish(&ns, &res);

	long term = field(res.out, "delivered:", "term"), usr1 = field(res.out, "delivered:", "usr1");
	long chld = field(res.out, "delivered:", "chld");
	long raised_term = field(res.out, "raised:", "term"), raised_usr1 = field(res.out, "raised:", "usr1");
	long exact = field(res.out, "details:", "exact_checked");
	long children = field(res.out, "details:", "children");
	long statuses = field(res.out, "details:", "exact_statuses");
	print_message("storm: sent term=%ld usr1=%ld; handler runs term=%ld usr1=%ld chld=%ld "
		      "(of which self-raised term=%ld usr1=%ld); exact checks=%ld; "
		      "children=%ld exact statuses=%ld\n",
		      sent_term, sent_usr1, term, usr1, chld, raised_term, raised_usr1, exact,
		      children, statuses);
	EXPECT(&res, !res.timed_out && !res.signaled);
	EXPECT(&res, res.exit_code == 0);
	EXPECT(&res, field(res.out, "violations", "violations") == 0);
	/* Every raise ran a handler; nothing ran that was not sent or raised. */
	EXPECT(&res, raised_term > 0 && term >= raised_term && term <= sent_term + raised_term);
	EXPECT(&res, raised_usr1 > 0 && usr1 >= raised_usr1 && usr1 <= sent_usr1 + raised_usr1);
	/* Some of the outside signals got through (standard signals coalesce). */
	EXPECT(&res, term > raised_term && usr1 > raised_usr1);
	EXPECT(&res, exact > 0);
	EXPECT(&res, children > 0 && statuses == children && chld > 0);
	h_result_free(&res);
}

/* ---- 2. fork/exec storm under a pids limit ---- */

#define STORM_CHILDREN 10000
/* Under make sanitize a fork costs several times more: fewer children. */
#define STORM_CHILDREN_SANITIZED 2500
/* One orphan every 5 ms: 64 would pile up in a third of a second unreaped. */
#define ORPHAN_INTERVAL "5"
#define CONTROL_CHILDREN 4000
/*
 * PID 1 has 3 threads (main, orphan factory, reaper), at most 8 storm
 * children and 2 of the factory's: 13 tasks, 14 if initsafe's idle child
 * is made after PID 1 moved in. The rest, 50, is room for orphans not yet
 * reaped: the reaper leaves a fresh zombie 50 ms alone, so at 5 ms an
 * orphan some 10 to 20 wait at a time.
 */
#define PIDS_MAX 64
#define STORM_DONE_MS 90000

/* A child cgroup of the pids controller, removed by the teardown. */
static char cgroup_dir[256];

static int write_text(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, text, strlen(text));
	int saved = errno;
	close(fd);
	errno = saved;
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

static bool file_has_word(const char *path, const char *word)
{
	char text[512];
	FILE *f = fopen(path, "re");
	bool found = false;
	if (!f)
		return false;
	while (!found && fscanf(f, "%511s", text) == 1)
		found = strcmp(text, word) == 0;
	fclose(f);
	return found;
}

/*
 * Where a pids cgroup can be made: cgroup v2 when its root offers the pids
 * controller (enabled for children on the way), else v1's pids hierarchy.
 * NULL when neither is there and writable.
 */
static const char *pids_hierarchy(void)
{
	if (file_has_word("/sys/fs/cgroup/cgroup.controllers", "pids")) {
		if (!file_has_word("/sys/fs/cgroup/cgroup.subtree_control", "pids"))
			write_text("/sys/fs/cgroup/cgroup.subtree_control", "+pids");
		return "/sys/fs/cgroup";
	}
	if (access("/sys/fs/cgroup/pids/cgroup.procs", W_OK) == 0)
		return "/sys/fs/cgroup/pids";
	return NULL;
}

static void cgroup_file(char *path, size_t size, const char *name)
{
	snprintf(path, size, "%s/%s", cgroup_dir, name);
}

/* Makes the cgroup with pids.max = max; false (and a message) when impossible. */
static bool cgroup_make(int max)
{
	const char *root = pids_hierarchy();
	char path[320], value[16];
	if (!root) {
		print_message("no writable pids cgroup hierarchy (v2 with pids, or v1 pids)\n");
		return false;
	}
	snprintf(cgroup_dir, sizeof cgroup_dir, "%s/initsafe-hardening-%d", root, (int)getpid());
	if (mkdir(cgroup_dir, 0755) != 0 && errno != EEXIST) {
		print_message("mkdir %s: %s\n", cgroup_dir, strerror(errno));
		cgroup_dir[0] = '\0';
		return false;
	}
	cgroup_file(path, sizeof path, "pids.max");
	snprintf(value, sizeof value, "%d", max);
	if (write_text(path, value) != 0) {
		print_message("%s: %s\n", path, strerror(errno));
		return false;
	}
	return true;
}

/* Moves pid, all its threads and its future children into the cgroup. */
static int cgroup_enter(pid_t pid)
{
	char path[320], value[16];
	cgroup_file(path, sizeof path, "cgroup.procs");
	snprintf(value, sizeof value, "%d", (int)pid);
	return write_text(path, value);
}

/* The "max" line of pids.events: forks refused because of pids.max. */
static long cgroup_max_events(void)
{
	char path[320], key[32];
	long value, max = -1;
	cgroup_file(path, sizeof path, "pids.events");
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	while (fscanf(f, "%31s %ld", key, &value) == 2)
		if (strcmp(key, "max") == 0)
			max = value;
	fclose(f);
	return max;
}

/* pids.peak: the most tasks the cgroup held at once; -1 when the kernel has no such file. */
static long cgroup_peak(void)
{
	char path[320];
	long peak = -1;
	cgroup_file(path, sizeof path, "pids.peak");
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	if (fscanf(f, "%ld", &peak) != 1)
		peak = -1;
	fclose(f);
	return peak;
}

/* Removes the cgroup once its last task is gone (exiting tasks linger a moment). */
static void cgroup_remove(void)
{
	if (!cgroup_dir[0])
		return;
	long long deadline = h_now_ms() + 5000;
	while (rmdir(cgroup_dir) != 0 && errno == EBUSY && h_now_ms() < deadline)
		sleep_ms(10);
	cgroup_dir[0] = '\0';
}

static int cgroup_teardown(void **state)
{
	h_teardown(state);
	cgroup_remove();
	return 0;
}

/* Polls until no zombie is left in the namespace; the last count seen. */
static int zombies_after(struct h_ns *ns, int timeout_ms)
{
	long long deadline = h_now_ms() + timeout_ms;
	int zombies;
	while ((zombies = h_count_zombies(ns)) != 0 && h_now_ms() < deadline)
		sleep_ms(20);
	return zombies;
}

struct forkstorm_run {
	long children, waited, exact, wrong, echild, eagain, orphans, orphan_eagain;
	long factory_eagain, gave_up, max_events, peak, zombies, ms;
};

static void run_forkstorm(bool reap, int children, struct forkstorm_run *run)
{
	struct h_ns ns;
	struct h_result res;
	char count[16];
	const char *env[] = { reap ? NULL : "INITSAFE_REAP=off", NULL };
	snprintf(count, sizeof count, "%d", children);
	char *args[] = { count, ORPHAN_INTERVAL, NULL };

	if (!cgroup_make(PIDS_MAX))
		skip();
	ck_start_app_args(&ns, "hard_forkstorm", args, (struct h_opts){ .env = env, .preload = true });
	WAIT_OUTPUT(&ns, "ready");
	EXPECT_NS(&ns, cgroup_enter(ns.pid) == 0);
	long long started = h_now_ms();
	assert_int_equal(h_kill(&ns, SIGUSR2), 0);
	if (!h_wait_output(&ns, "done", STORM_DONE_MS)) {
		ck_dump(h_out(&ns), h_err(&ns));
		fail_msg("the storm did not end within %d ms", STORM_DONE_MS);
	}
	run->ms = h_now_ms() - started;
	/* Orphans made last may still be in their reap grace. */
	run->zombies = zombies_after(&ns, reap ? LONG_MS : 0);
	run->max_events = cgroup_max_events();
	run->peak = cgroup_peak();
	assert_int_equal(h_kill(&ns, SIGUSR2), 0);
	ck_finish(&ns, &res);
	const char *out = res.out;
	run->children = field(out, "forkstorm:", "children");
	run->waited = field(out, "forkstorm:", "waited");
	run->exact = field(out, "forkstorm:", "exact");
	run->wrong = field(out, "forkstorm:", "wrong");
	run->echild = field(out, "forkstorm:", "echild");
	run->eagain = field(out, "forkstorm:", "eagain");
	run->orphans = field(out, "forkstorm:", "orphans");
	run->orphan_eagain = field(out, "forkstorm:", "orphan_eagain");
	run->factory_eagain = field(out, "forkstorm:", "factory_eagain");
	run->gave_up = field(out, "forkstorm:", "gave_up");
	print_message("forkstorm (%s): %ld ms; children=%ld waited=%ld exact=%ld wrong=%ld "
		      "echild=%ld eagain=%ld orphans=%ld orphan_eagain=%ld factory_eagain=%ld "
		      "gave_up=%ld; pids.events max=%ld, pids.peak=%ld of %d; zombies left=%ld\n",
		      reap ? "reaper on" : "INITSAFE_REAP=off", run->ms, run->children, run->waited,
		      run->exact, run->wrong, run->echild, run->eagain, run->orphans,
		      run->orphan_eagain, run->factory_eagain, run->gave_up, run->max_events,
		      run->peak, PIDS_MAX, run->zombies);
	EXPECT(&res, res.exit_code == 0 && !res.signaled);
	EXPECT(&res, strstr(res.err, "initsafe:") == NULL);
	EXPECT(&res, run->children >= 0 && run->gave_up >= 0);
	h_result_free(&res);
	cgroup_remove();
}

static void test_fork_storm_pids_limit(void **state)
{
	(void)state;
	struct forkstorm_run run;
	int children = getenv("H_SANITIZER_RUNTIME") ? STORM_CHILDREN_SANITIZED : STORM_CHILDREN;

	run_forkstorm(true, children, &run);
	assert_int_equal(run.gave_up, 0);
	assert_int_equal(run.children, children);
	assert_int_equal(run.waited, children);
	assert_int_equal(run.exact, children);
	assert_int_equal(run.wrong, 0);
	assert_int_equal(run.echild, 0);
	/* No fork refused: the orphans never piled up to the limit. */
	assert_int_equal(run.eagain, 0);
	assert_int_equal(run.orphan_eagain, 0);
	assert_int_equal(run.factory_eagain, 0);
	assert_int_equal(run.max_events, 0);
	/* Enough orphans that, unreaped, they would have hit the limit many times over. */
	assert_true(run.orphans > 4 * PIDS_MAX);
	assert_int_equal(run.zombies, 0);
}

/* The control: the same storm without the reaper runs into the limit. */
static void test_fork_storm_without_reaper_hits_limit(void **state)
{
	(void)state;
	struct forkstorm_run run;

	run_forkstorm(false, CONTROL_CHILDREN, &run);
	assert_true(run.eagain + run.orphan_eagain + run.factory_eagain > 0);
	assert_true(run.max_events > 0);
	assert_true(run.zombies > 0);
	/* Statuses are still exact: nothing takes them. */
	assert_int_equal(run.wrong, 0);
	assert_int_equal(run.echild, 0);
}

/* ---- 3. malformed settings ---- */

static const char *const setting_names[] = {
	"INITSAFE_SIGNALS", "INITSAFE_FORWARD", "INITSAFE_REWRITE", "INITSAFE_GRACE",
	"INITSAFE_SUBREAPER", "INITSAFE_LOG", "INITSAFE_REAP", "INITSAFE_REAP_GRACE",
	"INITSAFE_DRAIN", "INITSAFE_CRASH",
};
#define N_SETTINGS (sizeof setting_names / sizeof setting_names[0])

/*
 * The kernel refuses an environment string longer than MAX_ARG_STRLEN
 * (32 pages, 131072 bytes with its NUL) with E2BIG: that, not 1 MiB, is
 * the largest value a process can be given.
 */
#define MAX_ARG_STRLEN 131072

/* Kinds of bad value; each yields one value per variable. */
enum bad_kind { BAD_EMPTY, BAD_HUGE, BAD_NON_UTF8, BAD_NEGATIVE, BAD_OVERFLOW, BAD_JUNK };

static const char *const bad_kind_names[] = {
	"empty", "huge", "non-UTF-8", "negative", "overflowing", "embedded junk",
};

/* Valid-looking values with junk inside: spaces, controls, newlines, escapes. */
static const char *const junk_values[N_SETTINGS] = {
	"TERM,INT junk",            /* SIGNALS */
	"auto\ninitsafe: fake",     /* FORWARD: a newline must not make a second line */
	"TERM:QUIT;rm -rf /",       /* REWRITE */
	"8s\x1b[31m",               /* GRACE */
	"1 0",                      /* SUBREAPER */
	"warn\b\b\b\bdebug",         /* LOG: backspaces, a terminal would show "debug" */
	"on\x7f",                   /* REAP */
	"50ms50ms",                 /* REAP_GRACE */
	"yes!",                     /* DRAIN */
	"true\tfalse",              /* CRASH */
};

static char *format(const char *fmt, const char *name, const char *value)
{
	char *text = NULL;
	assert_true(asprintf(&text, fmt, name, value) >= 0);
	return text;
}

/* "NAME=value" for a bad value of kind; heap string. */
static char *bad_entry(const char *name, size_t index, enum bad_kind kind)
{
	size_t name_len = strlen(name), room;
	char *entry;
	switch (kind) {
	case BAD_HUGE:
		/* The longest accepted: name, '=', digits, NUL = MAX_ARG_STRLEN. */
		room = MAX_ARG_STRLEN - name_len - 2;
		entry = malloc(name_len + 1 + room + 1);
		assert_non_null(entry);
		memcpy(entry, name, name_len);
		entry[name_len] = '=';
		memset(entry + name_len + 1, '9', room);
		entry[name_len + 1 + room] = '\0';
		return entry;
	case BAD_EMPTY:
		return format("%s=%s", name, "");
	case BAD_NON_UTF8:
		return format("%s=%s", name, "\xff\xfe\xc3\x28TERM");
	case BAD_NEGATIVE:
		return format("%s=%s", name, "-1");
	case BAD_OVERFLOW:
		return format("%s=%s", name, "99999999999999999999999");
	case BAD_JUNK:
		return format("%s=%s", name, junk_values[index]);
	}
	return NULL;
}

/*
 * Every report is one line "initsafe: NAME='...' is not ...; using ...",
 * printable ASCII only (bad bytes escaped), cut to a sane length.
 */
static void expect_clean_report(const struct h_result *res, const char *name, enum bad_kind kind)
{
	char prefix[64];
	snprintf(prefix, sizeof prefix, "initsafe: %s='", name);
	int count = ck_count_lines_starting(res->err, prefix);
	if (count != 1) {
		ck_dump_result(res);
		fail_msg("%s value: %d lines start with \"%s\", expected 1", bad_kind_names[kind], count,
			 prefix);
	}
	char *line = ck_line_starting(res->err, prefix);
	bool printable = true;
	for (const char *c = line; *c; c++)
		printable = printable && *c >= 0x20 && *c < 0x7f;
	bool ok = printable && strlen(line) < 400 && strstr(line, "' is not ") &&
		  strstr(line, "; using ");
	if (ok && kind == BAD_HUGE)
		ok = strstr(line, "...' is not ") != NULL;
	if (ok && kind == BAD_NON_UTF8)
		ok = strstr(line, "='\\xff\\xfe\\xc3(TERM'") != NULL;
	if (!ok) {
		ck_dump_result(res);
		fail_msg("%s value: unclear report: %s", bad_kind_names[kind], line);
	}
	free(line);
}

static void test_bad_values(void **state)
{
	enum bad_kind kind = *(const enum bad_kind *)*state;
	const char *env[N_SETTINGS + 1];
	char *entries[N_SETTINGS];
	struct h_ns ns;
	struct h_result res;

	for (size_t i = 0; i < N_SETTINGS; i++)
		env[i] = entries[i] = bad_entry(setting_names[i], i, kind);
	env[N_SETTINGS] = NULL;
	ck_start_app(&ns, "core_idle", (struct h_opts){ .env = env, .preload = true });
	for (size_t i = 0; i < N_SETTINGS; i++)
		free(entries[i]);
	WAIT_OUTPUT(&ns, "ready");
	assert_int_equal(h_kill(&ns, SIGTERM), 0);
	ck_finish(&ns, &res);
	EXPECT(&res, !res.signaled && res.exit_code == 143);
	for (size_t i = 0; i < N_SETTINGS; i++)
		expect_clean_report(&res, setting_names[i], kind);
	EXPECT(&res, ck_count_lines_starting(res.err, "initsafe: ") == (int)N_SETTINGS);
	/* Nothing but the reports: every byte of stderr belongs to one of them. */
	EXPECT(&res, ck_count_lines_starting(res.err, "") == (int)N_SETTINGS);
	h_result_free(&res);
}

static const enum bad_kind bad_empty = BAD_EMPTY, bad_huge = BAD_HUGE,
			   bad_non_utf8 = BAD_NON_UTF8, bad_negative = BAD_NEGATIVE,
			   bad_overflow = BAD_OVERFLOW, bad_junk = BAD_JUNK;

/*
 * A variable given twice: glibc's getenv scans environ from the start and
 * returns the first "NAME=" entry, so initsafe parses that one and never
 * sees the second. With INITSAFE_LOG=info the grace in use is printed when
 * TERM comes.
 */
static void run_duplicated(const char *first, const char *second, struct h_result *res)
{
	const char *env[] = { first, second, "INITSAFE_LOG=info", "INITSAFE_LOG=quiet", NULL };
	struct h_ns ns;

	ck_start_app(&ns, "core_idle", (struct h_opts){ .env = env, .preload = true });
	WAIT_OUTPUT(&ns, "ready");
	assert_int_equal(h_kill(&ns, SIGTERM), 0);
	ck_finish(&ns, res);
	EXPECT(res, !res->signaled && res->exit_code == 143);
}

static void test_duplicated_variable_first_wins(void **state)
{
	(void)state;
	struct h_result res;
	char default_grace[32];
	snprintf(default_grace, sizeof default_grace, "grace %ums", INITSAFE_DEFAULT_GRACE_MS);

	/* The first is good, the second bad: no report, the first's grace. */
	run_duplicated("INITSAFE_GRACE=1500ms", "INITSAFE_GRACE=banana", &res);
	EXPECT(&res, ck_count_lines_starting(res.err, "initsafe: INITSAFE_GRACE=") == 0);
	EXPECT(&res, strstr(res.err, "grace 1500ms") != NULL);
	h_result_free(&res);

	/* The first is bad: one report naming it, the default grace, not the second's. */
	run_duplicated("INITSAFE_GRACE=banana", "INITSAFE_GRACE=1500ms", &res);
	EXPECT(&res, ck_count_lines_starting(res.err, "initsafe: INITSAFE_GRACE='banana'") == 1);
	EXPECT(&res, ck_count_lines_starting(res.err, "initsafe: INITSAFE_GRACE=") == 1);
	EXPECT(&res, strstr(res.err, default_grace) != NULL);
	EXPECT(&res, strstr(res.err, "1500") == NULL);
	h_result_free(&res);
}

/* ---- 6. hygiene ---- */

/* What the library may export: the interposed functions and the API. */
static const char *const allowed_exports[] = {
	"sigaction", "__sigaction", "signal", "bsd_signal", "ssignal", "sysv_signal",
	"__sysv_signal", "sigset", "sigignore", "siginterrupt", "sigvec",
	"fork", "__fork", "_Fork", "vfork", "__vfork", "clone", "posix_spawn", "posix_spawnp",
	"wait", "waitpid", "wait3", "wait4", "__wait", "waitid",
	"system", "popen", "pclose", "_exit", "_Exit", "daemon",
	"initsafe_version", "initsafe_active",
};
#define N_ALLOWED (sizeof allowed_exports / sizeof allowed_exports[0])

/* make sanitize links a sanitizer runtime in, whose hooks are not ours to count. */
static bool is_sanitizer_symbol(const char *name)
{
	static const char *const prefixes[] = { "__asan", "___asan", "__ubsan", "__tsan",
						"__sanitizer", "__odr_asan", "__lsan" };
	if (!getenv("H_SANITIZER_RUNTIME"))
		return false;
	for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++)
		if (strncmp(name, prefixes[i], strlen(prefixes[i])) == 0)
			return true;
	return false;
}

static void test_exports_exactly_the_interposed_set(void **state)
{
	(void)state;
	char *lib = h_path("libinitsafe.so");
	char command[4200], line[512];
	int seen[N_ALLOWED] = { 0 }, unexpected = 0;

	assert_int_equal(access(lib, R_OK), 0);
	snprintf(command, sizeof command, "nm -D --defined-only '%s' 2>&1", lib);
	free(lib);
	FILE *p = popen(command, "r");
	assert_non_null(p);
	while (fgets(line, sizeof line, p)) {
		char addr[64], type[8], name[256];
		if (sscanf(line, "%63s %7s %255s", addr, type, name) != 3) {
			print_message("unparsed nm line: %s", line);
			unexpected++;
			continue;
		}
		name[strcspn(name, "@")] = '\0';  /* a symbol version, if any */
		size_t i = 0;
		while (i < N_ALLOWED && strcmp(name, allowed_exports[i]) != 0)
			i++;
		if (i < N_ALLOWED) {
			seen[i]++;
		} else if (!is_sanitizer_symbol(name)) {
			print_message("unexpected export: %s", line);
			unexpected++;
		}
	}
	assert_int_equal(pclose(p), 0);
	for (size_t i = 0; i < N_ALLOWED; i++)
		if (seen[i] != 1)
			fail_msg("%s is exported %d times, expected once", allowed_exports[i], seen[i]);
	assert_int_equal(unexpected, 0);
}

/* readelf -d (NEEDED only libc.so.6) and C++ exceptions under the preload are
 * test_crash's test_library_needs_only_libc and test_cxx_exceptions_*. */

/*
 * As PID 1 the app sees only what it would without the library: 0, 1, 2
 * (and whatever the test runner itself leaks into its children, which the
 * reference run without the library shows too), at the start of main and
 * after the reaper has reaped orphans and gone idle.
 */
static void test_no_descriptor_left_open(void **state)
{
	(void)state;
	struct h_ns ns;
	struct h_result res;
	char *start_only[] = { "start-only", NULL };

	ck_start_app_args(&ns, "hard_fds", start_only, (struct h_opts){ .preload = false });
	ck_finish(&ns, &res);
	EXPECT(&res, res.exit_code == 0);
	char *reference = ck_line_starting(res.out, "fds-start: ");
	EXPECT(&res, reference != NULL);
	h_result_free(&res);
	if (strcmp(reference, "fds-start: 0,1,2") != 0)
		print_message("note: the test runner leaks descriptors into its children: %s\n",
			      reference);

	ck_start_app(&ns, "hard_fds", (struct h_opts){ .preload = true });
	ck_finish(&ns, &res);
	char *start = ck_line_starting(res.out, "fds-start: ");
	char *end = ck_line_starting(res.out, "fds-end: ");
	EXPECT(&res, res.exit_code == 0 && !res.signaled);
	EXPECT(&res, strstr(res.out, "orphans-reaped=20/20\n") != NULL);
	EXPECT(&res, strstr(res.out, "reaper-idle=1\n") != NULL);
	EXPECT(&res, strstr(res.out, "shell=ok\n") != NULL);
	EXPECT(&res, start != NULL && strcmp(start, reference) == 0);
	EXPECT(&res, end != NULL && strcmp(end + strlen("fds-end: "),
					   reference + strlen("fds-start: ")) == 0);
	h_result_free(&res);
	free(reference);
	free(start);
	free(end);
}

/* The app's output without the lines that start with prefix; heap string. */
static char *without_lines(const char *text, const char *prefix)
{
	size_t len = 0;
	char *kept = malloc(strlen(text) + 1);
	assert_non_null(kept);
	FOR_EACH_LINE(line, text) {
		size_t n = strcspn(line, "\n");
		if (strncmp(line, prefix, strlen(prefix)) == 0)
			continue;
		memcpy(kept + len, line, n);
		len += n;
		if (line[n] == '\n')
			kept[len++] = '\n';
	}
	kept[len] = '\0';
	return kept;
}

static char *environ_output(bool preload, bool no_pid_ns)
{
	/* A duplicate, an empty value, spaces, and initsafe's own variables. */
	const char *env[] = { "INITSAFE_GRACE=2s", "INITSAFE_LOG=warn", "SPACES=a b  c",
			      "EMPTY=", "DUP=first", "DUP=second", NULL };
	struct h_ns ns;
	struct h_result res;

	ck_start_app(&ns, "hard_environ",
		     (struct h_opts){ .env = env, .preload = preload, .no_pid_ns = no_pid_ns });
	ck_finish(&ns, &res);
	EXPECT(&res, res.exit_code == 0 && !res.signaled);
	EXPECT(&res, strstr(res.out, "env-end-end\n") != NULL);
	EXPECT(&res, res.err[0] == '\0');
	char *out = res.out;
	res.out = NULL;
	h_result_free(&res);
	return out;
}

static void test_environ_untouched(void **state)
{
	(void)state;
	char *reference = environ_output(false, false);
	char *as_pid1 = environ_output(true, false);
	char *inert = environ_output(true, true);
	char *plain = environ_output(false, true);
	char *lib = h_path("libinitsafe.so");
	char *real_lib = realpath(lib, NULL);
	char expected_preload[4200];

	assert_non_null(real_lib);
	snprintf(expected_preload, sizeof expected_preload, "env: LD_PRELOAD=%s", real_lib);
	/* LD_PRELOAD stays, as the harness set it, in both listings. */
	if (!getenv("H_SANITIZER_RUNTIME")) {
		assert_int_equal(ck_count_lines_starting(as_pid1, expected_preload), 2);
		assert_int_equal(ck_count_lines_starting(inert, expected_preload), 2);
	}
	assert_int_equal(ck_count_lines_starting(as_pid1, "env: LD_PRELOAD="), 2);
	assert_int_equal(ck_count_lines_starting(reference, "env: LD_PRELOAD="), 0);
	assert_int_equal(ck_count_lines_starting(as_pid1, "env: DUP="), 4);

	char *as_pid1_rest = without_lines(as_pid1, "env: LD_PRELOAD=");
	char *inert_rest = without_lines(inert, "env: LD_PRELOAD=");
	assert_string_equal(as_pid1_rest, reference);
	assert_string_equal(inert_rest, reference);
	assert_string_equal(plain, reference);
	free(as_pid1_rest);
	free(inert_rest);
	free(reference);
	free(as_pid1);
	free(inert);
	free(plain);
	free(lib);
	free(real_lib);
}

/* ---- 7. faults ---- */

/* The state letter of a host pid (R, S, T, Z...), '?' when it is gone. */
static char proc_state(pid_t pid)
{
	char path[64], line[512];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return '?';
	size_t n = fread(line, 1, sizeof line - 1, f);
	fclose(f);
	line[n] = '\0';
	const char *end = strrchr(line, ')');
	return end && end[1] == ' ' ? end[2] : '?';
}

/* Polls until pid's state is one of states; the last state seen. */
static char wait_state(pid_t pid, const char *states, int timeout_ms)
{
	long long deadline = h_now_ms() + timeout_ms;
	char state;
	while (!strchr(states, state = proc_state(pid)) && h_now_ms() < deadline)
		sleep_ms(5);
	return state;
}

/*
 * PID 1's children (host numbering) whose comm is comm (NULL: any) and
 * whose state is in states: their number. initsafe-idle included, unlike
 * h_count_zombies.
 */
static int count_children(pid_t pid1, const char *comm, const char *states)
{
	char path[64];
	int count = 0;
	snprintf(path, sizeof path, "/proc/%d/task", (int)pid1);
	DIR *tasks = opendir(path);
	struct dirent *task;
	while (tasks && (task = readdir(tasks))) {
		char list[300];
		long child;
		if (task->d_name[0] == '.')
			continue;
		snprintf(list, sizeof list, "/proc/%d/task/%s/children", (int)pid1, task->d_name);
		FILE *f = fopen(list, "re");
		while (f && fscanf(f, "%ld", &child) == 1) {
			char comm_path[64], name[32] = "";
			snprintf(comm_path, sizeof comm_path, "/proc/%ld/comm", child);
			FILE *c = fopen(comm_path, "re");
			if (c) {
				if (!fgets(name, sizeof name, c))
					name[0] = '\0';
				fclose(c);
			}
			name[strcspn(name, "\n")] = '\0';
			if ((!comm || strcmp(name, comm) == 0) && strchr(states, proc_state((pid_t)child)))
				count++;
		}
		if (f)
			fclose(f);
	}
	if (tasks)
		closedir(tasks);
	return count;
}

static void test_exec_as_pid1_keeps_duties(void **state)
{
	(void)state;
	struct h_ns ns;
	struct h_result res;

	ck_start_app(&ns, "hard_exec", (struct h_opts){ .preload = true });
	WAIT_OUTPUT(&ns, "stage1 ready pid=1");
	EXPECT_NS(&ns, h_threads(&ns) == 2);
	assert_int_equal(h_kill(&ns, SIGUSR2), 0);
	WAIT_OUTPUT(&ns, "stage2 ready pid=1");
	/* One reaper: the first image's went with it, the constructor made one. */
	int threads = h_threads(&ns);
	WAIT_OUTPUT(&ns, "orphan-reaped=");
	EXPECT_NS(&ns, threads == 2);
	EXPECT_NS(&ns, strstr(h_out(&ns), "orphan-reaped=1\n") != NULL);
	EXPECT_NS(&ns, h_threads(&ns) == 2);
	/* Nothing of the first image is left over, not even its idle child. */
	long long deadline = h_now_ms() + LONG_MS;
	while (count_children(ns.pid, NULL, "Z") != 0 && h_now_ms() < deadline)
		sleep_ms(10);
	EXPECT_NS(&ns, count_children(ns.pid, NULL, "Z") == 0);
	EXPECT_NS(&ns, count_children(ns.pid, "initsafe-idle", "RSDTtZXI") <= 1);
	assert_int_equal(h_kill(&ns, SIGTERM), 0);
	ck_finish(&ns, &res);
	EXPECT(&res, !res.signaled && res.exit_code == 143);
	EXPECT(&res, res.ms_since_kill <= PROMPT_MS);
	h_result_free(&res);
}

/*
 * The entrypoint pattern: PID 1 execs at once (`exec "$@"`), while the
 * library's constructor has just started its helpers in the first image.
 * Nothing of them may outlive the exec: TERM must still end the new image
 * promptly with 143, without initsafe having to kill anything.
 */
#define EXEC_AT_ONCE_ROUNDS 20

static void test_exec_at_once_then_term(void **state)
{
	(void)state;
	char *app = h_path("apps/core_idle");
	char script[4200];
	snprintf(script, sizeof script, "exec '%s'", app);
	char *argv[] = { "/bin/sh", "-c", script, NULL };

	for (int round = 0; round < EXEC_AT_ONCE_ROUNDS; round++) {
		struct h_ns ns;
		struct h_result res;
		ck_start(&ns, (struct h_opts){ .argv = argv, .preload = true });
		WAIT_OUTPUT(&ns, "ready");
		assert_int_equal(h_kill(&ns, SIGTERM), 0);
		ck_finish(&ns, &res);
		if (res.exit_code != 143 || res.ms_since_kill > PROMPT_MS || res.err[0] != '\0')
			print_message("round %d of %d:\n", round + 1, EXEC_AT_ONCE_ROUNDS);
		EXPECT(&res, !res.signaled && res.exit_code == 143);
		EXPECT(&res, res.ms_since_kill <= PROMPT_MS);
		EXPECT(&res, res.err[0] == '\0');
		h_result_free(&res);
	}
	free(app);
}

/*
 * daemon() as PID 1: its parent side leaves at once with _exit(0), the
 * kernel then SIGKILLs everything left. Without initsafe the daemon dies
 * before it can do anything; with it, the exit drain gives it TERM and
 * the grace first, so its handler runs, and the exit code stays 0.
 */
static void test_daemon_gets_term_when_pid1_leaves(void **state)
{
	(void)state;
	struct h_ns ns;
	struct h_result res;

	ck_start_app(&ns, "hard_daemon", (struct h_opts){ .preload = true });
	ck_finish(&ns, &res);
	EXPECT(&res, !res.signaled && res.exit_code == 0);
	EXPECT(&res, strstr(res.out, "parent pid=1\n") != NULL);
	EXPECT(&res, ck_count_lines_starting(res.err, "daemon-term pid=") == 1);
	h_result_free(&res);
}

static void test_daemon_without_preload_killed_at_once(void **state)
{
	(void)state;
	struct h_ns ns;
	struct h_result res;

	ck_start_app(&ns, "hard_daemon", (struct h_opts){ .preload = false });
	ck_finish(&ns, &res);
	EXPECT(&res, !res.signaled && res.exit_code == 0);
	EXPECT(&res, strstr(res.err, "daemon-term") == NULL);
	h_result_free(&res);
}

static void test_stop_and_continue_then_term(void **state)
{
	(void)state;
	struct h_ns ns;
	struct h_result res;

	ck_start_app(&ns, "core_idle", (struct h_opts){ .preload = true });
	WAIT_OUTPUT(&ns, "ready");
	EXPECT_NS(&ns, strchr("SR", proc_state(ns.pid)) != NULL);
	assert_int_equal(h_kill(&ns, SIGSTOP), 0);
	char stopped = wait_state(ns.pid, "T", LONG_MS);
	assert_int_equal(h_kill(&ns, SIGCONT), 0);
	char running = wait_state(ns.pid, "SR", LONG_MS);
	EXPECT_NS(&ns, stopped == 'T');
	EXPECT_NS(&ns, running == 'S' || running == 'R');
	EXPECT_NS(&ns, h_threads(&ns) == 2);
	assert_int_equal(h_kill(&ns, SIGTERM), 0);
	ck_finish(&ns, &res);
	EXPECT(&res, !res.signaled && res.exit_code == 143);
	EXPECT(&res, res.ms_since_kill <= PROMPT_MS);
	h_result_free(&res);
}

/* SigBlk of the thread of pid (host) whose comm is comm; false when none. */
static bool thread_blocked_mask(pid_t pid, const char *comm, unsigned long long *mask)
{
	char path[64];
	bool found = false;
	snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
	DIR *tasks = opendir(path);
	struct dirent *task;
	while (!found && tasks && (task = readdir(tasks))) {
		char file[300], line[256], name[32] = "";
		if (task->d_name[0] == '.')
			continue;
		snprintf(file, sizeof file, "/proc/%d/task/%s/comm", (int)pid, task->d_name);
		FILE *f = fopen(file, "re");
		if (!f)
			continue;
		bool match = fgets(name, sizeof name, f) && strncmp(name, comm, strlen(comm)) == 0 &&
			     name[strlen(comm)] == '\n';
		fclose(f);
		if (!match)
			continue;
		snprintf(file, sizeof file, "/proc/%d/task/%s/status", (int)pid, task->d_name);
		f = fopen(file, "re");
		while (f && fgets(line, sizeof line, f))
			if (sscanf(line, "SigBlk: %llx", mask) == 1)
				found = true;
		if (f)
			fclose(f);
	}
	if (tasks)
		closedir(tasks);
	return found;
}

#define USR2_SENT 2000

static void test_unmanaged_signal_never_on_reaper(void **state)
{
	(void)state;
	struct h_ns ns;
	struct h_result res;
	unsigned long long blocked = 0;

	ck_start_app(&ns, "hard_usr2", (struct h_opts){ .preload = true });
	WAIT_OUTPUT(&ns, "ready reaper=");
	EXPECT_NS(&ns, ck_number_after(h_out(&ns), "ready reaper=") > 1);
	/* Every signal but KILL, STOP and glibc's own 32 and 33 is blocked there. */
	EXPECT_NS(&ns, thread_blocked_mask(ns.pid, "initsafe-reap", &blocked));
	for (int sig = 1; sig <= 64; sig++) {
		bool must = sig != SIGKILL && sig != SIGSTOP && sig != 32 && sig != 33;
		if (must && !(blocked & (1ULL << (sig - 1)))) {
			ck_dump(h_out(&ns), h_err(&ns));
			fail_msg("the reaper thread does not block signal %d (SigBlk %016llx)", sig,
				 blocked);
		}
	}
	for (int i = 0; i < USR2_SENT; i++) {
		assert_int_equal(kill(ns.pid, SIGUSR2), 0);
		if (i % 100 == 99)
			sleep_ms(3);
	}
	sleep_ms(50);
	assert_int_equal(h_kill(&ns, SIGUSR1), 0);
	ck_finish(&ns, &res);
	long handled = field(res.out, "usr2", "handled");
	print_message("usr2: sent %d, handled %ld (standard signals coalesce); reaper SigBlk %016llx\n",
		      USR2_SENT, handled, blocked);
	EXPECT(&res, res.exit_code == 0 && !res.signaled);
	EXPECT(&res, handled >= 1 && handled <= USR2_SENT);
	EXPECT(&res, field(res.out, "usr2", "on_reaper") == 0);
	EXPECT(&res, field(res.out, "usr2", "elsewhere") == 0);
	EXPECT(&res, field(res.out, "usr2", "on_main") == handled);
	h_result_free(&res);
}

#define TEST(fn) cmocka_unit_test_teardown(fn, h_teardown)
/* One test function run with a parameter, under its own name. */
#define TEST_WITH(name, fn, arg) { name, fn, NULL, h_teardown, (void *)(arg) }

int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(test_signal_storm),
		cmocka_unit_test_teardown(test_fork_storm_pids_limit, cgroup_teardown),
		cmocka_unit_test_teardown(test_fork_storm_without_reaper_hits_limit, cgroup_teardown),
		TEST_WITH("test_bad_values_empty", test_bad_values, &bad_empty),
		TEST_WITH("test_bad_values_huge", test_bad_values, &bad_huge),
		TEST_WITH("test_bad_values_non_utf8", test_bad_values, &bad_non_utf8),
		TEST_WITH("test_bad_values_negative", test_bad_values, &bad_negative),
		TEST_WITH("test_bad_values_overflowing", test_bad_values, &bad_overflow),
		TEST_WITH("test_bad_values_embedded_junk", test_bad_values, &bad_junk),
		TEST(test_duplicated_variable_first_wins),
		TEST(test_exports_exactly_the_interposed_set),
		TEST(test_no_descriptor_left_open),
		TEST(test_environ_untouched),
		TEST(test_exec_as_pid1_keeps_duties),
		TEST(test_exec_at_once_then_term),
		TEST(test_daemon_gets_term_when_pid1_leaves),
		TEST(test_daemon_without_preload_killed_at_once),
		TEST(test_stop_and_continue_then_term),
		TEST(test_unmanaged_signal_never_on_reaper),
	};
	const char *only = getenv("HARDENING_ONLY");
	if (only && *only)
		cmocka_set_test_filter(only);
	/* Keeps cmocka's stdout lines in order with its stderr ones in a pipe. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	return cmocka_run_group_tests_name("hardening", tests, NULL, h_teardown);
}
