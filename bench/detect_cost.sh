#!/usr/bin/env bash
# CPU cost of the detectors per sample (bench/detect_cost.c), as a Markdown
# section: every detector on, the rows a watched Go service gives, 5 runs of
# 1e6 samples, the median. The same detect_feed() the monitor's row
# callback calls in a running gorral. Reports only.
#
#   bench/detect_cost.sh BUILD_DIR     (after make: links BUILD_DIR/obj)
set -u -o pipefail
BUILD=${1:?usage: bench/detect_cost.sh BUILD_DIR}
HERE=$(cd "$(dirname "$0")" && pwd)
B=$BUILD/bench
mkdir -p "$B"
objs=$(ls "$BUILD"/obj/*.o | grep -v '/main\.o$')
cc -O2 -g -std=gnu11 -Wall -Wextra -D_GNU_SOURCE -I"$HERE/../include" -o "$B/detect_cost" "$HERE/detect_cost.c" \
        $objs "$BUILD"/llhttp-obj/*.o -Wl,-Bstatic -lyaml -lcgroup -Wl,-Bdynamic -lm ||
        { echo "detect_cost.sh: cannot compile detect_cost.c" >&2; exit 1; }
for i in 1 2 3 4 5; do "$B/detect_cost" -n 1000000; done | awk '{ print $3 }' | sort -n >"$B/detect_cost.out"
med=$(sed -n 3p "$B/detect_cost.out")
echo "| what | CPU per sample (median of 5 x 1e6) |"
echo "|---|---|"
echo "| every detector of one service (leak on 4 metrics, 2 thresholds, threads, throttling, memory, gc, oom, pressure, limit_change) | ${med} ns |"
