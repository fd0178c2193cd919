#!/usr/bin/env bash
# gorral run -c FILE with a cgroup per service, on this machine's real v1
# hierarchies (and the cgroup2 mount for tracking): each service is in its
# own cgroup with the resources it asked for; the Go 1.19 goprobe (built by
# $GO119 of tests/goapps/toolchains.sh) reports the GOMAXPROCS/GOMEMLIMIT
# that follow from its cgroup and every ancestor (a service asking for more
# than gorral's own cgroup has gets gorral's); a process that double-forks
# into a new session is still stopped; no cgroup is left after gorral exits,
# nor after it was SIGKILLed and started again. Both builds.
source "$(dirname "$0")/lib.sh"

unset GOMAXPROCS GOMEMLIMIT GORRAL_SYSROOT
PROBE=$GOAPPS/goprobe
MiB=$((1024 * 1024))

if ! is_root; then
	skip services_cgroup "not root: cannot create cgroups"
	exit 0
fi
[ -x "$PROBE" ] || { fail services_cgroup "$PROBE not built (make goapps)"; exit 0; }
cpu_mnt=$(v1_mount cpu)
mem_mnt=$(v1_mount memory)
if [ -z "$cpu_mnt" ] || [ -z "$mem_mnt" ]; then
	skip services_cgroup "no cgroup v1 cpu and memory hierarchies here (this test drives v1)"
	exit 0
fi
cpu_base=$cpu_mnt$(own_v1_cgroup cpu)
mem_base=$mem_mnt$(own_v1_cgroup memory)
cpu_base=${cpu_base%/} mem_base=${mem_base%/}

# gone PID: the process has ended (gone, or a zombie its parent has not
# reaped yet: an orphan of a SIGKILLed gorral goes to an ancestor).
gone() {
	local i
	for ((i = 0; i < 20; i++)); do
		[ -r "/proc/$1/stat" ] || return 0
		[ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = Z ] && return 0
		sleep 0.05
	done
	return 1
}

# in_cg CPUDIR MEMDIR CMD...: run CMD in both cgroups, as this very
# process (so that $! is CMD's pid when started with &).
in_cg() {
	exec bash -c 'echo $$ >"$1/cgroup.procs" && echo $$ >"$2/cgroup.procs" || exit 99; shift 2; exec "$@"' _ "$@"
}

builds=("dynamic:$GORRAL")
[ -n "${GORRAL_STATIC:-}" ] && [ -x "$GORRAL_STATIC" ] && builds+=("static:$GORRAL_STATIC")

for b in "${builds[@]}"; do
	kind=${b%%:*} G=${b#*:}
	tag=gorral-it-svc-$kind-$$
	if ! cg_mkdir "$cpu_base/$tag" || ! cg_mkdir "$mem_base/$tag"; then
		skip "$kind: services_cgroup" "cannot create a cgroup: $(cat "$TMP/mkdir.err")"
		continue
	fi
	CPU=$cpu_base/$tag MEM=$mem_base/$tag
	# gorral's own cgroup: 256 MiB, no CPU limit.
	echo $((256 * MiB)) >"$MEM/memory.limit_in_bytes"
	d=$TMP/$kind
	mkdir -p "$d"

	cat >"$d/svc.yaml" <<-EOF
	services:
	  small:
	    command: [$PROBE]
	    resources: {cpu: 0.5, memory: 128MiB}
	    go: {rounding: floor}
	  big:
	    command: [$PROBE]
	    resources: {memory: 1GiB}
	  holder:
	    command: [sleep, "3901"]
	    resources: {cpu: 0.5, memory: 128MiB}
	  daemon:
	    command: [sh, -c, 'setsid sleep 3902 </dev/null >/dev/null 2>&1 & exec sleep 3903']
	EOF
	(in_cg "$CPU" "$MEM" "$G" run -c "$d/svc.yaml" >"$d/out" 2>"$d/err") &
	gp=$!
	wait_grep "$d/err" 'event=spawn service=daemon' 100
	# Both probes have printed and exited (bounded wait).
	for _ in $(seq 100); do
		[ "$(grep -c '^gomaxprocs=' "$d/out")" -ge 2 ] && [ "$(grep -c 'event=exit service=\(small\|big\) ' "$d/err")" -ge 2 ] && break
		sleep 0.1
	done
	check "$kind: 0.5 CPU / 128 MiB service: Go 1.19 gets GOMAXPROCS=1 (floor) and GOMEMLIMIT=120795955" \
		bash -c "grep -q '^gomaxprocs=1 memlimit=120795955 ' '$d/out'"
	check "$kind: a service asking for 1 GiB under gorral's 256 MiB gets gorral's: GOMEMLIMIT=241591910" \
		bash -c "grep -q '^gomaxprocs=2 memlimit=241591910 ' '$d/out'"
	expect_eq "$kind: holder's own cgroup: cpu.cfs_quota_us" "$(cat "$CPU/gorral/holder/cpu.cfs_quota_us" 2>&1)" "50000"
	expect_eq "$kind: holder's own cgroup: memory.limit_in_bytes" \
		"$(cat "$MEM/gorral/holder/memory.limit_in_bytes" 2>&1)" "$((128 * MiB))"
	hpid=$(sed -n 's/.*event=spawn service=holder pid=\([0-9]*\).*/\1/p' "$d/err")
	check "$kind: holder runs in its cpu and memory cgroups" \
		bash -c "grep -qE ':cpu(,cpuacct)?:.*/$tag/gorral/holder\$' /proc/$hpid/cgroup && grep -q ':memory:.*/$tag/gorral/holder\$' /proc/$hpid/cgroup"
	check "$kind: holder is tracked in the cgroup2 mount" bash -c "grep -q '^0::.*/gorral/holder\$' /proc/$hpid/cgroup"
	gc=$(pgrep -f '^sleep 3902$' | head -1)
	check "$kind: the double-forked process left the group and the session" \
		bash -c "[ -n '$gc' ] && [ \"\$(ps -o sid= -p $gc | tr -d ' ')\" = '$gc' ]"
	for _ in $(seq 50); do [ ! -d "$CPU/gorral/small" ] && [ ! -d "$MEM/gorral/big" ] && break; sleep 0.1; done
	check "$kind: small and big finished, and their cgroups are gone" \
		bash -c "[ ! -d '$CPU/gorral/small' ] && [ ! -d '$MEM/gorral/big' ]"
	kill -TERM $gp
	wait $gp
	rc=$?
	expect_eq "$kind: SIGTERM: status 0" "$rc" "0"
	[ "$rc" = 0 ] || cp "$d/err" "/tmp/services_cgroup-$kind.err"
	check "$kind: the double-forked process was stopped with its service" eval "[ -n '$gc' ] && gone '$gc'"
	left=$(find "$CPU" "$MEM" -mindepth 1 -type d 2>/dev/null; find /sys/fs/cgroup/unified/gorral -mindepth 1 -type d 2>/dev/null)
	expect_eq "$kind: no cgroup left after gorral exits" "$left" ""

	# SIGKILLed with services running: the next start cleans up.
	(in_cg "$CPU" "$MEM" "$G" run -c "$d/svc.yaml" >"$d/out2" 2>"$d/err2") &
	gp=$!
	wait_grep "$d/err2" 'event=spawn service=daemon' 100
	sleep 0.3
	kill -KILL $gp
	wait $gp 2>/dev/null
	gc=$(pgrep -f '^sleep 3902$' | head -1)
	check "$kind: after SIGKILL, its services' cgroups are still there" bash -c "[ -d '$CPU/gorral/holder' ]"
	printf 'services:\n  quick:\n    command: [true]\n' >"$d/quick.yaml"
	cg_run_in "$CPU" "$MEM" "$G" run -c "$d/quick.yaml" >/dev/null 2>"$d/err3"
	expect_eq "$kind: the next gorral runs" "$?" "0"
	left=$(find "$CPU" "$MEM" -mindepth 1 -type d 2>/dev/null; find /sys/fs/cgroup/unified/gorral -mindepth 1 -type d 2>/dev/null)
	expect_eq "$kind: ... and removed what the killed one left" "$left" ""
	check "$kind: ... and stopped its leftover processes" eval "[ -n '$gc' ] && gone '$gc'"
	pkill -KILL -f "^sleep 390[123]$" 2>/dev/null || true
done
