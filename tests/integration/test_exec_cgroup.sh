#!/usr/bin/env bash
# `gorral exec` inside real cgroup v1 sub-cgroups (cpu and memory
# hierarchies, found from mountinfo), on the real Go 1.19 program goprobe
# (built by $GO119 of tests/goapps/toolchains.sh, GOPATH mode): what Go
# itself reports is the assertion. Go 1.26 children: test_go126.sh. The test cgroups are created
# below the cgroups this test already runs in (never at a hierarchy root)
# and removed on exit.
# asan-pass: no (one-shot exec and limits in real cgroups; the readers are fuzzed)
source "$(dirname "$0")/lib.sh"

unset GOMAXPROCS GOMEMLIMIT GORRAL_SYSROOT
PROBE=$GOAPPS/goprobe
MiB=$((1024 * 1024))

if ! is_root; then
	skip exec_cgroup "not root: cannot create cgroups"
	exit 0
fi
if [ ! -x "$PROBE" ]; then
	fail exec_cgroup "$PROBE not built (make goapps)"
	exit 0
fi
cpu_mnt=$(v1_mount cpu)
mem_mnt=$(v1_mount memory)
if [ -z "$cpu_mnt" ] || [ -z "$mem_mnt" ]; then
	skip exec_cgroup "no cgroup v1 cpu and memory hierarchies mounted here (this test drives v1)"
	exit 0
fi

cpu_base=$cpu_mnt$(own_v1_cgroup cpu)
mem_base=$mem_mnt$(own_v1_cgroup memory)
cpu_base=${cpu_base%/}
mem_base=${mem_base%/}


tag=gorral-it-$$
if ! cg_mkdir "$cpu_base/$tag" || ! cg_mkdir "$mem_base/$tag"; then
	skip exec_cgroup "cannot create a cgroup under $cpu_base or $mem_base: $(cat "$TMP/mkdir.err")"
	exit 0
fi
CPU=$cpu_base/$tag
MEM=$mem_base/$tag
NCPU=$(nproc)
min() { if [ "$1" -lt "$2" ]; then echo "$1"; else echo "$2"; fi; }

# set_cpu DIR QUOTA [PERIOD]
set_cpu() {
	echo "${3:-100000}" >"$1/cpu.cfs_period_us" && echo "$2" >"$1/cpu.cfs_quota_us"
}

# probe NAME CPUDIR MEMDIR GORRAL-BINARY [OPTIONS]: goprobe's line, in $out.
probe() {
	local name=$1 c=$2 m=$3 g=$4
	shift 4
	out=$(cg_run_in "$c" "$m" "$g" exec "$@" -- "$PROBE" 2>"$TMP/$name.err")
	local r=$?
	if [ $r -ne 0 ]; then
		fail "$name" "exit $r: $(tail -3 "$TMP/$name.err")"
		return 1
	fi
}
field() { sed -n "s/.*\\b$1=\\([^ ]*\\).*/\\1/p" <<<"$out"; }

# --- CPU: 0.5 cores in a leaf ---------------------------------------------------
if set_cpu "$CPU" 50000; then
	want=$(min "$NCPU" 2)
	probe cpu_half_ceil "$CPU" "$MEM" "$GORRAL" && expect_eq cpu_half_ceil "$(field gomaxprocs)" "$want"
	probe cpu_half_floor "$CPU" "$MEM" "$GORRAL" --rounding floor &&
		expect_eq cpu_half_floor "$(field gomaxprocs) $(field env_GOMAXPROCS)" "1 1"
	# What gorral saw, from inside the cgroup.
	cg_run_in "$CPU" "$MEM" "$GORRAL" limits --json >"$TMP/half.json" 2>/dev/null
	if command -v python3 >/dev/null; then
		got=$(python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(j["cpu"]["limit_cores"], j["cpu"]["file"])' "$TMP/half.json")
		expect_eq limits_inside_cgroup "$got" "0.5 $CPU/cpu.cfs_quota_us"
	fi

	# --- 1.5 cores ---
	set_cpu "$CPU" 150000
	probe cpu_1_5_ceil "$CPU" "$MEM" "$GORRAL" && expect_eq cpu_1_5_ceil "$(field gomaxprocs)" "$(min "$NCPU" 2)"
	probe cpu_1_5_floor "$CPU" "$MEM" "$GORRAL" --rounding floor && expect_eq cpu_1_5_floor "$(field gomaxprocs)" 1

	# --- the parent's quota is lower than the child's ---
	# v1 refuses a child quota above its parent's (EINVAL from
	# tg_cfs_schedulable_down), so the child here has none (-1): the
	# kernel still enforces the parent's 0.5 cores, which leaf-only readers
	# (Go >= 1.25, automaxprocs) miss and gorral must not.
	set_cpu "$CPU" 50000
	if cg_mkdir "$CPU/child"; then
		echo -1 >"$CPU/child/cpu.cfs_quota_us"
		probe cpu_parent_floor "$CPU/child" "$MEM" "$GORRAL" --rounding floor &&
			expect_eq cpu_parent_floor "$(field gomaxprocs)" 1
		probe cpu_parent_ceil "$CPU/child" "$MEM" "$GORRAL" &&
			expect_eq cpu_parent_ceil "$(field gomaxprocs)" "$(min "$NCPU" 2)"
		if command -v python3 >/dev/null; then
			cg_run_in "$CPU/child" "$MEM" "$GORRAL" limits --json >"$TMP/parent.json" 2>/dev/null
			got=$(python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(j["cpu"]["limit_cores"], j["cpu"]["leaf_limit_cores"], j["cpu"]["file"])' "$TMP/parent.json")
			expect_eq cpu_parent_limits "$got" "0.5 None $CPU/cpu.cfs_quota_us"
		fi
		# Go 1.19 alone (no gorral) ignores the quota and uses every CPU.
		out=$(cg_run_in "$CPU/child" "$MEM" "$PROBE")
		expect_eq cpu_without_gorral "$(field gomaxprocs)" "$NCPU"
	else
		fail cpu_parent "cannot create $CPU/child: $(cat "$TMP/mkdir.err")"
	fi
	set_cpu "$CPU" -1
else
	fail cpu_quota "cannot write $CPU/cpu.cfs_quota_us"
fi

# --- memory: 256 MiB in a leaf ------------------------------------------------
if echo $((256 * MiB)) >"$MEM/memory.limit_in_bytes"; then
	probe mem_256 "$CPU" "$MEM" "$GORRAL" &&
		expect_eq mem_256 "$(field memlimit) $(field env_GOMEMLIMIT)" "241591910 241591910"
	probe mem_256_ratio1 "$CPU" "$MEM" "$GORRAL" --mem-ratio 1 &&
		expect_eq mem_256_ratio1 "$(field memlimit)" $((256 * MiB))
	# Without gorral, Go 1.19 has no memory limit.
	out=$(cg_run_in "$CPU" "$MEM" "$PROBE")
	expect_eq mem_without_gorral "$(field memlimit)" 9223372036854775807

	# --- parent 128 MiB, child 256 MiB: the parent's limit is the budget ---
	if cg_mkdir "$MEM/child"; then
		echo $((128 * MiB)) >"$MEM/memory.limit_in_bytes"
		if echo $((256 * MiB)) >"$MEM/child/memory.limit_in_bytes"; then
			probe mem_parent "$CPU" "$MEM/child" "$GORRAL" &&
				expect_eq mem_parent "$(field memlimit)" 120795955
		else
			fail mem_parent "cannot set the child's 256 MiB limit under a 128 MiB parent"
		fi
	else
		fail mem_parent "cannot create $MEM/child: $(cat "$TMP/mkdir.err")"
	fi
	echo $((256 * MiB)) >"$MEM/memory.limit_in_bytes"
else
	fail mem_limit "cannot write $MEM/memory.limit_in_bytes"
fi

# --- an inherited GOMAXPROCS wins over the quota -------------------------------
set_cpu "$CPU" 50000
out=$(GOMAXPROCS=3 cg_run_in "$CPU" "$MEM" "$GORRAL" exec --rounding floor -- "$PROBE" 2>/dev/null)
expect_eq inherited_wins "$(field gomaxprocs)" 3

# --- the static build, once ---------------------------------------------------
if [ -n "${GORRAL_STATIC:-}" ] && [ -x "$GORRAL_STATIC" ]; then
	probe static "$CPU" "$MEM" "$GORRAL_STATIC" --rounding floor &&
		expect_eq static "$(field gomaxprocs) $(field memlimit)" "1 241591910"
else
	skip_static static "GORRAL_STATIC not built"
fi
set_cpu "$CPU" -1
