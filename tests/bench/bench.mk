# make bench (issue #6): initsafe against tini, dumb-init, catatonit and no
# init, side by side; make bench-flags: link-flag variants of the library.
# Included from the top Makefile (after BUILD, BASE and CC are set):
#
#   include tests/bench/bench.mk
#
# The measuring tools are C (tests/bench/*.c), the driver is
# tests/bench/bench.sh; results go to $(BUILD)/bench/.
BENCH_DIR    := $(BUILD)/bench
BENCH_CFLAGS  = $(BASE) -O2
BENCH_APPS   := $(BENCH_DIR)/nsbench $(BENCH_DIR)/startapp $(BENCH_DIR)/raiser
BENCH_TOOLS  := $(BENCH_APPS) $(BENCH_DIR)/libempty.so
BENCH_PKGS   := tini dumb-init catatonit valgrind

$(BENCH_DIR):
	mkdir -p $@

$(BENCH_APPS): $(BENCH_DIR)/%: tests/bench/%.c | $(BENCH_DIR)
	$(CC) $(BENCH_CFLAGS) -o $@ $<

# The floor any LD_PRELOAD library pays: the compiler's default link flags.
$(BENCH_DIR)/libempty.so: tests/bench/empty.c | $(BENCH_DIR)
	$(CC) -O2 -fPIC -shared -o $@ $<

bench-tools: $(BENCH_TOOLS)

bench-deps:
	@tests/deps.sh $(BENCH_PKGS)

bench: bench-deps
	$(MAKE) -f $(firstword $(MAKEFILE_LIST)) all bench-tools
	BUILD=$(BUILD) CC="$(CC)" bash tests/bench/bench.sh

bench-flags: bench-deps
	$(MAKE) -f $(firstword $(MAKEFILE_LIST)) all bench-tools
	BUILD=$(BUILD) CC="$(CC)" LIBFLAGS="$(LIBFLAGS)" bash tests/bench/bench.sh flags

.PHONY: bench bench-deps bench-tools bench-flags
