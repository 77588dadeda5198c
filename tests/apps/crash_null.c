/* Test app: dies of a NULL dereference in crash_here(), called from outer(). */
#include <stdio.h>

/* The compiler cannot see that this is NULL, so the store stays a store. */
static int *volatile crash_target;

/* A real fault even in sanitized builds (UBSan would stop at the NULL store). */
static __attribute__((noinline, no_sanitize("undefined"))) void crash_here(void)
{
	*crash_target = 1;
	__asm__ volatile("" ::: "memory");
}

static __attribute__((noinline)) void outer(void)
{
	crash_here();
	/* Not a tail call: outer() keeps its frame. */
	__asm__ volatile("" ::: "memory");
}

int main(void)
{
	fputs("about to crash\n", stderr);
	outer();
	__asm__ volatile("" ::: "memory");
	return 0;
}
