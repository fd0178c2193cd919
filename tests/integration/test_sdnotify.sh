#!/usr/bin/env bash
# gorral as a Type=notify / notify-reload service, against a NOTIFY_SOCKET
# the test owns (tests/helpers/notify_listen.py: the exact datagrams, the
# credentials the kernel attached, the time they came): READY=1 only once
# the services are up, STATUS= that follows changes, RELOADING=1 with
# MONOTONIC_USEC then READY=1 around a reload, STOPPING=1, the watchdog's
# WATCHDOG=1 at half of WATCHDOG_USEC that stops while gorral is stopped
# or a critical service is down, and nothing at all without NOTIFY_SOCKET.
# Then a service's own watchdog (`watchdog:`): its environment, a missed
# ping restarts it by SIGABRT (a Go service prints its stacks), a finding
# where it is watched, WATCHDOG=trigger, on_watchdog: log. Both builds.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$here/run_helpers.sh"

build_helper sdnotify
LISTEN=$here/../helpers/notify_listen.py
SVC=$GOAPPS/goservice

# listen NAME: a listener on $TMP/NAME.sock writing $TMP/NAME.dgrams.
LPID=
listen() {
	rm -f "$TMP/$1.dgrams"
	python3 "$LISTEN" "$TMP/$1.sock" >"$TMP/$1.dgrams" 2>"$TMP/$1.lerr" &
	LPID=$!
	wait_grep "$TMP/$1.lerr" listening 50
}
unlisten() { kill "$LPID" 2>/dev/null; wait "$LPID" 2>/dev/null; }
# field N of the first datagram line matching RE
first_match() { grep -m1 -E "$2" "$1" | cut -d' ' -f"$3"; }
mono_usec() { python3 -c 'import time; print(time.clock_gettime_ns(time.CLOCK_MONOTONIC)//1000)'; }

for b in $(gorral_variants); do
	kind=${b%%:*} G=${b#*:}
	d=$TMP/$kind
	mkdir -p "$d"

	# 1. READY=1 once cache (ready by notify, after 0.6 s) and web are up.
	cat >"$d/a.yaml" <<-EOF
	services:
	  cache:
	    command: [$TMP/sdnotify, --sleep, "600", --then-sleep, "60000", READY=1]
	    ready: {notify: true, timeout: 10s}
	  web:
	    command: [sleep, "60"]
	    depends_on: {cache: ready}
	EOF
	listen "$kind-a"
	t0=$(mono_usec)
	NOTIFY_SOCKET=$TMP/$kind-a.sock GORRAL_SOCKET=$d/ctl.sock "$G" run -c "$d/a.yaml" 2>"$d/a.err" &
	gp=$!
	D=$TMP/$kind-a.dgrams
	if wait_grep "$D" 'READY=1' 100; then
		line=$(grep -m1 'READY=1' "$D")
		tr=$(cut -d' ' -f1 <<<"$line")
		check "$kind: READY=1 only after cache's own READY=1 (>= 0.6 s)" [ $((tr - t0)) -ge 600000 ]
		check "$kind: READY=1 comes with STATUS=2/2 running, 0 findings and MAINPID" \
			grep -qF "READY=1|STATUS=2/2 running, 0 findings|MAINPID=$gp" <<<"$line"
		expect_eq "$kind: the datagram's credentials name gorral (pid uid gid)" "$(cut -d' ' -f2-4 <<<"$line")" "$gp 0 0"
		check "$kind: before READY=1 the status said starting" grep -q 'STATUS=starting: ' <(sed '/READY=1/,$d' "$D")
		expect_eq "$kind: READY=1 sent once" "$(grep -c 'READY=1' "$D")" "1"
	else
		fail "$kind: READY=1" "none in 10 s: $(cat "$D"); $(tail -3 "$d/a.err")"
	fi
	# The services do not see gorral's NOTIFY_SOCKET (cache got its own).
	wpid=$(sed -n 's/.*event=spawn service=web pid=\([0-9]*\).*/\1/p' "$d/a.err" | tail -1)
	check "$kind: a service without notify gets no NOTIFY_SOCKET" \
		bash -c "! tr '\0' '\n' </proc/$wpid/environ | grep -q '^NOTIFY_SOCKET='"

	# 2. STATUS= follows: web stopped -> 1/2 running.
	GORRAL_SOCKET=$d/ctl.sock "$G" stop web >/dev/null 2>&1
	check "$kind: STATUS= follows a stop (1/2 running)" wait_grep "$D" 'STATUS=1/2 running, 0 findings' 50
	GORRAL_SOCKET=$d/ctl.sock "$G" start web >/dev/null 2>&1
	wait_grep "$D" 'STATUS=2/2 running.*' 50

	# 3. Reload (SIGHUP): RELOADING=1 + MONOTONIC_USEC, then READY=1 once
	# the added service (ready by notify after 0.4 s) is up.
	cat >>"$d/a.yaml" <<-EOF
	  late:
	    command: [$TMP/sdnotify, --sleep, "400", --then-sleep, "60000", READY=1]
	    ready: {notify: true, timeout: 10s}
	EOF
	kill -HUP $gp
	if wait_grep "$D" 'RELOADING=1' 50 && wait_grep "$D" 'READY=1.*3/3 running' 50; then
		line=$(grep -m1 'RELOADING=1' "$D")
		tr=$(cut -d' ' -f1 <<<"$line")
		mu=$(sed -n 's/.*MONOTONIC_USEC=\([0-9]*\).*/\1/p' <<<"$line")
		check "$kind: RELOADING=1 carries MONOTONIC_USEC of CLOCK_MONOTONIC (within 0.5 s of its arrival)" \
			[ -n "$mu" ] && [ $((tr - mu)) -ge 0 ] && [ $((tr - mu)) -lt 500000 ]
		ty=$(grep 'READY=1' "$D" | tail -1 | cut -d' ' -f1)
		check "$kind: READY=1 after the reload only once the added service is ready (0.4 s, less the listener's latency)" \
			[ $((ty - tr)) -ge 350000 ]
	else
		fail "$kind: reload: RELOADING=1 then READY=1" "$(tail -4 "$D"); $(tail -3 "$d/a.err")"
	fi
	# A broken file: READY=1 at once, the old services stay.
	echo 'services: {x: {command: 5}}' >"$d/a.yaml"
	n0=$(grep -c 'READY=1' "$D")
	kill -HUP $gp
	check "$kind: a refused reload answers READY=1 with STATUS=reload failed" \
		wait_grep "$D" 'READY=1\|STATUS=reload failed: the configuration has errors' 50
	check "$kind: ... once more (RELOADING=1 then READY=1)" [ "$(grep -c 'READY=1' "$D")" -eq $((n0 + 1)) ]

	# 4. SIGTERM: STOPPING=1.
	kill -TERM $gp
	wait $gp
	check "$kind: STOPPING=1 at the shutdown" grep -q 'STOPPING=1' "$D"
	unlisten

	# 5. The watchdog: WATCHDOG_USEC=400 ms -> a ping about every 200 ms
	# from gorral itself; none while gorral is stopped (SIGSTOP).
	listen "$kind-w"
	D=$TMP/$kind-w.dgrams
	NOTIFY_SOCKET=$TMP/$kind-w.sock WATCHDOG_USEC=400000 "$G" run -- sleep 60 2>"$d/w.err" &
	gp=$!
	sleep 1.3
	kill -STOP $gp
	ts=$(mono_usec)
	sleep 1
	te=$(mono_usec)
	kill -CONT $gp
	sleep 0.5
	kill -TERM $gp
	wait $gp
	unlisten
	pings=$(awk -v ts="$ts" '$1 < ts && $5 == "WATCHDOG=1"' "$D" | wc -l)
	check "$kind: watchdog: 5-8 pings in the first 1.3 s at WATCHDOG_USEC=400ms (got $pings)" [ "$pings" -ge 5 ] && [ "$pings" -le 8 ]
	gaps=$(awk -v ts="$ts" '$1 < ts && $5 == "WATCHDOG=1" { if (p) print $1 - p; p = $1 }' "$D" | sort -n)
	maxgap=$(tail -1 <<<"$gaps")
	check "$kind: watchdog: no gap above 300 ms while running (max ${maxgap:-none} us)" [ -n "$maxgap" ] && [ "$maxgap" -lt 300000 ]
	stopped=$(awk -v ts="$ts" -v te="$te" '$1 > ts + 50000 && $1 < te && $5 == "WATCHDOG=1"' "$D" | wc -l)
	expect_eq "$kind: watchdog: no ping while gorral is stopped (SIGSTOP)" "$stopped" "0"
	after=$(awk -v te="$te" '$1 > te && $5 == "WATCHDOG=1"' "$D" | wc -l)
	check "$kind: watchdog: pings again after SIGCONT ($after)" [ "$after" -ge 1 ]
	check "$kind: watchdog: pings come from gorral's pid" bash -c "awk '\$5 == \"WATCHDOG=1\" && \$2 != $gp' '$D' | grep -q . && exit 1 || exit 0"
	check "$kind: watchdog: READY=1 for one command too" grep -q "READY=1|STATUS=1/1 running, 0 findings|MAINPID=$gp" "$D"

	# WATCHDOG_PID naming another process: not ours, no pings.
	listen "$kind-p"
	NOTIFY_SOCKET=$TMP/$kind-p.sock WATCHDOG_USEC=200000 WATCHDOG_PID=1 "$G" run -- sleep 0.8 2>"$d/p.err"
	unlisten
	expect_eq "$kind: WATCHDOG_PID of another process: no pings" "$(grep -c 'WATCHDOG=1' "$TMP/$kind-p.dgrams")" "0"
	check "$kind: WATCHDOG_PID of another process: said so" grep -q 'WATCHDOG_PID names another process' "$d/p.err"

	# A critical service that crashed and waits to restart: no pings.
	cat >"$d/c.yaml" <<-EOF
	services:
	  core:
	    command: [sh, -c, 'sleep 0.3; exit 1']
	    critical: true
	    restart: always
	    backoff: {initial: 3s, jitter: 0}
	    start_grace: 100ms
	EOF
	listen "$kind-c"
	D=$TMP/$kind-c.dgrams
	NOTIFY_SOCKET=$TMP/$kind-c.sock WATCHDOG_USEC=200000 GORRAL_SOCKET=$d/ctl2.sock "$G" run -c "$d/c.yaml" 2>"$d/c.err" &
	gp=$!
	if wait_grep "$d/c.err" 'event=backoff|event=restart_scheduled|state=backoff|backoff' 50; then
		sleep 0.3
		ts=$(mono_usec)
		sleep 1
		te=$(mono_usec)
		held=$(awk -v ts="$ts" -v te="$te" '$1 > ts && $1 < te && $5 == "WATCHDOG=1"' "$D" | wc -l)
		expect_eq "$kind: watchdog: no ping while a critical service waits to restart" "$held" "0"
		check "$kind: watchdog: the log says why" grep -q 'not pinging.*critical service core exited and waits to restart' "$d/c.err"
	else
		fail "$kind: watchdog: critical service in backoff" "$(tail -3 "$d/c.err")"
	fi
	kill -TERM $gp
	wait $gp
	unlisten

	# 6. Nothing without NOTIFY_SOCKET: no datagram socket at all.
	if command -v strace >/dev/null; then
		# LeakSanitizer cannot run under ptrace: off for this run of the
		# ASan build (the other runs check for leaks).
		env -u NOTIFY_SOCKET ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
			strace -f -e trace=socket -o "$d/strace" "$G" run -- true 2>/dev/null
		check "$kind: without NOTIFY_SOCKET no datagram socket is opened" \
			bash -c "! grep -q 'SOCK_DGRAM' '$d/strace'"
	else
		skip "$kind: without NOTIFY_SOCKET" "strace is not installed"
	fi

	# 7. A service's own watchdog. (The pings come from short-lived
	# helpers that stay 150 ms: a sender that is gone before its datagram
	# is read cannot be checked as a process of the service, the race
	# sd_notify_barrier(3) exists for.) The Go service never pings: after
	# 600 ms it gets SIGABRT (the runtime prints its goroutines, exits 2)
	# and starts again; a shell that pings three times first.
	cat >"$d/s.yaml" <<-EOF
	services:
	  gosvc:
	    command: [$SVC, -listen, "127.0.0.1:0"]
	    watchdog: 600ms
	    restart: always
	    backoff: {initial: 100ms, jitter: 0}
	  pinger:
	    command: [sh, -c, 'echo "\$WATCHDOG_USEC \$NOTIFY_SOCKET" >$d/pinger.env; for i in 1 2 3 4 5 6; do $TMP/sdnotify --then-sleep 150 WATCHDOG=1; sleep 0.05; done; exec sleep 60']
	    watchdog: 500ms
	    on_watchdog: log
	  trig:
	    command: [sh, -c, 'sleep 0.2; $TMP/sdnotify --then-sleep 200 WATCHDOG=trigger; exec sleep 60']
	    watchdog: 30s
	    on_watchdog: log
	  mute:
	    command: [sleep, "60"]
	    watchdog: 400ms
	    detect: {watchdog: false}
	    backoff: {initial: 100ms, jitter: 0}
	    restart: always
	EOF
	GORRAL_SOCKET=$d/ctl3.sock "$G" run -c "$d/s.yaml" >"$d/s.out" 2>"$d/s.err" &
	gp=$!
	if wait_grep "$d/s.err" 'event=watchdog_restart service=gosvc' 50 &&
		wait_grep "$d/s.err" 'event=exit service=gosvc.*SIGABRT|event=exit service=gosvc.*status=2|event=exit service=gosvc' 50; then
		pass "$kind: service watchdog: no ping in 600 ms -> watchdog_timeout, SIGABRT"
		check "$kind: service watchdog: the Go runtime printed its stacks" \
			grep -q 'SIGABRT: abort\|goroutine 1 \[' "$d/s.out" "$d/s.err"
		check "$kind: service watchdog: it starts again" wait_grep "$d/s.err" 'event=spawn service=gosvc .*start=2' 30
		check "$kind: service watchdog: the finding was raised and resolved with the exit" \
			grep -q 'event=finding_resolved service=gosvc detector=watchdog' "$d/s.err"
	else
		fail "$kind: service watchdog: SIGABRT restart" "$(grep gosvc "$d/s.err" | tail -4)"
	fi
	check "$kind: service watchdog: WATCHDOG_USEC and NOTIFY_SOCKET in its environment" \
		grep -qE '^500000 @gorral/' "$d/pinger.env"
	if wait_grep "$d/s.err" 'event=watchdog_timeout service=pinger' 40; then
		tp=$(grep -c 'event=watchdog_timeout service=pinger' "$d/s.err")
		pass "$kind: service watchdog: pings for 1.2 s then silence -> timeout"
		check "$kind: service watchdog: on_watchdog: log does not restart" \
			bash -c "[ \$(grep -c 'event=spawn service=pinger' '$d/s.err') -eq 1 ]"
		expect_eq "$kind: service watchdog: one timeout per start" "$tp" "1"
	else
		fail "$kind: service watchdog: pinger timeout" "$(grep pinger "$d/s.err" | tail -3)"
	fi
	check "$kind: service watchdog: WATCHDOG=trigger fires at once (not after 30 s)" \
		wait_grep "$d/s.err" 'event=watchdog_timeout service=trig.*WATCHDOG=trigger' 30
	check "$kind: service watchdog: without its finding (detect.watchdog: false) it still restarts" \
		wait_grep "$d/s.err" 'event=watchdog_restart service=mute' 30
	check "$kind: ... and no watchdog finding is raised for it" \
		bash -c "! grep -q 'event=finding service=mute' '$d/s.err'"
	st=$(GORRAL_SOCKET=$d/ctl3.sock "$G" status --json 2>/dev/null)
	expect_eq "$kind: status: the trigger counted (watchdog_timeouts)" \
		"$(jq -r '.services[] | select(.name == "trig") | .watchdog_timeouts' <<<"$st")" "1"
	kill -TERM $gp
	wait $gp
done
