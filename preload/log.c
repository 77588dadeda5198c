/*
 * "initsafe: ..." lines on stderr. Everything here may run in a signal
 * handler or a constructor: no stdio, no heap, no locks, errno preserved.
 */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#define LOG_PREFIX "initsafe: "
#define LOG_PREFIX_LEN (sizeof LOG_PREFIX - 1)
#define LOG_LINE_MAX 512

/* Written at start-up, read from handlers and the reaper thread. */
static atomic_int current_level = LOG_WARN;

void log_set_level(enum log_level level)
{
	atomic_store_explicit(&current_level, (int)level, memory_order_relaxed);
}

int log_enabled(enum log_level level)
{
	int threshold = atomic_load_explicit(&current_level, memory_order_relaxed);
	return level != LOG_QUIET && (int)level <= threshold;
}

/* A bounded output: keeps room for the NUL, silently drops the excess. */
struct out {
	char *buf;
	size_t room;  /* characters that fit, NUL excluded */
	size_t len;
};

static void put_char(struct out *out, char c)
{
	if (out->len < out->room)
		out->buf[out->len++] = c;
}

static void put_str(struct out *out, const char *s)
{
	while (*s != '\0' && out->len < out->room)
		out->buf[out->len++] = *s++;
}

static void put_unsigned(struct out *out, unsigned long value, unsigned base)
{
	static const char digits[] = "0123456789abcdef";
	char reversed[sizeof(unsigned long) * 8];
	size_t count = 0;

	do {
		reversed[count++] = digits[value % base];
		value /= base;
	} while (value != 0);
	while (count > 0)
		put_char(out, reversed[--count]);
}

static void put_signed(struct out *out, long value)
{
	if (value < 0) {
		put_char(out, '-');
		/* Unsigned negation: correct for LONG_MIN too. */
		put_unsigned(out, 0UL - (unsigned long)value, 10);
	} else {
		put_unsigned(out, (unsigned long)value, 10);
	}
}

static void put_pointer(struct out *out, const void *ptr)
{
	if (ptr == NULL) {
		put_str(out, "(nil)");  /* as glibc's printf */
		return;
	}
	put_str(out, "0x");
	put_unsigned(out, (unsigned long)(uintptr_t)ptr, 16);
}

/*
 * Handles the conversion starting at *fmt (just after the '%') and returns
 * the position after it. Unknown conversions are copied as written and
 * consume no argument.
 */
static const char *put_conversion(struct out *out, const char *fmt, va_list *ap)
{
	bool is_long = *fmt == 'l';
	const char *conv = is_long ? fmt + 1 : fmt;
	const char *s;

	switch (*conv) {
	case 'd':
		put_signed(out, is_long ? va_arg(*ap, long) : va_arg(*ap, int));
		return conv + 1;
	case 'u':
		put_unsigned(out, is_long ? va_arg(*ap, unsigned long) : va_arg(*ap, unsigned), 10);
		return conv + 1;
	case 'x':
		put_unsigned(out, is_long ? va_arg(*ap, unsigned long) : va_arg(*ap, unsigned), 16);
		return conv + 1;
	default:
		break;
	}
	if (is_long) {
		put_str(out, "%l");
		return conv;
	}
	switch (*conv) {
	case 's':
		s = va_arg(*ap, const char *);
		put_str(out, s != NULL ? s : "(null)");
		return conv + 1;
	case 'p':
		put_pointer(out, va_arg(*ap, void *));
		return conv + 1;
	case 'c':
		put_char(out, (char)va_arg(*ap, int));
		return conv + 1;
	case '%':
		put_char(out, '%');
		return conv + 1;
	default:  /* unknown, or a '%' ending the format */
		put_char(out, '%');
		return conv;
	}
}

int log_format(char *buf, int size, const char *fmt, __builtin_va_list ap)
{
	struct out out;
	va_list args;

	if (buf == NULL || size <= 0)
		return 0;
	out = (struct out){ .buf = buf, .room = (size_t)size - 1, .len = 0 };
	/* A copy so the helpers can take it by pointer, whatever va_list is. */
	va_copy(args, ap);
	while (*fmt != '\0') {
		if (*fmt == '%')
			fmt = put_conversion(&out, fmt + 1, &args);
		else
			put_char(&out, *fmt++);
	}
	va_end(args);
	buf[out.len] = '\0';
	return (int)out.len;
}

static void write_line(const char *line, size_t len)
{
	ssize_t written;

	do {
		written = write(STDERR_FILENO, line, len);
	} while (written < 0 && errno == EINTR);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	char line[LOG_LINE_MAX];
	int saved_errno;
	size_t len;
	va_list ap;

	if (!log_enabled(level))
		return;
	saved_errno = errno;
	memcpy(line, LOG_PREFIX, LOG_PREFIX_LEN);
	va_start(ap, fmt);
	/* The message's NUL lands on the last byte, where the newline goes. */
	len = LOG_PREFIX_LEN + (size_t)log_format(line + LOG_PREFIX_LEN,
						 (int)(sizeof line - LOG_PREFIX_LEN), fmt, ap);
	va_end(ap);
	line[len++] = '\n';
	write_line(line, len);
	errno = saved_errno;
}
