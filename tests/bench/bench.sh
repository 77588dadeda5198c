#!/usr/bin/env bash
# make bench (issue #6): initsafe against tini, dumb-init, catatonit and no
# init at all, side by side.
#
#   tests/bench/bench.sh          every metric, the table, build/bench/*.csv,
#                                 build/bench/bench.svg
#   tests/bench/bench.sh flags    link-flag variants of libinitsafe.so, built
#                                 from the same objects into build/bench/
#   tests/bench/bench.sh report   the table and plot again from the CSVs
#
# Every metric runs its setups interleaved (A B C D E A B C D E ...), RUNS
# times (default 10), and reports the median [min–max]. The measuring is
# done by build/bench/nsbench (tests/bench/nsbench.c), which makes each PID
# namespace itself and times with CLOCK_MONOTONIC. Environment knobs:
# BENCH_RUNS, BENCH_ORPHANS (5000), BENCH_RAISES (1000000), BENCH_LOOPS (2000),
# BENCH_IDLE_MS (5000), BENCH_CALLGRIND (1; 0 skips valgrind).
set -euo pipefail

BUILD=${BUILD:-build}
B=$(cd "$BUILD" && pwd)
OUT=$B/bench
NS=$OUT/nsbench
LIB=$B/libinitsafe.so
EMPTY=$OUT/libempty.so
RUNS=${BENCH_RUNS:-10}
ORPHANS=${BENCH_ORPHANS:-5000}
RAISES=${BENCH_RAISES:-1000000}
LOOPS=${BENCH_LOOPS:-2000}
IDLE_MS=${BENCH_IDLE_MS:-5000}
CALLGRIND=${BENCH_CALLGRIND:-1}
SETUPS=(none initsafe tini dumb-init catatonit)
PEERS=(tini dumb-init catatonit)
MANAGED_USR1=INITSAFE_SIGNALS=TERM,INT,HUP,QUIT,USR1
SH_LOOP='i=0; while [ $i -lt '"$LOOPS"' ]; do /bin/true; i=$((i+1)); done'
T_START=$(date +%s)

export LC_ALL=C
# Only what each setup asks for: no preload, no init settings from outside.
for v in LD_PRELOAD ${!INITSAFE_@} ${!TINI_@} ${!DUMB_INIT_@} ${!CATATONIT_@}; do
	unset "$v"
done
if [ "$(id -u)" -ne 0 ]; then
	echo "bench: needs root (it makes PID and mount namespaces)" >&2
	exit 1
fi
mkdir -p "$OUT"
for f in "$NS" "$OUT/startapp" "$OUT/raiser" "$EMPTY" "$LIB"; do
	[ -e "$f" ] || { echo "bench: $f is missing (run make bench)" >&2; exit 2; }
done

say() { printf 'bench [%3ds] %s\n' $(($(date +%s) - T_START)) "$*" >&2; }

# nsbench options (OPTS) and wrapper words (WRAP) of a setup.
setup_args() {
	OPTS=()
	WRAP=()
	case $1 in
	none | direct) ;;
	initsafe) OPTS=(-e "LD_PRELOAD=$LIB" -t initsafe-reap) ;;
	initsafe0) OPTS=(-e "LD_PRELOAD=$LIB" -e INITSAFE_REAP_GRACE=0 -t initsafe-reap) ;;
	initsafe-nocrash) OPTS=(-e "LD_PRELOAD=$LIB" -e INITSAFE_CRASH=0 -t initsafe-reap) ;;
	tini) WRAP=(tini --) ;;
	dumb-init) WRAP=(dumb-init) ;;
	catatonit) WRAP=(catatonit --) ;;
	*) echo "bench: unknown setup $1" >&2; exit 2 ;;
	esac
}

# ns MODE SETUP [nsbench options] -- CMD...: one sample, one line.
ns() {
	local mode=$1 setup=$2 extra=()
	shift 2
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		extra+=("$1")
		shift
	done
	shift
	setup_args "$setup"
	"$NS" "$mode" "${OPTS[@]}" "${extra[@]}" -- "${WRAP[@]}" "$@"
}

# ---- statistics ----

# stats CSV SETUP COLUMN -> "median min max n" over the rows of SETUP.
stats() {
	awk -F, -v s="$2" -v c="$3" '
		NR == 1 { for (i = 1; i <= NF; i++) if ($i == c) k = i; next }
		$2 == s && k && $k != "" { print $k }' "$1" |
		sort -g |
		awk '{ v[NR] = $1 }
		END {
			if (NR == 0) { print "nan nan nan 0"; exit }
			m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
			print m, v[1], v[NR], NR
		}'
}

# num X: 3 significant digits, no exponent.
num() {
	awk -v x="$1" 'BEGIN {
		if (x == "nan") { print "—"; exit }
		a = x < 0 ? -x : x
		if (a >= 100) printf "%.0f\n", x
		else if (a >= 10) printf "%.1f\n", x
		else if (a >= 1) printf "%.2f\n", x
		else printf "%.3f\n", x
	}'
}

# cell CSV SETUP COLUMN SCALE: "median [min–max]" divided by SCALE; also
# appends "METRIC SETUP median min max" to the summary (for the plot).
SUMMARY=$OUT/summary.tsv
cell() {
	local csv=$1 setup=$2 col=$3 scale=$4 metric=${5:-} m lo hi n
	read -r m lo hi n < <(stats "$csv" "$setup" "$col")
	if [ "$n" = 0 ]; then
		echo "—"
		return
	fi
	m=$(awk -v x="$m" -v s="$scale" 'BEGIN { print x / s }')
	lo=$(awk -v x="$lo" -v s="$scale" 'BEGIN { print x / s }')
	hi=$(awk -v x="$hi" -v s="$scale" 'BEGIN { print x / s }')
	[ -n "$metric" ] && printf '%s\t%s\t%s\t%s\t%s\n' "$metric" "$setup" "$m" "$lo" "$hi" >>"$SUMMARY"
	echo "$(num "$m") [$(num "$lo")–$(num "$hi")]"
}

median() { stats "$@" | cut -d' ' -f1; }

# target METRIC VALUE: the dashed line of a metric in the plot.
target() { printf 'target\t%s\t%s\n' "$1" "$2" >>"$SUMMARY"; }

# ratio A B -> A/B with 2 decimals.
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN {
		if (a == "nan" || b == "nan") print "nan"
		else if (b == 0) print (a == 0 ? "1.00" : "inf")
		else printf "%.2f\n", a / b
	}'
}
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a != "nan" && a <= b) }'; }
verdict() { if le "$1" "$2"; then echo "met"; else echo "**missed**"; fi; }

# ---- the metrics ----

metric_stop() {
	local csv=$OUT/stop.csv out
	say "stop latency: sh -c 'sleep 1000; true' as PID 1, TERM from outside ($RUNS runs)"
	echo "run,setup,status,ns,exit" >"$csv"
	for r in $(seq "$RUNS"); do
		for s in "${SETUPS[@]}"; do
			local timeout=10000
			[ "$s" = none ] && timeout=1000
			out=$(ns stop "$s" -T "$timeout" -q -- sh -c 'sleep 1000; true')
			set -- $out
			if [ "$1" = timeout ]; then
				echo "$r,$s,timeout,,$3" >>"$csv"
			else
				echo "$r,$s,ok,$1,$2" >>"$csv"
			fi
		done
	done
}

metric_storm() {
	local csv=$OUT/storm.csv out setups=(none initsafe0 initsafe tini dumb-init catatonit)
	say "orphan storm: $ORPHANS orphans from a setns'ed session ($RUNS runs)"
	echo "run,setup,status,last_to_zero_ns,go_to_zero_ns,peak,go_to_last_ns,spawn_ns,cpu_ns,left" >"$csv"
	for r in $(seq "$RUNS"); do
		for s in "${setups[@]}"; do
			local timeout=10000
			[ "$s" = none ] && timeout=300
			out=$(ns storm "$s" -n "$ORPHANS" -T "$timeout" -q -x initsafe-idle -- sleep 1000)
			set -- $out
			if [ "$1" = timeout ]; then
				echo "$r,$s,timeout,,,$3,$4,$5,,$7" >>"$csv"
			else
				echo "$r,$s,ok,$1,$2,$3,$4,$5,$7,0" >>"$csv"
			fi
		done
	done
}

metric_mem() {
	local csv=$OUT/mem.csv out
	say "memory: smaps_rollup of PID 1 running sleep 1000 ($RUNS runs)"
	echo "run,setup,rss_kib,pss_kib,pss_anon_kib,pss_file_kib,private_dirty_kib,anon_kib" >"$csv"
	for r in $(seq "$RUNS"); do
		for s in "${SETUPS[@]}" initsafe-nocrash; do
			local keep=()
			[ "$r" = 1 ] && keep=(-M "$OUT/smaps-$s.txt")
			out=$(ns mem "$s" -s 100 -q "${keep[@]}" -- sleep 1000)
			echo "$r,$s,${out// /,}" >>"$csv"
		done
	done
	# What the init costs: initsafe = PID 1 with minus without the preload
	# (same run); a wrapper = its own process.
	awk -F, 'NR == 1 { print; next }
		{ row[$1, $2] = $0; runs[$1] = 1 }
		END {
			for (r in runs) {
				split(row[r, "none"], base, ",")
				n = split("initsafe initsafe-nocrash tini dumb-init catatonit", names, " ")
				print r ",none,0,0,0,0,0,0"
				for (i = 1; i <= n; i++) {
					split(row[r, names[i]], v, ",")
					line = r "," names[i]
					for (k = 3; k <= 8; k++)
						line = line "," (names[i] ~ /^initsafe/ ? v[k] - base[k] : v[k])
					print line
				}
			}
		}' "$csv" | sort -t, -k1,1n >"$OUT/mem-extra.csv"
}

metric_loop() {
	local csv=$OUT/inherited.csv out
	say "inherited cost: $LOOPS fork+exec of /bin/true by sh ($RUNS runs)"
	echo "run,setup,wall_ns,user_us,sys_us,minflt,vcsw,ivcsw" >"$csv"
	for r in $(seq "$RUNS"); do
		for s in none empty initsafe; do
			local env=()
			case $s in
			empty) env=(-e "LD_PRELOAD=$EMPTY") ;;
			initsafe) env=(-e "LD_PRELOAD=$LIB") ;;
			esac
			out=$("$NS" loop "${env[@]}" -- sh -c "$SH_LOOP")
			echo "$r,$s,${out// /,}" >>"$csv"
		done
	done
}

metric_dispatch() {
	local csv=$OUT/dispatch.csv out
	say "signal dispatch: $RAISES raise(SIGUSR1) with a handler, as PID 1 ($RUNS runs)"
	echo "run,setup,ns_per_raise" >"$csv"
	for r in $(seq "$RUNS"); do
		out=$("$NS" run -- "$OUT/raiser" "$RAISES")
		echo "$r,direct,${out%% *}" >>"$csv"
		out=$("$NS" run -e "LD_PRELOAD=$LIB" -e "$MANAGED_USR1" -- "$OUT/raiser" "$RAISES")
		echo "$r,initsafe,${out%% *}" >>"$csv"
	done
}

metric_idle() {
	local csv=$OUT/idle.csv groups=() s state cmd
	say "idle: context switches of the init machinery over $((IDLE_MS / 1000)) s, all setups at once"
	for state in nochild child; do
		if [ $state = nochild ]; then cmd=(sleep 1000); else cmd=(sh -c 'sleep 1000; true'); fi
		for s in initsafe tini dumb-init catatonit; do
			setup_args "$s"
			[ ${#groups[@]} -gt 0 ] && groups+=(---)
			groups+=("$s/$state" "${OPTS[@]}" "${WRAP[@]}" "${cmd[@]}")
		done
	done
	local head="state,setup,total" k
	for k in $(seq "$RUNS"); do head="$head,slice$k"; done
	echo "$head" >"$csv"
	"$NS" idle -S "$IDLE_MS" -k "$RUNS" -s 300 -q -x initsafe-idle -- "${groups[@]}" |
		while read -r label rest; do
			echo "${label#*/},${label%/*},${rest// /,}"
		done >>"$csv"
}

metric_startup() {
	local csv=$OUT/startup.csv out
	say "startup: exec of PID 1 -> main of the app ($RUNS runs)"
	echo "run,setup,ns" >"$csv"
	for r in $(seq "$RUNS"); do
		for s in "${SETUPS[@]}" initsafe-nocrash; do
			out=$(ns startup "$s" -- "$OUT/startapp")
			echo "$r,$s,$out" >>"$csv"
		done
	done
}

# ---- instruction counts (callgrind: repeatable) ----

# ir FILE: total instructions of a callgrind output (signal handlers included).
ir() { awk '/^totals:/ { t = $2 } /^summary:/ { s = $2 } END { print t ? t : s }' "$1"; }

# fn_ir FILE FUNCTION: inclusive instructions of one function.
fn_ir() {
	callgrind_annotate --inclusive=yes --threshold=100 "$1" 2>/dev/null |
		awk -v f="$2" '$0 ~ (":" f "[ (]|:" f "$") { gsub(",", "", $1); print $1; exit }'
}

# obj_ir FILE PATTERN: exclusive instructions spent in the objects matching PATTERN.
obj_ir() {
	callgrind_annotate --inclusive=no --threshold=100 "$1" 2>/dev/null |
		awk -v p="$2" '/^ *[0-9,]+ \(/ && /\[/ {
			o = $0; sub(/.*\[/, "", o); sub(/\].*/, "", o)
			if (o ~ p) { c = $1; gsub(",", "", c); sum += c }
		} END { print sum + 0 }'
}

metric_callgrind() {
	local csv=$OUT/callgrind.csv d=$OUT/callgrind v f
	[ "$CALLGRIND" = 1 ] || return 0
	command -v valgrind >/dev/null || { say "callgrind: no valgrind, skipped"; return 0; }
	say "callgrind: process start (inert path) and the dispatcher"
	mkdir -p "$d"
	echo "what,variant,ir" >"$csv"
	for v in none empty initsafe; do
		f=$d/start-$v.out
		case $v in
		none) timeout 120 valgrind -q --tool=callgrind --callgrind-out-file="$f" /bin/true ;;
		empty) LD_PRELOAD=$EMPTY timeout 120 valgrind -q --tool=callgrind --callgrind-out-file="$f" /bin/true ;;
		initsafe) LD_PRELOAD=$LIB timeout 120 valgrind -q --tool=callgrind --callgrind-out-file="$f" /bin/true ;;
		esac
		echo "start,$v,$(ir "$f")" >>"$csv"
	done
	for v in none empty initsafe; do
		echo "in-ldso,$v,$(obj_ir "$d/start-$v.out" 'ld-linux')" >>"$csv"
		echo "in-libc,$v,$(obj_ir "$d/start-$v.out" 'libc[.]so')" >>"$csv"
	done
	echo "in-preload,empty,$(obj_ir "$d/start-empty.out" 'libempty[.]so')" >>"$csv"
	echo "in-preload,initsafe,$(obj_ir "$d/start-initsafe.out" 'libinitsafe[.]so')" >>"$csv"
	# Per raise: the difference between 11000 and 1000 raises, / 10000.
	# INITSAFE_REAP=0: valgrind as PID 1 with a second thread sometimes
	# panics at exit ("signal was supposed to be fatal"); the dispatcher
	# does not depend on the reaper.
	local n ok=1
	for v in direct initsafe; do
		for n in 1000 11000; do
			f=$d/raise-$v-$n.out
			rm -f "$f"
			if [ $v = direct ]; then
				timeout 120 "$NS" run -q -- valgrind -q --tool=callgrind --callgrind-out-file="$f" "$OUT/raiser" $n || true
			else
				timeout 120 "$NS" run -q -e "LD_PRELOAD=$LIB" -e "$MANAGED_USR1" -e INITSAFE_REAP=0 -- \
					valgrind -q --tool=callgrind --callgrind-out-file="$f" "$OUT/raiser" $n || true
			fi
			[ -s "$f" ] || { say "callgrind: $f missing (valgrind failed)"; ok=0; }
		done
	done
	[ $ok = 1 ] || return 0
	for v in direct initsafe; do
		echo "raise,$v,$(awk -v a="$(ir "$d/raise-$v-11000.out")" -v b="$(ir "$d/raise-$v-1000.out")" \
			'BEGIN { printf "%.0f\n", (a - b) / 10000 }')" >>"$csv"
	done
	echo "dispatcher,initsafe,$(awk -v a="$(fn_ir "$d/raise-initsafe-11000.out" dispatch_signal)" \
		-v b="$(fn_ir "$d/raise-initsafe-1000.out" dispatch_signal)" \
		'BEGIN { printf "%.0f\n", (a - b) / 10000 }')" >>"$csv"
}

cg() { awk -F, -v w="$1" -v v="$2" '$1 == w && $2 == v { print $3 }' "$OUT/callgrind.csv" 2>/dev/null; }

# ---- the report ----

best_peer() { # CSV COLUMN -> the smallest peer median
	local best=nan p m
	for p in "${PEERS[@]}"; do
		m=$(median "$1" "$p" "$2")
		if [ "$best" = nan ] || awk -v a="$m" -v b="$best" 'BEGIN { exit !(a < b) }'; then
			best=$m
		fi
	done
	echo "$best"
}

report() {
	local q="$OUT/stop.csv" m best r
	: >"$SUMMARY"
	echo
	echo "## initsafe vs tini, dumb-init, catatonit and no init"
	echo
	echo "median [min–max] of $RUNS runs each, setups interleaved; $(nproc) cores, $(uname -r);" \
		"load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
	echo
	echo "| metric | none | initsafe | tini | dumb-init | catatonit | target | initsafe vs target |"
	echo "| --- | --- | --- | --- | --- | --- | --- | --- |"

	# stop latency
	local none_cell
	if grep -q ',none,timeout,' "$q"; then none_cell="ignored (killed at timeout, 1 s)"; else none_cell=$(cell "$q" none ns 1e6); fi
	printf '| stop latency, ms (TERM → namespace gone) | %s | %s | %s | %s | %s |' "$none_cell" \
		"$(cell "$q" initsafe ns 1e6 stop)" "$(cell "$q" tini ns 1e6 stop)" \
		"$(cell "$q" dumb-init ns 1e6 stop)" "$(cell "$q" catatonit ns 1e6 stop)"
	m=$(median "$q" initsafe ns) best=$(best_peer "$q" ns) r=$(ratio "$m" "$best")
	echo " ≤ best peer ($(num "$(awk -v x="$best" 'BEGIN { print x / 1e6 }')")) | ${r}× best peer: $(verdict "$r" 1) |"
	target stop "$(awk -v x="$best" 'BEGIN { print x / 1e6 }')"

	# orphan storm
	q=$OUT/storm.csv
	if grep -q ',none,timeout,' "$q"; then none_cell="never reaped ($ORPHANS zombies left)"; else none_cell=$(cell "$q" none last_to_zero_ns 1e6); fi
	printf '| orphan storm, ms from the last orphan exit to 0 zombies (initsafe: INITSAFE_REAP_GRACE=0) | %s | %s | %s | %s | %s |' \
		"$none_cell" "$(cell "$q" initsafe0 last_to_zero_ns 1e6 storm)" "$(cell "$q" tini last_to_zero_ns 1e6 storm)" \
		"$(cell "$q" dumb-init last_to_zero_ns 1e6 storm)" "$(cell "$q" catatonit last_to_zero_ns 1e6 storm)"
	m=$(median "$q" initsafe0 last_to_zero_ns) best=$(best_peer "$q" last_to_zero_ns) r=$(ratio "$m" "$best")
	echo " ≤ best peer ($(num "$(awk -v x="$best" 'BEGIN { print x / 1e6 }')")) | ${r}× best peer: $(verdict "$r" 1) |"
	target storm "$(awk -v x="$best" 'BEGIN { print x / 1e6 }')"
	echo "| orphan storm, same, initsafe with its default INITSAFE_REAP_GRACE (50 ms) | | $(cell "$q" initsafe last_to_zero_ns 1e6) | | | | (reported) | |"
	echo "| orphan storm, peak zombies (sampled every ≥5 ms) | $(cell "$q" none peak 1) | $(cell "$q" initsafe0 peak 1) (default grace: $(num "$(median "$q" initsafe peak)")) | $(cell "$q" tini peak 1) | $(cell "$q" dumb-init peak 1) | $(cell "$q" catatonit peak 1) | | |"
	echo "| orphan storm, CPU of PID 1 per orphan, µs (go → 0 zombies) | | $(cell "$q" initsafe0 cpu_ns $((ORPHANS * 1000))) (default grace: $(num "$(awk -v x="$(median "$q" initsafe cpu_ns)" -v n="$ORPHANS" 'BEGIN { print x / n / 1000 }')")) | $(cell "$q" tini cpu_ns $((ORPHANS * 1000))) | $(cell "$q" dumb-init cpu_ns $((ORPHANS * 1000))) | $(cell "$q" catatonit cpu_ns $((ORPHANS * 1000))) | | |"

	# memory
	q=$OUT/mem-extra.csv
	local col
	for col in rss_kib pss_kib; do
		local name=${col%_kib}
		printf '| memory, extra %s KiB (initsafe: PID 1 with − without the preload; wrapper: its process) | 0 (sleep alone: %s) | %s | %s | %s | %s |' \
			"${name^}" "$(num "$(median "$OUT/mem.csv" none "$col")")" "$(cell "$q" initsafe "$col" 1 "mem-$name")" \
			"$(cell "$q" tini "$col" 1 "mem-$name")" "$(cell "$q" dumb-init "$col" 1 "mem-$name")" \
			"$(cell "$q" catatonit "$col" 1 "mem-$name")"
		m=$(median "$q" initsafe "$col") r=$(ratio "$m" 64)
		echo " ≤ 64 KiB | ${r}× target: $(verdict "$r" 1) |"
		target "mem-$name" 64
		echo "| memory, same, initsafe with INITSAFE_CRASH=0 (no unwinder module) | | $(cell "$q" initsafe-nocrash "$col" 1) | | | | ≤ 64 KiB | $(ratio "$(median "$q" initsafe-nocrash "$col")" 64)× target |"
	done

	# inherited cost
	q=$OUT/inherited.csv
	local per=$((LOOPS * 1000)) e i n0
	n0=$(median "$q" none wall_ns) e=$(median "$q" empty wall_ns) i=$(median "$q" initsafe wall_ns)
	printf '| inherited cost, µs per fork+exec of /bin/true by sh (empty preload .so: %s) | %s | %s | = none | = none | = none |' \
		"$(cell "$q" empty wall_ns "$per" inherited)" "$(cell "$q" none wall_ns "$per" inherited)" \
		"$(cell "$q" initsafe wall_ns "$per" inherited)"
	r=$(ratio "$i" "$e")
	target inherited "$(awk -v x="$e" -v n="$per" 'BEGIN { print x / n }')"
	echo " ≤ empty .so | ${r}× empty .so (extra over none: initsafe $(num "$(awk -v a="$i" -v b="$n0" -v n="$per" 'BEGIN { print (a - b) / n }')") µs, empty $(num "$(awk -v a="$e" -v b="$n0" -v n="$per" 'BEGIN { print (a - b) / n }')") µs): $(verdict "$r" 1) |"
	echo "| inherited cost, CPU (user+sys) µs per exec (empty .so: $(num "$(awk -F, -v n="$LOOPS" 'NR > 1 && $2 == "empty" { print ($4 + $5) / n }' "$q" | sort -g | awk '{ v[NR] = $1 } END { print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')")) | $(cpu_cell "$q" none) | $(cpu_cell "$q" initsafe) | = none | = none | = none | | |"
	echo "| inherited cost, minor faults per exec (empty .so: $(num "$(awk -v x="$(median "$q" empty minflt)" -v n="$LOOPS" 'BEGIN { print x / n }')")) | $(cell "$q" none minflt "$LOOPS") | $(cell "$q" initsafe minflt "$LOOPS") | = none | = none | = none | | |"

	# signal dispatch
	q=$OUT/dispatch.csv
	printf '| signal dispatch, ns per raise(SIGUSR1) as PID 1 (none: direct; initsafe: USR1 managed) | %s | %s | = none | = none | = none |' \
		"$(cell "$q" direct ns_per_raise 1 dispatch)" "$(cell "$q" initsafe ns_per_raise 1 dispatch)"
	r=$(ratio "$(median "$q" initsafe ns_per_raise)" "$(median "$q" direct ns_per_raise)")
	echo " ≤ 1.10× direct | ${r}× direct: $(verdict "$r" 1.10) |"
	target dispatch "$(awk -v x="$(median "$q" direct ns_per_raise)" 'BEGIN { print x * 1.10 }')"

	# idle
	q=$OUT/idle.csv
	local s cells=() worst=0 t1 t2
	for s in initsafe tini dumb-init catatonit; do
		t1=$(awk -F, -v s="$s" '$1 == "nochild" && $2 == s { print $3 }' "$q")
		t2=$(awk -F, -v s="$s" '$1 == "child" && $2 == s { print $3 }' "$q")
		cells+=("$t1 / $t2")
		[ "$s" = initsafe ] && worst=$((t1 > t2 ? t1 : t2))
		printf 'idle\t%s\t%s\t%s\t%s\n' "$s" "$((t1 + t2))" "$((t1 + t2))" "$((t1 + t2))" >>"$SUMMARY"
	done
	echo "| idle, context switches in $(awk -v m="$IDLE_MS" 'BEGIN { print m / 1000 }') s, app without / with a sleeping child (initsafe: its reaper thread and idle child) | — | ${cells[0]} | ${cells[1]} | ${cells[2]} | ${cells[3]} | 0 | $worst: $(verdict "$worst" 0) |"

	# startup
	q=$OUT/startup.csv
	printf '| startup, µs from exec of PID 1 to main of the app | %s | %s | %s | %s | %s |' \
		"$(cell "$q" none ns 1000 startup)" "$(cell "$q" initsafe ns 1000 startup)" "$(cell "$q" tini ns 1000 startup)" \
		"$(cell "$q" dumb-init ns 1000 startup)" "$(cell "$q" catatonit ns 1000 startup)"
	m=$(median "$q" initsafe ns) best=$(best_peer "$q" ns) r=$(ratio "$m" "$best")
	echo " ≤ best peer ($(num "$(awk -v x="$best" 'BEGIN { print x / 1000 }')")) | ${r}× best peer: $(verdict "$r" 1) |"
	target startup "$(awk -v x="$best" 'BEGIN { print x / 1000 }')"
	echo "| startup, same, initsafe with INITSAFE_CRASH=0 (no unwinder module) | | $(cell "$q" initsafe-nocrash ns 1000) | | | | ≤ best peer | $(ratio "$(median "$q" initsafe-nocrash ns)" "$best")× best peer |"

	if [ -s "$OUT/callgrind.csv" ]; then
		local sn se si
		sn=$(cg start none) se=$(cg start empty) si=$(cg start initsafe)
		echo
		echo "Instruction counts (valgrind --tool=callgrind, user space only, repeatable):"
		echo
		echo "| what | none | empty .so | initsafe | initsafe vs empty |"
		echo "| --- | --- | --- | --- | --- |"
		echo "| start of /bin/true, whole process | $sn | $se (+$((se - sn))) | $si (+$((si - sn))) | $(ratio "$((si - sn))" "$((se - sn))")× the extra |"
		echo "| … of which in ld.so (load, relocation, symbol lookup) | $(cg in-ldso none) | $(cg in-ldso empty) | $(cg in-ldso initsafe) | |"
		echo "| … of which in libc (for initsafe: getenv, getpid) | $(cg in-libc none) | $(cg in-libc empty) | $(cg in-libc initsafe) | |"
		echo "| … of which in the preload itself (constructor, _init) | — | $(cg in-preload empty) | $(cg in-preload initsafe) | |"
		echo "| one raise(SIGUSR1) with a handler, as PID 1 | $(cg raise direct) | — | $(cg raise initsafe) (dispatch_signal inclusive: $(cg dispatcher initsafe)) | |"
	fi
	if [ -s "$OUT/smaps-initsafe.txt" ] && [ -s "$OUT/smaps-none.txt" ]; then
		echo
		echo "Where initsafe's memory goes (run 1): PID 1 = sleep 1000 with minus without the preload, by mapping, KiB:"
		echo
		echo "| mapping | Rss | Pss |"
		echo "| --- | --- | --- |"
		smaps_diff "$OUT/smaps-none.txt" "$OUT/smaps-initsafe.txt"
	fi
	echo
	echo "Raw samples: $OUT/*.csv; plot: $OUT/bench.svg."
}

# cpu_cell CSV SETUP: user+sys µs per exec, "median [min–max]".
cpu_cell() {
	awk -F, -v s="$2" -v n="$LOOPS" 'NR > 1 && $2 == s { print ($4 + $5) / n }' "$1" | sort -g |
		awk '{ v[NR] = $1 } END {
			m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
			printf "%.0f [%.0f–%.0f]\n", m, v[1], v[NR] }'
}

# smaps_diff BEFORE AFTER: Rss and Pss by mapping name (anonymous ones
# named by what precedes them), AFTER minus BEFORE, largest first.
smaps_diff() {
	local f
	for f in "$1" "$2"; do
		awk -v tag="$f" '
			/^[0-9a-f]+-[0-9a-f]+ / {
				if (NF >= 6) { last = $6; sub(/.*\//, "", last); name = last }
				else name = "anonymous, after " last
			}
			/^Rss:/ { rss[name] += $2 }
			/^Pss:/ { pss[name] += $2 }
			END { for (k in rss) printf "%s\t%s\t%d\t%d\n", tag, k, rss[k], pss[k] }' "$f"
	done | awk -F'\t' -v a="$1" '
		{ if ($1 == a) { r[$2] -= $3; p[$2] -= $4 } else { r[$2] += $3; p[$2] += $4 }; seen[$2] = 1 }
		END {
			for (k in seen) if (r[k] != 0 || p[k] != 0) printf "%d\t%d\t%s\n", r[k], p[k], k
		}' | sort -t$'\t' -k1,1nr | awk -F'\t' '{ printf "| %s | %+d | %+d |\n", $3, $1, $2; tr += $1; tp += $2 }
		END { printf "| total | %+d | %+d |\n", tr, tp }'
}

# ---- the plot ----

# One group of bars per metric: medians normalised to the largest median of
# the group (x 1.25), whiskers min–max (clipped, with an arrow), a dashed
# line at initsafe's target.
plot() {
	awk -F'\t' -v out="$OUT/bench.svg" -v runs="$RUNS" '
	function esc(x) { gsub(/&/, "\\&amp;", x); gsub(/</, "\\&lt;", x); return x }
	function fmt(x) {
		a = x < 0 ? -x : x
		if (x == int(x) && a < 100000) return sprintf("%d", x)
		if (a >= 100) return sprintf("%.0f", x)
		if (a >= 10) return sprintf("%.1f", x)
		if (a >= 1) return sprintf("%.2f", x)
		return sprintf("%.3f", x)
	}
	BEGIN {
		title["stop"] = "stop latency, ms (none: TERM ignored, not shown)"
		title["storm"] = "orphan storm: last orphan exit → 0 zombies, ms (initsafe: REAP_GRACE=0; none: never)"
		title["mem-rss"] = "extra memory of the init, Rss KiB"
		title["mem-pss"] = "extra memory of the init, Pss KiB"
		title["inherited"] = "inherited cost: µs per fork+exec of /bin/true (wrappers: = none)"
		title["dispatch"] = "signal dispatch: ns per raise(SIGUSR1) as PID 1"
		title["idle"] = "idle: context switches in 5 s, no child + sleeping child"
		title["startup"] = "startup: exec of PID 1 → main of the app, µs"
		split("stop storm mem-rss mem-pss inherited dispatch idle startup", order, " ")
		nset = split("none direct empty initsafe initsafe0 tini dumb-init catatonit", sorder, " ")
		for (i = 1; i <= nset; i++) rank[sorder[i]] = i
		color["none"] = "#9e9e9e"; color["direct"] = "#9e9e9e"; color["empty"] = "#c7c7c7"
		color["initsafe"] = "#1b7837"; color["initsafe0"] = "#1b7837"
		color["tini"] = "#2166ac"; color["dumb-init"] = "#b2182b"; color["catatonit"] = "#e08214"
	}
	$1 == "target" { tgt[$2] = $3; next }
	{
		k = ++n[$1]; set[$1, k] = $2; med[$1, k] = $3; lo[$1, k] = $4; hi[$1, k] = $5
		if ($3 > mx[$1]) mx[$1] = $3
	}
	END {
		W = 820; L = 120; BW = 560; bar = 13; gap = 4
		y = 64
		body = ""
		for (g = 1; g <= 8; g++) {
			m = order[g]
			if (!n[m]) continue
			body = body sprintf("<text x=\"10\" y=\"%d\" class=\"t\">%s</text>\n", y, esc(title[m]))
			y += 8
			top = y
			scale = mx[m] * 1.25
			if (m in tgt && tgt[m] * 1.1 > scale) scale = tgt[m] * 1.1
			if (scale <= 0) scale = 1
			# setups in a fixed order
			for (k = 1; k <= n[m]; k++) idx[k] = k
			for (i = 1; i <= n[m]; i++) for (j = i + 1; j <= n[m]; j++)
				if (rank[set[m, idx[j]]] < rank[set[m, idx[i]]]) { t = idx[i]; idx[i] = idx[j]; idx[j] = t }
			for (i = 1; i <= n[m]; i++) {
				k = idx[i]; s = set[m, k]; label = s == "initsafe0" ? "initsafe" : s
				w = med[m, k] / scale * BW
				x1 = L + lo[m, k] / scale * BW; x2 = L + hi[m, k] / scale * BW
				clip = x2 > L + BW; if (clip) x2 = L + BW
				cy = y + bar / 2
				body = body sprintf("<text x=\"%d\" y=\"%d\" class=\"l\">%s</text>", L - 6, y + bar - 3, label)
				body = body sprintf("<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\"/>", L, y, w < 1 ? 1 : w, bar, color[s])
				if (hi[m, k] > lo[m, k]) {
					body = body sprintf("<path d=\"M%.1f %.1fH%.1fM%.1f %.1fV%.1f\" class=\"w\"/>", x1, cy, x2, x1, cy - 3, cy + 3)
					if (clip) body = body sprintf("<path d=\"M%.1f %.1fl-5 -3v6z\" fill=\"#000\"/>", x2, cy)
					else body = body sprintf("<path d=\"M%.1f %.1fV%.1f\" class=\"w\"/>", x2, cy - 3, cy + 3)
				}
				vx = (x2 > L + w ? x2 : L + w) + 5
				body = body sprintf("<text x=\"%.1f\" y=\"%d\" class=\"v\">%s</text>\n", vx, y + bar - 3, fmt(med[m, k]))
				y += bar + gap
			}
			if (m in tgt) {
				tx = L + tgt[m] / scale * BW
				body = body sprintf("<path d=\"M%.1f %dV%d\" class=\"g\"/><text x=\"%.1f\" y=\"%d\" class=\"gt\">target %s</text>\n", tx, top - 2, y, tx + 3, y + 9, fmt(tgt[m]))
				y += 8
			}
			y += 24
		}
		printf "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"sans-serif\">\n", W, y, W, y > out
		print "<style>.t{font-size:13px;font-weight:bold}.l{font-size:11px;text-anchor:end}.v{font-size:10px}.w{stroke:#000;stroke-width:1.2;fill:none}.g{stroke:#1b7837;stroke-width:1.5;stroke-dasharray:4 3;fill:none}.gt{font-size:10px;fill:#1b7837}</style>" > out
		print "<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>" > out
		print "<text x=\"10\" y=\"22\" font-size=\"16\" font-weight=\"bold\">initsafe vs tini, dumb-init, catatonit and no init — shorter is better</text>" > out
		printf "<text x=\"10\" y=\"42\" font-size=\"11\">bars: median of %d runs (setups interleaved); whiskers: min–max; dashed green line: initsafe'"'"'s target</text>\n", runs > out
		printf "%s</svg>\n", body > out
	}' "$SUMMARY"
}

# ---- link-flag variants (tests/bench/bench.sh flags) ----

# so_mem SO: Rss and Pss (KiB) of SO's own mappings (and the anonymous
# mapping right after them: its .bss) in PID 1 = sleep 1000 preloaded with
# it, INITSAFE_CRASH=0 (the unwinder module is the same for every variant).
so_mem() {
	local smaps=$OUT/smaps-variant.txt
	"$NS" mem -e "LD_PRELOAD=$1" -e INITSAFE_CRASH=0 -t initsafe-reap -s 100 -q -M "$smaps" -- sleep 1000 >/dev/null
	awk -v so="$1" '
		/^[0-9a-f]+-[0-9a-f]+ / { mine = (NF >= 6 && $6 == so) || (NF < 6 && prev); prev = NF >= 6 && $6 == so }
		mine && /^Rss:/ { r += $2 }
		mine && /^Pss:/ { p += $2 }
		END { print r + 0, p + 0 }' "$smaps"
}

flags() {
	# shellcheck disable=SC2054  # commas inside -Wl, options
	local objs=("$B"/obj/*.o) base=(-shared -Wl,-z,defs -Wl,--as-needed -Wl,-z,noexecstack)
	local -A vflags=(
		[default]=""
		[nosep]="-Wl,-z,noseparate-code"
		[norelro]="-Wl,-z,norelro"
		[nosep-norelro]="-Wl,-z,noseparate-code -Wl,-z,norelro"
		[hash-gnu]="-Wl,--hash-style=gnu"
		[O1]="-Wl,-O1"
		[now]="-Wl,-z,now"
		[strip]="-s"
		[all-link]="-Wl,-z,noseparate-code -Wl,-z,norelro -Wl,-O1 -Wl,--hash-style=gnu -s"
		[os-gc]="(objects rebuilt -Os -ffunction-sections -fdata-sections) -Wl,--gc-sections -Wl,-z,noseparate-code -Wl,-z,norelro -s"
	)
	local names=(default nosep norelro nosep-norelro hash-gnu O1 now strip all-link os-gc) v f
	local csv=$OUT/flags.csv
	say "link-flag variants from $B/obj (${#objs[@]} objects)"
	for v in "${names[@]}"; do
		[ "$v" = os-gc ] && continue
		# shellcheck disable=SC2086
		${CC:-cc} "${base[@]}" ${vflags[$v]} -o "$OUT/libinitsafe-$v.so" "${objs[@]}"
	done
	# One compile-flag variant too, for comparison (not from the same objects).
	local od=$OUT/obj-os-gc cflags
	mkdir -p "$od"
	cflags=${LIBFLAGS:-"-std=c11 -D_GNU_SOURCE -g -Iinclude -Ipreload -O2 -fPIC -fvisibility=hidden -fno-strict-aliasing"}
	cflags=$(echo "$cflags" | sed 's/-Werror//; s/-O2/-Os/')
	for f in preload/*.c preload/*.S; do
		# shellcheck disable=SC2086
		${CC:-cc} $cflags -ffunction-sections -fdata-sections -c -o "$od/$(basename "${f%.*}").o" "$f"
	done
	${CC:-cc} "${base[@]}" -Wl,--gc-sections -Wl,-z,noseparate-code -Wl,-z,norelro -s \
		-o "$OUT/libinitsafe-os-gc.so" "$od"/*.o
	echo "run,setup,wall_ns,user_us,sys_us,minflt,vcsw,ivcsw" >"$csv"
	local r
	# Each round starts one variant later: a drift of the machine's load
	# must not always hit the same variants.
	local all=(none empty "${names[@]}") k
	for r in $(seq "$RUNS"); do
		for k in $(seq 0 $((${#all[@]} - 1))); do
			v=${all[$(((k + r) % ${#all[@]}))]}
			local env=()
			case $v in
			none) ;;
			empty) env=(-e "LD_PRELOAD=$EMPTY") ;;
			*) env=(-e "LD_PRELOAD=$OUT/libinitsafe-$v.so") ;;
			esac
			echo "$r,$v,$("$NS" loop "${env[@]}" -- sh -c "$SH_LOOP" | tr ' ' ,)" >>"$csv"
		done
	done
	local n0 cg_none=""
	n0=$(median "$csv" none wall_ns)
	if [ "$CALLGRIND" = 1 ] && command -v valgrind >/dev/null; then
		mkdir -p "$OUT/callgrind"
		timeout 120 valgrind -q --tool=callgrind --callgrind-out-file="$OUT/callgrind/flags-none.out" /bin/true
		cg_none=$(ir "$OUT/callgrind/flags-none.out")
	fi
	echo
	echo "## libinitsafe.so link-flag variants (same objects), $LOOPS fork+exec of /bin/true by sh"
	echo
	echo "median [min–max] of $RUNS runs, interleaved; extra = (median − none) / $LOOPS; memory: the"
	echo ".so's own mappings (+ its .bss) in PID 1 = sleep 1000, INITSAFE_CRASH=0."
	echo
	echo "| variant | flags | file bytes | LOAD segments | relocations | µs per exec | extra µs | CPU µs per exec | minor faults per exec | callgrind Ir of /bin/true (extra over none) | Rss / Pss KiB of the .so in PID 1 |"
	echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
	for v in none empty "${names[@]}"; do
		local so="" fl="" bytes="" loads="" relocs="" irv="" m mem=""
		case $v in
		none) ;;
		empty) so=$EMPTY fl="(default, tests/bench/empty.c)" ;;
		*) so=$OUT/libinitsafe-$v.so fl=${vflags[$v]:-"(as the Makefile)"} ;;
		esac
		if [ -n "$so" ]; then
			bytes=$(stat -c %s "$so")
			loads=$(readelf -lW "$so" | grep -c '^ *LOAD')
			relocs=$(readelf -rW "$so" | grep -c 'R_X86_64_' || true)
			if [ -n "$cg_none" ]; then
				LD_PRELOAD=$so timeout 120 valgrind -q --tool=callgrind --callgrind-out-file="$OUT/callgrind/flags-$v.out" /bin/true
				irv="$(ir "$OUT/callgrind/flags-$v.out") (+$(($(ir "$OUT/callgrind/flags-$v.out") - cg_none)))"
			fi
			[ "$v" != empty ] && mem=$(so_mem "$so" | sed 's| | / |')
		else
			irv=$cg_none
		fi
		m=$(median "$csv" "$v" wall_ns)
		echo "| $v | $fl | $bytes | $loads | $relocs | $(cell "$csv" "$v" wall_ns $((LOOPS * 1000))) | $(num "$(awk -v a="$m" -v b="$n0" -v n="$LOOPS" 'BEGIN { print (a - b) / n / 1000 }')") | $(cpu_cell "$csv" "$v") | $(num "$(awk -v x="$(median "$csv" "$v" minflt)" -v n="$LOOPS" 'BEGIN { print x / n }')") | $irv | $mem |"
	done
	echo
	echo "Raw samples: $csv; the variants: $OUT/libinitsafe-*.so."
}

case ${1:-} in
flags)
	flags | tee "$OUT/flags.md"
	say "done: $OUT/flags.md"
	exit 0
	;;
report)  # the table and the plot again, from the CSVs of the last run
	report | tee "$OUT/bench.md"
	plot
	exit 0
	;;
esac

: >"$SUMMARY"
metric_stop
metric_storm
metric_mem
metric_loop
metric_dispatch
metric_idle
metric_startup
metric_callgrind
report | tee "$OUT/bench.md"
plot
say "done: $OUT/bench.md, $OUT/bench.svg"
