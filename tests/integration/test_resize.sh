#!/usr/bin/env bash
# In-place resize (Kubernetes' kubectl patch --subresource resize): the
# cgroup limits change under running services, on this machine's real v1
# hierarchies, with the Go 1.19 service (goservice: its banner prints the
# GOMAXPROCS and the memory limit its runtime uses).
#  (a) per-service cgroups, each service's own cgroup resized: the
#      limit_change finding fires for a memory change (in the log, in
#      `gorral status --json`, in /metrics); with on_limit_change: restart
#      the service is restarted and its runtime then has the new
#      GOMEMLIMIT and the new GOMAXPROCS (from the raised CPU quota), and
#      the restart keeps the resized cgroup (gorral does not write the
#      config's limits back); with the default (log) the finding stays
#      active and the service keeps running, unrestarted. A CPU quota
#      change alone is no finding (the detector watches memory), and the
#      service that was not touched has none. A service whose own cgroup
#      has no memory limit is under gorral's: resizing gorral's cgroup is
#      its limit change (v1: memory.stat's hierarchical_memory_limit).
#  (b) the Kubernetes case: the container's cgroupfs is read-only (a mount
#      namespace with every cgroup mount remounted read-only), so gorral
#      runs its services in its own cgroup, which the kubelet resizes: the
#      same finding and restart with the new values.
# Both builds for (a), the dynamic build for (b).
source "$(dirname "$0")/lib.sh"

unset GOMAXPROCS GOMEMLIMIT GODEBUG GORRAL_SYSROOT
SVC=$GOAPPS/goservice
MiB=$((1024 * 1024))

if ! is_root; then
	skip resize "not root: cannot create cgroups"
	exit 0
fi
[ -x "$SVC" ] || { fail resize "$SVC not built (make goapps)"; exit 0; }
command -v jq >/dev/null || { fail resize "jq is not installed (make deps)"; exit 0; }
cpu_mnt=$(v1_mount cpu)
mem_mnt=$(v1_mount memory)
if [ -z "$cpu_mnt" ] || [ -z "$mem_mnt" ]; then
	skip resize "no cgroup v1 cpu and memory hierarchies here (this test drives v1)"
	exit 0
fi
cpu_base=$cpu_mnt$(own_v1_cgroup cpu)
mem_base=$mem_mnt$(own_v1_cgroup memory)
cpu_base=${cpu_base%/} mem_base=${mem_base%/}

# in_cg CPUDIR MEMDIR CMD...: run CMD in both cgroups as this very process
# (so that `(in_cg ...) &` gives CMD's pid in $!).
in_cg() {
	exec bash -c 'echo $$ >"$1/cgroup.procs" && echo $$ >"$2/cgroup.procs" || exit 99; shift 2; exec "$@"' _ "$@"
}
GP=
resize_cleanup() {
	[ -n "$GP" ] && kill -TERM "$GP" 2>/dev/null && wait "$GP" 2>/dev/null
	cleanup
}
trap resize_cleanup EXIT

# banner FILE SERVICE KEY: the values of KEY= in SERVICE's prefixed banner
# lines, one per start, space-separated.
banner() { sed -n "s/^$2 *| $3=//p" "$1" | paste -sd' ' -; }
# starts FILE SERVICE: how many banners SERVICE printed.
starts() { grep -c "^$2 *| listening=" "$1"; }
# status_of NAME: its entry of `gorral status --json`, compact.
status_of() { "$G" status --json 2>/dev/null | jq -c --arg n "$1" '.services[] | select(.name == $n)'; }
jqe() { jq -e "$@" >/dev/null; }
metric() { curl -sf "http://$MLISTEN/metrics" | sed -n "s/^$1 //p"; }

builds=("dynamic:$GORRAL")
[ -n "${GORRAL_STATIC:-}" ] && [ -x "$GORRAL_STATIC" ] && builds+=("static:$GORRAL_STATIC")

for b in "${builds[@]}"; do
	kind=${b%%:*} G=${b#*:}
	tag=gorral-it-resize-$kind-$$
	if ! cg_mkdir "$cpu_base/$tag" || ! cg_mkdir "$mem_base/$tag"; then
		skip "$kind: resize" "cannot create a cgroup: $(cat "$TMP/mkdir.err")"
		continue
	fi
	CPU=$cpu_base/$tag MEM=$mem_base/$tag
	echo $((256 * MiB)) >"$MEM/memory.limit_in_bytes"
	d=$TMP/$kind
	mkdir -p "$d"
	MLISTEN=127.0.0.1:$(free_port)
	export GORRAL_SOCKET=$d/gorral.sock
	# cpus: 8 stands in for a node's CPUs (this machine has fewer), floor
	# rounding so that 1 and 3 CPUs give GOMAXPROCS 1 and 3. Samples every
	# 200 ms; gorral re-reads a cgroup's limit files every few samples.
	cat >"$d/resize.yaml" <<-EOF
	output: {prefix: true}
	metrics: {listen: "$MLISTEN"}
	defaults:
	  sample_interval: 200ms
	  cpus: 8
	  go: {rounding: floor}
	services:
	  follow:
	    command: [$SVC, -listen, "127.0.0.1:0", -graceful]
	    resources: {cpu: 1, memory: 128MiB}
	    on_limit_change: restart
	  report:
	    command: [$SVC, -listen, "127.0.0.1:0", -graceful]
	    resources: {cpu: 1, memory: 128MiB}
	  cpuonly:
	    command: [$SVC, -listen, "127.0.0.1:0", -graceful]
	    resources: {cpu: 1, memory: 128MiB}
	  still:
	    command: [$SVC, -listen, "127.0.0.1:0", -graceful]
	    resources: {cpu: 1, memory: 128MiB}
	  inherit:
	    # Its own cgroup, no memory limit of its own: gorral's applies.
	    command: [$SVC, -listen, "127.0.0.1:0", -graceful]
	    resources: {cpu: 1}
	    on_limit_change: restart
	EOF
	(in_cg "$CPU" "$MEM" "$G" run -c "$d/resize.yaml" >"$d/out" 2>"$d/err") &
	GP=$!
	wait_for 100 bash -c "[ \$(grep -c '| listening=' '$d/out') -ge 5 ]"
	expect_eq "$kind: (a) before: the runtime's GOMAXPROCS of 1 CPU, floor" "$(banner "$d/out" follow gomaxprocs)" 1
	expect_eq "$kind: (a) before: the runtime's memory limit is 0.9 x 128 MiB" "$(banner "$d/out" follow memory_limit)" 120795955
	# The services' cgroups: gorral/ below gorral's own (gorral-PID/ when
	# another gorral holds that name).
	SC=$(ls -d "$CPU"/gorral*/follow 2>/dev/null | head -1)
	SC=${SC%/follow} SM=$(ls -d "$MEM"/gorral*/follow 2>/dev/null | head -1)
	SM=${SM%/follow}
	if [ -z "$SC" ] || [ -z "$SM" ]; then
		fail "$kind: (a) the services have their own cgroups" "none below $CPU and $MEM: $(grep -E 'event=cgroups?' "$d/err")"
		kill -TERM $GP; wait $GP; GP=
		continue
	fi
	# Wait for a sample that has the limit, so the change is a change:
	# still's own, and inherit's (gorral's cgroup's 256 MiB), the slowest
	# to start.
	wait_for 100 bash -c "[ -n \"\$(curl -sf http://$MLISTEN/metrics | grep '^gorral_service_memory_limit_bytes{service=\"still\"} $((128 * MiB))')\" ]"
	wait_for 100 bash -c "[ -n \"\$(curl -sf http://$MLISTEN/metrics | grep '^gorral_service_memory_limit_bytes{service=\"inherit\"} $((256 * MiB))')\" ]"

	# The resize: follow and report get 192 MiB and 3 CPUs, cpuonly 3 CPUs.
	echo $((192 * MiB)) >"$SM/follow/memory.limit_in_bytes"
	echo 300000 >"$SC/follow/cpu.cfs_quota_us"
	echo $((96 * MiB)) >"$SM/report/memory.limit_in_bytes"
	echo 300000 >"$SC/cpuonly/cpu.cfs_quota_us"
	# ... and gorral's own cgroup (the container's) 256 -> 224 MiB: only
	# inherit, whose own cgroup has no memory limit, is under it.
	echo $((224 * MiB)) >"$MEM/memory.limit_in_bytes"
	t0=$(date +%s.%N)
	wait_grep "$d/err" 'event=finding service=report detector=limit_change' 200
	wait_for 150 bash -c "[ \$(grep -c '^follow *| listening=' '$d/out') -ge 2 ] && [ \$(grep -c '^inherit *| listening=' '$d/out') -ge 2 ]"
	t1=$(date +%s.%N)
	check "$kind: (a) follow (192 MiB): event=finding detector=limit_change, summary 128.0 MiB to 192.0 MiB" \
		grep -q 'event=finding service=follow detector=limit_change .*from 128.0 MiB to 192.0 MiB' "$d/err"
	check "$kind: (a) follow: on_limit_change: restart restarted it for the finding (event=finding_restart)" \
		grep -q 'event=finding_restart service=follow detector=limit_change' "$d/err"
	expect_eq "$kind: (a) follow after the restart: the runtime's GOMAXPROCS (3-CPU quota, floor)" \
		"$(banner "$d/out" follow gomaxprocs)" "1 3"
	expect_eq "$kind: (a) follow after the restart: the runtime's memory limit (0.9 x 192 MiB)" \
		"$(banner "$d/out" follow memory_limit)" "120795955 181193932"
	expect_eq "$kind: (a) follow: the restart kept the resized cgroup" \
		"$(cat "$SM/follow/memory.limit_in_bytes") $(cat "$SC/follow/cpu.cfs_quota_us")" "$((192 * MiB)) 300000"
	echo "info: $kind: resize to follow's restart with the new limits: $(echo "$t1 - $t0" | bc) s (samples every 200 ms)"
	check "$kind: (a) follow's finding resolved with the restart (event=finding_resolved)" \
		grep -q 'event=finding_resolved service=follow detector=limit_change' "$d/err"

	check "$kind: (a) inherit (no limit of its own; gorral's cgroup 256 -> 224 MiB): the limit_change finding" \
		grep -q 'event=finding service=inherit detector=limit_change .*from 256.0 MiB to 224.0 MiB' "$d/err"
	expect_eq "$kind: (a) inherit after its restart: the runtime's memory limit (0.9 x 224 MiB, the parent's)" \
		"$(banner "$d/out" inherit memory_limit)" "241591910 211392921"
	s=$(status_of report)
	check "$kind: (a) report (96 MiB, on_limit_change: log): gorral status --json lists the finding" \
		jqe '.findings | any(.detector == "limit_change" and .value == 100663296 and (.summary | test("128.0 MiB to 96.0 MiB")))' <<<"$s"
	expect_eq "$kind: (a) report: not restarted" "$(jq -r .restarts <<<"$s") $(starts "$d/out" report)" "0 1"
	expect_eq "$kind: (a) /metrics gorral_finding_active{service=report,detector=limit_change}" \
		"$(metric 'gorral_finding_active{service="report",detector="limit_change"}')" 1
	# follow's memory and CPU changed together: one finding each, unless a
	# limit read fell between the two writes (then the restart took both).
	n=$(metric 'gorral_findings_total{service="follow",detector="limit_change"}')
	check "$kind: (a) /metrics gorral_findings_total{service=follow,detector=limit_change} 1 or 2 ($n)" \
		bash -c "[ '$n' = 1 ] || [ '$n' = 2 ]"
	expect_eq "$kind: (a) /metrics gorral_finding_restarts_total{service=follow}" \
		"$(metric 'gorral_finding_restarts_total{service="follow"}')" 1
	expect_eq "$kind: (a) /metrics gorral_service_memory_limit_bytes{service=report}" \
		"$(metric 'gorral_service_memory_limit_bytes{service="report"}')" $((96 * MiB))
	check "$kind: (a) cpuonly (1 -> 3 CPUs): a limit_change finding names the CPU quota" \
		grep -q 'event=finding service=cpuonly detector=limit_change metric=cpu_quota_cores .*from 1 core to 3 cores' "$d/err"
	expect_eq "$kind: (a) cpuonly: on_limit_change: log, not restarted; still (untouched): no finding" \
		"$(grep -c 'event=finding service=still ' "$d/err") $(starts "$d/out" cpuonly) $(starts "$d/out" still)" "0 1 1"
	expect_eq "$kind: (a) /metrics gorral_service_cpu_quota_cores{service=cpuonly}" \
		"$(metric 'gorral_service_cpu_quota_cores{service="cpuonly"}')" 3
	kill -TERM $GP
	wait $GP
	expect_eq "$kind: (a) SIGTERM: gorral exits 0" "$?" 0
	GP=
done

# (b) gorral in a read-only cgroupfs (a container's), services in its cgroup.
G=$GORRAL
tag=gorral-it-resize-k8s-$$
if ! command -v unshare >/dev/null; then
	skip "(b) resize" "unshare (util-linux) is not installed"
elif ! cg_mkdir "$cpu_base/$tag" || ! cg_mkdir "$mem_base/$tag"; then
	skip "(b) resize" "cannot create a cgroup: $(cat "$TMP/mkdir.err")"
else
	CPU=$cpu_base/$tag MEM=$mem_base/$tag
	echo 100000 >"$CPU/cpu.cfs_period_us"
	echo 100000 >"$CPU/cpu.cfs_quota_us"
	echo $((256 * MiB)) >"$MEM/memory.limit_in_bytes"
	d=$TMP/k8s
	mkdir -p "$d"
	MLISTEN=127.0.0.1:$(free_port)
	export GORRAL_SOCKET=$d/gorral.sock
	cat >"$d/resize.yaml" <<-EOF
	metrics: {listen: "$MLISTEN"}
	services:
	  api:
	    command: [$SVC, -listen, "127.0.0.1:0", -graceful]
	    sample_interval: 200ms
	    cpus: 8
	    go: {rounding: floor}
	    on_limit_change: restart
	EOF
	# Remount every cgroup mount read-only in a private mount namespace,
	# then start gorral there (in the test's cgroup, which the test, outside
	# that namespace, still writes: the kubelet's part).
	(in_cg "$CPU" "$MEM" unshare -m --propagation private sh -c '
		awk '"'"'$0 ~ / - cgroup2? / { print $5 }'"'"' /proc/self/mountinfo | while read -r m; do
			mount -o remount,bind,ro "$m" || exit 97
		done
		exec "$@"' _ "$G" run -c "$d/resize.yaml" >"$d/out" 2>"$d/err") &
	GP=$!
	wait_grep "$d/out" '^listening=' 100
	check "(b) gorral says why there are no per-service cgroups (read-only cgroupfs)" \
		grep -q 'per-service cgroups disabled' "$d/err"
	expect_eq "(b) before: GOMAXPROCS and memory limit of 1 CPU and 256 MiB" \
		"$(sed -n 's/^gomaxprocs=//p' "$d/out") $(sed -n 's/^memory_limit=//p' "$d/out")" "1 241591910"
	wait_for 100 bash -c "[ -n \"\$(curl -sf http://$MLISTEN/metrics | grep '^gorral_service_memory_limit_bytes{service=\"api\"} $((256 * MiB))')\" ]"
	# The kubelet's resize of the container: 2 CPUs, 512 MiB.
	echo 200000 >"$CPU/cpu.cfs_quota_us"
	echo $((512 * MiB)) >"$MEM/memory.limit_in_bytes"
	wait_for 200 bash -c "[ \$(grep -c '^listening=' '$d/out') -ge 2 ]"
	check "(b) the container's resize: event=finding detector=limit_change (256.0 MiB to 512.0 MiB)" \
		grep -q 'event=finding service=api detector=limit_change .*from 256.0 MiB to 512.0 MiB' "$d/err"
	expect_eq "(b) restarted: GOMAXPROCS then" "$(sed -n 's/^gomaxprocs=//p' "$d/out" | paste -sd' ' -)" "1 2"
	expect_eq "(b) restarted: memory limit then (0.9 x 512 MiB)" \
		"$(sed -n 's/^memory_limit=//p' "$d/out" | paste -sd' ' -)" "241591910 483183820"
	kill -TERM $GP
	wait $GP
	expect_eq "(b) SIGTERM: gorral exits 0" "$?" 0
	GP=
fi
