# shellcheck shell=bash disable=SC2034  # SETUPS etc. are used by the scripts that source this
# Shared by demo/run.sh and demo/containers.sh (sourced, not run).
#
# Results go to a summary file (tab-separated: experiment, then one cell per
# setup) that print_summary turns into the table; what initsafe got wrong
# goes to a failures file. Both live in $DEMO_OUT, so the two scripts can
# add to the same table.

BUILD=${BUILD:-build}
DEMO_OUT=${DEMO_OUT:-$BUILD/demo/results}
SUMMARY=$DEMO_OUT/summary.tsv
FAILURES=$DEMO_OUT/failures.txt
SETUPS=(none initsafe tini dumb-init)

LIB=$(realpath "$BUILD/libinitsafe.so")
NSRUN=$(realpath "$BUILD/demo/nsrun")

# ---- narration ----

# step N TEXT: the header line of an experiment.
step() { printf '\n[%s] %s\n' "$1" "$2"; }
# note TEXT: an explanation under the header.
note() { printf '    %s\n' "$*"; }
# line SETUP TEXT: what one setup did.
line() { printf '    %-10s %s\n' "${1:+$1:}" "$2"; }

# ---- results ----

# reset_results: an empty table and no failure (run.sh does it once).
reset_results() {
	mkdir -p "$DEMO_OUT"
	: >"$SUMMARY"
	: >"$FAILURES"
}

# row EXPERIMENT CELL...: one line of the table.
row() {
	local IFS=$'\t'
	printf '%s\n' "$*" >>"$SUMMARY"
}

# expect DESCRIPTION CONDITION...: runs CONDITION (a command); when it
# fails, initsafe did not show the expected outcome.
expect() {
	local what=$1
	shift
	if ! "$@"; then
		printf '%s\n' "$what" >>"$FAILURES"
		printf '    !! initsafe: expected %s\n' "$what"
	fi
}

# field FILE KEY: the value of KEY in nsrun's result line.
field() { sed -n "s/.*\\b$2=\\([^ ]*\\).*/\\1/p" "$1"; }

# print_summary: the table, aligned, and the failures. Returns 1 if any.
print_summary() {
	printf '\n## Summary\n\n'
	awk -F'\t' '
		{ for (i = 1; i <= NF; i++) { cell[NR, i] = $i; if (length($i) > w[i]) w[i] = length($i) }
		  if (NF > nf) nf = NF }
		END {
			split("experiment|none|initsafe|tini|dumb-init", head, "|")
			for (i = 1; i <= nf; i++) if (length(head[i]) > w[i]) w[i] = length(head[i])
			line = "|"; sep = "|"
			for (i = 1; i <= nf; i++) {
				line = line sprintf(" %-*s |", w[i], head[i])
				sep = sep sprintf("%s|", dashes(w[i] + 2))
			}
			print line; print sep
			for (r = 1; r <= NR; r++) {
				line = "|"
				for (i = 1; i <= nf; i++) line = line sprintf(" %-*s |", w[i], cell[r, i])
				print line
			}
		}
		function dashes(n,   s) { s = ""; while (n-- > 0) s = s "-"; return s }
	' "$SUMMARY"
	if [ -s "$FAILURES" ]; then
		printf '\nFAILED: initsafe did not show the expected outcome:\n'
		sed 's/^/  - /' "$FAILURES"
		return 1
	fi
	printf '\ninitsafe: every expected outcome seen.\n'
}

# ---- running a namespace ----

# ns SETUP RESULT [NSRUN OPTION...] -- CMD...: runs CMD as PID 1 of a new
# PID + mount namespace under SETUP (none, initsafe = LD_PRELOAD, tini and
# dumb-init = wrapper in front of CMD). nsrun's result line goes to RESULT,
# PID 1's output to RESULT.log. A safety timeout of 30 s applies.
ns() {
	local setup=$1 result=$2
	shift 2
	local opts=() pre=() wrap=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		opts+=("$1")
		shift
	done
	shift
	case $setup in
	none) ;;
	initsafe) pre=(--preload "$LIB") ;;
	tini) wrap=(tini --) ;;
	dumb-init) wrap=(dumb-init) ;;
	*) echo "demo: unknown setup $setup" >&2; return 2 ;;
	esac
	"$NSRUN" "${pre[@]}" --timeout 30000 --result "$result" "${opts[@]}" -- "${wrap[@]}" "$@" \
		>"$result.log" 2>&1 || true
}
