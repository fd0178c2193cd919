#!/usr/bin/env bash
# Run each libFuzzer target for SECONDS, seeded from tests/fuzz/seeds/NAME.
# Usage: run.sh SECONDS BIN...
set -u
secs=$1; shift
here=$(cd "$(dirname "$0")" && pwd)
out=${RESULTS:-build/results}
mkdir -p "$out"
log="$out/fuzz.log"
: >"$log"
rc=0
for bin in "$@"; do
	name=$(basename "$bin")
	corpus=$(dirname "$bin")/corpus-$name
	mkdir -p "$corpus"
	seeds=()
	[ -d "$here/seeds/$name" ] && seeds=("$here/seeds/$name")
	if "$bin" -max_total_time="$secs" -max_len=65536 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$(dirname "$bin")/$name-" "$corpus" "${seeds[@]}" \
		>"$out/fuzz-$name.txt" 2>&1; then
		execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$out/fuzz-$name.txt" | awk '{print $2}')
		echo "PASS: $name: ${secs}s clean (${execs:-?} runs)" | tee -a "$log"
	else
		echo "FAIL: $name: crash, see $out/fuzz-$name.txt" | tee -a "$log"
		rc=1
	fi
done
exit $rc
