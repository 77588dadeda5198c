/*
 * libFuzzer target for the INITSAFE_* parser (preload/config.c).
 *
 * The input is a list of pieces separated by NUL bytes (values in an
 * environment can hold any byte but NUL). The first byte of a piece picks
 * the variable, byte % 16 (0..9: the ten variables, in the order of
 * names[] below; 10..15: the piece is ignored), the rest is its value.
 * Like glibc's getenv, the first piece for a variable is the one served;
 * variables without a piece are unset. Seeds write the selector as '0'..'9'.
 *
 * Each run: config_load through a getenv over those pieces, then every
 * config_parse_* directly on every value and on the whole input. Checked,
 * abort() when broken (libFuzzer then keeps the input):
 *  - config_load asks for each of the ten names exactly once, and nothing else;
 *  - each report is < 400 bytes, printable ASCII (bad bytes escaped),
 *    starts "INITSAFE_<name>='" for a variable that was set, at most one
 *    per variable, says "' is not " and "; using "; their number is
 *    config_load's result;
 *  - the config is in the documented ranges: durations <= 1 h; signals
 *    only 1..64, never KILL, STOP, CHLD, a fault signal nor glibc's 32/33;
 *    rewrite pairs only between valid signals, never from KILL/STOP;
 *    enums within their values;
 *  - a variable reported or unset keeps its default; one parsed without a
 *    report has what its parser gives for the value; loading twice gives
 *    the same config;
 *  - a parser that fails leaves its output untouched (config_load relies
 *    on it to keep the default); a signal parsed round-trips through
 *    config_signal_name.
 */
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "initsafe.h"

#define MAX_DURATION_MS 3600000u
#define REPORT_LINE_LIMIT 400
#define N_VARS 10
#define SELECTORS 16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const names[N_VARS] = {
	INITSAFE_ENV_SIGNALS, INITSAFE_ENV_FORWARD, INITSAFE_ENV_REWRITE, INITSAFE_ENV_GRACE,
	INITSAFE_ENV_SUBREAPER, INITSAFE_ENV_LOG, INITSAFE_ENV_REAP, INITSAFE_ENV_REAP_GRACE,
	INITSAFE_ENV_DRAIN, INITSAFE_ENV_CRASH,
};
enum { V_SIGNALS, V_FORWARD, V_REWRITE, V_GRACE, V_SUBREAPER, V_LOG, V_REAP, V_REAP_GRACE,
       V_DRAIN, V_CRASH };

/* One run's environment: each value its own allocation, so ASan sees overreads. */
static char *values[N_VARS];
static int lookups[N_VARS];
static int reported[N_VARS];
static int reports;

static void broken(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void broken(const char *fmt, ...)
{
	va_list ap;
	fputs("fuzz_config: invariant broken: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	for (int i = 0; i < N_VARS; i++)
		if (values[i])
			fprintf(stderr, "  %s: %zu bytes\n", names[i], strlen(values[i]));
	abort();
}

static int index_of_name(const char *name)
{
	for (int i = 0; i < N_VARS; i++)
		if (strcmp(name, names[i]) == 0)
			return i;
	return -1;
}

static const char *fuzz_getenv(const char *name)
{
	int i = index_of_name(name);
	if (i < 0)
		broken("config_load asked for %s", name);
	lookups[i]++;
	return values[i];
}

static void check_report(const char *line)
{
	size_t len = strlen(line);
	if (len >= REPORT_LINE_LIMIT)
		broken("report of %zu bytes", len);
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)line[i] < 0x20 || (unsigned char)line[i] > 0x7e)
			broken("report byte %zu is %#x: %s", i, (unsigned char)line[i], line);
	if (strncmp(line, "INITSAFE_", 9) != 0)
		broken("report does not start with INITSAFE_: %s", line);
	int var = -1;
	for (int i = 0; i < N_VARS; i++) {
		size_t n = strlen(names[i]);
		if (strncmp(line, names[i], n) == 0 && strncmp(line + n, "='", 2) == 0)
			var = i;
	}
	if (var < 0)
		broken("report names no variable: %s", line);
	if (!values[var])
		broken("report for %s, which is unset: %s", names[var], line);
	if (reported[var]++)
		broken("second report for %s: %s", names[var], line);
	if (!strstr(line, "' is not ") || !strstr(line, "; using "))
		broken("report without \"' is not \" or \"; using \": %s", line);
	reports++;
}

static bool is_valid_signal(int sig)
{
	return sig >= 1 && sig <= CONFIG_MAX_SIG && sig != 32 && sig != 33 && sig <= SIGRTMAX;
}

static bool is_unmanageable(int sig)
{
	return sig == SIGKILL || sig == SIGSTOP || sig == SIGCHLD || sig == SIGSEGV ||
	       sig == SIGBUS || sig == SIGILL || sig == SIGFPE || sig == SIGTRAP;
}

static void check_signal_set(sigbits_t bits, const char *what)
{
	for (int sig = 1; sig <= CONFIG_MAX_SIG; sig++) {
		if (!sigbits_has(bits, sig))
			continue;
		if (!is_valid_signal(sig) || is_unmanageable(sig))
			broken("%s holds signal %d", what, sig);
	}
}

static void check_rewrite(const uint8_t rewrite[CONFIG_MAX_SIG + 1], const char *what)
{
	if (rewrite[0] != 0)
		broken("%s: rewrite[0] = %d", what, rewrite[0]);
	for (int from = 1; from <= CONFIG_MAX_SIG; from++) {
		int to = rewrite[from];
		if (to == 0)
			continue;
		if (!is_valid_signal(from) || from == SIGKILL || from == SIGSTOP)
			broken("%s rewrites signal %d", what, from);
		if (!is_valid_signal(to))
			broken("%s rewrites %d to %d", what, from, to);
	}
}

static void check_ranges(const struct config *cfg)
{
	if (cfg->grace_ms > MAX_DURATION_MS)
		broken("grace %u ms", cfg->grace_ms);
	if (cfg->reap_grace_ms > MAX_DURATION_MS)
		broken("reap grace %u ms", cfg->reap_grace_ms);
	check_signal_set(cfg->signals, "INITSAFE_SIGNALS");
	check_rewrite(cfg->rewrite, "INITSAFE_REWRITE");
	if (cfg->forward != FORWARD_AUTO && cfg->forward != FORWARD_ALWAYS &&
	    cfg->forward != FORWARD_NEVER)
		broken("forward mode %d", (int)cfg->forward);
	if ((int)cfg->log_level < LOG_QUIET || (int)cfg->log_level > LOG_DEBUG)
		broken("log level %d", (int)cfg->log_level);
}

/* Each field is its default (reported or unset) or what its parser gives. */
static void check_fields(const struct config *cfg)
{
	struct config def, want;
	config_defaults(&def);
	want = def;
	for (int i = 0; i < N_VARS; i++) {
		const char *v = values[i];
		if (!v || reported[i])
			continue;
		int rc = 0;
		switch (i) {
		case V_SIGNALS:    rc = config_parse_signals(v, &want.signals); break;
		case V_FORWARD:    rc = config_parse_forward(v, &want.forward); break;
		case V_REWRITE:    rc = config_parse_rewrite(v, want.rewrite); break;
		case V_GRACE:      rc = config_parse_duration_ms(v, &want.grace_ms); break;
		case V_SUBREAPER:  rc = config_parse_bool(v, &want.subreaper); break;
		case V_LOG:        rc = config_parse_log_level(v, &want.log_level); break;
		case V_REAP:       rc = config_parse_bool(v, &want.reap); break;
		case V_REAP_GRACE: rc = config_parse_duration_ms(v, &want.reap_grace_ms); break;
		case V_DRAIN:      rc = config_parse_bool(v, &want.drain); break;
		case V_CRASH:      rc = config_parse_bool(v, &want.crash); break;
		}
		if (rc != 0)
			broken("%s is malformed for its parser but was not reported", names[i]);
	}
	if (cfg->signals != want.signals || cfg->forward != want.forward ||
	    memcmp(cfg->rewrite, want.rewrite, sizeof want.rewrite) != 0 ||
	    cfg->grace_ms != want.grace_ms || cfg->subreaper != want.subreaper ||
	    cfg->log_level != want.log_level || cfg->reap != want.reap ||
	    cfg->reap_grace_ms != want.reap_grace_ms || cfg->drain != want.drain ||
	    cfg->crash != want.crash)
		broken("config_load's result differs from the parsers' on the same values");
}

static void load_and_check(void)
{
	struct config cfg, again;
	memset(lookups, 0, sizeof lookups);
	memset(reported, 0, sizeof reported);
	reports = 0;
	int malformed = config_load(&cfg, fuzz_getenv, check_report);
	for (int i = 0; i < N_VARS; i++)
		if (lookups[i] != 1)
			broken("%s looked up %d times", names[i], lookups[i]);
	if (malformed != reports)
		broken("config_load returned %d with %d reports", malformed, reports);
	check_ranges(&cfg);
	check_fields(&cfg);
	/* Without a report callback: the same config, the same count. */
	if (config_load(&again, fuzz_getenv, NULL) != malformed)
		broken("config_load without report returned another count");
	if (memcmp(&cfg, &again, sizeof cfg) != 0)
		broken("two loads of the same environment differ");
}

/* Every parser on one text; failures must leave the output as it was. */
static void parse_directly(const char *text)
{
	int sig = -7;
	if (config_parse_signal(text, &sig) == 0) {
		char buf[16];
		int back = -7;
		if (!is_valid_signal(sig))
			broken("config_parse_signal gave %d", sig);
		const char *name = config_signal_name(sig, buf);
		if (!name || strlen(name) >= sizeof buf)
			broken("config_signal_name(%d) is not a short name", sig);
		if (config_parse_signal(name, &back) != 0 || back != sig)
			broken("signal %d named \"%s\" parses back as %d", sig, name, back);
	} else if (sig != -7) {
		broken("failed config_parse_signal wrote %d", sig);
	}

	sigbits_t bits = 0x5a5a;
	if (config_parse_signals(text, &bits) == 0) {
		if (bits == 0)
			broken("config_parse_signals accepted an empty set");
		check_signal_set(bits, "config_parse_signals");
	} else if (bits != 0x5a5a) {
		broken("failed config_parse_signals wrote its output");
	}

	uint8_t rewrite[CONFIG_MAX_SIG + 1], before[CONFIG_MAX_SIG + 1];
	memset(rewrite, 0xa5, sizeof rewrite);
	memcpy(before, rewrite, sizeof rewrite);
	if (config_parse_rewrite(text, rewrite) == 0)
		check_rewrite(rewrite, "config_parse_rewrite");
	else if (memcmp(rewrite, before, sizeof rewrite) != 0)
		broken("failed config_parse_rewrite wrote its output");

	uint32_t ms = 0xdeadbeef;
	if (config_parse_duration_ms(text, &ms) == 0) {
		if (ms > MAX_DURATION_MS)
			broken("config_parse_duration_ms gave %u", ms);
	} else if (ms != 0xdeadbeef) {
		broken("failed config_parse_duration_ms wrote %u", ms);
	}

	bool flag = true, flag2 = false;
	if (config_parse_bool(text, &flag) != 0) {
		if (config_parse_bool(text, &flag2) != 0 && (!flag || flag2))
			broken("failed config_parse_bool wrote its output");
	}

	enum forward_mode mode = (enum forward_mode)77;
	if (config_parse_forward(text, &mode) == 0) {
		if (mode != FORWARD_AUTO && mode != FORWARD_ALWAYS && mode != FORWARD_NEVER)
			broken("config_parse_forward gave %d", (int)mode);
	} else if ((int)mode != 77) {
		broken("failed config_parse_forward wrote its output");
	}

	enum log_level level = (enum log_level)77;
	if (config_parse_log_level(text, &level) == 0) {
		if ((int)level < LOG_QUIET || (int)level > LOG_DEBUG)
			broken("config_parse_log_level gave %d", (int)level);
	} else if ((int)level != 77) {
		broken("failed config_parse_log_level wrote its output");
	}
}

static char *copy_piece(const uint8_t *at, size_t len)
{
	char *text = malloc(len + 1);
	if (!text)
		abort();
	memcpy(text, at, len);
	text[len] = '\0';
	return text;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	memset(values, 0, sizeof values);
	for (size_t at = 0; at < size;) {
		const uint8_t *end = memchr(data + at, '\0', size - at);
		size_t len = end ? (size_t)(end - (data + at)) : size - at;
		if (len > 0) {
			int var = data[at] % SELECTORS;
			if (var < N_VARS && !values[var])
				values[var] = copy_piece(data + at + 1, len - 1);
		}
		at += len + 1;
	}

	load_and_check();
	for (int i = 0; i < N_VARS; i++)
		if (values[i])
			parse_directly(values[i]);
	/* The whole input up to its first NUL, selector byte included. */
	char *whole = copy_piece(data, strnlen((const char *)data, size));
	parse_directly(whole);
	free(whole);

	for (int i = 0; i < N_VARS; i++) {
		free(values[i]);
		values[i] = NULL;
	}
	return 0;
}
