#!/usr/bin/env bash
# The control clients (gorral status, start, stop, restart, reload,
# signal) against the real control server (src/control.c, in the
# tests/helpers/ctlserver.c harness with fake services), and against
# servers that misbehave (silent, garbage, absent). Both builds.
# The same commands against a live `gorral run -c` come with the
# supervisor's integration.
source "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)

if ! cc -std=gnu11 -O1 -I"$ROOT/include" -D_GNU_SOURCE -DGORRAL_VERSION='"test"' -o "$TMP/ctlserver" \
	"$ROOT/tests/helpers/ctlserver.c" "$ROOT"/src/{control,json,loop,log,util}.c 2>"$TMP/cc.log"; then
	fail "build ctlserver" "$(head -5 "$TMP/cc.log")"
	exit 1
fi

SOCK=$TMP/ctl.sock
LOG=$TMP/ctl.log
: >"$LOG"
"$TMP/ctlserver" "$SOCK" "$LOG" >"$TMP/ready" &
SRV=$!
for ((i = 0; i < 50; i++)); do [ -s "$TMP/ready" ] && break; sleep 0.1; done
[ -s "$TMP/ready" ] || { fail "ctlserver starts" "no ready line"; exit 1; }
expect_eq "socket is 0600" "$(stat -c %a "$SOCK")" 600

# run_ctl G ARGS...: sets rc, out, err.
run_ctl() {
	local g=$1; shift
	out=$("$g" "$@" 2>"$TMP/err"); rc=$?
	err=$(cat "$TMP/err")
}

for v in "dynamic:$GORRAL" "static:${GORRAL_STATIC:-}"; do
	kind=${v%%:*} G=${v#*:}
	[ -x "$G" ] || { skip_static "$kind: control clients" "binary $G not built"; continue; }

	run_ctl "$G" status --control "$SOCK"
	expect_eq "$kind: status exits 0" "$rc" 0
	expect_eq "$kind: status header" "$(sed -n 1p <<<"$out" | tr -s ' ')" \
		"NAME STATE PID UPTIME RESTARTS LAST-EXIT CG-MODE CGROUP GOMAXPROCS GOMEMLIMIT THREADS GOROUTINES RSS THROTTLED FINDINGS"
	expect_eq "$kind: status row, humanised (with the latest sample)" "$(sed -n 2p <<<"$out" | tr -s ' ')" \
		"api running 4242 1h2m 1 2 own /gorral/api 2 512MiB 14 1056 17.4MiB 37 leak/goroutines,throttling"
	expect_eq "$kind: nulls are '-', control bytes '?', no sample is '-', a scope where no cgroup" "$(sed -n 3p <<<"$out" | tr -s ' ')" \
		"db?[2J backoff - 0s 4 - scope gorral-db-7.scope 2 - - - - - -"
	# Columns line up: the last column starts where its header does, in every row.
	bad=$(awk 'NR == 1 { p = index($0, "GOMEMLIMIT") } substr($0, p - 2, 2) != "  " || substr($0, p, 1) == " " { print NR }' <<<"$out")
	expect_eq "$kind: the last column lines up in every row" "$bad" ""

	GORRAL_SOCKET=$SOCK run_ctl "$G" status --json
	expect_eq "$kind: status --json exits 0" "$rc" 0
	got=$(python3 -c 'import json,sys; d=json.load(sys.stdin); s=d["services"]; print(len(s), s[0]["pid"], s[0]["gomemlimit"], s[1]["pid"], repr(s[1]["name"]), sorted(d))' <<<"$out" 2>&1)
	expect_eq "$kind: --json is valid JSON with the services (GORRAL_SOCKET)" "$got" "2 4242 536870912 None 'db\\x1b[2J' ['services']"

	run_ctl "$G" status api --json --control="$SOCK"
	got=$(python3 -c 'import json,sys; d=json.load(sys.stdin); print([s["name"] for s in d["services"]])' <<<"$out" 2>&1)
	expect_eq "$kind: status NAME" "$got" "['api']"
	run_ctl "$G" status nope --control "$SOCK"
	expect_eq "$kind: status of an unknown service exits 1" "$rc" 1
	check "$kind: ... and says so" grep -q "no service 'nope'" <<<"$err"

	: >"$LOG"
	for c in start stop restart; do
		run_ctl "$G" $c api --control "$SOCK"
		expect_eq "$kind: $c api exits 0 silently" "$rc:$out:$err" "0::"
	done
	run_ctl "$G" signal api hup --control "$SOCK"
	expect_eq "$kind: signal api hup exits 0" "$rc" 0
	run_ctl "$G" signal api 10 --control "$SOCK"
	run_ctl "$G" reload --control "$SOCK"
	expect_eq "$kind: reload exits 0" "$rc" 0
	expect_eq "$kind: the server got each command" "$(tr '\n' ';' <"$LOG")" \
		"start api -;stop api -;restart api -;signal api SIGHUP;signal api SIGUSR1;reload - -;"
	run_ctl "$G" stop nope --control "$SOCK"
	expect_eq "$kind: stop of an unknown service exits 1" "$rc" 1
	check "$kind: ... with the server's message" grep -q "gorral stop: no service 'nope'" <<<"$err"

	: >"$LOG"
	run_ctl "$G" signal api BOGUS --control "$SOCK"
	expect_eq "$kind: a bad signal is a usage error" "$rc" 2
	run_ctl "$G" stop --control "$SOCK"
	expect_eq "$kind: stop without NAME is a usage error" "$rc" 2
	run_ctl "$G" reload extra --control "$SOCK"
	expect_eq "$kind: reload with an argument is a usage error" "$rc" 2
	run_ctl "$G" start --json api --control "$SOCK"
	expect_eq "$kind: --json belongs to status only" "$rc" 2
	run_ctl "$G" status --timeout 0 --control "$SOCK"
	expect_eq "$kind: --timeout 0 is a usage error" "$rc" 2
	expect_eq "$kind: usage errors send nothing" "$(cat "$LOG")" ""
	for c in status start stop restart reload signal; do
		run_ctl "$G" $c --help
		check "$kind: $c --help exits 0 and documents 69" grep -q "69 no gorral answers" <<<"$out"
		[ "$rc" -eq 0 ] || fail "$kind: $c --help" "exit $rc"
	done
	run_ctl "$G" status --version
	expect_eq "$kind: status --version" "$rc:$out" "0:$("$G" --version)"

	run_ctl "$G" status --control "$TMP/none.sock"
	expect_eq "$kind: no socket exits 69" "$rc" 69
	check "$kind: ... and says no gorral listens" grep -q "no gorral is listening on $TMP/none.sock" <<<"$err"
	env -u GORRAL_SOCKET -u XDG_RUNTIME_DIR setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$G" status >"$TMP/out" 2>"$TMP/err"; rc=$?
	expect_eq "$kind: no path known (not root, no XDG_RUNTIME_DIR) is a usage error" "$rc" 2
	chmod 755 "$TMP"
	setpriv --reuid=65534 --regid=65534 --clear-groups "$G" status --control "$SOCK" >"$TMP/out" 2>"$TMP/err"; rc=$?
	expect_eq "$kind: another uid cannot connect (0600): 69" "$rc" 69
	check "$kind: ... permission denied" grep -qi "permission denied" "$TMP/err"
	chmod 700 "$TMP"
done

# Misbehaving servers, in Python: one that never answers, one that answers
# garbage, one that answers a line with no "ok".
cat >"$TMP/badserver.py" <<'PY'
import os, socket, sys, time
path, mode = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path); s.listen(8)
print("ready", flush=True)
while True:
    c, _ = s.accept()
    if mode == "silent":
        time.sleep(30)
    c.recv(65536)
    c.sendall(b"not json\n" if mode == "garbage" else b'{"services":[]}\n')
    c.close()
PY
for mode in silent garbage nook; do
	python3 "$TMP/badserver.py" "$TMP/$mode.sock" $mode >"$TMP/$mode.ready" &
	pids+=($!)
done
for ((i = 0; i < 50; i++)); do [ -s "$TMP/nook.ready" ] && [ -s "$TMP/silent.ready" ] && [ -s "$TMP/garbage.ready" ] && break; sleep 0.1; done
G=$GORRAL
t0=$(date +%s%N)
run_ctl "$G" status --control "$TMP/silent.sock" --timeout 500ms
ms=$((($(date +%s%N) - t0) / 1000000))
expect_eq "a silent server: exit 69" "$rc" 69
check "a silent server: gives up at --timeout (${ms}ms)" test "$ms" -ge 450 -a "$ms" -lt 3000
check "a silent server: says it timed out" grep -q "timed out" <<<"$err"
run_ctl "$G" status --control "$TMP/garbage.sock"
expect_eq "a garbage answer: exit 71" "$rc" 71
check "a garbage answer: says where" grep -q "unreadable answer.*at byte 0" <<<"$err"
run_ctl "$G" stop api --control "$TMP/nook.sock"
expect_eq "an answer without ok: exit 71" "$rc" 71
kill "${pids[@]}" 2>/dev/null; wait "${pids[@]}" 2>/dev/null

# Bad clients do not stall the real server: a silent one, one sending
# 10 MiB, nine at once; meanwhile status answers and the loop's 20 ms
# ticker stays on time.
python3 - "$SOCK" <<'PY' &
import socket, sys, time
path = sys.argv[1]
silent = [socket.socket(socket.AF_UNIX) for _ in range(3)]
for s in silent: s.connect(path)
f = socket.socket(socket.AF_UNIX); f.connect(path)
try:
    f.sendall(b"{" + b"x" * (10 << 20))
except OSError:
    pass
time.sleep(1.5)
PY
BAD=$!
sleep 0.3
t0=$(date +%s%N)
run_ctl "$GORRAL" status --control "$SOCK"
ms=$((($(date +%s%N) - t0) / 1000000))
expect_eq "status answers beside a flood and silent clients" "$rc" 0
check "... at once (${ms}ms)" test "$ms" -lt 1000
wait $BAD
kill -TERM $SRV; wait $SRV
late=$(sed -n 's/^max_late_us=//p' "$LOG")
check "the server's 20 ms timer was never late by 100 ms (worst ${late}us)" test "${late:-999999}" -lt 100000
check "the server removed its socket on exit" test ! -e "$SOCK"

# ---- against a live gorral run -c ----
# The commands on real services; another uid refused; a client that sends
# nothing and one that sends 10 MiB do not delay a signal gorral forwards.
LIVE=$TMP/live
mkdir -p "$LIVE"
for v in "dynamic:$GORRAL" "static:${GORRAL_STATIC:-}"; do
	kind=${v%%:*} G=${v#*:}
	[ -x "$G" ] || continue
	sock=$LIVE/$kind.sock
	cat >"$LIVE/$kind.yaml" <<-EOF
	control: {socket: $sock}
	services:
	  api:
	    command: [sh, -c, 'trap "date +%s%N >>$LIVE/$kind.usr1" USR1; while :; do sleep 0.05; done']
	  worker:
	    command: [sleep, "60"]
	    restart: always
	EOF
	rm -f "$LIVE/$kind.usr1"
	"$G" run -c "$LIVE/$kind.yaml" 2>"$LIVE/$kind.err" &
	gp=$!
	for _ in $(seq 50); do [ -S "$sock" ] && grep -q 'service=worker' "$LIVE/$kind.err" && break; sleep 0.1; done
	out=$("$G" status --control "$sock" 2>&1)
	check "$kind live: status lists both services, alive" \
		bash -c "grep -qE '^api +(starting|running) +[0-9]+ ' <<<'$out' && grep -qE '^worker +(starting|running) +[0-9]+ ' <<<'$out'"
	js=$("$G" status --json --control "$sock" worker 2>&1)
	check "$kind live: status --json is valid JSON with the issue's fields" python3 -c '
import json, sys
d = json.loads(sys.argv[1]); s = d["services"][0]
assert s["name"] == "worker" and s["state"] in ("starting", "running") and isinstance(s["pid"], int)
for k in ("restarts", "last_exit", "uptime_seconds", "cgroup", "gomaxprocs", "gomemlimit"): assert k in s, k' "$js"
	w1=$(sed -n 's/.*event=spawn service=worker pid=\([0-9]*\).*/\1/p' "$LIVE/$kind.err" | tail -1)
	"$G" restart --control "$sock" worker
	expect_eq "$kind live: restart: ok" "$?" "0"
	for _ in $(seq 50); do [ "$(grep -c 'event=spawn service=worker' "$LIVE/$kind.err")" -ge 2 ] && break; sleep 0.1; done
	w2=$(sed -n 's/.*event=spawn service=worker pid=\([0-9]*\).*/\1/p' "$LIVE/$kind.err" | tail -1)
	check "$kind live: restart: a new worker process" test -n "$w2" -a "$w1" != "$w2"
	"$G" stop --control "$sock" worker
	expect_eq "$kind live: stop: ok" "$?" "0"
	for _ in $(seq 50); do "$G" status --control "$sock" worker 2>/dev/null | grep -qE '^worker +done' && break; sleep 0.1; done
	check "$kind live: stop: worker done and not restarted (restart: always)" \
		bash -c "'$G' status --control '$sock' worker | grep -qE '^worker +done'"
	check "$kind live: gorral stays up with a stopped service" kill -0 $gp
	"$G" start --control "$sock" worker
	expect_eq "$kind live: start: ok" "$?" "0"
	"$G" stop --control "$sock" nosuch 2>"$LIVE/err.txt"
	expect_eq "$kind live: unknown service: exit 1" "$?" "1"
	check "$kind live: unknown service: said so" grep -q "no service 'nosuch'" "$LIVE/err.txt"
	"$G" signal --control "$sock" api USR1
	expect_eq "$kind live: signal: ok" "$?" "0"
	for _ in $(seq 30); do [ -s "$LIVE/$kind.usr1" ] && break; sleep 0.1; done
	check "$kind live: signal: api got USR1" test -s "$LIVE/$kind.usr1"
	"$G" reload --control "$sock"
	expect_eq "$kind live: reload: ok" "$?" "0"
	check "$kind live: reload: logged" grep -q 'event=reload .*unchanged=2' "$LIVE/$kind.err"
	if command -v setpriv >/dev/null; then
		chmod 0777 "$LIVE"
		setpriv --reuid 65534 --regid 65534 --clear-groups "$G" status --control "$sock" >/dev/null 2>&1
		expect_eq "$kind live: another uid is refused (exit 69)" "$?" "69"
	else
		skip "$kind live: another uid" "setpriv (util-linux) not installed"
	fi
	# A silent client and a 10 MiB one, then USR1 to gorral: forwarded at once.
	: >"$LIVE/$kind.usr1"
	python3 - "$sock" <<-'PY' &
	import socket, sys, time
	path = sys.argv[1]
	silent = socket.socket(socket.AF_UNIX); silent.connect(path)
	f = socket.socket(socket.AF_UNIX); f.connect(path)
	try:
	    f.sendall(b"{" + b"x" * (10 << 20))
	except OSError:
	    pass
	time.sleep(2)
	PY
	bad=$!
	sleep 0.3
	t0=$(date +%s%N)
	kill -USR1 $gp
	for _ in $(seq 100); do [ -s "$LIVE/$kind.usr1" ] && break; sleep 0.01; done
	t1=$(head -1 "$LIVE/$kind.usr1")
	ms=$(( (${t1:-0} - t0) / 1000000 ))
	check "$kind live: a silent and a 10 MiB client do not delay a forwarded signal (${ms} ms)" \
		test -n "$t1" -a "$ms" -lt 1000
	wait $bad
	kill -TERM $gp
	wait $gp
	expect_eq "$kind live: SIGTERM: status 0" "$?" "0"
	check "$kind live: socket removed at exit" test ! -e "$sock"
done
