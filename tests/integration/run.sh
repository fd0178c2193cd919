#!/usr/bin/env bash
# Run every tests/integration/test_*.sh; each writes its PASS/FAIL/SKIP
# lines to build/results/integration-NAME.log.
set -u
here=$(cd "$(dirname "$0")" && pwd)
out=${RESULTS:-build/results}
mkdir -p "$out"
rc=0
# INTEGRATION_TAG=asan: the run against the sanitized gorral; every
# sanitizer report lands in $out/asan-reports/ and fails its test.
tag=${INTEGRATION_TAG:+-$INTEGRATION_TAG}
if [ -n "${GORRAL_ASAN:-}" ]; then
	reports=$out/asan-reports
	rm -rf "$reports"; mkdir -p "$reports"
	export ASAN_OPTIONS="detect_leaks=1:log_path=$reports/asan:log_exe_name=1"
	export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$reports/ubsan"
fi
for t in "$here"/test_*.sh; do
	# The second pass is for the sanitized supervisor. A test that runs
	# no gorral, or only one-shot commands whose parsers the unit tier
	# and the fuzzers already run under ASan, says "# asan-pass: no"
	# in its header and runs once.
	if [ -n "${GORRAL_ASAN:-}" ] && grep -q '^# asan-pass: no' "$t"; then
		continue
	fi
	name=$(basename "$t" .sh)$tag
	log=$out/integration-$name.log
	timeout 600 bash "$t" >"$log" 2>"$out/integration-$name.stderr"
	r=$?
	sed "s/^/$name: /" "$log"
	if [ $r -ne 0 ] && ! grep -q '^FAIL' "$log"; then
		echo "FAIL: $name: script exited $r" >>"$log"
		echo "$name: script exited $r"; tail -5 "$out/integration-$name.stderr"
	fi
	if [ -n "${GORRAL_ASAN:-}" ]; then
		for f in "$reports"/*; do
			[ -e "$f" ] || continue
			echo "FAIL: sanitizer report $(basename "$f"): $(grep -m1 -E 'ERROR|runtime error' "$f")" >>"$log"
			mv "$f" "$out/integration-$name.$(basename "$f").txt"
		done
	fi
	grep -q '^FAIL' "$log" && rc=1
done
exit $rc
