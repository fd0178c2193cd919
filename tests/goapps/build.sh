#!/usr/bin/env bash
# Build the Go programs the tests, the demo and the benchmarks run, into
# OUTDIR, with both toolchains named in toolchains.sh (never `go` on PATH,
# which may be either).
#
# Go 1.19 (Debian's golang-go), GOPATH mode, offline:
#   goprobe            one line: gomaxprocs= memlimit= numcpu= go_version=
#                      default_gomaxprocs= gomaxprocs_env= env_GOMAXPROCS= env_GOMEMLIMIT=
#   goprobe-trimpath   the same, -trimpath            (for `gorral inspect`)
#   goprobe-nocgo      the same, CGO_ENABLED=0        (static, no libc)
#   goprobe-stripped   the same, -ldflags='-s -w'
#   goprobe-mod        the same, module mode (mod line, go.mod in OUTDIR/.modsrc)
#   goservice          the demo HTTP service (Prometheus, pprof, leaks, burn)
#   goservice-nocgo    the same, CGO_ENABLED=0: static, for scratch images
#   gohelper           CGO_ENABLED=0: the container tests' service, orphan
#                      maker, zombie counter and one-shot job (no shell in
#                      a scratch image)
# Go 1.26 (/usr/local/go), module mode through the Go module proxy, with
# the go.mod/go.sum of mod126/NAME and the same sources as above:
#   goprobe126         goprobe; its runtime sizes GOMAXPROCS from the cgroup
#   goprobe126-go124   goprobe under a go.mod that says go 1.24: Go 1.26 records
#                      containermaxprocs=0 in DefaultGODEBUG (runtime does not)
#   goservice126       the demo service, client_golang pinned in mod126/goservice
#   goservice126-leakprof  the same, GOEXPERIMENT=goroutineleakprofile
#                      (/debug/pprof/goroutineleak)
#   goservice127       the same sources and go.mod built by Go 1.27
#                      (GOTOOLCHAIN=go1.27.3: the go command takes that
#                      toolchain from the module proxy into the module
#                      cache, 76 MB once per machine): its
#                      /debug/pprof/goroutineleak needs no GOEXPERIMENT
# The module trees live under OUTDIR; the build caches and the module
# cache in GORRAL_GO_CACHE (default /var/tmp/gorral-go), shared by every
# clone on the machine (Go's caches are content-addressed and locked, made
# for that; a cold one costs a fresh clone 100 s of compiling the standard
# libraries of both toolchains), and never ~/go. A binary is rebuilt only when
# its sources, its go.mod/go.sum or these scripts are newer. A Go 1.26
# failure (no module proxy, say) fails this script: it is never skipped.
# Usage: build.sh OUTDIR
set -euo pipefail

[ $# -eq 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
source "$here/toolchains.sh"
mkdir -p "$1"
out=$(cd "$1" && pwd)
cache=${GORRAL_GO_CACHE:-/var/tmp/gorral-go}
mkdir -p "$cache"

for g in "$GO119" "$GO126"; do
	if [ ! -x "$g" ]; then
		case $g in
		"$GO119") echo "$0: $g not found: install golang-go (make deps)" >&2 ;;
		*) echo "$0: $g not found: Go 1.26 is expected at /usr/local/go (or set GO126)" >&2 ;;
		esac
		exit 1
	fi
done
prom=/usr/share/gocode/src/github.com/prometheus/client_golang/prometheus/promhttp
if [ ! -d "$prom" ]; then
	echo "$0: $prom missing: install golang-github-prometheus-client-golang-dev (make deps)" >&2
	exit 1
fi

# The caller's module proxy settings are for Go 1.26 only (Go 1.19 runs
# offline); an empty GOPROXY means Go's default.
proxy=${GOPROXY-} sumdb=${GOSUMDB-}
export HOME=${HOME:-/tmp}
unset GOOS GOARCH CGO_ENABLED GOROOT GOBIN GOEXPERIMENT GOWORK GOMODCACHE GONOSUMDB GOPRIVATE GONOPROXY
export GOTOOLCHAIN=local

# up_to_date BIN PATH...: BIN exists and is newer than every file under the
# PATHs and these scripts (whose flags decide what BIN is).
up_to_date() {
	local bin=$1
	shift
	[ -x "$bin" ] || return 1
	[ -z "$(find "$@" "$here/build.sh" "$here/toolchains.sh" -newer "$bin" -print -quit)" ]
}

built() {
	local size
	size=$(stat -c %s "$1")
	printf 'built: %s (%s, %s bytes, %ss)\n' "$1" "$2" "$size" "$3"
}

# gobuild GO NAME SRCDIR DEPS [ENV=VAL...] -- [go build flags...]
# DEPS: a colon-separated list of the paths BIN depends on.
gobuild() {
	local go=$1 name=$2 src=$3 deps=() envs=() t0
	IFS=: read -ra deps <<<"$4"
	shift 4
	while [ $# -gt 0 ] && [ "$1" != "--" ]; do envs+=("$1"); shift; done
	shift
	if up_to_date "$out/$name" "${deps[@]}"; then
		echo "up to date: $out/$name"
		return 0
	fi
	t0=$(date +%s.%N)
	# Build to a temporary name so an interrupted build never leaves a
	# binary that looks up to date.
	if ! (cd "$src" && env "${envs[@]}" "$go" build "$@" -o "$out/.$name.tmp" .); then
		echo "$0: building $name with $go failed" >&2
		return 1
	fi
	mv -f "$out/.$name.tmp" "$out/$name"
	built "$out/$name" "$(env "${envs[@]}" "$go" env GOVERSION)" "$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')"
}

# --- Go 1.19: GOPATH mode, offline -----------------------------------------
# Our tree comes first in GOPATH: `go build` resolves our packages there and
# the Prometheus client from Debian's gocode. Without HOME or GOCACHE Go
# refuses to build ("build cache is required").
go119=(GO111MODULE=off GOPROXY=off GOFLAGS= GOPATH="$here:/usr/share/gocode" GOCACHE="${GOCACHE:-$cache/go1.19-build}")
probe=$here/src/goprobe
gobuild "$GO119" goprobe "$probe" "$probe" "${go119[@]}" --
gobuild "$GO119" goprobe-trimpath "$probe" "$probe" "${go119[@]}" -- -trimpath
gobuild "$GO119" goprobe-nocgo "$probe" "$probe" "${go119[@]}" CGO_ENABLED=0 --
gobuild "$GO119" goprobe-stripped "$probe" "$probe" "${go119[@]}" -- -ldflags='-s -w'

# Module mode: the same source under a go.mod outside any VCS checkout
# (-buildvcs=false: the build tree may sit in a git work tree whose status
# we do not want stamped). goprobe has no dependencies, so no vendor/.
modsrc=$out/.modsrc/goprobe
mkdir -p "$modsrc"
rm -f "$modsrc"/*.go
cp -p "$probe"/*.go "$modsrc/"
[ -f "$modsrc/go.mod" ] || printf 'module example.com/goprobe\n\ngo 1.19\n' >"$modsrc/go.mod"
gobuild "$GO119" goprobe-mod "$modsrc" "$probe" "${go119[@]}" GO111MODULE=on GOPATH="$out/.modgopath" GOFLAGS=-mod=mod -- -buildvcs=false

gobuild "$GO119" goservice "$here/src/goservice" "$here/src/goservice" "${go119[@]}" --
gobuild "$GO119" goservice-nocgo "$here/src/goservice" "$here/src/goservice" "${go119[@]}" CGO_ENABLED=0 --
gobuild "$GO119" gohelper "$here/src/gohelper" "$here/src/gohelper" "${go119[@]}" CGO_ENABLED=0 --

# --- Go 1.26: module mode through the module proxy -------------------------
# Each program is assembled in OUTDIR/.go126/src/NAME from the shared
# sources and the committed go.mod/go.sum of mod126/NAME; the module cache
# (-modcacherw: removable without chmod) is $cache/go1.26-mod, outside
# every module tree.
g126=$out/.go126
go126=(GO111MODULE=on GOFLAGS="-mod=mod -modcacherw" GOPATH="$g126/gopath" GOMODCACHE="$cache/go1.26-mod"
	GOCACHE="$cache/go1.26-build" GOPROXY="$proxy" GOSUMDB="$sumdb")
# assemble NAME SRC MODDIR: the module tree for NAME, rebuilt from scratch.
assemble() {
	local d=$g126/src/$1
	rm -rf "$d"
	mkdir -p "$d"
	cp -p "$2"/*.go "$d/"
	cp -p "$3"/go.mod "$d/"
	[ ! -f "$3/go.sum" ] || cp -p "$3/go.sum" "$d/"
}
go126_build() { # NAME SRC MODDIR [ENV=VAL...] -- [flags]
	local name=$1 src=$2 mod=$3
	shift 3
	if up_to_date "$out/$name" "$src" "$mod"; then
		echo "up to date: $out/$name"
		return 0
	fi
	assemble "$name" "$src" "$mod"
	if ! gobuild "$GO126" "$name" "$g126/src/$name" "$src:$mod" "${go126[@]}" "$@"; then
		echo "$0: the Go 1.26 build of $name failed: it needs the Go module proxy" \
			"(GOPROXY=${proxy:-the default}) unless $cache/go1.26-mod already holds its modules" >&2
		exit 1
	fi
}
mod126=$here/mod126
go126_build goprobe126 "$probe" "$mod126/goprobe" -- -buildvcs=false
go126_build goprobe126-go124 "$probe" "$mod126/goprobe-go124" -- -buildvcs=false
go126_build goservice126 "$here/src/goservice" "$mod126/goservice" -- -buildvcs=false
go126_build goservice126-leakprof "$here/src/goservice" "$mod126/goservice" GOEXPERIMENT=goroutineleakprofile -- -buildvcs=false
go126_build goservice127 "$here/src/goservice" "$mod126/goservice" GOTOOLCHAIN=go1.27.3 -- -buildvcs=false
