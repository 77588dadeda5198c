#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "procscan.h"

/* Raw getdents64 records; glibc's readdir would allocate. */
struct dirent64_raw {
	unsigned long long d_ino;
	long long d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

static char *put_str(char *at, const char *s)
{
	while (*s)
		*at++ = *s++;
	return at;
}

static char *put_uint(char *at, unsigned long v)
{
	char digits[24];
	int n = 0;
	do
		digits[n++] = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	while (n)
		*at++ = digits[--n];
	return at;
}

static bool parse_pid(const char *s, pid_t *pid)
{
	long v = 0;
	if (!*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > 4194304)
			return false;
		v = v * 10 + (*s - '0');
	}
	*pid = (pid_t)v;
	return v > 0;
}

static int open_ro(const char *path, int extra)
{
	int fd;
	do
		fd = open(path, O_RDONLY | O_CLOEXEC | extra);
	while (fd < 0 && errno == EINTR);
	return fd;
}

/* Reads a small file whole; returns bytes read or -1. NUL-terminates. */
static ssize_t read_small(const char *path, char *buf, size_t size)
{
	int fd = open_ro(path, 0);
	if (fd < 0)
		return -1;
	size_t got = 0;
	while (got < size - 1) {
		ssize_t n = read(fd, buf + got, size - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	buf[got] = '\0';
	return (ssize_t)got;
}

/* Calls each(name, ctx) for every entry of a directory; stops when it returns false. */
static int for_each_entry(const char *path, bool (*each)(const char *, void *), void *ctx)
{
	char buf[1024] __attribute__((aligned(8)));
	int fd = open_ro(path, O_DIRECTORY);
	if (fd < 0)
		return -1;
	for (;;) {
		long n = syscall(SYS_getdents64, fd, buf, sizeof buf);
		if (n <= 0)
			break;
		for (long off = 0; off < n;) {
			struct dirent64_raw *d = (struct dirent64_raw *)(buf + off);
			off += d->d_reclen;
			if (!each(d->d_name, ctx)) {
				close(fd);
				return 0;
			}
		}
	}
	close(fd);
	return 0;
}

struct pid_list {
	pid_t *out;
	int max;
	int count;
	pid_t skip;
};

static void list_add(struct pid_list *l, pid_t pid)
{
	if (l->count < l->max && pid != l->skip)
		l->out[l->count++] = pid;
}

/*
 * Adds the pids of one /proc/PID/task/TID/children file, read in small
 * chunks: this may run on an app's 8 KiB alternate signal stack.
 */
static void add_children_file(const char *path, struct pid_list *l)
{
	char chunk[256];
	long v = 0;
	int fd = open_ro(path, 0);
	if (fd < 0)
		return;
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		for (ssize_t i = 0; i < n; i++) {
			if (chunk[i] >= '0' && chunk[i] <= '9') {
				v = v * 10 + (chunk[i] - '0');
			} else {
				if (v > 0)
					list_add(l, (pid_t)v);
				v = 0;
			}
		}
	}
	if (v > 0)
		list_add(l, (pid_t)v);
	close(fd);
}

struct task_walk {
	pid_t pid;
	struct pid_list *list;
};

static bool add_task_children(const char *tid_name, void *ctx)
{
	struct task_walk *w = ctx;
	pid_t tid;
	if (!parse_pid(tid_name, &tid))
		return true;
	char path[64];
	char *at = put_str(path, "/proc/");
	at = put_uint(at, (unsigned long)w->pid);
	at = put_str(at, "/task/");
	at = put_uint(at, (unsigned long)tid);
	at = put_str(at, "/children");
	*at = '\0';
	add_children_file(path, w->list);
	return w->list->count < w->list->max;
}

int procscan_children(pid_t pid, pid_t *out, int max)
{
	struct pid_list list = { .out = out, .max = max, .skip = 0 };
	struct task_walk walk = { .pid = pid, .list = &list };
	char path[40];
	char *at = put_str(path, "/proc/");
	at = put_uint(at, (unsigned long)pid);
	at = put_str(at, "/task");
	*at = '\0';
	if (for_each_entry(path, add_task_children, &walk) < 0)
		return -1;
	return list.count;
}

int procscan_descendants(pid_t pid, pid_t *out, int max)
{
	int count = procscan_children(pid, out, max);
	if (count < 0)
		return 0;
	for (int next = 0; next < count && count < max; next++) {
		int more = procscan_children(out[next], out + count, max - count);
		if (more > 0)
			count += more;
	}
	return count;
}

static bool add_process(const char *name, void *ctx)
{
	struct pid_list *l = ctx;
	pid_t pid;
	if (parse_pid(name, &pid))
		list_add(l, pid);
	return l->count < l->max;
}

int procscan_all_others(pid_t *out, int max)
{
	struct pid_list list = { .out = out, .max = max, .skip = getpid() };
	if (for_each_entry("/proc", add_process, &list) < 0)
		return -1;
	return list.count;
}

/* Reads /proc/PID/stat; returns a pointer just past the ")" of comm, or NULL. */
static const char *read_stat(pid_t pid, char *text, size_t size, char comm[17])
{
	char path[40];
	char *at = put_str(path, "/proc/");
	at = put_uint(at, (unsigned long)pid);
	at = put_str(at, "/stat");
	*at = '\0';
	if (read_small(path, text, size) <= 0)
		return NULL;
	char *open_paren = strchr(text, '(');
	char *close_paren = strrchr(text, ')');
	if (!open_paren || !close_paren || close_paren < open_paren)
		return NULL;
	if (comm) {
		size_t len = (size_t)(close_paren - open_paren - 1);
		if (len > 16)
			len = 16;
		memcpy(comm, open_paren + 1, len);
		comm[len] = '\0';
	}
	return close_paren + 1;
}

bool procscan_stat(pid_t pid, char comm[17], char *state)
{
	char text[512];
	const char *rest = read_stat(pid, text, sizeof text, comm);
	if (!rest || rest[0] != ' ')
		return false;
	*state = rest[1];
	return true;
}

unsigned long long procscan_start_ticks(pid_t pid)
{
	char text[1024];
	const char *p = read_stat(pid, text, sizeof text, NULL);
	if (!p)
		return 0;
	/* After ")" come fields 3..; starttime is field 22. */
	for (int field = 2; field < 22; field++) {
		p = strchr(p + 1, ' ');
		if (!p)
			return 0;
	}
	unsigned long long ticks = 0;
	for (p++; *p >= '0' && *p <= '9'; p++)
		ticks = ticks * 10 + (unsigned long long)(*p - '0');
	return ticks;
}

bool procscan_is_own_namespace(void)
{
	char link[24], expected[24];
	ssize_t n = readlink("/proc/self", link, sizeof link - 1);
	if (n <= 0)
		return false;
	link[n] = '\0';
	*put_uint(expected, (unsigned long)getpid()) = '\0';
	return strcmp(link, expected) == 0;
}

bool procscan_maps_contain(pid_t pid, const char *needle)
{
	char path[40], chunk[1024];
	size_t needle_len = strlen(needle), kept = 0;
	bool found = false;
	char *at = put_str(path, "/proc/");
	at = put_uint(at, (unsigned long)pid);
	put_str(at, "/maps")[0] = '\0';
	int fd = open_ro(path, 0);
	if (fd < 0 || needle_len == 0 || needle_len >= sizeof chunk / 2) {
		if (fd >= 0)
			close(fd);
		return false;
	}
	/* Keep the tail of each chunk so a name cut in two is still found. */
	while (!found) {
		ssize_t n = read(fd, chunk + kept, sizeof chunk - 1 - kept);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		size_t len = kept + (size_t)n;
		chunk[len] = '\0';
		found = memmem(chunk, len, needle, needle_len) != NULL;
		kept = needle_len - 1 < len ? needle_len - 1 : len;
		memmove(chunk, chunk + len - kept, kept);
	}
	close(fd);
	return found;
}

/* Only pidfds are worth reading: their link is "anon_inode:[pidfd]". */
static bool add_pidfd_target(const char *fd_name, void *ctx)
{
	struct pid_list *l = ctx;
	char path[48], link[32], text[512];
	pid_t fd;
	if (!parse_pid(fd_name, &fd) && strcmp(fd_name, "0") != 0)
		return true;
	char *at = put_str(path, "/proc/self/fd/");
	put_str(at, fd_name)[0] = '\0';
	ssize_t n = readlink(path, link, sizeof link - 1);
	if (n <= 0)
		return true;
	link[n] = '\0';
	if (strcmp(link, "anon_inode:[pidfd]") != 0)
		return true;
	at = put_str(path, "/proc/self/fdinfo/");
	put_str(at, fd_name)[0] = '\0';
	if (read_small(path, text, sizeof text) <= 0)
		return true;
	const char *line = strstr(text, "Pid:");
	if (!line)
		return true;
	long v = 0;
	for (line += 4; *line == ' ' || *line == '\t'; line++)
		;
	for (; *line >= '0' && *line <= '9'; line++)
		v = v * 10 + (*line - '0');
	if (v > 0)
		list_add(l, (pid_t)v);
	return l->count < l->max;
}

int procscan_pidfd_pids(pid_t *out, int max)
{
	struct pid_list list = { .out = out, .max = max, .skip = 0 };
	if (for_each_entry("/proc/self/fd", add_pidfd_target, &list) < 0)
		return 0;
	return list.count;
}
