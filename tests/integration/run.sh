#!/usr/bin/env bash
# Run every tests/integration/test_*.sh; each writes its PASS/FAIL/SKIP
# lines to build/results/integration-NAME.log.
set -u
here=$(cd "$(dirname "$0")" && pwd)
out=${RESULTS:-build/results}
mkdir -p "$out"
rc=0
for t in "$here"/test_*.sh; do
	name=$(basename "$t" .sh)
	timeout 600 bash "$t" >"$out/integration-$name.log" 2>"$out/integration-$name.stderr"
	r=$?
	sed "s/^/$name: /" "$out/integration-$name.log"
	if [ $r -ne 0 ] && ! grep -q '^FAIL' "$out/integration-$name.log"; then
		echo "FAIL: $name: script exited $r" >>"$out/integration-$name.log"
		echo "$name: script exited $r"; tail -5 "$out/integration-$name.stderr"
	fi
	grep -q '^FAIL' "$out/integration-$name.log" && rc=1
done
exit $rc
