// sources: preload/log.c preload/config.c
/* Unit tests for preload/log.c: levels, the formatter, one-write lines. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"

/* log_format through a variadic front, as log_msg uses it. */
static int format(char *buf, int size, const char *fmt, ...)
{
	va_list ap;
	int len;

	va_start(ap, fmt);
	len = log_format(buf, size, fmt, ap);
	va_end(ap);
	return len;
}

static int reset_level(void **state)
{
	(void)state;
	log_set_level(LOG_WARN);
	return 0;
}

static void test_default_level_is_warn(void **state)
{
	(void)state;
	assert_true(log_enabled(LOG_ERROR));
	assert_true(log_enabled(LOG_WARN));
	assert_false(log_enabled(LOG_INFO));
	assert_false(log_enabled(LOG_DEBUG));
	assert_false(log_enabled(LOG_QUIET));
}

static void test_set_level(void **state)
{
	(void)state;
	log_set_level(LOG_DEBUG);
	assert_true(log_enabled(LOG_ERROR));
	assert_true(log_enabled(LOG_INFO));
	assert_true(log_enabled(LOG_DEBUG));
	assert_false(log_enabled(LOG_QUIET));

	log_set_level(LOG_ERROR);
	assert_true(log_enabled(LOG_ERROR));
	assert_false(log_enabled(LOG_WARN));

	log_set_level(LOG_QUIET);
	assert_false(log_enabled(LOG_ERROR));
	assert_false(log_enabled(LOG_WARN));
	assert_false(log_enabled(LOG_QUIET));
}

static void test_format_strings(void **state)
{
	char buf[64];
	(void)state;
	assert_int_equal(format(buf, sizeof buf, "plain"), 5);
	assert_string_equal(buf, "plain");
	assert_int_equal(format(buf, sizeof buf, "<%s>", "word"), 6);
	assert_string_equal(buf, "<word>");
	assert_int_equal(format(buf, sizeof buf, "<%s>", (const char *)NULL), 8);
	assert_string_equal(buf, "<(null)>");
	assert_int_equal(format(buf, sizeof buf, "%s%s", "", "x"), 1);
	assert_string_equal(buf, "x");
	assert_int_equal(format(buf, sizeof buf, ""), 0);
	assert_string_equal(buf, "");
}

static void test_format_signed(void **state)
{
	char buf[64];
	(void)state;
	format(buf, sizeof buf, "%d|%d|%d", 0, 42, -7);
	assert_string_equal(buf, "0|42|-7");
	format(buf, sizeof buf, "%d %d", INT_MAX, INT_MIN);
	assert_string_equal(buf, "2147483647 -2147483648");
	format(buf, sizeof buf, "%ld %ld", LONG_MAX, LONG_MIN);
	assert_string_equal(buf, "9223372036854775807 -9223372036854775808");
	format(buf, sizeof buf, "%ld", -1L);
	assert_string_equal(buf, "-1");
}

static void test_format_unsigned_and_hex(void **state)
{
	char buf[64];
	(void)state;
	format(buf, sizeof buf, "%u %u", 0u, UINT_MAX);
	assert_string_equal(buf, "0 4294967295");
	format(buf, sizeof buf, "%lu", ULONG_MAX);
	assert_string_equal(buf, "18446744073709551615");
	format(buf, sizeof buf, "%x %x %x", 0u, 255u, 0xdeadbeefu);
	assert_string_equal(buf, "0 ff deadbeef");
	format(buf, sizeof buf, "%lx", 0x123456789abcdef0UL);
	assert_string_equal(buf, "123456789abcdef0");
}

static void test_format_pointer_char_percent(void **state)
{
	char buf[64];
	(void)state;
	format(buf, sizeof buf, "%p", (void *)0x1234);
	assert_string_equal(buf, "0x1234");
	format(buf, sizeof buf, "%p", (void *)NULL);
	assert_string_equal(buf, "(nil)");
	format(buf, sizeof buf, "[%c%c]", 'o', 'k');
	assert_string_equal(buf, "[ok]");
	format(buf, sizeof buf, "100%%");
	assert_string_equal(buf, "100%");
}

static void test_format_mixed_arguments_stay_in_step(void **state)
{
	char buf[128];
	(void)state;
	assert_int_equal(format(buf, sizeof buf, "pid %d sig %s code %lu at %p %c%%",
				1, "TERM", 143UL, (void *)0xff, '!'),
			 (int)strlen("pid 1 sig TERM code 143 at 0xff !%"));
	assert_string_equal(buf, "pid 1 sig TERM code 143 at 0xff !%");
}

static void test_format_unknown_conversions_are_copied(void **state)
{
	char buf[64];
	(void)state;
	/* Unknown conversions consume no argument: the %d still gets 5. */
	format(buf, sizeof buf, "%q %d", 5);
	assert_string_equal(buf, "%q 5");
	format(buf, sizeof buf, "%ls %d", 6);
	assert_string_equal(buf, "%ls 6");
	format(buf, sizeof buf, "end%");
	assert_string_equal(buf, "end%");
}

static void test_format_truncates(void **state)
{
	char buf[8];
	(void)state;
	memset(buf, 'X', sizeof buf);
	assert_int_equal(format(buf, sizeof buf, "abcdefghijkl"), 7);
	assert_string_equal(buf, "abcdefg");

	memset(buf, 'X', sizeof buf);
	assert_int_equal(format(buf, 4, "%s", "longer"), 3);
	assert_memory_equal(buf, "lon\0XXXX", 8);

	assert_int_equal(format(buf, sizeof buf, "n=%d", -123456789), 7);
	assert_string_equal(buf, "n=-1234");
	assert_int_equal(format(buf, sizeof buf, "%lx", 0xffffffffffUL), 7);
	assert_string_equal(buf, "fffffff");

	memset(buf, 'X', sizeof buf);
	assert_int_equal(format(buf, 1, "abc"), 0);
	assert_int_equal(buf[0], '\0');
	assert_int_equal(buf[1], 'X');

	memset(buf, 'X', sizeof buf);
	assert_int_equal(format(buf, 0, "abc"), 0);
	assert_int_equal(buf[0], 'X');
	assert_int_equal(format(buf, -5, "abc"), 0);
	assert_int_equal(buf[0], 'X');
}

/* Sends fd 2 into `fd` for the duration of one call; returns the saved fd. */
static int redirect_stderr(int fd)
{
	int saved = dup(STDERR_FILENO);

	assert_true(saved >= 0);
	assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
	return saved;
}

static void restore_stderr(int saved)
{
	assert_int_equal(dup2(saved, STDERR_FILENO), STDERR_FILENO);
	close(saved);
}

/* Everything written to the pipe, after the write end is closed. */
static size_t drain_pipe(int read_fd, char *buf, size_t size)
{
	size_t total = 0;
	ssize_t got;

	while ((got = read(read_fd, buf + total, size - total)) > 0)
		total += (size_t)got;
	return total;
}

static void test_msg_writes_prefixed_line(void **state)
{
	int fds[2], saved;
	char buf[1024];
	size_t len;
	(void)state;

	assert_int_equal(pipe(fds), 0);
	saved = redirect_stderr(fds[1]);
	log_msg(LOG_ERROR, "stopping %s after %u ms", "app", 8000u);
	log_warn("second %d", 2);
	restore_stderr(saved);
	close(fds[1]);
	len = drain_pipe(fds[0], buf, sizeof buf);
	close(fds[0]);

	const char expected[] = "initsafe: stopping app after 8000 ms\ninitsafe: second 2\n";
	assert_int_equal(len, sizeof expected - 1);
	assert_memory_equal(buf, expected, len);
}

static void test_msg_below_level_writes_nothing(void **state)
{
	int fds[2], saved;
	char buf[64];
	(void)state;

	assert_int_equal(pipe(fds), 0);
	saved = redirect_stderr(fds[1]);
	log_info("not shown");
	log_debug("not shown");
	log_msg(LOG_QUIET, "never shown");
	log_set_level(LOG_QUIET);
	log_error("not shown either");
	restore_stderr(saved);
	close(fds[1]);
	assert_int_equal(drain_pipe(fds[0], buf, sizeof buf), 0);
	close(fds[0]);
}

/* A SOCK_SEQPACKET socket keeps write boundaries: one record = one write. */
static void test_msg_is_one_write(void **state)
{
	int fds[2], saved;
	char buf[2048];
	ssize_t got;
	(void)state;

	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, fds), 0);
	saved = redirect_stderr(fds[1]);
	log_warn("a=%d b=%s c=%x", 1, "two", 3u);
	restore_stderr(saved);

	got = recv(fds[0], buf, sizeof buf, MSG_DONTWAIT);
	assert_int_equal(got, (ssize_t)strlen("initsafe: a=1 b=two c=3\n"));
	assert_memory_equal(buf, "initsafe: a=1 b=two c=3\n", (size_t)got);
	got = recv(fds[0], buf, sizeof buf, MSG_DONTWAIT);
	assert_int_equal(got, -1);
	assert_int_equal(errno, EAGAIN);
	close(fds[0]);
	close(fds[1]);
}

static void test_msg_long_line_is_cut_to_512_with_newline(void **state)
{
	int fds[2], saved;
	char long_text[2000], buf[4096];
	ssize_t got;
	(void)state;

	memset(long_text, 'y', sizeof long_text - 1);
	long_text[sizeof long_text - 1] = '\0';
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, fds), 0);
	saved = redirect_stderr(fds[1]);
	log_error("%s", long_text);
	restore_stderr(saved);

	got = recv(fds[0], buf, sizeof buf, MSG_DONTWAIT);
	assert_int_equal(got, 512);
	assert_memory_equal(buf, "initsafe: yyy", 13);
	assert_int_equal(buf[510], 'y');
	assert_int_equal(buf[511], '\n');
	assert_null(memchr(buf, '\0', 512));
	assert_int_equal(recv(fds[0], buf, sizeof buf, MSG_DONTWAIT), -1);
	close(fds[0]);
	close(fds[1]);
}

static void test_msg_preserves_errno(void **state)
{
	int fds[2], saved;
	char buf[256];
	(void)state;

	assert_int_equal(pipe(fds), 0);
	saved = redirect_stderr(fds[1]);
	errno = ENOENT;
	log_error("errno kept");
	assert_int_equal(errno, ENOENT);
	restore_stderr(saved);
	close(fds[1]);
	assert_int_equal(drain_pipe(fds[0], buf, sizeof buf), strlen("initsafe: errno kept\n"));
	close(fds[0]);

	/* The write itself fails (EBADF): the caller's errno still survives. */
	saved = dup(STDERR_FILENO);
	assert_true(saved >= 0);
	close(STDERR_FILENO);
	errno = EAGAIN;
	log_error("lost");
	assert_int_equal(errno, EAGAIN);
	restore_stderr(saved);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_level_is_warn),
		cmocka_unit_test_setup(test_set_level, reset_level),
		cmocka_unit_test(test_format_strings),
		cmocka_unit_test(test_format_signed),
		cmocka_unit_test(test_format_unsigned_and_hex),
		cmocka_unit_test(test_format_pointer_char_percent),
		cmocka_unit_test(test_format_mixed_arguments_stay_in_step),
		cmocka_unit_test(test_format_unknown_conversions_are_copied),
		cmocka_unit_test(test_format_truncates),
		cmocka_unit_test_setup(test_msg_writes_prefixed_line, reset_level),
		cmocka_unit_test_setup(test_msg_below_level_writes_nothing, reset_level),
		cmocka_unit_test_setup(test_msg_is_one_write, reset_level),
		cmocka_unit_test_setup(test_msg_long_line_is_cut_to_512_with_newline, reset_level),
		cmocka_unit_test_setup(test_msg_preserves_errno, reset_level),
	};

	return cmocka_run_group_tests_name("log: levels, async-signal-safe formatter, one-write lines",
					   tests, NULL, NULL);
}
