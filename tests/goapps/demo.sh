#!/usr/bin/env bash
# `make demo`: what gorral does for a Go service, in one minute.
#   1. creates a demo cgroup (v1 cpu + memory, or v2) with 0.5 CPU and
#      256 MiB, where this machine lets us (root, writable cgroupfs);
#   2. shows what `gorral limits` finds there and what it would set, why;
#   3. the two generations of the same service side by side, Go 1.19
#      (goservice) and Go 1.26 (goservice126), each without gorral and
#      under `gorral exec`: what each runtime reports (its banner) and what
#      gorral decided for it (a Go >= 1.25 runtime sizes GOMAXPROCS from
#      the cgroup itself, so gorral leaves it alone unless its own value
#      is lower);
#   4. runs the Go 1.19 service under `gorral exec` in that cgroup, shows
#      its banner, asks it over HTTP (bash /dev/tcp, no curl), burns some
#      CPU to show the quota at work, and stops it;
#   5. supervises it with `gorral run`: a restart after a failure, then a
#      clean stop on SIGTERM;
#   7. config/gorral.yaml's three services (migrate, cache, api) under
#      'gorral run -c', each in its own cgroup: start order, readiness,
#      what each runtime was given;
#   8. a live goroutine leak in api (Go 1.26, its /leak/orphans driven
#      from here): found by its trend, proven by the goroutineleak profile
#      where the runtime has it, dumped (grouped), restarted; the finding in
#      /metrics and the restart in gorral status;
#   9. cache (Go 1.19) with GOMAXPROCS=8 forced in a 1-CPU cgroup: the
#      throttling finding names GOMAXPROCS above the quota as its cause
#      (in gorral status --json and /metrics); the forced value is dropped
#      from the file, gorral reload restarts cache with gorral's GOMAXPROCS
#      and the finding resolves; then the leak detector over a recorded
#      series;
#  10. removes the cgroup.
# About a minute in all (the time is printed at the end).
# Each step is one section_* function; the last lines run them in order.
# Usage: demo.sh BUILD_DIR (containing gorral, goapps/goservice and
# goapps/goservice126)
set -uo pipefail

[ $# -eq 1 ] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
BUILD=$(cd "$1" && pwd)
GORRAL=$BUILD/gorral
SERVICE=$BUILD/goapps/goservice
SERVICE126=$BUILD/goapps/goservice126
HERE=$(cd "$(dirname "$0")" && pwd)
for f in "$GORRAL" "$SERVICE" "$SERVICE126"; do
	[ -x "$f" ] || { echo "demo: $f is missing: run 'make all goapps' first" >&2; exit 1; }
done
unset GOMAXPROCS GOMEMLIMIT GORRAL_SYSROOT

TMP=$(mktemp -d /tmp/gorral-demo.XXXXXX)
CREATED=()   # cgroup directories to remove, parents first
SVC_PID=

if [ -t 1 ]; then B=$'\e[1m' D=$'\e[2m' R=$'\e[0m'; else B= D= R=; fi
step() { printf '\n%s== %s ==%s\n' "$B" "$*" "$R"; }
say() { printf '%s\n' "$*"; }
run() { # show the command as a user would type it, then run it
	local s="$*"
	s=${s#cg }
	printf '%s$ %s%s\n' "$D" "${s//$GORRAL/gorral}" "$R"
	"$@"
}

cleanup() {
	local i
	if [ -n "$SVC_PID" ] && kill -0 "$SVC_PID" 2>/dev/null; then
		kill -TERM "$SVC_PID" 2>/dev/null
		wait "$SVC_PID" 2>/dev/null
	fi
	for ((i = ${#CREATED[@]} - 1; i >= 0; i--)); do
		[ -d "${CREATED[i]}" ] && ! rmdir "${CREATED[i]}" 2>/dev/null &&
			say "note: could not remove ${CREATED[i]} (remove it by hand)"
	done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# ---------------------------------------------------------------------------
# The demo cgroup. Mount points come from /proc/self/mountinfo; the cgroup
# is created below the one this script already runs in.
mount_of() { # v1 controller -> mount point
	awk -v c="$1" '$0 ~ / - cgroup / { n = split($NF, o, ","); for (i = 1; i <= n; i++) if (o[i] == c) { print $5; exit } }' /proc/self/mountinfo
}
own_v1() { # v1 controller -> this process's cgroup path
	awk -F: -v c="$1" '{ n = split($2, a, ","); for (i = 1; i <= n; i++) if (a[i] == c) { print $3; exit } }' /proc/self/cgroup
}
CG_KIND=none CG_DIRS=() WHY_NOT=
make_cgroup() {
	local tag=gorral-demo-$$ cpu mem v2mnt own
	if [ "$(id -u)" -ne 0 ]; then
		WHY_NOT="not running as root"
		return 1
	fi
	cpu=$(mount_of cpu)
	mem=$(mount_of memory)
	if [ -n "$cpu" ] && [ -n "$mem" ]; then
		cpu=$cpu$(own_v1 cpu) mem=$mem$(own_v1 memory)
		cpu=${cpu%/}/$tag mem=${mem%/}/$tag
		mkdir "$cpu" 2>/dev/null && CREATED+=("$cpu") || { WHY_NOT="cannot create $cpu"; return 1; }
		mkdir "$mem" 2>/dev/null && CREATED+=("$mem") || { WHY_NOT="cannot create $mem"; return 1; }
		echo 100000 >"$cpu/cpu.cfs_period_us" && echo 50000 >"$cpu/cpu.cfs_quota_us" &&
			echo $((256 * 1024 * 1024)) >"$mem/memory.limit_in_bytes" ||
			{ WHY_NOT="cannot write the limits"; return 1; }
		CG_KIND="cgroup v1" CG_DIRS=("$cpu" "$mem")
		return 0
	fi
	v2mnt=$(awk '$0 ~ / - cgroup2 / { print $5; exit }' /proc/self/mountinfo)
	own=$(awk -F: '$1 == "0" { print $3; exit }' /proc/self/cgroup)
	if [ -n "$v2mnt" ] && grep -qw cpu "$v2mnt$own/cgroup.controllers" 2>/dev/null &&
		grep -qw memory "$v2mnt$own/cgroup.controllers" 2>/dev/null; then
		local d=${v2mnt%/}${own%/}/$tag
		# v2 hands controllers down only through subtree_control.
		echo "+cpu +memory" >"${v2mnt%/}${own%/}/cgroup.subtree_control" 2>/dev/null
		mkdir "$d" 2>/dev/null && CREATED+=("$d") || { WHY_NOT="cannot create $d"; return 1; }
		echo "50000 100000" >"$d/cpu.max" 2>/dev/null && echo $((256 * 1024 * 1024)) >"$d/memory.max" 2>/dev/null ||
			{ WHY_NOT="cannot enable the cpu and memory controllers for $d"; return 1; }
		CG_KIND="cgroup v2" CG_DIRS=("$d")
		return 0
	fi
	WHY_NOT="no writable cgroup with the cpu and memory controllers found"
	return 1
}

# in_cgroup CMD...: run CMD in the demo cgroup: a bash moves itself in,
# then execs CMD, so CMD keeps that pid (and `CMD &` gives CMD's pid in $!).
in_cgroup() {
	if [ "$CG_KIND" = none ]; then
		exec "$@"
	fi
	exec bash -c 'for d in "${@:2:$1}"; do echo $$ >"$d/cgroup.procs" || exit 99; done; shift $(($1 + 1)); exec "$@"' \
		_ "${#CG_DIRS[@]}" "${CG_DIRS[@]}" "$@"
}
# cg CMD...: in_cgroup in a subshell, for foreground commands.
cg() { (in_cgroup "$@"); }

# http_get PORT PATH: the response body, over bash's /dev/tcp (5 s bound).
http_get() {
	timeout 5 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
		printf "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n" "$2" >&3
		sed "1,/^\r\{0,1\}$/d" <&3' _ "$1" "$2"
}

# start_service LABEL CMD...: start in the background, wait (bounded) for
# the banner's listening= line; sets SVC_PID and PORT.
start_service() {
	local log=$TMP/$1.out i
	(in_cgroup "${@:2}") >"$log" 2>"$TMP/$1.err" &
	SVC_PID=$!
	for ((i = 0; i < 100; i++)); do
		grep -q '^listening=' "$log" 2>/dev/null && break
		kill -0 "$SVC_PID" 2>/dev/null || break
		sleep 0.1
	done
	if ! grep -q '^listening=' "$log"; then
		say "the service did not start; its stderr:"
		cat "$TMP/$1.err"
		return 1
	fi
	PORT=$(sed -n 's/^listening=.*:\([0-9]*\)$/\1/p' "$log")
}
banner() { sed -n "s/^$2=//p" "$TMP/$1.out"; }
stop_service() {
	kill -TERM "$SVC_PID" 2>/dev/null
	wait "$SVC_PID" 2>/dev/null
	SVC_PID=
}

# ---------------------------------------------------------------------------
# The sections, run in order at the end.

section_machine() {
	step "1. This machine"
	say "CPUs (affinity): $(nproc)"
	say "Go 1.19 reads neither the CPU quota nor the memory limit: left alone, a Go 1.19"
	say "service in a 0.5-CPU, 256 MiB container runs $(nproc) Ps and has no memory limit."
	say "Go 1.26 sizes GOMAXPROCS from its own cgroup's CPU quota (round up, at least 2,"
	say "at most the CPU count) and keeps it updated, but reads no memory limit either."
}

section_cgroup() {
	step "2. A demo cgroup with 0.5 CPU (quota 50000/100000 us) and 256 MiB"
	if make_cgroup; then
		say "created ($CG_KIND):"
		printf '  %s\n' "${CG_DIRS[@]}"
	else
		say "no demo cgroup: $WHY_NOT."
		say "The demo goes on with this host's own limits (probably none), so gorral"
		say "will have little to set. Run 'sudo make demo' on a cgroup host to see more."
	fi
}

section_limits() {
	step "3. What gorral finds there, and what it would set"
	cg "$GORRAL" limits
	say
	say "With the default policy (Go >= 1.25's rule: round up, at least 2), 0.5 CPU gives"
	say "GOMAXPROCS=2; gorral exports it only when that is below the CPU count ($(nproc) here)."
	say "With automaxprocs' rounding (floor, minimum 1) it is 1:"
	run cg "$GORRAL" env --rounding floor 2>/dev/null
	say
	say "And as a Docker/systemd env file (default policy):"
	run cg "$GORRAL" env --format dotenv 2>/dev/null
}

# generation_row LABEL HOW CMD...: start the service CMD in the demo cgroup,
# print one row from its banner (what its runtime reports) and gorral's
# GOMAXPROCS decision from its log, stop it.
generation_row() {
	local label=$1 how=$2 procs mem env why
	shift 2
	start_service gen "$@" -listen 127.0.0.1:0 -graceful || return 0
	procs=$(banner gen gomaxprocs)
	mem=$(banner gen memory_limit)
	[ "$mem" = 9223372036854775807 ] && mem="none"
	env=$(sed -n 's/^env_GOMAXPROCS="\([^"]*\)".*/\1/p' "$TMP/gen.out")
	printf '  %-22s %-28s %-10s %-11s %s\n' "$label $(banner gen go_version)" "$how" "$procs" "$mem" "${env:-(unset)}"
	why=$(sed -n 's/.*event=limits .*gomaxprocs=.*reason="\(.*\)"$/\1/p' "$TMP/gen.err")
	[ -n "$why" ] && WHYS+=("$label, $how: ${why##*; }")
	stop_service
}

section_generations() {
	local g
	step "4. Go 1.19 and Go 1.26 side by side, in the same cgroup"
	say "The same service source, built by Debian's Go 1.19 (goservice) and by Go 1.26"
	say "(goservice126). Each row is one start; the columns are what the runtime itself"
	say "reports in its banner (runtime.GOMAXPROCS(0), debug.SetMemoryLimit(-1)) and the"
	say "GOMAXPROCS it found in its environment."
	for g in goservice goservice126; do
		say "$D\$ gorral inspect $g | grep -E '^(go version|cgroup-aware):'$R"
		"$GORRAL" inspect "$BUILD/goapps/$g" | grep -E '^(go version|cgroup-aware):' | sed 's/^/  /'
	done
	say
	printf '  %s%-22s %-28s %-10s %-11s %s%s\n' "$B" "service" "how" "GOMAXPROCS" "mem limit" "env GOMAXPROCS" "$R"
	WHYS=()
	for g in "$SERVICE" "$SERVICE126"; do
		generation_row "${g##*/}" "alone" "$g"
		generation_row "${g##*/}" "gorral exec" "$GORRAL" exec -- "$g"
		generation_row "${g##*/}" "gorral exec --rounding floor" "$GORRAL" exec --rounding floor -- "$g"
	done
	say
	say "gorral's GOMAXPROCS decisions (the end of each 'why'):"
	printf '  %s\n' "${WHYS[@]}"
	say
	say "Both runtimes leave the memory limit alone: only gorral's GOMEMLIMIT (90% of"
	say "256 MiB) gives either of them one. For GOMAXPROCS, Go 1.26 computes gorral's"
	say "default value by itself, so gorral does not export it (exporting would also stop"
	say "the runtime's once-a-second updates); only a lower value (floor rounding here, or"
	say "a tighter parent cgroup the runtime does not read) is exported."
}

section_exec() {
	step "5. The Go 1.19 service under 'gorral exec', up close"
	say "$D\$ gorral exec -- goservice -listen 127.0.0.1:0 -graceful$R"
	if start_service under "$GORRAL" exec -- "$SERVICE" -listen 127.0.0.1:0 -graceful; then
		say "gorral's decisions (its log on stderr):"
		sed 's/^/  /' "$TMP/under.err"
		say "The service's banner (what the Go runtime itself uses):"
		for k in go_version num_cpu gomaxprocs memory_limit; do
			say "  $k=$(banner under "$k")"
		done
		say "  $(grep '^env_GOMAXPROCS=' "$TMP/under.out")"
		say "Started as pid $SVC_PID; the banner says pid=$(banner under pid), and /proc/$SVC_PID/comm is"
		say "'$(cat "/proc/$SVC_PID/comm" 2>/dev/null)': gorral exec'd into the service, no gorral process remains."
		say "Asking the service over HTTP (GET /stats):"
		http_get "$PORT" /stats | sed 's/^/  /'
		if [ "$CG_KIND" = "cgroup v1" ] && [ -r "${CG_DIRS[0]}/cpu.stat" ]; then
			before=$(awk '$1 == "nr_throttled" { print $2 }' "${CG_DIRS[0]}/cpu.stat")
			say "Burning CPU for 2 s on every P (GET /burn?seconds=2&wait=1):"
			http_get "$PORT" "/burn?seconds=2&wait=1" | sed 's/^/  /'
			after=$(awk '$1 == "nr_throttled" { print $2 }' "${CG_DIRS[0]}/cpu.stat")
			say "The kernel throttled the cgroup in $((after - before)) CFS periods meanwhile (cpu.stat nr_throttled):"
			say "that is the 0.5-CPU quota at work, whatever GOMAXPROCS is."
		fi
		stop_service
		say "Stopped (SIGTERM)."
	fi
}

section_run() {
	local i rc
	step "6. The same service supervised by 'gorral run' (PID 1 or subreaper, restarts)"
	say "$D\$ gorral run --restart on-failure --backoff-initial 300ms -- goservice -listen 127.0.0.1:0 -graceful$R"
	if start_service run "$GORRAL" run --restart on-failure --backoff-initial 300ms -- \
		"$SERVICE" -listen 127.0.0.1:0 -graceful; then
		say "The service asks to exit with status 3 (GET /exit?code=3); gorral restarts it:"
		http_get "$PORT" "/exit?code=3" >/dev/null 2>&1
		for ((i = 0; i < 100; i++)); do
			[ "$(grep -c '^listening=' "$TMP/run.out")" -ge 2 ] && break
			sleep 0.1
		done
		say "Then SIGTERM to gorral: forwarded, the service exits 0, gorral exits with it."
		kill -TERM "$SVC_PID" 2>/dev/null
		wait "$SVC_PID" 2>/dev/null
		rc=$?
		SVC_PID=
		say "gorral's log (stderr; the service's own stdout passed through untouched):"
		grep -E 'event=(spawn|exit|backoff|restart|shutdown|exit_gorral)' "$TMP/run.err" | sed 's/^/  /'
		say "Banners printed by the first start and by the restart:"
		grep -E '^(pid|listening)=' "$TMP/run.out" | paste -d' ' - - | sed 's/^/  /'
		say "gorral's exit status: $rc (the service's own)."
	fi
}

# The three services of config/gorral.yaml (migrate, cache, api: its names,
# start order and keys), with real programs, each in its own cgroup, watched
# every 500 ms. gorral runs in its own cgroup, not the demo cgroup: the
# services' cgroups are their limits. The file is written again by
# section_throttle (the fix) and reloaded.
write_services_config() { # $1: the cache service's env line (or nothing)
	cat >"$TMP/gorral.yaml" <<-EOF
	# config/gorral.yaml's three services, short windows for the demo.
	state_dir: $TMP/state
	output: {prefix: true}
	metrics: {listen: "127.0.0.1:19321"}
	defaults: {restart: on-failure, stop_timeout: 5s, sample_interval: 500ms}
	services:
	  migrate:
	    command: [sh, -c, "echo migrating; sleep 0.3; echo migrated"]
	    restart: "no"
	  cache:
	    # Go 1.19, burning CPU on GOMAXPROCS threads, in a 1-CPU cgroup.
	    command: [$SERVICE, -listen, "127.0.0.1:18121", -graceful, -burn, 10m]
	    resources: {cpu: 1, memory: 128MiB}
	    ready: {tcp: "127.0.0.1:18121", timeout: 10s}
	    metrics_url: http://127.0.0.1:18121/metrics
	    go: {rounding: floor}     # automaxprocs' rule: 1 CPU -> GOMAXPROCS=1
	    $1
	    detect:
	      throttling: {above: 0.2, window: 6s, usage: 0.5, actions: [log]}
	      leak: false
	  api:
	    # Go 1.26 with the goroutineleak profile; leaks when asked to.
	    command: [$API, -listen, "127.0.0.1:18120", -graceful]
	    depends_on: {migrate: completed, cache: ready}
	    resources: {cpu: 0.5, memory: 256MiB}
	    ready: {tcp: "127.0.0.1:18120", timeout: 10s}
	    metrics_url: http://127.0.0.1:18120/metrics
	    pprof_url: http://127.0.0.1:18120/debug/pprof/goroutine
	    critical: true
	    detect:
	      leak: {metrics: [goroutines], bucket: 2s, warmup: 4s, actions: [log, restart]}
	EOF
}

# show_log REGEX [N]: gorral's log lines matching REGEX (at most N), cut to
# the terminal's width.
# The fields a reader needs are kept: the timestamp, level, metric and the
# raw figures go, and so do a dump group's frames (its culprit stays).
show_log() {
	grep -E "$1" "$TMP/svc.err" | head -"${2:-20}" |
		sed -E 's/^ts=[^ ]* level=[^ ]* //; s/ (metric|severity|value|rate_per_hour|growth|pid|argv0)=[^ ]*//g;
			s/ (frames|created_by|summary)="[^"]*"/ \1=.../g; s/^/  /' |
		cut -c1-"${COLUMNS:-200}"
}
# summary_of REGEX: the summary="..." of the first log line matching REGEX.
summary_of() { grep -E "$1" "$TMP/svc.err" | head -1 | sed -n 's/.* summary="\([^"]*\)".*/\1/p'; }
metrics_of() { curl -sf http://127.0.0.1:19321/metrics | grep -E "$1" | sed 's/^/  /'; }

# On a busy machine (a shared CI box) the services' cgroup, one group among
# many runnable tasks of the root cgroup, gets the CPU of one task: too little
# for cache to reach its 1-CPU quota, and so no throttling to show. A v1
# cpu.shares of 8 tasks' worth on gorral's services' cgroup gives them their
# share; an idle machine behaves the same either way.
boost_services() {
	local cpu d
	cpu=$(mount_of cpu) || return 0
	[ -n "$cpu" ] || return 0
	for d in "$cpu$(own_v1 cpu)"/gorral-"$SVC_PID" "$cpu$(own_v1 cpu)"/gorral; do
		if [ -w "${d/\/\///}/cpu.shares" ]; then
			echo 8192 >"${d/\/\///}/cpu.shares" 2>/dev/null
			break
		fi
	done
	return 0
}

section_services() {
	local i
	step "7. config/gorral.yaml's three services under 'gorral run -c', a cgroup each"
	API=$BUILD/goapps/goservice126-leakprof
	if [ ! -x "$API" ]; then
		API=$SERVICE126
		say "(no goservice126-leakprof: the leak is shown by the grouped dump only)"
	fi
	write_services_config 'env: {GOMAXPROCS: "8"}   # forced: what Go 1.19 picks on an 8-CPU node'
	sed -n '/^services:/,$p' "$TMP/gorral.yaml" | grep -v '^ *#' | sed 's/^/  /'
	export GORRAL_SOCKET=$TMP/gorral.sock
	say "$D\$ gorral run -c gorral.yaml$R"
	"$GORRAL" run -c "$TMP/gorral.yaml" >"$TMP/svc.out" 2>"$TMP/svc.err" &
	SVC_PID=$!
	T0=$SECONDS
	for ((i = 0; i < 150; i++)); do
		grep -q 'event=ready service=api' "$TMP/svc.err" && break
		kill -0 "$SVC_PID" 2>/dev/null || break
		sleep 0.1
	done
	boost_services
	say "Start order (migrate completes, cache is ready, then api), each in its own cgroup:"
	show_log 'event=(spawn|exit|ready|cgroup) ' 12
	local cpu mem n top
	cpu=$(mount_of cpu) mem=$(mount_of memory)
	# gorral/, or gorral-PID/ when another gorral holds gorral/ here.
	top=$(sed -n 's/.*event=cgroup service=cache path=.*\/\([^/]*\)\/cache$/\1/p' "$TMP/svc.err" | head -1)
	if [ -n "$cpu" ] && [ -n "$mem" ] && [ -n "$top" ]; then
		say "Their v1 cgroups, with the limits of their resources: keys:"
		for n in cache api; do
			say "  $n: cpu.cfs_quota_us=$(cat "$cpu$(own_v1 cpu)/$top/$n/cpu.cfs_quota_us" 2>&1) memory.limit_in_bytes=$(cat "$mem$(own_v1 memory)/$top/$n/memory.limit_in_bytes" 2>&1)"
		done
	fi
	say "What each runtime was given (GOMAXPROCS, memory limit), from the services' banners:"
	grep -E '\| (gomaxprocs|memory_limit|env_GOMAXPROCS)=' "$TMP/svc.out" | sed 's/^/  /'
}

section_leak() {
	local i lp
	step "8. A live goroutine leak: found by its trend, proven, dumped, restarted"
	say "api is now asked to leak 10 goroutines (blocked on channels nobody else holds)"
	say "every 250 ms (its /leak/orphans endpoint). The leak detector follows the floor of"
	say "the goroutine count (here in 2 s buckets; the default is 1 min)."
	(while kill -0 "$SVC_PID" 2>/dev/null; do
		curl -sf -o /dev/null "http://127.0.0.1:18120/leak/orphans?n=10" || true
		sleep 0.25
	done) &
	lp=$!
	for ((i = 0; i < 400; i++)); do
		grep -q 'event=finding_restart service=api' "$TMP/svc.err" && break
		kill -0 "$SVC_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill "$lp" 2>/dev/null
	wait "$lp" 2>/dev/null
	say "After $((SECONDS - T0)) s: the finding (leak_profile=N is the Go 1.26 goroutineleak"
	say "profile's count: proof), the dump taken before the restart, its largest group:"
	show_log 'event=(finding|dump|finding_restart|finding_resolved) service=api ' 4
	show_log 'event=dump_group service=api rank=1 ' 1
	say "  summary: $(summary_of 'event=finding service=api detector=leak')"
	say "The dump kept in state_dir: $(ls "$TMP"/state/dumps/api/ 2>/dev/null | head -1)"
	sleep 1
	say "The finding in /metrics, and the restart in gorral status:"
	metrics_of '^gorral_(findings_total|finding_restarts_total)\{service="api"(,detector="leak")?\}'
	run "$GORRAL" status
}

# cpu_periods SERVICE: "PERIODS THROTTLED" of its cgroup from /metrics.
cpu_periods() {
	curl -sf http://127.0.0.1:19321/metrics | awk -v s="{service=\"$1\"}" '
		$1 == "gorral_service_cpu_periods_total" s { p = $2 }
		$1 == "gorral_service_cpu_throttled_periods_total" s { t = $2 }
		END { printf "%d %d\n", p, t }'
}

section_throttle() {
	local i t
	step "9. A throttled service, its cause named, then fixed by gorral's GOMAXPROCS"
	say "cache runs with GOMAXPROCS=8 forced in its env (what Go < 1.25 takes on an 8-CPU"
	say "node) in a 1-CPU cgroup: its threads spend each 100 ms period's quota early."
	if ! grep -q 'event=cgroup service=cache ' "$TMP/svc.err"; then
		say "(cache has no cgroup of its own here, so no quota to be throttled by:"
		show_log 'per-service cgroups' 1
		say " run 'sudo make demo' on a cgroup host to see this part.)"
		kill -TERM "$SVC_PID" 2>/dev/null
		wait "$SVC_PID" 2>/dev/null
		SVC_PID=
		return
	fi
	for ((i = 0; i < 300; i++)); do
		grep -q 'event=finding service=cache detector=throttling' "$TMP/svc.err" && break
		sleep 0.1
	done
	if ! grep -q 'event=finding service=cache detector=throttling' "$TMP/svc.err"; then
		say "No throttling finding within 30 s: this machine is too busy for cache to use its"
		say "quota (load average $(cut -d' ' -f1 /proc/loadavg) on $(nproc) CPUs); its throttled periods so far:"
		metrics_of '^gorral_service_cpu_(periods|throttled_periods)_total\{service="cache"\}'
	fi
	show_log 'event=finding service=cache detector=throttling' 1
	say "In gorral status --json (the finding's cause) and /metrics:"
	"$GORRAL" status cache --json | jq -r '.services[0].findings[] | "  \(.detector): \(.summary)\n  cause: \(.cause)"' | cut -c1-"${COLUMNS:-160}"
	metrics_of '^gorral_(finding_active\{service="cache",detector="throttling"|service_gomaxprocs\{service="cache")'
	say "The fix: drop the forced GOMAXPROCS, so gorral sets it from the quota (1), and reload:"
	write_services_config ''
	run "$GORRAL" reload
	t=$SECONDS
	for ((i = 0; i < 300; i++)); do
		grep -q 'event=finding_resolved service=cache detector=throttling' "$TMP/svc.err" && break
		sleep 0.1
	done
	for ((i = 0; i < 100; i++)); do
		[ "$(grep -c '^cache *| listening=' "$TMP/svc.out")" -ge 2 ] && break
		sleep 0.1
	done
	show_log 'event=(exit service=cache|spawn service=cache|finding_resolved service=cache)' 4
	say "cache now runs with $(grep '^cache *| gomaxprocs=' "$TMP/svc.out" | tail -1 | sed 's/.*| //'). Its CFS periods over 6 s (a detector window), from 1 s after its start:"
	sleep 1
	p0=$(cpu_periods cache)
	sleep 6
	p1=$(cpu_periods cache)
	say "  throttled in $(( ${p1#* } - ${p0#* } )) of $(( ${p1% *} - ${p0% *} )) periods (before the fix: $(summary_of 'event=finding service=cache detector=throttling' | sed 's/ over.*//; s/throttled in //'))"
	metrics_of '^gorral_(finding_active\{service="cache",detector="throttling"|service_gomaxprocs\{service="cache")'
	say "(the whole run of section 7 to here: $((SECONDS - T0)) s)"
	say "SIGTERM to gorral: the services stop in reverse dependency order."
	kill -TERM "$SVC_PID" 2>/dev/null
	wait "$SVC_PID" 2>/dev/null
	say "gorral's exit status: $?"
	SVC_PID=
	say "The same leak detector over a recorded series, in the series' own time:"
	run "$GORRAL" detect --replay "$HERE/../fixtures/series/synth-leak_fast-goroutines-15s.csv"
}

section_done() {
	step "Done in $((SECONDS - DEMO_T0)) s"
	if [ "$CG_KIND" != none ]; then
		say "The demo cgroup is removed on exit."
	fi
	say "Try: gorral limits --json, gorral env, gorral exec -- YOUR-GO-SERVICE,"
	say "     gorral run --restart on-failure -- YOUR-GO-SERVICE"
}

DEMO_T0=$SECONDS
section_machine
section_cgroup
section_limits
section_generations
section_exec
section_run
section_services
section_leak
section_throttle
section_done
