#!/usr/bin/env bash
# Run Criterion test binaries; keep each log under build/results for
# tests/summary.sh. Usage: run-unit.sh TIER BIN...
set -u
tier=$1; shift
out=${RESULTS:-build/results}
mkdir -p "$out"
rc=0
for bin in "$@"; do
	name=$(basename "$bin")
	log="$out/$tier-$name.log"
	"$bin" --verbose -j2 >"$log" 2>&1
	r=$?
	grep -E '^\[(FAIL|SKIP)\]|^\[----\] .*:[0-9]+: |Synthesis' "$log" | sed "s/^/$tier\/$name: /"
	[ $r -eq 0 ] || rc=1
done
exit $rc
