#!/usr/bin/env bash
# bench/watchdog.sh BUILD_DIR: what gorral's own watchdog costs it, per
# ping. gorral runs one idle `sleep` with WATCHDOG_USEC=2ms (a ping every
# millisecond, 500 times systemd's usual 30 s / 2 rate) to a listener of
# ours, for BENCH_WD_SECONDS; its CPU time comes from /proc/PID/schedstat
# (nanoseconds on a CPU), against the same run without a watchdog. Prints
# one Markdown table row per build; asserts nothing.
set -u
BUILD=${1:?usage: bench/watchdog.sh BUILD_DIR}
HERE=$(cd "$(dirname "$0")" && pwd)
SECS=${BENCH_WD_SECONDS:-5}
TMP=$(mktemp -d /tmp/gorral-wd.XXXXXX)
trap 'kill $LP 2>/dev/null; rm -rf "$TMP"' EXIT

python3 "$HERE/../tests/helpers/notify_listen.py" "$TMP/n.sock" >"$TMP/dgrams" 2>"$TMP/lerr" &
LP=$!
for _ in $(seq 50); do grep -q listening "$TMP/lerr" 2>/dev/null && break; sleep 0.1; done

# run GORRAL [ENV...]: nanoseconds gorral spent on a CPU over SECS seconds.
run() {
	local g=$1 pid t0 t1
	shift
	env "$@" "$g" run -- sleep 1000 2>/dev/null &
	pid=$!
	sleep 0.5
	t0=$(cut -d' ' -f1 "/proc/$pid/schedstat")
	sleep "$SECS"
	t1=$(cut -d' ' -f1 "/proc/$pid/schedstat")
	kill -TERM "$pid"
	wait "$pid" 2>/dev/null
	echo $((t1 - t0))
}

echo "| build | pings in ${SECS} s | CPU with pings | CPU idle | per ping |"
echo "|---|---|---|---|---|"
for b in gorral gorral-static; do
	[ -x "$BUILD/$b" ] || continue
	idle=$(run "$BUILD/$b" -u NOTIFY_SOCKET -u WATCHDOG_USEC)
	n0=$(grep -c 'WATCHDOG=1' "$TMP/dgrams")
	busy=$(run "$BUILD/$b" NOTIFY_SOCKET="$TMP/n.sock" WATCHDOG_USEC=2000)
	sleep 0.2
	n=$(($(grep -c 'WATCHDOG=1' "$TMP/dgrams") - n0))
	awk -v b="$b" -v n="$n" -v busy="$busy" -v idle="$idle" -v s="$SECS" 'BEGIN {
		per = n > 0 ? (busy - idle) / n / 1000 : 0
		printf "| %s | %d (every %.2f ms) | %.1f ms | %.1f ms | %.1f us |\n", b, n, s * 1000 / (n ? n : 1), busy / 1e6, idle / 1e6, per
	}'
done
