#!/usr/bin/env bash
# gorral benchmarks against tini and dumb-init, all in one run.
#
#   bench/run.sh BUILD_DIR        (what `make bench` runs)
#
# Compiles the small C programs of bench/ into BUILD_DIR/bench, measures
# start overhead, resident memory, restart latency, orphan reaping, SIGTERM
# latency and idle wakeups of every supervisor found, and overwrites
# bench/RESULTS.md (or $BENCH_OUT). It reports only: no figure is asserted,
# a missing tool or a failed measure is written down as such. Every wait is
# bounded, and every process it starts is killed on exit.
#
# Knobs (environment): BENCH_START_N (400), BENCH_RSS_STARTS (5),
# BENCH_RESTARTS (50 per round), BENCH_ROUNDS (3: restart and SIGTERM runs
# are split into rounds that alternate between the tools, so a burst of
# load on this shared machine hits them all alike), BENCH_ORPHANS (2000),
# BENCH_ORPHAN_REPS (7), BENCH_SIGTERM_N (50), BENCH_IDLE_SECONDS (10),
# GORRAL_RESTART_FLAGS ("--restart always --backoff-initial 0 --restart-budget 0":
# no delay, and no budget to give up on).
set -u -o pipefail

BUILD=${1:?usage: bench/run.sh BUILD_DIR}
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${BENCH_OUT:-$HERE/RESULTS.md}
B=$BUILD/bench
START_N=${BENCH_START_N:-400}
RSS_STARTS=${BENCH_RSS_STARTS:-5}
RESTARTS=${BENCH_RESTARTS:-50}
ROUNDS=${BENCH_ROUNDS:-3}
ORPHANS=${BENCH_ORPHANS:-2000}
ORPHAN_REPS=${BENCH_ORPHAN_REPS:-7}
SIGTERM_N=${BENCH_SIGTERM_N:-50}
IDLE_SECONDS=${BENCH_IDLE_SECONDS:-10}
GORRAL_RESTART_FLAGS=${GORRAL_RESTART_FLAGS:---restart always --backoff-initial 0 --restart-budget 0}

T0=$SECONDS
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
TMP=$(mktemp -d /tmp/gorral-bench.XXXXXX)
BG_PIDS=()

say() { printf '[bench %3ds] %s\n' $((SECONDS - T0)) "$*" >&2; }

children_of() { cat "/proc/$1/task/$1/children" 2>/dev/null; }

# Kill a supervisor we started and whatever it still has below it.
kill_tree() {
        local p c
        for p in "$@"; do
                for c in $(children_of "$p"); do kill_tree "$c"; done
                kill -KILL "$p" 2>/dev/null
        done
}

cleanup() {
        local p
        for p in "${BG_PIDS[@]}"; do kill_tree "$p"; done
        wait 2>/dev/null
        rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- build
mkdir -p "$B"
for prog in timer child restartref orphans sigterm reaper; do
        cc -O2 -std=gnu11 -Wall -Wextra -D_GNU_SOURCE -o "$B/$prog" "$HERE/$prog.c" ||
                { echo "bench: cannot compile $prog.c" >&2; exit 1; }
done

# ---------------------------------------------------------------- tools
# name -> command prefix (words; paths without spaces). dumb-init takes the
# command right after its options, tini and gorral after "--".
TOOLS=()
declare -A PFX NOTE
add_tool() { local n=$1; shift; TOOLS+=("$n"); PFX[$n]="$*"; }

[ -x /usr/bin/tini ] && add_tool tini /usr/bin/tini --
[ -x /usr/bin/tini-static ] && add_tool tini-static /usr/bin/tini-static --
[ -x /usr/bin/dumb-init ] && add_tool dumb-init /usr/bin/dumb-init
for g in gorral gorral-static; do
        bin=$BUILD/$g
        if [ ! -x "$bin" ]; then
                NOTE[$g]="not measured: $bin does not exist"
        elif ! timeout 5 "$bin" run -- /bin/true >/dev/null 2>"$TMP/$g.probe"; then
                NOTE[$g]="not measured: \`$g run -- /bin/true\` fails: $(head -c 300 "$TMP/$g.probe" | tr '\n' ' ')"
        else
                add_tool "$g" "$bin" run --
        fi
done
for g in gorral gorral-static; do [ -n "${NOTE[$g]:-}" ] && say "${NOTE[$g]}"; done
has() { [ -n "${PFX[$1]:-}" ]; }

# ---------------------------------------------------------------- stats
# stats FILE -> "median min max n" of the ns samples, in ms.
stats() {
        sort -n "$1" | awk '{ a[NR] = $1 }
                END { if (NR == 0) { print "nan nan nan 0"; exit }
                      m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
                      printf "%.3f %.3f %.3f %d\n", m / 1e6, a[1] / 1e6, a[NR] / 1e6, NR }'
}
# median of plain numbers (one per line), printed as given.
median_of() { sort -n | awk '{ a[NR] = $1 } END { if (!NR) print "nan"; else print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
minmax_of() { sort -n | awk 'NR == 1 { lo = $1 } { hi = $1 } END { print (NR ? lo "-" hi : "n/a") }'; }
# ratio A B -> A/B with 2 decimals, or n/a.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "nan" || b == "nan" || a == "" || b == "" || b + 0 <= 0) print "n/a"; else printf "%.2fx\n", a / b }'; }
sub_ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f\n", a - b }'; }

# ---------------------------------------------------------------- 1. start
say "1/6 start overhead: $START_N runs each, interleaved"
args=(true /bin/true)
for t in "${TOOLS[@]}"; do args+=(:: "$t" ${PFX[$t]} /bin/true); done
# Diagnostic rows: gorral without its start-up limits step (cgroup discovery,
# reading the command's ELF), to show what that step costs.
DIAG=()
for g in gorral gorral-static; do
        has "$g" || continue
        DIAG+=("$g--no-limits")
        PFX[$g--no-limits]="${PFX[$g]% --} --no-limits --"
        args+=(:: "$g--no-limits" ${PFX[$g--no-limits]} /bin/true)
done
mkdir -p "$TMP/start"
"$B/timer" "$START_N" 20 "$TMP/start" "${args[@]}" 2>"$TMP/start.err"
declare -A S_MED S_RANGE S_ADD
for t in true "${TOOLS[@]}" "${DIAG[@]}"; do
        read -r med lo hi n < <(stats "$TMP/start/$t.ns")
        S_MED[$t]=$med S_RANGE[$t]="$lo-$hi"
        S_ADD[$t]=$(sub_ms "$med" "${S_MED[true]}")
done
# Syscalls the supervisor itself makes for one `X -- /bin/true` (not -f:
# the child's exec of /bin/true is the same for all).
declare -A SYSCALLS TOPSYS
if command -v strace >/dev/null; then
        for t in "${TOOLS[@]}" "${DIAG[@]}"; do
                timeout 10 strace -c -o "$TMP/strace.$t" ${PFX[$t]} /bin/true >/dev/null 2>&1
                SYSCALLS[$t]=$(awk '$NF == "total" { print $4 }' "$TMP/strace.$t" 2>/dev/null)
                TOPSYS[$t]=$(awk 'NR > 2 && $1 !~ /^-/ && $NF != "total" { print $NF, $4 }' "$TMP/strace.$t" |
                        sort -k2,2nr | head -4 | awk '{ printf "%s%s %s", sep, $1, $2; sep = ", " }')
        done
fi

# ---------------------------------------------------------------- 2+6. RSS, idle
# Starts every supervisor at once on `sleep 1000`, waits (bounded) until
# its child is sleep, reads its memory; on the last round also counts its
# context switches over IDLE_SECONDS of idleness.
kib() { awk -v k="$2" '$1 == k ":" { print $2 }' "$1" 2>/dev/null; }
ctxt() { # voluntary + involuntary switches of every thread of $1
        cat /proc/"$1"/task/*/status 2>/dev/null |
                awk '/^(non)?voluntary_ctxt_switches:/ { s += $2 } END { print s + 0 }'
}
declare -A RSS_L PRIV_L PSS_L IDLE_CS IDLE_THREADS
say "2/6 resident memory: $RSS_STARTS starts; 6/6 idle wakeups over ${IDLE_SECONDS}s on the last"
for round in $(seq 1 "$RSS_STARTS"); do
        declare -A SUP=()
        for t in "${TOOLS[@]}"; do
                ${PFX[$t]} /bin/sleep 1000 </dev/null >/dev/null 2>>"$TMP/rss.$t.log" &
                SUP[$t]=$!
                BG_PIDS+=($!)
        done
        for t in "${TOOLS[@]}"; do
                p=${SUP[$t]} ok=
                for _ in $(seq 1 100); do # up to 5 s
                        for c in $(children_of "$p"); do
                                [ "$(cat /proc/"$c"/comm 2>/dev/null)" = sleep ] && ok=1
                        done
                        [ -n "$ok" ] && break
                        sleep 0.05
                done
                [ -z "$ok" ] && say "$t: no sleep child after 5 s (round $round)"
        done
        sleep 0.5 # let lazy start-up work (first monitor sample, ...) settle
        for t in "${TOOLS[@]}"; do
                p=${SUP[$t]}
                r=$(kib /proc/"$p"/status VmRSS)
                pc=$(kib /proc/"$p"/smaps_rollup Private_Clean)
                pd=$(kib /proc/"$p"/smaps_rollup Private_Dirty)
                ps=$(kib /proc/"$p"/smaps_rollup Pss)
                [ -n "$r" ] && RSS_L[$t]+="$r "
                [ -n "$pc" ] && PRIV_L[$t]+="$((pc + pd)) "
                [ -n "$ps" ] && PSS_L[$t]+="$ps "
        done
        if [ "$round" = "$RSS_STARTS" ]; then
                # gorral arms a one-shot timer 1 s after a start (the
                # start-grace window); count only the steady state after it.
                sleep 1.5
                declare -A CS0=()
                for t in "${TOOLS[@]}"; do CS0[$t]=$(ctxt "${SUP[$t]}"); done
                sleep "$IDLE_SECONDS"
                for t in "${TOOLS[@]}"; do
                        p=${SUP[$t]}
                        if [ -d /proc/"$p" ]; then
                                IDLE_CS[$t]=$(($(ctxt "$p") - CS0[$t]))
                                IDLE_THREADS[$t]=$(kib /proc/"$p"/status Threads)
                        else
                                IDLE_CS[$t]="exited"
                        fi
                done
        fi
        for t in "${TOOLS[@]}"; do kill -TERM "${SUP[$t]}" 2>/dev/null; done
        for t in "${TOOLS[@]}"; do
                for _ in $(seq 1 40); do [ -d /proc/"${SUP[$t]}" ] || break; sleep 0.05; done
                kill_tree "${SUP[$t]}"
                wait "${SUP[$t]}" 2>/dev/null
        done
        unset SUP
done

# ---------------------------------------------------------------- 3. restart
say "3/6 restart latency: $ROUNDS rounds x $RESTARTS restarts"
mkdir -p "$TMP/restart"
declare -A R_NOTE
for round in $(seq 1 "$ROUNDS"); do
        "$B/restartref" run "$RESTARTS" "$B/child" "$TMP/restart" 2>>"$TMP/restart.err"
        for g in gorral gorral-static; do
                has "$g" || continue
                f=$TMP/restart/$g.$round.stamps
                rm -f "$f"
                bin=${PFX[$g]%% *}
                # shellcheck disable=SC2086 # the flags are words on purpose
                "$bin" run $GORRAL_RESTART_FLAGS -- "$B/child" stamp "$f" $((RESTARTS + 1)) \
                        </dev/null >/dev/null 2>"$TMP/restart/$g.$round.log" &
                p=$!
                BG_PIDS+=($p)
                want=$(((2 * RESTARTS + 1) * 23))
                for _ in $(seq 1 300); do # up to 30 s
                        [ "$(stat -c %s "$f" 2>/dev/null || echo 0)" -ge "$want" ] && break
                        [ -d /proc/"$p" ] || break
                        sleep 0.1
                done
                got=$(( ($(stat -c %s "$f" 2>/dev/null || echo 0) / 23 + 1) / 2 ))
                [ "$got" -lt $((RESTARTS + 1)) ] &&
                        R_NOTE[$g]+="round $round: only $got of $((RESTARTS + 1)) starts seen ($( [ -d /proc/$p ] && echo "still running" || echo "gorral exited")). "
                kill -TERM "$p" 2>/dev/null
                for _ in $(seq 1 40); do [ -d /proc/"$p" ] || break; sleep 0.05; done
                kill_tree "$p"
                wait "$p" 2>/dev/null
                "$B/restartref" deltas "$f" >>"$TMP/restart/$g.ns" 2>/dev/null
        done
done

# ---------------------------------------------------------------- 5. SIGTERM
# (Run before the orphans: 14000 exits leave the kernel busy freeing them for
# a while, and SIGTERM timings right after them came out 1.2-2.2x slower for every
# supervisor alike.)
say "5/6 SIGTERM to exit: $SIGTERM_N runs each in $ROUNDS rounds"
mkfifo "$TMP/fifo"
declare -A T_SUM
per=$(( (SIGTERM_N + ROUNDS - 1) / ROUNDS ))
for round in $(seq 1 "$ROUNDS"); do
        for t in "${TOOLS[@]}"; do
                timeout -k 2 120 "$B/sigterm" "$per" "$TMP/sigterm.$t.ns" "$TMP/fifo" 2000 \
                        "$TMP/sigterm.$t.log" ${PFX[$t]} "$B/child" ready "$TMP/fifo" 2>>"$TMP/sigterm.$t.sum"
        done
done
for t in "${TOOLS[@]}"; do
        # sum the rounds' "runs timeouts not_ready leftovers status"
        T_SUM[$t]=$(awk '{ r += $1; to += $2; nr += $3; lo += $4; st[$5] = 1; if ($6 != "") st["varies"] = 1 }
                END { s = ""; for (k in st) s = s (s == "" ? "" : ",") k
                      printf "runs=%d timeouts=%d not_ready=%d leftovers=%d exit=%s\n", r, to, nr, lo, s }' "$TMP/sigterm.$t.sum")
done

# ---------------------------------------------------------------- 4. orphans
say "4/6 orphan reaping as PID 1: $ORPHANS orphans x $ORPHAN_REPS"
declare -A O_L O_NOTE
reapers=(ref-reaper "${TOOLS[@]}")
PFX[ref-reaper]="$B/reaper"
for rep in $(seq 1 "$ORPHAN_REPS"); do
        for t in "${reapers[@]}"; do
                o=$TMP/orphans.$t.$rep
                rm -f "$o"
                timeout -k 2 60 unshare --pid --fork --mount-proc ${PFX[$t]} "$B/orphans" "$ORPHANS" "$o" \
                        </dev/null >/dev/null 2>>"$TMP/orphans.$t.log"
                if read -r n ns ppid <"$o" 2>/dev/null; then
                        O_L[$t]+="$ns"$'\n'
                        [ "$ppid" != 1 ] && O_NOTE[$t]="orphans re-parented to pid $ppid, not PID 1"
                else
                        O_NOTE[$t]="run $rep produced no result"
                fi
        done
done

# ---------------------------------------------------------------- facts
ver() { "$@" 2>&1 | head -1; }
gorral_ver() {
        local b=$BUILD/$1
        [ -x "$b" ] || { echo "not built"; return; }
        timeout 5 "$b" --version 2>&1 | head -1 || true
}
# Goal text and a plain reading of it (reporting only).
# Within 5% of the goal is reported as a tie: runs on this shared machine
# differ by more than that.
cmp_le() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || a == "nan" || b == "nan" || a == "n/a") print "n/a"; else if (a + 0 <= b + 0) print "meets"; else if (a + 0 <= 1.05 * b) print "ties (within 5%)"; else printf "misses (%.2fx)\n", a / b }'; }

# ---------------------------------------------------------------- report
say "writing $OUT"
{
echo "# gorral benchmarks"
echo
echo "Written by \`make bench\` (\`bench/run.sh\`) on $(date -u '+%Y-%m-%d %H:%M UTC'), git $(git -C "$HERE" rev-parse --short HEAD 2>/dev/null || echo '?'),"
echo "in $((SECONDS - T0)) s. Every figure below comes from this one run, on this machine; the"
echo "script only reports (it asserts nothing). \"meets\"/\"misses\" compares the median with the"
echo "goal stated next to it. Anchors are the figures measured earlier on this machine kind."
echo
echo "## Machine"
echo
echo "| fact | value |"
echo "|---|---|"
echo "| nproc | $(nproc) |"
echo "| CPU | $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo) |"
echo "| kernel | $(uname -r) |"
echo "| load average (1/5/15 min) at start / end | $LOAD0 / $(cut -d' ' -f1-3 /proc/loadavg) |"
echo "| OS | $(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME") |"
echo "| tini | $(ver /usr/bin/tini --version) |"
echo "| tini-static | $( [ -x /usr/bin/tini-static ] && ver /usr/bin/tini-static --version || echo absent) |"
echo "| dumb-init | $(ver /usr/bin/dumb-init --version) |"
echo "| gorral | $(gorral_ver gorral) |"
echo "| gorral-static | $(gorral_ver gorral-static) |"
echo "| cc | $(ver cc --version) |"
for g in gorral gorral-static; do [ -n "${NOTE[$g]:-}" ] && echo "| $g status | ${NOTE[$g]} |"; done
echo
echo "Invocations: \`tini -- CMD\`, \`tini-static -- CMD\`, \`dumb-init CMD\`, \`gorral run -- CMD\`"
echo "(defaults; not PID 1 except in section 4). tini prints its not-PID-1 warning to stderr, which"
echo "goes to /dev/null like every supervisor's stderr."
echo
echo "## 1. Start overhead: \`X -- /bin/true\` against \`/bin/true\`"
echo
echo "Own C timer (\`bench/timer.c\`: fork, exec, waitpid, CLOCK_MONOTONIC), $START_N runs each after 20"
echo "warm-up runs, all commands interleaved round by round. Added = X median - /bin/true median."
echo
echo "| command | median ms | min-max ms | added ms | added vs tini | added vs dumb-init | syscalls by X | top syscalls |"
echo "|---|---|---|---|---|---|---|---|"
echo "| /bin/true | ${S_MED[true]} | ${S_RANGE[true]} | - | - | - | - | - |"
for t in "${TOOLS[@]}" "${DIAG[@]}"; do
        echo "| ${t/--/ --} | ${S_MED[$t]} | ${S_RANGE[$t]} | ${S_ADD[$t]} | $(ratio "${S_ADD[$t]}" "${S_ADD[tini]:-}") | $(ratio "${S_ADD[$t]}" "${S_ADD[dumb-init]:-}") | ${SYSCALLS[$t]:-?} | ${TOPSYS[$t]:-?} |"
done
echo
echo "Anchors: tini adds 0.91 ms to a 0.82 ms /bin/true; tini-static adds 0.57 ms; dumb-init 0.85 ms."
echo -n "Goals: gorral's added time <= tini's (${S_ADD[tini]:-?} ms here)"
has gorral && echo -n ": $(cmp_le "${S_ADD[gorral]}" "${S_ADD[tini]:-}")"
echo -n "; gorral-static's <= tini-static's (${S_ADD[tini-static]:-?} ms)"
has gorral-static && echo -n ": $(cmp_le "${S_ADD[gorral-static]}" "${S_ADD[tini-static]:-}")"
echo "."
[ ${#DIAG[@]} -gt 0 ] && echo "The \`--no-limits\` rows are diagnostics: gorral without its start-up limits step."
[ -s "$TMP/start.err" ] && { echo; echo '```'; cat "$TMP/start.err"; echo '```'; }
echo
echo "## 2. Resident memory while supervising an idle \`sleep 1000\`"
echo
echo "Median of $RSS_STARTS starts, read 0.5 s after the child is running. VmRSS from"
echo "/proc/PID/status; private = Private_Clean + Private_Dirty from /proc/PID/smaps_rollup."
echo
echo "| supervisor | VmRSS KiB | min-max | private KiB | min-max | Pss KiB | RSS vs tini | RSS vs dumb-init |"
echo "|---|---|---|---|---|---|---|---|"
declare -A RSS_MED
for t in "${TOOLS[@]}"; do
        RSS_MED[$t]=$(tr ' ' '\n' <<<"${RSS_L[$t]:-}" | grep . | median_of)
done
for t in "${TOOLS[@]}"; do
        l=$(tr ' ' '\n' <<<"${RSS_L[$t]:-}" | grep .)
        pl=$(tr ' ' '\n' <<<"${PRIV_L[$t]:-}" | grep .)
        sl=$(tr ' ' '\n' <<<"${PSS_L[$t]:-}" | grep .)
        echo "| $t | ${RSS_MED[$t]} | $(minmax_of <<<"$l") | $(median_of <<<"$pl") | $(minmax_of <<<"$pl") | $(median_of <<<"$sl") | $(ratio "${RSS_MED[$t]}" "${RSS_MED[tini]:-}") | $(ratio "${RSS_MED[$t]}" "${RSS_MED[dumb-init]:-}") |"
done
echo
echo "Anchors: tini 1320 KiB (96 KiB private), tini-static 708 KiB, dumb-init 1180 KiB."
gl=$(awk -v a="${RSS_MED[tini]:-nan}" 'BEGIN { if (a == "nan") print ""; else print a * 1.5 }')
echo -n "Goals: gorral <= 1.5x tini (${gl:-?} KiB here)"
has gorral && echo -n ": $(cmp_le "${RSS_MED[gorral]}" "$gl")"
echo -n "; gorral-static <= tini-static (${RSS_MED[tini-static]:-?} KiB)"
has gorral-static && echo -n ": $(cmp_le "${RSS_MED[gorral-static]}" "${RSS_MED[tini-static]:-}")"
echo "."
echo
echo "## 3. Restart latency: child death to the next child running"
echo
echo "The child (\`bench/child.c stamp\`) writes CLOCK_MONOTONIC as the first thing in main and again"
echo "just before it exits (status 0); latency = next start - previous exit stamp, over $ROUNDS rounds of"
echo "$RESTARTS restarts, the rounds alternating between the reference and each gorral."
echo "gorral runs with \`$GORRAL_RESTART_FLAGS\`. tini and dumb-init cannot restart."
echo
echo "| supervisor | median ms | min-max ms | restarts | vs direct start | note |"
echo "|---|---|---|---|---|---|"
declare -A RMED
read -r dmed dlo dhi dn < <(stats "$TMP/restart/direct.ns")
read -r imed ilo ihi in_ < <(stats "$TMP/restart/ideal.ns")
echo "| reference: start the child directly (fork -> child's main) | $dmed | $dlo-$dhi | $dn | 1.00x | bench/restartref.c |"
echo "| reference: minimal C loop (waitpid -> fork -> exec) | $imed | $ilo-$ihi | $in_ | $(ratio "$imed" "$dmed") | bench/restartref.c |"
for t in "${TOOLS[@]}"; do
        case $t in
        gorral*)
                read -r med lo hi n < <(stats "$TMP/restart/$t.ns")
                RMED[$t]=$med
                echo "| $t | $med | $lo-$hi | $n | $(ratio "$med" "$dmed") | ${R_NOTE[$t]:-} |" ;;
        *) echo "| $t | N/A | N/A | - | - | cannot restart |" ;;
        esac
done
echo
echo -n "Anchor: runsv restarts in 2.9 ms where starting the child directly takes 1.47 ms. Goal: gorral < 2 ms median"
for g in gorral gorral-static; do has "$g" && echo -n "; $g: $(cmp_le "${RMED[$g]}" 2)"; done
echo "."
echo
echo "## 4. Orphans reaped as PID 1"
echo
echo "\`unshare --pid --fork --mount-proc X -- bench/orphans $ORPHANS\`: $ORPHANS double-forked orphans (parent: X"
echo "as PID 1) block on one pipe and are released at once; time from the release to the last one"
echo "reaped (\`kill(pid, 0)\` = ESRCH), median of $ORPHAN_REPS runs. It includes the $ORPHANS exits"
echo "themselves, so ref-reaper (\`bench/reaper.c\`, blocking waitpid(-1) loop) is the floor."
echo
echo "| PID 1 | median ms | min-max ms | orphans/s | time vs tini | time vs dumb-init | note |"
echo "|---|---|---|---|---|---|---|"
declare -A O_MED
for t in "${reapers[@]}"; do
        O_MED[$t]=$(median_of <<<"${O_L[$t]:-}" | awk '{ print ($1 == "nan") ? "nan" : sprintf("%.1f", $1 / 1e6) }')
done
for t in "${reapers[@]}"; do
        mm=$(grep . <<<"${O_L[$t]:-}" | minmax_of | awk -F- '{ if (NF == 2) printf "%.1f-%.1f", $1 / 1e6, $2 / 1e6; else print "n/a" }')
        rate=$(awk -v m="${O_MED[$t]}" -v n="$ORPHANS" 'BEGIN { if (m == "nan" || m <= 0) print "n/a"; else printf "%.0f", n / (m / 1000) }')
        echo "| $t | ${O_MED[$t]} | $mm | $rate | $(ratio "${O_MED[$t]}" "${O_MED[tini]:-}") | $(ratio "${O_MED[$t]}" "${O_MED[dumb-init]:-}") | ${O_NOTE[$t]:-} |"
done
echo
echo -n "Anchor: tini drains 2000 orphans in 45 ms. Goal: gorral at least as good as tini (${O_MED[tini]:-?} ms here)"
for g in gorral gorral-static; do has "$g" && echo -n "; $g: $(cmp_le "${O_MED[$g]}" "${O_MED[tini]:-}")"; done
echo "."
echo
echo "## 5. SIGTERM to the supervisor's exit"
echo
echo "\`bench/sigterm.c\` starts \`X -- child ready FIFO\`, waits for the child's byte on the FIFO, sends"
echo "SIGTERM to X and times until waitpid(X) returns; the child dies of the forwarded SIGTERM"
echo "(default disposition). $((per * ROUNDS)) runs each in $ROUNDS rounds alternating between the supervisors;"
echo "a run is cut at 2000 ms."
echo
echo "| supervisor | median ms | min-max ms | vs tini | vs dumb-init | runs / exit status / leftovers |"
echo "|---|---|---|---|---|---|"
declare -A T_MED T_RANGE
for t in "${TOOLS[@]}"; do
        read -r med lo hi n < <(stats "$TMP/sigterm.$t.ns")
        T_MED[$t]=$med
        T_RANGE[$t]="$lo-$hi"
done
for t in "${TOOLS[@]}"; do
        echo "| $t | ${T_MED[$t]} | ${T_RANGE[$t]} | $(ratio "${T_MED[$t]}" "${T_MED[tini]:-}") | $(ratio "${T_MED[$t]}" "${T_MED[dumb-init]:-}") | ${T_SUM[$t]:-?} |"
done
echo
echo -n "Anchor: tini 0.25 ms. Goal: gorral at least as good as tini (${T_MED[tini]:-?} ms here)"
for g in gorral gorral-static; do has "$g" && echo -n "; $g: $(cmp_le "${T_MED[$g]}" "${T_MED[tini]:-}")"; done
echo "."
echo
echo "## 6. Idle wakeups"
echo
echo "Context switches (voluntary + involuntary, all threads, from /proc/PID/task/*/status) of the"
echo "supervisor over $IDLE_SECONDS s while it supervises an idle \`sleep 1000\`, counted from 2 s after the"
echo "child started (after gorral's one-shot start-grace timer at 1 s)."
echo
echo "| supervisor | context switches in ${IDLE_SECONDS} s | per second | threads |"
echo "|---|---|---|---|"
for t in "${TOOLS[@]}"; do
        cs=${IDLE_CS[$t]:-?}
        echo "| $t | $cs | $(awk -v c="$cs" -v s="$IDLE_SECONDS" 'BEGIN { if (c ~ /^[0-9]+$/) printf "%.1f", c / s; else print "n/a" }') | ${IDLE_THREADS[$t]:-?} |"
done
echo
echo -n "Anchor: tini wakes once a second. Goal: gorral zero idle wakeups"
for g in gorral gorral-static; do has "$g" && echo -n "; $g: $( [ "${IDLE_CS[$g]:-x}" = 0 ] && echo meets || echo misses)"; done
echo "."
if [ -s "$HERE/NOTES.md" ]; then
        echo
        echo "## Notes (bench/NOTES.md, written by hand from profiling; may lag the figures)"
        echo
        cat "$HERE/NOTES.md"
fi
echo
"$HERE/services.sh" "$BUILD"
echo
"$HERE/watch.sh" "$BUILD"
echo
echo "## 9. One monitoring sample of one service (bench/sample.sh: procfs + cgroup files, real v1 cgroups)"
echo
"$HERE/sample.sh" "$BUILD"
echo
echo "## 10. Prometheus text parse throughput against prometheus/common's expfmt (bench/promparse.sh)"
echo
"$HERE/promparse.sh" "$BUILD"
echo
"$HERE/detect.sh" "$BUILD"
echo
echo "## 12. The detectors' cost per sample, and replay speed (bench/detect_cost.sh)"
echo
"$HERE/detect_cost.sh" "$BUILD"
echo
echo "## 13. The watchdog: CPU per WATCHDOG=1 (bench/watchdog.sh)"
echo
"$HERE/watchdog.sh" "$BUILD"
} >"$OUT.tmp" && mv "$OUT.tmp" "$OUT"
say "done in $((SECONDS - T0)) s: $OUT"
