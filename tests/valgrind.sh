#!/usr/bin/env bash
# valgrind (memcheck) over the cmocka unit tests, and over a small app run
# as PID 1 of a new PID namespace with the library preloaded:
#
#   BUILD=build tests/valgrind.sh
#
# A run fails on any memcheck error (invalid read/write, use of
# uninitialised values, bad free...) or definite leak, which memcheck turns
# into exit status 99 (--error-exitcode; 99 rather than 1 so that it is
# told apart from a program's own failure), on a crash, on valgrind's own
# panic, and after RUN_TIMEOUT seconds. The PID-1 app must also pass its
# own checks (exit 0 and "vg-app: ok").
#
# The unit tests' own verdicts under valgrind are shown but not counted:
# valgrind emulates signals (sigaction read-back flags, delivery at its
# scheduler's points rather than on return from raise), so test_sigtable's
# glibc-fidelity tests cannot pass there. make check runs them natively.
#
# valgrind runs the PID-1 app itself (valgrind is PID 1, its client the
# app, in the same process): LD_PRELOAD is set in valgrind's environment
# and valgrind adds it after its own preloads for the client. The /bin/sh
# wrapper that Debian's valgrind is and valgrind's launcher load the
# library too, as PID 1, before they exec: harmless, an exec ends that.
# valgrind 3.19 does not know pidfd_open; the library does not need it.
#
# Needs root (unshare --pid), valgrind, and `make tests` done (the unit test
# binaries, $BUILD/libinitsafe.so and $BUILD/apps/hard_vg). The last line
# is "valgrind: N passed, M failed"; the exit status is non-zero when a run
# failed or none ran. VALGRIND_LOG_DIR keeps the logs (default: removed).
set -u

BUILD=${BUILD:-build}
VG_ERRORS=99
RUN_TIMEOUT=${RUN_TIMEOUT:-300}
VALGRIND=(valgrind --error-exitcode=$VG_ERRORS --leak-check=full --errors-for-leak-kinds=definite
	--show-leak-kinds=definite --num-callers=30)
MINIMAL_PATH=/usr/sbin:/usr/bin:/sbin:/bin

if ! command -v valgrind >/dev/null; then
	echo "valgrind.sh: valgrind is not installed (apt-get install valgrind)" >&2
	echo "valgrind: 0 passed, 1 failed"
	exit 1
fi

logs=${VALGRIND_LOG_DIR:-}
if [ -z "$logs" ]; then
	logs=$(mktemp -d) || exit 2
	trap 'rm -rf "$logs"' EXIT
else
	mkdir -p "$logs" || exit 2
fi

passed=0
failed=0
last_ok=0

# run KIND NAME COMMAND...: runs the command (under timeout) with its output
# in $logs/NAME.log. KIND "unit": only memcheck's verdict counts; "app": the
# command must also exit 0.
run() {
	local kind=$1 name=$2
	shift 2
	local log="$logs/$name.log"
	echo "== valgrind $name"
	timeout -k 10 "$RUN_TIMEOUT" "$@" >"$log" 2>&1
	local status=$? verdict=ok
	if [ "$status" -eq "$VG_ERRORS" ]; then
		verdict="memcheck found errors"
	elif grep -q "the 'impossible' happened" "$log"; then
		verdict="valgrind panicked"
	elif [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
		verdict="no end after $RUN_TIMEOUT s"
	elif [ "$status" -ge 128 ]; then
		verdict="killed by signal $((status - 128))"
	elif [ "$status" -ne 0 ] && [ "$kind" = app ]; then
		verdict="exit status $status"
	fi
	last_ok=$([ "$verdict" = ok ] && echo 1 || echo 0)
	if [ "$verdict" = ok ]; then
		passed=$((passed + 1))
		grep -E "ERROR SUMMARY|definitely lost" "$log" | sort | uniq -c | sed 's/^/   /'
		if [ "$status" -ne 0 ]; then
			echo "   note: exit status $status under valgrind (its own test verdicts, not counted):"
			grep -E "^\[  (FAILED|ERROR)" "$log" | sed 's/^/     /'
		fi
	else
		failed=$((failed + 1))
		echo "valgrind.sh: $name: $verdict; its output:" >&2
		cat "$log" >&2
	fi
}

# The unit tests: every tests/unit/test_X.c is built as $BUILD/tests/test_X.
for src in tests/unit/test_*.c; do
	name=$(basename "$src" .c)
	bin="$BUILD/tests/$name"
	if [ ! -x "$bin" ]; then
		echo "valgrind.sh: $bin is missing (make tests)" >&2
		failed=$((failed + 1))
		continue
	fi
	run unit "$name" "${VALGRIND[@]}" "$bin"
done

# The app as PID 1 with the preload, under valgrind.
lib=$(realpath -e "$BUILD/libinitsafe.so" 2>/dev/null)
app=$(realpath -e "$BUILD/apps/hard_vg" 2>/dev/null)
if [ -z "$lib" ] || [ -z "$app" ]; then
	echo "valgrind.sh: $BUILD/libinitsafe.so or $BUILD/apps/hard_vg is missing (make tests)" >&2
	failed=$((failed + 1))
else
	run app pid1_app env -i PATH="$MINIMAL_PATH" HOME=/root LD_PRELOAD="$lib" \
		unshare --pid --fork --mount-proc --kill-child \
		"${VALGRIND[@]}" --trace-children=no --child-silent-after-fork=yes "$app"
	if [ "$last_ok" -eq 1 ] && ! grep -q "^vg-app: ok$" "$logs/pid1_app.log"; then
		echo "valgrind.sh: pid1_app exited 0 without saying \"vg-app: ok\"" >&2
		cat "$logs/pid1_app.log" >&2
		passed=$((passed - 1))
		failed=$((failed + 1))
	fi
fi

echo "valgrind: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
