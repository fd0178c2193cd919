#!/usr/bin/env bash
# gorral inspect on the real binaries `make goapps` built, compared line by
# line with `go version -m` of the toolchain that built each one (named in
# tests/goapps/toolchains.sh, never `go` on PATH):
#   Go 1.19 (GOPATH mode): goprobe default, -trimpath, CGO_ENABLED=0,
#     -ldflags='-s -w', module mode, the demo service: not cgroup-aware;
#   Go 1.26 (module mode): goprobe126 and goservice126 (cgroup-aware, deps),
#     goprobe126-go124 (go.mod says go 1.24: containermaxprocs=0 in
#     DefaultGODEBUG, not cgroup-aware) and goservice126-leakprof (a
#     GOEXPERIMENT build, version "go1.26.x-X:goroutineleakprofile").
# Then on one with its section headers removed and one truncated; on a
# non-Go ELF, a non-ELF file and bad usage; and once with the static build.
# asan-pass: no (one-shot inspect; buildinfo.c is fuzzed and unit-tested under ASan)
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/../goapps/toolchains.sh"

have_py=false
command -v python3 >/dev/null 2>&1 && have_py=true

# inspect NAME FILE [ARGS...]: stdout in $TMP/NAME.out, stderr in
# $TMP/NAME.err, status in $rc.
inspect() {
	local name=$1 file=$2; shift 2
	"$GORRAL" inspect "$@" "$file" >"$TMP/$name.out" 2>"$TMP/$name.err"
	rc=$?
}

field() { # NAME LABEL: the value of "LABEL:   value" in NAME.out
	sed -n "s/^$2: *//p" "$TMP/$1.out" | head -1
}

# `go version -m`'s "\tbuild\t..." lines vs our "build: ..." lines, with
# the toolchain GO that built FILE.
compare_with_go() {
	local name=$1 file=$2 go=$3
	if [ ! -x "$go" ]; then
		skip "$name.matches_go_version_m" "$go not installed"
		return
	fi
	"$go" version -m "$file" >"$TMP/$name.gov" 2>&1
	local want got
	want=$(sed -n 's/^\tbuild\t//p' "$TMP/$name.gov")
	got=$(sed -n 's/^build: *//p' "$TMP/$name.out")
	expect_eq "$name.settings_match_go_version_m" "$got" "$want"
	want=$(sed -n 's/^\tpath\t//p' "$TMP/$name.gov")
	expect_eq "$name.path_matches_go_version_m" "$(field "$name" path)" "$want"
	want=$(sed -n '1s/^.*: //p' "$TMP/$name.gov")
	expect_eq "$name.version_matches_go_version_m" "$(field "$name" 'go version')" "$want"
	want=$(awk -F'\t' '$2 == "mod" { print $3 " " $4 }' "$TMP/$name.gov")
	if [ -n "$want" ]; then
		expect_eq "$name.module_matches_go_version_m" "$(field "$name" 'main module')" "$want"
	fi
	want=$(awk -F'\t' '$2 == "dep" { print $3 " " $4 }' "$TMP/$name.gov")
	if [ -n "$want" ]; then
		expect_eq "$name.deps_match_go_version_m" "$(sed -n 's/^dep: *//p' "$TMP/$name.out")" "$want"
	fi
}

# JSON: valid, settings equal to `go version -m` (values unquoted), the Go
# version prefix VPREFIX and runtime_sizes_gomaxprocs SIZES (true/false).
check_json() {
	local name=$1 file=$2 vprefix=$3 sizes=$4
	if ! $have_py; then
		skip "$name.json" "python3 not installed (needed to read the JSON)"
		return
	fi
	"$GORRAL" inspect --json "$file" >"$TMP/$name.json" 2>"$TMP/$name.jerr"
	local r=$?
	[ $r -eq 0 ] || { fail "$name.json" "exit $r: $(head -c 300 "$TMP/$name.jerr")"; return; }
	local gov=/dev/null
	[ -f "$TMP/$name.gov" ] && gov=$TMP/$name.gov
	local out
	out=$(python3 - "$TMP/$name.json" "$gov" "$vprefix" "$sizes" <<'PY' 2>&1
import json, sys
j = json.load(open(sys.argv[1]))
errs = []
if not j["go_version"].startswith(sys.argv[3]):
    errs.append("go_version %r" % j["go_version"])
if j["runtime_sizes_gomaxprocs"] is not (sys.argv[4] == "true"):
    errs.append("runtime_sizes_gomaxprocs %r" % j["runtime_sizes_gomaxprocs"])
if not isinstance(j["settings"], dict) or "GOOS" not in j["settings"]:
    errs.append("settings %r" % j.get("settings"))
want = {}
for line in open(sys.argv[2]):
    if line.startswith("\tbuild\t"):
        k, _, v = line[len("\tbuild\t"):].rstrip("\n").partition("=")
        want[k] = json.loads(v) if v.startswith('"') else v
if want and want != j["settings"]:
    errs.append("settings %r != go version -m %r" % (j["settings"], want))
print("; ".join(errs) if errs else "ok")
PY
)
	expect_eq "$name.json" "$out" "ok"
}

# NAME:TOOLCHAIN:AWARE: AWARE is yes (Go >= 1.25, its runtime sizes
# GOMAXPROCS: gorral leaves it unset unless lower) or no.
built=0
for spec in goprobe:119:no goprobe-trimpath:119:no goprobe-nocgo:119:no goprobe-stripped:119:no \
	goprobe-mod:119:no goservice:119:no \
	goprobe126:126:yes goprobe126-go124:126:no goservice126:126:yes goservice126-leakprof:126:yes \
	goservice127:127:yes; do
	IFS=: read -r name tc aware <<<"$spec"
	f=$GOAPPS/$name
	if [ ! -x "$f" ]; then
		fail "$name" "$f not built (make goapps)"
		continue
	fi
	built=$((built + 1))
	# Go 1.26's go version -m reads a Go 1.27 binary's build info too.
	case $tc in
	119) go=$GO119 vre='go1\.19\.[0-9]+' vprefix=go1.19. ;;
	126) go=$GO126 vre='go1\.26\.[0-9]+' vprefix=go1.26. ;;
	127) go=$GO126 vre='go1\.27\.[0-9]+' vprefix=go1.27. ;;
	esac
	inspect "$name" "$f"
	expect_eq "$name.exit" "$rc" 0
	v=$(field "$name" 'go version')
	if [[ $v =~ ^$vre ]]; then pass "$name.go_version ($v)"; else fail "$name.go_version" "got '$v'"; fi
	verdict=$(grep -E '^(cgroup-aware|gorral):' "$TMP/$name.out" | tr '\n' '|')
	case $aware:$name in
	no:goprobe126-go124)
		re='^cgroup-aware: *no: containermaxprocs=0 in its DefaultGODEBUG\|gorral: *exports GOMAXPROCS' ;;
	no:*) re='^cgroup-aware: *no: go1\.19.*\|gorral: *exports GOMAXPROCS' ;;
	yes:*) re="^cgroup-aware: *yes: $vre.* sizes GOMAXPROCS from its cgroup CPU limit itself\\|gorral: *leaves GOMAXPROCS unset" ;;
	esac
	if grep -Eq "$re" <<<"$verdict"; then pass "$name.gomaxprocs_verdict"; else fail "$name.gomaxprocs_verdict" "$verdict"; fi
	compare_with_go "$name" "$f" "$go"
	check_json "$name" "$f" "$vprefix" "$([ "$aware" = yes ] && echo true || echo false)"
	case $name in
	goprobe-trimpath) check "$name.trimpath_setting" grep -qx 'build: *-trimpath=true' "$TMP/$name.out" ;;
	goprobe-nocgo) check "$name.cgo_disabled" grep -qx 'build: *CGO_ENABLED=0' "$TMP/$name.out" ;;
	goprobe-stripped) check "$name.ldflags_setting" grep -qx 'build: *-ldflags="-s -w"' "$TMP/$name.out" ;;
	goprobe) check "$name.cgo_enabled" grep -qx 'build: *CGO_ENABLED=1' "$TMP/$name.out" ;;
	goprobe-mod | goprobe126 | goprobe126-go124)
		expect_eq "$name.main_module" "$(field "$name" 'main module')" "example.com/goprobe (devel)" ;;
	goservice126) check "$name.client_golang_dep" grep -qx 'dep: *github.com/prometheus/client_golang v1.25.0' "$TMP/$name.out" ;;
	goservice126-leakprof)
		check "$name.goexperiment_setting" grep -qx 'build: *GOEXPERIMENT=goroutineleakprofile' "$TMP/$name.out"
		check "$name.version_suffix" grep -Eq "^go version: *$vre-X:goroutineleakprofile\$" "$TMP/$name.out" ;;
	esac
done
[ $built -gt 0 ] || exit 0

# Section headers removed (e_shoff, e_shnum, e_shstrndx zeroed, as sstrip
# leaves a file): found by scanning the writable segment.
if $have_py && [ -x "$GOAPPS/goprobe-nocgo" ]; then
	cp "$GOAPPS/goprobe-nocgo" "$TMP/noshdr"
	python3 -c 'import struct, sys
f = open(sys.argv[1], "r+b"); b = bytearray(f.read())
assert b[4] == 2 and b[5] == 1  # ELF64 little endian
struct.pack_into("<Q", b, 40, 0); struct.pack_into("<HHH", b, 58, 0, 0, 0)
f.seek(0); f.write(b)' "$TMP/noshdr"
	if readelf -S "$TMP/noshdr" 2>&1 | grep -q 'no sections'; then pass noshdr.prepared; else fail noshdr.prepared "readelf still sees sections"; fi
	inspect noshdr "$TMP/noshdr"
	inspect nocgo "$GOAPPS/goprobe-nocgo"
	expect_eq noshdr.exit "$rc" 0
	expect_eq noshdr.same_build_info "$(grep -E '^(go version|path|build):' "$TMP/noshdr.out")" \
		"$(grep -E '^(go version|path|build):' "$TMP/nocgo.out")"
fi

# Truncated: the data segment runs past the end of the file.
if [ -x "$GOAPPS/goprobe" ]; then
	head -c 1048576 "$GOAPPS/goprobe" >"$TMP/truncated"
	inspect truncated "$TMP/truncated"
	expect_eq truncated.exit "$rc" 1
	check truncated.message grep -q 'truncated or inconsistent' "$TMP/truncated.err"
fi

# Not Go, not ELF, missing.
inspect true /bin/true
expect_eq not_go.exit "$rc" 1
expect_eq not_go.message "$(cat "$TMP/true.err")" "gorral inspect: /bin/true: not a Go binary (no .go.buildinfo)"
expect_eq not_go.no_stdout "$(cat "$TMP/true.out")" ""
printf '#!/bin/sh\necho hello\n' >"$TMP/script.sh"
inspect script "$TMP/script.sh"
expect_eq not_elf.exit "$rc" 1
expect_eq not_elf.message "$(cat "$TMP/script.err")" "gorral inspect: $TMP/script.sh: not an ELF file"
inspect missing "$TMP/does-not-exist"
expect_eq missing.exit "$rc" 1
check missing.message grep -q 'No such file or directory' "$TMP/missing.err"
inspect dir "$TMP"
expect_eq directory.exit "$rc" 1

# Usage.
"$GORRAL" inspect >/dev/null 2>"$TMP/u1.err"
expect_eq usage.no_binary "$?" 2
"$GORRAL" inspect --frobnicate /bin/true >/dev/null 2>&1
expect_eq usage.unknown_option "$?" 2
"$GORRAL" inspect /bin/true /bin/false >/dev/null 2>&1
expect_eq usage.two_binaries "$?" 2
"$GORRAL" inspect --help >"$TMP/help.out" 2>&1
expect_eq help.exit "$?" 0
check help.text grep -q '^Usage: gorral inspect' "$TMP/help.out"
expect_eq version "$("$GORRAL" inspect --version)" "$("$GORRAL" --version)"

# The static (musl) build gives the same report.
if [ -n "${GORRAL_STATIC:-}" ] && [ -x "$GORRAL_STATIC" ] && [ -x "$GOAPPS/goprobe-stripped" ]; then
	"$GORRAL_STATIC" inspect "$GOAPPS/goprobe-stripped" >"$TMP/static.out" 2>"$TMP/static.err"
	expect_eq static.exit "$?" 0
	"$GORRAL" inspect "$GOAPPS/goprobe-stripped" >"$TMP/dynamic.out" 2>&1
	expect_eq static.same_output "$(cat "$TMP/static.out")" "$(cat "$TMP/dynamic.out")"
else
	skip_static static "GORRAL_STATIC not built"
fi
