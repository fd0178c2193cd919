#!/usr/bin/env bash
# The command line itself: --help and --version on every command, usage
# errors exit 2 with a message, for both builds.
source "$(dirname "$0")/lib.sh"

# ok_with RC PATTERN TEXT: RC is 0 and TEXT matches the (case-blind) PATTERN.
ok_with() { [ "$1" -eq 0 ] && grep -qi -- "$2" <<<"$3"; }

for v in "dynamic:$GORRAL" "static:${GORRAL_STATIC:-}"; do
	kind=${v%%:*} G=${v#*:}
	[ -x "$G" ] || { skip "$kind: cli" "binary $G not built"; continue; }
	want_version="gorral $(sed -n 's/^VERSION := //p' "$(dirname "$0")/../../Makefile")"
	expect_eq "$kind: gorral --version" "$("$G" --version)" "$want_version"
	out=$("$G" --help); rc=$?
	check "$kind: gorral --help exits 0 and lists the commands" ok_with "$rc" '^  inspect ' "$out"
	"$G" >/dev/null 2>&1; expect_eq "$kind: no command exits 2" "$?" 2
	err=$("$G" frobnicate 2>&1 >/dev/null); rc=$?
	expect_eq "$kind: unknown command exits 2" "$rc" 2
	check "$kind: unknown command is named" grep -q "frobnicate" <<<"$err"
	for c in limits env exec inspect run; do
		out=$("$G" $c --help 2>&1); rc=$?
		check "$kind: $c --help exits 0 with a usage line" ok_with "$rc" "^usage: gorral $c" "$out"
		expect_eq "$kind: $c --version" "$("$G" $c --version 2>&1)" "$want_version"
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
done
