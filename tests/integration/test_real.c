/*
 * Integration tests for issue #5: real programs as PID 1, with the library
 * preloaded, stopped the way `docker stop` stops them.
 *
 *  - redis in a shell-form CMD saves its data on TERM (and, as the control,
 *    loses it without initsafe);
 *  - nginx in a shell-form CMD stops gracefully with INITSAFE_REWRITE=TERM:QUIT;
 *  - a bash script with background jobs drains them (their TERM traps run);
 *  - Debian's runc runs a shell-form container that `runc kill ID TERM`
 *    stops at once with 143, and (control) not at all without the preload.
 *
 * Needs redis-server, redis-cli, nginx (nginx-light), bash, runc and python3
 * (to edit runc's config.json). A missing one fails its test with the
 * package to install: nothing is skipped.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "harness.h"

/* "Promptly", on a loaded 2-core machine (redis acts on TERM in its 100 ms cron). */
#define PROMPT_MS 1500
/* How long the controls wait to see that TERM did nothing. */
#define CONTROL_MS 1000

#define REDIS_SERVER "/usr/bin/redis-server"
#define REDIS_CLI "/usr/bin/redis-cli"
#define NGINX "/usr/sbin/nginx"
#define BASH "/bin/bash"
#define RUNC "/usr/sbin/runc"

/* ---- helpers ---- */

/* Fails (never skips) when a program the test needs is not installed. */
static void need(const char *path, const char *package)
{
	if (access(path, X_OK) != 0)
		fail_msg("%s is missing: apt-get install %s (tests/deps.sh installs it)", path, package);
}

static char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	va_start(ap, fmt);
	int n = vasprintf(&s, fmt, ap);
	va_end(ap);
	assert_true(n >= 0);
	return s;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "we");
	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
}

/* The whole file as a heap string; "" when it cannot be read. */
static char *read_file(const char *path)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = fopen(path, "re");
	FILE *mem = open_memstream(&text, &len);
	assert_non_null(mem);
	if (f) {
		char chunk[4096];
		size_t n;
		while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
			fwrite(chunk, 1, n, mem);
		fclose(f);
	}
	fclose(mem);
	return text;
}

static int count_occurrences(const char *text, const char *needle)
{
	int n = 0;
	for (const char *at = strstr(text, needle); at; at = strstr(at + 1, needle))
		n++;
	return n;
}

/* Runs argv (outside any namespace) in cwd; its exit code (128+sig if killed). */
static int run_cmd(char *const argv[], const char *cwd)
{
	int status;
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDWR);
		if (devnull >= 0) {
			dup2(devnull, 0);
			dup2(devnull, 1);
		}
		if (cwd && chdir(cwd) != 0)
			_exit(126);
		execv(argv[0], argv);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		assert_int_equal(errno, EINTR);
	return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}

/* The test's scratch directory, removed by the teardown even after a failure. */
static char *test_dir;

static const char *new_dir(void)
{
	assert_null(test_dir);
	test_dir = h_tmpdir();
	assert_non_null(test_dir);
	return test_dir;
}

static void drop_dir(void)
{
	if (test_dir)
		h_rmrf(test_dir);
	free(test_dir);
	test_dir = NULL;
}

/* ---- redis ---- */

/* Shell-form CMD: sh is PID 1, redis its child; redis saves an RDB on shutdown. */
static char *redis_shell_form(const char *dir)
{
	return xasprintf(REDIS_SERVER " --port 0 --unixsocket %s/redis.sock --dir %s "
			 "--save '3600 1' --appendonly no; true", dir, dir);
}

static void redis_set(struct h_ns *ns, const char *dir)
{
	char *sock = xasprintf("%s/redis.sock", dir);
	char *argv[] = { REDIS_CLI, "-s", sock, "SET", "greeting", "hello", NULL };
	assert_int_equal(h_enter(ns, argv, NULL, true), 0);
	free(sock);
}

/* What a fresh redis on dir (exec form, no preload) reads back for the key. */
static char *redis_read_back(const char *dir)
{
	struct h_ns ns;
	struct h_result res;
	char *sock = xasprintf("%s/check.sock", dir);
	char *out = xasprintf("%s/get.out", dir);
	char *get = xasprintf(REDIS_CLI " -s %s GET greeting >%s", sock, out);
	char *server[] = { REDIS_SERVER, "--port", "0", "--unixsocket", sock, "--dir", (char *)dir,
			   "--save", "", NULL };
	char *session[] = { "/bin/sh", "-c", get, NULL };

	ck_start(&ns, (struct h_opts){ .argv = server });
	WAIT_OUTPUT(&ns, "accept connections");
	assert_int_equal(h_enter(&ns, session, NULL, true), 0);
	h_kill(&ns, SIGTERM);
	ck_finish(&ns, &res);
	h_result_free(&res);
	char *value = read_file(out);
	value[strcspn(value, "\n")] = '\0';
	free(sock);
	free(out);
	free(get);
	return value;
}

static void test_redis_shell_form_saves_on_term(void **state)
{
	(void)state;
	need(REDIS_SERVER, "redis-server");
	need(REDIS_CLI, "redis-tools");
	struct h_ns ns;
	struct h_result res;
	const char *dir = new_dir();
	char *script = redis_shell_form(dir);
	char *argv[] = { "/bin/sh", "-c", script, NULL };

	ck_start(&ns, (struct h_opts){ .argv = argv, .preload = true });
	WAIT_OUTPUT(&ns, "accept connections");
	redis_set(&ns, dir);
	assert_int_equal(h_kill(&ns, SIGTERM), 0);
	ck_finish(&ns, &res);
	EXPECT(&res, !res.timed_out);
	EXPECT(&res, res.exit_code == 143);
	EXPECT(&res, res.ms_since_kill <= PROMPT_MS);
	EXPECT(&res, strstr(res.out, "User requested shutdown") != NULL);
	EXPECT(&res, strstr(res.out, "DB saved on disk") != NULL);

	char *value = redis_read_back(dir);
	if (strcmp(value, "hello") != 0) {
		ck_dump_result(&res);
		fail_msg("the key read back after the stop is '%s', not 'hello'", value);
	}
	free(value);
	h_result_free(&res);
	free(script);
}

/* The control: without initsafe TERM is dropped, SIGKILL loses the data. */
static void test_redis_shell_form_without_preload_loses_data(void **state)
{
	(void)state;
	need(REDIS_SERVER, "redis-server");
	need(REDIS_CLI, "redis-tools");
	struct h_ns ns;
	struct h_result res;
	const char *dir = new_dir();
	char *script = redis_shell_form(dir);
	char *argv[] = { "/bin/sh", "-c", script, NULL };
	char *dump_path = xasprintf("%s/dump.rdb", dir);

	ck_start(&ns, (struct h_opts){ .argv = argv });
	WAIT_OUTPUT(&ns, "accept connections");
	redis_set(&ns, dir);
	assert_int_equal(h_kill(&ns, SIGTERM), 0);
	bool exited = h_wait_exit(&ns, CONTROL_MS);
	if (!exited)
		h_kill(&ns, SIGKILL);
	ck_finish(&ns, &res);
	EXPECT(&res, !exited);
	EXPECT(&res, res.exit_code == 137);
	EXPECT(&res, strstr(res.out, "DB saved on disk") == NULL);
	EXPECT(&res, access(dump_path, F_OK) != 0);
	h_result_free(&res);
	free(dump_path);
	free(script);
}

/* ---- nginx ---- */

static const char NGINX_CONF[] =
	"user root;\n"
	"worker_processes 2;\n"
	"pid %1$s/nginx.pid;\n"
	"error_log %1$s/error.log notice;\n"
	"events { worker_connections 64; }\n"
	"http {\n"
	"    access_log off;\n"
	"    client_body_temp_path %1$s/body;\n"
	"    proxy_temp_path %1$s/proxy;\n"
	"    fastcgi_temp_path %1$s/fastcgi;\n"
	"    uwsgi_temp_path %1$s/uwsgi;\n"
	"    scgi_temp_path %1$s/scgi;\n"
	"    server {\n"
	"        listen unix:%1$s/nginx.sock;\n"
	"        location / { return 200 \"ok\\n\"; }\n"
	"    }\n"
	"}\n";

static void test_nginx_shell_form_graceful_quit(void **state)
{
	(void)state;
	need(NGINX, "nginx-light");
	struct h_ns ns;
	struct h_result res;
	const char *dir = new_dir();
	char *conf_path = xasprintf("%s/nginx.conf", dir);
	char *conf = xasprintf(NGINX_CONF, dir);
	char *log_path = xasprintf("%s/error.log", dir);
	char *script = xasprintf(NGINX " -c %s -g 'daemon off;'; true", conf_path);
	char *argv[] = { "/bin/sh", "-c", script, NULL };
	const char *env[] = { "INITSAFE_REWRITE=TERM:QUIT", NULL };

	write_file(conf_path, conf);
	ck_start(&ns, (struct h_opts){ .argv = argv, .env = env, .preload = true });
	/* sh, the master and its two workers. */
	if (!h_wait_procs(&ns, 4, LONG_MS)) {
		char *log = read_file(log_path);
		print_message("---- error.log ----\n%s", log);
		free(log);
		ck_dump(h_out(&ns), h_err(&ns));
		fail_msg("nginx's workers never started");
	}
	assert_int_equal(h_kill(&ns, SIGTERM), 0);
	ck_finish(&ns, &res);
	char *log = read_file(log_path);
	if (res.exit_code != 143 || res.ms_since_kill > PROMPT_MS ||
	    count_occurrences(log, "signal 3 (SIGQUIT) received") < 3 ||
	    count_occurrences(log, "gracefully shutting down") != 2 ||
	    count_occurrences(log, "exited with code 0") != 2 || strstr(log, "SIGTERM")) {
		print_message("---- error.log ----\n%s", log);
		ck_dump_result(&res);
		fail_msg("expected exit 143 within %d ms, SIGQUIT (not TERM) to master and workers, "
			 "two graceful worker exits with code 0", PROMPT_MS);
	}
	free(log);
	h_result_free(&res);
	free(script);
	free(log_path);
	free(conf);
	free(conf_path);
}

/* ---- bash ---- */

static void test_bash_script_jobs_drain(void **state)
{
	(void)state;
	need(BASH, "bash");
	struct h_ns ns;
	struct h_result res;
	const char *dir = new_dir();
	char *done_path = xasprintf("%s/done", dir);
	char *script = xasprintf(
		"for i in 1 2 3; do\n"
		"  (trap \"sleep 0.2; echo job$i-done >>%s; exit 0\" TERM\n"
		"   echo job$i-ready\n"
		"   while :; do sleep 0.05; done) &\n"
		"done\n"
		"wait\n", done_path);
	char *argv[] = { BASH, "-c", script, NULL };

	ck_start(&ns, (struct h_opts){ .argv = argv, .preload = true });
	/* Each job says so once its trap is set. */
	WAIT_OUTPUT(&ns, "job1-ready");
	WAIT_OUTPUT(&ns, "job2-ready");
	WAIT_OUTPUT(&ns, "job3-ready");
	assert_int_equal(h_kill(&ns, SIGTERM), 0);
	ck_finish(&ns, &res);
	char *done = read_file(done_path);
	EXPECT(&res, !res.timed_out);
	EXPECT(&res, res.exit_code == 143);
	EXPECT(&res, res.ms_since_kill <= PROMPT_MS);
	if (!strstr(done, "job1-done") || !strstr(done, "job2-done") || !strstr(done, "job3-done")) {
		ck_dump_result(&res);
		fail_msg("the jobs' TERM traps did not all finish; %s holds:\n%s", done_path, done);
	}
	free(done);
	h_result_free(&res);
	free(script);
	free(done_path);
}

/* ---- runc ---- */

/*
 * Edits the config.json of `runc spec`: no terminal, the command, the
 * environment, host directories bind-mounted read-only, the build
 * directory at /initsafe, a tmpfs on /tmp.
 * argv: bundle, script, preload (0/1), then SRC:DST bind pairs.
 */
static const char EDIT_CONFIG[] =
	"import json, os, sys\n"
	"bundle, script, preload = sys.argv[1:4]\n"
	"path = os.path.join(bundle, 'config.json')\n"
	"with open(path) as f: c = json.load(f)\n"
	"p = c['process']\n"
	"p['terminal'] = False\n"
	"p['args'] = ['/bin/sh', '-c', script]\n"
	"p['env'] = ['PATH=/usr/sbin:/usr/bin:/sbin:/bin', 'HOME=/root']\n"
	/* A sanitized build (make sanitize) needs its runtime first, as in harness.c. */
	"rt = os.environ.get('H_SANITIZER_RUNTIME', '')\n"
	"if preload == '1':\n"
	"    p['env'].append('LD_PRELOAD=' + (rt + ':' if rt else '') + '/initsafe/libinitsafe.so')\n"
	"for k in ('ASAN_OPTIONS', 'UBSAN_OPTIONS'):\n"
	"    if k in os.environ: p['env'].append(k + '=' + os.environ[k])\n"
	"for pair in sys.argv[4:]:\n"
	"    src, dst = pair.split(':')\n"
	"    c['mounts'].append({'destination': dst, 'type': 'bind', 'source': src,\n"
	"                        'options': ['rbind', 'ro']})\n"
	"c['mounts'].append({'destination': '/tmp', 'type': 'tmpfs', 'source': 'tmpfs',\n"
	"                    'options': ['nosuid', 'nodev', 'mode=1777']})\n"
	"with open(path, 'w') as f: json.dump(c, f, indent=1)\n";

#define MAX_BINDS 8

struct bundle {
	char *dir;
	char id[64];
	bool created;
};

static struct bundle current;

static void mkdir_in(const char *root, const char *name)
{
	char *path = xasprintf("%s/%s", root, name);
	assert_int_equal(mkdir(path, 0755), 0);
	free(path);
}

/*
 * A bundle whose root is the host's own /usr and /etc (read-only binds,
 * with /bin, /lib... as the same symlinks or binds) plus the build dir.
 */
static void make_bundle(struct bundle *b, const char *script, bool preload)
{
	static int serial;
	static const char *const top[] = { "bin", "lib", "lib64", "sbin" };
	char *binds[MAX_BINDS], *build = realpath(h_build_dir(), NULL);
	int n = 0;

	assert_non_null(build);
	b->dir = h_tmpdir();
	assert_non_null(b->dir);
	snprintf(b->id, sizeof b->id, "initsafe-real-%d-%d", (int)getpid(), ++serial);
	char *rootfs = xasprintf("%s/rootfs", b->dir);
	assert_int_equal(mkdir(rootfs, 0755), 0);
	static const char *const dirs[] = { "usr", "etc", "proc", "dev", "sys", "tmp", "initsafe", "root" };
	for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++)
		mkdir_in(rootfs, dirs[i]);
	binds[n++] = xasprintf("/usr:/usr");
	binds[n++] = xasprintf("/etc:/etc");
	binds[n++] = xasprintf("%s:/initsafe", build);
	for (size_t i = 0; i < sizeof top / sizeof top[0]; i++) {
		char host[64], target[PATH_MAX];
		struct stat st;
		snprintf(host, sizeof host, "/%s", top[i]);
		if (lstat(host, &st) != 0)
			continue;
		char *inside = xasprintf("%s/%s", rootfs, top[i]);
		if (S_ISLNK(st.st_mode)) {
			ssize_t len = readlink(host, target, sizeof target - 1);
			assert_true(len > 0);
			target[len] = '\0';
			assert_int_equal(symlink(target, inside), 0);
		} else {
			assert_int_equal(mkdir(inside, 0755), 0);
			binds[n++] = xasprintf("%s:%s", host, host);
		}
		free(inside);
	}

	char *spec[] = { RUNC, "spec", NULL };
	assert_int_equal(run_cmd(spec, b->dir), 0);
	char *edit[7 + MAX_BINDS] = { PYTHON, "-c", (char *)EDIT_CONFIG, b->dir, (char *)script,
				      preload ? "1" : "0" };
	for (int i = 0; i < n; i++)
		edit[6 + i] = binds[i];
	edit[6 + n] = NULL;
	assert_int_equal(run_cmd(edit, NULL), 0);
	for (int i = 0; i < n; i++)
		free(binds[i]);
	free(rootfs);
	free(build);
	b->created = true;
}

static void runc_kill(struct bundle *b, const char *sig)
{
	char *argv[] = { RUNC, "kill", b->id, (char *)sig, NULL };
	assert_int_equal(run_cmd(argv, NULL), 0);
}

static void drop_bundle(struct bundle *b)
{
	if (!b->created)
		return;
	char *argv[] = { RUNC, "delete", "--force", b->id, NULL };
	run_cmd(argv, NULL);
	h_rmrf(b->dir);
	free(b->dir);
	*b = (struct bundle){ 0 };
}

static int teardown(void **state)
{
	h_teardown(state);
	drop_bundle(&current);
	drop_dir();
	return 0;
}

/* `runc run` in the foreground, as a plain child: its exit code is the container's. */
static void start_container(struct h_ns *ns, struct bundle *b)
{
	char *argv[] = { RUNC, "run", "--bundle", b->dir, b->id, NULL };
	ck_start(ns, (struct h_opts){ .argv = argv, .no_pid_ns = true });
	WAIT_OUTPUT(ns, "container-up");
}

#define CONTAINER_SCRIPT "echo container-up; sleep 1000; true"

static void test_runc_shell_form_stops_on_term(void **state)
{
	(void)state;
	need(RUNC, "runc");
	need(PYTHON, "python3");
	struct h_ns ns;
	struct h_result res;

	make_bundle(&current, CONTAINER_SCRIPT, true);
	start_container(&ns, &current);
	long long sent = h_now_ms();
	runc_kill(&current, "TERM");
	bool exited = h_wait_exit(&ns, LONG_MS);
	long long took = h_now_ms() - sent;
	ck_finish(&ns, &res);
	print_message("runc kill TERM -> `runc run` exited %d after %lld ms\n", res.exit_code, took);
	EXPECT(&res, exited);
	EXPECT(&res, res.exit_code == 143);
	EXPECT(&res, took <= PROMPT_MS);
	h_result_free(&res);
	drop_bundle(&current);
}

static void test_runc_without_preload_ignores_term(void **state)
{
	(void)state;
	need(RUNC, "runc");
	need(PYTHON, "python3");
	struct h_ns ns;
	struct h_result res;

	make_bundle(&current, CONTAINER_SCRIPT, false);
	start_container(&ns, &current);
	runc_kill(&current, "TERM");
	bool exited = h_wait_exit(&ns, CONTROL_MS);
	if (!exited)
		runc_kill(&current, "KILL");
	ck_finish(&ns, &res);
	EXPECT(&res, !exited);
	EXPECT(&res, res.exit_code == 137);
	h_result_free(&res);
	drop_bundle(&current);
}

#define TEST(fn) cmocka_unit_test_teardown(fn, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(test_redis_shell_form_saves_on_term),
		TEST(test_redis_shell_form_without_preload_loses_data),
		TEST(test_nginx_shell_form_graceful_quit),
		TEST(test_bash_script_jobs_drain),
		TEST(test_runc_shell_form_stops_on_term),
		TEST(test_runc_without_preload_ignores_term),
	};
	return cmocka_run_group_tests_name("real", tests, NULL, teardown);
}
