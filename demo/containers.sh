#!/usr/bin/env bash
# The demo with real containers: builds the image of demo/Dockerfile with
# podman (base image debian:12 imported from a debootstrap tarball, as no
# registry is reachable), then stops a container of it with `podman stop -t 3`
# and with the docker CLI (through `podman system service`), with and
# without the preload, and with tini and dumb-init as --init.
#
#   BUILD=build demo/containers.sh     (demo/run.sh runs it after its own)
#
# Adds rows to the demo's summary table (see demo/lib.sh); prints the table
# itself when run alone. Skips, saying why, when podman is not installed or
# the base image cannot be made; exits non-zero when initsafe's container
# does not stop at once with 143. Must run as root.
set -euo pipefail

cd "$(dirname "$0")/.."
source demo/lib.sh

STOP_TIMEOUT=3
IMAGE=initsafe-demo
ROOTFS=$BUILD/demo/rootfs-bookworm.tar
export CONTAINERS_CONF=$PWD/demo/containers.conf
SERVICE_PID=
SOCKET=/tmp/initsafe-demo-podman.$$.sock

cleanup() {
	local name
	for name in $(podman ps -a --format '{{.Names}}' 2>/dev/null | grep '^initsafe-demo-' || true); do
		podman rm -f "$name" >/dev/null 2>&1 || true
	done
	if [ -n "$SERVICE_PID" ]; then
		kill "$SERVICE_PID" 2>/dev/null || true
		wait "$SERVICE_PID" 2>/dev/null || true
	fi
	rm -f "$SOCKET"
}

now_ms() { date +%s%3N; }

# The base image: `podman import` of a debootstrap tarball (cached in
# $ROOTFS), standing in for `docker pull debian:12`.
base_image() {
	if podman image exists debian:12; then
		note "base image debian:12: already in podman's storage"
		return
	fi
	local start=$SECONDS
	if [ ! -s "$ROOTFS" ]; then
		note "building $ROOTFS with debootstrap (first run only; about a minute here)"
		demo/rootfs.sh "$ROOTFS" >/dev/null || return 1
	fi
	podman import "$ROOTFS" debian:12 >/dev/null
	note "base image debian:12 imported from $ROOTFS in $((SECONDS - start)) s"
}

build_image() {
	local start=$SECONDS log=$BUILD/demo/podman-build.log
	# --network=host: the builder's apt-get reaches the mirror as the host does.
	if ! podman build --pull=never --network=host --ignorefile demo/dockerignore \
		-f demo/Dockerfile -t "$IMAGE" . >"$log" 2>&1; then
		tail -20 "$log" | sed 's/^/    | /'
		note "podman build failed; the whole log is in $log"
		return 1
	fi
	note "image $IMAGE built from demo/Dockerfile in $((SECONDS - start)) s (layers are cached)"
}

# run_flags CLI SETUP: run flags for a setup. The image sets LD_PRELOAD;
# the other setups clear it. --init mounts the init at /run/podman-init
# and makes it PID 1 (docker has no --init-path: containers.conf's tini).
run_flags() {
	case $2 in
	none) echo "-e LD_PRELOAD=" ;;
	initsafe) echo "" ;;
	tini) echo "-e LD_PRELOAD= --init$([ "$1" = podman ] && echo ' --init-path /usr/bin/tini')" ;;
	dumb-init) echo "-e LD_PRELOAD= --init --init-path /usr/bin/dumb-init" ;;
	esac
}

# stop_one CLI SETUP: starts a container with CLI (podman or docker), waits
# for its first line, stops it with CLI stop -t 3; sets CELL and CODE.
stop_one() {
	local cli=$1 setup=$2 name=initsafe-demo-$1-$2 _ t0 t1 started=""
	# shellcheck disable=SC2046  # the flags are words
	if ! "$cli" run -d --network=none --name "$name" $(run_flags "$cli" "$setup") "$IMAGE" >/dev/null; then
		CODE=none
		CELL="$cli run failed"
		line "$setup" "$CELL"
		return
	fi
	for _ in $(seq 200); do
		started=$("$cli" logs "$name" 2>&1 | grep -m1 'app: started' || true)
		[ -n "$started" ] && break
		sleep 0.05
	done
	t0=$(now_ms)
	"$cli" stop -t "$STOP_TIMEOUT" "$name" >/dev/null 2>&1 || true
	t1=$(now_ms)
	CODE=$("$cli" inspect -f "{{.State.ExitCode}}" "$name" 2>/dev/null || echo "?")
	"$cli" rm -f "$name" >/dev/null 2>&1 || true
	CELL="$CODE in $((t1 - t0)) ms"
	line "$setup" "$cli stop -t $STOP_TIMEOUT: $((t1 - t0)) ms, exit $CODE (${started#app: })"
}

podman_stop() {
	step 7 "podman stop -t $STOP_TIMEOUT of the image built from demo/Dockerfile"
	note "CMD echo ...; while :; do sleep 1; done (shell form, no trap); runtime: Debian's runc."
	local cells=() s
	for s in "${SETUPS[@]}"; do
		stop_one podman "$s"
		cells+=("$CELL")
		if [ "$s" = initsafe ]; then
			expect "podman stop: exit 143 (got $CODE)" [ "$CODE" = 143 ]
		fi
	done
	row "7 podman stop -t $STOP_TIMEOUT (demo/Dockerfile): exit, time" "${cells[@]}"
}

docker_stop() {
	step 8 "the docker CLI, talking to podman (podman system service, DOCKER_HOST)"
	note "$(docker --version); tini is \`docker run --init\` (init_path in demo/containers.conf)."
	podman system service --time=0 "unix://$SOCKET" >"$BUILD/demo/podman-service.log" 2>&1 &
	SERVICE_PID=$!
	export DOCKER_HOST=unix://$SOCKET
	local _
	for _ in $(seq 100); do
		docker version >/dev/null 2>&1 && break
		sleep 0.1
	done
	local cells=() s
	for s in none initsafe tini; do
		stop_one docker "$s"
		cells+=("$CELL")
		if [ "$s" = initsafe ]; then
			expect "docker stop: exit 143 (got $CODE)" [ "$CODE" = 143 ]
		fi
	done
	cells+=("n/a (no docker flag)")
	row "8 docker CLI stop -t $STOP_TIMEOUT: exit, time" "${cells[@]}"
}

main() {
	local start=$SECONDS alone=0
	[ "$(id -u)" -eq 0 ] || { echo "containers.sh: must run as root" >&2; exit 1; }
	# Alone: a table of its own; under demo/run.sh: rows added to run.sh's.
	if [ -z "${DEMO_RUN:-}" ]; then
		alone=1
		reset_results
	fi
	printf '\n# Real containers\n'
	if ! command -v podman >/dev/null; then
		note "SKIPPED: podman is not installed (apt-get install podman runc debootstrap)"
		row "7 podman stop -t $STOP_TIMEOUT" "skipped: no podman" "" "" ""
	else
		trap cleanup EXIT
		cleanup
		if ! base_image; then
			note "SKIPPED: no debian:12 base image (debootstrap failed; see above)"
			row "7 podman stop -t $STOP_TIMEOUT" "skipped: no base image" "" "" ""
		elif ! build_image; then
			expect "the image of demo/Dockerfile builds" false
		else
			podman_stop
			if command -v docker >/dev/null; then
				docker_stop
			else
				note "docker CLI not installed: the docker part is skipped"
			fi
		fi
		printf '\ncontainer experiments: %d s\n' $((SECONDS - start))
	fi
	if [ "$alone" = 1 ]; then
		print_summary
	fi
}

main "$@"
