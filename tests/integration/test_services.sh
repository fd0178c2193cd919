#!/usr/bin/env bash
# gorral run -c FILE on real processes: start order (completed one-shot,
# ready by start grace), a crash restarts only its service, a critical
# service that gives up stops the rest in reverse order and sets the exit
# status, the status rule without a critical service, reload (add, remove,
# change, keep in one SIGHUP; a broken file changes nothing), and a bad
# file refused before anything starts. Both builds.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$here/run_helpers.sh"

# pid_of LOG SERVICE: the pid of the last spawn of SERVICE in a gorral log.
pid_of() {
	sed -n "s/.*event=spawn service=$2 pid=\([0-9]*\).*/\1/p" "$1" | tail -1
}

build_helper sdnotify
build_helper chunky

builds=("dynamic:$GORRAL")
[ -n "${GORRAL_STATIC:-}" ] && [ -x "$GORRAL_STATIC" ] && builds+=("static:$GORRAL_STATIC")

for b in "${builds[@]}"; do
	kind=${b%%:*} G=${b#*:}
	d=$TMP/$kind
	mkdir -p "$d"
	export LOG=$d/order.log

	# 1. Start order: api waits for migrate to complete and for cache to
	# be ready (no probe: alive past its 300 ms start grace).
	cat >"$d/order.yaml" <<-'EOF'
	services:
	  api:
	    command: [sh, -c, 'echo api >>"$LOG"; exec sleep 30']
	    depends_on: {migrate: completed, cache: ready}
	  migrate:
	    command: [sh, -c, 'echo migrate >>"$LOG"; sleep 0.3; echo migrated >>"$LOG"']
	    restart: "no"
	  cache:
	    command: [sh, -c, 'echo cache >>"$LOG"; exec sleep 30']
	    start_grace: 300ms
	EOF
	: >"$LOG"
	"$G" run -c "$d/order.yaml" 2>"$d/order.err" &
	gp=$!
	if wait_grep "$LOG" '^api$' 50; then
		got=$(paste -sd, "$LOG")
		# migrate and cache start together; api after both conditions.
		case $got in
		migrate,cache,migrated,api | cache,migrate,migrated,api) pass "$kind: start order (completed, ready)" ;;
		*) fail "$kind: start order (completed, ready)" "order $got" ;;
		esac
	else
		fail "$kind: start order (completed, ready)" "api never started: $(paste -sd, "$LOG"); $(tail -3 "$d/order.err")"
	fi
	check "$kind: ready logged for cache" grep -q 'event=ready service=cache how=start-grace' "$d/order.err"
	kill -TERM $gp
	wait $gp
	expect_eq "$kind: SIGTERM: no critical, none failed: status 0" "$?" "0"

	# 1b. Readiness by sd_notify: web waits for READY=1 from cache, which
	# sends it 0.5 s after its start over the socket gorral gave it; a
	# probe that never passes fails the start, and its dependent says why.
	cat >"$d/notify.yaml" <<-EOF
	services:
	  cache:
	    command: [$TMP/sdnotify, --sleep, "500", --then-sleep, "60000", READY=1, STATUS=warm]
	    ready: {notify: true, timeout: 10s}
	  web:
	    command: [sleep, "30"]
	    depends_on: {cache: ready}
	  mute:
	    command: [sleep, "30"]
	    ready: {notify: true, timeout: 300ms}
	  after_mute:
	    command: [sleep, "30"]
	    depends_on: {mute: ready}
	  port:
	    command: [sleep, "30"]
	    ready: {tcp: "127.0.0.1:1", interval: 50ms, timeout: 300ms}
	  ok_exec:
	    command: [sleep, "30"]
	    ready: {exec: [test, -e, $d/flag], interval: 50ms, timeout: 10s}
	EOF
	rm -f "$d/flag"
	t0=$(date +%s%N)
	"$G" run -c "$d/notify.yaml" 2>"$d/notify.err" &
	gp=$!
	(sleep 0.4; : >"$d/flag") &
	if wait_grep "$d/notify.err" 'event=spawn service=web' 50; then
		t1=$(date +%s%N)
		check "$kind: notify: web started after cache's READY=1 (>= 0.5 s)" [ $(((t1 - t0) / 1000000)) -ge 500 ]
		check "$kind: notify: ready logged" grep -q 'event=ready service=cache how=notify' "$d/notify.err"
	else
		fail "$kind: notify: web started after cache's READY=1" "$(grep -v limits "$d/notify.err" | tail -3)"
	fi
	st=
	for _ in $(seq 50); do
		st=$("$G" status --json cache 2>&1)
		grep -q '"status": *"warm"' <<<"$st" && break
		sleep 0.1
	done
	check "$kind: notify: STATUS= reaches gorral status --json" grep -q '"status": *"warm"' <<<"$st"
	check "$kind: exec probe: ready once its command succeeds" wait_grep "$d/notify.err" 'event=ready service=ok_exec how=exec' 50
	check "$kind: notify timeout: the start fails" wait_grep "$d/notify.err" 'event=ready_failed service=mute msg="no READY=1 within 0.3s"' 50
	check "$kind: notify timeout: its dependent is not started, and says why" \
		wait_grep "$d/notify.err" 'event=dependency_failed service=after_mute dependency=mute condition=ready' 50
	check "$kind: tcp probe that never passes fails the start" wait_grep "$d/notify.err" 'event=ready_failed service=port' 50
	kill -TERM $gp
	wait $gp

	# 1c. output.prefix: every line whole and prefixed, a partial last line
	# flushed, a long line split and said so; without it, untouched.
	cat >"$d/prefix.yaml" <<-EOF
	output: {prefix: true}
	services:
	  alpha:
	    command: [$TMP/chunky, A, "300", "70000", tailA]
	  beta:
	    command: [$TMP/chunky, B, "300", "0", tailB]
	EOF
	timeout 30 "$G" run -c "$d/prefix.yaml" >"$d/prefix.out" 2>"$d/prefix.err"
	expect_eq "$kind: prefix: every stdout line whole and prefixed" \
		"$(grep -cE '^(alpha \| A out [0-9]{6} abcdefghij|beta  \| B out [0-9]{6} abcdefghij)$' "$d/prefix.out")" "600"
	expect_eq "$kind: prefix: every stderr line whole and prefixed" \
		"$(grep -cE '^(alpha \| A err [0-9]{6} ABCDEFGHIJ|beta  \| B err [0-9]{6} ABCDEFGHIJ)$' "$d/prefix.err")" "600"
	check "$kind: prefix: partial last lines flushed at exit" \
		bash -c "grep -qx 'alpha | tailA' '$d/prefix.out' && grep -qx 'beta  | tailB' '$d/prefix.out'"
	check "$kind: prefix: a 70000-byte line is split, the rest marked" grep -q '^alpha + ' "$d/prefix.out"
	printf 'services:\n  solo:\n    command: [%s, S, "3", "0", ""]\n' "$TMP/chunky" >"$d/plain.yaml"
	timeout 30 "$G" run -c "$d/plain.yaml" >"$d/plain.out" 2>/dev/null
	expect_eq "$kind: without output.prefix: output untouched" "$(head -1 "$d/plain.out")" "S out 000000 abcdefghij"

	# 2. A crash restarts only that service.
	cat >"$d/crash.yaml" <<-EOF
	services:
	  steady:
	    command: [sleep, "30"]
	  flaky:
	    command: [sh, -c, 'if [ -e "$d/crashed" ]; then exec sleep 30; fi; : >"$d/crashed"; exit 3']
	    restart: on-failure
	    backoff: {initial: 50ms}
	EOF
	rm -f "$d/crashed"
	"$G" run -c "$d/crash.yaml" 2>"$d/crash.err" &
	gp=$!
	if wait_grep "$d/crash.err" 'event=restart service=flaky' 50 && wait_grep "$d/crash.err" 'event=spawn service=flaky.*start=2' 50; then
		expect_eq "$kind: crash restarts only its service" \
			"$(grep -c 'event=spawn service=steady' "$d/crash.err")/$(grep -c 'event=spawn service=flaky' "$d/crash.err")" "1/2"
		# Each start's limits decision names its service (two lines a start).
		expect_eq "$kind: each limits line names its service (steady/flaky/unnamed)" \
			"$(grep -c 'event=limits service=steady ' "$d/crash.err")/$(grep -c 'event=limits service=flaky ' "$d/crash.err")/$(grep 'event=limits ' "$d/crash.err" | grep -vc 'event=limits service=')" "2/4/0"
	else
		fail "$kind: crash restarts only its service" "$(tail -5 "$d/crash.err")"
	fi
	kill -TERM $gp
	wait $gp

	# 3. A critical service that gives up stops the rest in reverse
	# dependency order (web depends on db: web stops first) and sets
	# gorral's status.
	cat >"$d/crit.yaml" <<-EOF
	services:
	  db:
	    command: [sh, -c, 'trap "echo db-stop >>$d/crit.log; exit 0" TERM; echo db >>$d/crit.log; while :; do sleep 0.05; done']
	  web:
	    command: [sh, -c, 'trap "sleep 0.2; echo web-stop >>$d/crit.log; exit 0" TERM; echo web >>$d/crit.log; while :; do sleep 0.05; done']
	    depends_on: {db: started}
	  boss:
	    command: [sh, -c, 'sleep 0.5; exit 3']
	    depends_on: {web: started}
	    critical: true
	    restart: on-failure
	    restart_budget: {restarts: 1, window: 1m}
	    backoff: {initial: 20ms}
	EOF
	: >"$d/crit.log"
	timeout 30 "$G" run -c "$d/crit.yaml" 2>"$d/crit.err"
	rc=$?
	expect_eq "$kind: critical gave up: gorral exits with its status" "$rc" "3"
	# db and web start together (web needs db only spawned, so their first
	# lines may come in either order); web must stop before db.
	expect_eq "$kind: reverse dependency order at shutdown" \
		"$(head -2 "$d/crit.log" | sort | paste -sd,),$(tail -n +3 "$d/crit.log" | paste -sd,)" "db,web,web-stop,db-stop"
	check "$kind: give_up logged" grep -q 'event=give_up service=boss' "$d/crit.err"

	# 4. Without a critical service: gorral exits when all are done, with
	# the status of the first that failed.
	cat >"$d/first.yaml" <<-'EOF'
	services:
	  ok:
	    command: [true]
	  bad:
	    command: [sh, -c, 'sleep 0.1; exit 4']
	  worse:
	    command: [sh, -c, 'sleep 0.4; exit 5']
	EOF
	timeout 30 "$G" run -c "$d/first.yaml" 2>"$d/first.err"
	expect_eq "$kind: no critical: status of the first that failed" "$?" "4"

	# 5. A dependency that fails: its dependent is not started, and says why.
	cat >"$d/depfail.yaml" <<-'EOF'
	services:
	  migrate:
	    command: [sh, -c, 'exit 1']
	  api:
	    command: [sleep, "30"]
	    depends_on: {migrate: completed}
	EOF
	timeout 30 "$G" run -c "$d/depfail.yaml" 2>"$d/depfail.err"
	rc=$?
	check "$kind: failed dependency: dependent not started" bash -c "! grep -q 'event=spawn service=api' '$d/depfail.err'"
	check "$kind: failed dependency: said why" grep -q 'event=dependency_failed service=api dependency=migrate condition=completed' "$d/depfail.err"
	expect_eq "$kind: failed dependency: status of the failed one" "$rc" "1"

	# 6. Reload: keep one, remove one, change one, add one in one SIGHUP;
	# then a broken file changes nothing.
	cat >"$d/reload.yaml" <<-'EOF'
	services:
	  keep:
	    command: [sleep, "60"]
	  gone:
	    command: [sleep, "61"]
	  change:
	    command: [sleep, "62"]
	  policy:
	    command: [sleep, "63"]
	    restart: "no"
	EOF
	"$G" run -c "$d/reload.yaml" 2>"$d/reload.err" &
	gp=$!
	wait_grep "$d/reload.err" 'event=spawn service=policy' 50
	keep1=$(pid_of "$d/reload.err" keep) change1=$(pid_of "$d/reload.err" change) policy1=$(pid_of "$d/reload.err" policy)
	cat >"$d/reload.yaml" <<-'EOF'
	services:
	  keep:
	    command: [sleep, "60"]
	  change:
	    command: [sleep, "64"]
	  policy:
	    command: [sleep, "63"]
	    restart: always
	  added:
	    command: [sleep, "65"]
	EOF
	kill -HUP $gp
	if wait_grep "$d/reload.err" 'event=spawn service=added' 50 && wait_grep "$d/reload.err" 'event=spawn service=change.*start=1' 50 &&
		wait_grep "$d/reload.err" 'event=removed service=gone' 50; then
		pass "$kind: reload: added started, removed stopped"
	else
		fail "$kind: reload: added started, removed stopped" "$(grep -E 'reload|removed|added' "$d/reload.err" | tail -5)"
	fi
	sleep 0.2
	change2=$(pid_of "$d/reload.err" change)
	expect_eq "$kind: reload: unchanged service left alone" "$(pid_of "$d/reload.err" keep)" "$keep1"
	expect_eq "$kind: reload: policy-only change applied without a restart" "$(pid_of "$d/reload.err" policy)" "$policy1"
	check "$kind: reload: changed service restarted with its new command" \
		bash -c "[ '$change2' != '$change1' ] && grep -q 'sleep 64' /proc/$change2/cmdline 2>/dev/null || tr '\\0' ' ' </proc/$change2/cmdline | grep -q 'sleep 64'"
	check "$kind: reload: counts logged" grep -q 'event=reload .*added=1 removed=1 changed=1 policy_only=1 unchanged=1' "$d/reload.err"
	printf 'services:\n  keep:\n    command: "not a list"\n' >"$d/reload.yaml"
	kill -HUP $gp
	if wait_grep "$d/reload.err" 'event=reload_failed' 50; then
		sleep 0.1
		expect_eq "$kind: broken reload changes nothing" \
			"$(pid_of "$d/reload.err" keep)/$(pid_of "$d/reload.err" added)/$(grep -c 'event=spawn' "$d/reload.err")" \
			"$keep1/$(pid_of "$d/reload.err" added)/6"
		check "$kind: broken reload: the error names file, line and column" grep -q 'event=reload_error .*line=3 column=' "$d/reload.err"
	else
		fail "$kind: broken reload changes nothing" "no reload_failed: $(tail -3 "$d/reload.err")"
	fi
	kill -TERM $gp
	wait $gp
	expect_eq "$kind: after reloads, SIGTERM stops all: status 0" "$?" "0"

	# 6b. A reload while the previous one is still being applied (a changed
	# service that ignores SIGTERM is still stopping) is refused.
	cat >"$d/busy.yaml" <<-'EOF'
	services:
	  stubborn:
	    command: [sh, -c, 'trap "" TERM; while :; do sleep 0.05; done']
	    stop_timeout: 2s
	EOF
	"$G" run -c "$d/busy.yaml" 2>"$d/busy.err" &
	gp=$!
	wait_grep "$d/busy.err" 'event=spawn service=stubborn' 50
	sed -i 's/sleep 0.05/sleep 0.06/' "$d/busy.yaml"
	kill -HUP $gp
	wait_grep "$d/busy.err" 'event=reload .*changed=1' 50
	kill -HUP $gp
	check "$kind: a reload during a reload is refused" wait_grep "$d/busy.err" 'event=reload_refused' 30
	for _ in $(seq 50); do [ "$(grep -c 'event=spawn service=stubborn' "$d/busy.err")" -ge 2 ] && break; sleep 0.1; done
	expect_eq "$kind: ... and the first one completes (SIGKILL at the stop timeout, then the new command)" \
		"$(grep -c 'event=spawn service=stubborn' "$d/busy.err")/$(grep -c 'event=kill service=stubborn' "$d/busy.err")" "2/1"
	kill -TERM $gp
	wait $gp 2>/dev/null

	# 7. A bad file stops gorral before anything starts.
	printf 'services:\n  a:\n    command: [sleep, "30"]\n    stop_timeout: 10 seconds\n' >"$d/bad.yaml"
	"$G" run -c "$d/bad.yaml" >"$d/bad.out" 2>&1
	rc=$?
	expect_eq "$kind: bad file: exit 2" "$rc" "2"
	check "$kind: bad file: nothing started" bash -c "! grep -q 'event=spawn' '$d/bad.out'"
	check "$kind: bad file: FILE:LINE:COLUMN error" grep -q "^$d/bad.yaml:4:[0-9]*: .*stop_timeout" "$d/bad.out"
done
