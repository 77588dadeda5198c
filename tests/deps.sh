#!/usr/bin/env bash
# Installs what `make check` needs from Debian's packages when it is missing
# (as root), or prints the exact command (otherwise). Extra package names
# may be given as arguments (make demo and make bench add theirs).
set -eu

need=()
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
want() { have_pkg "$1" || need+=("$1"); }

for pkg in build-essential libcmocka-dev libunwind-dev util-linux python3 procps \
	redis-server redis-tools nginx-light runc valgrind "$@"; do
	want "$pkg"
done
command -v clang >/dev/null || need+=(clang)
want libclang-rt-14-dev   # libFuzzer and the sanitizer runtimes for clang

[ ${#need[@]} -eq 0 ] && exit 0
cmd="apt-get install -y --no-install-recommends ${need[*]}"
if [ "$(id -u)" -ne 0 ]; then
	echo "missing packages; run as root: apt-get update && $cmd" >&2
	exit 1
fi
echo "deps: installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null || true
$cmd >/dev/null
