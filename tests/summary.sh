#!/usr/bin/env bash
# Add up every tier's results: Criterion synthesis lines (unit, asan),
# PASS/FAIL/SKIP lines (integration, fuzz). Prints the closing line
# "check: N passed, N failed, N skipped" and exits 1 on any failure.
set -u
dir=${1:-build/results}
passed=0 failed=0 skipped=0
shopt -s nullglob
for log in "$dir"/*.log; do
	base=$(basename "$log" .log)
	if grep -q 'Synthesis' "$log"; then
		line=$(grep 'Synthesis' "$log" | tail -1)
		t=$(sed -n 's/.*Tested: \([0-9]*\).*/\1/p' <<<"$line")
		p=$(sed -n 's/.*Passing: \([0-9]*\).*/\1/p' <<<"$line")
		f=$(sed -n 's/.*Failing: \([0-9]*\).*/\1/p' <<<"$line")
		s=$(grep -c '^\[SKIP\]' "$log")
		passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
		printf '%-32s %4d passed, %d failed, %d skipped\n' "$base" "$p" "$f" "$s"
	else
		p=$(grep -c '^PASS' "$log"); f=$(grep -c '^FAIL' "$log"); s=$(grep -c '^SKIP' "$log")
		if [ $((p + f + s)) -eq 0 ]; then f=1; echo "$base: no results (crashed?)"; fi
		passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
		printf '%-32s %4d passed, %d failed, %d skipped\n' "$base" "$p" "$f" "$s"
		grep -E '^(FAIL|SKIP)' "$log" | sed 's/^/    /'
	fi
done
echo "check: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
