#!/usr/bin/env bash
# The article's experiments, for real: each runs a program as PID 1 of a new
# PID + mount namespace (what Docker does for a container) under four setups
# — nothing, initsafe (LD_PRELOAD), tini and dumb-init (Debian's wrapper
# inits) — narrates what happens, then prints a summary table. Then
# demo/containers.sh does the same with real containers (podman, the docker
# CLI), unless DEMO_CONTAINERS=0.
#
#   BUILD=build demo/run.sh          (make demo builds everything first)
#
# Exits non-zero when initsafe's column does not show the expected outcome.
# Must run as root. Needs redis-server, redis-cli, tini, dumb-init, ps.
set -euo pipefail

cd "$(dirname "$0")/.."
source demo/lib.sh

# docker stop's timeout, shortened from Docker's 10 s to keep the demo short.
STOP_TIMEOUT_MS=3000
TERM_APP=$(realpath "$BUILD/demo/term_app")
WORK=$(mktemp -d /tmp/initsafe-demo.XXXXXX)
# The work files stay when something failed, for a look.
cleanup() {
	if [ -s "$FAILURES" ]; then
		echo "demo: the experiments' files are kept in $WORK" >&2
	else
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT

# redis flags: no TCP port, a unix socket and its data in DIR, an RDB
# snapshot saved on shutdown (the "save" point), no AOF.
redis_args() {
	printf -- "--port 0 --unixsocket %s/redis.sock --dir %s --save '3600 1' --appendonly no --logfile %s/redis.log" "$1" "$1" "$1"
}

# An exec-session command: sets key "greeting" (retrying while redis is not
# yet listening on its fresh socket), then creates DIR/written.
write_key() {
	# shellcheck disable=SC2016  # $(seq) is for the session's shell
	printf 'for i in $(seq 100); do redis-cli -s %s/redis.sock SET greeting hello >%s/set.out 2>&1 && break; sleep 0.05; done; touch %s/written' "$1" "$1" "$1"
}

# The value of key "greeting" in DIR's dump.rdb, read by a fresh redis.
read_back() {
	local d=$1
	"$NSRUN" --ready "$d/check.sock" \
		--exec-at 0 "for i in \$(seq 100); do redis-cli -s $d/check.sock GET greeting >$d/get.out 2>&1 && break; sleep 0.05; done; touch $d/got" \
		--stop-on "$d/got" --stop-after 0 --kill-timeout 3000 --timeout 20000 --result "$d/check.result" -- \
		redis-server --port 0 --unixsocket "$d/check.sock" --dir "$d" --save '' --logfile "$d/check.log" \
		>/dev/null 2>&1 || true
	cat "$d/get.out" 2>/dev/null || true
}

# What redis's log says about its shutdown, in a few words.
redis_shutdown_words() {
	local words
	words=$(grep -oE 'Received SIGTERM|User requested shutdown|DB saved on disk|Error trying to save' "$1" 2>/dev/null |
		awk '!seen[$0]++' | paste -sd, | sed 's/,/, /g' || true)
	echo "${words:-nothing after startup}"
}

exp_shell_form_stop() {
	step 1/6 "shell-form CMD: redis under sh as PID 1, stopped like \`docker stop -t 3\`"
	note "sh -c \"redis-server ...; echo ...\" as PID 1; a key is written with redis-cli, then"
	note "TERM from the parent namespace and SIGKILL ${STOP_TIMEOUT_MS} ms later (Docker's default is 10 s)."
	note "Afterwards a fresh redis opens the same directory and reads the key back."
	local cells=() s d res code ms value words saved
	for s in "${SETUPS[@]}"; do
		d=$WORK/e1-$s
		mkdir -p "$d"
		res=$d/result
		ns "$s" "$res" --ready "$d/redis.sock" \
			--exec-at 0 "$(write_key "$d")" \
			--stop-on "$d/written" --stop-after 100 --kill-timeout "$STOP_TIMEOUT_MS" -- \
			sh -c "redis-server $(redis_args "$d"); echo redis-server exited with \$?"
		code=$(field "$res" exit)
		ms=$(field "$res" stop_ms)
		words=$(redis_shutdown_words "$d/redis.log")
		value=$(read_back "$d")
		saved=lost
		if [ "$value" = hello ]; then saved=saved; fi
		local how=""
		if [ "$(field "$res" killed)" = 1 ]; then how=" (SIGKILLed at the timeout)"; fi
		line "$s" "exit $code after $ms ms$how; redis log: $words;"
		line "" "key after restart: ${value:-(nil)} -> $saved"
		cells+=("$code in $ms ms, key $saved")
		if [ "$s" = initsafe ]; then
			expect "experiment 1: exit 143 (got $code)" [ "$code" = 143 ]
			expect "experiment 1: stopped within 1000 ms (took $ms ms)" [ "$ms" -ge 0 -a "$ms" -lt 1000 ]
			expect "experiment 1: the key survives the stop (read back '${value}')" [ "$value" = hello ]
			expect "experiment 1: redis logged \"DB saved on disk\"" grep -q 'DB saved on disk' "$d/redis.log"
		fi
	done
	row "1 shell-form redis, stop -t 3: exit, time, data" "${cells[@]}"
}

# Prints "pid comm" of the namespace's processes, the exec session left out.
app_processes() {
	awk '$3 != "ps" && !($2 == 0 && $1 != 1) { printf "%s%s %s", sep, $1, $3; sep = ", " }' "$1"
}

exp_pid1() {
	step 2/6 "exec form vs shell form: which process is PID 1 (ps -o pid,comm inside)"
	note "exec form (CMD [\"redis-server\", ...]) runs redis-server itself; shell form (CMD redis-server ...)"
	note "runs /bin/sh -c \"redis-server ...\", and Debian's sh (dash) forks it: sh is PID 1, redis its child."
	local cells=() s d form pid1s procs one
	for s in "${SETUPS[@]}"; do
		pid1s=()
		procs=()
		for form in exec shell; do
			d=$WORK/e2-$s-$form
			mkdir -p "$d"
			local cmd=()
			case $form in
			exec) cmd=(redis-server --port 0 --unixsocket "$d/redis.sock" --dir "$d" --save '' --logfile "$d/redis.log") ;;
			shell) cmd=(sh -c "redis-server $(redis_args "$d")") ;;
			esac
			ns "$s" "$d/result" --ready "$d/redis.sock" \
				--exec-at 0 "ps -o pid=,ppid=,comm= >$d/ps.tmp && exec mv $d/ps.tmp $d/ps" \
				--stop-on "$d/ps" --stop-after 0 --signal KILL -- "${cmd[@]}"
			one=$(awk '$1 == 1 { print $3 }' "$d/ps")
			# initsafe's idle child (initsafe-idle) is listed, not counted as the app's.
			pid1s+=("${one:-?} ($(app_processes "$d/ps" | tr ',' '\n' | grep -vc 'initsafe-idle'))")
			procs+=("$form: $(app_processes "$d/ps")")
			if [ "$s" = initsafe ]; then
				local want
				want=$(awk '$1 == 1 { print $3 }' "$WORK/e2-none-$form/ps")
				expect "experiment 2 ($form): PID 1 is the app's own ($want), no extra process (got $one)" [ "$one" = "$want" ]
			fi
		done
		line "$s" "$(printf '%s | ' "${procs[@]}" | sed 's/ | $//')"
		cells+=("$(printf '%s / ' "${pid1s[@]}" | sed 's| / $||')")
	done
	row "2 PID 1 (processes): exec form / shell form" "${cells[@]}"
}

exp_zombies() {
	step 3/6 "zombies: a docker-exec session starts 100 daemons that exit at once"
	note "PID 1 is redis-server (exec form). The session runs 100 times (sleep 0.01 &): each sleep"
	note "is orphaned, re-parented to PID 1, and exits. Zombies are counted 1 s later (ps, state Z)."
	local cells=() s d n
	for s in "${SETUPS[@]}"; do
		d=$WORK/e3-$s
		mkdir -p "$d"
		ns "$s" "$d/result" --ready "$d/redis.sock" \
			--exec-at 0 "for i in \$(seq 100); do (sleep 0.01 &); done; sleep 1; ps -o stat= | grep -c '^Z' >$d/zombies.tmp; mv $d/zombies.tmp $d/zombies" \
			--stop-on "$d/zombies" --stop-after 0 --kill-timeout "$STOP_TIMEOUT_MS" -- \
			redis-server --port 0 --unixsocket "$d/redis.sock" --dir "$d" --save '' --logfile "$d/redis.log"
		n=$(cat "$d/zombies" 2>/dev/null || echo '?')
		line "$s" "$n zombies after 1 s"
		cells+=("$n zombies")
		if [ "$s" = initsafe ]; then
			expect "experiment 3: no zombie after 1 s (got $n)" [ "$n" = 0 ]
		fi
	done
	row "3 zombies 1 s after 100 orphans exited" "${cells[@]}"
}

exp_kill9() {
	step 4/6 "kill -9 1 from inside (a docker-exec session)"
	note "The kernel drops signals sent to a namespace's init from inside it, SIGKILL included."
	note "PID 1 is the shell-form redis of experiment 1; it must still be there 0.5 s later."
	local cells=() s d res rc alive
	for s in "${SETUPS[@]}"; do
		d=$WORK/e4-$s
		mkdir -p "$d"
		res=$d/result
		ns "$s" "$res" --ready "$d/redis.sock" \
			--exec-at 0 "kill -9 1; echo \$? >$d/kill.tmp; mv $d/kill.tmp $d/kill.rc" \
			--stop-on "$d/kill.rc" --stop-after 500 --signal KILL -- \
			sh -c "redis-server $(redis_args "$d"); true"
		rc=$(cat "$d/kill.rc" 2>/dev/null || echo '?')
		# Alive: it was still there for the SIGKILL sent from outside.
		alive=killed
		if [ "$(field "$res" stop_ms)" != -1 ]; then alive=alive; fi
		line "$s" "kill -9 1 returned $rc; PID 1 $alive 0.5 s later"
		cells+=("PID 1 $alive")
		if [ "$s" = initsafe ]; then
			expect "experiment 4: PID 1 survives kill -9 1 from inside" [ "$alive" = alive ]
		fi
	done
	row "4 kill -9 1 from a docker-exec session" "${cells[@]}"
}

exp_drain() {
	step 5/6 "exit drain: PID 1 exits while a child still has work to finish"
	note "sh -c \"(trap 'sleep 0.3; echo done >F; exit 0' TERM; while :; do sleep 0.05; done) &"
	note "sleep 0.3; exit 0\": the child needs 0.3 s after TERM to write its file."
	local cells=() s d res code file
	for s in "${SETUPS[@]}"; do
		d=$WORK/e5-$s
		mkdir -p "$d"
		res=$d/result
		ns "$s" "$res" -- \
			sh -c "(trap 'sleep 0.3; echo done >$d/F; exit 0' TERM; while :; do sleep 0.05; done) & sleep 0.3; exit 0"
		code=$(field "$res" exit)
		file=missing
		if [ "$(cat "$d/F" 2>/dev/null)" = "done" ]; then file=written; fi
		line "$s" "PID 1 exit $code after $(field "$res" total_ms) ms; the child's file: $file"
		cells+=("exit $code, file $file")
		if [ "$s" = initsafe ]; then
			expect "experiment 5: the app's exit code 0 is kept (got $code)" [ "$code" = 0 ]
			expect "experiment 5: the child finished its file" [ "$file" = written ]
		fi
	done
	row "5 PID 1 exits: child's file finished?" "${cells[@]}"
}

exp_handlers() {
	step 6/6 "an app with its own SIGTERM handler (demo/apps/term_app.c, exec form)"
	note "It reads its disposition back and runs system(\"...; exit 7\") when stopped; its output"
	note "and exit code must not change under initsafe."
	local cells=() s d res code same ref=$WORK/e6-none/result.log
	for s in "${SETUPS[@]}"; do
		d=$WORK/e6-$s
		mkdir -p "$d"
		res=$d/result
		ns "$s" "$res" --ready "$d/ready" --stop-after 100 --kill-timeout "$STOP_TIMEOUT_MS" -- \
			"$TERM_APP" "$d/ready"
		code=$(field "$res" exit)
		same="same output as none"
		cmp -s "$ref" "$res.log" || same="output differs from none"
		if [ "$s" = none ]; then
			sed 's/^/               | /' "$res.log"
			same="reference output"
		fi
		line "$s" "exit $code after $(field "$res" stop_ms) ms; $same"
		if [ "$s" != none ] && [ "$same" != "same output as none" ]; then
			diff "$ref" "$res.log" | sed 's/^/               | /' || true
		fi
		cells+=("exit $code, ${same%% as none}")
		if [ "$s" = initsafe ]; then
			expect "experiment 6: same exit code as without initsafe (got $code)" [ "$code" = "$(field "$WORK/e6-none/result" exit)" ]
			expect "experiment 6: same output as without initsafe" cmp -s "$ref" "$res.log"
		fi
	done
	row "6 app's own TERM handler: exit, output" "${cells[@]}"
}

main() {
	local start=$SECONDS
	[ "$(id -u)" -eq 0 ] || { echo "demo: must run as root (namespaces, mounts)" >&2; exit 1; }
	reset_results
	printf '# initsafe demo: PID 1 in a real PID namespace, four ways\n'
	printf 'none = the program alone, initsafe = LD_PRELOAD=%s,\n' "$LIB"
	printf 'tini = tini -- CMD, dumb-init = dumb-init CMD (Debian'"'"'s packages).\n'
	exp_shell_form_stop
	exp_pid1
	exp_zombies
	exp_kill9
	exp_drain
	exp_handlers
	printf '\nnamespace experiments: %d s\n' $((SECONDS - start))
	if [ "${DEMO_CONTAINERS:-1}" != 0 ]; then
		DEMO_RUN=1 demo/containers.sh || echo "demo/containers.sh failed (exit $?)" >>"$FAILURES"
	fi
	print_summary
	printf 'total: %d s\n' $((SECONDS - start))
}

main "$@"
