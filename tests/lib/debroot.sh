#!/usr/bin/env bash
# debroot.sh KIND: print the path of a cached Debian 12 root built by
# debootstrap, building it first when it is missing (35 s on this machine).
#   KIND=systemd  minbase + systemd + dbus: booted by systemd-nspawn in the
#                 systemd tier, and where the .deb is installed
#   KIND=minbase  minbase alone: the base of the debian-slim-like image
# Roots live in ${GORRAL_ROOTS:-/var/tmp/gorral-roots}/KIND-VERSION, cached
# between runs on one machine; VERSION changes when what goes in changes.
# A root is complete only once its .complete stamp exists: a build that was
# interrupted is thrown away and made again. The build holds a lock, so two
# tests asking at once build it once.
# Exit status: 0 (path on stdout), 1 cannot build (reason on stderr: not
# root, no debootstrap, no mirror), 2 usage.
set -u
kind=${1:-}
case $kind in
systemd) include=systemd,dbus ;;
minbase) include= ;;
*) echo "usage: debroot.sh systemd|minbase" >&2; exit 2 ;;
esac
version=1
base=${GORRAL_ROOTS:-/var/tmp/gorral-roots}
root=$base/$kind-$version

if [ -e "$root/.complete" ]; then
	echo "$root"
	exit 0
fi
[ "$(id -u)" -eq 0 ] || { echo "debroot: needs root (debootstrap)" >&2; exit 1; }
command -v debootstrap >/dev/null || { echo "debroot: debootstrap is not installed" >&2; exit 1; }
# The mirror apt already uses (deb822 or one-line sources).
mirror=$(sed -n 's/^URIs: *\([^ ]*\).*/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | grep -v security | head -1)
[ -n "$mirror" ] || mirror=$(awk '$1 == "deb" && $0 !~ /security/ { print $2; exit }' /etc/apt/sources.list 2>/dev/null)
[ -n "$mirror" ] || mirror=http://deb.debian.org/debian

mkdir -p "$base"
exec 9>"$base/.lock-$kind"
flock 9
if [ -e "$root/.complete" ]; then # another test built it while we waited
	echo "$root"
	exit 0
fi
rm -rf "$root"
log=$base/$kind-$version.log
if ! debootstrap --variant=minbase ${include:+--include=$include} bookworm "$root" "$mirror" >"$log" 2>&1; then
	echo "debroot: debootstrap $kind from $mirror failed (see $log): $(tail -1 "$log")" >&2
	rm -rf "$root"
	exit 1
fi
if [ "$kind" = systemd ]; then
	# The console of a booted container is a pipe: a getty there only
	# fails, and leaves the system "degraded".
	ln -sf /dev/null "$root/etc/systemd/system/console-getty.service"
	echo gorral-test >"$root/etc/hostname"
fi
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
touch "$root/.complete"
echo "$root"
