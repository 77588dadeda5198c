/* The background thread that reaps orphans, and only orphans. */
#ifndef INITSAFE_REAPER_H
#define INITSAFE_REAPER_H

/* Starts the thread (active process only). Returns 0, or -1 with a log line. */
int reaper_start(void);

/* Something changed (a child exited, the app forked or waited). Async-signal-safe. */
void reaper_wake(void);

#endif
