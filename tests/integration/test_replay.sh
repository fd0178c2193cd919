#!/usr/bin/env bash
# gorral detect --replay: the leak detector over recorded series in their
# own time (the same code as inside gorral), the input's grammar and its
# errors with line numbers, the options named as in the config file, the
# other replayable detectors, --json; both builds.
source "$(dirname "$0")/lib.sh"

SER=$(cd "$(dirname "$0")/../fixtures/series" && pwd)
for kind in dynamic static; do
	G=$GORRAL
	[ $kind = static ] && G=$GORRAL_STATIC
	[ $kind = static ] && [ "${INTEGRATION_TAG:-}" = asan ] && continue
	[ -x "$G" ] || { fail "$kind: replay" "$G not built"; continue; }
	r() { "$G" detect --replay "$@" >"$TMP/out" 2>"$TMP/err"; rc=$?; }

	# A fast leak from 800 s: fired within [820, 1100] s (its README).
	r "$SER/synth-leak_fast-goroutines-15s.csv"
	expect_eq "$kind: a leak replayed: exit 0" "$rc" 0
	at=$(sed -n 's/^event=fire detector=leak at=\([0-9.]*\) .*/\1/p' "$TMP/out" | head -1)
	check "$kind: ... fires in time: after G/4 was added and within max(300 s, 2G/R) (at=$at, in [820, 1100])" \
		awk -v a="$at" 'BEGIN { exit !(a != "" && a >= 820 && a <= 1100) }'
	check "$kind: ... the line has the rate, the growth and a summary" \
		grep -qE '^event=fire detector=leak at=[0-9.]+ metric=goroutines since=[0-9.]+ .*rate_per_hour=[0-9.]+ growth=[0-9.]+ .*summary="' "$TMP/out"
	# A leak that stops: it fires, then resolves after it stopped (4257 s).
	r "$SER/synth-leak_stops-goroutines-15s.csv"
	res=$(sed -n 's/^event=resolve detector=leak at=\([0-9.]*\) .*/\1/p' "$TMP/out" | head -1)
	check "$kind: a leak that stops resolves after it stopped (resolve at=$res, stop at 4257 s)" \
		bash -c "grep -q '^event=fire detector=leak' '$TMP/out' && awk -v r='$res' 'BEGIN { exit !(r != \"\" && r > 4257) }'"
	# Healthy shapes: nothing at all, exit 0.
	for s in sawtooth-goroutines-15s bursts-goroutines-5s; do
		r "$SER/synth-$s.csv"
		expect_eq "$kind: healthy $s: no finding, exit 0" "$rc $(wc -l <"$TMP/out")" "0 0"
	done
	# --json: one object per event, the same fields.
	r "$SER/synth-leak_fast-goroutines-15s.csv" --json
	check "$kind: --json: one JSON object per event with event, detector, at, since, rate_per_hour" \
		jq -e -s >/dev/null 'length >= 1 and (.[0] | .event == "fire" and .detector == "leak" and (.at | type) == "number" and .rate_per_hour > 0)' "$TMP/out"
	# The config file's option names: a higher floor for growth fires later or not at all.
	r "$SER/synth-leak_fast-goroutines-15s.csv" --min-goroutines 5000
	at2=$(sed -n 's/^event=fire detector=leak at=\([0-9.]*\) .*/\1/p' "$TMP/out" | head -1)
	check "$kind: --min-goroutines 5000 (the config's min_goroutines): the same leak is found later (at=$at2 > $at)" \
		awk -v a="$at" -v b="$at2" 'BEGIN { exit !(b != "" && b > a) }'
	r "$SER/synth-bursts-goroutines-5s.csv" --min-goroutines 0
	check "$kind: --min-goroutines 0 is refused with the option named (exit 2)" \
		bash -c "[ $rc = 2 ] && grep -q 'min_goroutines' '$TMP/err'"
	r "$SER/synth-leak_fast-goroutines-15s.csv" --min_ratio=0.05
	expect_eq "$kind: --OPTION=VALUE and underscores work too" "$rc" 0
	# threshold and threads, over one series.
	printf 'seconds,goroutines\n0,10\n1,6000\n2,6001\n3,6002\n4,10\n5,10\n6,10\n' >"$TMP/th.csv"
	r "$TMP/th.csv" --detector threshold --metric goroutines --above 5000 --for 3
	expect_eq "$kind: threshold for 3 samples: fire at 3, resolve at 6" \
		"$(sed -E 's/^event=([a-z]+) detector=threshold at=([0-9]+) .*/\1 \2/' "$TMP/out" | tr '\n' ' ')" "fire 3 resolve 6 "
	printf '0,100\n1,8500\n' >"$TMP/thr.csv"
	r "$TMP/thr.csv" --detector threads
	check "$kind: threads over 80%% of Go's 10000: fires" grep -q '^event=fire detector=threads at=1 ' "$TMP/out"
	# Input errors: exit 2 with the file and the line.
	printf 'seconds,v\n0,1\n1,2\n1,3\n' >"$TMP/back.csv"
	r "$TMP/back.csv"
	expect_eq "$kind: time going back: exit 2" "$rc" 2
	check "$kind: ... naming the file and line 4" grep -q "back.csv:4: " "$TMP/err"
	printf '0,1\n1,abc\n' >"$TMP/nan.csv"
	r "$TMP/nan.csv"
	check "$kind: a value that is not a number: exit 2, line 2, the value named" \
		bash -c "[ $rc = 2 ] && grep -q \"nan.csv:2: .*'abc'\" '$TMP/err'"
	printf '0,1\n1,2\n# no missing samples as zeros\n' >"$TMP/bad.csv"
	r "$TMP/bad.csv"
	expect_eq "$kind: a comment line is an error too (exit 2)" "$rc" 2
	r "$TMP/missing.csv"
	check "$kind: a missing file: exit 2, named" bash -c "[ $rc = 2 ] && grep -q 'missing.csv' '$TMP/err'"
	# Usage errors.
	"$G" detect >/dev/null 2>&1
	expect_eq "$kind: no --replay: exit 2" "$?" 2
	r "$TMP/th.csv" --detector throttling
	check "$kind: a detector that reads several series: exit 2, said" \
		bash -c "[ $rc = 2 ] && grep -q 'replay runs leak, threshold or threads' '$TMP/err'"
	r "$TMP/th.csv" --above 5
	check "$kind: an option the leak detector does not have: exit 2, its options listed" \
		bash -c "[ $rc = 2 ] && grep -q -- '--min-goroutines\\|--min_goroutines' '$TMP/err'"
	r "$TMP/th.csv" --metric fds
	expect_eq "$kind: a metric the leak detector does not follow: exit 2" "$rc" 2
	# stdin, and speed: a day at 1 s in well under a second (reported, not asserted).
	awk 'BEGIN { srand(3); for (t = 0; t < 86400; t++) printf "%d,%d\n", t, 300 + int(rand() * 40) }' >"$TMP/day.csv"
	t0=$(date +%s%N)
	"$G" detect --replay - <"$TMP/day.csv" >"$TMP/out" 2>"$TMP/err"
	rc=$?
	t1=$(date +%s%N)
	expect_eq "$kind: a healthy day at 1 s from stdin: no finding, exit 0" "$rc $(wc -l <"$TMP/out")" "0 0"
	echo "  $kind: 86400 samples replayed in $(((t1 - t0) / 1000000)) ms"
done
