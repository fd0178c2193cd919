#!/usr/bin/env bash
# The command line itself: --help, --version and -V on every command, usage
# errors exit 2 with a message naming the option and the value, and
# --remap-exit for every exit code, for both builds.
source "$(dirname "$0")/lib.sh"

# ok_with RC PATTERN TEXT: RC is 0 and TEXT matches the (case-blind) PATTERN.
ok_with() { [ "$1" -eq 0 ] && grep -qi -- "$2" <<<"$3"; }

for v in "dynamic:$GORRAL" "static:${GORRAL_STATIC:-}"; do
	kind=${v%%:*} G=${v#*:}
	[ -x "$G" ] || { skip_static "$kind: cli" "binary $G not built"; continue; }
	want_version="gorral $(sed -n 's/^VERSION := //p' "$(dirname "$0")/../../Makefile")"
	# The second line: whether the build has D-Bus (libsystemd is loaded at run time).
	if [ "$kind" = static ]; then
		want_version+=$'\nD-Bus: no (static build)'
	else
		want_version+=$'\nD-Bus: yes (libsystemd, loaded at run time)'
	fi
	expect_eq "$kind: gorral --version" "$("$G" --version)" "$want_version"
	expect_eq "$kind: gorral -V" "$("$G" -V)" "$want_version"
	out=$("$G" --help); rc=$?
	check "$kind: gorral --help exits 0 and lists the commands" ok_with "$rc" '^  inspect ' "$out"
	"$G" >/dev/null 2>&1; expect_eq "$kind: no command exits 2" "$?" 2
	err=$("$G" frobnicate 2>&1 >/dev/null); rc=$?
	expect_eq "$kind: unknown command exits 2" "$rc" 2
	check "$kind: unknown command is named" grep -q "frobnicate" <<<"$err"
	for c in limits env exec inspect run check-config status start stop restart reload signal dump; do
		out=$("$G" $c --help 2>&1); rc=$?
		check "$kind: $c --help exits 0 with a usage line" ok_with "$rc" "^usage: gorral $c" "$out"
		expect_eq "$kind: $c --version" "$("$G" $c --version 2>&1)" "$want_version"
		expect_eq "$kind: $c -V" "$("$G" $c -V 2>&1)" "$want_version"
		check "$kind: $c --help lists -V" grep -q -- "-V, --version" <<<"$out"
		err=$("$G" $c --no-such-option 2>&1 >/dev/null); rc=$?
		expect_eq "$kind: $c --no-such-option exits 2" "$rc" 2
		check "$kind: $c names the bad option" grep -q -- "--no-such-option" <<<"$err"
	done
	"$G" run >/dev/null 2>&1; expect_eq "$kind: run without a command exits 2" "$?" 2
	"$G" exec >/dev/null 2>&1; expect_eq "$kind: exec without a command exits 2" "$?" 2
	"$G" inspect >/dev/null 2>&1; expect_eq "$kind: inspect without a file exits 2" "$?" 2
	"$G" run --restart sometimes -- true >/dev/null 2>&1; expect_eq "$kind: run --restart sometimes exits 2" "$?" 2
	"$G" run --stop-timeout 10parsecs -- true >/dev/null 2>&1; expect_eq "$kind: run --stop-timeout 10parsecs exits 2" "$?" 2
	"$G" env --format xml >/dev/null 2>&1; expect_eq "$kind: env --format xml exits 2" "$?" 2
	"$G" limits --mem-ratio 1.5 >/dev/null 2>&1; expect_eq "$kind: limits --mem-ratio 1.5 exits 2" "$?" 2

	# Usage errors name the option and the value, and say why.
	# usage_err NAME WANT-REGEX ARGS...: exit 2, stderr matches.
	usage_err() {
		local name=$1 want=$2 err rc; shift 2
		err=$("$G" "$@" 2>&1 >/dev/null); rc=$?
		if [ $rc -eq 2 ] && grep -qE -- "$want" <<<"$err"; then pass "$kind: $name"
		else fail "$kind: $name" "rc=$rc: $err"; fi
	}
	usage_err "run --remap-exit 300:0 names value and range" "invalid value '300:0' for --remap-exit: FROM is not an exit code 0-255" run --remap-exit 300:0 -- true
	usage_err "run --remap-exit 1:256 blames TO" "invalid value '1:256' for --remap-exit: TO is not" run --remap-exit 1:256 -- true
	usage_err "run --remap-exit=7 says FROM:TO" "invalid value '7' for --remap-exit: expected FROM:TO" run --remap-exit=7 -- true
	usage_err "run --rewrite NOPE:TERM blames FROM" "invalid value 'NOPE:TERM' for --rewrite: FROM is not a signal" run --rewrite NOPE:TERM -- true
	usage_err "run --rewrite KILL:TERM says why" "invalid value 'KILL:TERM' for --rewrite: KILL and STOP cannot be caught" run --rewrite KILL:TERM -- true
	usage_err "run --stop-timeout=10parsecs names option and value" "invalid value '10parsecs' for --stop-timeout( |$)" run --stop-timeout=10parsecs -- true
	usage_err "run --rewrite with no value" "--rewrite needs a value" run --rewrite
	usage_err "run --group=yes takes no value" "--group takes no value \(got 'yes'\)" run --group=yes -- true
	usage_err "run --mem-ratio=1.5 names option and value" "invalid value '1.5' for --mem-ratio( |$)" run --mem-ratio=1.5 -- true
	usage_err "run --mem-ratio 1.5 names option and value" "invalid value '1.5' for --mem-ratio( |$)" run --mem-ratio 1.5 -- true
	usage_err "limits --mem-ratio=1.5 names option and value" "invalid value '1.5' for --mem-ratio$" limits --mem-ratio=1.5

	# --remap-exit for every one of the 256 codes at once (tini's own test
	# remaps them all): each code C becomes 255-C.
	rules=()
	for ((c = 0; c < 256; c++)); do rules+=(--remap-exit "$c:$((255 - c))"); done
	bad=""
	for ((c = 0; c < 256; c++)); do
		"$G" run --no-limits --log-level error "${rules[@]}" -- sh -c "exit $c" 2>/dev/null
		rc=$?
		[ $rc -eq $((255 - c)) ] || bad="$bad $c->$rc"
	done
	expect_eq "$kind: 256 --remap-exit rules, every code remapped" "${bad:-none}" "none"
	"$G" run --no-limits --log-level error --remap-exit 7:1 --remap-exit 7:9 -- sh -c 'exit 7' 2>/dev/null
	expect_eq "$kind: a later --remap-exit for the same code wins" "$?" 9
	"$G" run --no-limits --log-level error --remap-exit 143:0 -- sh -c 'kill -TERM $$' 2>/dev/null
	expect_eq "$kind: --remap-exit 143:0 remaps a death by SIGTERM" "$?" 0
done
