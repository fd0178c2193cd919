#!/usr/bin/env bash
# What the child inherits: only fds 0, 1, 2 (even when gorral itself was
# given more), an empty signal mask, only the ignored dispositions gorral's
# parent left (never 32-34), its own process group (or session with
# --setsid); stdout passes through untouched.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/run_helpers.sh"
build_helper fdlist
build_helper ignrt

for v in $(gorral_variants); do
	kind=${v%%:*} G=${v#*:}
	out=$("$G" run --log-level error -- "$TMP/fdlist" 3</dev/null 4>/dev/null 7<>"$TMP/extra" 2>/dev/null)
	expect_eq "$kind: only fds 0,1,2 reach the child (gorral had 3, 4, 7)" "$(echo "$out" | grep -o 'fds=[0-9,]*')" "fds=0,1,2"
	out=$("$G" run --log-level error --restart always --restart-budget 1 --backoff-initial 1ms -- "$TMP/fdlist" 3</dev/null 2>/dev/null)
	expect_eq "$kind: no fd leak across a restart" "$(echo "$out" | grep -o 'fds=[0-9,]*' | sort -u)" "fds=0,1,2"
	# What gorral's parent left ignored stays ignored in the child, as
	# across exec(2) and under tini (HUP 0x1, INT 0x2, QUIT 0x4, PIPE
	# 0x1000); what gorral changed itself is reset, and the mask is empty.
	out=$(trap '' INT QUIT PIPE HUP; "$G" run --log-level error -- "$TMP/fdlist" 2>/dev/null)
	expect_eq "$kind: parent's ignored signals kept, empty mask in the child" \
		"$(echo "$out" | grep -o 'sigblk=[0-9a-f]* sigign=[0-9a-f]*')" "sigblk=0000000000000000 sigign=0000000000001007"
	out=$(env --default-signal "$G" run --log-level error -- "$TMP/fdlist" 2>/dev/null)
	expect_eq "$kind: nothing ignored by the parent: default dispositions in the child" \
		"$(echo "$out" | grep -o 'sigblk=[0-9a-f]* sigign=[0-9a-f]*')" "sigblk=0000000000000000 sigign=0000000000000000"
	# The C library's reserved real-time signals (32-34), ignored by the
	# parent, are reset (both builds alike, though glibc reserves only 32
	# and 33).
	out=$("$TMP/ignrt" "$G" run --log-level error -- "$TMP/fdlist" 2>/dev/null)
	expect_eq "$kind: reserved real-time signals reset in the child" \
		"$(echo "$out" | grep -o 'sigign=[0-9a-f]*')" "sigign=0000000000000000"
	expect_eq "$kind: child leads its own process group" "$(echo "$out" | grep -o 'pgid_is_pid=. sid_is_pid=.')" "pgid_is_pid=1 sid_is_pid=0"
	out=$("$G" run --setsid --log-level error -- "$TMP/fdlist" 2>/dev/null)
	expect_eq "$kind: --setsid gives a new session" "$(echo "$out" | grep -o 'pgid_is_pid=. sid_is_pid=.')" "pgid_is_pid=1 sid_is_pid=1"
	# stdout is the child's alone; gorral's log lines go to stderr.
	out=$("$G" run --log-level debug -- printf 'a\nb\n' 2>/dev/null | od -c | head -1)
	expect_eq "$kind: child stdout passes through untouched" "$out" "$(printf 'a\nb\n' | od -c | head -1)"
	# --pdeathsig: the child gets the signal when gorral dies.
	rm -f "$TMP/pd-$kind"
	"$G" run --log-level error --pdeathsig TERM -- sh -c "trap 'echo got > $TMP/pd-$kind; exit 0' TERM; echo \$\$ > $TMP/pd-$kind.pid; while :; do sleep 0.05; done" &
	gp=$!
	wait_for_file "$TMP/pd-$kind.pid"
	kill -KILL $gp; wait $gp 2>/dev/null
	if wait_for_file "$TMP/pd-$kind" 50; then pass "$kind: --pdeathsig delivered when gorral dies"
	else fail "$kind: --pdeathsig delivered when gorral dies" "child got nothing"; kill "$(cat "$TMP/pd-$kind.pid")" 2>/dev/null; fi
done
