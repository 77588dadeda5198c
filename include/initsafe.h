/*
 * initsafe: make any dynamically linked program a good PID 1.
 *
 *   ENV LD_PRELOAD=/usr/local/lib/libinitsafe.so
 *
 * Everything is configured through the environment, read once when the
 * library loads. This header documents the names, their defaults and the
 * exit-code convention, and declares the small optional API.
 */
#ifndef INITSAFE_H
#define INITSAFE_H

#ifdef __cplusplus
extern "C" {
#endif

#define INITSAFE_VERSION "0.1.0"

/* Environment variables (see README.md for the full table). */
#define INITSAFE_ENV_SIGNALS     "INITSAFE_SIGNALS"     /* managed signals */
#define INITSAFE_ENV_FORWARD     "INITSAFE_FORWARD"     /* auto|always|never */
#define INITSAFE_ENV_REWRITE     "INITSAFE_REWRITE"     /* FROM:TO,... */
#define INITSAFE_ENV_GRACE       "INITSAFE_GRACE"       /* duration */
#define INITSAFE_ENV_SUBREAPER   "INITSAFE_SUBREAPER"   /* boolean */
#define INITSAFE_ENV_LOG         "INITSAFE_LOG"         /* quiet..debug */
#define INITSAFE_ENV_REAP        "INITSAFE_REAP"        /* boolean */
#define INITSAFE_ENV_REAP_GRACE  "INITSAFE_REAP_GRACE"  /* duration */
#define INITSAFE_ENV_DRAIN       "INITSAFE_DRAIN"       /* boolean */
#define INITSAFE_ENV_CRASH       "INITSAFE_CRASH"       /* boolean */

/* Defaults, as the strings a user would write. */
#define INITSAFE_DEFAULT_SIGNALS    "TERM,INT,HUP,QUIT"
#define INITSAFE_DEFAULT_FORWARD    "auto"
#define INITSAFE_DEFAULT_GRACE_MS   8000u  /* under Docker's 10 s stop timeout */
#define INITSAFE_DEFAULT_REAP_GRACE_MS 50u
#define INITSAFE_DEFAULT_LOG        "warn"

/*
 * Exit-code convention: when initsafe carries out a signal's default action
 * for PID 1 it exits with 128 + the signal number, the code Docker reports
 * for a process killed by that signal (143 for SIGTERM, 130 for SIGINT).
 */
#define INITSAFE_EXIT_SIGNAL_BASE 128
#define INITSAFE_EXIT_FOR_SIGNAL(sig) (INITSAFE_EXIT_SIGNAL_BASE + (sig))

/* The library's version string, INITSAFE_VERSION. */
const char *initsafe_version(void);

/*
 * 1 when initsafe manages this process (PID 1 of a namespace, or a
 * subreaper asked for with INITSAFE_SUBREAPER=1), 0 when it is inert.
 * Apps that want to call it without depending on the preload can look it
 * up with dlsym(RTLD_DEFAULT, "initsafe_active").
 */
int initsafe_active(void);

#ifdef __cplusplus
}
#endif

#endif
