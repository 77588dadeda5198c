/*
 * Crash reports: when the active process dies of a fault (or abort()) with
 * no handler of its own, one report on stderr says where, then the process
 * dies as it would have. The backtrace comes from libinitsafe-crash.so
 * (libunwind), loaded RTLD_LOCAL by the active process only.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include "crash.h"
#include "crashmod/crash_module.h"
#include "log.h"
#include "real.h"
#include "state.h"

#define ALTSTACK_SIZE (64 * 1024)

static crash_walk_fn walk_frames;

bool crash_is_crash_signal(int sig)
{
	return sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE || sig == SIGABRT;
}

sigbits_t crash_signals(void)
{
	return SIGBIT(SIGSEGV) | SIGBIT(SIGBUS) | SIGBIT(SIGILL) | SIGBIT(SIGFPE) | SIGBIT(SIGABRT);
}

/* The module lives beside this library. */
static void *open_module(void)
{
	Dl_info self;
	char path[4096];
	if (!dladdr((void *)crash_init, &self) || !self.dli_fname)
		return NULL;
	const char *slash = strrchr(self.dli_fname, '/');
	size_t dir_len = slash ? (size_t)(slash - self.dli_fname + 1) : 0;
	if (dir_len + sizeof CRASH_MODULE_FILE > sizeof path)
		return NULL;
	memcpy(path, self.dli_fname, dir_len);
	memcpy(path + dir_len, CRASH_MODULE_FILE, sizeof CRASH_MODULE_FILE);
	return dlopen(path, RTLD_NOW | RTLD_LOCAL);
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
	void *module = open_module();
	if (!module) {
		log_debug("no %s (%s): crash reports without a backtrace", CRASH_MODULE_FILE,
			  dlerror());
		return;
	}
	crash_warm_up_fn warm_up = (crash_warm_up_fn)dlsym(module, "initsafe_crash_warm_up");
	walk_frames = (crash_walk_fn)dlsym(module, "initsafe_crash_walk");
	if (warm_up)
		warm_up();
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

static void report(int sig, siginfo_t *info, void *ucontext)
{
	const char *who = g_is_pid1 ? "PID 1" : "the subreaper";
	if (sig == SIGABRT)
		log_error("%s crashed: SIGABRT (abort)", who);
	else
		log_error("%s crashed: %s (code %d) at address %p", who, signal_name(sig),
			  info->si_code, info->si_addr);
	log_error("backtrace of the crashing thread, innermost first:");
	int frames = walk_frames ? walk_frames(ucontext, print_frame, NULL) : 0;
	if (frames == 0) {
		uintptr_t ip = (uintptr_t)((ucontext_t *)ucontext)->uc_mcontext.gregs[REG_RIP];
		print_frame(NULL, 0, ip, NULL, 0);
		log_error("  (no unwinder: %s not loaded)", CRASH_MODULE_FILE);
	}
}

static void die_by(int sig) __attribute__((noreturn));
static void die_by(int sig)
{
	/* PID 1 cannot die of a signal it sends itself: exit as the shell reports it. */
	if (!g_is_pid1) {
		struct sigaction dfl = { .sa_handler = SIG_DFL };
		sigset_t only;
		real_sigaction(sig, &dfl, NULL);
		sigemptyset(&only);
		sigaddset(&only, sig);
		pthread_sigmask(SIG_UNBLOCK, &only, NULL);
		raise(sig);
	}
	for (;;)
		syscall(SYS_exit_group, 128 + sig);
}

/* async-signal context */
void crash_on_signal(int sig, siginfo_t *info, void *ucontext)
{
	bool fault = sig != SIGABRT && info->si_code > 0;
	bool self_abort = sig == SIGABRT && info->si_pid == getpid();
	if (!fault && !self_abort) {
		/* Sent by someone: PID 1's kernel drops it at SIG_DFL; others die. */
		if (!g_is_pid1)
			die_by(sig);
		return;
	}
	if (g_cfg.crash)
		report(sig, info, ucontext);
	if (self_abort)
		die_by(sig);
	/* Back to the faulting instruction with SIG_DFL: the kernel forces it. */
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	real_sigaction(sig, &dfl, NULL);
}
