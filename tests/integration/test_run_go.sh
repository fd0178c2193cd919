#!/usr/bin/env bash
# A real Go 1.19 program (goprobe, built by $GO119 of
# tests/goapps/toolchains.sh; Go 1.26 children: test_go126.sh) under
# `gorral run`, with gorral placed in cgroup v1 cpu and memory sub-cgroups (quota 50000/100000, 256 MiB): the
# child's runtime reports the GOMAXPROCS/GOMEMLIMIT of the limits policy
# (what `gorral env` computes in the same cgroups), for both builds, also
# as PID 1 of a PID namespace; --no-limits leaves them alone. Without cgroup
# write access, a --sysroot fixture stands in for the cgroups.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/run_helpers.sh"

unset GOMAXPROCS GOMEMLIMIT GORRAL_SYSROOT
PROBE=$GOAPPS/goprobe

if [ ! -x "$PROBE" ]; then
	fail run_go "$PROBE not built (make goapps)"
	exit 0
fi
field() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }

cpu_mnt=$(v1_mount cpu) mem_mnt=$(v1_mount memory)
CPU="" MEM=""
if is_root && [ -n "$cpu_mnt" ] && [ -n "$mem_mnt" ]; then
	tag=gorral-run-it-$$
	c=$cpu_mnt$(own_v1_cgroup cpu); c=${c%/}/$tag
	m=$mem_mnt$(own_v1_cgroup memory); m=${m%/}/$tag
	cg_mkdir "$c" && CPU=$c
	cg_mkdir "$m" && MEM=$m
fi

if [ -n "$CPU" ] && [ -n "$MEM" ] && echo 100000 >"$CPU/cpu.cfs_period_us" && echo 50000 >"$CPU/cpu.cfs_quota_us" &&
	echo $((256 * 1024 * 1024)) >"$MEM/memory.limit_in_bytes"; then
	# in_cg CMD...: run CMD with this shell moved into both test cgroups.
	in_cg() { cg_run_in "$CPU" "$MEM" "$@"; }
	where="cgroup v1 quota 50000/100000, 256 MiB"
	want_mem=$(( 256 * 1024 * 1024 * 9 / 10 ))
else
	# No cgroup write access: the fixture sysroot of the limits tests.
	fx=$(cd "$(dirname "$0")/../fixtures" && pwd)
	root=$(ls -d "$fx"/cgroup/v1* 2>/dev/null | head -1)
	if [ -z "$root" ]; then
		skip run_go "no writable cgroup v1 cpu+memory hierarchy and no v1 fixture sysroot"
		exit 0
	fi
	in_cg() { GORRAL_SYSROOT=$root "$@"; }
	where="fixture $root"
	want_mem=""
fi

for v in $(gorral_variants); do
	kind=${v%%:*} G=${v#*:}
	# What the policy says in these cgroups (floor/min 1 so the quota of
	# 0.5 CPU gives 1, which differs from Go's default of the CPU count).
	envs=$(in_cg "$G" env --format dotenv --rounding floor 2>/dev/null)
	want_procs=$(echo "$envs" | sed -n 's/^GOMAXPROCS=//p')
	want_lim=$(echo "$envs" | sed -n 's/^GOMEMLIMIT=//p')
	out=$(in_cg "$G" run --rounding floor -- "$PROBE" 2>"$TMP/go-$kind.log")
	rc=$?
	expect_eq "$kind: goprobe (go1.19) under gorral run exits 0" "$rc" 0
	if [ -n "$want_procs" ]; then
		expect_eq "$kind: GOMAXPROCS from the policy ($where)" "$(field "$out" gomaxprocs)" "$want_procs"
	else
		fail "$kind: GOMAXPROCS from the policy ($where)" "gorral env set no GOMAXPROCS: $envs"
	fi
	if [ -n "$want_lim" ]; then
		expect_eq "$kind: GOMEMLIMIT from the policy ($where)" "$(field "$out" memlimit)" "$want_lim"
	else
		fail "$kind: GOMEMLIMIT from the policy ($where)" "gorral env set no GOMEMLIMIT: $envs"
	fi
	[ -n "$want_mem" ] && expect_eq "$kind: GOMEMLIMIT is 90% of 256 MiB" "$want_lim" "$want_mem"
	check "$kind: limits decision logged" grep -q 'event=limits' "$TMP/go-$kind.log"

	out=$(in_cg "$G" run --no-limits -- "$PROBE" 2>/dev/null)
	expect_eq "$kind: --no-limits leaves Go's defaults" \
		"$(field "$out" gomaxprocs) $(field "$out" memlimit)" "$(nproc) 9223372036854775807"

	if is_root && unshare --pid --fork --mount-proc true 2>/dev/null; then
		out=$(in_cg unshare --pid --fork --mount-proc "$G" run --rounding floor -- "$PROBE" 2>/dev/null)
		expect_eq "$kind: as PID 1 too" "$(field "$out" gomaxprocs) $(field "$out" memlimit)" "$want_procs $want_lim"
	fi
done

# --strict: a malformed limit file refuses the start (exit 2, the command
# never runs); without it gorral warns, names the file and starts anyway.
# A file that goes bad between restarts makes the restart a failed start.
fx=$(cd "$(dirname "$0")/../fixtures/cgroup" && pwd)
for v in $(gorral_variants); do
	kind=${v%%:*} G=${v#*:}
	rm -f "$TMP/ran"
	"$G" run --strict --sysroot "$fx/bad_cpu_max_garbage" -- touch "$TMP/ran" 2>"$TMP/strict.log"
	rc=$?
	if [ $rc -eq 2 ] && [ ! -e "$TMP/ran" ] && grep -q 'cpu.max.*garbage' "$TMP/strict.log"; then
		pass "$kind: run --strict refuses a malformed cpu.max (exit 2, file named)"
	else fail "$kind: run --strict refuses a malformed cpu.max" "rc=$rc ran=$([ -e "$TMP/ran" ] && echo yes)"; fi
	"$G" run --sysroot "$fx/bad_cpu_max_garbage" -- touch "$TMP/ran" 2>"$TMP/open.log"
	rc=$?
	if [ $rc -eq 0 ] && [ -e "$TMP/ran" ] && grep -q 'event=limits-error.*cpu.max' "$TMP/open.log"; then
		pass "$kind: run without --strict warns and starts (fail-open)"
	else fail "$kind: run without --strict warns and starts" "rc=$rc"; fi

	rm -rf "$TMP/root" && cp -r "$fx/v2" "$TMP/root"
	bad=$TMP/root/sys/fs/cgroup/app.slice/svc.service/cpu.max
	"$G" run --strict --sysroot "$TMP/root" --restart always --restart-budget 2 --backoff-initial 10ms \
		-- sh -c "echo garbage > $bad; exit 1" 2>"$TMP/strict-restart.log"
	rc=$?
	n=$(grep -c 'event=spawn' "$TMP/strict-restart.log")
	if [ "$n" -eq 1 ] && grep -q -- '--strict: 1 malformed' "$TMP/strict-restart.log" &&
		grep -q 'event=give_up' "$TMP/strict-restart.log"; then
		pass "$kind: run --strict: a file gone bad makes each restart a failed start, then gives up (exit $rc)"
	else fail "$kind: run --strict across restarts" "spawns=$n rc=$rc"; fi
done
