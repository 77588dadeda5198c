/*
 * The constructor: decide whether this process is the one initsafe manages
 * (PID 1 of a namespace, or the first process that asked for subreaper
 * duties) and wire the parts; everywhere else stay inert at next to no cost.
 */
#include <dlfcn.h>
#include <stdatomic.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "initsafe.h"

#include "children.h"
#include "crash.h"
#include "export.h"
#include "interpose_exit.h"
#include "interpose_proc.h"
#include "log.h"
#include "procscan.h"
#include "real.h"
#include "reaper.h"
#include "sigtable.h"
#include "state.h"

struct config g_cfg;
pid_t g_active_pid;
bool g_is_pid1;

EXPORT const char *initsafe_version(void)
{
	return INITSAFE_VERSION;
}

EXPORT int initsafe_active(void)
{
	return in_active_process();
}

static const char *env_lookup(const char *name)
{
	return getenv(name);
}

void proc_warn_children_full(void)
{
	static atomic_bool warned;
	if (!atomic_exchange(&warned, true))
		log_warn("more than %d children not yet waited for: the newest are not protected "
			 "from the reaper", CHILDREN_SLOTS);
}

static void report_config_error(const char *line)
{
	log_warn("%s", line);
}

/* This library's file name, to recognise it in another process's maps. */
static const char *own_file_name(void)
{
	Dl_info info;
	if (!dladdr((void *)initsafe_version, &info) || !info.dli_fname)
		return "libinitsafe";
	const char *slash = strrchr(info.dli_fname, '/');
	return slash ? slash + 1 : info.dli_fname;
}

/*
 * INITSAFE_SUBREAPER is inherited by every descendant along with
 * LD_PRELOAD; only the topmost process takes the role, the one whose
 * parent does not run initsafe.
 */
static bool is_topmost_subreaper(void)
{
	bool wanted = false;
	const char *value = getenv(INITSAFE_ENV_SUBREAPER);
	if (!value || config_parse_bool(value, &wanted) != 0 || !wanted)
		return false;
	return !procscan_maps_contain(getppid(), own_file_name());
}

static void set_log_level_first(void)
{
	enum log_level level = LOG_WARN;
	const char *value = getenv(INITSAFE_ENV_LOG);
	if (value)
		config_parse_log_level(value, &level);
	log_set_level(level);
}

static sigbits_t managed_signals(void)
{
	/* SIGCHLD costs nothing while the app leaves it at SIG_DFL. */
	return g_cfg.signals | SIGBIT(SIGCHLD) | (g_cfg.crash ? crash_signals() : 0);
}

__attribute__((constructor)) static void initsafe_init(void)
{
	pid_t self = getpid();
	if (self != 1 && !is_topmost_subreaper())
		return;
	real_resolve();
	set_log_level_first();
	config_load(&g_cfg, env_lookup, report_config_error);
	if (self != 1 && prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) {
		log_error("cannot become a subreaper; staying inert");
		return;
	}
	g_is_pid1 = self == 1;
	g_active_pid = self;
	if (g_cfg.crash)
		crash_init();
	sigtable_init(managed_signals());
	pthread_atfork(NULL, NULL, proc_after_fork_in_child);
	exit_drain_install();
	if (g_cfg.reap)
		reaper_start();
	log_debug("active as %s (pid %d)", g_is_pid1 ? "PID 1" : "subreaper", (int)self);
}
