#!/usr/bin/env bash
# CPU cost of one monitoring sample (bench/sample.c), as a Markdown section.
#
#   bench/sample.sh BUILD_DIR [N]     (root; N samples per mode, default 10000)
#
# Builds BUILD_DIR/bench/sample from bench/sample.c and the four sources it
# needs, runs it 5 times and prints the median CPU time per sample of each
# mode, then, when valgrind is there, the user-space instructions per
# sample of each mode under callgrind (--toggle-collect=one_sample: the
# kernel's side of the reads is not in that count). Reports only.
set -u -o pipefail
BUILD=${1:?usage: bench/sample.sh BUILD_DIR [N]}
N=${2:-10000}
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$HERE/..
B=$BUILD/bench
mkdir -p "$B"
cc -O2 -g -std=gnu11 -Wall -Wextra -D_GNU_SOURCE -I"$SRC/include" -o "$B/sample" "$HERE/sample.c" \
        "$SRC/src/procfs.c" "$SRC/src/cgstat.c" "$SRC/src/cgroup.c" "$SRC/src/util.c" ||
        { echo "sample.sh: cannot compile sample.c" >&2; exit 1; }
if [ "$(id -u)" != 0 ]; then
        echo "_monitoring sample: not measured (needs root to make cgroups)_"
        exit 0
fi
TMP=$(mktemp -d /tmp/gorral-sample.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
for i in 1 2 3 4 5; do "$B/sample" -n "$N" >"$TMP/run$i" || { echo "sample.sh: run $i failed" >&2; exit 1; }; done
echo "| mode | files read | CPU per sample (median of 5 x $N) | user-space instructions per sample |"
echo "|---|---|---|---|"
for mode in $(cut -d' ' -f1 "$TMP/run1"); do
        med=$(grep -h "^$mode " "$TMP"/run* | awk '{print $3}' | sort -n | sed -n 3p)
        files=$(grep -h "^$mode " "$TMP/run1" | awk '{print $4}')
        ir="(no valgrind)"
        if command -v valgrind >/dev/null; then
                n=1200
                valgrind --tool=callgrind --toggle-collect=one_sample --callgrind-out-file="$TMP/cg.out" \
                        "$B/sample" -n $n -m "$mode" >/dev/null 2>"$TMP/cg.err" &&
                        ir=$(awk -v n=$((n + 1)) '/^totals:/ {printf "%d", $2 / n}' "$TMP/cg.out")
        fi
        echo "| $mode | $files | ${med} us | $ir |"
done
echo
echo "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs."
