/*
 * The floor any LD_PRELOAD library pays: a constructor and nothing else,
 * built with the compiler's default link flags (tests/bench/bench.mk).
 */
__attribute__((constructor)) static void empty_init(void)
{
}
