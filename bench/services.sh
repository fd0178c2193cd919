#!/usr/bin/env bash
# Benchmarks of gorral run -c FILE (services from a file), one run, ratios:
#   1. restart latency with a per-service cgroup (child's exit to the next
#      child running inside its cgroup), against runsv (runit: no cgroup)
#      when installed; anchor: runsv 2.9 ms;
#   2. 50 services from one file: start to all running, gorral's RSS
#      (goal < 3 MiB; supervisord uses 30 MiB for one), context switches
#      while idle (goal 0), against supervisord with the same 50 programs
#      when installed;
#   3. check-config on a 200-service file (goal < 10 ms).
#
#   bench/services.sh BUILD_DIR     prints a markdown section on stdout
#
# It reports only: nothing is asserted, a missing tool is written down. Every
# wait is bounded and every process it starts is killed on exit.
set -u -o pipefail

BUILD=${1:?usage: bench/services.sh BUILD_DIR}
HERE=$(cd "$(dirname "$0")" && pwd)
B=$BUILD/bench
G=$BUILD/gorral
RESTARTS=${BENCH_RESTARTS:-50}
N_SERVICES=${BENCH_SERVICES:-50}
IDLE_SECONDS=${BENCH_IDLE_SECONDS:-10}
CHECK_N=${BENCH_CHECK_N:-50}
TMP=$(mktemp -d /tmp/gorral-bench-svc.XXXXXX)
PIDS=()
cleanup() {
        local p
        for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
        sleep 0.3
        for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
        pkill -KILL -f "$TMP" 2>/dev/null
        wait 2>/dev/null
        rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
export GORRAL_SOCKET=$TMP/gorral.sock

say() { printf '[bench-services] %s\n' "$*" >&2; }
stats() { # FILE of ns -> "median min max n" in ms
        sort -n "$1" | awk '{ a[NR] = $1 } END { if (!NR) { print "nan nan nan 0"; exit }
                m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
                printf "%.3f %.3f %.3f %d\n", m / 1e6, a[1] / 1e6, a[NR] / 1e6, NR }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "nan" || b == "nan" || a == "" || b == "" || b + 0 <= 0) print "n/a"; else printf "%.2fx\n", a / b }'; }
kib() { awk -v k="$2" '$1 == k ":" { print $2 }' "$1" 2>/dev/null; }
ctxt() { cat /proc/"$1"/task/*/status 2>/dev/null | awk '/^(non)?voluntary_ctxt_switches:/ { s += $2 } END { print s + 0 }'; }
tree_rss() { # RSS (KiB) of a process and all its descendants
        local p=$1 sum c
        sum=$(kib /proc/"$p"/status VmRSS); sum=${sum:-0}
        for c in $(cat /proc/"$p"/task/*/children 2>/dev/null); do sum=$((sum + $(tree_rss "$c"))); done
        echo "$sum"
}

mkdir -p "$B"
for prog in child restartref; do
        [ -x "$B/$prog" ] || cc -O2 -std=gnu11 -Wall -D_GNU_SOURCE -o "$B/$prog" "$HERE/$prog.c" || exit 1
done

# ---- 1. restart latency inside a per-service cgroup
say "1/3 restart latency with a per-service cgroup ($RESTARTS restarts)"
cat >"$TMP/restart.yaml" <<EOF
services:
  crash:
    command: [$B/child, stamp, $TMP/cg.stamps, "$((RESTARTS + 1))"]
    restart: always
    backoff: {initial: 0s}
    restart_budget: {restarts: 0}
    resources: {cpu: 1, memory: 1GiB}
    go: {gomaxprocs: "off", gomemlimit: "off"}
    watch: false
EOF
"$G" run -c "$TMP/restart.yaml" </dev/null >/dev/null 2>"$TMP/restart.log" &
gp=$!
PIDS+=($gp)
want=$(((2 * RESTARTS + 1) * 23))
for _ in $(seq 1 300); do
        [ "$(stat -c %s "$TMP/cg.stamps" 2>/dev/null || echo 0)" -ge "$want" ] && break
        sleep 0.1
done
in_cg=$(grep -c 'event=cgroup service=crash' "$TMP/restart.log")
kill -TERM $gp 2>/dev/null; wait $gp 2>/dev/null
"$B/restartref" deltas "$TMP/cg.stamps" >"$TMP/cg.ns" 2>/dev/null
read -r cmed clo chi cn < <(stats "$TMP/cg.ns")
how=$(sed -n 's/.*event=cgroups enabled=\([a-z]*\).*/\1/p' "$TMP/restart.log" | head -1)

rmed=nan rlo=nan rhi=nan rn=0 rnote="runit not installed"
if command -v runsv >/dev/null; then
        mkdir -p "$TMP/sv/crash"
        printf '#!/bin/sh\nexec %s stamp %s %s\n' "$B/child" "$TMP/runsv.stamps" $((RESTARTS + 1)) >"$TMP/sv/crash/run"
        chmod +x "$TMP/sv/crash/run"
        runsv "$TMP/sv/crash" </dev/null >/dev/null 2>&1 &
        rp=$!
        PIDS+=($rp)
        for _ in $(seq 1 300); do
                [ "$(stat -c %s "$TMP/runsv.stamps" 2>/dev/null || echo 0)" -ge "$want" ] && break
                sleep 0.1
        done
        kill -TERM $rp 2>/dev/null; sleep 0.2; pkill -KILL -f "$TMP/runsv.stamps"
        "$B/restartref" deltas "$TMP/runsv.stamps" >"$TMP/runsv.ns" 2>/dev/null
        read -r rmed rlo rhi rn < <(stats "$TMP/runsv.ns")
        rnote="runsv $(dpkg-query -W -f='${Version}' runit 2>/dev/null), no cgroup, its run script is sh exec"
fi

# ---- 2. 50 services from one file
say "2/3 $N_SERVICES services: start to all running, RSS, idle wakeups (${IDLE_SECONDS}s)"
{
        # Supervision alone (section 8 measures watching): a file's
        # services are watched by default, which wakes gorral every 5 s.
        echo "defaults: {watch: false}"
        echo "services:"
        for i in $(seq 1 "$N_SERVICES"); do
                printf '  s%02d:\n    command: [sleep, "1000%02d"]\n' "$i" "$i"
        done
} >"$TMP/fifty.yaml"
declare -A T_ALL T_LOG RSS CS
for g in gorral gorral-static; do
        bin=$BUILD/$g
        [ -x "$bin" ] || continue
        : >"$TMP/fifty.log"
        t0=$(date +%s%N)
        "$bin" run -c "$TMP/fifty.yaml" </dev/null >/dev/null 2>"$TMP/fifty.log" &
        gp=$!
        PIDS+=($gp)
        T_ALL[$g]=nan
        for _ in $(seq 1 2000); do
                if [ "$(grep -c 'event=spawn' "$TMP/fifty.log")" -ge "$N_SERVICES" ]; then
                        T_ALL[$g]=$(awk -v a="$t0" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f", (b - a) / 1e6 }')
                        break
                fi
                sleep 0.005
        done
        # The spawn times from gorral's own log (its first and last spawn).
        T_LOG[$g]=$(grep 'event=spawn' "$TMP/fifty.log" | sed -n '1p;$p' | sed 's/^ts=[^T]*T\([0-9:.]*\)Z.*/\1/' |
                awk -F: '{ s = $1 * 3600 + $2 * 60 + $3; if (NR == 1) a = s; else b = s } END { printf "%.1f", (b - a) * 1000 }')
        sleep 1.5 # past every start grace timer
        RSS[$g]=$(kib /proc/$gp/status VmRSS)
        cs0=$(ctxt $gp)
        sleep "$IDLE_SECONDS"
        CS[$g]=$(($(ctxt $gp) - cs0))
        kill -TERM $gp 2>/dev/null; wait $gp 2>/dev/null
done

srss=n/a scs=n/a snote="supervisor (supervisord) not installed"
if command -v supervisord >/dev/null; then
        {
                printf '[supervisord]\nnodaemon=true\nlogfile=%s/sd.log\npidfile=%s/sd.pid\n' "$TMP" "$TMP"
                printf '[unix_http_server]\nfile=%s/sd.sock\n' "$TMP"
                for i in $(seq 1 "$N_SERVICES"); do
                        printf '[program:s%02d]\ncommand=sleep 2000%02d\nautorestart=true\nstdout_logfile=NONE\nstderr_logfile=NONE\n' "$i" "$i"
                done
        } >"$TMP/sd.conf"
        supervisord -c "$TMP/sd.conf" </dev/null >/dev/null 2>&1 &
        sp=$!
        PIDS+=($sp)
        for _ in $(seq 1 200); do [ "$(pgrep -cf 'sleep 2000')" -ge "$N_SERVICES" ] && break; sleep 0.05; done
        sleep 1.5
        srss=$(kib /proc/$sp/status VmRSS)
        c0=$(ctxt $sp)
        sleep "$IDLE_SECONDS"
        scs=$(($(ctxt $sp) - c0))
        kill -TERM $sp 2>/dev/null; wait $sp 2>/dev/null
        snote="supervisord $(supervisord --version 2>/dev/null), the same $N_SERVICES programs"
fi

# ---- 3. check-config on a 200-service file
say "3/3 check-config on 200 services ($CHECK_N runs)"
{
        echo "defaults: {restart: on-failure, stop_timeout: 10s}"
        echo "services:"
        for i in $(seq 1 200); do
                printf '  svc%03d:\n    command: [/bin/sleep, "%d"]\n    env: {GOGC: "100", N: "%d"}\n' "$i" "$i" "$i"
                printf '    resources: {cpu: 0.5, memory: 128MiB}\n    backoff: {initial: 100ms, max: 30s}\n'
                [ "$i" -gt 1 ] && printf '    depends_on: {svc%03d: started}\n' $((i - 1))
        done
} >"$TMP/two-hundred.yaml"
# bench/timer (fork, exec, waitpid on CLOCK_MONOTONIC), as section 1: a
# date(1) on each side of the run, as before, also timed the second date's
# own start (about 1 ms here).
"$B/timer" "$CHECK_N" 5 "$TMP" check "$G" check-config "$TMP/two-hundred.yaml" >/dev/null
read -r kmed klo khi kn < <(stats "$TMP/check.ns")
ok=$("$G" check-config "$TMP/two-hundred.yaml" 2>&1 | tail -1)

meets() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "nan" || a == "n/a" || a == "") print "not measured"; else if (a + 0 < b + 0) print "meets"; else print "misses" }'; }

cat <<EOF
## 7. Services from a file (\`gorral run -c FILE\`)

Written by \`bench/services.sh\` in the same run. Peers: runsv (runit) restarts in 2.9 ms with
no cgroup at all; supervisord uses 30 MiB of RSS for one program.

### 7a. Restart latency with a per-service cgroup

One service, \`restart: always\`, no backoff, no budget, \`resources: {cpu: 1, memory: 1GiB}\`:
each start creates nothing (the cgroup is kept across restarts) but the child enters its cgroups
(cpu, memory and the cgroup2 tracking one) before it execs. Per-service cgroups: $how; cgroup
logged for the service $in_cg time(s). Latency = the child's last stamp before its exit to the
next child's first stamp in main().

| supervisor | median ms | min-max ms | restarts | vs runsv | note |
|---|---|---|---|---|---|
| gorral run -c (in its cgroup) | $cmed | $clo-$chi | $cn | $(ratio "$cmed" "$rmed") | |
| runsv | $rmed | $rlo-$rhi | $rn | 1.00x | $rnote |

Goal: under 2 ms at the median: $(meets "$cmed" 2).

### 7b. $N_SERVICES services from one file

| measure | gorral | gorral-static | supervisord | goal |
|---|---|---|---|---|
| start to all $N_SERVICES running (wall, from the command) | ${T_ALL[gorral]:-?} ms | ${T_ALL[gorral-static]:-?} ms | - | - |
| first to last spawn (gorral's log) | ${T_LOG[gorral]:-?} ms | ${T_LOG[gorral-static]:-?} ms | - | - |
| RSS of the supervisor | ${RSS[gorral]:-?} KiB | ${RSS[gorral-static]:-?} KiB | ${srss} KiB | < 3 MiB: $(meets "${RSS[gorral]:-nan}" 3072) / $(meets "${RSS[gorral-static]:-nan}" 3072) |
| context switches in ${IDLE_SECONDS} s idle | ${CS[gorral]:-?} | ${CS[gorral-static]:-?} | $scs | 0: $( [ "${CS[gorral]:-x}" = 0 ] && echo meets || echo misses) / $( [ "${CS[gorral-static]:-x}" = 0 ] && echo meets || echo misses) |

$snote.

### 7c. \`check-config\` on a 200-service file

$CHECK_N runs of \`gorral check-config\` (whole process: exec, parse, validate, print) on 200
services with env, resources, backoff and a depends_on chain; last output: \`$ok\`.

| median ms | min-max ms | runs | goal |
|---|---|---|---|
| $kmed | $klo-$khi | $kn | < 10 ms: $(meets "$kmed" 10) |
EOF
