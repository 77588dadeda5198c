/*
 * INITSAFE_* parsing. Runs in the constructor, before anything is set up:
 * no heap, no stdio, no recursion, and values of any length are read in
 * place (as spans) rather than copied.
 */
#include "config.h"

#include <signal.h>
#include <stddef.h>
#include <string.h>

#include "initsafe.h"

#define MAX_DURATION_MS 3600000u   /* one hour */
#define REPORT_VALUE_MAX 64        /* value bytes quoted in a report */
#define REPORT_LINE_MAX 400

/* A piece of a string: not NUL-terminated. */
struct span {
	const char *text;
	size_t len;
};

static struct span span_of(const char *text)
{
	return (struct span){ text, strlen(text) };
}

static struct span span_drop(struct span s, size_t count)
{
	return (struct span){ s.text + count, s.len - count };
}

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static char to_upper(char c)
{
	return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

static struct span span_trim(struct span s)
{
	while (s.len > 0 && is_space(s.text[0]))
		s = span_drop(s, 1);
	while (s.len > 0 && is_space(s.text[s.len - 1]))
		s.len--;
	return s;
}

static int span_starts_with_nocase(struct span s, const char *prefix)
{
	size_t i;

	for (i = 0; prefix[i] != '\0'; i++)
		if (i >= s.len || to_upper(s.text[i]) != to_upper(prefix[i]))
			return 0;
	return 1;
}

static int span_equals_nocase(struct span s, const char *word)
{
	return strlen(word) == s.len && span_starts_with_nocase(s, word);
}

/* The index of the first `c`, or s.len. */
static size_t span_find(struct span s, char c)
{
	const char *found = memchr(s.text, c, s.len);
	return found != NULL ? (size_t)(found - s.text) : s.len;
}

/* Only digits, at least one, value at most `limit` (no overflow possible). */
static int span_to_uint(struct span s, unsigned limit, unsigned *out)
{
	unsigned value = 0;
	size_t i;

	if (s.len == 0)
		return -1;
	for (i = 0; i < s.len; i++) {
		if (!is_digit(s.text[i]))
			return -1;
		value = value * 10 + (unsigned)(s.text[i] - '0');
		if (value > limit)
			return -1;
	}
	*out = value;
	return 0;
}

/* Walks "a,b,c": "" is one empty item and "a," ends with an empty one. */
struct splitter {
	struct span rest;
	char separator;
	int done;
};

static int split_next(struct splitter *split, struct span *item)
{
	size_t at;

	if (split->done)
		return 0;
	at = span_find(split->rest, split->separator);
	*item = (struct span){ split->rest.text, at };
	if (at == split->rest.len)
		split->done = 1;
	else
		split->rest = span_drop(split->rest, at + 1);
	return 1;
}

/* ---- signals ---- */

struct signal_name {
	const char *name;
	int sig;
};

/* The first name for a number is the one config_signal_name prints. */
static const struct signal_name signal_names[] = {
	{ "HUP", SIGHUP },       { "INT", SIGINT },       { "QUIT", SIGQUIT },
	{ "ILL", SIGILL },       { "TRAP", SIGTRAP },     { "ABRT", SIGABRT },
	{ "IOT", SIGIOT },       { "BUS", SIGBUS },       { "FPE", SIGFPE },
	{ "KILL", SIGKILL },     { "USR1", SIGUSR1 },     { "SEGV", SIGSEGV },
	{ "USR2", SIGUSR2 },     { "PIPE", SIGPIPE },     { "ALRM", SIGALRM },
	{ "TERM", SIGTERM },     { "STKFLT", SIGSTKFLT }, { "CHLD", SIGCHLD },
	{ "CLD", SIGCHLD },      { "CONT", SIGCONT },     { "STOP", SIGSTOP },
	{ "TSTP", SIGTSTP },     { "TTIN", SIGTTIN },     { "TTOU", SIGTTOU },
	{ "URG", SIGURG },       { "XCPU", SIGXCPU },     { "XFSZ", SIGXFSZ },
	{ "VTALRM", SIGVTALRM }, { "PROF", SIGPROF },     { "WINCH", SIGWINCH },
	{ "IO", SIGIO },         { "POLL", SIGPOLL },     { "PWR", SIGPWR },
	{ "SYS", SIGSYS },
};

#define SIGNAL_NAME_COUNT (sizeof signal_names / sizeof signal_names[0])

static int lookup_signal_name(struct span name, int *sig)
{
	size_t i;

	for (i = 0; i < SIGNAL_NAME_COUNT; i++) {
		if (span_equals_nocase(name, signal_names[i].name)) {
			*sig = signal_names[i].sig;
			return 0;
		}
	}
	return -1;
}

static int is_realtime_name(struct span name)
{
	return span_starts_with_nocase(name, "RTMIN") || span_starts_with_nocase(name, "RTMAX");
}

/* RTMIN, RTMIN+n, RTMAX, RTMAX-n; the result stays in [SIGRTMIN, SIGRTMAX]. */
static int parse_realtime(struct span name, int *sig)
{
	int from_min = span_starts_with_nocase(name, "RTMIN");
	int base = from_min ? SIGRTMIN : SIGRTMAX;
	struct span offset_text = span_drop(name, 5);
	unsigned offset = 0;
	int result;

	if (offset_text.len > 0) {
		if (offset_text.text[0] != (from_min ? '+' : '-'))
			return -1;
		if (span_to_uint(span_drop(offset_text, 1), CONFIG_MAX_SIG, &offset) != 0)
			return -1;
	}
	result = from_min ? base + (int)offset : base - (int)offset;
	if (result < SIGRTMIN || result > SIGRTMAX)
		return -1;
	*sig = result;
	return 0;
}

/* 1..64, minus the numbers glibc keeps for itself (32, 33) below SIGRTMIN. */
static int parse_signal_number(struct span digits, int *sig)
{
	unsigned number;

	if (span_to_uint(digits, CONFIG_MAX_SIG, &number) != 0 || number == 0)
		return -1;
	if ((int)number >= 32 && (int)number < SIGRTMIN)
		return -1;
	if ((int)number > SIGRTMAX)
		return -1;
	*sig = (int)number;
	return 0;
}

static int parse_signal_span(struct span text, int *sig)
{
	struct span name = span_trim(text);

	if (name.len == 0)
		return -1;
	if (is_digit(name.text[0]))
		return parse_signal_number(name, sig);
	if (span_starts_with_nocase(name, "SIG"))
		name = span_drop(name, 3);
	if (is_realtime_name(name))
		return parse_realtime(name, sig);
	return lookup_signal_name(name, sig);
}

int config_parse_signal(const char *text, int *sig)
{
	return parse_signal_span(span_of(text), sig);
}

/* Signals initsafe cannot or must not take over. */
static int is_unmanageable(int sig)
{
	switch (sig) {
	case SIGKILL: case SIGSTOP:  /* cannot be caught */
	case SIGSEGV: case SIGBUS: case SIGILL: case SIGFPE: case SIGTRAP:
		/* faults: their default action is the kernel's job */
	case SIGCHLD:                /* the reaper's business */
		return 1;
	default:
		return 0;
	}
}

int config_parse_signals(const char *text, sigbits_t *out)
{
	struct splitter split = { span_of(text), ',', 0 };
	struct span item;
	sigbits_t bits = 0;
	int sig;

	while (split_next(&split, &item)) {
		if (parse_signal_span(item, &sig) != 0 || is_unmanageable(sig))
			return -1;
		bits |= SIGBIT(sig);
	}
	*out = bits;
	return 0;
}

static int parse_rewrite_pair(struct span pair, int *from, int *to)
{
	size_t colon = span_find(pair, ':');

	if (colon == pair.len)
		return -1;
	if (parse_signal_span((struct span){ pair.text, colon }, from) != 0)
		return -1;
	if (parse_signal_span(span_drop(pair, colon + 1), to) != 0)
		return -1;
	return *from == SIGKILL || *from == SIGSTOP ? -1 : 0;
}

int config_parse_rewrite(const char *text, uint8_t rewrite[CONFIG_MAX_SIG + 1])
{
	struct splitter split = { span_of(text), ',', 0 };
	uint8_t parsed[CONFIG_MAX_SIG + 1] = { 0 };
	struct span pair;
	int from, to;

	while (split_next(&split, &pair)) {
		if (parse_rewrite_pair(pair, &from, &to) != 0)
			return -1;
		parsed[from] = (uint8_t)to;
	}
	memcpy(rewrite, parsed, sizeof parsed);
	return 0;
}

/* Writes the decimal form of `value` at buf, NUL-terminated; returns buf. */
static char *format_decimal(long value, char *buf)
{
	char reversed[24];
	unsigned long magnitude = value < 0 ? 0UL - (unsigned long)value : (unsigned long)value;
	size_t count = 0, len = 0;

	do {
		reversed[count++] = (char)('0' + magnitude % 10);
		magnitude /= 10;
	} while (magnitude != 0);
	if (value < 0)
		buf[len++] = '-';
	while (count > 0)
		buf[len++] = reversed[--count];
	buf[len] = '\0';
	return buf;
}

const char *config_signal_name(int sig, char buf[16])
{
	size_t i;

	for (i = 0; i < SIGNAL_NAME_COUNT; i++)
		if (signal_names[i].sig == sig)
			return signal_names[i].name;
	if (sig == SIGRTMIN)
		return "RTMIN";
	if (sig > SIGRTMIN && sig <= SIGRTMAX) {
		memcpy(buf, "RTMIN+", 6);
		format_decimal(sig - SIGRTMIN, buf + 6);
		return buf;
	}
	return format_decimal(sig, buf);
}

/* ---- durations ---- */

/* The unit suffix: none means seconds. 0 when not a unit. */
static uint32_t unit_ms(struct span unit)
{
	if (unit.len == 0 || span_equals_nocase(unit, "s"))
		return 1000;
	if (span_equals_nocase(unit, "ms"))
		return 1;
	if (span_equals_nocase(unit, "m"))
		return 60000;
	return 0;
}

static size_t count_digits(struct span s)
{
	size_t count = 0;

	while (count < s.len && is_digit(s.text[count]))
		count++;
	return count;
}

/*
 * The fraction digits (after the '.') times `unit` milliseconds. The result
 * must be a whole number of milliseconds, so "1.5ms" is malformed while
 * "1.0ms" and "0.001s" are fine. Trailing zeros do not count; with them
 * gone, more than 9 digits can never give whole milliseconds (a unit is
 * at most 60000 ms), which bounds the arithmetic.
 */
static int fraction_ms(struct span digits, uint32_t unit, uint64_t *ms)
{
	uint64_t numerator = 0, denominator = 1;
	size_t i;

	while (digits.len > 0 && digits.text[digits.len - 1] == '0')
		digits.len--;
	if (digits.len > 9)
		return -1;
	for (i = 0; i < digits.len; i++) {
		numerator = numerator * 10 + (uint64_t)(digits.text[i] - '0');
		denominator *= 10;
	}
	numerator *= unit;
	if (numerator % denominator != 0)
		return -1;
	*ms = numerator / denominator;
	return 0;
}

static int parse_duration_span(struct span text, uint32_t *ms)
{
	struct span whole, fraction = { text.text, 0 };
	uint64_t total, fraction_part = 0;
	unsigned whole_value = 0;
	uint32_t unit;

	whole = (struct span){ text.text, count_digits(text) };
	text = span_drop(text, whole.len);
	if (text.len > 0 && text.text[0] == '.') {
		text = span_drop(text, 1);
		fraction = (struct span){ text.text, count_digits(text) };
		if (fraction.len == 0)
			return -1;
		text = span_drop(text, fraction.len);
	} else if (whole.len == 0) {
		return -1;
	}
	unit = unit_ms(text);
	if (unit == 0)
		return -1;
	if (whole.len > 0 && span_to_uint(whole, MAX_DURATION_MS, &whole_value) != 0)
		return -1;
	if (fraction_ms(fraction, unit, &fraction_part) != 0)
		return -1;
	total = (uint64_t)whole_value * unit + fraction_part;
	if (total > MAX_DURATION_MS)
		return -1;
	*ms = (uint32_t)total;
	return 0;
}

int config_parse_duration_ms(const char *text, uint32_t *ms)
{
	return parse_duration_span(span_trim(span_of(text)), ms);
}

/* ---- words ---- */

struct word {
	const char *text;
	int value;
};

static int parse_word(const char *text, const struct word *words, size_t count, int *value)
{
	struct span s = span_trim(span_of(text));
	size_t i;

	for (i = 0; i < count; i++) {
		if (span_equals_nocase(s, words[i].text)) {
			*value = words[i].value;
			return 0;
		}
	}
	return -1;
}

#define PARSE_WORD(text, words, value) \
	parse_word((text), (words), sizeof(words) / sizeof((words)[0]), (value))

int config_parse_bool(const char *text, bool *out)
{
	static const struct word words[] = {
		{ "1", 1 }, { "on", 1 }, { "true", 1 }, { "yes", 1 },
		{ "0", 0 }, { "off", 0 }, { "false", 0 }, { "no", 0 },
	};
	int value;

	if (PARSE_WORD(text, words, &value) != 0)
		return -1;
	*out = value != 0;
	return 0;
}

int config_parse_forward(const char *text, enum forward_mode *out)
{
	static const struct word words[] = {
		{ "auto", FORWARD_AUTO }, { "always", FORWARD_ALWAYS }, { "never", FORWARD_NEVER },
	};
	int value;

	if (PARSE_WORD(text, words, &value) != 0)
		return -1;
	*out = (enum forward_mode)value;
	return 0;
}

int config_parse_log_level(const char *text, enum log_level *out)
{
	static const struct word words[] = {
		{ "quiet", LOG_QUIET }, { "error", LOG_ERROR }, { "warn", LOG_WARN },
		{ "warning", LOG_WARN }, { "info", LOG_INFO }, { "debug", LOG_DEBUG },
	};
	int value;

	if (PARSE_WORD(text, words, &value) != 0)
		return -1;
	*out = (enum log_level)value;
	return 0;
}

/* ---- defaults and loading ---- */

void config_defaults(struct config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->signals = SIGBIT(SIGTERM) | SIGBIT(SIGINT) | SIGBIT(SIGHUP) | SIGBIT(SIGQUIT);
	cfg->forward = FORWARD_AUTO;
	cfg->grace_ms = INITSAFE_DEFAULT_GRACE_MS;
	cfg->subreaper = false;
	cfg->log_level = LOG_WARN;
	cfg->reap = true;
	cfg->reap_grace_ms = INITSAFE_DEFAULT_REAP_GRACE_MS;
	cfg->drain = true;
	cfg->crash = true;
}

enum setting_kind {
	KIND_SIGNALS, KIND_FORWARD, KIND_REWRITE, KIND_DURATION, KIND_BOOL, KIND_LOG_LEVEL
};

struct setting {
	const char *env;
	enum setting_kind kind;
	size_t offset;  /* of the field in struct config */
};

static const struct setting settings[] = {
	{ INITSAFE_ENV_SIGNALS, KIND_SIGNALS, offsetof(struct config, signals) },
	{ INITSAFE_ENV_FORWARD, KIND_FORWARD, offsetof(struct config, forward) },
	{ INITSAFE_ENV_REWRITE, KIND_REWRITE, offsetof(struct config, rewrite) },
	{ INITSAFE_ENV_GRACE, KIND_DURATION, offsetof(struct config, grace_ms) },
	{ INITSAFE_ENV_SUBREAPER, KIND_BOOL, offsetof(struct config, subreaper) },
	{ INITSAFE_ENV_LOG, KIND_LOG_LEVEL, offsetof(struct config, log_level) },
	{ INITSAFE_ENV_REAP, KIND_BOOL, offsetof(struct config, reap) },
	{ INITSAFE_ENV_REAP_GRACE, KIND_DURATION, offsetof(struct config, reap_grace_ms) },
	{ INITSAFE_ENV_DRAIN, KIND_BOOL, offsetof(struct config, drain) },
	{ INITSAFE_ENV_CRASH, KIND_BOOL, offsetof(struct config, crash) },
};

static int parse_setting(enum setting_kind kind, const char *text, void *field)
{
	switch (kind) {
	case KIND_SIGNALS:   return config_parse_signals(text, field);
	case KIND_FORWARD:   return config_parse_forward(text, field);
	case KIND_REWRITE:   return config_parse_rewrite(text, field);
	case KIND_DURATION:  return config_parse_duration_ms(text, field);
	case KIND_BOOL:      return config_parse_bool(text, field);
	case KIND_LOG_LEVEL: return config_parse_log_level(text, field);
	}
	return -1;
}

static const char *expected_form(enum setting_kind kind)
{
	switch (kind) {
	case KIND_SIGNALS:   return "a list of catchable signals (e.g. TERM,INT)";
	case KIND_FORWARD:   return "a forwarding mode (auto, always, never)";
	case KIND_REWRITE:   return "a list of FROM:TO signal pairs (e.g. TERM:QUIT)";
	case KIND_DURATION:  return "a duration (e.g. 8s, 500ms)";
	case KIND_BOOL:      return "a boolean (1/0, on/off, true/false, yes/no)";
	case KIND_LOG_LEVEL: return "a log level (quiet, error, warn, info, debug)";
	}
	return "valid";
}

/* A duration as a user would write it: "2m", "8s", "50ms". */
static const char *describe_duration(uint32_t ms, char buf[16])
{
	const char *unit = "ms";
	size_t len;

	if (ms != 0 && ms % 60000 == 0) {
		ms /= 60000;
		unit = "m";
	} else if (ms % 1000 == 0) {
		ms /= 1000;
		unit = "s";
	}
	format_decimal((long)ms, buf);
	len = strlen(buf);
	memcpy(buf + len, unit, strlen(unit) + 1);
	return buf;
}

/* The value kept after a malformed one: the default, in the user's words. */
static const char *describe_default(enum setting_kind kind, const void *field, char buf[16])
{
	switch (kind) {
	case KIND_SIGNALS:   return INITSAFE_DEFAULT_SIGNALS;
	case KIND_FORWARD:   return INITSAFE_DEFAULT_FORWARD;
	case KIND_REWRITE:   return "none";
	case KIND_DURATION:  return describe_duration(*(const uint32_t *)field, buf);
	case KIND_BOOL:      return *(const bool *)field ? "on" : "off";
	case KIND_LOG_LEVEL: return INITSAFE_DEFAULT_LOG;
	}
	return "the default";
}

/* A bounded line under construction: excess is dropped, always terminated. */
struct line {
	char text[REPORT_LINE_MAX];
	size_t len;
};

static void line_add_char(struct line *line, char c)
{
	if (line->len < sizeof line->text - 1)
		line->text[line->len++] = c;
	line->text[line->len] = '\0';
}

static void line_add(struct line *line, const char *s)
{
	while (*s != '\0')
		line_add_char(line, *s++);
}

static void line_add_escaped_byte(struct line *line, unsigned char byte)
{
	static const char hex[] = "0123456789abcdef";

	if (byte < 0x20 || byte >= 0x7f) {
		line_add(line, "\\x");
		line_add_char(line, hex[byte >> 4]);
		line_add_char(line, hex[byte & 0xf]);
	} else if (byte == '\'' || byte == '\\') {
		line_add_char(line, '\\');
		line_add_char(line, (char)byte);
	} else {
		line_add_char(line, (char)byte);
	}
}

/* At most REPORT_VALUE_MAX bytes of the value, then "..." if there is more. */
static void line_add_quoted_value(struct line *line, const char *value)
{
	size_t i;

	line_add_char(line, '\'');
	for (i = 0; i < REPORT_VALUE_MAX && value[i] != '\0'; i++)
		line_add_escaped_byte(line, (unsigned char)value[i]);
	if (value[i] != '\0')
		line_add(line, "...");
	line_add_char(line, '\'');
}

static void report_malformed(config_report_fn report, const struct setting *setting,
			     const char *value, const void *field)
{
	struct line line = { .len = 0 };
	char default_buf[16];

	line_add(&line, setting->env);
	line_add_char(&line, '=');
	line_add_quoted_value(&line, value);
	line_add(&line, " is not ");
	line_add(&line, expected_form(setting->kind));
	line_add(&line, "; using ");
	line_add(&line, describe_default(setting->kind, field, default_buf));
	report(line.text);
}

int config_load(struct config *cfg, config_getenv_fn get, config_report_fn report)
{
	int malformed = 0;
	size_t i;

	config_defaults(cfg);
	for (i = 0; i < sizeof settings / sizeof settings[0]; i++) {
		const struct setting *setting = &settings[i];
		void *field = (char *)cfg + setting->offset;
		const char *value = get(setting->env);

		if (value == NULL || parse_setting(setting->kind, value, field) == 0)
			continue;
		malformed++;
		if (report != NULL)
			report_malformed(report, setting, value, field);
	}
	return malformed;
}
