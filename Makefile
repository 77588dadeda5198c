# initsafe — see README.md. Targets: all (default), check, demo, bench,
# install, clean, sanitize, fuzz.
CC      ?= cc
BUILD   ?= build
PREFIX  ?= /usr/local

WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
BASE    := -std=c11 -D_GNU_SOURCE -g $(WARN) -Iinclude -Ipreload
# EXTRA_CFLAGS/EXTRA_LDFLAGS reach everything; LIB_SAN only the library and
# the unit tests built from its sources (make sanitize's TSan phase).
LIBFLAGS:= $(BASE) -O2 -fPIC -fvisibility=hidden -fno-strict-aliasing $(EXTRA_CFLAGS) $(LIB_SAN)
# Every process of the container maps the library: two LOAD segments
# (noseparate-code) and no RELRO page save page faults at each exec
# (make bench-flags); lazy binding stays, -z now costs 3x the instructions.
LDLIB   := -shared -Wl,-z,defs -Wl,--as-needed -Wl,-z,noexecstack \
	   -Wl,-z,noseparate-code -Wl,-z,norelro $(EXTRA_LDFLAGS) $(LIB_SAN)

LIB_C   := $(wildcard preload/*.c)
LIB_S   := $(wildcard preload/*.S)
LIB_OBJ := $(LIB_C:preload/%.c=$(BUILD)/obj/%.o) $(LIB_S:preload/%.S=$(BUILD)/obj/%.o)

CRASH_MOD := $(BUILD)/libinitsafe-crash.so

all: $(BUILD)/libinitsafe.so $(CRASH_MOD)

$(BUILD)/obj/%.o: preload/%.c preload/*.h include/initsafe.h | $(BUILD)/obj
	$(CC) $(LIBFLAGS) -c -o $@ $<

$(BUILD)/obj/%.o: preload/%.S | $(BUILD)/obj
	$(CC) $(LIBFLAGS) -c -o $@ $<

$(BUILD)/libinitsafe.so: $(LIB_OBJ)
	$(CC) $(LIBFLAGS) $(LDLIB) -o $@ $(LIB_OBJ)

# The unwinder is a module of its own: only an active PID 1 loads it.
$(CRASH_MOD): preload/crashmod/crash_unwind.c preload/crashmod/crash_module.h
	$(CC) $(LIBFLAGS) $(LDLIB) -Ipreload/crashmod -o $@ $< -lunwind

$(BUILD)/obj $(BUILD)/tests $(BUILD)/apps:
	mkdir -p $@

include tests/tests.mk
include demo/demo.mk
include tests/bench/bench.mk
include tests/fuzz/fuzz.mk

install: all
	install -d $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include
	install -m 0755 $(BUILD)/libinitsafe.so $(CRASH_MOD) $(DESTDIR)$(PREFIX)/lib/
	install -m 0644 include/initsafe.h $(DESTDIR)$(PREFIX)/include/

clean:
	rm -rf $(BUILD)

.PHONY: all install clean
