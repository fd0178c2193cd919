#!/usr/bin/env bash
# The images of packaging/docker/ in a real Docker engine, with Docker's own
# init (docker run --init: tini, /usr/bin/docker-init) beside them as the
# anchor. The test starts a dockerd of its own (Debian's docker.io: no
# bridge, no iptables, its own exec root, pid file, socket and the
# containerd it spawns; the data root, which caches images and layers
# between runs, under /var/tmp) and stops it, and every container, at the
# end. No registry is reached: the Debian image's base is the debootstrap
# root of tests/lib/debroot.sh brought in with `docker import`. Every
# container runs with --network none; the Go programs the checks run are
# bind-mounted from $GOAPPS at /goapps.
# Columns: scratch (gorral-static as ENTRYPOINT), debian (the dynamic
# build), tini (docker run --init), none (the service as PID 1, no init:
# the zombie check must see zombies there, or it proves nothing; its limits
# are shown, not asserted).
# Checks, in each column: --cpus 0.5 --memory 256m gives Go 1.19 and Go 1.26
# the GOMAXPROCS/GOMEMLIMIT that `gorral limits --json` computes in the same
# container; orphans are reaped; docker kill -s USR1 reaches the service;
# docker stop ends with the service's own exit code (3) within the stop
# timeout; a service that ignores SIGTERM is SIGKILLed at gorral's
# --stop-timeout, before docker's -t. Then the multi-service example: start
# order, `gorral status` through docker exec, docker stop stops all.
# Figures ("info:" lines): dockerd start time, image sizes, the table.
source "$(dirname "$0")/../integration/lib.sh"

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
: "${GORRAL_STATIC:?}"
MiB=$((1024 * 1024))
ms() { date +%s%3N; }
info() { echo "info: $*"; }

if ! is_root; then
	skip docker "not root: dockerd needs root"
	exit 0
fi
DOCKERD=${DOCKERD:-/usr/sbin/dockerd}
DOCKER=$(command -v docker)
if [ ! -x "$DOCKERD" ] || [ -z "$DOCKER" ]; then
	skip docker "no dockerd at $DOCKERD or no docker CLI on PATH (Debian's docker.io)"
	exit 0
fi

# The images are built from the repository root with BUILD= the build
# directory that holds both gorral binaries and goapps/ (the .dockerignore
# lets in build*/ only).
BUILD_ABS=$(cd "$(dirname "$GORRAL_STATIC")" && pwd)
BUILD=${BUILD_ABS#"$ROOT"/}
if [ "$BUILD" = "$BUILD_ABS" ] || [[ $BUILD != build* ]] || [ "$(basename "$GORRAL_STATIC")" != gorral-static ] ||
	[ "$(cd "$(dirname "$GORRAL")" && pwd)" != "$BUILD_ABS" ] ||
	[ "$(cd "$GOAPPS" && pwd)" != "$BUILD_ABS/goapps" ]; then
	fail docker "GORRAL, GORRAL_STATIC and GOAPPS must be BUILD/gorral, BUILD/gorral-static and BUILD/goapps of one build*/ directory of $ROOT (got $GORRAL, $GORRAL_STATIC, $GOAPPS)"
	exit 0
fi
GOAPPS=$BUILD_ABS/goapps # absolute: docker run -v needs it
for b in gohelper goprobe goprobe126 goservice goservice-nocgo; do
	if [ ! -x "$GOAPPS/$b" ]; then
		fail docker "$GOAPPS/$b not built (make goapps)"
		exit 0
	fi
done

# --- the engine ----------------------------------------------------------------
DATA=${GORRAL_DOCKER_ROOT:-/var/tmp/gorral-docker}
mkdir -p "$DATA"
# One dockerd per data root at a time.
exec 8>"$DATA/.lock"
if ! flock -w 120 8; then
	fail docker "$DATA/.lock held for 120 s by another run"
	exit 0
fi
SOCK=$TMP/docker.sock
EXECROOT=$TMP/exec
# The CLI reads no ~/.docker: an empty config of its own.
export DOCKER_CONFIG=$TMP/cli DOCKER_BUILDKIT=0
mkdir -p "$DOCKER_CONFIG"
dk() { "$DOCKER" -H "unix://$SOCK" "$@"; }

DPID=
docker_down() {
	local ids i m cpid
	[ -n "$DPID" ] || return 0
	ids=$(timeout 20 "$DOCKER" -H "unix://$SOCK" ps -aq --filter "label=org.gorral.test=$$" 2>/dev/null)
	[ -z "$ids" ] || timeout 30 "$DOCKER" -H "unix://$SOCK" rm -f $ids >/dev/null 2>&1
	kill -TERM "$DPID" 2>/dev/null
	for ((i = 0; i < 200; i++)); do kill -0 "$DPID" 2>/dev/null || break; sleep 0.1; done
	if kill -0 "$DPID" 2>/dev/null; then
		echo "warning: dockerd $DPID did not stop in 20 s: SIGKILL" >&2
		kill -KILL "$DPID" 2>/dev/null
	fi
	wait "$DPID" 2>/dev/null
	# Its containerd, should dockerd have died without stopping it.
	cpid=$(cat "$EXECROOT/containerd/containerd.pid" 2>/dev/null)
	[ -n "$cpid" ] && kill -0 "$cpid" 2>/dev/null && kill -TERM "$cpid" 2>/dev/null
	# Nothing under $TMP may stay mounted before lib.sh removes it.
	for m in $(awk -v t="$TMP" 'index($5, t) == 1 { print $5 }' /proc/self/mountinfo | sort -r); do
		umount -l "$m" 2>/dev/null
	done
	DPID=
}
trap 'docker_down; cleanup' EXIT

t0=$(ms)
"$DOCKERD" --data-root "$DATA/data" --exec-root "$EXECROOT" --pidfile "$TMP/docker.pid" \
	-H "unix://$SOCK" --bridge=none --iptables=false --ip6tables=false \
	--containerd-namespace gorral-test --containerd-plugins-namespace gorral-test-plugins \
	>"$TMP/dockerd.log" 2>&1 &
DPID=$!
up=0
for ((i = 0; i < 300; i++)); do
	dk version >/dev/null 2>&1 && { up=1; break; }
	kill -0 "$DPID" 2>/dev/null || break
	sleep 0.1
done
if [ $up = 0 ]; then
	why=$(grep -E 'level=(fatal|error)|failed to start' "$TMP/dockerd.log" | tail -1)
	skip docker "dockerd did not start in 30 s: ${why:-$(tail -1 "$TMP/dockerd.log")}"
	exit 0
fi
info "dockerd $(dk version -f '{{.Server.Version}}' 2>/dev/null) ready in $(($(ms) - t0)) ms (CLI $(dk version -f '{{.Client.Version}}' 2>/dev/null); $(grep -q 'started new containerd process' "$TMP/dockerd.log" && echo "containerd spawned by dockerd" || echo "an existing containerd"))"

# --- images ----------------------------------------------------------------------
BASE=gorral-test/debian:12
debroot=$(bash "$ROOT/tests/lib/debroot.sh" minbase 2>"$TMP/debroot.err")
have_debian=1
if [ -z "$debroot" ]; then
	have_debian=0
	skip "docker: debian image" "no Debian 12 root: $(tail -1 "$TMP/debroot.err")"
elif [ "$(dk image inspect -f '{{index .Config.Labels "org.gorral.root"}}' "$BASE" 2>/dev/null)" != "$(basename "$debroot")" ]; then
	t0=$(ms)
	if tar -C "$debroot" --exclude=./.complete -c . |
		dk import -c "LABEL org.gorral.root=$(basename "$debroot")" - "$BASE" >/dev/null 2>"$TMP/import.err"; then
		info "imported $debroot as $BASE in $(($(ms) - t0)) ms"
	else
		fail "docker: import $debroot" "$(tail -1 "$TMP/import.err")"
		have_debian=0
	fi
fi

# build KIND: packaging/docker/Dockerfile.KIND as gorral-test/KIND.
build() {
	local t0 r
	t0=$(ms)
	(cd "$ROOT" && dk build -q -f "packaging/docker/Dockerfile.$1" --build-arg "BUILD=$BUILD" \
		--build-arg "BASE=$BASE" -t "gorral-test/$1" . >"$TMP/build-$1.log" 2>&1)
	r=$?
	if [ $r -ne 0 ]; then
		fail "docker: build Dockerfile.$1" "exit $r: $(grep -v -i -e buildkit -e deprecat -e buildx -e '^ *$' "$TMP/build-$1.log" | tail -2 | tr '\n' ' ')"
		return 1
	fi
	pass "docker: Dockerfile.$1 builds from the repository root ($(($(ms) - t0)) ms)"
}
mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }
size() { dk image inspect -f '{{.Size}}' "$1"; }

COLS=(scratch debian tini none)
declare -A IMG=([scratch]=gorral-test/scratch [debian]=gorral-test/debian [tini]=gorral-test/scratch [none]=gorral-test/scratch)
declare -A GPATH=([scratch]=/gorral [debian]=/usr/bin/gorral)
declare -A HAVE=([scratch]=1 [debian]=$have_debian [tini]=1 [none]=1)
build scratch || HAVE[scratch]=0 HAVE[tini]=0 HAVE[none]=0
if [ "${HAVE[debian]}" = 1 ]; then build debian || HAVE[debian]=0; fi
have_multi=1
build multi || have_multi=0
for k in scratch debian multi; do
	dk image inspect "gorral-test/$k" >/dev/null 2>&1 || continue
	s=$(size "gorral-test/$k")
	if [ $k = debian ]; then
		b=$(size "$BASE")
		info "image gorral-test/$k: $(mib "$s") MiB ($BASE $(mib "$b") MiB + $(mib $((s - b))) MiB)"
	else
		info "image gorral-test/$k: $(mib "$s") MiB"
	fi
done
# The build context: what the .dockerignore lets in.
ctx=$(sed -n 's/^Sending build context to Docker daemon *//p' "$TMP/build-scratch.log" 2>/dev/null | tail -1)
[ -z "$ctx" ] || info "build context: $ctx"

# --- the checks of one column -----------------------------------------------------
declare -A T # the table: T[row|col]
ROWS=()
row() { local r
	for r in "${ROWS[@]}"; do [ "$r" = "$1" ] && { T[$1|$2]=$3; return; }; done
	ROWS+=("$1"); T[$1|$2]=$3
}
RUN=(--network none --label "org.gorral.test=$$" -v "$GOAPPS:/goapps:ro")

# crun COL [docker run options] -- BIN ARGS...: docker run of BIN as the
# column's service: after the image's ENTRYPOINT (gorral run ... --), under
# docker-init, or as PID 1 itself.
crun() {
	local col=$1 opts=()
	shift
	while [ "$1" != -- ]; do opts+=("$1"); shift; done
	shift
	local bin=$1
	shift
	case $col in
	scratch | debian) dk run "${RUN[@]}" "${opts[@]}" "${IMG[$col]}" "$bin" "$@" ;;
	tini) dk run "${RUN[@]}" "${opts[@]}" --init --entrypoint "$bin" "${IMG[$col]}" "$@" ;;
	none) dk run "${RUN[@]}" "${opts[@]}" --entrypoint "$bin" "${IMG[$col]}" "$@" ;;
	esac
}
logs_have() { dk logs "$1" 2>&1 | grep -qE "$2"; }
exit_code() { dk inspect -f '{{.State.ExitCode}}' "$1"; }
# field KEY LINE: KEY's value in goprobe's or gohelper's key=value line.
field() { tr ' ' '\n' <<<"$2" | sed -n "s/^$1=//p"; }

# limits COL PROBE LABEL: the runtime's values under --cpus 0.5 --memory
# 256m, against gorral limits --json in the same kind of container.
LIM=(--cpus 0.5 --memory 256m)
WANT_MEM=$((256 * MiB * 9 / 10)) # the policy: 0.9 x memory.limit_in_bytes, floor
limits_check() {
	local col=$1 probe=$2 label=$3 out lj want_p want_m
	out=$(crun "$col" --rm "${LIM[@]}" -- "/goapps/$probe" 2>"$TMP/$col-$probe.err")
	if [[ $out != gomaxprocs=* ]]; then
		fail "docker $col: $label probe ran" "got '$out': $(tail -2 "$TMP/$col-$probe.err" | tr '\n' ' ')"
		return
	fi
	row "$label GOMAXPROCS" "$col" "$(field gomaxprocs "$out")"
	local mem=$(field memlimit "$out")
	[ "$mem" = 9223372036854775807 ] && row "$label GOMEMLIMIT" "$col" "none" || row "$label GOMEMLIMIT" "$col" "$mem"
	case $col in
	scratch | debian)
		lj=$(dk run --rm "${RUN[@]}" "${LIM[@]}" --entrypoint "${GPATH[$col]}" "${IMG[$col]}" \
			limits --json -- "/goapps/$probe" 2>"$TMP/$col-$probe-limits.err")
		want_m=$(jq -r '.gomemlimit' <<<"$lj")
		# GOMAXPROCS: gorral's value when it exports one, else the
		# runtime's own (Go >= 1.25: cgroup-aware; before: the CPU count).
		want_p=$(jq -r 'if .gomaxprocs != null then .gomaxprocs
			elif .go.runtime_sizes_gomaxprocs then .go.runtime_gomaxprocs
			else .cpu.affinity_cpus end' <<<"$lj")
		expect_eq "docker $col: $label: gorral limits --json in the container gives the policy's GOMEMLIMIT (0.9 x 256 MiB)" "$want_m" "$WANT_MEM"
		expect_eq "docker $col: $label gets gorral's GOMEMLIMIT" "$mem" "$want_m"
		expect_eq "docker $col: $label GOMAXPROCS is gorral limits' (gomaxprocs ${want_p})" "$(field gomaxprocs "$out")" "$want_p"
		;;
	tini)
		# The anchor: tini sets nothing; the runtime has no memory limit.
		expect_eq "docker tini: $label has no GOMEMLIMIT under --init" "$mem" 9223372036854775807
		;;
	esac
}

# limits_minprocs COL PROBE LABEL: where gorral does export GOMAXPROCS. On a
# 2-CPU machine the default minimum of 2 leaves 0.5 CPU at the CPU count
# (nothing to export); with --min-procs 1 the target is 1, below both the
# CPU count and the Go 1.26 runtime's own 2, so it is exported to both.
limits_minprocs() {
	local col=$1 probe=$2 label=$3 out want
	want=$(dk run --rm "${RUN[@]}" "${LIM[@]}" --entrypoint "${GPATH[$col]}" "${IMG[$col]}" \
		limits --json --min-procs 1 -- "/goapps/$probe" 2>/dev/null | jq -r .gomaxprocs)
	out=$(dk run --rm "${RUN[@]}" "${LIM[@]}" --entrypoint "${GPATH[$col]}" "${IMG[$col]}" \
		run --min-procs 1 -- "/goapps/$probe" 2>"$TMP/$col-$probe-min.err")
	row "$label GOMAXPROCS, --min-procs 1" "$col" "$(field gomaxprocs "$out")"
	expect_eq "docker $col: --min-procs 1: gorral limits exports GOMAXPROCS=1 for $label" "$want" 1
	expect_eq "docker $col: --min-procs 1: $label runs with it (gomaxprocs/env)" \
		"$(field gomaxprocs "$out")/$(field gomaxprocs_env "$out")" "1/used"
}

# The zombie check: orphans re-parented to the container's PID 1 exit; a
# reaper leaves none. PROCS0: the processes before.
zcount() { dk exec "$1" /goapps/gohelper zombies 2>/dev/null; }
zombies_check() {
	local col=$1 c=$2 z0 p0 z p i
	z0=$(zcount "$c")
	p0=$(field procs "$z0")
	if [ $col = debian ]; then
		# A shell's background jobs, orphaned as the shell exits.
		dk exec "$c" sh -c 'i=0; while [ $i -lt 20 ]; do sleep 0.2 & i=$((i + 1)); done' >/dev/null
	else
		dk exec "$c" /goapps/gohelper orphans 20 >/dev/null
	fi
	for ((i = 0; i < 30; i++)); do
		sleep 0.1
		z=$(zcount "$c")
		p=$(field procs "$z")
		if [ $col = none ]; then
			[ "$(field zombies "$z")" -ge 20 ] 2>/dev/null && break
		else
			[ "$(field zombies "$z")" = 0 ] && [ "$p" = "$p0" ] && break
		fi
	done
	row "zombies (of 20 orphans)" "$col" "$(field zombies "$z")"
	if [ $col = none ]; then
		# The control: without a reaper they stay, so the count works.
		expect_eq "docker none: a Go service as PID 1 leaves the 20 orphans as zombies (control)" "$(field zombies "$z")" 20
	else
		expect_eq "docker $col: 20 orphans reaped, none left (zombies/processes)" "$(field zombies "$z")/$p" "0/$p0"
	fi
}

# image_default COL: the image as shipped, its own ENTRYPOINT and CMD (the
# demo service, which dies by SIGTERM without -graceful: 143 passed
# through); the Debian one keeps no apt package lists or .debs.
image_default() {
	local col=$1 c rc left
	c=$(dk run -d "${RUN[@]}" "${IMG[$col]}")
	if wait_for 100 logs_have "$c" '^listening=127\.0\.0\.1:8080'; then
		dk stop -t 10 "$c" >/dev/null
		rc=$(exit_code "$c")
		expect_eq "docker $col: the image's own service runs under its ENTRYPOINT; docker stop: 128+SIGTERM" "$rc" 143
	else
		fail "docker $col: the image's own service runs" "$(dk logs "$c" 2>&1 | tail -2 | tr '\n' ' ')"
	fi
	dk rm -f "$c" >/dev/null
	if [ $col = debian ]; then
		left=$(dk run --rm "${RUN[@]}" --entrypoint /bin/sh "${IMG[$col]}" -c \
			'ls /var/lib/apt/lists /var/cache/apt/archives | grep -v -e "^/" -e "^$" -e "^partial$" -e "^lock$" | wc -l')
		expect_eq "docker debian: no apt lists or .debs in the image" "$left" 0
	fi
}

column() {
	local col=$1 c t0 dt rc
	limits_check "$col" goprobe "go1.19"
	limits_check "$col" goprobe126 "go1.26"
	if [ $col = scratch ] || [ $col = debian ]; then
		limits_minprocs "$col" goprobe "go1.19"
		limits_minprocs "$col" goprobe126 "go1.26"
		image_default "$col"
	fi

	# One service: zombies, USR1, then docker stop -> its exit code 3.
	c=$(crun "$col" -d -- /goapps/gohelper serve -term-exit 3)
	if ! wait_for 100 logs_have "$c" 'gohelper: ready'; then
		fail "docker $col: service started" "$(dk logs "$c" 2>&1 | tail -2 | tr '\n' ' ')"
		return
	fi
	zombies_check "$col" "$c"
	[ $col = none ] && return
	dk kill -s USR1 "$c" >/dev/null
	if wait_for 30 logs_have "$c" 'gohelper: signal=USR1'; then
		pass "docker $col: docker kill -s USR1 reaches the service"; row "kill -s USR1" "$col" "logged"
	else
		fail "docker $col: docker kill -s USR1 reaches the service" "not in its log"; row "kill -s USR1" "$col" "lost"
	fi
	t0=$(ms)
	dk stop -t 10 "$c" >/dev/null
	dt=$(($(ms) - t0)) rc=$(exit_code "$c")
	row "stop: exit on TERM with 3" "$col" "$rc in ${dt} ms"
	if [ "$rc" = 3 ] && [ $dt -lt 3000 ]; then pass "docker $col: docker stop ends with the service's exit code 3 (${dt} ms)"
	else fail "docker $col: docker stop ends with the service's exit code 3" "ExitCode $rc after ${dt} ms"; fi
	dk rm "$c" >/dev/null

	# A service that ignores SIGTERM, docker stop -t 4.
	case $col in
	scratch | debian) c=$(dk run -d "${RUN[@]}" --entrypoint "${GPATH[$col]}" "${IMG[$col]}" \
		run --stop-timeout 1s -- /goapps/gohelper serve -ignore-term) ;;
	tini) c=$(crun tini -d -- /goapps/gohelper serve -ignore-term) ;;
	esac
	if ! wait_for 100 logs_have "$c" 'gohelper: ready'; then
		fail "docker $col: TERM-ignoring service started" "$(dk logs "$c" 2>&1 | tail -2 | tr '\n' ' ')"
		return
	fi
	t0=$(ms)
	dk stop -t 4 "$c" >/dev/null
	dt=$(($(ms) - t0)) rc=$(exit_code "$c")
	row "stop: TERM ignored (docker -t 4)" "$col" "$rc in ${dt} ms"
	if [ $col = tini ]; then
		# The anchor: tini has no stop timeout of its own; docker's -t ends it.
		if [ "$rc" = 137 ] && [ $dt -ge 3500 ]; then pass "docker tini: a TERM-ignoring service is killed by docker at -t 4 (${dt} ms)"
		else fail "docker tini: TERM-ignoring service" "ExitCode $rc after ${dt} ms"; fi
	else
		if [ "$rc" = 137 ] && [ $dt -ge 900 ] && [ $dt -lt 3500 ] && logs_have "$c" 'gohelper: signal=TERM'; then
			pass "docker $col: a TERM-ignoring service is SIGKILLed at gorral's --stop-timeout 1s, before docker's -t 4 (137 in ${dt} ms)"
		else fail "docker $col: TERM-ignoring service killed at gorral's --stop-timeout" "ExitCode $rc after ${dt} ms"; fi
	fi
	dk rm "$c" >/dev/null
}

for col in "${COLS[@]}"; do
	if [ "${HAVE[$col]}" != 1 ]; then
		skip "docker $col" "its image was not built (above)"
		continue
	fi
	column "$col"
done

# --- the multi-service example -------------------------------------------------------
multi() {
	# svcs: not local, nor n: wait_for's own variable, seen by states().
	local c t0 dt rc lg
	t0=$(ms)
	c=$(dk run -d "${RUN[@]}" gorral-test/multi)
	if ! wait_for 200 logs_have "$c" 'event=spawn service=sidecar'; then
		fail "docker multi: all three services started" "$(dk logs "$c" 2>&1 | tail -3 | tr '\n' ' ')"
		return
	fi
	info "multi: sidecar spawned $(($(ms) - t0)) ms after docker run"
	lg=$(dk logs "$c" 2>&1)
	# line NUMBER of the first line matching REGEX in the log.
	ln() { grep -nE "$1" <<<"$lg" | head -1 | cut -d: -f1; }
	local a b d e
	a=$(ln 'event=exit service=migrate .*code=0') b=$(ln 'event=spawn service=api ')
	d=$(ln 'event=ready service=api') e=$(ln 'event=spawn service=sidecar ')
	if [ -n "$a" ] && [ -n "$b" ] && [ -n "$d" ] && [ -n "$e" ] && [ "$a" -lt "$b" ] && [ "$b" -lt "$d" ] && [ "$d" -lt "$e" ]; then
		pass "docker multi: start order: migrate exits 0, then api starts, is ready, then sidecar starts"
	else fail "docker multi: start order" "lines migrate-exit=$a api-spawn=$b api-ready=$d sidecar-spawn=$e"; fi
	# A service without a probe is "starting" until its start_grace (1 s)
	# has passed: poll (bounded) for the steady states.
	states() {
		svcs=$(dk exec "$c" /gorral status --json 2>"$TMP/status.err" |
			jq -r '[.services[] | "\(.name):\(.state)"] | join(" ")' 2>/dev/null)
		[ "$svcs" = "migrate:done api:running sidecar:running" ]
	}
	wait_for 30 states
	expect_eq "docker multi: gorral status (docker exec) lists the services" "$svcs" "migrate:done api:running sidecar:running"
	dk exec "$c" /gorral status >"$TMP/status.txt" 2>&1
	check "docker multi: gorral status table through docker exec" grep -qE '^sidecar +running' "$TMP/status.txt"
	t0=$(ms)
	dk stop -t 10 "$c" >/dev/null
	dt=$(($(ms) - t0)) rc=$(exit_code "$c")
	lg=$(dk logs "$c" 2>&1)
	a=$(ln 'event=exit service=sidecar ') b=$(ln 'event=exit service=api ')
	if [ "$rc" = 0 ] && [ $dt -lt 5000 ] && [ -n "$a" ] && [ -n "$b" ] && [ "$a" -lt "$b" ] &&
		grep -q 'event=exit_gorral status=0 reason=done services=3' <<<"$lg"; then
		pass "docker multi: docker stop stops all, sidecar before api, exit 0 (${dt} ms)"
	else fail "docker multi: docker stop stops all" "ExitCode $rc after ${dt} ms, exit lines sidecar=$a api=$b"; fi
	info "multi: docker stop took ${dt} ms"
	dk rm "$c" >/dev/null
}
if [ $have_multi = 1 ]; then multi; else skip "docker multi" "its image was not built (above)"; fi

# Images rebuilt over earlier runs leave dangling ones in the cached data
# root: drop those (the tagged ones are the cache).
dk image prune -f >/dev/null 2>&1

# --- the table ---------------------------------------------------------------------------
{
	printf 'info: %-34s' "check"
	printf ' | %-21s' "gorral-static/scratch" "gorral/debian" "docker --init (tini)" "no init (control)"
	echo
	for r in "${ROWS[@]}"; do
		printf 'info: %-34s' "$r"
		for col in "${COLS[@]}"; do printf ' | %-21s' "${T[$r|$col]:--}"; done
		echo
	done
}
