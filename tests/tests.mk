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

# Each unit test names the library sources it needs in a "// sources:" line.
unit_sources = $(shell sed -n 's|^// sources: *||p' $(1))

.SECONDEXPANSION:
$(BUILD)/tests/test_%: tests/unit/test_%.c $$(call unit_sources,tests/unit/test_%.c) preload/*.h | $(BUILD)/tests
	$(CC) $(TEST_CFLAGS) -o $@ $< $(call unit_sources,$<) $(TEST_LIBS)

$(BUILD)/tests/test_%: tests/integration/test_%.c tests/integration/harness.c tests/integration/harness.h | $(BUILD)/tests
	$(CC) $(TEST_CFLAGS) -Itests/integration -o $@ $< tests/integration/harness.c $(TEST_LIBS)

$(BUILD)/apps/%: tests/apps/%.c | $(BUILD)/apps
	$(CC) $(TEST_CFLAGS) -o $@ $< -lpthread

tests: $(BUILD)/libinitsafe.so $(CRASH_MOD) $(UNIT_BINS) $(INTEG_BINS) $(APP_BINS)

check: deps
	$(MAKE) tests
	BUILD=$(BUILD) tests/run.sh $(UNIT_BINS) $(INTEG_BINS)

deps:
	@tests/deps.sh

.PHONY: tests check deps
