#!/usr/bin/env bash
# gorral check-config on the real binaries (dynamic and static): every
# malformed fixture in tests/fixtures/config/bad exits 2 and prints its
# expected FILE:LINE:COLUMN: message (the fixture's "# expect:" first line),
# every output line has that form; the good fixtures and config/gorral.yaml
# print "FILE: configuration OK (N services)" and exit 0; a generated
# 200-service file is checked (its time is printed, not asserted).
# asan-pass: no (one-shot check-config; config.c is fuzzed and unit-tested under ASan)
source "$(dirname "$0")/lib.sh"

repo=$(cd "$(dirname "$0")/../.." && pwd)
fx=$repo/tests/fixtures/config

# Output lines must all be FILE:LINE:COLUMN: message.
all_lines_positioned() {
	local l
	while IFS= read -r l; do
		[[ "$l" =~ ^[^:]+:[0-9]+:[0-9]+:\ .+ ]] || return 1
	done <<<"$1"
	return 0
}

# The 200-service file: each depends on the previous one, with
# resources and an env_file, so every check runs.
gen=$TMP/many.yaml
{
	echo "defaults: {restart: on-failure, stop_timeout: 5s, env_file: $fx/env/api.env}"
	echo "services:"
	for i in $(seq 0 199); do
		echo "  svc$i:"
		echo "    command: [/bin/svc, \"--id=$i\"]"
		[ "$i" -gt 0 ] && echo "    depends_on: {svc$((i - 1)): started}"
		echo "    resources: {cpu: 0.1, memory: 64MiB}"
		echo "    env: {ID: \"$i\"}"
	done
} >"$gen"

for v in "dynamic:$GORRAL" "static:${GORRAL_STATIC:-}"; do
	kind=${v%%:*} G=${v#*:}
	[ -x "$G" ] || { skip_static "$kind: check-config" "binary $G not built"; continue; }
	cd "$fx/bad" || exit 1

	n=0
	for f in *.yaml; do
		exp=$(head -1 "$f" | sed 's/^# expect: //')
		# "[FILE:]LINE:COL: message": FILE when the error is in another
		# file (an env_file), else this one.
		if [[ "$exp" =~ ^[0-9] ]]; then want="$f:$exp"; else want="$exp"; fi
		out=$(env -u NOPE "$G" check-config --root "$fx/root" "$f" 2>&1)
		rc=$?
		n=$((n + 1))
		if [ "$rc" -ne 2 ]; then
			fail "$kind: bad/$f" "exit $rc, want 2: $out"
		elif ! grep -qF -- "$want" <<<"$out"; then
			fail "$kind: bad/$f" "no line with '$want' in: $out"
		elif ! all_lines_positioned "$out"; then
			fail "$kind: bad/$f" "a line is not FILE:LINE:COLUMN: message: $out"
		elif grep -q "configuration OK" <<<"$out"; then
			fail "$kind: bad/$f" "says OK: $out"
		else
			pass "$kind: bad/$f exits 2 with $want"
		fi
	done
	check "$kind: at least 40 malformed fixtures ($n)" test "$n" -ge 40

	cd "$repo" || exit 1
	out=$("$G" check-config config/gorral.yaml 2>&1); rc=$?
	expect_eq "$kind: config/gorral.yaml is OK" "$rc:$out" "0:config/gorral.yaml: configuration OK (3 services)"
	for f in "$fx"/good/*.yaml; do
		out=$(env PORT=8080 EMPTY= "$G" check-config --root "$fx/root" "$f" 2>&1); rc=$?
		want="$f: configuration OK ("
		if [ "$rc" -eq 0 ] && [ "$(head -1 <<<"$out")" != "" ] && grep -qF -- "$want" <<<"$out" &&
			[ "$(wc -l <<<"$out")" -eq 1 ]; then
			pass "$kind: good/$(basename "$f") is OK"
		else
			fail "$kind: good/$(basename "$f")" "exit $rc: $out"
		fi
	done

	# ${VAR} comes from gorral's own environment.
	out=$(env -u PORT "$G" check-config "$fx/good/interpolation.yaml" 2>&1); rc=$?
	check "$kind: an unset \${PORT} is an error naming it" \
		bash -c '[ "$1" -eq 2 ] && grep -q "variable \${PORT} is not set" <<<"$2"' _ "$rc" "$out"

	# Warnings do not fail the check: a CPU request above the host's.
	printf 'services:\n  a:\n    command: [x]\n    resources: {cpu: 1024}\n' >"$TMP/warn.yaml"
	out=$("$G" check-config "$TMP/warn.yaml" 2>&1); rc=$?
	check "$kind: more CPUs than the host has is a warning, exit 0" \
		bash -c '[ "$1" -eq 0 ] && grep -q "warn.yaml:4:22: warning: services.a.resources.cpu: 1024 CPUs is more than this host has" <<<"$2" && grep -q "configuration OK (1 service)" <<<"$2"' _ "$rc" "$out"

	start=$(date +%s%N)
	out=$("$G" check-config "$gen" 2>&1); rc=$?
	ms=$((($(date +%s%N) - start) / 1000000))
	expect_eq "$kind: a 200-service file is OK" "$rc:$out" "0:$gen: configuration OK (200 services)"
	echo "info: $kind: check-config on 200 services took ${ms} ms"

	# --json: one object, parsed by a real JSON parser.
	out=$("$G" check-config --json "$fx/bad/dep-cycle.yaml" 2>/dev/null); rc=$?
	check "$kind: --json lists the diagnostics" python3 -c '
import json, sys
d = json.loads(sys.argv[1])
assert d["ok"] is False and d["services"] is None, d
e = d["diagnostics"][0]
assert (e["line"], e["column"], e["severity"]) == (11, 18, "error"), e
assert "dependency cycle a -> b -> c -> a" in e["message"], e
assert int(sys.argv[2]) == 2
' "$out" "$rc"
	out=$("$G" check-config --json config/gorral.yaml); rc=$?
	check "$kind: --json on a good file" python3 -c '
import json, sys
d = json.loads(sys.argv[1])
assert d["ok"] is True and d["services"] == ["migrate", "api", "cache"] and d["diagnostics"] == [], d
' "$out"

	out=$("$G" check-config "$TMP/nope.yaml" 2>&1); rc=$?
	check "$kind: a missing file exits 2 and says so" \
		bash -c '[ "$1" -eq 2 ] && grep -q "nope.yaml:0:0: cannot read the configuration: No such file or directory" <<<"$2"' _ "$rc" "$out"
	"$G" check-config >/dev/null 2>&1; expect_eq "$kind: check-config without a file exits 2" "$?" 2
	"$G" check-config --frob x >/dev/null 2>&1; expect_eq "$kind: check-config --frob exits 2" "$?" 2
	out=$("$G" check-config --help); rc=$?
	check "$kind: check-config --help" bash -c '[ "$1" -eq 0 ] && grep -qi "^usage: gorral check-config" <<<"$2"' _ "$rc" "$out"
	out=$("$G" --help)
	check "$kind: gorral --help lists check-config" grep -q "^  check-config " <<<"$out"
done
