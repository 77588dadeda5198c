#!/usr/bin/env bash
# Builds (once) a minimal Debian 12 root filesystem with debootstrap and keeps
# it as a tarball, the stand-in for `docker pull debian:12` on a machine that
# reaches no image registry:
#
#   demo/rootfs.sh OUT.tar
#
# The mirror is the one apt is configured with (sources.list or deb822
# .sources), so it works wherever `apt-get install` does. Prints the tarball's
# path; exits non-zero (with a message) when it cannot be built.
set -euo pipefail

out=${1:?usage: rootfs.sh OUT.tar}

# The first Debian mirror apt uses for bookworm, e.g. http://deb.debian.org/debian.
apt_mirror() {
	local f url
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -r "$f" ] || continue
		url=$(awk '$1 == "deb" && $0 ~ /bookworm/ && $0 !~ /security/ {
			for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) { print $i; exit } }' "$f")
		[ -n "$url" ] && { echo "$url"; return; }
	done
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -r "$f" ] || continue
		url=$(awk 'BEGIN { RS = ""; FS = "\n" }
			/Suites:[^\n]*bookworm/ && !/security/ {
				for (i = 1; i <= NF; i++) if ($i ~ /^URIs:/) { split($i, w, " "); print w[2]; exit } }' "$f")
		[ -n "$url" ] && { echo "$url"; return; }
	done
	echo http://deb.debian.org/debian
}

dir=
main() {
	if [ -s "$out" ]; then
		echo "$out"
		return
	fi
	command -v debootstrap >/dev/null || { echo "rootfs.sh: debootstrap is not installed" >&2; exit 1; }
	[ "$(id -u)" -eq 0 ] || { echo "rootfs.sh: debootstrap needs root" >&2; exit 1; }
	local mirror start
	mirror=$(apt_mirror)
	dir=$(mktemp -d "${TMPDIR:-/tmp}/initsafe-rootfs.XXXXXX")
	trap 'rm -rf "$dir" "$dir.log"' EXIT
	start=$(date +%s)
	echo "rootfs.sh: debootstrap --variant=minbase bookworm from $mirror (first time only, a few minutes)" >&2
	if ! debootstrap --variant=minbase bookworm "$dir" "$mirror" >"$dir.log" 2>&1; then
		tail -20 "$dir.log" >&2
		rm -f "$dir.log"
		echo "rootfs.sh: debootstrap failed" >&2
		exit 1
	fi
	rm -f "$dir.log"
	# The image's apt talks to the same mirror.
	echo "deb $mirror bookworm main" >"$dir/etc/apt/sources.list"
	rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/*
	mkdir -p "$(dirname "$out")"
	tar -C "$dir" --numeric-owner -cf "$out.part" .
	mv "$out.part" "$out"
	echo "rootfs.sh: built $out in $(( $(date +%s) - start )) s" >&2
	echo "$out"
}

main
