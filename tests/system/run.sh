#!/usr/bin/env bash
# Run every tests/system/test_*.sh once: the tier of real systems around
# gorral (a booted systemd under systemd-nspawn, a Docker engine, a private
# D-Bus, the .deb, the manifests). Unlike the integration tier it runs
# once, against the dynamic and static builds: what these tests exercise
# is how gorral meets the outside world, which the sanitized build does
# not change. Each test writes PASS/FAIL/SKIP lines to
# build/results/system-NAME.log; the tests share lib.sh with the
# integration tier.
set -u
here=$(cd "$(dirname "$0")" && pwd)
out=${RESULTS:-build/results}
mkdir -p "$out"
rc=0
for t in "$here"/test_*.sh; do
	[ -e "$t" ] || continue
	name=$(basename "$t" .sh)
	log=$out/system-$name.log
	start=$SECONDS
	timeout 600 bash "$t" >"$log" 2>"$out/system-$name.stderr"
	r=$?
	sed "s/^/$name: /" "$log"
	echo "$name: info: took $((SECONDS - start)) s"
	if [ $r -ne 0 ] && ! grep -q '^FAIL' "$log"; then
		echo "FAIL: $name: script exited $r" >>"$log"
		echo "$name: script exited $r"; tail -5 "$out/system-$name.stderr"
	fi
	grep -q '^FAIL' "$log" && rc=1
done
exit $rc
