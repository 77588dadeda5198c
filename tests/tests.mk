# Tests: cmocka unit tests (pure parts, linked against the sources) and
# integration tests (the built library as PID 1 of real PID namespaces).
TEST_CFLAGS := $(BASE) -O1 -fno-strict-aliasing $(EXTRA_CFLAGS)
TEST_LIBS   := -lcmocka $(EXTRA_LDFLAGS)

UNIT_SRCS   := $(wildcard tests/unit/test_*.c)
UNIT_BINS   := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
INTEG_SRCS  := $(wildcard tests/integration/test_*.c)
INTEG_BINS  := $(INTEG_SRCS:tests/integration/%.c=$(BUILD)/tests/%)
APP_SRCS    := $(wildcard tests/apps/*.c)
APP_BINS    := $(APP_SRCS:tests/apps/%.c=$(BUILD)/apps/%)
APP_CXX_SRCS:= $(wildcard tests/apps/*.cc)
APP_BINS    += $(APP_CXX_SRCS:tests/apps/%.cc=$(BUILD)/apps/%)
CXX         ?= c++

# Each unit test names the library sources it needs in a "// sources:" line.
unit_sources = $(shell sed -n 's|^// sources: *||p' $(1))

.SECONDEXPANSION:
$(BUILD)/tests/test_%: tests/unit/test_%.c $$(call unit_sources,tests/unit/test_%.c) preload/*.h | $(BUILD)/tests
	$(CC) $(TEST_CFLAGS) $(LIB_SAN) -o $@ $< $(call unit_sources,$<) $(TEST_LIBS) $(LIB_SAN)

$(BUILD)/tests/test_%: tests/integration/test_%.c tests/integration/harness.c tests/integration/harness.h \
		tests/integration/check.c tests/integration/check.h | $(BUILD)/tests
	$(CC) $(TEST_CFLAGS) -Itests/integration -o $@ $< tests/integration/harness.c \
		tests/integration/check.c $(TEST_LIBS)

$(BUILD)/apps/%: tests/apps/%.c tests/apps/app_util.h | $(BUILD)/apps
	$(CC) $(TEST_CFLAGS) -o $@ $< -lpthread

$(BUILD)/apps/%: tests/apps/%.cc | $(BUILD)/apps
	$(CXX) -std=c++17 -D_GNU_SOURCE -g -O1 -Wall -Wextra -Werror -Wshadow $(EXTRA_CFLAGS) -o $@ $< -lpthread $(EXTRA_LDFLAGS)

tests: $(BUILD)/libinitsafe.so $(CRASH_MOD) $(UNIT_BINS) $(INTEG_BINS) $(APP_BINS)

# valgrind and the fuzz round first: the suite's "check: N passed, N
# failed" stays the last line.
check: deps
	$(MAKE) tests
	BUILD=$(BUILD) tests/valgrind.sh
	$(MAKE) fuzz-smoke
	$(MAKE) run-tests

run-tests:
	BUILD=$(BUILD) tests/run.sh $(UNIT_BINS) $(INTEG_BINS)

# The suite again with ASan+UBSan, then with TSan. A sanitized preload needs
# its runtime loaded before it: the harness puts H_SANITIZER_RUNTIME first
# in LD_PRELOAD. Leak checks are off in the namespaces (sh and friends
# leak at exit by design; valgrind checks the library's own), and the
# sanitizers leave fault signals to the app so crash reports still run.
# TSan runs the unit tests of the parts shared between threads without
# signals (child set, config, log): TSan interposes sigaction itself and
# delivers signals at its own points, so neither the signal table's
# kernel-facing checks nor an app under a TSan preload can mean anything.
TSAN_UNITS := test_children test_config test_log
SAN_SIGNALS := handle_segv=0:handle_sigbus=0:handle_sigill=0:handle_sigfpe=0:handle_abort=0
ASAN_FLAGS  := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
TSAN_FLAGS  := -fsanitize=thread -fno-omit-frame-pointer

sanitize: deps
	$(MAKE) BUILD=build-asan EXTRA_CFLAGS="$(ASAN_FLAGS)" EXTRA_LDFLAGS="$(ASAN_FLAGS)" tests
	H_SANITIZER_RUNTIME=$$($(CC) -print-file-name=libasan.so) \
	ASAN_OPTIONS=detect_leaks=0:$(SAN_SIGNALS) UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		$(MAKE) BUILD=build-asan run-tests
	$(MAKE) BUILD=build-tsan LIB_SAN="$(TSAN_FLAGS)" $(TSAN_UNITS:%=build-tsan/tests/%)
	TSAN_OPTIONS=halt_on_error=1 BUILD=build-tsan tests/run.sh $(TSAN_UNITS:%=build-tsan/tests/%)

.PHONY: tests check deps run-tests sanitize
