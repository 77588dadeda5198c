/* "initsafe: ..." lines on stderr, async-signal-safe. */
#ifndef INITSAFE_LOG_H
#define INITSAFE_LOG_H

#include "config.h"

void log_set_level(enum log_level level);
int log_enabled(enum log_level level);

/*
 * printf-like with a small, async-signal-safe formatter: %s %d %u %ld %lu
 * %x %lx %p %c %%. The line gets the "initsafe: " prefix and a newline and
 * goes out in one write(2). Lines longer than 512 bytes are cut.
 */
void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

/* The formatter itself, for the crash report and tests: returns length. */
int log_format(char *buf, int size, const char *fmt, __builtin_va_list ap);

#endif
