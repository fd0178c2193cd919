#!/usr/bin/env bash
# Transient scopes under a real systemd: the host's own `systemd --user` in
# a mount + cgroup namespace (user-manager.sh, 0.2-0.3 s to start). gorral
# runs in no unit of it, with --scopes user: each service becomes
# gorral-NAME-PID.scope in app.slice, with CPUQuotaPerSecUSec and MemoryMax
# from its resources, checked in the cgroup files (cgroup v1 here:
# cpu.cfs_quota_us, memory.limit_in_bytes) and enforced (CPU time of a busy
# loop; a memory hog killed). Then: status and the D-Bus CgroupMode say
# "scope", a restart makes a new scope, a stop leaves none, gorral as a
# unit of the manager with Delegate=yes (delegated) and without (scopes,
# decided from its unit), and --scopes
# auto as root (the system manager, not reachable here) falls back to
# gorral's own cgroups.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../integration/lib.sh"
. "$here/user-manager.sh"

for t in busctl nsenter unshare jq; do
	command -v $t >/dev/null || { skip "scope" "$t is not installed"; exit 0; }
done
[ -x /lib/systemd/systemd ] || { skip "scope" "no /lib/systemd/systemd (Debian: systemd)"; exit 0; }
is_root || { skip "scope" "needs root (namespaces, cgroups)"; exit 0; }
if "$GORRAL" --version | grep -q 'D-Bus: no'; then
	skip "scope" "this gorral cannot talk to systemd: $("$GORRAL" --version | tail -1)"
	exit 0
fi
if [ ! -d /sys/fs/cgroup/cpu ] || [ ! -d /sys/fs/cgroup/memory ]; then
	skip "scope" "the checks read cgroup v1 cpu and memory files, and this host has no v1 cpu/memory"
	exit 0
fi
GPID=
trap '[ -n "$GPID" ] && kill $GPID 2>/dev/null; sleep 0.3; um_stop; cleanup' EXIT

t0=$(date +%s%N)
if ! um_start "$TMP/um"; then
	fail "scope: user manager" "did not start: $(tail -5 "$TMP/um/manager.log")"
	exit 0
fi
echo "info: scope: systemd --user on its bus after $((($(date +%s%N) - t0) / 1000000)) ms"
# A process's cgroup as the manager sees it (below the namespace's root).
leaf=$(basename "${UM_CGDIRS[0]}")
cg_of() { grep -E "^[0-9]+:$2:" "/proc/$1/cgroup" | cut -d: -f3 | sed "s#^/$leaf##"; }
root_cpu=$(v1_mount cpu)/$leaf
root_mem=$(v1_mount memory)/$leaf

cat >"$TMP/g.yaml" <<EOF
services:
  burn:
    command: [sh, -c, "while :; do :; done"]
    resources: {cpu: 0.2, memory: 50MiB}
    watch: false
  web-1:
    command: [sleep, "1000"]
    watch: false
  hog:
    command: [sh, -c, "exec tail /dev/zero"]
    resources: {memory: 30MiB}
    restart: no
    watch: false
EOF
um_spawn "$TMP/log" "$GORRAL" run -c "$TMP/g.yaml" --control "$TMP/c.sock" --scopes user --dbus "$UM_BUS"
GPID=$UM_SPAWNED
export GORRAL_SOCKET=$TMP/c.sock
if ! wait_grep "$TMP/log" 'event=scope service=web-1' 50; then
	fail "scope: scopes made" "$(grep -v limits "$TMP/log" | tail -5)"
	exit 0
fi
check "scope: the log says mode=scope and why" grep -qE 'event=cgroups mode=scope manager=user why=".*a transient scope per service"' "$TMP/log"
sp=$(grep -m1 'event=spawn service=burn' "$TMP/log" | sed 's/.*\(ts=[^ ]*\).*/\1/')
ss=$(grep -m1 'event=scope service=burn' "$TMP/log" | sed 's/.*\(ts=[^ ]*\).*/\1/')
ms() { python3 -c "import sys, datetime as d; f = lambda s: d.datetime.strptime(s[3:-1], '%Y-%m-%dT%H:%M:%S.%f'); print(int((f(sys.argv[2]) - f(sys.argv[1])).total_seconds() * 1000))" "$1" "$2"; }
echo "info: scope: spawn to scope job done: $(ms "$sp" "$ss") ms"

st=$("$GORRAL" status --json)
bpid=$(jq '.services[] | select(.name == "burn") | .pid' <<<"$st")
expect_eq "scope: status cgroup_mode (burn, web-1)" \
	"$(jq -c '[.services[] | select(.name != "hog") | .cgroup_mode]' <<<"$st")" '["scope","scope"]'
expect_eq "scope: status scope unit" "$(jq -r '.services[] | select(.name == "burn") | .scope' <<<"$st")" \
	"gorral-burn-$bpid.scope"
cpu=$(cg_of "$bpid" cpu)
mem=$(cg_of "$bpid" memory)
expect_eq "scope: burn in its scope (cpu)" "$cpu" "/app.slice/gorral-burn-$bpid.scope"
expect_eq "scope: burn in its scope (memory)" "$mem" "/app.slice/gorral-burn-$bpid.scope"
expect_eq "scope: cpu.cfs_quota_us (0.2 CPU)" "$(cat "$root_cpu$cpu/cpu.cfs_quota_us" 2>&1)" 20000
expect_eq "scope: cpu.cfs_period_us" "$(cat "$root_cpu$cpu/cpu.cfs_period_us" 2>&1)" 100000
expect_eq "scope: memory.limit_in_bytes (50 MiB)" "$(cat "$root_mem$mem/memory.limit_in_bytes" 2>&1)" 52428800
expect_eq "scope: systemd's view of it" \
	"$(um_run systemctl --user show "gorral-burn-$bpid.scope" -p CPUQuotaPerSecUSec -p MemoryMax -p Slice | sort | paste -sd' ')" \
	"CPUQuotaPerSecUSec=200ms MemoryMax=52428800 Slice=app.slice"
wpid=$(jq '.services[] | select(.name == "web-1") | .pid' <<<"$st")
expect_eq "scope: web-1 (no resources) in its scope too" "$(cg_of "$wpid" cpu)" "/app.slice/gorral-web-1-$wpid.scope"
expect_eq "scope: D-Bus CgroupMode" \
	"$(busctl --address="$UM_BUS" get-property org.gorral.Supervisor1 /org/gorral/Supervisor1/service/burn org.gorral.Service1 CgroupMode 2>&1)" \
	's "scope"'

# Enforced: the busy loop gets 0.2 CPU.
tick=$(getconf CLK_TCK)
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
a=$(cpu_ticks "$bpid"); sleep 2; b=$(cpu_ticks "$bpid")
used=$(((b - a) * 1000 / tick))
echo "info: scope: burn used $used ms of CPU in 2 s under CPUQuota=20%"
check "scope: CPU quota enforced ($used ms of CPU in 2 s, want 250-550)" test "$used" -ge 250 -a "$used" -le 550
# Enforced: 30 MiB for tail /dev/zero.
wait_for 100 bash -c "\"$GORRAL\" status --json | jq -e '.services[] | select(.name == \"hog\") | .last_exit == 137' >/dev/null"
expect_eq "scope: MemoryMax=30M kills the hog (137)" \
	"$("$GORRAL" status --json | jq '.services[] | select(.name == "hog") | .last_exit')" 137

# A restart: a new scope for the new process, the old one gone.
"$GORRAL" restart burn >/dev/null
wait_for 50 bash -c "\"$GORRAL\" status --json | jq -e '.services[] | select(.name == \"burn\") | .pid != $bpid and .cgroup_mode == \"scope\"' >/dev/null"
b2=$("$GORRAL" status --json | jq '.services[] | select(.name == "burn") | .pid')
check "scope: a restart has a new pid ($bpid -> $b2)" test "$b2" != "$bpid"
expect_eq "scope: ... in a new scope" "$(cg_of "$b2" cpu)" "/app.slice/gorral-burn-$b2.scope"
wait_for 30 bash -c "[ ! -d '$root_cpu/app.slice/gorral-burn-$bpid.scope' ]"
check "scope: the old scope is gone" test ! -d "$root_cpu/app.slice/gorral-burn-$bpid.scope"
"$GORRAL" stop burn >/dev/null
wait_for 30 bash -c "[ ! -d '$root_cpu/app.slice/gorral-burn-$b2.scope' ]"
check "scope: a stopped service leaves no scope" test ! -d "$root_cpu/app.slice/gorral-burn-$b2.scope"
expect_eq "scope: status of the stopped one" \
	"$("$GORRAL" status --json | jq -r '.services[] | select(.name == "burn") | .cgroup_mode')" none
kill $GPID; wait $GPID 2>/dev/null; GPID=

# gorral as a unit of the manager: Delegate=yes -> its own cgroups below
# its unit's ("delegated"); without -> scopes, decided from the unit.
cat >"$TMP/g3.yaml" <<EOF
services:
  web:
    command: [sleep, "1000"]
    watch: false
EOF
for u in gd:yes gn:no; do
	unit=${u%%:*} del=${u#*:}
	um_run systemd-run --user --unit=$unit -p Delegate=$del -p StandardOutput=file:$TMP/$unit.log \
		-p StandardError=file:$TMP/$unit.log "$GORRAL" run -c "$TMP/g3.yaml" --control "$TMP/$unit.sock" \
		--scopes user --dbus no >/dev/null 2>&1
done
wait_grep "$TMP/gd.log" 'event=cgroup service=web' 50
wait_grep "$TMP/gn.log" 'event=scope service=web' 50
check "scope: a unit with Delegate=yes: delegated, own cgroups below the unit's" \
	grep -qE 'event=cgroups mode=delegated manager=user why="gd.service has Delegate=yes' "$TMP/gd.log"
check "scope: ... its service's cgroup is below gd.service" grep -qE 'event=cgroup service=web path=.*/app.slice/gd.service/gorral/web' "$TMP/gd.log"
expect_eq "scope: ... status cgroup_mode" \
	"$(GORRAL_SOCKET=$TMP/gd.sock "$GORRAL" status --json | jq -r '.services[0].cgroup_mode')" delegated
check "scope: a unit without Delegate=yes: scopes" \
	grep -qE 'event=cgroups mode=scope manager=user why="gn.service has no Delegate=yes' "$TMP/gn.log"
check "scope: ... the service's scope made" grep -qE 'event=scope service=web unit=gorral-web-[0-9]+.scope' "$TMP/gn.log"
um_run systemctl --user stop gd.service gn.service

# auto, as root: the system manager; none is reachable in the namespace,
# so gorral makes its own cgroups (and says so at debug level).
cat >"$TMP/g2.yaml" <<EOF
services:
  web:
    command: [sleep, "1000"]
    watch: false
EOF
um_spawn "$TMP/log2" env GORRAL_LOG_LEVEL=debug "$GORRAL" run -c "$TMP/g2.yaml" --control "$TMP/c2.sock" --dbus no
GPID=$UM_SPAWNED
wait_grep "$TMP/log2" 'event=spawn service=web' 50
check "scope: auto without a system manager: own cgroups, said why" \
	grep -qE 'event=cgroups scopes=false why="cannot connect to the systemd system manager' "$TMP/log2"
expect_eq "scope: auto ... status cgroup_mode" \
	"$(GORRAL_SOCKET=$TMP/c2.sock "$GORRAL" status --json | jq -r '.services[0].cgroup_mode')" own
kill $GPID; wait $GPID 2>/dev/null; GPID=
# --scopes system, explicitly, unreachable: an error at start.
um_run "$GORRAL" run -c "$TMP/g2.yaml" --control "$TMP/c3.sock" --dbus no --scopes system >"$TMP/log3" 2>&1
expect_eq "scope: --scopes system unreachable: exit 2" "$?" 2
check "scope: ... says why" grep -q 'cannot connect to the systemd system manager' "$TMP/log3"
