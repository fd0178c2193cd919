#!/usr/bin/env bash
# Build the Go programs the tests, the demo and the benchmarks run, into
# OUTDIR, offline, with Debian's Go (1.19) in GOPATH mode:
#   goprobe            one line: gomaxprocs= memlimit= numcpu= env_GOMAXPROCS= env_GOMEMLIMIT=
#   goprobe-trimpath   the same, -trimpath            (for `gorral inspect`)
#   goprobe-nocgo      the same, CGO_ENABLED=0        (static, no libc)
#   goprobe-stripped   the same, -ldflags='-s -w'
#   goprobe-mod        the same, module mode (mod line, go.mod in OUTDIR/.modsrc)
#   goservice          the demo HTTP service (Prometheus, pprof, leaks, burn)
# A binary is rebuilt only when its sources or this script are newer.
# Usage: build.sh OUTDIR
set -euo pipefail

[ $# -eq 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$1"
out=$(cd "$1" && pwd)

GO=${GO:-go}
if ! command -v "$GO" >/dev/null 2>&1; then
	echo "$0: '$GO' not found: install golang-go (make deps)" >&2
	exit 1
fi
prom=/usr/share/gocode/src/github.com/prometheus/client_golang/prometheus/promhttp
if [ ! -d "$prom" ]; then
	echo "$0: $prom missing: install golang-github-prometheus-client-golang-dev (make deps)" >&2
	exit 1
fi

# GOPATH mode, offline. Our tree comes first in GOPATH: `go build` resolves
# our packages there and the Prometheus client from Debian's gocode. Without
# HOME or GOCACHE Go refuses to build ("build cache is required").
export GO111MODULE=off GOPROXY=off GOFLAGS= GOTOOLCHAIN=local
export GOPATH="$here:/usr/share/gocode"
export GOCACHE=${GOCACHE:-$out/.gocache}
export HOME=${HOME:-/tmp}
unset GOOS GOARCH CGO_ENABLED GOROOT GOBIN GOEXPERIMENT

# up_to_date BIN SRCDIR: BIN exists and is newer than every source and this
# script (whose flags decide what BIN is).
up_to_date() {
	[ -x "$1" ] || return 1
	[ -z "$(find "$2" "$here/build.sh" -newer "$1" -print -quit)" ]
}

built() {
	local size
	size=$(stat -c %s "$1")
	printf 'built: %s (%s bytes, %ss)\n' "$1" "$size" "$2"
}

# gobuild NAME SRCDIR [ENV=VAL...] -- [go build flags...]
gobuild() {
	local name=$1 src=$2 envs=() t0
	shift 2
	while [ $# -gt 0 ] && [ "$1" != "--" ]; do envs+=("$1"); shift; done
	shift
	if up_to_date "$out/$name" "$src"; then
		echo "up to date: $out/$name"
		return 0
	fi
	t0=$(date +%s.%N)
	# Build to a temporary name so an interrupted build never leaves a
	# binary that looks up to date.
	(cd "$src" && env "${envs[@]}" "$GO" build "$@" -o "$out/.$name.tmp" .)
	mv -f "$out/.$name.tmp" "$out/$name"
	built "$out/$name" "$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')"
}

probe=$here/src/goprobe
gobuild goprobe "$probe" --
gobuild goprobe-trimpath "$probe" -- -trimpath
gobuild goprobe-nocgo "$probe" CGO_ENABLED=0 --
gobuild goprobe-stripped "$probe" -- -ldflags='-s -w'

# Module mode: the same source under a go.mod outside any VCS checkout
# (-buildvcs=false: the build tree may sit in a git work tree whose status
# we do not want stamped). goprobe has no dependencies, so no vendor/.
modsrc=$out/.modsrc/goprobe
mkdir -p "$modsrc"
cp -p "$probe/main.go" "$modsrc/main.go"
[ -f "$modsrc/go.mod" ] || printf 'module example.com/goprobe\n\ngo 1.19\n' >"$modsrc/go.mod"
gobuild goprobe-mod "$modsrc" GO111MODULE=on GOPATH="$out/.modgopath" GOFLAGS=-mod=mod -- -buildvcs=false

gobuild goservice "$here/src/goservice" --
