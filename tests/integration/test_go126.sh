#!/usr/bin/env bash
# Go 1.26 children in real cgroup v1 sub-cgroups (cpu and memory, found
# from mountinfo, created below this test's own cgroups, removed on exit).
# Toolchain: every program here is built by Go 1.26 ($GO126 of
# tests/goapps/toolchains.sh, module mode): goprobe126, goprobe126-go124,
# goservice126, goservice126-leakprof; the Go 1.19 goprobe/goservice
# ($GO119, GOPATH mode) run beside them where the two generations differ.
# A Go >= 1.25 runtime sizes GOMAXPROCS from its cgroup by itself, so gorral
# leaves GOMAXPROCS unset for it unless its own value is lower; what the
# runtime itself reports is the assertion:
#   - 0.5 CPU / 256 MiB leaf: gorral exec and gorral run leave GOMAXPROCS
#     unset, the runtime reports min(CPUs, 2) and gorral's GOMEMLIMIT;
#   - parent 0.5 CPU, leaf unlimited, --rounding floor: gorral exports 1
#     (lower than the runtime's leaf value) and the runtime uses it;
#   - gorral's prediction of the runtime's own value (limits --json
#     go.runtime_gomaxprocs) equals what the runtime picks
#     (runtime.SetDefaultGOMAXPROCS, goprobe's default_gomaxprocs);
#   - the runtime reads the leaf only: the limit files it keeps open;
#   - it updates GOMAXPROCS while running (affinity change), re-reads the
#     quota about once a second while busy and not at all while idle
#     (strace), and stops both once GOMAXPROCS is set;
#   - the goroutineleak profile of the GOEXPERIMENT build.
# Timings measured here are printed as "measured:" lines on stderr.
# asan-pass: no (what the Go 1.26 runtime does with gorral exec's values; no supervisor path of its own)
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/../goapps/toolchains.sh"

unset GOMAXPROCS GOMEMLIMIT GORRAL_SYSROOT
MiB=$((1024 * 1024))
NCPU=$(nproc)
min() { if [ "$1" -lt "$2" ]; then echo "$1"; else echo "$2"; fi; }
measured() { echo "measured: $*" >&2; }

for b in goprobe126 goprobe126-go124 goservice126 goservice126-leakprof goprobe goservice; do
	if [ ! -x "$GOAPPS/$b" ]; then
		fail go126 "$GOAPPS/$b not built (make goapps)"
		exit 0
	fi
done
PROBE=$GOAPPS/goprobe126

# field NAME: from goprobe's line in $out.
field() { tr ' ' '\n' <<<"$out" | sed -n "s/^$1=//p"; }

v=$("$PROBE" | tr ' ' '\n' | sed -n 's/^go_version=//p')
if [[ $v == go1.26.* ]]; then pass "goprobe126 is built by Go 1.26 ($v)"; else fail go126_version "goprobe126 says '$v'"; fi

# gorral's decision for each Go 1.26 build on a fixture tree where it matters
# (quota 0.5 CPU, --cpus 4: gorral's target 2 is below the CPU count, and
# equal to what a cgroup-aware runtime picks by itself): left unset for the
# cgroup-aware builds, exported for the go 1.24 module (containermaxprocs=0).
FXL=$(cd "$(dirname "$0")/../fixtures/limits" && pwd)
for spec in goprobe126:unset goservice126:unset goservice126-leakprof:unset goprobe126-go124:2 goprobe:2; do
	b=${spec%%:*} want_env=${spec#*:}
	envs=$("$GORRAL" env --format dotenv --sysroot "$FXL/v2_high" --cpus 4 -- "$GOAPPS/$b" 2>"$TMP/env-$b.err")
	got=$(sed -n 's/^GOMAXPROCS=//p' <<<"$envs")
	expect_eq "gorral env --sysroot (0.5 CPU) --cpus 4 -- $b: GOMAXPROCS" "${got:-unset}" "$want_env"
done

if ! is_root; then
	skip go126_cgroups "not root: cannot create cgroups"
	exit 0
fi
cpu_mnt=$(v1_mount cpu)
mem_mnt=$(v1_mount memory)
if [ -z "$cpu_mnt" ] || [ -z "$mem_mnt" ]; then
	skip go126_cgroups "no cgroup v1 cpu and memory hierarchies mounted here (this test drives v1)"
	exit 0
fi
cpu_base=$cpu_mnt$(own_v1_cgroup cpu)
mem_base=$mem_mnt$(own_v1_cgroup memory)
tag=gorral-go126-$$
CPU=${cpu_base%/}/$tag
MEM=${mem_base%/}/$tag
if ! cg_mkdir "$CPU" || ! cg_mkdir "$MEM" || ! cg_mkdir "$CPU/child"; then
	skip go126_cgroups "cannot create a cgroup under $cpu_base or $mem_base: $(cat "$TMP/mkdir.err")"
	exit 0
fi
CHILD=$CPU/child
if ! { echo 100000 >"$CPU/cpu.cfs_period_us" && echo 50000 >"$CPU/cpu.cfs_quota_us" &&
	echo -1 >"$CHILD/cpu.cfs_quota_us" && echo $((256 * MiB)) >"$MEM/memory.limit_in_bytes"; }; then
	fail go126_cgroups "cannot write the limits of $CPU, $CHILD or $MEM"
	exit 0
fi

# Services started by this test, stopped before the cgroups are removed.
SVCS=()
stop_all() {
	local p
	for p in "${SVCS[@]}"; do kill -KILL "$p" 2>/dev/null; done
	for p in "${SVCS[@]}"; do wait "$p" 2>/dev/null; done
	SVCS=()
}
trap 'stop_all; cleanup' EXIT

# probe NAME CPUDIR CMD...: goprobe's line of CMD run in CPUDIR and $MEM, in
# $out; stderr in $TMP/NAME.err.
probe() {
	local name=$1 c=$2 r
	shift 2
	out=$(cg_run_in "$c" "$MEM" "$@" 2>"$TMP/$name.err")
	r=$?
	[ $r -eq 0 ] && return 0
	fail "$name" "exit $r: $(tail -3 "$TMP/$name.err")"
	return 1
}

# http_get PORT PATH: the response body over bash's /dev/tcp (5 s bound);
# http_status PORT PATH: the status code.
http_raw() {
	timeout 5 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
		printf "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n" "$2" >&3
		cat <&3' _ "$1" "$2"
}
http_get() { http_raw "$1" "$2" | sed '1,/^\r\{0,1\}$/d'; }
http_status() { http_raw "$1" "$2" | sed -n '1s/^HTTP\/[0-9.]* \([0-9]*\).*/\1/p'; }

# start_svc NAME CPUDIR CMD...: start CMD (a goservice) in CPUDIR and $MEM,
# wait (bounded) for its banner; sets SVC_PID and SVC_PORT.
start_svc() {
	local name=$1 c=$2 i log=$TMP/$1.out
	shift 2
	cg_run_in "$c" "$MEM" "$@" -listen 127.0.0.1:0 >"$log" 2>"$TMP/$name.err" &
	SVCS+=($!)
	for ((i = 0; i < 100; i++)); do
		grep -q '^listening=' "$log" 2>/dev/null && break
		sleep 0.1
	done
	SVC_PID=$(sed -n 's/^pid=//p' "$log")
	SVC_PORT=$(sed -n 's/^listening=.*:\([0-9]*\)$/\1/p' "$log")
	[ -n "$SVC_PORT" ] && return 0
	fail "$name" "did not start: $(tail -3 "$TMP/$name.err")"
	return 1
}
# svc_gomaxprocs PORT: runtime.GOMAXPROCS(0) from /stats.
svc_gomaxprocs() { http_get "$1" /stats | sed -n 's/.*"gomaxprocs":\([0-9]*\).*/\1/p'; }

# --- 0.5 CPU, 256 MiB, in the leaf ---------------------------------------------
# The runtime's own value is min(CPUs, max(2, ceil(0.5))) = min(CPUs, 2); so
# is gorral's ceil target, which is not lower: GOMAXPROCS stays unset.
want=$(min "$NCPU" 2)
if probe leaf_alone "$CPU" "$PROBE"; then
	expect_eq "go1.26 alone in 0.5 CPU/256 MiB: gomaxprocs, memlimit (the runtime reads no memory cgroup)" \
		"$(field gomaxprocs) $(field memlimit)" "$want 9223372036854775807"
fi
for mode in exec run; do
	if probe "leaf_$mode" "$CPU" "$GORRAL" "$mode" -- "$PROBE"; then
		expect_eq "go1.26 under gorral $mode in 0.5 CPU/256 MiB: GOMAXPROCS left unset" \
			"$(field gomaxprocs_env) $(field env_GOMAXPROCS)" "unset "
		expect_eq "go1.26 under gorral $mode in 0.5 CPU/256 MiB: runtime gomaxprocs, memlimit from gorral" \
			"$(field gomaxprocs) $(field memlimit)" "$want 241591910"
		check "go1.26 under gorral $mode: the decision says not exported" \
			grep -qE 'event=limits (service=main )?gomaxprocs=unset .*not exported' "$TMP/leaf_$mode.err"
	fi
done
if [ -n "${GORRAL_STATIC:-}" ] && [ -x "$GORRAL_STATIC" ]; then
	probe leaf_static "$CPU" "$GORRAL_STATIC" exec -- "$PROBE" &&
		expect_eq "go1.26 under the static gorral exec: gomaxprocs, env, memlimit" \
			"$(field gomaxprocs) $(field gomaxprocs_env) $(field memlimit)" "$want unset 241591910"
else
	skip_static "go1.26 under the static gorral" "GORRAL_STATIC not built"
fi
# Go 1.19 beside it: the same gorral decision, but its runtime has no
# cgroup default at all.
if probe leaf_119 "$CPU" "$GORRAL" exec -- "$GOAPPS/goprobe"; then
	expect_eq "go1.19 under gorral exec in 0.5 CPU/256 MiB: gomaxprocs, default, memlimit" \
		"$(field gomaxprocs) $(field default_gomaxprocs) $(field memlimit)" "$want - 241591910"
fi
# With floor rounding gorral's 1 is lower than the runtime's value: exported.
if [ "$NCPU" -gt 1 ] && probe leaf_floor "$CPU" "$GORRAL" exec --rounding floor -- "$PROBE"; then
	expect_eq "go1.26, leaf 0.5 CPU, --rounding floor: GOMAXPROCS=1 exported and used; runtime default still $want" \
		"$(field gomaxprocs) $(field gomaxprocs_env) $(field default_gomaxprocs)" "1 used $want"
fi

# --- parent 0.5 CPU, leaf without a quota ---------------------------------------
# Leaf-only: the runtime's own value is the CPU count. gorral's floor value
# 1 is lower: exported, and the runtime uses it.
if probe parent_alone "$CHILD" "$PROBE"; then
	expect_eq "go1.26 alone under a 0.5-CPU parent: gomaxprocs and default are the CPU count (the parent is ignored)" \
		"$(field gomaxprocs) $(field default_gomaxprocs)" "$NCPU $NCPU"
fi
if [ "$NCPU" -gt 1 ]; then
	if probe parent_floor "$CHILD" "$GORRAL" exec --rounding floor -- "$PROBE"; then
		expect_eq "go1.26 under a 0.5-CPU parent, gorral exec --rounding floor: GOMAXPROCS=1 exported and used" \
			"$(field env_GOMAXPROCS) $(field gomaxprocs_env) $(field gomaxprocs)" "1 used 1"
		check "parent-limited: the decision says the runtime reads only its leaf" \
			grep -q 'event=limits gomaxprocs=1 .*reads only its leaf cgroup and would pick '"$NCPU"': exported' "$TMP/parent_floor.err"
	fi
	probe parent_floor_run "$CHILD" "$GORRAL" run --rounding floor -- "$PROBE" &&
		expect_eq "go1.26 under a 0.5-CPU parent, gorral run --rounding floor: runtime gomaxprocs" \
			"$(field gomaxprocs) $(field gomaxprocs_env)" "1 used"
else
	skip "parent-limited export" "1 CPU: no value can be lower than the runtime's"
fi
# Default (ceil) rounding: gorral's 2 is lower than the runtime's leaf value
# only with more than 2 CPUs.
if probe parent_ceil "$CHILD" "$GORRAL" exec -- "$PROBE"; then
	if [ "$NCPU" -gt 2 ]; then wantenv="2 used 2"; else wantenv=" unset $NCPU"; fi
	expect_eq "go1.26 under a 0.5-CPU parent, default rounding ($NCPU CPUs): env, source, gomaxprocs" \
		"$(field env_GOMAXPROCS) $(field gomaxprocs_env) $(field gomaxprocs)" "$wantenv"
fi

# --- gorral's model of the runtime vs the runtime -------------------------------
# limits --json go.runtime_gomaxprocs is gorral's prediction (leaf only,
# ceil, min 2, capped by affinity); default_gomaxprocs is the runtime's own.
if command -v python3 >/dev/null; then
	for where in "$CPU" "$CHILD"; do
		label="leaf 0.5 CPU"
		[ "$where" = "$CHILD" ] && label="unlimited leaf under a 0.5-CPU parent"
		pred=$(cg_run_in "$where" "$MEM" "$GORRAL" limits --json -- "$PROBE" 2>/dev/null |
			python3 -c 'import json,sys; g=json.load(sys.stdin)["go"]; print(g["version"], g["runtime_sizes_gomaxprocs"], g["runtime_gomaxprocs"])')
		probe model "$where" "$PROBE" &&
			expect_eq "gorral's prediction of the go1.26 runtime's GOMAXPROCS = the runtime's own ($label)" \
				"$pred" "$(field go_version) True $(field default_gomaxprocs)"
	done
else
	skip "gorral's prediction vs the runtime" "python3 not installed (needed to read the JSON)"
fi

# --- what gorral says of it -------------------------------------------------------
cg_run_in "$CPU" "$MEM" "$GORRAL" limits -- "$PROBE" >"$TMP/limits.txt" 2>&1
check "gorral limits -- goprobe126 names go1.26 and says the runtime sizes GOMAXPROCS" \
	grep -Eq '^  Go: +go1\.26\.[0-9]+ \(its runtime sizes GOMAXPROCS from the cgroup\)$' "$TMP/limits.txt"
check "gorral limits -- goprobe126 in 0.5 CPU: GOMAXPROCS not set by gorral" \
	grep -q '^  GOMAXPROCS  *not set by gorral' "$TMP/limits.txt"
cg_run_in "$CPU" "$MEM" "$GORRAL" inspect "$PROBE" >"$TMP/inspect.txt" 2>&1
check "gorral inspect goprobe126: cgroup-aware yes, go1.26" \
	grep -Eq '^cgroup-aware: +yes: go1\.26\.[0-9]+ sizes GOMAXPROCS from its cgroup CPU limit itself$' "$TMP/inspect.txt"
check "gorral inspect goprobe126: gorral leaves GOMAXPROCS unset" \
	grep -q '^gorral: *leaves GOMAXPROCS unset' "$TMP/inspect.txt"
check "gorral inspect goprobe126 inside 0.5 CPU: here, not set" \
	grep -q '^here: *GOMAXPROCS not set' "$TMP/inspect.txt"

# --- the files the runtime reads: the leaf's, kept open -----------------------------
if start_svc svc_child "$CHILD" "$GOAPPS/goservice126"; then
	fds=$(ls -l "/proc/$SVC_PID/fd" 2>/dev/null | sed -n 's/.* -> //p' | grep '/cpu\.cfs_' | sort | tr '\n' ' ')
	expect_eq "go1.26 in a child of a 0.5-CPU cgroup keeps only the leaf's limit files open" \
		"$fds" "$CHILD/cpu.cfs_period_us $CHILD/cpu.cfs_quota_us "
	kill -KILL "$SVC_PID"
fi
if start_svc svc119_child "$CHILD" "$GOAPPS/goservice"; then
	n=$(ls -l "/proc/$SVC_PID/fd" 2>/dev/null | grep -c '/sys/fs/cgroup\|cpu\.cfs_')
	expect_eq "go1.19 opens no cgroup file" "$n" 0
	kill -KILL "$SVC_PID"
fi
stop_all

# --- updates while running ------------------------------------------------------------
# The quota cannot move the value on a 2-CPU machine (min 2, capped at 2),
# the affinity mask can: the runtime re-reads it with the quota once a
# second while it has work. Poll /stats (which is itself the work).
# wait_gomaxprocs PORT WANT TENTHS: poll; the time taken in $took (s).
wait_gomaxprocs() {
	local i t0 v
	t0=$(date +%s%N)
	for ((i = 0; i < $3; i++)); do
		v=$(svc_gomaxprocs "$1")
		[ "$v" = "$2" ] && break
		sleep 0.1
	done
	took=$(awk -v a="$t0" -v b="$(date +%s%N)" 'BEGIN { printf "%.2f", (b - a) / 1e9 }')
	got=$v
}
if [ "$NCPU" -lt 2 ] || ! command -v taskset >/dev/null; then
	skip "go1.26 updates GOMAXPROCS" "needs 2 CPUs and taskset"
else
	if start_svc svc_update "$CPU" "$GORRAL" exec -- "$GOAPPS/goservice126"; then
		taskset -a -p -c 0 "$SVC_PID" >/dev/null
		wait_gomaxprocs "$SVC_PORT" 1 50
		expect_eq "go1.26 under gorral exec (GOMAXPROCS unset): follows an affinity change to 1 CPU" "$got" 1
		measured "go1.26 GOMAXPROCS 2 -> 1 after taskset -c 0: ${took}s"
		taskset -a -p -c "0-$((NCPU - 1))" "$SVC_PID" >/dev/null
		wait_gomaxprocs "$SVC_PORT" "$want" 50
		expect_eq "go1.26 under gorral exec: back to $want after the affinity is restored" "$got" "$want"
		measured "go1.26 GOMAXPROCS 1 -> $want after taskset -c 0-$((NCPU - 1)): ${took}s"
		kill -KILL "$SVC_PID"
	fi
	# Exported by gorral (parent-limited, floor): custom, so no updates: a
	# default of $NCPU never replaces the exported 1.
	if start_svc svc_custom "$CHILD" "$GORRAL" exec --rounding floor -- "$GOAPPS/goservice126"; then
		wait_gomaxprocs "$SVC_PORT" "$NCPU" 30
		expect_eq "go1.26 with gorral's GOMAXPROCS=1: no update to the runtime default in 3 s" "$got" 1
		kill -KILL "$SVC_PID"
	fi
	# Go 1.19: no updates either way.
	if start_svc svc119_update "$CPU" "$GOAPPS/goservice"; then
		taskset -a -p -c 0 "$SVC_PID" >/dev/null
		wait_gomaxprocs "$SVC_PORT" 1 30
		expect_eq "go1.19 ignores an affinity change while running (3 s)" "$got" "$NCPU"
		kill -KILL "$SVC_PID"
	fi
	stop_all
fi

# --- re-reading the quota: strace of the running runtime ------------------------------
# A busy runtime preads its quota and period files about once a second and
# sees a changed quota at the next read; an idle one (every P idle) puts
# sysmon to sleep and reads nothing; a custom GOMAXPROCS reads nothing.
# preads PID SECONDS FILE: pread64 calls on the cgroup files, into FILE.
preads() {
	timeout "$2" strace -qq -f -p "$1" -e trace=pread64 -e signal=none -tt -o "$3" 2>/dev/null
	grep -c 'pread64(' "$3"
}
if ! command -v strace >/dev/null; then
	skip "go1.26 re-reads its quota" "strace not installed (make deps installs it)"
elif start_svc svc_strace "$CPU" "$GOAPPS/goservice126"; then
	n=$(preads "$SVC_PID" 3 "$TMP/idle.strace")
	expect_eq "go1.26 idle for 3 s: no quota read (sysmon sleeps)" "$n" 0
	# Busy: strace in the background; the quota changes once the first
	# read is seen, and strace stops 2.5 s later.
	http_get "$SVC_PORT" "/burn?seconds=8&workers=1" >/dev/null
	strace -qq -f -p "$SVC_PID" -e trace=pread64 -e signal=none -tt -o "$TMP/busy.strace" 2>/dev/null &
	tracer=$!
	for ((i = 0; i < 50; i++)); do
		grep -q 'pread64(' "$TMP/busy.strace" 2>/dev/null && break
		sleep 0.1
	done
	echo 150000 >"$CPU/cpu.cfs_quota_us"
	sleep 2.5
	kill -INT "$tracer" 2>/dev/null
	wait "$tracer" 2>/dev/null
	n=$(grep -c 'pread64(' "$TMP/busy.strace")
	q=$(grep -o 'pread64([0-9]*, "[0-9-]*\\n"' "$TMP/busy.strace" | sed 's/.*"\([0-9-]*\)\\n"/\1/' | tr '\n' ' ')
	measured "go1.26 busy, quota 50000 then 150000 after the first read: $n preads, values read: $q"
	times=$(awk '/pread64\(/ { split($2, t, ":"); print t[1] * 3600 + t[2] * 60 + t[3] }' "$TMP/busy.strace" |
		awk 'NR % 2 == 1 { if (p) printf "%.2f ", $1 - p; p = $1 }')
	measured "go1.26 busy: seconds between quota reads: $times"
	# About 1 s apart: every gap within [0.9, 1.6] s.
	if [ -n "$times" ] && awk -v t="$times" 'BEGIN { n = split(t, a, " "); for (i = 1; i <= n; i++) if (a[i] < 0.9 || a[i] > 1.6) exit 1 }'; then
		pass "go1.26 busy: quota and period re-read about once a second (gaps $times s)"
	else fail "go1.26 busy: quota re-read about once a second" "gaps '$times' s, $n preads"; fi
	case " $q" in
	*" 50000 "*" 150000 "*) pass "go1.26 sees the quota changed under it at its next read (50000 then 150000)" ;;
	*) fail "go1.26 sees the quota changed under it" "values read: $q" ;;
	esac
	echo 50000 >"$CPU/cpu.cfs_quota_us"
	kill -KILL "$SVC_PID"
	stop_all
	if [ "$NCPU" -gt 1 ] && start_svc svc_strace_custom "$CHILD" "$GORRAL" exec --rounding floor -- "$GOAPPS/goservice126"; then
		http_get "$SVC_PORT" "/burn?seconds=4&workers=1" >/dev/null
		n=$(preads "$SVC_PID" 3 "$TMP/custom.strace")
		expect_eq "go1.26 busy with gorral's GOMAXPROCS=1: no quota read in 3 s" "$n" 0
		kill -KILL "$SVC_PID"
	fi
	stop_all
fi

# --- the goroutine leak profile (GOEXPERIMENT=goroutineleakprofile) -------------------
if start_svc svc_leak "$CPU" "$GORRAL" exec -- "$GOAPPS/goservice126-leakprof"; then
	v=$(sed -n 's/^go_version=//p' "$TMP/svc_leak.out")
	case $v in
	go1.26.*-X:goroutineleakprofile) pass "goservice126-leakprof reports $v" ;;
	*) fail "goservice126-leakprof go_version" "$v" ;;
	esac
	total() { http_get "$SVC_PORT" "/debug/pprof/goroutineleak?debug=1" | sed -n 's/^goroutineleak profile: total //p'; }
	expect_eq "goroutineleak profile at start: total" "$(total)" 0
	http_get "$SVC_PORT" "/leak/goroutines?n=10" >/dev/null
	expect_eq "goroutines blocked on a reachable channel are not leaks" "$(total)" 0
	http_get "$SVC_PORT" "/leak/orphans?n=7" >/dev/null
	expect_eq "goroutines blocked on unreachable channels are reported" "$(total)" 7
	check "the leak profile names the leaking function" \
		bash -c "$(declare -f http_raw http_get); http_get $SVC_PORT '/debug/pprof/goroutineleak?debug=1' | grep -q 'main.leakOrphans'"
	check "/debug/pprof/ lists goroutineleak" \
		bash -c "$(declare -f http_raw http_get); http_get $SVC_PORT /debug/pprof/ | grep -q goroutineleak"
	kill -KILL "$SVC_PID"
fi
for b in goservice126 goservice; do
	if start_svc "svc_noleak_$b" "$CPU" "$GOAPPS/$b"; then
		expect_eq "$b (no experiment) has no goroutineleak profile" \
			"$(http_status "$SVC_PORT" "/debug/pprof/goroutineleak?debug=1")" 404
		kill -KILL "$SVC_PID"
	fi
done
stop_all
