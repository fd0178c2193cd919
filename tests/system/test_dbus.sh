#!/usr/bin/env bash
# gorral's D-Bus API against a private dbus-daemon (two per run: one with
# the system bus's default policy plus the shipped policy file, one open
# to all so that a refused call reaches gorral's own uid check), driven by
# busctl: ListServices, properties, PropertiesChanged (busctl monitor),
# StopService, Reload (InterfacesAdded), a FindingRaised from a threshold
# detector that fires at once, Dump of a Go service, the refused calls as
# nobody, an unknown service, a bad signal, introspection == the shipped
# XML, and the round trip of a read method.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../integration/lib.sh"
root=$(cd "$here/../.." && pwd)
fix=$root/tests/fixtures/dbus
N=org.gorral.Supervisor1
P=/org/gorral/Supervisor1
I=org.gorral.Supervisor1
S=org.gorral.Service1

for t in dbus-daemon busctl setpriv jq; do
	if ! command -v $t >/dev/null; then
		skip "dbus" "$t is not installed (Debian: dbus-daemon, systemd, util-linux, jq)"
		exit 0
	fi
done
if ! is_root; then
	skip "dbus" "needs root (the refused call is made as nobody, gorral owns the name as root)"
	exit 0
fi
if [ ! -x "$GOAPPS/goservice" ]; then
	skip "dbus" "no $GOAPPS/goservice (make goapps): the Dump check needs a Go service"
	exit 0
fi
if "$GORRAL" --version | grep -q 'D-Bus: no'; then
	skip "dbus" "this gorral has no D-Bus support: $("$GORRAL" --version | tail -1)"
	exit 0
fi

# start_bus DIR MODE: a dbus-daemon on DIR/bus; prints its address (its
# pid is line 2 of DIR/out: this runs in a command substitution).
start_bus() {
	local dir=$1 mode=$2 policy
	# nobody connects too: the socket's directories must be searchable.
	chmod 711 "$TMP"
	mkdir -p "$dir" && chmod 755 "$dir"
	cp "$root/packaging/dbus/$N.conf" "$dir/$N.conf"
	policy=$(sed "s#@POLICYFILE@#$dir/$N.conf#" "$fix/policy-$mode.xml")
	POLICY=$policy DIR=$dir python3 -c 'import os, sys; t = sys.stdin.read(); print(t.replace("@DIR@", os.environ["DIR"]).replace("@POLICY@", os.environ["POLICY"]))' \
		<"$fix/test-bus.conf.in" >"$dir/bus.conf"
	dbus-daemon --config-file="$dir/bus.conf" --fork --print-address=1 --print-pid=1 --nopidfile >"$dir/out" 2>"$dir/err" || return 1
	chmod 777 "$dir/bus" 2>/dev/null
	head -1 "$dir/out"
}
GPIDS=()
stop_all() {
	local p
	for p in "${GPIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${GPIDS[@]}"; do wait "$p" 2>/dev/null; done
	for p in "$TMP"/*/out; do [ -e "$p" ] && kill "$(sed -n 2p "$p")" 2>/dev/null; done
}
trap 'stop_all; cleanup' EXIT

ADDR=$(start_bus "$TMP/sys" system) || { fail "dbus: start" "dbus-daemon: $(cat "$TMP/sys/err")"; exit 0; }
B=(busctl --address="$ADDR")
NB=(setpriv --reuid=65534 --regid=65534 --clear-groups busctl --address="$ADDR")

port=$(free_port)
# The file's state_dir is overridden by --state-dir (the dumps below must
# land in $TMP/state, also after a reload).
cat >"$TMP/g.yaml" <<EOF
state_dir: $TMP/file-state
services:
  web:
    command: [sleep, "1000"]
    watch: false
  api-1:
    command: [$GOAPPS/goservice, -listen, 127.0.0.1:$port]
    sample_interval: 200ms
    pprof_url: http://127.0.0.1:$port/debug/pprof/goroutine?debug=1
    detect:
      actions: [log]
      threshold:
        - {metric: threads, above: 0, for: 1}
EOF
cp "$TMP/g.yaml" "$TMP/g0.yaml"
"$GORRAL" run -c "$TMP/g.yaml" --control "$TMP/ctl.sock" --state-dir "$TMP/state" --dbus "$ADDR" >"$TMP/log" 2>&1 &
GPIDS+=($!)
if ! wait_grep "$TMP/log" 'event=dbus .*name=org.gorral.Supervisor1' 50; then
	fail "dbus: name owned" "$(tail -5 "$TMP/log")"
	exit 0
fi
pass "dbus: name owned"
wait_grep "$TMP/log" 'event=spawn service=api-1' 50

# A monitor from here on (bounded): the signals are read from it at the end.
timeout 20 busctl --address="$ADDR" monitor --json=short $N >"$TMP/mon.json" 2>/dev/null &
MON=$!
sleep 0.3

got=$("${B[@]}" --json=short call $N $P $I ListServices | jq -c '[.data[0][] | [.[0], .[1]]]')
expect_eq "dbus: ListServices (name, state)" "$got" '[["web","running"],["api-1","running"]]'
pid=$("${B[@]}" --json=short call $N $P $I ListServices | jq '.data[0][0][2]')
check "dbus: ListServices main pid is web's sleep" grep -q sleep "/proc/$pid/cmdline"
expect_eq "dbus: Version" "$("${B[@]}" get-property $N $P $I Version)" "s \"$("$GORRAL" --version | head -1 | cut -d' ' -f2)\""
expect_eq "dbus: Services" "$("${B[@]}" get-property $N $P $I Services)" \
	"ao 2 \"$P/service/web\" \"$P/service/api_2d1\""
expect_eq "dbus: service object (escaped path) Name" \
	"$("${B[@]}" get-property $N $P/service/api_2d1 $S Name)" 's "api-1"'
expect_eq "dbus: service MainPID" "$("${B[@]}" get-property $N $P/service/web $S MainPID)" "u $pid"
expect_eq "dbus: CgroupMode" "$("${B[@]}" get-property $N $P/service/web $S CgroupMode)" 's "own"'

# Reads are open to anyone.
expect_eq "dbus: nobody may read a property" "$("${NB[@]}" get-property $N $P/service/web $S State 2>&1)" 's "running"'
check "dbus: nobody may call ListServices" bash -c "\"\${@}\" call $N $P $I ListServices >/dev/null" _ "${NB[@]}"
check "dbus: nobody may introspect" bash -c "\"\${@}\" introspect $N $P >/dev/null" _ "${NB[@]}"

# Sampled values and the threshold finding (threads > 0 fires at the first sample).
wait_for 50 bash -c "\"\${@}\" get-property $N $P/service/api_2d1 $S Threads | grep -qv 18446744073709551615" _ "${B[@]}"
th=$("${B[@]}" get-property $N $P/service/api_2d1 $S Threads | cut -d' ' -f2)
check "dbus: Threads sampled ($th)" test "$th" -ge 1 -a "$th" -lt 10000
wait_for 50 bash -c "\"\${@}\" get-property $N $P/service/api_2d1 $S Findings | grep -q threshold" _ "${B[@]}"
expect_eq "dbus: Findings (as)" "$("${B[@]}" get-property $N $P/service/api_2d1 $S Findings)" 'as 1 "threshold"'
expect_eq "dbus: Supervisor Findings (u)" "$("${B[@]}" get-property $N $P $I Findings)" 'u 1'

# Errors: an unknown service, a bad signal.
err=$("${B[@]}" call $N $P $I StopService s nope 2>&1)
expect_eq "dbus: unknown service" "$err" "Call failed: no service 'nope'"
"${B[@]}" --json=short call $N $P $I Signal ss web BOGUS >/dev/null 2>"$TMP/e" ; err=$(cat "$TMP/e")
expect_eq "dbus: bad signal name" "$err" "Call failed: invalid signal 'BOGUS'"

# Refused: the bus policy refuses nobody's mutating call before gorral sees it.
err=$("${NB[@]}" call $N $P $I StopService s web 2>&1)
check "dbus: nobody's StopService refused by the policy ($err)" grep -q 'Access denied' <<<"$err"
err=$("${NB[@]}" call $N $P/service/web $S Stop 2>&1)
check "dbus: nobody's Service1.Stop refused by the policy" grep -q 'Access denied' <<<"$err"
expect_eq "dbus: web still running after the refused calls" \
	"$("${B[@]}" get-property $N $P/service/web $S State)" 's "running"'

# Signal, Stop, Start.
check "dbus: Signal web CONT" "${B[@]}" call $N $P $I Signal ss web SIGCONT
check "dbus: StopService web" "${B[@]}" call $N $P $I StopService s web
wait_for 50 bash -c "\"\${@}\" get-property $N $P/service/web $S State | grep -q done" _ "${B[@]}"
expect_eq "dbus: State after StopService" "$("${B[@]}" get-property $N $P/service/web $S State)" 's "done"'
expect_eq "dbus: SubState held" "$("${B[@]}" get-property $N $P/service/web $S SubState)" 's "held"'
check "dbus: Service1.Start on the object" "${B[@]}" call $N $P/service/web $S Start
wait_for 50 bash -c "\"\${@}\" get-property $N $P/service/web $S State | grep -q running" _ "${B[@]}"
expect_eq "dbus: State after Start" "$("${B[@]}" get-property $N $P/service/web $S State)" 's "running"'

# Dump: the Go service's goroutines, grouped, saved under state_dir.
path=$("${B[@]}" --timeout=15 call $N $P $I Dump s api-1 2>&1)
path=${path#s \"}; path=${path%\"}
check "dbus: Dump saved a grouped dump ($path)" grep -q 'goroutine' "$path"
for i in 1 2 3 4 5 6; do "${B[@]}" --timeout=15 call $N $P $I Dump s api-1 >/dev/null; sleep 0.01; done
expect_eq "dbus: Dump keeps the newest 5 per service" "$(ls "$TMP/state/dumps/api-1" | grep -c -- '-dbus.txt$')" 5
err=$("${B[@]}" call $N $P $I Dump s web 2>&1)
check "dbus: Dump without pprof_url fails with a reason" grep -q 'no pprof_url' <<<"$err"

# Reload adding a service: InterfacesAdded, Services changes.
cat >>"$TMP/g.yaml" <<EOF
  extra:
    command: [sleep, "1000"]
    watch: false
EOF
check "dbus: Reload" "${B[@]}" call $N $P $I Reload
wait_for 30 bash -c "\"\${@}\" get-property $N $P $I Services | grep -q extra" _ "${B[@]}"
expect_eq "dbus: Services after Reload" "$("${B[@]}" get-property $N $P $I Services)" \
	"ao 3 \"$P/service/web\" \"$P/service/api_2d1\" \"$P/service/extra\""
cp "$TMP/g0.yaml" "$TMP/g.yaml"
check "dbus: Reload removing it" "${B[@]}" call $N $P $I Reload
wait_for 50 bash -c "! \"\${@}\" get-property $N $P $I Services | grep -q extra" _ "${B[@]}"
path=$("${B[@]}" --timeout=15 call $N $P $I Dump s api-1 2>&1)
path=${path#s \"}; path=${path%\"}
check "dbus: --state-dir wins over the file's state_dir, also after a reload ($path)" \
	bash -c "[[ '$path' == '$TMP/state/dumps/api-1/'* ]] && [ ! -e '$TMP/file-state' ]"

# Round trip of a read method.
t0=$(date +%s%N)
for i in $(seq 100); do "${B[@]}" call $N $P $I ListServices >/dev/null; done
t1=$(date +%s%N)
echo "info: dbus: ListServices round trip via busctl: $(((t1 - t0) / 100000)) µs per call (busctl start included)"
# Without busctl's start: 100 calls on one connection (python3-dbus).
if /usr/bin/python3 -c 'import dbus' 2>/dev/null; then
	us=$(/usr/bin/python3 - "$ADDR" <<'EOF'
import sys, time, dbus
c = dbus.bus.BusConnection(sys.argv[1])
o = c.get_object("org.gorral.Supervisor1", "/org/gorral/Supervisor1")
m = o.get_dbus_method("ListServices", "org.gorral.Supervisor1")
m()
t = time.monotonic()
for _ in range(100):
    m()
print(int((time.monotonic() - t) * 1e6 / 100))
EOF
)
	echo "info: dbus: ListServices round trip on one connection: $us µs per call"
	check "dbus: round trip under 5 ms ($us µs)" test "${us:-99999}" -lt 5000
else
	skip "dbus: round trip on one connection" "python3-dbus is not installed"
fi
sleep 0.5
kill $MON 2>/dev/null; wait $MON 2>/dev/null
sig() { jq -c "select(.type == \"signal\") | $1" "$TMP/mon.json" 2>/dev/null; }
check "dbus: PropertiesChanged State stopping/done for web" \
	bash -c "jq -c 'select(.member == \"PropertiesChanged\" and .path == \"$P/service/web\") | .payload.data[1].State.data' '$TMP/mon.json' | grep -q done"
check "dbus: PropertiesChanged MainPID for web" \
	bash -c "jq -c 'select(.member == \"PropertiesChanged\" and .path == \"$P/service/web\") | .payload.data[1].MainPID.data' '$TMP/mon.json' | grep -qx 0"
check "dbus: InterfacesAdded for extra" \
	bash -c "jq -c 'select(.member == \"InterfacesAdded\") | .payload.data[0]' '$TMP/mon.json' | grep -q service/extra"
check "dbus: InterfacesRemoved for extra" \
	bash -c "jq -c 'select(.member == \"InterfacesRemoved\") | .payload.data[0]' '$TMP/mon.json' | grep -q service/extra"
# The finding may have fired before the monitor started: restart api-1 so
# its finding resolves (the process ends) and fires again.
timeout 15 busctl --address="$ADDR" monitor --json=short $N >"$TMP/mon2.json" 2>/dev/null &
MON=$!
sleep 0.3
"${B[@]}" call $N $P $I RestartService s api-1
wait_for 80 grep -q FindingRaised "$TMP/mon2.json"
sleep 0.3
kill $MON 2>/dev/null; wait $MON 2>/dev/null
check "dbus: FindingResolved when api-1 stopped" \
	bash -c "jq -c 'select(.member == \"FindingResolved\") | .payload.data' '$TMP/mon2.json' | grep -q '\"api-1\",\"threshold\"'"
check "dbus: FindingRaised after it started again" \
	bash -c "jq -c 'select(.member == \"FindingRaised\") | .payload.data' '$TMP/mon2.json' | grep -q '\"api-1\",\"threshold\",\"'"

# Introspection == the shipped XML (the org.gorral interfaces of both objects).
xml_ifaces() { python3 "$here/dbus_ifaces.py" "$@"; }
{
	"${B[@]}" introspect --xml-interface $N $P
	"${B[@]}" introspect --xml-interface $N $P/service/web
} >"$TMP/live.xml"
live=$(xml_ifaces "$TMP/live.xml")
shipped=$(xml_ifaces "$root/packaging/dbus/$N.xml")
if [ -n "$live" ] && [ "$live" == "$shipped" ]; then
	pass "dbus: introspection == packaging/dbus/$N.xml"
else
	fail "dbus: introspection == packaging/dbus/$N.xml" "$(diff <(echo "$shipped") <(echo "$live") | head -20)"
fi

# An open bus: nobody's call reaches gorral, whose own uid check refuses it.
ADDR2=$(start_bus "$TMP/open" open) || { fail "dbus: open bus" "$(cat "$TMP/open/err")"; exit 0; }
sed -e "s#$TMP/state#$TMP/state2#" -e '/api-1:/,$d' "$TMP/g0.yaml" >"$TMP/g2.yaml"
"$GORRAL" run -c "$TMP/g2.yaml" --control "$TMP/ctl2.sock" --dbus "$ADDR2" >"$TMP/log2" 2>&1 &
GPIDS+=($!)
wait_grep "$TMP/log2" 'event=dbus .*name=' 50
# busctl prints only "Access denied" for any AccessDenied: python3-dbus
# shows the error's name and gorral's message.
nobody_call() {
	setpriv --reuid=65534 --regid=65534 --clear-groups /usr/bin/python3 - "$ADDR2" "$@" <<'EOF'
import sys, dbus
c = dbus.bus.BusConnection(sys.argv[1])
o = c.get_object("org.gorral.Supervisor1", "/org/gorral/Supervisor1")
try:
    o.get_dbus_method(sys.argv[2], "org.gorral.Supervisor1")(*sys.argv[3:])
    print("ok")
except dbus.DBusException as e:
    print("%s: %s" % (e.get_dbus_name(), e.get_dbus_message()))
EOF
}
if /usr/bin/python3 -c 'import dbus' 2>/dev/null; then
	expect_eq "dbus: gorral refuses nobody's StopService" "$(nobody_call StopService web)" \
		"org.freedesktop.DBus.Error.AccessDenied: only root may call stop (the caller is uid 65534)"
	expect_eq "dbus: gorral refuses nobody's Reload" "$(nobody_call Reload)" \
		"org.freedesktop.DBus.Error.AccessDenied: only root may call reload (the caller is uid 65534)"
else
	err=$(setpriv --reuid=65534 --regid=65534 --clear-groups busctl --address="$ADDR2" call $N $P $I StopService s web 2>&1)
	expect_eq "dbus: gorral refuses nobody's StopService" "$err" "Call failed: Access denied"
fi
expect_eq "dbus: web still running on the open bus" \
	"$(busctl --address="$ADDR2" get-property $N $P/service/web $S State)" 's "running"'

# An explicit bus that cannot be reached is an error at start.
"$GORRAL" run -c "$TMP/g2.yaml" --control "$TMP/ctl3.sock" --dbus unix:path=$TMP/nobus >"$TMP/log3" 2>&1
expect_eq "dbus: --dbus ADDRESS unreachable: exit 2" "$?" 2
check "dbus: ... and says why" grep -q 'cannot connect' "$TMP/log3"
check "dbus: gorral alive after all of it" kill -0 "${GPIDS[0]}"

# The bus goes away: gorral says so once and supervises on.
kill "$(sed -n 2p "$TMP/sys/out")"
wait_grep "$TMP/log" 'D-Bus .*the connection failed; gorral goes on without it' 50
check "dbus: the bus gone: said in the log" grep -q 'the connection failed; gorral goes on without it' "$TMP/log"
check "dbus: the bus gone: gorral still supervises" bash -c "GORRAL_SOCKET='$TMP/ctl.sock' '$GORRAL' status web >/dev/null"
