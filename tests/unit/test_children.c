// sources: preload/children.c
/* Unit tests for preload/children.c: the lock-free set of the app's own children. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "children.h"

/* Pids that differ by a multiple of the table size share a home slot. */
#define SAME_HOME(pid, k) ((pid_t)((pid) + (k) * CHILDREN_SLOTS))

static int reset_children(void **state)
{
	(void)state;
	children_reset();
	return 0;
}

/* ---- add / owns / remove ---- */

static void test_add_owns_remove(void **state)
{
	(void)state;
	assert_int_equal(children_count(), 0);
	assert_false(children_owns(100, 0));

	assert_true(children_add(100, 500));
	assert_int_equal(children_count(), 1);
	assert_true(children_owns(100, 0));
	assert_true(children_owns(100, 500));
	assert_true(children_owns(100, 499));
	assert_false(children_owns(101, 0));
	assert_false(children_owns(99, 0));

	assert_true(children_remove(100));
	assert_int_equal(children_count(), 0);
	assert_false(children_owns(100, 0));
	assert_false(children_remove(100));
}

static void test_remove_unknown(void **state)
{
	(void)state;
	assert_false(children_remove(12345));
	assert_true(children_add(7, 10));
	assert_false(children_remove(8));
	assert_false(children_remove(SAME_HOME(7, 1)));  /* same home slot, other pid */
	assert_int_equal(children_count(), 1);
	assert_true(children_owns(7, 0));
}

static void test_pid_zero_tick_and_large_pids(void **state)
{
	(void)state;
	/* Tick 0 is stored as 1 so the slot is never mistaken for empty. */
	assert_true(children_add(42, 0));
	assert_int_equal(children_count(), 1);
	assert_true(children_owns(42, 0));
	assert_true(children_owns(42, 1));
	assert_false(children_owns(42, 2));   /* later start: stale, dropped */
	assert_int_equal(children_count(), 0);

	/* pid_max can be 4194304 (2^22). */
	assert_true(children_add(4194304, 77));
	assert_true(children_owns(4194304, 77));
	assert_true(children_remove(4194304));
	assert_int_equal(children_count(), 0);
}

static void test_readd_replaces(void **state)
{
	(void)state;
	assert_true(children_add(300, 1000));
	assert_true(children_add(300, 2000));
	assert_int_equal(children_count(), 1);
	/* The new tick is the one recorded: 1500 is not later than 2000. */
	assert_true(children_owns(300, 1500));
	assert_true(children_owns(300, 2000));
	assert_true(children_remove(300));
	assert_int_equal(children_count(), 0);
	assert_false(children_owns(300, 0));
}

/*
 * Re-adding a pid whose entry sits behind a hole in its probe sequence:
 * the set must still hold one entry for it, and one remove forgets it.
 */
static void test_readd_replaces_behind_hole(void **state)
{
	(void)state;
	pid_t a = 500, b = SAME_HOME(500, 1), x = SAME_HOME(500, 2);

	assert_true(children_add(a, 10));
	assert_true(children_add(b, 10));
	assert_true(children_add(x, 10));   /* home+2 */
	assert_true(children_remove(b));    /* hole at home+1 */
	assert_true(children_add(x, 20));   /* x's pid reused, recorded again */
	assert_true(children_remove(x));    /* the app waited for it */
	assert_false(children_owns(x, 0));  /* so it is no longer the app's */
	assert_int_equal(children_count(), 1);
	assert_true(children_owns(a, 0));
}

/* ---- start ticks ---- */

static void test_owns_start_ticks(void **state)
{
	(void)state;
	assert_true(children_add(200, 1000));

	assert_true(children_owns(200, 0));      /* unknown start: owned */
	assert_true(children_owns(200, 1));
	assert_true(children_owns(200, 999));
	assert_true(children_owns(200, 1000));   /* same tick: owned */
	assert_int_equal(children_count(), 1);

	assert_false(children_owns(200, 1001));  /* started later: pid reused */
	assert_int_equal(children_count(), 0);   /* the stale entry is dropped */
	assert_false(children_owns(200, 0));
	assert_false(children_owns(200, 1000));
	assert_false(children_remove(200));
}

static void test_owns_tick_wrap(void **state)
{
	(void)state;
	/* Recorded just before the 32-bit wrap, the process started just after. */
	assert_true(children_add(201, 0xFFFFFFF0u));
	assert_false(children_owns(201, 0x00000005u));
	assert_int_equal(children_count(), 0);
	assert_false(children_owns(201, 0));

	/* Recorded just after the wrap, the process started just before: owned. */
	assert_true(children_add(202, 0x00000005u));
	assert_true(children_owns(202, 0xFFFFFFF0u));
	assert_int_equal(children_count(), 1);

	/* /proc start times are 64-bit: only the low 32 bits count. */
	assert_true(children_add(203, 0x10));
	assert_true(children_owns(203, 0x500000010ull));
	assert_false(children_owns(203, 0x500000011ull));
	assert_int_equal(children_count(), 1);
}

/* ---- collisions ---- */

static void test_collisions_same_home(void **state)
{
	(void)state;
	enum { N = 40 };
	pid_t base = 1234;

	for (int k = 0; k < N; k++)
		assert_true(children_add(SAME_HOME(base, k), (uint32_t)(100 + k)));
	assert_int_equal(children_count(), N);
	for (int k = 0; k < N; k++) {
		assert_true(children_owns(SAME_HOME(base, k), (uint32_t)(100 + k)));
		assert_false(children_owns(SAME_HOME(base, k) + 1, 0));
	}

	/* Remove every other one: the ones behind the holes stay reachable. */
	for (int k = 0; k < N; k += 2)
		assert_true(children_remove(SAME_HOME(base, k)));
	assert_int_equal(children_count(), N / 2);
	for (int k = 0; k < N; k++)
		assert_int_equal(children_owns(SAME_HOME(base, k), 0), k % 2 == 1);

	/* Only the later tick drops an entry deep in the chain. */
	assert_false(children_owns(SAME_HOME(base, N - 1), 100 + N));
	assert_int_equal(children_count(), N / 2 - 1);
	assert_true(children_owns(SAME_HOME(base, N - 3), 0));
}

/* A pid whose home is the last slot probes around to slot 0. */
static void test_collisions_wrap_around(void **state)
{
	(void)state;
	pid_t last = 0;

	for (pid_t pid = 1; pid <= CHILDREN_SLOTS; pid++) {
		if (((uint32_t)pid * 2654435761u) % CHILDREN_SLOTS == CHILDREN_SLOTS - 1) {
			last = pid;
			break;
		}
	}
	assert_true(last > 0);
	for (int k = 0; k < 5; k++)
		assert_true(children_add(SAME_HOME(last, k), 9));
	assert_int_equal(children_count(), 5);
	for (int k = 0; k < 5; k++)
		assert_true(children_owns(SAME_HOME(last, k), 9));
	assert_true(children_remove(SAME_HOME(last, 4)));
	assert_true(children_remove(SAME_HOME(last, 0)));
	assert_true(children_owns(SAME_HOME(last, 3), 0));
	assert_int_equal(children_count(), 3);
}

static void test_many_pids(void **state)
{
	(void)state;
	enum { N = 1500 };

	for (int i = 0; i < N; i++)
		assert_true(children_add(1000 + 7 * i, (uint32_t)(i + 1)));
	assert_int_equal(children_count(), N);
	for (int i = 0; i < N; i++) {
		assert_true(children_owns(1000 + 7 * i, (uint32_t)(i + 1)));
		assert_false(children_owns(1000 + 7 * i + 3, 0));
	}
	for (int i = 0; i < N; i += 2)
		assert_true(children_remove(1000 + 7 * i));
	assert_int_equal(children_count(), N / 2);
	for (int i = 0; i < N; i++)
		assert_int_equal(children_owns(1000 + 7 * i, 0), i % 2 == 1);
	for (int i = 1; i < N; i += 2)
		assert_true(children_remove(1000 + 7 * i));
	assert_int_equal(children_count(), 0);
}

static void test_full_set(void **state)
{
	(void)state;
	for (int i = 0; i < CHILDREN_SLOTS; i++)
		assert_true(children_add(10 + i, 50));
	assert_int_equal(children_count(), CHILDREN_SLOTS);

	assert_false(children_add(10 + CHILDREN_SLOTS, 50));
	assert_int_equal(children_count(), CHILDREN_SLOTS);
	assert_false(children_owns(10 + CHILDREN_SLOTS, 0));
	assert_false(children_remove(10 + CHILDREN_SLOTS));

	/* A pid already there is still replaced in a full set. */
	assert_true(children_add(10 + 5, 60));
	assert_true(children_owns(10 + 5, 60));
	assert_int_equal(children_count(), CHILDREN_SLOTS);

	/* One removed: room for exactly one more. */
	assert_true(children_remove(10 + 100));
	assert_true(children_add(10 + CHILDREN_SLOTS, 50));
	assert_false(children_add(11 + CHILDREN_SLOTS, 50));
	assert_true(children_owns(10 + CHILDREN_SLOTS, 0));
	assert_int_equal(children_count(), CHILDREN_SLOTS);
}

static void test_reset(void **state)
{
	(void)state;
	for (int i = 0; i < 100; i++)
		assert_true(children_add(1 + i, 3));
	children_spawn_begin();
	assert_true(children_spawn_in_flight());
	assert_int_equal(children_count(), 100);

	children_reset();
	assert_int_equal(children_count(), 0);
	assert_false(children_spawn_in_flight());
	for (int i = 0; i < 100; i++)
		assert_false(children_owns(1 + i, 0));
	assert_true(children_add(1, 3));
	assert_int_equal(children_count(), 1);
}

/* ---- spawns in flight ---- */

static void test_spawn_in_flight_nested(void **state)
{
	(void)state;
	assert_false(children_spawn_in_flight());
	children_spawn_begin();
	assert_true(children_spawn_in_flight());
	children_spawn_begin();
	children_spawn_begin();
	assert_true(children_spawn_in_flight());
	children_spawn_end();
	assert_true(children_spawn_in_flight());
	children_spawn_end();
	assert_true(children_spawn_in_flight());
	children_spawn_end();
	assert_false(children_spawn_in_flight());
	children_spawn_begin();
	assert_true(children_spawn_in_flight());
	children_spawn_end();
	assert_false(children_spawn_in_flight());
}

/* ---- the clock ---- */

static uint64_t uptime_ticks(void)
{
	FILE *f = fopen("/proc/uptime", "r");
	unsigned long sec = 0, cent = 0;

	assert_non_null(f);
	assert_int_equal(fscanf(f, "%lu.%lu", &sec, &cent), 2);
	fclose(f);
	return (uint64_t)sec * 100 + cent;
}

static void test_now_tick(void **state)
{
	(void)state;
	uint64_t before = uptime_ticks();
	uint32_t t1 = children_now_tick();
	uint64_t after = uptime_ticks();

	/* Rounded up: one tick ahead of the truncated uptime, at most. */
	assert_true((uint64_t)t1 >= before);
	assert_true((uint64_t)t1 <= after + 2);

	uint32_t prev = t1;
	for (int i = 0; i < 100000; i++) {
		uint32_t now = children_now_tick();
		assert_true((int32_t)(now - prev) >= 0);
		prev = now;
	}
	assert_true((int32_t)(prev - t1) >= 0);
}

/* /proc/PID/stat field 22: the start time, in clock ticks since boot. */
static uint64_t proc_start_tick(pid_t pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *p = strrchr(buf, ')');
	assert_non_null(p);
	/* After ") ": field 3 (state) .. field 22. */
	unsigned long long start = 0;
	int field = 3;
	for (p += 2; *p && field < 22; p++)
		if (*p == ' ')
			field++;
	assert_int_equal(sscanf(p, "%llu", &start), 1);
	return start;
}

/* The tick read after fork returns is never earlier than the child's start. */
static void test_tick_after_fork_owns_child(void **state)
{
	(void)state;
	assert_int_equal(sysconf(_SC_CLK_TCK), 100);
	for (int round = 0; round < 20; round++) {
		int pipefd[2];
		assert_int_equal(pipe(pipefd), 0);
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			char c;
			close(pipefd[1]);
			_exit(read(pipefd[0], &c, 1) == 0 ? 0 : 1);
		}
		uint32_t tick = children_now_tick();
		close(pipefd[0]);
		uint64_t start = proc_start_tick(pid);
		assert_true(start <= tick);
		assert_true(children_add(pid, tick));
		assert_true(children_owns(pid, start));
		assert_false(children_owns(pid, (uint64_t)tick + 1));  /* a later process */
		assert_false(children_owns(pid, 0));
		close(pipefd[1]);
		int status;
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	assert_int_equal(children_count(), 0);
}

/* ---- concurrency ---- */

enum { WORKERS = 4, PER_WORKER = 5000, WINDOW = 200 };

struct worker {
	pthread_t thread;
	int index;
	int missing;   /* own pids not found between add and remove */
	int failed;    /* add/remove that returned false, or found after remove */
};

static atomic_int workers_left;
static atomic_int stray_hits;
static atomic_long lookups;

static pid_t worker_pid(int worker, int i)
{
	return (pid_t)(100000 * (worker + 1) + i);
}

static uint32_t worker_tick(int i)
{
	return (uint32_t)(1000 + i);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	for (int i = 0; i < PER_WORKER + WINDOW; i++) {
		if (i < PER_WORKER) {
			pid_t pid = worker_pid(w->index, i);
			w->failed += !children_add(pid, worker_tick(i));
			w->missing += !children_owns(pid, 0);
			w->missing += !children_owns(pid, worker_tick(i));
		}
		if (i >= WINDOW) {
			int j = i - WINDOW;
			pid_t old = worker_pid(w->index, j);
			w->missing += !children_owns(old, worker_tick(j) - 1);
			w->failed += !children_remove(old);
			w->failed += children_owns(old, 0);
		}
	}
	atomic_fetch_sub(&workers_left, 1);
	return NULL;
}

static void *prober_main(void *arg)
{
	(void)arg;
	long n = 0;
	do {
		for (int i = 0; i < 64; i++, n++) {
			/* Same home slots as the workers' pids, never added. */
			pid_t pid = (pid_t)(900000 + (n * 13) % 20000);
			if (children_owns(pid, 0))
				atomic_fetch_add(&stray_hits, 1);
		}
	} while (atomic_load(&workers_left) > 0);
	atomic_store(&lookups, n);
	return NULL;
}

static void test_concurrent(void **state)
{
	(void)state;
	struct worker w[WORKERS];
	pthread_t prober;

	atomic_store(&workers_left, WORKERS);
	atomic_store(&stray_hits, 0);
	atomic_store(&lookups, 0);
	assert_int_equal(pthread_create(&prober, NULL, prober_main, NULL), 0);
	for (int i = 0; i < WORKERS; i++) {
		w[i] = (struct worker){ .index = i };
		assert_int_equal(pthread_create(&w[i].thread, NULL, worker_main, &w[i]), 0);
	}
	for (int i = 0; i < WORKERS; i++)
		assert_int_equal(pthread_join(w[i].thread, NULL), 0);
	assert_int_equal(pthread_join(prober, NULL), 0);

	for (int i = 0; i < WORKERS; i++) {
		assert_int_equal(w[i].missing, 0);
		assert_int_equal(w[i].failed, 0);
	}
	assert_int_equal(atomic_load(&stray_hits), 0);
	assert_true(atomic_load(&lookups) > 0);
	assert_int_equal(children_count(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_add_owns_remove, reset_children),
		cmocka_unit_test_setup(test_remove_unknown, reset_children),
		cmocka_unit_test_setup(test_pid_zero_tick_and_large_pids, reset_children),
		cmocka_unit_test_setup(test_readd_replaces, reset_children),
		cmocka_unit_test_setup(test_readd_replaces_behind_hole, reset_children),
		cmocka_unit_test_setup(test_owns_start_ticks, reset_children),
		cmocka_unit_test_setup(test_owns_tick_wrap, reset_children),
		cmocka_unit_test_setup(test_collisions_same_home, reset_children),
		cmocka_unit_test_setup(test_collisions_wrap_around, reset_children),
		cmocka_unit_test_setup(test_many_pids, reset_children),
		cmocka_unit_test_setup(test_full_set, reset_children),
		cmocka_unit_test_setup(test_reset, reset_children),
		cmocka_unit_test_setup(test_spawn_in_flight_nested, reset_children),
		cmocka_unit_test(test_now_tick),
		cmocka_unit_test_setup(test_tick_after_fork_owns_child, reset_children),
		cmocka_unit_test_setup(test_concurrent, reset_children),
	};

	return cmocka_run_group_tests_name("children: the set of the app's own children",
					   tests, NULL, NULL);
}
