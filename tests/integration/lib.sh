# Sourced by tests/integration/test_*.sh. Each check prints exactly one
# line: "PASS: name", "FAIL: name: why" or "SKIP: name: reason".
# GORRAL, GORRAL_STATIC and GOAPPS come from the Makefile.
: "${GORRAL:?}" "${GOAPPS:?}"
TMP=$(mktemp -d /tmp/gorral-it.XXXXXX)
# Each test talks to its own gorral: never the machine's /run/gorral.sock.
export GORRAL_SOCKET=$TMP/gorral.sock
CG_CREATED=() # cgroup directories a test made, parents first
cleanup() {
	local i
	am_stop
	for i in "${WEBHOOK_PIDS[@]}"; do kill "$i" 2>/dev/null; done
	for ((i = ${#CG_CREATED[@]} - 1; i >= 0; i--)); do
		[ -d "${CG_CREATED[i]}" ] && ! rmdir "${CG_CREATED[i]}" 2>/dev/null &&
			echo "warning: could not remove ${CG_CREATED[i]}" >&2
	done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap "exit 143" TERM INT HUP

# The second pass (INTEGRATION_TAG=asan) is about the sanitized dynamic
# build: the static build's checks ran in the first pass against the same
# binary, so here they are left out, without a SKIP line (skip_static).
[ "${INTEGRATION_TAG:-}" = asan ] && unset GORRAL_STATIC
skip_static() { [ "${INTEGRATION_TAG:-}" = asan ] || skip "$@"; }

pass() { echo "PASS: $1"; }
fail() { echo "FAIL: $1: $2"; }
skip() { echo "SKIP: $1: $2"; }

# check NAME COND-COMMAND...: PASS when the command succeeds.
check() {
	local name=$1; shift
	if "$@"; then pass "$name"; else fail "$name" "$* failed"; fi
}

# expect_eq NAME GOT WANT
expect_eq() {
	if [ "$2" == "$3" ]; then pass "$1"; else fail "$1" "got '$2', want '$3'"; fi
}

is_root() { [ "$(id -u)" -eq 0 ]; }

# The v1 mount point of a controller, from mountinfo (never hard-coded).
v1_mount() {
	awk -v c="$1" '$0 ~ / - cgroup / { n = split($NF, o, ","); for (i = 1; i <= n; i++) if (o[i] == c) { print $5; exit } }' /proc/self/mountinfo
}

# own_v1_cgroup CONTROLLER: this process's path in that v1 hierarchy.
own_v1_cgroup() {
	awk -F: -v c="$1" '{ n = split($2, a, ","); for (i = 1; i <= n; i++) if (a[i] == c) { print $3; exit } }' /proc/self/cgroup
}

# cg_mkdir DIR: create a cgroup, removed again when the test exits.
cg_mkdir() {
	mkdir "$1" 2>"$TMP/mkdir.err" || return 1
	CG_CREATED+=("$1")
}

# cg_run_in DIR1 DIR2 CMD...: a shell moves itself into both cgroups, then
# execs CMD.
cg_run_in() {
	bash -c 'echo $$ >"$1/cgroup.procs" && echo $$ >"$2/cgroup.procs" || exit 99; shift 2; exec "$@"' \
		_ "$@"
}

# wait_grep FILE REGEX [TENTHS]: poll (bounded) until FILE has a line
# matching the extended REGEX.
wait_grep() {
	local i
	for ((i = 0; i < ${3:-100}; i++)); do
		grep -qE "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# A free TCP port on loopback (bind to 0, read it back, close). Another
# process may take it before the caller binds it: good enough on a test box.
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# --- Alertmanager (Debian 12: prometheus-alertmanager 0.25, API v2 only
# from 0.27 on; 0.25 has both, we use v2) ------------------------------------
# am_start DIR [WEBHOOK_URL]: start an Alertmanager on a free loopback port
# with its storage in DIR, no clustering (--cluster.listen-address= : no
# gossip port, no peers), and wait (bounded) for /-/ready. Its one receiver
# is a null one, or WEBHOOK_URL when given (send_resolved, group_wait and
# group_interval 1s: notifications within seconds). resolve_timeout stays
# at its default 5m, so an alert that disappears within a test was resolved
# by its sender (endsAt), not by the timeout. Sets AM_URL and AM_PID; the
# test's exit stops it. Returns 1 when it is not installed or not ready.
AM_PID=
am_start() {
	local dir=$1 hook=${2:-} port i
	command -v prometheus-alertmanager >/dev/null || return 1
	mkdir -p "$dir/data"
	port=$(free_port)
	if [ -n "$hook" ]; then
		cat >"$dir/am.yml" <<-AMEOF
		route:
		  receiver: hook
		  group_by: [alertname, service]
		  group_wait: 1s
		  group_interval: 1s
		  repeat_interval: 1h
		receivers:
		  - name: hook
		    webhook_configs: [{url: "$hook", send_resolved: true}]
		AMEOF
	else
		printf 'route:\n  receiver: "null"\nreceivers:\n  - name: "null"\n' >"$dir/am.yml"
	fi
	prometheus-alertmanager --config.file="$dir/am.yml" --storage.path="$dir/data" \
		--cluster.listen-address= --web.listen-address="127.0.0.1:$port" >"$dir/am.log" 2>&1 &
	AM_PID=$!
	AM_URL=http://127.0.0.1:$port
	for ((i = 0; i < 100; i++)); do
		curl -sf "$AM_URL/-/ready" >/dev/null 2>&1 && return 0
		kill -0 "$AM_PID" 2>/dev/null || break
		sleep 0.1
	done
	echo "am_start: Alertmanager not ready on $AM_URL; its log:" >&2
	tail -5 "$dir/am.log" >&2
	am_stop
	return 1
}

# am_alerts [QUERY]: the JSON array of GET /api/v2/alerts?QUERY on stdout
# (QUERY e.g. 'filter=service="api"', URL-encoded by curl). The v2 API
# lists only alerts whose endsAt is still ahead: a resolved alert is gone.
am_alerts() {
	if [ -n "${1:-}" ]; then
		curl -sf -G "$AM_URL/api/v2/alerts" --data-urlencode "$1"
	else
		curl -sf "$AM_URL/api/v2/alerts"
	fi
}

# am_post JSON: POST an array of alerts (the v2 API's postable alerts).
am_post() {
	curl -sf -o /dev/null -X POST -H "Content-Type: application/json" -d "$1" "$AM_URL/api/v2/alerts"
}

am_stop() {
	[ -n "$AM_PID" ] || return 0
	kill "$AM_PID" 2>/dev/null
	wait "$AM_PID" 2>/dev/null
	AM_PID=
}

# --- webhook receiver (tests/helpers/webhook.c) ------------------------------
# webhook_recorder FILE [STATUS]: start a receiver that appends each POST
# body to FILE, one line each (its heads to FILE.head), and answers STATUS
# (default 200). Sets WEBHOOK_URL (http://127.0.0.1:PORT) and WEBHOOK_PID;
# the test's exit stops it. Compiled into $TMP on first use.
WEBHOOK_PIDS=()
webhook_recorder() {
	local out=$1 i port
	if [ ! -x "$TMP/webhook" ]; then
		cc -O2 -o "$TMP/webhook" "$(dirname "${BASH_SOURCE[0]}")/../helpers/webhook.c" || return 1
	fi
	: >"$out"
	"$TMP/webhook" "$out" "${2:-200}" >"$out.port" 2>&1 &
	WEBHOOK_PID=$!
	WEBHOOK_PIDS+=("$WEBHOOK_PID")
	for ((i = 0; i < 50; i++)); do
		port=$(sed -n 's/^port=//p' "$out.port" 2>/dev/null)
		[ -n "$port" ] && { WEBHOOK_URL=http://127.0.0.1:$port; return 0; }
		sleep 0.1
	done
	return 1
}

# jsonl_any FILE COND: some JSON document of FILE (one a line, as the
# webhook recorder writes them) satisfies the jq condition COND. (jq -e
# over a stream judges by the last document only: slurp instead.)
jsonl_any() { jq -s -e "any(.[]; $2)" "$1" >/dev/null 2>&1; }

# wait_for TENTHS CMD...: poll CMD every 0.1 s until it succeeds, at most
# TENTHS times; its status.
wait_for() {
	local n=$1 i
	shift
	for ((i = 0; i < n; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}
