#!/usr/bin/env bash
# Restart policy: growing delays for a crash loop, giving up after the
# budget with the child's last status, `always` restarting a clean exit,
# `no` and `on-failure` not restarting a clean exit, SIGTERM ending it all.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/run_helpers.sh"

G=$GORRAL
# delays FILE: the delay_ms values of the backoff lines, one per line.
delays() { grep 'event=backoff' "$1" | sed 's/.*delay_ms=\([0-9.]*\).*/\1/'; }

# Exact doubling without jitter: 20, 40, 80, 160, 320 ms, then give up.
t0=$(now_ms)
"$G" run --no-limits --restart on-failure --backoff-initial 20ms --backoff-jitter 0 \
	--restart-budget 5 -- sh -c 'exit 3' 2>"$TMP/loop.log"
rc=$? dt=$(( $(now_ms) - t0 ))
expect_eq "crash loop: delays double (jitter 0)" "$(delays "$TMP/loop.log" | tr '\n' ' ')" "20.000 40.000 80.000 160.000 320.000 "
expect_eq "crash loop: gives up with the child's last status" "$rc" 3
expect_eq "crash loop: 6 spawns (1 + budget of 5 restarts)" "$(grep -c 'event=spawn' "$TMP/loop.log")" 6
expect_eq "crash loop: 6 exit lines" "$(grep -c 'event=exit ' "$TMP/loop.log")" 6
expect_eq "crash loop: 5 restart lines" "$(grep -c 'event=restart' "$TMP/loop.log")" 5
check "crash loop: give-up line says so" grep -q 'event=give_up .*restart budget exhausted' "$TMP/loop.log"
if [ $dt -ge 620 ] && [ $dt -lt 3000 ]; then pass "crash loop: total time follows the delays (${dt} ms)"
else fail "crash loop: total time follows the delays" "${dt} ms"; fi

# Default jitter (+-20%): still strictly growing, each within its band.
"$G" run --no-limits --restart on-failure --backoff-initial 20ms --backoff-max 100ms \
	--restart-budget 5 -- sh -c 'kill -KILL $$' 2>"$TMP/jit.log"
rc=$?
expect_eq "killed child: gives up with 128+9" "$rc" 137
ok=1 prev=0 i=0
for d in $(delays "$TMP/jit.log"); do
	base=$(( 20 << i )); [ $base -gt 100 ] && base=100
	awk -v d="$d" -v b="$base" 'BEGIN { exit !(d >= b * 0.8 - 0.001 && d <= b * 1.2 + 0.001) }' || ok=0
	i=$((i + 1))
done
[ $i -eq 5 ] && [ $ok = 1 ] && pass "jitter: 5 delays within +-20% of min(20ms x 2^n, 100ms)" \
	|| fail "jitter: delays within band" "$(delays "$TMP/jit.log" | tr '\n' ' ')"
check "exit line names the signal" grep -q 'event=exit .*signal=SIGKILL core=false status=137' "$TMP/jit.log"

# always restarts a clean exit; on-failure and no do not.
"$G" run --no-limits --restart always --backoff-initial 5ms --restart-budget 2 -- true 2>"$TMP/always.log"
rc=$?
expect_eq "always: clean exits restarted until the budget" "$(grep -c 'event=spawn' "$TMP/always.log")/$rc" "3/0"
"$G" run --no-limits --restart on-failure -- true 2>"$TMP/onf.log"
rc=$?
expect_eq "on-failure: a clean exit is not restarted" "$(grep -c 'event=spawn' "$TMP/onf.log")/$rc" "1/0"
"$G" run --no-limits -- sh -c 'exit 9' 2>"$TMP/no.log"
rc=$?
expect_eq "no (default): a failure is not restarted" "$(grep -c 'event=spawn' "$TMP/no.log")/$rc" "1/9"

# A service that runs past the start grace resets the backoff.
"$G" run --no-limits --restart always --start-grace 50ms --backoff-initial 20ms --backoff-jitter 0 \
	--restart-budget 3 -- sh -c 'sleep 0.1' 2>"$TMP/grace.log"
expect_eq "past the start grace: backoff stays at the initial delay" "$(delays "$TMP/grace.log" | tr '\n' ' ')" "20.000 20.000 20.000 "
check "past the start grace: exit is not a failed start" grep -q 'failed_start=false' "$TMP/grace.log"

# The budget is per window: with a tiny window it never runs out.
"$G" run --no-limits --restart on-failure --backoff-initial 30ms --backoff-max 30ms \
	--restart-budget 1 --restart-window 10ms -- sh -c 'sleep 0.05; [ -e '"$TMP"'/third ] && exit 0; [ -e '"$TMP"'/second ] && touch '"$TMP"'/third; touch '"$TMP"'/second; exit 1' 2>"$TMP/win.log"
rc=$?
expect_eq "budget window: old restarts expire" "$(grep -c 'event=spawn' "$TMP/win.log")/$rc" "3/0"

# SIGTERM during backoff ends gorral at once with the last status.
"$G" run --no-limits --restart always --backoff-initial 30s -- sh -c 'exit 5' 2>"$TMP/term.log" &
gp=$!
for ((i = 0; i < 100; i++)); do grep -qs 'event=backoff' "$TMP/term.log" && break; sleep 0.02; done
t0=$(now_ms)
kill -TERM $gp; wait $gp
rc=$? dt=$(( $(now_ms) - t0 ))
if [ $rc -eq 5 ] && [ $dt -lt 1000 ]; then pass "SIGTERM during backoff: exit at once with the last status (${dt} ms)"
else fail "SIGTERM during backoff" "rc=$rc after ${dt} ms"; fi

# SIGTERM while running with restart=always: stopped, not restarted.
"$G" run --no-limits --restart always -- sleep 100 2>"$TMP/stop.log" &
gp=$!
for ((i = 0; i < 100; i++)); do grep -qs 'event=spawn' "$TMP/stop.log" && break; sleep 0.02; done
kill -TERM $gp; wait $gp
rc=$?
expect_eq "SIGTERM with always: child stopped, no restart, 128+15" "$rc/$(grep -c 'event=spawn' "$TMP/stop.log")" "143/1"

# JSON log format carries the same events.
"$G" run --no-limits --log-format json --restart on-failure --backoff-initial 1ms --restart-budget 1 -- false 2>"$TMP/json.log"
check "json: backoff line with a numeric delay" grep -q '"event":"backoff","service":"main","delay_ms":[0-9.]*' "$TMP/json.log"
check "json: give_up line" grep -q '"event":"give_up"' "$TMP/json.log"

# Usage errors are 2.
"$G" run --restart sometimes -- true 2>/dev/null
expect_eq "bad --restart value is a usage error" "$?" 2
"$G" run 2>/dev/null
expect_eq "no command is a usage error" "$?" 2
"$G" run --help | grep -q '^Exit status:' && pass "--help has the exit-code table" || fail "--help has the exit-code table" "missing"
