#!/usr/bin/env bash
# build.sh BUILD VERSION: the Debian package of the dynamic build,
# BUILD/gorral_VERSION-1_ARCH.deb (`make deb` runs it; it prints the path).
#
# No debhelper: debhelper is not installed here and would be a build
# dependency for one binary and a few files, and dpkg-buildpackage wants a
# debian/ directory at the top of the tree and a clean source. This stages
# `make install PREFIX=/usr` into BUILD/deb/root and does by hand what dh
# would do for such a package: strip the binary (the debug info is 2 MiB of
# the 2.6), gzip -9n the manual pages and the changelog, DEP-5 copyright,
# md5sums, Depends from dpkg-shlibdeps, then dpkg-deb --root-owner-group.
# No maintainer scripts: the units are installed, not enabled (a fresh
# install has no /etc/gorral/gorral.yaml to run), so there is nothing to
# do at install or removal time, and no conffile either.
#
# DEB_UNITS=... and DEB_DBUS_POLICY=... in the environment replace the
# files of packaging/systemd and packaging/dbus (the tests use that for a
# placeholder unit while those directories are empty). Not UNITS itself:
# the Makefile sets that, and make then exports its own value.
set -euo pipefail
build=${1:?usage: build.sh BUILD VERSION}
version=${2:?usage: build.sh BUILD VERSION}
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
build=$(cd "$build" && pwd)
revision=1
arch=$(dpkg --print-architecture)
deb=$build/gorral_${version}-${revision}_${arch}.deb
work=$build/deb
root=$work/root
doc=$root/usr/share/doc/gorral

rm -rf "$work"
mkdir -p "$root/DEBIAN"
overrides=()
[ -n "${DEB_UNITS+x}" ] && overrides+=("UNITS=$DEB_UNITS")
[ -n "${DEB_DBUS_POLICY+x}" ] && overrides+=("DBUS_POLICY=$DEB_DBUS_POLICY")
# Debian 12's systemd and lintian still look for units in /lib (the /usr
# merge moved the files, not the packages' paths).
"${MAKE:-make}" --no-print-directory -s install BUILD="${build#"$repo"/}" PREFIX=/usr DESTDIR="$root" \
	UNITDIR=/lib/systemd/system "${overrides[@]}" >/dev/null

# What dh_strip does (the debug symbols would go to a -dbgsym package).
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$root/usr/bin/gorral"
find "$root/usr/share/man" -type f -exec gzip -9n {} +

# DEP-5 copyright and the Debian changelog (the date is the last commit's,
# so two builds of one commit are the same package).
when=$(git log -1 --format=%cD 2>/dev/null || date -R)
year=$(date -d "$when" +%Y)
# The maintainer: DEB_MAINTAINER, else the author of the last commit.
maint=${DEB_MAINTAINER:-$(git log -1 --format='%an <%ae>' 2>/dev/null || true)}
[ -n "$maint" ] || { echo "build.sh: set DEB_MAINTAINER='Name <address>'" >&2; exit 1; }
cat >"$doc/copyright" <<EOF
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: gorral
Comment: /usr/bin/gorral links three libraries statically: LibYAML
 (libyaml-dev, Expat), libcgroup (libcgroup-dev, LGPL-2.1) and llhttp's
 generated C (node-llhttp, Expat); their copyright files are in Debian's
 packages of the same names.

Files: *
Copyright: $year gorral authors
 2006-2020 Kirill Simonov (LibYAML)
 2007-2009 IBM Corporation, 2008-2009 Red Hat Inc. (libcgroup)
 Matteo Collina and the llhttp authors (llhttp)
License: no-license-yet and Expat and LGPL-2.1

License: no-license-yet
 gorral's own code has no published license terms yet; the project has not
 chosen one. Ask its authors before redistributing this package.

License: Expat
 Permission is hereby granted, free of charge, to any person obtaining a
 copy of this software and associated documentation files (the "Software"),
 to deal in the Software without restriction, including without limitation
 the rights to use, copy, modify, merge, publish, distribute, sublicense,
 and/or sell copies of the Software, and to permit persons to whom the
 Software is furnished to do so, subject to the following conditions:
 .
 The above copyright notice and this permission notice shall be included
 in all copies or substantial portions of the Software.
 .
 THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
 IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
 FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL
 THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
 LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING
 FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER
 DEALINGS IN THE SOFTWARE.

License: LGPL-2.1
 This library is free software; you can redistribute it and/or modify it
 under the terms of version 2.1 of the GNU Lesser General Public License as
 published by the Free Software Foundation.
 .
 On Debian systems, the complete text of the GNU Lesser General Public
 License version 2.1 can be found in /usr/share/common-licenses/LGPL-2.1.
EOF
{
	echo "gorral ($version-$revision) unstable; urgency=medium"
	echo
	echo "  * Package of gorral $version: the dynamic build, manual pages, systemd"
	echo "    units, D-Bus policy, bash completion and an example configuration."
	echo
	echo " -- $maint  $when"
} | gzip -9n >"$doc/changelog.Debian.gz"
install -Dm644 packaging/deb/lintian-overrides "$root/usr/share/lintian/overrides/gorral"

# Depends: what the binary links (libc6 and libm, from glibc) at the
# versions its symbols need. libyaml and libcgroup are linked statically;
# libsystemd is dlopen()ed for the D-Bus API only: a Recommends.
shlib=$work/shlibdeps
mkdir -p "$shlib/debian"
printf 'Source: gorral\n\nPackage: gorral\nArchitecture: any\n' >"$shlib/debian/control"
depends=$(cd "$shlib" && dpkg-shlibdeps -O "$root/usr/bin/gorral" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
[ -n "$depends" ] || { echo "build.sh: dpkg-shlibdeps found no dependency" >&2; exit 1; }

size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
cat >"$root/DEBIAN/control" <<EOF
Package: gorral
Version: $version-$revision
Architecture: $arch
Maintainer: $maint
Installed-Size: $size
Depends: $depends
Recommends: libsystemd0
Section: admin
Priority: optional
Homepage: https://github.com/gorral/gorral
Description: container-aware process supervisor for Go services
 gorral sets GOMAXPROCS and GOMEMLIMIT for a Go service from the cgroup
 limits that really apply (v1, v2 or hybrid, the tightest ancestor), and
 supervises it as PID 1 or under systemd: it reaps zombies, forwards
 signals, passes exit codes through and restarts with backoff.
 .
 From a YAML file it runs several services in dependency order, each in
 its own cgroup, watches the Go runtime inside each (goroutines, threads,
 throttling, GC), finds leaks and throttling, and reports them in its
 log, on /metrics, over D-Bus, or to Alertmanager.
EOF
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z |
	xargs -0 md5sum) >"$root/DEBIAN/md5sums"
find "$root" -type d -exec chmod 755 {} +
chmod 644 "$root/DEBIAN/control" "$root/DEBIAN/md5sums"

SOURCE_DATE_EPOCH=$(date -d "$when" +%s) dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "$deb"
