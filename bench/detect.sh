#!/usr/bin/env bash
# Leak detection on a synthetic set (bench/RESULTS.md section 11), one run:
# builds the generator and the evaluator with cc (no Makefile rule needed),
# writes the set into BUILD_DIR/detect-set (324 CSV series, ~55 MB, kept
# out of git), replays every series through src/leak.c and the naive rule
# (value > 1.5 x baseline for 10 samples), and prints a markdown section:
# leaks in time, delays, false alarms per detector, replay speed; then the
# same on the real recordings in tests/fixtures/series/, the same design
# drawn with other seeds (a change tuned to the one draw shows there), and
# the max_window trade-off against diurnal cycles.
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
echo "One run of \`bench/detect.sh\` ($(date -u '+%Y-%m-%d %H:%M UTC'), git $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?'), $(nproc) cores shared)."
cat <<'TXT'

**The set** (bench/detect/shapes.h; bench/detect/synth.c writes it, deterministic): 18 shapes x
sampling at 1, 5 and 15 s (times jittered by up to +-30% of the interval) x three noise levels
(Gaussian, sd 0.05, 0.2 and 0.5 G; the heavy-noise leak 0.8, 1.2 and 1.6 G) x two seeds = 324
series, 2-24 h long (diurnal 24 h, slow leaks 16 h), the kind rotating over goroutines (usual
level 100-3000, G >= 50), threads (12-60, G >= 10) and RSS (64-768 MiB, G >= 32 MiB); every
series starts with a warm-up from 10% of its level (tau 10-60 s). G = max(min_growth, 20% of the
usual level). Healthy: flat noise; pile-ups every 10-30 min of +1-3 G over 30-150 s that drain;
GC sawtooth (+50-100% of the level every 20-180 s); a step of +1-4 G over 0-60 s, then flat; a
slow warm-up (tau 1-5 min, +4.5 G); restarts every 0.5-2 h with a warm-up (tau 0.5-4 min);
Poisson bursts of +1000-5000 goroutines (3-10 G otherwise) every 30-300 s decaying in 2-30 s;
one spike of x10-50 the level for 1-30 s; a diurnal cycle (night-to-day swing x1.5-3, from
midnight or a random phase); gaps of 30 s-3 h and 5% of samples dropped. Leaks (a leak adds
R x t, a restart frees it): fast (2G/R 75-300 s), slow (2G/R 0.5-6 h), starting hours in (5-120
min), in heavy noise (10-120 min), stopping after 1.5-4 x 2G/R (must resolve), starting at once
after a restart, on top of Poisson bursts, from the process start under its warm-up (half fast,
2G/R 75-300 s, half 20 min-3 h). Restart times are passed to the detector as resets
(a supervisor knows them; the CSV grammar has no flag for it).

**Scoring** (bench/detect/eval.c): a leak is in time when the first fire after it began comes
after it added G/4 ("early" otherwise) and within max(300 s, 2G/R); a fire outside every leak
(or later than that after a leak stopped) is a false alarm. The naive rule is
`value > 1.5 x baseline for 10 samples`, the baseline the median of the first 10 minutes after
the start or a reset, re-armed when the value falls back. Delays are from the leak's true start.

**Reading the figures.** A rule that needs a rise of G fires about 0.6 x max(300 s, 2G/R) after a
leak starts (G is added at half the allowed delay, and a floor is known when its sub-window
closes), an early fire on 0.4-1 G (low noise, windows up to 0.4 x max_window) at about 0.3-0.5 of
it, so the median delay follows the set's rates: here max(300 s, 2G/R) has a median of 37 min
(other draws 39-47 min), and the median delay is about half of that. The
first day of a diurnal cycle rises like a slow leak: with a night-to-day swing s the steepest
rise is about pi (s-1)/(s+1) x level per day; a window of W fits a rise of G once that rate x W
reaches G, so a detector that finds leaks slower than about G per max_window also fires on
diurnal swings whose steepest rise is that fast. That is the trade-off in the last two tables, not
something more tuning removes: one series alone cannot tell them apart on the first day (the
second day is held territory and stays quiet, tests/unit/test_leak.c). The other healthy fires
left (5 over the six draws below, none in this one) are restarts, a spike and Poisson bursts,
all but one under the heaviest noise (0.5 G) at 15 s sampling, where a bucket's floor is the
lowest of its 4 samples: a rise of 1-2 G over a few floors of that noise is a leak's start to
4-5 floors. Leaks that cannot be in time: slow ones whose 2G/R is
over ~3.2 h (the longest window of 2 h has 96 min between its first and last floor, so they
never add G in one: max_window's trade-off); fast ones that start with the process (the first
warm-up is not tested, include/gorral/leak.h says why: they fire at 14-17 min); and some in the
heaviest noise (0.8-1.6 G), where a rise must be 3 sds of two floors' noise: 0.8-4.7 G.
TXT
echo
echo "### The synthetic set, replayed from its CSV files (default parameters)"
echo
"$OUT/eval" "$BUILD/detect-set" | sed -n '/^[0-9]* series/,$p'
echo
echo "### Real recordings (tests/fixtures/series/real-*.csv)"
echo
"$OUT/eval" --real "$ROOT/tests/fixtures/series" | sed -n '/^|/,$p'
echo
echo "### The same design, other draws (eval --synth --seed-base N: seeds N + i instead of 1000 + i)"
echo
echo "| draw | leaks in time | late | missed | early | median delay (of allowed) | healthy series that fired | leak series with a fire outside the leak |"
echo "|---|---|---|---|---|---|---|---|"
for sb in 1000 5000 9000 13000 17000 21000; do
        "$OUT/eval" --synth --seed-base $sb | grep '^| leak |' |
                awk -F'|' -v b=$sb '{ printf "| %s |%s|%s|%s|%s|%s|%s|%s|\n", b, $3, $4, $5, $6, $7, $9, $10 }'
done
echo
echo "### The knobs: max_window_seconds, min_rise and early_rise (synthetic set)"
echo
echo "| min_rise | early_rise | max_window | leaks in time | missed | median delay (of allowed) | healthy series that fired | of which diurnal (of 18) |"
echo "|---|---|---|---|---|---|---|---|"
for rw in "1 0.4 3600" "1 0.4 7200" "1 0.4 14400" "1 0.4 21600" "1 1 7200" "0.5 1 3600" "0.5 1 7200"; do
        set -- $rw
        line=$("$OUT/eval" --synth --set min_rise $1 --set early_rise $2 --max-window $3 | grep '^| leak |')
        diu=$("$OUT/eval" --synth --set min_rise $1 --set early_rise $2 --max-window $3 -v --only diurnal | grep -c '^leak .*FA@' || true)
        echo "$line" | awk -F'|' -v r=$1 -v e=$2 -v w=$3 -v d="$diu" '{ printf "| %s | %s | %d s |%s|%s|%s|%s| %s |\n", r, e, w, $3, $5, $7, $9, d }'
done
echo
echo "### First-day diurnal fires by swing and max_window (goroutines around 1000, G 200, noise 0.2 G, 36 h, 4 seeds x 1/5/15 s)"
echo
"$OUT/eval" --diurnal-grid
