#!/usr/bin/env bash
# gorral run as PID 1 of a real PID namespace: zombie reaping of mass
# orphans, signal forwarding, exit codes, stop timeout and prompt exit.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/run_helpers.sh"

if ! is_root || ! unshare --pid --fork --mount-proc true 2>/dev/null; then
	skip "pid1" "cannot create a PID namespace (needs root and unshare)"
	exit 0
fi
for h in orphans zcount sigrec; do build_helper $h; done

NS=(unshare --pid --fork --mount-proc)
printf 'not a program\n' >"$TMP/noperm"; chmod 644 "$TMP/noperm"
printf '\001\002garbage' >"$TMP/noexec"; chmod 755 "$TMP/noexec"

for v in $(gorral_variants); do
	kind=${v%%:*} G=${v#*:}

	# 5000 orphans exiting at once: none left as zombie (counted inside).
	out=$("${NS[@]}" "$G" run --no-limits --log-level debug -- sh -c "$TMP/orphans 5000 && $TMP/zcount 5000" 2>"$TMP/orph.log")
	rc=$?
	expect_eq "$kind: 5000 orphans reaped as PID 1, zero zombies" "$out/$rc" "zombies=0/0"
	total=$(grep -o 'event=orphans reaped=[0-9]* total=[0-9]*' "$TMP/orph.log" | tail -1 | sed 's/.*total=//')
	expect_eq "$kind: orphan count logged at debug" "$total" "5000"
	grep -q 'pid1=true' "$TMP/orph.log" && pass "$kind: knows it is PID 1" || fail "$kind: knows it is PID 1" "no pid1=true in log"

	# Exit codes and 128+N pass through; exec failures are 127/126.
	"${NS[@]}" "$G" run --no-limits -- sh -c 'exit 42' 2>/dev/null
	expect_eq "$kind: exit code passes through" "$?" 42
	"${NS[@]}" "$G" run --no-limits -- sh -c 'kill -SEGV $$' 2>/dev/null
	expect_eq "$kind: death by SIGSEGV gives 139" "$?" 139
	"${NS[@]}" "$G" run --no-limits -- sh -c 'kill -KILL $$' 2>/dev/null
	expect_eq "$kind: death by SIGKILL gives 137" "$?" 137
	"${NS[@]}" "$G" run --no-limits -- /nonexistent/cmd 2>/dev/null
	expect_eq "$kind: command not found gives 127" "$?" 127
	"${NS[@]}" "$G" run --no-limits -- "$TMP/noperm" 2>/dev/null
	expect_eq "$kind: no execute permission gives 126" "$?" 126
	"${NS[@]}" "$G" run --no-limits -- "$TMP/noexec" 2>/dev/null
	expect_eq "$kind: exec format error gives 126" "$?" 126
	"${NS[@]}" "$G" run --no-limits --remap-exit 42:0 -- sh -c 'exit 42' 2>/dev/null
	expect_eq "$kind: --remap-exit 42:0" "$?" 0

	# Every forwarded signal reaches the child (one at a time, each
	# confirmed before the next); a --rewrite is applied.
	rec=$TMP/rec-$kind
	rm -f "$rec" "$rec.ready"
	"${NS[@]}" "$G" run --no-limits --rewrite USR1:USR2 -- "$TMP/sigrec" "$rec" 2>"$TMP/sig.log" &
	u=$!
	gp=$(ns_child $u)
	if ! wait_for_file "$rec.ready" || [ -z "$gp" ]; then
		fail "$kind: signal recorder started" "no ready file"
		kill -KILL $u 2>/dev/null; wait $u
	else
		missing=""
		# The fault signals and PIPE too: sent, they are forwarded (PID 1
		# would otherwise drop them, a subreaper die of them).
		for s in HUP QUIT USR1 USR2 WINCH CONT ALRM PWR TSTP URG VTALRM XCPU SEGV BUS ILL FPE ABRT TRAP SYS PIPE; do
			want=$s; [ $s = USR1 ] && want=USR2
			n0=$(grep -c . "$rec")
			kill -$s "$gp"
			ok=0
			for ((i = 0; i < 50; i++)); do
				[ "$(grep -c . "$rec")" -gt "$n0" ] && { ok=1; break; }
				sleep 0.02
			done
			[ $ok = 1 ] && [ "$(tail -1 "$rec")" = "$want" ] || missing="$missing $s"
		done
		kill -TERM "$gp"
		wait $u
		rc=$?
		expect_eq "$kind: every forwarded signal reached the child" "${missing:-none}" "none"
		expect_eq "$kind: SIGTERM reached the child, which exited 0" "$(tail -1 "$rec")/$rc" "TERM/0"
	fi

	# A child that ignores SIGTERM: SIGKILL at the stop timeout, and
	# gorral exits as soon as it is gone (timeout + small margin).
	rm -f "$rec" "$rec.ready"
	"${NS[@]}" "$G" run --no-limits --stop-timeout 1s -- "$TMP/sigrec" "$rec" --ignore-term 2>"$TMP/kill.log" &
	u=$!
	gp=$(ns_child $u)
	wait_for_file "$rec.ready"
	t0=$(now_ms)
	kill -TERM "$gp"
	wait $u
	rc=$?
	dt=$(( $(now_ms) - t0 ))
	expect_eq "$kind: TERM-ignoring child is SIGKILLed (137)" "$rc" 137
	if [ $dt -ge 1000 ] && [ $dt -lt 2500 ]; then pass "$kind: exit right after the 1s stop timeout (${dt} ms)"
	else fail "$kind: exit right after the 1s stop timeout" "took ${dt} ms"; fi

	# A child that exits on TERM: gorral exits long before the timeout.
	rm -f "$rec" "$rec.ready"
	"${NS[@]}" "$G" run --no-limits --stop-timeout 10s -- "$TMP/sigrec" "$rec" 2>/dev/null &
	u=$!
	gp=$(ns_child $u)
	wait_for_file "$rec.ready"
	t0=$(now_ms)
	kill -TERM "$gp"
	wait $u
	rc=$?
	dt=$(( $(now_ms) - t0 ))
	if [ $rc -eq 0 ] && [ $dt -lt 2000 ]; then pass "$kind: exits as soon as the child does (${dt} ms, timeout 10s)"
	else fail "$kind: exits as soon as the child does" "rc=$rc after ${dt} ms"; fi

	# Leftovers of the child's process group are stopped and waited for.
	t0=$(now_ms)
	"${NS[@]}" "$G" run --no-limits -- sh -c 'sleep 100 & exit 4' 2>"$TMP/left.log"
	rc=$? dt=$(( $(now_ms) - t0 ))
	if [ $rc -eq 4 ] && [ $dt -lt 2000 ] && grep -q 'event=cleanup' "$TMP/left.log"; then
		pass "$kind: group leftovers stopped, exit with the child's status (${dt} ms)"
	else fail "$kind: group leftovers stopped" "rc=$rc dt=${dt}ms"; fi

	# --drain-delay: TERM is held back; a second TERM forwards at once.
	rm -f "$rec" "$rec.ready"
	"${NS[@]}" "$G" run --no-limits --drain-delay 30s -- "$TMP/sigrec" "$rec" 2>"$TMP/drain.log" &
	u=$!
	gp=$(ns_child $u)
	wait_for_file "$rec.ready"
	t0=$(now_ms)
	kill -TERM "$gp"
	for ((i = 0; i < 50; i++)); do grep -qs 'event=drain ' "$TMP/drain.log" && break; sleep 0.02; done
	held=$(grep -c . "$rec")
	kill -TERM "$gp"
	wait $u
	rc=$? dt=$(( $(now_ms) - t0 ))
	if [ "$held" = 0 ] && [ $rc -eq 0 ] && [ $dt -lt 3000 ] && [ "$(tail -1 "$rec")" = TERM ]; then
		pass "$kind: --drain-delay holds SIGTERM, a second one forwards at once"
	else fail "$kind: --drain-delay" "held=$held rc=$rc dt=${dt}ms"; fi
done
