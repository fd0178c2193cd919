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
echo "### max_window_seconds against slow leaks and diurnal cycles"
echo
echo "| max_window | leaks in time | missed | healthy series that fired | of which diurnal |"
echo "|---|---|---|---|---|"
for w in 3600 7200 14400 21600; do
        line=$("$OUT/eval" --synth --max-window $w | grep '^| leak')
        diu=$("$OUT/eval" --synth --max-window $w -v --only diurnal | grep -c 'FA@' || true)
        echo "$line" | awk -F'|' -v w=$w -v d="$diu" '{ printf "| %d s |%s|%s|%s| %s |\n", w, $3, $5, $9, d }'
done
echo
"$OUT/eval" --diurnal-grid
