/*
 * Crash reports: when the active process dies of a fault (or abort()) with
 * no handler of its own, one report on stderr says where, then the process
 * dies as it would have.
 *
 * The backtrace comes from libinitsafe-crash.so (libunwind), and only at
 * crash time, in a child forked by hand from the signal handler: the child
 * holds an exact copy of the crashed memory, loads the module RTLD_LOCAL
 * and unwinds the copy while the crashed process waits a bounded time.
 * Loading it at start would cost every PID 1 ~200 KiB of libunwind and
 * liblzma and half a millisecond, and leave libunwind's validation pipe
 * open on two low fds that a daemon closing its fds could reuse (libunwind
 * would then write into the app's file at crash time). And whatever the
 * crash left locked (malloc, the loader) can only hang the child, which is
 * killed after CHILD_TIMEOUT_MS.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "children.h"
#include "crash.h"
#include "crashmod/crash_module.h"
#include "dispatch.h"
#include "log.h"
#include "real.h"
#include "state.h"

#define ALTSTACK_SIZE (64 * 1024)
#define CHILD_TIMEOUT_MS 3000
#define CHILD_POLL_MS 5

static char module_path[4096];

bool crash_is_crash_signal(int sig)
{
	return sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE || sig == SIGABRT;
}

sigbits_t crash_signals(void)
{
	return SIGBIT(SIGSEGV) | SIGBIT(SIGBUS) | SIGBIT(SIGILL) | SIGBIT(SIGFPE) | SIGBIT(SIGABRT);
}

/* The module lives beside this library. */
static void find_module(void)
{
	Dl_info self;
	if (!dladdr((void *)crash_init, &self) || !self.dli_fname)
		return;
	const char *slash = strrchr(self.dli_fname, '/');
	size_t dir_len = slash ? (size_t)(slash - self.dli_fname + 1) : 0;
	if (dir_len + sizeof CRASH_MODULE_FILE > sizeof module_path)
		return;
	memcpy(module_path, self.dli_fname, dir_len);
	memcpy(module_path + dir_len, CRASH_MODULE_FILE, sizeof CRASH_MODULE_FILE);
}

/* A stack overflow can only be reported from another stack. */
static void ensure_altstack(void)
{
	stack_t current;
	if (sigaltstack(NULL, &current) == 0 && !(current.ss_flags & SS_DISABLE))
		return;
	void *mem = mmap(NULL, ALTSTACK_SIZE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (mem == MAP_FAILED)
		return;
	stack_t ours = { .ss_sp = mem, .ss_size = ALTSTACK_SIZE };
	sigaltstack(&ours, NULL);
}

void crash_init(void)
{
	ensure_altstack();
	find_module();
}

static const char *signal_name(int sig)
{
	switch (sig) {
	case SIGSEGV: return "SIGSEGV";
	case SIGBUS: return "SIGBUS";
	case SIGILL: return "SIGILL";
	case SIGFPE: return "SIGFPE";
	default: return "SIGABRT";
	}
}

/* Finds the mapping holding ip in /proc/self/maps (raw reads, no heap). */
struct mapping {
	uintptr_t start, end, file_offset;
	char path[160];
};

static uintptr_t parse_hex(const char **p)
{
	uintptr_t v = 0;
	for (;; (*p)++) {
		char c = **p;
		int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
		if (digit < 0)
			return v;
		v = v * 16 + (uintptr_t)digit;
	}
}

static bool parse_maps_line(const char *line, uintptr_t ip, struct mapping *m)
{
	const char *p = line;
	m->start = parse_hex(&p);
	if (*p++ != '-')
		return false;
	m->end = parse_hex(&p);
	if (ip < m->start || ip >= m->end)
		return false;
	p = strchr(p, ' ');                       /* perms */
	if (!p)
		return false;
	p = strchr(p + 1, ' ');                   /* offset */
	if (!p)
		return false;
	p++;
	m->file_offset = parse_hex(&p);
	const char *path = strchr(p, '/');
	size_t len = path ? strlen(path) : 0;
	if (len >= sizeof m->path)
		len = sizeof m->path - 1;
	memcpy(m->path, path ? path : "", len);
	m->path[len] = '\0';
	return true;
}

static bool find_mapping(uintptr_t ip, struct mapping *m)
{
	char buf[1024], line[512];
	size_t line_len = 0;
	bool found = false;
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n;
	while (!found && (n = read(fd, buf, sizeof buf)) > 0) {
		for (ssize_t i = 0; i < n && !found; i++) {
			if (buf[i] != '\n') {
				if (line_len < sizeof line - 1)
					line[line_len++] = buf[i];
				continue;
			}
			line[line_len] = '\0';
			found = parse_maps_line(line, ip, m);
			line_len = 0;
		}
	}
	close(fd);
	return found;
}

static void print_frame(void *ctx, int index, uintptr_t ip, const char *name, uintptr_t offset)
{
	struct mapping m;
	(void)ctx;
	/* A return address points after the call; look the caller up by ip - 1. */
	uintptr_t lookup = index > 0 ? ip - 1 : ip;
	bool mapped = find_mapping(lookup, &m);
	const char *module = mapped && m.path[0] ? m.path : "?";
	uintptr_t module_offset = mapped ? ip - m.start + m.file_offset : 0;
	if (name)
		log_error("  #%d 0x%lx %s+0x%lx (%s+0x%lx)", index, (unsigned long)ip, name,
			  (unsigned long)offset, module, (unsigned long)module_offset);
	else
		log_error("  #%d 0x%lx (%s+0x%lx)", index, (unsigned long)ip, module,
			  (unsigned long)module_offset);
}

static void print_faulting_frame(void *ucontext, const char *why)
{
	uintptr_t ip = (uintptr_t)((ucontext_t *)ucontext)->uc_mcontext.gregs[REG_RIP];
	print_frame(NULL, 0, ip, NULL, 0);
	log_error("  (%s)", why);
}

/* In the forked child: unwind the copy of the crashed thread, then leave. */
static void backtrace_in_child(void *ucontext) __attribute__((noreturn));
static void backtrace_in_child(void *ucontext)
{
	void *module = module_path[0] ? dlopen(module_path, RTLD_NOW | RTLD_LOCAL) : NULL;
	crash_walk_fn walk = module ? (crash_walk_fn)dlsym(module, "initsafe_crash_walk") : NULL;
	if (!walk || walk(ucontext, print_frame, NULL) == 0)
		print_faulting_frame(ucontext, "no unwinder: " CRASH_MODULE_FILE " or libunwind8 missing");
	for (;;)
		syscall(SYS_exit_group, 0);
}

static bool child_done(pid_t child)
{
	int status;
	return real.waitpid(child, &status, WNOHANG | __WALL) == child;
}

static void wait_bounded(pid_t child, void *ucontext)
{
	struct timespec poll = { .tv_nsec = CHILD_POLL_MS * 1000000L };
	for (int waited = 0; waited < CHILD_TIMEOUT_MS; waited += CHILD_POLL_MS) {
		if (child_done(child))
			return;
		nanosleep(&poll, NULL);
	}
	kill(child, SIGKILL);
	real.waitpid(child, NULL, __WALL);
	print_faulting_frame(ucontext, "the unwinder did not finish in time");
}

static void print_backtrace(void *ucontext)
{
	/* A raw fork: glibc's would run the app's atfork handlers. */
	children_spawn_begin();
	pid_t child = (pid_t)syscall(SYS_fork);
	if (child == 0)
		backtrace_in_child(ucontext);
	if (child > 0)
		children_add(child, children_now_tick());
	children_spawn_end();
	if (child < 0) {
		print_faulting_frame(ucontext, "cannot fork the unwinder");
		return;
	}
	wait_bounded(child, ucontext);
	children_remove(child);
}

static void report(int sig, siginfo_t *info, void *ucontext)
{
	const char *who = g_is_pid1 ? "PID 1" : "the subreaper";
	if (sig == SIGABRT)
		log_error("%s crashed: SIGABRT (abort)", who);
	else
		log_error("%s crashed: %s (code %d) at address %p", who, signal_name(sig),
			  info->si_code, info->si_addr);
	log_error("backtrace of the crashing thread, innermost first:");
	print_backtrace(ucontext);
}

/* async-signal context */
void crash_on_signal(int sig, siginfo_t *info, void *ucontext)
{
	bool fault = sig != SIGABRT && info->si_code > 0;
	bool self_abort = sig == SIGABRT && info->si_pid == getpid();
	if (!fault && !self_abort) {
		/* Sent by someone: PID 1's kernel drops it at SIG_DFL; others die. */
		if (!g_is_pid1)
			dispatch_die_of(sig);
		return;
	}
	if (g_cfg.crash)
		report(sig, info, ucontext);
	if (self_abort)
		dispatch_die_of(sig);
	/* Back to the faulting instruction with SIG_DFL: the kernel forces it. */
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	real_sigaction(sig, &dfl, NULL);
}
