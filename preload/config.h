/* INITSAFE_* environment parsing into one immutable struct. */
#ifndef INITSAFE_CONFIG_H
#define INITSAFE_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

/* Signals are 1..64 on Linux; a bit per signal, bit (sig - 1). */
typedef uint64_t sigbits_t;
#define SIGBIT(sig) ((sigbits_t)1 << ((sig) - 1))
#define CONFIG_MAX_SIG 64

static inline bool sigbits_has(sigbits_t bits, int sig)
{
	return sig >= 1 && sig <= CONFIG_MAX_SIG && (bits & SIGBIT(sig));
}

enum forward_mode { FORWARD_AUTO, FORWARD_ALWAYS, FORWARD_NEVER };

enum log_level { LOG_QUIET, LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

struct config {
	sigbits_t signals;                     /* INITSAFE_SIGNALS */
	enum forward_mode forward;             /* INITSAFE_FORWARD */
	uint8_t rewrite[CONFIG_MAX_SIG + 1];   /* INITSAFE_REWRITE: [from] = to, 0 = none */
	uint32_t grace_ms;                     /* INITSAFE_GRACE */
	bool subreaper;                        /* INITSAFE_SUBREAPER */
	enum log_level log_level;              /* INITSAFE_LOG */
	bool reap;                             /* INITSAFE_REAP */
	uint32_t reap_grace_ms;                /* INITSAFE_REAP_GRACE */
	bool drain;                            /* INITSAFE_DRAIN */
	bool crash;                            /* INITSAFE_CRASH */
};

/* Looks a variable up; NULL when unset. getenv in the library. */
typedef const char *(*config_getenv_fn)(const char *name);
/* Receives one complete message (no "initsafe: " prefix, no newline). */
typedef void (*config_report_fn)(const char *line);

void config_defaults(struct config *cfg);

/*
 * Fills cfg from the environment. Every malformed value is reported with
 * one line naming the variable, the value (quoted, control and non-ASCII
 * bytes escaped, long values cut) and the value used instead; the default
 * is kept for that variable and parsing goes on. Returns the number of
 * malformed values. Uses no heap.
 */
int config_load(struct config *cfg, config_getenv_fn get, config_report_fn report);

/* The parsers, exposed for unit tests. Each returns 0, or -1 when malformed. */
int config_parse_signal(const char *text, int *sig);      /* "TERM", "SIGTERM", "15", "rtmin+2" */
int config_parse_signals(const char *text, sigbits_t *out);
int config_parse_duration_ms(const char *text, uint32_t *ms); /* "8", "8s", "1.5s", "500ms", "2m" */
int config_parse_bool(const char *text, bool *out);
int config_parse_forward(const char *text, enum forward_mode *out);
int config_parse_rewrite(const char *text, uint8_t rewrite[CONFIG_MAX_SIG + 1]);
int config_parse_log_level(const char *text, enum log_level *out);

/* "TERM" for 15, "RTMIN+2" for SIGRTMIN+2, "64" style numbers otherwise. */
const char *config_signal_name(int sig, char buf[16]);

#endif
