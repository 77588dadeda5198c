// sources: preload/config.c preload/log.c
/* Unit tests for preload/config.c: every parser, config_load and its reports. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "initsafe.h"

#define ONE_MIB (1024 * 1024)

/* ---- config_parse_signal ---- */

/* The parsed signal, or -1 when malformed (and then *sig must be untouched). */
static int signal_of(const char *text)
{
	int sig = -12345;

	if (config_parse_signal(text, &sig) != 0) {
		assert_int_equal(sig, -12345);
		return -1;
	}
	return sig;
}

static void test_signal_names(void **state)
{
	(void)state;
	assert_int_equal(signal_of("TERM"), SIGTERM);
	assert_int_equal(signal_of("SIGTERM"), SIGTERM);
	assert_int_equal(signal_of("term"), SIGTERM);
	assert_int_equal(signal_of("sigTerm"), SIGTERM);
	assert_int_equal(signal_of("  INT\t"), SIGINT);
	assert_int_equal(signal_of("HUP"), 1);
	assert_int_equal(signal_of("QUIT"), 3);
	assert_int_equal(signal_of("ILL"), 4);
	assert_int_equal(signal_of("TRAP"), 5);
	assert_int_equal(signal_of("ABRT"), 6);
	assert_int_equal(signal_of("IOT"), 6);
	assert_int_equal(signal_of("BUS"), SIGBUS);
	assert_int_equal(signal_of("FPE"), 8);
	assert_int_equal(signal_of("KILL"), 9);
	assert_int_equal(signal_of("USR1"), SIGUSR1);
	assert_int_equal(signal_of("SEGV"), 11);
	assert_int_equal(signal_of("USR2"), SIGUSR2);
	assert_int_equal(signal_of("PIPE"), 13);
	assert_int_equal(signal_of("ALRM"), 14);
	assert_int_equal(signal_of("STKFLT"), SIGSTKFLT);
	assert_int_equal(signal_of("CHLD"), SIGCHLD);
	assert_int_equal(signal_of("CLD"), SIGCHLD);
	assert_int_equal(signal_of("CONT"), SIGCONT);
	assert_int_equal(signal_of("STOP"), SIGSTOP);
	assert_int_equal(signal_of("TSTP"), SIGTSTP);
	assert_int_equal(signal_of("TTIN"), SIGTTIN);
	assert_int_equal(signal_of("TTOU"), SIGTTOU);
	assert_int_equal(signal_of("URG"), SIGURG);
	assert_int_equal(signal_of("XCPU"), SIGXCPU);
	assert_int_equal(signal_of("XFSZ"), SIGXFSZ);
	assert_int_equal(signal_of("VTALRM"), SIGVTALRM);
	assert_int_equal(signal_of("PROF"), SIGPROF);
	assert_int_equal(signal_of("WINCH"), SIGWINCH);
	assert_int_equal(signal_of("IO"), SIGIO);
	assert_int_equal(signal_of("POLL"), SIGPOLL);
	assert_int_equal(signal_of("PWR"), SIGPWR);
	assert_int_equal(signal_of("SIGSYS"), SIGSYS);
}

static void test_signal_numbers(void **state)
{
	(void)state;
	assert_int_equal(signal_of("1"), 1);
	assert_int_equal(signal_of("15"), 15);
	assert_int_equal(signal_of(" 15 "), 15);
	assert_int_equal(signal_of("015"), 15);
	assert_int_equal(signal_of("31"), 31);
	assert_int_equal(signal_of("34"), 34);
	assert_int_equal(signal_of("64"), 64);
	assert_int_equal(signal_of("0"), -1);
	assert_int_equal(signal_of("32"), -1);
	assert_int_equal(signal_of("33"), -1);
	assert_int_equal(signal_of("65"), -1);
	assert_int_equal(signal_of("-15"), -1);
	assert_int_equal(signal_of("+15"), -1);
	assert_int_equal(signal_of("99999999999999999999"), -1);
	assert_int_equal(signal_of("4294967311"), -1);  /* 2^32 + 15 */
	assert_int_equal(signal_of("15x"), -1);
	assert_int_equal(signal_of("1 5"), -1);
}

static void test_signal_realtime(void **state)
{
	(void)state;
	assert_int_equal(signal_of("RTMIN"), SIGRTMIN);
	assert_int_equal(signal_of("SIGRTMIN"), SIGRTMIN);
	assert_int_equal(signal_of("rtmin+2"), SIGRTMIN + 2);
	assert_int_equal(signal_of("RTMIN+0"), SIGRTMIN);
	assert_int_equal(signal_of("RTMAX"), SIGRTMAX);
	assert_int_equal(signal_of("SIGRTMAX-1"), SIGRTMAX - 1);
	assert_int_equal(signal_of("RTMIN+30"), SIGRTMIN + 30 <= SIGRTMAX ? SIGRTMIN + 30 : -1);
	assert_int_equal(signal_of("RTMAX-30"), SIGRTMAX - 30 >= SIGRTMIN ? SIGRTMAX - 30 : -1);
	assert_int_equal(signal_of("RTMIN-1"), -1);
	assert_int_equal(signal_of("RTMAX+1"), -1);
	assert_int_equal(signal_of("RTMIN+31"), -1);
	assert_int_equal(signal_of("RTMIN+64"), -1);
	assert_int_equal(signal_of("RTMAX-64"), -1);
	assert_int_equal(signal_of("RTMIN+"), -1);
	assert_int_equal(signal_of("RTMIN+x"), -1);
	assert_int_equal(signal_of("RTMIN+99999999999999999999"), -1);
	assert_int_equal(signal_of("RTMINX"), -1);
	assert_int_equal(signal_of("RTMIN 2"), -1);
}

static void test_signal_malformed(void **state)
{
	(void)state;
	assert_int_equal(signal_of(""), -1);
	assert_int_equal(signal_of("   "), -1);
	assert_int_equal(signal_of("SIG"), -1);
	assert_int_equal(signal_of("BOGUS"), -1);
	assert_int_equal(signal_of("SIGSIGTERM"), -1);
	assert_int_equal(signal_of("SIG15"), -1);
	assert_int_equal(signal_of("TERMX"), -1);
	assert_int_equal(signal_of("TER"), -1);
	assert_int_equal(signal_of("SIG TERM"), -1);
	assert_int_equal(signal_of("TERM,INT"), -1);
}

static void test_signal_name(void **state)
{
	char buf[16];
	(void)state;
	assert_string_equal(config_signal_name(SIGTERM, buf), "TERM");
	assert_string_equal(config_signal_name(SIGHUP, buf), "HUP");
	assert_string_equal(config_signal_name(SIGABRT, buf), "ABRT");
	assert_string_equal(config_signal_name(SIGCHLD, buf), "CHLD");
	assert_string_equal(config_signal_name(SIGIO, buf), "IO");
	assert_string_equal(config_signal_name(SIGSYS, buf), "SYS");
	assert_string_equal(config_signal_name(SIGRTMIN, buf), "RTMIN");
	assert_string_equal(config_signal_name(SIGRTMIN + 2, buf), "RTMIN+2");
	assert_string_equal(config_signal_name(SIGRTMAX, buf), "RTMIN+30");
	assert_string_equal(config_signal_name(32, buf), "32");
	assert_string_equal(config_signal_name(0, buf), "0");
	assert_string_equal(config_signal_name(65, buf), "65");
	assert_string_equal(config_signal_name(-3, buf), "-3");
}

static void test_signal_name_round_trips(void **state)
{
	char buf[16];
	int sig;
	(void)state;
	for (sig = 1; sig <= 64; sig++) {
		if (sig >= 32 && sig < SIGRTMIN)
			continue;
		assert_int_equal(signal_of(config_signal_name(sig, buf)), sig);
	}
}

/* ---- config_parse_signals ---- */

static void test_signals_lists(void **state)
{
	sigbits_t bits = 0;
	(void)state;
	assert_int_equal(config_parse_signals("TERM", &bits), 0);
	assert_int_equal(bits, SIGBIT(SIGTERM));
	assert_int_equal(config_parse_signals("TERM,INT", &bits), 0);
	assert_int_equal(bits, SIGBIT(SIGTERM) | SIGBIT(SIGINT));
	assert_int_equal(config_parse_signals(" term , SIGINT ,15, usr1 ", &bits), 0);
	assert_int_equal(bits, SIGBIT(SIGTERM) | SIGBIT(SIGINT) | SIGBIT(SIGUSR1));
	assert_int_equal(config_parse_signals("TERM,TERM", &bits), 0);
	assert_int_equal(bits, SIGBIT(SIGTERM));
	assert_int_equal(config_parse_signals("RTMAX,1,ABRT,SYS,PWR", &bits), 0);
	assert_int_equal(bits, SIGBIT(SIGRTMAX) | SIGBIT(1) | SIGBIT(SIGABRT) | SIGBIT(SIGSYS) |
			       SIGBIT(SIGPWR));
	assert_int_equal(bits >> 63, 1);  /* signal 64 is bit 63 */
}

static void test_signals_default_matches_header(void **state)
{
	struct config cfg;
	sigbits_t bits = 0;
	(void)state;
	config_defaults(&cfg);
	assert_int_equal(config_parse_signals(INITSAFE_DEFAULT_SIGNALS, &bits), 0);
	assert_int_equal(bits, cfg.signals);
}

static void test_signals_malformed(void **state)
{
	const char *bad[] = {
		"", " ", ",", "TERM,", ",TERM", "TERM,,INT", "TERM, ,INT", "TERM,BOGUS",
		"TERM;INT", "TERM INT", "KILL", "TERM,STOP", "SIGKILL", "9", "SEGV", "BUS",
		"ILL", "FPE", "TRAP", "CHLD", "CLD", "TERM,17", "32", "0", "TERM,99999999999999999999",
	};
	size_t i;
	(void)state;
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		sigbits_t bits = 0xabcd;
		if (config_parse_signals(bad[i], &bits) != -1)
			fail_msg("accepted signal list '%s'", bad[i]);
		assert_int_equal(bits, 0xabcd);
	}
}

/* ---- config_parse_duration_ms ---- */

/* The parsed duration, or -1 when malformed (output untouched). */
static long duration_of(const char *text)
{
	uint32_t ms = 777777;

	if (config_parse_duration_ms(text, &ms) != 0) {
		assert_int_equal(ms, 777777);
		return -1;
	}
	return (long)ms;
}

static void test_duration_valid(void **state)
{
	(void)state;
	assert_int_equal(duration_of("8"), 8000);
	assert_int_equal(duration_of("8s"), 8000);
	assert_int_equal(duration_of("1.5s"), 1500);
	assert_int_equal(duration_of("500ms"), 500);
	assert_int_equal(duration_of("0"), 0);
	assert_int_equal(duration_of("0ms"), 0);
	assert_int_equal(duration_of("2m"), 120000);
	assert_int_equal(duration_of("0.25"), 250);
	assert_int_equal(duration_of(".5"), 500);
	assert_int_equal(duration_of("0.001s"), 1);
	assert_int_equal(duration_of("1.0ms"), 1);
	assert_int_equal(duration_of("0.5m"), 30000);
	assert_int_equal(duration_of("1.0001m"), 60006);
	assert_int_equal(duration_of(" 10S "), 10000);
	assert_int_equal(duration_of("\t250MS\n"), 250);
	assert_int_equal(duration_of("008"), 8000);
	assert_int_equal(duration_of("1.50000000000000000000s"), 1500);
	assert_int_equal(duration_of("3600"), 3600000);
	assert_int_equal(duration_of("60m"), 3600000);
	assert_int_equal(duration_of("3600000ms"), 3600000);
}

static void test_duration_malformed(void **state)
{
	(void)state;
	assert_int_equal(duration_of(""), -1);
	assert_int_equal(duration_of("  "), -1);
	assert_int_equal(duration_of("s"), -1);
	assert_int_equal(duration_of("ms"), -1);
	assert_int_equal(duration_of("."), -1);
	assert_int_equal(duration_of(".s"), -1);
	assert_int_equal(duration_of("5."), -1);
	assert_int_equal(duration_of("1.2.3"), -1);
	assert_int_equal(duration_of("5 h"), -1);
	assert_int_equal(duration_of("5h"), -1);
	assert_int_equal(duration_of("5 s"), -1);
	assert_int_equal(duration_of("5sec"), -1);
	assert_int_equal(duration_of("-1"), -1);
	assert_int_equal(duration_of("-0"), -1);
	assert_int_equal(duration_of("+1"), -1);
	assert_int_equal(duration_of("banana"), -1);
	assert_int_equal(duration_of("1e3"), -1);
	assert_int_equal(duration_of("0x10"), -1);
}

static void test_duration_fractional_ms_rejected(void **state)
{
	(void)state;
	assert_int_equal(duration_of("1.5ms"), -1);
	assert_int_equal(duration_of("0.0005s"), -1);
	assert_int_equal(duration_of("0.0000001m"), -1);
	assert_int_equal(duration_of("0.0000000001"), -1);
}

static void test_duration_limits_and_overflow(void **state)
{
	(void)state;
	assert_int_equal(duration_of("3600.001"), -1);
	assert_int_equal(duration_of("3601"), -1);
	assert_int_equal(duration_of("61m"), -1);
	assert_int_equal(duration_of("60.001m"), -1);
	assert_int_equal(duration_of("3600001ms"), -1);
	assert_int_equal(duration_of("4294967296ms"), -1);
	assert_int_equal(duration_of("4294968s"), -1);   /* *1000 wraps a uint32_t */
	assert_int_equal(duration_of("99999999999999999999"), -1);
	assert_int_equal(duration_of("18446744073709551616ms"), -1);
}

/* ---- booleans, forward, log level ---- */

static int bool_of(const char *text)
{
	bool value = false;
	bool sentinel_true = true;

	if (config_parse_bool(text, &value) != 0) {
		assert_int_equal(config_parse_bool(text, &sentinel_true), -1);
		assert_true(sentinel_true);
		assert_false(value);
		return -1;
	}
	return value;
}

static void test_bool(void **state)
{
	const char *truthy[] = { "1", "on", "true", "yes", "ON", "True", "YES", " on ", "\tyes\n" };
	const char *falsy[] = { "0", "off", "false", "no", "OFF", "False", "NO", " 0 " };
	const char *bad[] = { "", " ", "maybe", "2", "01", "y", "n", "t", "enable", "on off", "-1" };
	size_t i;
	(void)state;
	for (i = 0; i < sizeof truthy / sizeof truthy[0]; i++)
		assert_int_equal(bool_of(truthy[i]), 1);
	for (i = 0; i < sizeof falsy / sizeof falsy[0]; i++)
		assert_int_equal(bool_of(falsy[i]), 0);
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(bool_of(bad[i]), -1);
}

static void test_forward(void **state)
{
	enum forward_mode mode = FORWARD_NEVER;
	(void)state;
	assert_int_equal(config_parse_forward("auto", &mode), 0);
	assert_int_equal(mode, FORWARD_AUTO);
	assert_int_equal(config_parse_forward("ALWAYS", &mode), 0);
	assert_int_equal(mode, FORWARD_ALWAYS);
	assert_int_equal(config_parse_forward(" Never ", &mode), 0);
	assert_int_equal(mode, FORWARD_NEVER);
	assert_int_equal(config_parse_forward("", &mode), -1);
	assert_int_equal(config_parse_forward("sometimes", &mode), -1);
	assert_int_equal(config_parse_forward("auto always", &mode), -1);
	assert_int_equal(config_parse_forward("1", &mode), -1);
	assert_int_equal(mode, FORWARD_NEVER);
}

static void test_log_level(void **state)
{
	enum log_level level = LOG_INFO;
	(void)state;
	assert_int_equal(config_parse_log_level("quiet", &level), 0);
	assert_int_equal(level, LOG_QUIET);
	assert_int_equal(config_parse_log_level("ERROR", &level), 0);
	assert_int_equal(level, LOG_ERROR);
	assert_int_equal(config_parse_log_level("warn", &level), 0);
	assert_int_equal(level, LOG_WARN);
	assert_int_equal(config_parse_log_level("info", &level), 0);
	assert_int_equal(level, LOG_INFO);
	assert_int_equal(config_parse_log_level(" Warning ", &level), 0);
	assert_int_equal(level, LOG_WARN);
	assert_int_equal(config_parse_log_level("Debug", &level), 0);
	assert_int_equal(level, LOG_DEBUG);
	assert_int_equal(config_parse_log_level("", &level), -1);
	assert_int_equal(config_parse_log_level("verbose", &level), -1);
	assert_int_equal(config_parse_log_level("3", &level), -1);
	assert_int_equal(config_parse_log_level("warnings", &level), -1);
	assert_int_equal(level, LOG_DEBUG);
}

/* ---- config_parse_rewrite ---- */

static void test_rewrite_valid(void **state)
{
	uint8_t rewrite[CONFIG_MAX_SIG + 1];
	uint8_t expected[CONFIG_MAX_SIG + 1] = { 0 };
	(void)state;

	memset(rewrite, 0xee, sizeof rewrite);
	assert_int_equal(config_parse_rewrite("TERM:QUIT", rewrite), 0);
	expected[SIGTERM] = SIGQUIT;
	assert_memory_equal(rewrite, expected, sizeof expected);

	memset(rewrite, 0xee, sizeof rewrite);
	assert_int_equal(config_parse_rewrite(" SIGTERM : quit , INT:KILL,RTMIN+1:64 ", rewrite), 0);
	expected[SIGINT] = SIGKILL;
	expected[SIGRTMIN + 1] = 64;
	assert_memory_equal(rewrite, expected, sizeof expected);

	/* The last pair for a signal wins; CHLD and others may be rewritten. */
	assert_int_equal(config_parse_rewrite("TERM:INT,TERM:HUP,CHLD:USR1", rewrite), 0);
	memset(expected, 0, sizeof expected);
	expected[SIGTERM] = SIGHUP;
	expected[SIGCHLD] = SIGUSR1;
	assert_memory_equal(rewrite, expected, sizeof expected);
}

static void test_rewrite_malformed(void **state)
{
	const char *bad[] = {
		"", " ", "x", "TERM", "TERM:", ":QUIT", "TERM:QUIT,", "TERM:QUIT,,INT:HUP",
		"TERM:BOGUS", "TERM:QUIT:INT", "KILL:TERM", "STOP:TERM", "9:15", "TERM-QUIT",
		"TERM:0", "TERM:65", "33:TERM", "TERM:99999999999999999999",
	};
	uint8_t rewrite[CONFIG_MAX_SIG + 1], before[CONFIG_MAX_SIG + 1];
	size_t i;
	(void)state;
	memset(before, 0x5a, sizeof before);
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		memcpy(rewrite, before, sizeof rewrite);
		if (config_parse_rewrite(bad[i], rewrite) != -1)
			fail_msg("accepted rewrite '%s'", bad[i]);
		assert_memory_equal(rewrite, before, sizeof before);
	}
}

/* ---- config_defaults and config_load ---- */

static void assert_defaults(const struct config *cfg)
{
	uint8_t no_rewrite[CONFIG_MAX_SIG + 1] = { 0 };

	assert_int_equal(cfg->signals,
			 SIGBIT(SIGTERM) | SIGBIT(SIGINT) | SIGBIT(SIGHUP) | SIGBIT(SIGQUIT));
	assert_int_equal(cfg->forward, FORWARD_AUTO);
	assert_memory_equal(cfg->rewrite, no_rewrite, sizeof no_rewrite);
	assert_int_equal(cfg->grace_ms, 8000);
	assert_false(cfg->subreaper);
	assert_int_equal(cfg->log_level, LOG_WARN);
	assert_true(cfg->reap);
	assert_int_equal(cfg->reap_grace_ms, INITSAFE_DEFAULT_REAP_GRACE_MS);
	assert_true(cfg->drain);
	assert_true(cfg->crash);
}

static void test_defaults(void **state)
{
	struct config cfg;
	(void)state;
	memset(&cfg, 0xa5, sizeof cfg);
	config_defaults(&cfg);
	assert_defaults(&cfg);
}

/* The fake environment: NULL-terminated name/value pairs. */
static const char *const *fake_env;

static const char *fake_getenv(const char *name)
{
	size_t i;

	for (i = 0; fake_env[i] != NULL; i += 2)
		if (strcmp(fake_env[i], name) == 0)
			return fake_env[i + 1];
	return NULL;
}

#define MAX_REPORTS 16
static char reports[MAX_REPORTS][1024];
static size_t report_lengths[MAX_REPORTS];
static int report_count;

static void record_report(const char *line)
{
	size_t len = strlen(line);

	assert_true(report_count < MAX_REPORTS);
	assert_true(len < sizeof reports[0]);
	memcpy(reports[report_count], line, len + 1);
	report_lengths[report_count] = len;
	report_count++;
}

static int reset_reports(void **state)
{
	(void)state;
	report_count = 0;
	memset(reports, 0, sizeof reports);
	return 0;
}

static int load(const char *const *env, struct config *cfg)
{
	fake_env = env;
	memset(cfg, 0xa5, sizeof *cfg);
	return config_load(cfg, fake_getenv, record_report);
}

static void test_load_empty_environment_gives_defaults(void **state)
{
	static const char *const env[] = { NULL };
	struct config cfg;
	(void)state;
	assert_int_equal(load(env, &cfg), 0);
	assert_int_equal(report_count, 0);
	assert_defaults(&cfg);
}

static void test_load_every_variable(void **state)
{
	static const char *const env[] = {
		"INITSAFE_SIGNALS", "USR1,TERM",
		"INITSAFE_FORWARD", "always",
		"INITSAFE_REWRITE", "TERM:QUIT",
		"INITSAFE_GRACE", "2.5s",
		"INITSAFE_SUBREAPER", "yes",
		"INITSAFE_LOG", "debug",
		"INITSAFE_REAP", "off",
		"INITSAFE_REAP_GRACE", "200ms",
		"INITSAFE_DRAIN", "0",
		"INITSAFE_CRASH", "false",
		"INITSAFE_UNRELATED", "junk",
		NULL,
	};
	struct config cfg;
	(void)state;
	assert_int_equal(load(env, &cfg), 0);
	assert_int_equal(report_count, 0);
	assert_int_equal(cfg.signals, SIGBIT(SIGUSR1) | SIGBIT(SIGTERM));
	assert_int_equal(cfg.forward, FORWARD_ALWAYS);
	assert_int_equal(cfg.rewrite[SIGTERM], SIGQUIT);
	assert_int_equal(cfg.rewrite[SIGINT], 0);
	assert_int_equal(cfg.grace_ms, 2500);
	assert_true(cfg.subreaper);
	assert_int_equal(cfg.log_level, LOG_DEBUG);
	assert_false(cfg.reap);
	assert_int_equal(cfg.reap_grace_ms, 200);
	assert_false(cfg.drain);
	assert_false(cfg.crash);
}

static void test_load_reports_and_keeps_defaults(void **state)
{
	static const char *const env[] = {
		"INITSAFE_SIGNALS", "TERM,BOGUS",
		"INITSAFE_FORWARD", "always",
		"INITSAFE_GRACE", "banana",
		"INITSAFE_SUBREAPER", "maybe",
		"INITSAFE_LOG", "info",
		"INITSAFE_REWRITE", "x",
		"INITSAFE_REAP_GRACE", "",
		"INITSAFE_DRAIN", "no",
		NULL,
	};
	struct config cfg;
	(void)state;
	assert_int_equal(load(env, &cfg), 5);
	assert_int_equal(report_count, 5);
	/* In the order config_load visits the variables. */
	assert_string_equal(reports[0],
		"INITSAFE_SIGNALS='TERM,BOGUS' is not a list of catchable signals (e.g. TERM,INT); "
		"using TERM,INT,HUP,QUIT");
	assert_string_equal(reports[1],
		"INITSAFE_REWRITE='x' is not a list of FROM:TO signal pairs (e.g. TERM:QUIT); using none");
	assert_string_equal(reports[2],
		"INITSAFE_GRACE='banana' is not a duration (e.g. 8s, 500ms); using 8s");
	assert_string_equal(reports[3],
		"INITSAFE_SUBREAPER='maybe' is not a boolean (1/0, on/off, true/false, yes/no); using off");
	assert_string_equal(reports[4],
		"INITSAFE_REAP_GRACE='' is not a duration (e.g. 8s, 500ms); using 50ms");

	/* Malformed ones kept their defaults... */
	assert_int_equal(cfg.signals,
			 SIGBIT(SIGTERM) | SIGBIT(SIGINT) | SIGBIT(SIGHUP) | SIGBIT(SIGQUIT));
	assert_int_equal(cfg.rewrite[SIGTERM], 0);
	assert_int_equal(cfg.grace_ms, 8000);
	assert_false(cfg.subreaper);
	assert_int_equal(cfg.reap_grace_ms, 50);
	/* ...and the others were still parsed. */
	assert_int_equal(cfg.forward, FORWARD_ALWAYS);
	assert_int_equal(cfg.log_level, LOG_INFO);
	assert_false(cfg.drain);
	assert_true(cfg.reap);
	assert_true(cfg.crash);
}

static void test_load_reports_remaining_variables(void **state)
{
	static const char *const env[] = {
		"INITSAFE_FORWARD", "sometimes",
		"INITSAFE_LOG", "loud",
		"INITSAFE_REAP", "2",
		"INITSAFE_DRAIN", "",
		"INITSAFE_CRASH", "nope",
		"INITSAFE_GRACE", "-1",
		NULL,
	};
	struct config cfg;
	(void)state;
	assert_int_equal(load(env, &cfg), 6);
	assert_int_equal(report_count, 6);
	assert_string_equal(reports[0],
		"INITSAFE_FORWARD='sometimes' is not a forwarding mode (auto, always, never); using auto");
	assert_string_equal(reports[1],
		"INITSAFE_GRACE='-1' is not a duration (e.g. 8s, 500ms); using 8s");
	assert_string_equal(reports[2],
		"INITSAFE_LOG='loud' is not a log level (quiet, error, warn, info, debug); using warn");
	assert_string_equal(reports[3],
		"INITSAFE_REAP='2' is not a boolean (1/0, on/off, true/false, yes/no); using on");
	assert_string_equal(reports[4],
		"INITSAFE_DRAIN='' is not a boolean (1/0, on/off, true/false, yes/no); using on");
	assert_string_equal(reports[5],
		"INITSAFE_CRASH='nope' is not a boolean (1/0, on/off, true/false, yes/no); using on");
	assert_defaults(&cfg);
}

static void test_load_without_report_callback(void **state)
{
	static const char *const env[] = { "INITSAFE_GRACE", "x", "INITSAFE_LOG", "error", NULL };
	struct config cfg;
	(void)state;
	fake_env = env;
	assert_int_equal(config_load(&cfg, fake_getenv, NULL), 1);
	assert_int_equal(cfg.grace_ms, 8000);
	assert_int_equal(cfg.log_level, LOG_ERROR);
}

/* The single report produced by one malformed INITSAFE_GRACE value. */
static const char *grace_report(const char *value)
{
	const char *env[] = { "INITSAFE_GRACE", value, NULL };
	struct config cfg;

	reset_reports(NULL);
	assert_int_equal(load(env, &cfg), 1);
	assert_int_equal(report_count, 1);
	assert_int_equal(cfg.grace_ms, 8000);
	return reports[0];
}

static void test_report_escapes_bytes(void **state)
{
	(void)state;
	assert_string_equal(grace_report("it's"),
		"INITSAFE_GRACE='it\\'s' is not a duration (e.g. 8s, 500ms); using 8s");
	assert_string_equal(grace_report("a\tb\nc\x1b[31m\x7f"),
		"INITSAFE_GRACE='a\\x09b\\x0ac\\x1b[31m\\x7f' is not a duration (e.g. 8s, 500ms); "
		"using 8s");
	assert_string_equal(grace_report("caf\xc3\xa9 \xff\x80"),
		"INITSAFE_GRACE='caf\\xc3\\xa9 \\xff\\x80' is not a duration (e.g. 8s, 500ms); "
		"using 8s");
	assert_string_equal(grace_report("C:\\dir"),
		"INITSAFE_GRACE='C:\\\\dir' is not a duration (e.g. 8s, 500ms); using 8s");
}

static char *filled(int byte, size_t len)
{
	char *value = malloc(len + 1);

	assert_non_null(value);
	memset(value, byte, len);
	value[len] = '\0';
	return value;
}

static void test_report_cuts_long_values(void **state)
{
	const char *suffix = "...' is not a duration (e.g. 8s, 500ms); using 8s";
	char *exactly_64 = filled('a', 64), *just_over = filled('a', 65);
	char expected[512];
	(void)state;

	strcpy(expected, "INITSAFE_GRACE='");
	strcat(expected, exactly_64);
	strcat(expected, "' is not a duration (e.g. 8s, 500ms); using 8s");
	assert_string_equal(grace_report(exactly_64), expected);

	strcpy(expected, "INITSAFE_GRACE='");
	strcat(expected, exactly_64);
	strcat(expected, suffix);
	assert_string_equal(grace_report(just_over), expected);
	free(exactly_64);
	free(just_over);
}

static void test_report_one_mib_values_stay_short(void **state)
{
	char *letters = filled('z', ONE_MIB), *high = filled(0xff, ONE_MIB);
	char *quotes = filled('\'', ONE_MIB);
	const char *line;
	char expected[512];
	size_t i;
	(void)state;

	line = grace_report(letters);
	assert_true(report_lengths[0] < 400);
	assert_int_equal(report_lengths[0], strlen("INITSAFE_GRACE='") + 64 +
					    strlen("...' is not a duration (e.g. 8s, 500ms); using 8s"));
	assert_memory_equal(line + strlen("INITSAFE_GRACE='"), letters, 64);

	/* The worst case: every byte becomes four. */
	line = grace_report(high);
	strcpy(expected, "INITSAFE_GRACE='");
	for (i = 0; i < 64; i++)
		strcat(expected, "\\xff");
	strcat(expected, "...' is not a duration (e.g. 8s, 500ms); using 8s");
	assert_string_equal(line, expected);
	assert_true(report_lengths[0] < 400);

	line = grace_report(quotes);
	assert_true(report_lengths[0] < 400);
	assert_memory_equal(line + strlen("INITSAFE_GRACE='"), "\\'\\'\\'", 6);

	/* The longest default and description, with the worst value. */
	{
		const char *env[] = { "INITSAFE_SIGNALS", high, NULL };
		struct config cfg;
		reset_reports(NULL);
		assert_int_equal(load(env, &cfg), 1);
		assert_true(report_lengths[0] < 400);
		assert_non_null(strstr(reports[0], "...' is not a list of catchable signals"));
	}
	free(letters);
	free(high);
	free(quotes);
}

/* Long but well-formed (or nearly) values parse in place, without copies. */
static void test_parsers_on_one_mib_values(void **state)
{
	char *value = malloc(ONE_MIB + 1);
	sigbits_t bits = 0;
	uint8_t rewrite[CONFIG_MAX_SIG + 1] = { 0 };
	uint32_t ms = 1;
	bool flag = false;
	size_t i;
	(void)state;
	assert_non_null(value);

	/* "TERM,TERM,...,TERM" */
	for (i = 0; i + 5 <= ONE_MIB; i += 5)
		memcpy(value + i, "TERM,", 5);
	memcpy(value + i - 5, "INT\0\0", 5);
	assert_int_equal(config_parse_signals(value, &bits), 0);
	assert_int_equal(bits, SIGBIT(SIGTERM) | SIGBIT(SIGINT));

	/* "TERM:HUP,...,TERM:HUP" with a bad last pair */
	for (i = 0; i + 9 <= ONE_MIB; i += 9)
		memcpy(value + i, "TERM:HUP,", 9);
	memcpy(value + i - 9, "KILL:HUP\0", 9);
	assert_int_equal(config_parse_rewrite(value, rewrite), -1);
	assert_int_equal(rewrite[SIGTERM], 0);
	memcpy(value + i - 9, "INT:HUP\0", 8);
	assert_int_equal(config_parse_rewrite(value, rewrite), 0);
	assert_int_equal(rewrite[SIGTERM], SIGHUP);
	assert_int_equal(rewrite[SIGINT], SIGHUP);

	/* Leading zeros, then trailing fraction zeros. */
	memset(value, '0', ONE_MIB);
	value[ONE_MIB - 1] = '8';
	value[ONE_MIB] = '\0';
	assert_int_equal(config_parse_duration_ms(value, &ms), 0);
	assert_int_equal(ms, 8000);
	value[0] = '2';
	value[1] = '.';
	value[ONE_MIB - 1] = 's';
	assert_int_equal(config_parse_duration_ms(value, &ms), 0);
	assert_int_equal(ms, 2000);

	/* Digits that overflow anything. */
	memset(value, '9', ONE_MIB);
	assert_int_equal(config_parse_duration_ms(value, &ms), -1);
	assert_int_equal(config_parse_signal(value, &(int){ 0 }), -1);
	assert_int_equal(config_parse_signals(value, &bits), -1);

	/* Spaces around a word. */
	memset(value, ' ', ONE_MIB);
	memcpy(value + ONE_MIB / 2, "yes", 3);
	assert_int_equal(config_parse_bool(value, &flag), 0);
	assert_true(flag);
	free(value);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_signal_names),
		cmocka_unit_test(test_signal_numbers),
		cmocka_unit_test(test_signal_realtime),
		cmocka_unit_test(test_signal_malformed),
		cmocka_unit_test(test_signal_name),
		cmocka_unit_test(test_signal_name_round_trips),
		cmocka_unit_test(test_signals_lists),
		cmocka_unit_test(test_signals_default_matches_header),
		cmocka_unit_test(test_signals_malformed),
		cmocka_unit_test(test_duration_valid),
		cmocka_unit_test(test_duration_malformed),
		cmocka_unit_test(test_duration_fractional_ms_rejected),
		cmocka_unit_test(test_duration_limits_and_overflow),
		cmocka_unit_test(test_bool),
		cmocka_unit_test(test_forward),
		cmocka_unit_test(test_log_level),
		cmocka_unit_test(test_rewrite_valid),
		cmocka_unit_test(test_rewrite_malformed),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test_setup(test_load_empty_environment_gives_defaults, reset_reports),
		cmocka_unit_test_setup(test_load_every_variable, reset_reports),
		cmocka_unit_test_setup(test_load_reports_and_keeps_defaults, reset_reports),
		cmocka_unit_test_setup(test_load_reports_remaining_variables, reset_reports),
		cmocka_unit_test_setup(test_load_without_report_callback, reset_reports),
		cmocka_unit_test(test_report_escapes_bytes),
		cmocka_unit_test(test_report_cuts_long_values),
		cmocka_unit_test(test_report_one_mib_values_stay_short),
		cmocka_unit_test(test_parsers_on_one_mib_values),
	};

	return cmocka_run_group_tests_name("config: INITSAFE_* parsers, config_load and its reports",
					   tests, NULL, NULL);
}
