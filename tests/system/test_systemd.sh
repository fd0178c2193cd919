#!/usr/bin/env bash
# gorral under a real systemd: the Debian 12 root of tests/lib/debroot.sh
# booted once with systemd-nspawn --boot, gorral run as the shipped units
# (packaging/systemd/) with a test drop-in each. What it asserts:
#   - Type=notify: `systemctl start` returns after READY=1, so not before
#     the services' readiness (a service that is ready only after 1 s makes
#     the start take >= 1 s), and the unit is active when it returns, with
#     gorral's summary as its StatusText;
#   - `systemctl reload` reloads (a service added to the file starts), and
#     fails, changing nothing, on a file with errors;
#   - the watchdog: gorral stopped with SIGSTOP is aborted (SIGABRT,
#     Result=watchdog) and restarted by Restart=on-failure;
#   - `systemctl stop`: the services stop by their own exit, gorral exits 0,
#     the unit ends inactive (not failed) and its cgroup is gone;
#   - gorral@.service with CPUQuota=50% and MemoryMax=256M: the Go 1.19 and
#     1.26 services get GOMAXPROCS/GOMEMLIMIT from the cgroup systemd made,
#     and with Delegate=yes each service's cgroup is below the unit's;
#   - without Delegate=, each service is a transient scope with its limits
#     in the cgroup files (where this gorral has the D-Bus scopes).
# Figures ("info:"): systemctl start to active, the tier's run time.
#
# How it boots (see the comments at each step): a child cgroup of our own in
# every hierarchy, chowned to the container's root; an overlayfs with the
# cached root as an idmapped lower layer and a fresh upper layer in $TMP, so
# every run starts clean and the cache is never written; nspawn with
# --private-users, --register=no --keep-unit (no host systemd here). Every
# wait is bounded; the container is halted and the cgroups removed at exit.
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../integration/lib.sh"
t_tier=$(date +%s%N)
units=$here/../../packaging/systemd
UIDBASE=1879048192 # the container's uid/gid 0 on the host: 65536 of them
NAME=gorral-sd-$$

# ---- can it run here? ------------------------------------------------------
if ! is_root; then skip systemd "needs root (nspawn, cgroups, mounts)"; exit 0; fi
for c in systemd-nspawn nsenter python3 unshare; do
	command -v $c >/dev/null || { skip systemd "$c is not installed"; exit 0; }
done
grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null
grep -qw overlay /proc/filesystems || { skip systemd "no overlayfs in this kernel"; exit 0; }
if ! ROOT=$(bash "$here/../lib/debroot.sh" systemd 2>"$TMP/debroot.err"); then
	skip systemd "no Debian root: $(tail -1 "$TMP/debroot.err")"
	exit 0
fi
# The static Go programs (and the dynamic goservice, whose libc the
# Debian 12 root has) run inside; gorral too (dynamic: libc, and
# libsystemd.so.0 when it dlopens the bus, which the root has).
for f in goprobe goprobe126 goservice; do
	[ -x "$GOAPPS/$f" ] || { fail "goapps" "$GOAPPS/$f missing (make goapps)"; exit 1; }
done

# ---- cgroups: a child in every hierarchy, owned by the container ----------
# Every v1 hierarchy, not only cpu and memory: systemd treats cpu and
# cpuacct as joined and trims a controller it cannot write, and with it the
# other (CPUQuota= then silently does nothing). cpuset needs cpus/mems
# before a process may enter.
CT_CGS=()
cg_lines=$(cat /proc/self/cgroup)
while IFS=: read -r _ ctl path; do
	if [ -z "$ctl" ]; then
		mnt=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
	else
		mnt=$(awk -v c="$ctl" '$9 == "cgroup" { n = split($NF, o, ","); for (i = 1; i <= n; i++) if (o[i] == c) { print $5; exit } }' /proc/self/mountinfo)
	fi
	[ -n "$mnt" ] || continue
	d=$mnt${path%/}/$NAME
	mkdir "$d" || { fail "cgroups" "cannot create $d"; exit 1; }
	CT_CGS+=("$d")
	if [ "$ctl" = cpuset ]; then
		cat "$mnt${path%/}/cpuset.cpus" >"$d/cpuset.cpus"
		cat "$mnt${path%/}/cpuset.mems" >"$d/cpuset.mems"
	fi
	chown -R "$UIDBASE:$UIDBASE" "$d"
done <<<"$cg_lines"

NSPAWN_PID= LEADER=
sd_cleanup() {
	local i d
	if [ -n "$NSPAWN_PID" ] && kill -0 "$NSPAWN_PID" 2>/dev/null; then
		kill -TERM "$NSPAWN_PID" # nspawn halts the container: 1 s
		for ((i = 0; i < 100; i++)); do kill -0 "$NSPAWN_PID" 2>/dev/null || break; sleep 0.1; done
		if kill -0 "$NSPAWN_PID" 2>/dev/null; then
			# A SIGKILLed nspawn leaves its container running: kill the
			# container's PID 1 first, which ends its whole pid namespace.
			echo "warning: the container did not halt in 10 s: SIGKILL" >&2
			[ -n "$LEADER" ] && kill -KILL "$LEADER" 2>/dev/null
			sleep 0.5
			kill -KILL "$NSPAWN_PID" 2>/dev/null
		fi
		wait "$NSPAWN_PID" 2>/dev/null
	fi
	# Whatever still runs in our cgroups is the container's (these cgroups
	# are this run's alone): kill it, then remove them depth first, the
	# container's own (system.slice, ...) too.
	for ((i = 0; i < 20; i++)); do
		local left=0
		for d in "${CT_CGS[@]}"; do
			[ -d "$d" ] || continue
			find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
			[ -d "$d" ] || continue
			left=1
			find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null | xargs -r kill -KILL 2>/dev/null
		done
		[ $left = 0 ] && break
		sleep 0.1
	done
	for d in "${CT_CGS[@]}"; do
		[ -d "$d" ] && echo "warning: could not remove $d" >&2
	done
}
trap 'sd_cleanup; cleanup' EXIT

# ---- the upper layer: units, drop-ins, configuration ----------------------
ov=$TMP/ov
up=$ov/upper
mkdir -p "$ov/lower" "$ov/work" "$ov/merged" "$up/etc/gorral" "$up/etc/systemd/system"
cp "$units/gorral.service" "$units/gorral@.service" "$up/etc/systemd/system/"
# gorral.service: the watchdog at 2 s (pings every 1 s) so that it fires
# quickly; bounded start and stop; a quick restart to watch.
mkdir -p "$up/etc/systemd/system/gorral.service.d"
cat >"$up/etc/systemd/system/gorral.service.d/test.conf" <<'EOF'
[Service]
WatchdogSec=2s
TimeoutStartSec=20s
TimeoutStopSec=20s
RestartSec=500ms
EOF
# gorral@limits: the unit's own limits, which the services' Go runtimes
# must see through gorral. gorral@scopes: the same without Delegate=.
mkdir -p "$up/etc/systemd/system/gorral@limits.service.d" "$up/etc/systemd/system/gorral@scopes.service.d"
cat >"$up/etc/systemd/system/gorral@limits.service.d/test.conf" <<'EOF'
[Service]
CPUQuota=50%
MemoryMax=256M
TimeoutStartSec=20s
TimeoutStopSec=20s
EOF
cat >"$up/etc/systemd/system/gorral@scopes.service.d/test.conf" <<'EOF'
[Service]
Delegate=no
Slice=gorral-test.slice
TimeoutStartSec=20s
TimeoutStopSec=20s
EOF
# Three long-running services. slow listens only after 1 s and api waits
# for it: READY=1 can come no sooner. -graceful: each exits 0 on SIGTERM
# and says so.
cat >"$up/etc/gorral/gorral.yaml" <<'EOF'
services:
  slow:
    command: [/bin/sh, -c, "sleep 1; exec /opt/goapps/goservice -listen 127.0.0.1:8081 -graceful"]
    ready: {tcp: "127.0.0.1:8081", interval: 50ms, timeout: 15s}
  api:
    command: [/opt/goapps/goservice, -listen, "127.0.0.1:8082", -graceful]
    depends_on: {slow: ready}
    ready: {tcp: "127.0.0.1:8082", interval: 50ms, timeout: 15s}
  worker:
    command: [/opt/goapps/goservice, -listen, "127.0.0.1:8083", -graceful]
EOF
# min_procs 1: with the default minimum of 2, a 0.5-CPU quota on this
# 2-CPU machine gives GOMAXPROCS=2, the CPU count, and nothing is exported.
# state_dir from systemd's StateDirectory= (an unset ${VAR} is an error).
cat >"$up/etc/gorral/limits.yaml" <<'EOF'
state_dir: ${STATE_DIRECTORY}
defaults: {min_procs: 1, restart: "no"}
services:
  go119: {command: [/opt/goapps/goprobe]}
  go126: {command: [/opt/goapps/goprobe126]}
  api:
    command: [/opt/goapps/goservice, -listen, "127.0.0.1:8090", -graceful]
    ready: {tcp: "127.0.0.1:8090", interval: 50ms, timeout: 15s}
EOF
cat >"$up/etc/gorral/scopes.yaml" <<'EOF'
services:
  capped:
    command: [/opt/goapps/goservice, -listen, "127.0.0.1:8095", -graceful]
    resources: {cpu: 0.2, memory: 64MiB}
    ready: {tcp: "127.0.0.1:8095", interval: 50ms, timeout: 15s}
EOF
# gorral's bus policy, where the tree has one (the bus helper's): without
# it the system bus refuses gorral its name.
for f in "$here"/../../packaging/dbus/*.conf; do
	[ -e "$f" ] && install -D -m 0644 "$f" "$up/etc/dbus-1/system.d/$(basename "$f")"
done
chown -R "$UIDBASE:$UIDBASE" "$up" "$ov/work"

# ---- boot -----------------------------------------------------------------
# In a private mount namespace (the mounts go with nspawn): the cached root
# idmapped to the container's uids, an overlay on it, then nspawn on the
# overlay with ownership left alone (it is already mapped). The shell first
# enters the cgroups made above: nspawn with --keep-unit stays where it is
# started, and the container's cgroup is that one.
t_boot=$(date +%s%N)
# shellcheck disable=SC2016
unshare --mount --propagation private bash -c '
	for d in "${@:8}"; do echo $$ >"$d/cgroup.procs" || exit 90; done
	python3 "$1" "$2" "$3/lower" "$4" 65536 || exit 91
	mount -t overlay overlay -o "lowerdir=$3/lower,upperdir=$3/upper,workdir=$3/work" "$3/merged" || exit 92
	exec systemd-nspawn -q -D "$3/merged" -M "$5" --boot --register=no --keep-unit --private-network \
		--private-users="$4:65536" --private-users-ownership=off --console=pipe \
		--bind-ro="$6:/usr/bin/gorral" --bind-ro="$7:/opt/goapps"
' _ "$here/../lib/idmap-mount.py" "$ROOT" "$ov" "$UIDBASE" "$NAME" "$GORRAL" "$GOAPPS" "${CT_CGS[@]}" \
	>"$TMP/nspawn.log" 2>&1 &
NSPAWN_PID=$!

# The container's PID 1: the child of nspawn whose innermost pid is 1.
LEADER=
for ((i = 0; i < 200; i++)); do
	for p in $(pgrep -P "$NSPAWN_PID"); do
		[ "$(awk '/^NSpid:/ { print $NF }' "/proc/$p/status" 2>/dev/null)" = 1 ] && LEADER=$p
	done
	[ -n "$LEADER" ] && break
	kill -0 "$NSPAWN_PID" 2>/dev/null || break
	sleep 0.05
done
if [ -z "$LEADER" ]; then
	fail "boot" "no container (nspawn: $(tail -3 "$TMP/nspawn.log" | tr '\n' '|'))"
	exit 1
fi
# ct CMD...: in every namespace of the container, as its root, bounded.
ct() { timeout 20 nsenter -t "$LEADER" -a "$@"; }
# Until PID 1 has made /run/systemd/system and its private socket,
# systemctl says "offline" or that the system was not booted with systemd;
# then --wait waits out the boot.
for ((i = 0; i < 200; i++)); do
	state=$(ct systemctl is-system-running --wait 2>&1)
	case $state in running | degraded | maintenance | stopping) break ;; *) sleep 0.05 ;; esac
done
t_up=$(date +%s%N)
if [ "$state" = running ]; then
	pass "container booted ($state)"
else
	fail "container booted" "state '$state': $(ct systemctl --failed --no-legend 2>&1 | tr '\n' '|')"
	exit 1
fi
echo "info: container boot to running: $(((t_up - t_boot) / 1000000)) ms"

# ---- helpers ---------------------------------------------------------------
# prop UNIT PROPERTY: one property's value.
prop() { ct systemctl show -P "$2" "$1"; }
# wait_prop UNIT PROPERTY VALUE [TENTHS]: poll until it has that value.
wait_prop() {
	local i
	for ((i = 0; i < ${4:-100}; i++)); do
		[ "$(prop "$1" "$2")" = "$3" ] && return 0
		sleep 0.1
	done
	return 1
}
# svc_json SOCK NAME KEY: a key of one service in `gorral status --json`.
svc_json() {
	ct gorral status --json --control "$1" 2>/dev/null | python3 -c '
import json, sys
try:
    d = json.load(sys.stdin)
except ValueError:
    sys.exit(0)
for s in d.get("services", []):
    if s.get("name") == sys.argv[1]:
        v = s.get(sys.argv[2], "<missing>")
        print("null" if v is None else str(v).lower() if isinstance(v, bool) else v)' "$2" "$3"
}
# wait_svc SOCK NAME KEY VALUE [TENTHS]
wait_svc() {
	local i
	for ((i = 0; i < ${5:-100}; i++)); do
		[ "$(svc_json "$1" "$2" "$3")" = "$4" ] && return 0
		sleep 0.1
	done
	return 1
}
# journal UNIT: its lines, gorral's and its services'.
journal() { ct journalctl -q --no-pager -o cat -u "$1"; }
# wait_journal UNIT REGEX [TENTHS]
wait_journal() {
	local i
	for ((i = 0; i < ${3:-100}; i++)); do
		journal "$1" | grep -qE "$2" && return 0
		sleep 0.1
	done
	return 1
}
# cg_of PID CONTROLLER: the process's cgroup in that hierarchy (as the
# container sees it); "" for the cgroup2 line.
# On a pure cgroup2 host (the container then has no v1 line) every
# controller's cgroup is the 0:: one.
cg_of() {
	ct cat "/proc/$1/cgroup" | awk -F: -v c="$2" '
		{ n = split($2, a, ","); for (i = 1; i <= n; i++) if (a[i] == c) v1 = $3; if ($2 == "") v2 = $3 }
		END { print (c != "" && v1 != "") ? v1 : v2 }'
}
# The limits systemd wrote, from the files the kernel enforces: v1
# cpu.cfs_quota_us (per 100 ms period) and memory.limit_in_bytes, or on
# cgroup2 cpu.max's quota and memory.max.
if ct test -e /sys/fs/cgroup/cgroup.controllers; then
	cg_quota() { ct cat "/sys/fs/cgroup$1/cpu.max" | cut -d' ' -f1; }
	cg_memmax() { ct cat "/sys/fs/cgroup$1/memory.max"; }
	CG_FILES="cpu.max, memory.max"
else
	cg_quota() { ct cat "/sys/fs/cgroup/cpu$1/cpu.cfs_quota_us"; }
	cg_memmax() { ct cat "/sys/fs/cgroup/memory$1/memory.limit_in_bytes"; }
	CG_FILES="cpu.cfs_quota_us, memory.limit_in_bytes"
fi
ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }

# ---- gorral.service: start after READY ------------------------------------
t0=$(date +%s%N)
out=$(ct systemctl start gorral.service 2>&1)
rc=$?
start_ms=$(ms_since "$t0")
active=$(prop gorral.service ActiveState)
echo "info: systemctl start gorral.service to active: $start_ms ms (a service ready after 1 s)"
if [ $rc -ne 0 ]; then
	fail "systemctl start gorral (Type=notify)" "rc=$rc: $out; $(journal gorral.service | tail -5 | tr '\n' '|')"
else
	pass "systemctl start gorral (Type=notify)"
fi
expect_eq "active when systemctl start returns" "$active" active
check "start waited for the 1 s readiness (${start_ms} ms >= 1000)" test "$start_ms" -ge 1000
check "start returned within 5 s of it (${start_ms} ms)" test "$start_ms" -lt 6000
# READY=1 came after every probe: both probed services are ready now.
expect_eq "slow ready when start returned" "$(svc_json /run/gorral.sock slow ready)" true
expect_eq "api ready when start returned" "$(svc_json /run/gorral.sock api ready)" true
check "StatusText is gorral's summary" wait_prop gorral.service StatusText "3/3 running, 0 findings" 30
main_pid=$(prop gorral.service MainPID)
check "MainPID is gorral" test "$(ct cat "/proc/$main_pid/comm" 2>/dev/null)" = gorral
expect_eq "NotifyAccess" "$(prop gorral.service NotifyAccess)" main
expect_eq "WatchdogUSec (drop-in)" "$(prop gorral.service WatchdogUSec)" 2s
expect_eq "ProtectSystem applies" "$(prop gorral.service ProtectSystem)" full
check "/usr is read-only for gorral" bash -c '[ "$(timeout 5 nsenter -t "$1" -a nsenter -t "$2" -m sh -c "touch /usr/x 2>&1")" != "" ]' _ "$LEADER" "$(prop gorral.service MainPID)"

# With Delegate=yes every service's cgroup is below the unit's own.
unit_cg=$(prop gorral.service ControlGroup)
api_pid=$(svc_json /run/gorral.sock api pid)
for c in cpu memory ""; do
	g=$(cg_of "$api_pid" "$c")
	case $g in
	"$unit_cg"/?*) pass "api's ${c:-cgroup2} cgroup below the unit's ($g)" ;;
	*) fail "api's ${c:-cgroup2} cgroup below the unit's" "'$g' is not below '$unit_cg'" ;;
	esac
done

# gorral says which way its services got cgroups (where this gorral
# reports it: the bus work adds cgroup_mode).
mode=$(svc_json /run/gorral.sock api cgroup_mode)
if [ "$mode" = "<missing>" ]; then
	skip "gorral status says delegated" "this gorral's status has no cgroup_mode (the bus work is not merged)"
else
	expect_eq "gorral status says delegated" "$mode" delegated
	check "gorral's log says delegated" wait_journal gorral.service 'event=cgroups mode=delegated' 20
fi

# On the container's system bus, with the shipped policy, gorral owns its
# name (where this gorral has the bus: the bus work).
if grep -q org.gorral.Supervisor1 "$GORRAL"; then
	check "gorral owns org.gorral.Supervisor1 on the system bus" \
		bash -c 'for i in $(seq 50); do timeout 5 nsenter -t "$1" -a busctl --system --no-legend list 2>/dev/null | grep -q "^org\.gorral\.Supervisor1 " && exit 0; sleep 0.1; done; exit 1' _ "$LEADER"
else
	skip "gorral owns org.gorral.Supervisor1 on the system bus" "this gorral has no D-Bus API (the bus work is not merged)"
fi

# gorral keeps systemd's notify socket and watchdog to itself: a service
# that saw them would notify or ping for gorral (refused by
# NotifyAccess=main, but misleading) instead of on the socket gorral gives
# it with ready: {notify: true}.
env_api=$(ct cat "/proc/$api_pid/environ" | tr '\0' '\n')
check "api has systemd's environment (INVOCATION_ID)" grep -q '^INVOCATION_ID=' <<<"$env_api"
check "api has no NOTIFY_SOCKET, WATCHDOG_USEC or WATCHDOG_PID" \
	bash -c '! grep -qE "^(NOTIFY_SOCKET|WATCHDOG_USEC|WATCHDOG_PID)=" <<<"$1"' _ "$env_api"

# ---- reload ----------------------------------------------------------------
ct sh -c 'cat >>/etc/gorral/gorral.yaml' <<'EOF'
  extra:
    command: [/opt/goapps/goservice, -listen, "127.0.0.1:8084", -graceful]
EOF
t0=$(date +%s%N)
out=$(ct systemctl reload gorral.service 2>&1)
rc=$?
expect_eq "systemctl reload rc ($out)" "$rc" 0
check "the added service runs after the reload" wait_svc /run/gorral.sock extra state running 100
echo "info: systemctl reload to the added service running: $(ms_since "$t0") ms"
check "StatusText follows the reload" wait_prop gorral.service StatusText "4/4 running, 0 findings" 30
# A file with errors: `gorral reload` (ExecReload=) fails, nothing changes.
ct cp /etc/gorral/gorral.yaml /etc/gorral/gorral.yaml.good
ct sh -c 'echo "  broken: {command: 7}" >>/etc/gorral/gorral.yaml'
out=$(ct systemctl reload gorral.service 2>&1)
rc=$?
check "systemctl reload fails on a file with errors (rc $rc)" test "$rc" -ne 0
expect_eq "still active after the refused reload" "$(prop gorral.service ActiveState)" active
expect_eq "extra still running after the refused reload" "$(svc_json /run/gorral.sock extra state)" running
ct mv /etc/gorral/gorral.yaml.good /etc/gorral/gorral.yaml

# ---- the watchdog ----------------------------------------------------------
# SIGSTOP: the loop stops, so do the pings; within 2 s systemd aborts
# gorral (SIGABRT, then the SIGCONT systemd sends with every kill) and
# Restart=on-failure starts it again.
main_pid=$(prop gorral.service MainPID)
restarts0=$(prop gorral.service NRestarts)
t0=$(date +%s%N)
ct sh -c "kill -STOP $main_pid" # minbase: no procps, the shell's kill
seen=
for ((i = 0; i < 100; i++)); do
	r=$(prop gorral.service Result)
	[ "$r" = watchdog ] && { seen=1; break; }
	[ "$(prop gorral.service NRestarts)" != "$restarts0" ] && break
	sleep 0.1
done
wd_ms=$(ms_since "$t0")
check "Result=watchdog after SIGSTOP" test -n "$seen"
echo "info: SIGSTOP to Result=watchdog: $wd_ms ms (WatchdogSec=2s)"
# The last ping came 0 to 1 s before the SIGSTOP: the timeout 1 to 2 s
# after it (and the polls' own time).
check "the watchdog fired no sooner than WatchdogSec minus a ping ($wd_ms ms >= 1000)" test "$wd_ms" -ge 1000
check "the watchdog fired within WatchdogSec ($wd_ms ms < 3500)" test "$wd_ms" -lt 3500
check "journal: watchdog timeout" wait_journal gorral.service 'Watchdog timeout' 50
check "journal: systemd sent gorral SIGABRT" wait_journal gorral.service 'Killing process [0-9]+ \(gorral\) with signal SIGABRT' 50
# gorral forwards a sent SIGABRT like any signal (README: not killed by a
# sent signal): the Go services print their stacks and exit 2, and gorral
# exits with that. A loop that is really stuck cannot: TimeoutAbortSec=
# then ends it with SIGKILL.
check "journal: the Go services got the SIGABRT (their stacks)" wait_journal gorral.service '^SIGABRT: abort' 50
check "restarted by Restart=on-failure" wait_prop gorral.service NRestarts $((restarts0 + 1)) 100
check "active again after the restart" wait_prop gorral.service ActiveState active 150
check "a new MainPID" test "$(prop gorral.service MainPID)" != "$main_pid"

# ---- stop ------------------------------------------------------------------
# KillMode=mixed: SIGTERM to gorral alone; it stops its services, which
# exit 0 by -graceful; then gorral exits 0.
since=$(ct date +%s)
t0=$(date +%s%N)
out=$(ct systemctl stop gorral.service 2>&1)
rc=$?
stop_ms=$(ms_since "$t0")
echo "info: systemctl stop gorral.service: $stop_ms ms"
expect_eq "systemctl stop rc ($out)" "$rc" 0
expect_eq "inactive after stop (not failed)" "$(prop gorral.service ActiveState)" inactive
expect_eq "Result after stop" "$(prop gorral.service Result)" success
expect_eq "gorral's exit status" "$(prop gorral.service ExecMainStatus)" 0
# journald may take the services' last lines a moment after the stop.
for ((i = 0; i < 50; i++)); do
	graceful=$(ct journalctl -q --no-pager -o cat -u gorral.service --since "@$since" | grep -c 'exiting gracefully')
	[ "$graceful" -ge 4 ] && break
	sleep 0.1
done
expect_eq "every service stopped by its own exit (graceful lines)" "$graceful" 4
check "the unit's cgroup is gone" test -z "$(ct sh -c "ls -d /sys/fs/cgroup/systemd$unit_cg 2>/dev/null")"

# ---- gorral@limits: the unit's limits reach the Go runtimes ---------------
t0=$(date +%s%N)
out=$(ct systemctl start gorral@limits.service 2>&1)
rc=$?
echo "info: systemctl start gorral@limits.service to active: $(ms_since "$t0") ms (three Go services, one with a tcp probe)"
expect_eq "systemctl start gorral@limits rc ($out)" "$rc" 0
sock=/run/gorral/limits.sock
check "gorral@limits answers on its own socket" test -n "$(svc_json $sock api state)"
ucg=$(prop gorral@limits.service ControlGroup)
expect_eq "systemd's CPU quota on the unit ($CG_FILES)" "$(cg_quota "$ucg")" 50000
expect_eq "systemd's memory limit on the unit" "$(cg_memmax "$ucg")" 268435456
# 0.5 CPU, ceil with a minimum of 1: 1; 256 MiB x 0.9 = 241591910.
for p in go119 go126; do
	# goprobe's own line (gorral's log lines have gomaxprocs= too).
	v=$([ $p = go126 ] && echo 'go1\.26' || echo 'go1\.19')
	if wait_journal gorral@limits.service "^gomaxprocs=.* go_version=$v" 100; then
		line=$(journal gorral@limits.service | grep -E "^gomaxprocs=.* go_version=$v" | tail -1)
		expect_eq "$p GOMAXPROCS in the runtime" "$(echo "$line" | grep -o 'gomaxprocs=[0-9]*' | head -1)" gomaxprocs=1
		expect_eq "$p GOMEMLIMIT in the runtime" "$(echo "$line" | grep -o 'memlimit=[0-9]*')" memlimit=241591910
	else
		fail "$p printed its limits" "no gomaxprocs= line in the journal: $(journal gorral@limits.service | tail -3 | tr '\n' '|')"
	fi
done
expect_eq "api given GOMAXPROCS" "$(svc_json $sock api gomaxprocs)" 1
expect_eq "api given GOMEMLIMIT" "$(svc_json $sock api gomemlimit)" 241591910
api_pid=$(svc_json $sock api pid)
for c in cpu memory; do
	g=$(cg_of "$api_pid" $c)
	case $g in
	"$ucg"/?*) pass "gorral@limits api's $c cgroup below the unit's ($g)" ;;
	*) fail "gorral@limits api's $c cgroup below the unit's" "'$g' is not below '$ucg'" ;;
	esac
done
check "gorral@limits state dir" ct test -d /var/lib/gorral/limits
out=$(ct systemctl stop gorral@limits.service 2>&1)
expect_eq "systemctl stop gorral@limits ($out)" "$(prop gorral@limits.service ActiveState)" inactive
check "the instance's socket is removed at stop" ct test ! -e $sock

# ---- gorral@scopes: without Delegate=, a transient scope per service -------
if ! grep -q StartTransientUnit "$GORRAL"; then
	skip "transient scope per service (Delegate=no)" "this gorral does not call StartTransientUnit (the bus work is not merged)"
else
	out=$(ct systemctl start gorral@scopes.service 2>&1)
	rc=$?
	expect_eq "systemctl start gorral@scopes rc ($out)" "$rc" 0
	pid=$(svc_json /run/gorral/scopes.sock capped pid)
	g=$(cg_of "$pid" cpu)
	case $g in
	*.scope) pass "capped runs in a scope ($g)" ;;
	*) fail "capped runs in a scope" "its cpu cgroup is '$g'" ;;
	esac
	scope=${g##*/}
	expect_eq "gorral status: cgroup_mode" "$(svc_json /run/gorral/scopes.sock capped cgroup_mode)" scope
	expect_eq "the scope is in gorral's own slice (Slice= of its unit)" "$(prop "$scope" Slice)" gorral-test.slice
	expect_eq "gorral status: the scope" "$(svc_json /run/gorral/scopes.sock capped scope)" "$scope"
	check "gorral's log says scope" wait_journal gorral@scopes.service 'event=cgroups mode=scope' 20
	expect_eq "the scope is active" "$(prop "$scope" ActiveState)" active
	expect_eq "scope CPUQuotaPerSecUSec" "$(prop "$scope" CPUQuotaPerSecUSec)" 200ms
	expect_eq "scope CPU quota in the cgroup files ($CG_FILES)" "$(cg_quota "$g")" 20000
	expect_eq "scope memory limit in the cgroup files" "$(cg_memmax "$(cg_of "$pid" memory)")" 67108864
	# 64 MiB x 0.9: the scope is made after the spawn, so gorral counts
	# the service's resources as the scope's level when it sizes the runtime.
	expect_eq "capped given GOMEMLIMIT from its scope's limit" "$(svc_json /run/gorral/scopes.sock capped gomemlimit)" 60397977
	ct systemctl stop gorral@scopes.service
	expect_eq "the scope is gone after stop" "$(prop "$scope" ActiveState)" inactive
fi

echo "info: systemd tier took $(ms_since "$t_tier") ms (boot included, halt excluded)"
