#!/usr/bin/env bash
# Runs cmocka test binaries one after the other, shows their output and
# sums up their results:
#
#   tests/run.sh BIN...
#
# Counts come from cmocka's summary lines "[  PASSED  ] N test(s)." and
# "[  FAILED  ] N test(s)"; a binary that exits non-zero without a FAILED
# summary (a crash, a missing file) counts as one failed test. The last line
# is "check: N passed, N failed"; the exit status is non-zero when a test
# failed or when no test ran at all.
set -u

# The output format whose summary lines are parsed below.
export CMOCKA_MESSAGE_OUTPUT=STDOUT

log=$(mktemp) || exit 2
trap 'rm -f "$log"' EXIT

# The sum of N over the "[  $1  ] N test(s)" lines of the last binary. Not
# anchored: with stdout and stderr merged, a summary may follow other text.
sum_of() {
	grep -o "\[  $1  \] [0-9]\+ test(s)" "$log" | awk '{ n += $4 } END { print n + 0 }'
}

passed=0
failed=0
for bin in "$@"; do
	echo "== $bin"
	"$bin" 2>&1 | tee "$log"
	status=${PIPESTATUS[0]}
	bin_passed=$(sum_of PASSED)
	bin_failed=$(sum_of FAILED)
	if [ "$status" -ne 0 ] && [ "$bin_failed" -eq 0 ]; then
		echo "run.sh: $bin exited with status $status and no FAILED summary" >&2
		bin_failed=1
	fi
	passed=$((passed + bin_passed))
	failed=$((failed + bin_failed))
done

echo "check: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
