#include <stdatomic.h>
#include <time.h>

#include "children.h"

/*
 * A slot holds (pid << 32 | tick); 0 is empty, REMOVED was used. Open
 * addressing, linear probe: a lookup stops at an empty slot and walks past
 * removed ones, so a chain stays whole when an entry in it goes.
 */
#define REMOVED UINT64_MAX
static _Atomic uint64_t slots[CHILDREN_SLOTS];
static atomic_int spawns_in_flight;

static uint64_t pack(pid_t pid, uint32_t tick)
{
	return (uint64_t)(uint32_t)pid << 32 | tick;
}

static pid_t slot_pid(uint64_t v)
{
	return (pid_t)(v >> 32);
}

static uint32_t slot_tick(uint64_t v)
{
	return (uint32_t)v;
}

static unsigned home_of(pid_t pid)
{
	return ((uint32_t)pid * 2654435761u) % CHILDREN_SLOTS;
}

uint32_t children_now_tick(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_BOOTTIME, &ts);
	/* Round up: the child's start tick is truncated the same way. */
	return (uint32_t)((uint64_t)ts.tv_sec * 100 + (uint64_t)ts.tv_nsec / 10000000 + 1);
}

static _Atomic uint64_t *find(pid_t pid, uint64_t *value)
{
	unsigned at = home_of(pid);
	for (unsigned probe = 0; probe < CHILDREN_SLOTS; probe++) {
		_Atomic uint64_t *slot = &slots[(at + probe) % CHILDREN_SLOTS];
		uint64_t v = atomic_load(slot);
		if (v == 0)
			return NULL;
		if (v != REMOVED && slot_pid(v) == pid) {
			*value = v;
			return slot;
		}
	}
	return NULL;
}

static bool is_free(uint64_t v)
{
	return v == 0 || v == REMOVED;
}

bool children_add(pid_t pid, uint32_t tick)
{
	uint64_t entry = pack(pid, tick ? tick : 1);
	uint64_t stale;
	/* A stale entry for the same pid (a reused pid) is replaced. */
	_Atomic uint64_t *slot = find(pid, &stale);
	if (slot && atomic_compare_exchange_strong(slot, &stale, entry))
		return true;
	unsigned at = home_of(pid);
	for (unsigned probe = 0; probe < CHILDREN_SLOTS; probe++) {
		_Atomic uint64_t *candidate = &slots[(at + probe) % CHILDREN_SLOTS];
		uint64_t seen = atomic_load(candidate);
		if (is_free(seen) && atomic_compare_exchange_strong(candidate, &seen, entry))
			return true;
	}
	return false;
}

bool children_remove(pid_t pid)
{
	uint64_t v;
	_Atomic uint64_t *slot = find(pid, &v);
	return slot && atomic_compare_exchange_strong(slot, &v, REMOVED);
}

bool children_owns(pid_t pid, uint64_t start_tick)
{
	uint64_t v;
	_Atomic uint64_t *slot = find(pid, &v);
	if (!slot)
		return false;
	/* Signed difference copes with the 32-bit tick wrapping (497 days). */
	if (start_tick != 0 && (int32_t)((uint32_t)start_tick - slot_tick(v)) > 0) {
		atomic_compare_exchange_strong(slot, &v, REMOVED);
		return false;
	}
	return true;
}

int children_count(void)
{
	int count = 0;
	for (unsigned i = 0; i < CHILDREN_SLOTS; i++)
		count += !is_free(atomic_load_explicit(&slots[i], memory_order_relaxed));
	return count;
}

void children_spawn_begin(void)
{
	atomic_fetch_add(&spawns_in_flight, 1);
}

void children_spawn_end(void)
{
	atomic_fetch_sub(&spawns_in_flight, 1);
}

bool children_spawn_in_flight(void)
{
	return atomic_load(&spawns_in_flight) > 0;
}

void children_reset(void)
{
	for (unsigned i = 0; i < CHILDREN_SLOTS; i++)
		atomic_store_explicit(&slots[i], 0, memory_order_relaxed);
	atomic_store(&spawns_in_flight, 0);
}
