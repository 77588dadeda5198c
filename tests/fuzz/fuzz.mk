# libFuzzer target for the INITSAFE_* parser (preload/config.c), see
# tests/fuzz/fuzz_config.c. Included from the Makefile:
#
#   make fuzz         at least FUZZ_RUNS (10^6) executions, corpus kept in
#                     $(BUILD)/fuzz/corpus between runs
#   make fuzz-smoke   a short bounded round for CI: FUZZ_SMOKE_RUNS
#                     executions or FUZZ_SMOKE_SECONDS, whichever ends first
#
# Needs clang (libFuzzer comes with it). A broken invariant or a sanitizer
# report stops the run with a non-zero status and leaves the input in
# $(BUILD)/fuzz/crash-*; replay it with $(BUILD)/fuzz/fuzz_config FILE.
FUZZ_CC            ?= clang
FUZZ_RUNS          ?= 1000000
FUZZ_SMOKE_RUNS    ?= 20000
FUZZ_SMOKE_SECONDS ?= 20
FUZZ_DIR           := $(BUILD)/fuzz
FUZZ_BIN           := $(FUZZ_DIR)/fuzz_config
FUZZ_CFLAGS        := -std=c11 -D_GNU_SOURCE -g -O1 $(WARN) -Iinclude -Ipreload \
		      -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
		      -fno-omit-frame-pointer
# Values up to 4 KiB: longer ones only repeat what the parser already cut.
FUZZ_OPTS          := -dict=tests/fuzz/config.dict -max_len=4096 -print_final_stats=1 \
		      -artifact_prefix=$(FUZZ_DIR)/

$(FUZZ_BIN): tests/fuzz/fuzz_config.c preload/config.c preload/config.h include/initsafe.h
	mkdir -p $(FUZZ_DIR)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ tests/fuzz/fuzz_config.c preload/config.c

# New inputs go to the first directory; tests/fuzz/seeds is only read.
fuzz: $(FUZZ_BIN)
	mkdir -p $(FUZZ_DIR)/corpus
	$(FUZZ_BIN) $(FUZZ_OPTS) -runs=$(FUZZ_RUNS) $(FUZZ_DIR)/corpus tests/fuzz/seeds

fuzz-smoke: $(FUZZ_BIN)
	rm -rf $(FUZZ_DIR)/smoke-corpus
	mkdir -p $(FUZZ_DIR)/smoke-corpus
	$(FUZZ_BIN) $(FUZZ_OPTS) -runs=$(FUZZ_SMOKE_RUNS) -max_total_time=$(FUZZ_SMOKE_SECONDS) \
		$(FUZZ_DIR)/smoke-corpus tests/fuzz/seeds

.PHONY: fuzz fuzz-smoke
