#!/usr/bin/env bash
# Leak detection on a synthetic set (bench/RESULTS.md section 11), one run:
# builds the generator and the evaluator with cc (no Makefile rule needed),
# writes the set into BUILD_DIR/detect-set (306 CSV series, ~50 MB, kept
# out of git), replays every series through src/leak.c and the naive rule
# (value > 1.5 x baseline for 10 samples), and prints a markdown section:
# leaks in time, delays, false alarms per detector, replay speed; then the
# same on the real recordings in tests/fixtures/series/, and the
# max_window trade-off against diurnal cycles.
#
#   bench/detect.sh BUILD_DIR      prints the section on stdout
#
# It reports only: nothing is asserted.
set -eu -o pipefail

BUILD=${1:?usage: bench/detect.sh BUILD_DIR}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=$BUILD/bench-detect
mkdir -p "$OUT"
CC=${CC:-cc}
CFLAGS="-std=gnu11 -O2 -D_GNU_SOURCE -I$ROOT/include"
$CC $CFLAGS "$ROOT/bench/detect/synth.c" -lm -o "$OUT/synth"
$CC $CFLAGS "$ROOT/bench/detect/eval.c" "$ROOT/src/leak.c" "$ROOT/src/csvseries.c" -lm -o "$OUT/eval"
"$OUT/synth" "$BUILD/detect-set" >&2

echo "## 11. Leak detection on a synthetic set"
echo
echo "One run of \`bench/detect.sh\` ($(date -u +%Y-%m-%d), $(nproc) cores shared)."
echo
echo "### The synthetic set, replayed from its CSV files (default parameters)"
echo
"$OUT/eval" "$BUILD/detect-set" | sed -n '/^[0-9]* series/,$p'
echo
echo "### Real recordings (tests/fixtures/series/real-*.csv)"
echo
"$OUT/eval" --real "$ROOT/tests/fixtures/series" | sed -n '/^|/,$p'
echo
echo "### The two knobs: max_window_seconds and min_rise (synthetic set)"
echo
echo "| min_rise | max_window | leaks in time | missed | median delay (of allowed) | healthy series that fired | of which diurnal (of 18) |"
echo "|---|---|---|---|---|---|---|"
for rw in "1 3600" "1 7200" "1 14400" "1 21600" "0.5 3600" "0.5 7200"; do
        set -- $rw
        line=$("$OUT/eval" --synth --set min_rise $1 --max-window $2 | grep '^| leak |')
        diu=$("$OUT/eval" --synth --set min_rise $1 --max-window $2 -v --only diurnal | grep -c '^leak .*FA@' || true)
        echo "$line" | awk -F'|' -v r=$1 -v w=$2 -v d="$diu" '{ printf "| %s | %d s |%s|%s|%s|%s| %s |\n", r, w, $3, $5, $7, $9, d }'
done
echo
echo "### First-day diurnal fires by swing and max_window (goroutines around 1000, G 200, noise 0.2 G, 36 h, 4 seeds x 1/5/15 s)"
echo
"$OUT/eval" --diurnal-grid
