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
#   6. three services from one file under 'gorral run -c' (a one-shot
#      migration, then both generations, each in its own cgroup with
#      readiness, start order, status and a reverse-order stop);
#   7. finds a goroutine leak in a service (HTTP calls with no timeout),
#      takes a grouped goroutine dump and restarts it, then replays the
#      leak detector over a recorded series;
#   8. removes the cgroup.
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
	why=$(sed -n 's/.*event=limits gomaxprocs=.*reason="\(.*\)"$/\1/p' "$TMP/gen.err")
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

section_services() {
	local i rc cfg=$TMP/demo.yaml
	step "7. Three services from one file: 'gorral run -c', a cgroup each"
	cat >"$cfg" <<-EOF
	# A one-shot migration, then the Go 1.19 and Go 1.26 generations of the
	# service, each in its own cgroup with 0.5 CPU and 128 MiB, each watched
	# (its /metrics scraped, its scheduler traced) every second, and gorral's
	# own /metrics on 127.0.0.1:19321.
	output: {prefix: true}
	metrics: {listen: "127.0.0.1:19321"}
	defaults: {restart: on-failure, stop_timeout: 5s, sample_interval: 1s}
	services:
	  migrate:
	    command: [sh, -c, "echo migrating; sleep 0.5; echo migrated"]
	    restart: "no"
	  api119:
	    command: [$SERVICE, -listen, "127.0.0.1:18119", -graceful]
	    depends_on: {migrate: completed}
	    resources: {cpu: 0.5, memory: 128MiB}
	    ready: {tcp: "127.0.0.1:18119", timeout: 10s}
	    metrics_url: http://127.0.0.1:18119/metrics
	    godebug: {schedtrace: 1s}
	  api126:
	    command: [$SERVICE126, -listen, "127.0.0.1:18126", -graceful]
	    depends_on: {migrate: completed, api119: ready}
	    resources: {cpu: 0.5, memory: 128MiB}
	    ready: {tcp: "127.0.0.1:18126", timeout: 10s}
	    metrics_url: http://127.0.0.1:18126/metrics
	    godebug: {schedtrace: 1s}
	EOF
	sed 's/^/  /' "$cfg"
	run "$GORRAL" check-config "$cfg"
	export GORRAL_SOCKET=$TMP/gorral.sock
	say "$D\$ gorral run -c demo.yaml$R"
	(in_cgroup "$GORRAL" run -c "$cfg") >"$TMP/svc.out" 2>"$TMP/svc.err" &
	SVC_PID=$!
	for ((i = 0; i < 150; i++)); do
		grep -q 'event=ready service=api126' "$TMP/svc.err" && break
		kill -0 "$SVC_PID" 2>/dev/null || break
		sleep 0.1
	done
	say "gorral's log: start order, readiness, each service's cgroup and limits:"
	grep -E 'event=(cgroups|cgroup|spawn|exit|ready|limits) ' "$TMP/svc.err" | grep -v 'gomaxprocs=unset target=2 affinity' | sed 's/^/  /' | cut -c1-200
	say "The services' own output, each line prefixed with its name (their banners):"
	grep -E '\| (migrat|go_version|gomaxprocs|memory_limit)' "$TMP/svc.out" | sed 's/^/  /'
	say "api119 leaks 300 goroutines and 4 locked OS threads (its own /leak endpoints):"
	curl -sf "http://127.0.0.1:18119/leak/goroutines?n=300" | sed 's/^/  /'
	curl -sf "http://127.0.0.1:18119/leak/threads?n=4" | sed 's/^/  /'
	sleep 2.2
	run "$GORRAL" status
	say "gorral's /metrics, a few of its families (promtool check metrics passes on it):"
	curl -sf http://127.0.0.1:19321/metrics | grep -E '^gorral_service_(threads|goroutines|gomaxprocs|cpu_throttled_periods_total|sched_runqueue|memory_bytes)\{' | sed 's/^/  /'
	say "SIGTERM to gorral: the services stop in reverse dependency order (api126 first)."
	kill -TERM "$SVC_PID" 2>/dev/null
	wait "$SVC_PID" 2>/dev/null
	rc=$?
	SVC_PID=
	grep -E 'event=(shutdown|exit|exit_gorral) ' "$TMP/svc.err" | tail -4 | sed 's/^/  /' | cut -c1-200
	say "gorral's exit status: $rc; no cgroup is left behind."
}

section_detect() {
	local i cfg=$TMP/detect.yaml
	step "8. Finding a leak and acting on it: detectors, a goroutine dump, a restart"
	# An upstream that accepts and never answers (the tests' hostile helper).
	cc -O2 -o "$TMP/hostile" "$HERE/../helpers/hostile.c" || { say "(no cc: section skipped)"; return; }
	"$TMP/hostile" blackhole >"$TMP/bh.out" 2>&1 &
	BH_PID=$!
	for ((i = 0; i < 50; i++)); do grep -q '^port=' "$TMP/bh.out" && break; sleep 0.1; done
	local bh
	bh=$(sed -n 's/^port=//p' "$TMP/bh.out")
	cat >"$cfg" <<-EOF
	# The service calls an upstream that never answers, with no timeout,
	# five times a second. The leak detector (short windows for the demo)
	# finds it; the restart takes the goroutine dump first.
	state_dir: $TMP/state
	services:
	  api:
	    command: [$SERVICE, -listen, "127.0.0.1:18120", -leak-http-every, 200ms, -leak-http-url, "http://127.0.0.1:$bh/"]
	    metrics_url: http://127.0.0.1:18120/metrics
	    pprof_url: http://127.0.0.1:18120/debug/pprof/goroutine
	    sample_interval: 1s
	    restart: always
	    detect:
	      leak: {metrics: [goroutines], bucket: 15s, warmup: 30s, actions: [log, restart]}
	EOF
	sed 's/^/  /' "$cfg"
	say "$D\$ gorral run -c detect.yaml$R   (about two minutes)"
	export GORRAL_SOCKET=$TMP/gorral-detect.sock
	"$GORRAL" run -c "$cfg" >"$TMP/det.out" 2>"$TMP/det.err" &
	SVC_PID=$!
	for ((i = 0; i < 2400; i++)); do
		grep -q 'event=spawn service=api .*start=2' "$TMP/det.err" && break
		kill -0 "$SVC_PID" 2>/dev/null || break
		sleep 0.1
	done
	grep -E 'event=(finding|dump|dump_group|finding_restart|finding_resolved) ' "$TMP/det.err" | head -6 | sed 's/^/  /' | cut -c1-220
	say "The dump it kept: $(ls "$TMP"/state/dumps/api/ 2>/dev/null | head -1)"
	kill -TERM "$SVC_PID" 2>/dev/null
	wait "$SVC_PID" 2>/dev/null
	SVC_PID=
	kill "$BH_PID" 2>/dev/null
	say "The same detector over a recorded series, in its own time:"
	run "$GORRAL" detect --replay "$HERE/../fixtures/series/synth-leak_fast-goroutines-15s.csv"
}

section_done() {
	step "Done"
	if [ "$CG_KIND" != none ]; then
		say "The demo cgroup is removed on exit."
	fi
	say "Try: gorral limits --json, gorral env, gorral exec -- YOUR-GO-SERVICE,"
	say "     gorral run --restart on-failure -- YOUR-GO-SERVICE"
}

section_machine
section_cgroup
section_limits
section_generations
section_exec
section_run
section_services
section_detect
section_done
