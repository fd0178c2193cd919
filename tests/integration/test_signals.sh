#!/usr/bin/env bash
# Signals and gorral run (not as PID 1: the subreaper path):
# --stop-signal replaces what a SIGTERM to gorral sends; -g/--group
# forwards signals to the child's whole process group instead of the child;
# a fault signal or SIGPIPE that someone sent is forwarded, not fatal, while
# a real fault of gorral's own still kills it and its own EPIPE's SIGPIPE
# is dropped; dispositions the parent left ignored stay ignored in the
# child; --rewrite refuses the C library's reserved signals on both sides.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/run_helpers.sh"
build_helper sigrec
FAULTS="SEGV BUS ILL FPE ABRT TRAP SYS"

# The kernel facts the fault handling rests on, shown by faulter (built with
# gorral's own signals.c, blocking exactly what gorral blocks) under each
# C library gorral is built with: a real fault kills despite the block,
# abort() too, and a write to a closed pipe fails with EPIPE and leaves a
# SIGPIPE that names the writer itself as sender (SI_USER, si_code 0).
libcs="cc"
command -v musl-gcc >/dev/null && libcs="cc musl-gcc" || skip "musl: real faults kill through the block" "musl-gcc is not installed"
for cc in $libcs; do
	lib=glibc; [ "$cc" = cc ] || lib=musl
	if ! build_signals_helper faulter "$cc" 2>"$TMP/faulter.err"; then
		fail "$lib: faulter builds" "$(head -3 "$TMP/faulter.err")"; continue
	fi
	F=$TMP/faulter; [ "$cc" = cc ] || F=$TMP/faulter-musl
	bad=""
	for k in $FAULTS; do
		[ $k = TRAP ] && [ "$(uname -m)" != x86_64 ] && continue
		[ $k = SYS ] && [ "$(uname -m)" != x86_64 ] && continue
		"$F" "${k,,}" 2>/dev/null
		rc=$?
		[ $rc -eq $((128 + $(kill -l $k))) ] || bad="$bad $k:rc=$rc"
	done
	expect_eq "$lib: each real fault (and abort) kills with the fault signals blocked" "${bad:-none}" "none"
	expect_eq "$lib: own write to a closed pipe: EPIPE, SIGPIPE pending as SI_USER from itself" "$("$F" pipe)" "EPIPE code=0 self=1"
done

# has_line FILE LINE [TENTHS]: poll until FILE holds LINE (bounded).
has_line() {
	local i
	for ((i = 0; i < ${3:-50}; i++)); do
		grep -qx "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

for v in $(gorral_variants); do
	kind=${v%%:*} G=${v#*:}

	# --stop-signal QUIT: the child gets QUIT, never TERM, then SIGKILL at
	# the stop timeout since this child ignores QUIT.
	rec=$TMP/stop-$kind
	"$G" run --no-limits --stop-signal QUIT --stop-timeout 1s -- "$TMP/sigrec" "$rec" 2>/dev/null &
	gp=$!
	wait_for_file "$rec.ready"
	kill -TERM $gp
	wait $gp
	rc=$?
	if [ $rc -eq 137 ] && grep -qx QUIT "$rec" && ! grep -qx TERM "$rec"; then
		pass "$kind: --stop-signal QUIT sent instead of TERM, SIGKILL after the timeout (137)"
	else fail "$kind: --stop-signal QUIT" "rc=$rc got: $(tr '\n' ' ' <"$rec" 2>/dev/null)"; fi

	# -g: USR1 reaches the child and the grandchild in its process group;
	# without -g only the child.
	for mode in group child; do
		a=$TMP/$mode-a-$kind b=$TMP/$mode-b-$kind
		opt=(); [ $mode = group ] && opt=(-g)
		"$G" run --no-limits "${opt[@]}" -- sh -c "'$TMP/sigrec' '$b' & exec '$TMP/sigrec' '$a'" 2>/dev/null &
		gp=$!
		wait_for_file "$a.ready" && wait_for_file "$b.ready"
		kill -USR1 $gp
		has_line "$a" USR1
		got_a=$?
		if [ $mode = group ]; then
			has_line "$b" USR1; got_b=$?
			if [ $got_a -eq 0 ] && [ $got_b -eq 0 ]; then pass "$kind: -g forwards USR1 to the whole group"
			else fail "$kind: -g forwards USR1 to the whole group" "child=$got_a grandchild=$got_b"; fi
		else
			# The child has it; give a wrongly sent group signal time to land.
			sleep 0.3
			if [ $got_a -eq 0 ] && ! grep -qx USR1 "$b"; then pass "$kind: without -g USR1 goes to the child only"
			else fail "$kind: without -g USR1 goes to the child only" "child=$got_a grandchild: $(tr '\n' ' ' <"$b")"; fi
		fi
		kill -TERM $gp
		wait $gp
		rc=$?
		# The stop always goes to the group: both record TERM and exit.
		if [ $rc -eq 0 ] && has_line "$b" TERM 20; then pass "$kind ($mode): SIGTERM stops the whole group, exit 0"
		else fail "$kind ($mode): SIGTERM stops the whole group" "rc=$rc grandchild: $(tr '\n' ' ' <"$b")"; fi
	done

	# Each fault signal and SIGPIPE, sent with kill(2): gorral survives and
	# the child receives it; then TERM stops it as usual.
	rec=$TMP/faults-$kind
	"$G" run --no-limits -- "$TMP/sigrec" "$rec" 2>/dev/null &
	gp=$!
	wait_for_file "$rec.ready"
	missing=""
	for s in $FAULTS PIPE; do
		kill -$s $gp 2>/dev/null
		has_line "$rec" $s 20 || missing="$missing $s"
	done
	kill -TERM $gp
	wait $gp
	rc=$?
	# A gorral that died of one orphaned the recorder: end it.
	[ $rc -eq 0 ] || kill -KILL "$(head -1 "$rec.ready")" 2>/dev/null
	if [ -z "$missing" ] && [ $rc -eq 0 ] && has_line "$rec" TERM 1; then
		pass "$kind: kill -SEGV/BUS/ILL/FPE/ABRT/TRAP/SYS/PIPE: gorral lives and forwards each, then exits 0 on TERM"
	else fail "$kind: sent fault signals are forwarded" "rc=$rc missing:${missing:-none}"; fi

	# A real fault in gorral itself, after it has blocked its signals: a
	# seccomp filter answers its prctl(PR_SET_CHILD_SUBREAPER) with a
	# forced SIGSYS. It must still die of it (128+31), not read it.
	if [ "$(uname -m)" = x86_64 ] && [ -x "$TMP/faulter" ]; then
		"$TMP/faulter" trap-subreaper "$G" run --no-limits -- true 2>/dev/null
		expect_eq "$kind: a real (forced) SIGSYS in gorral still kills it" "$?" 159
	else
		skip "$kind: a real (forced) SIGSYS in gorral still kills it" "the seccomp filter is written for x86-64"
	fi

	# stderr a pipe nobody reads: each log line raises a SIGPIPE for gorral
	# itself, never forwarded; the one sent with kill(2) is.
	rec=$TMP/epipe-$kind
	out=$(python3 "$HELPERS_SRC/brokenstderr.py" "$G" "$TMP/sigrec" "$rec")
	expect_eq "$kind: stderr broken: own SIGPIPEs dropped, the sent one forwarded" "$out" "rc=0 pipes=1 lines=3 last=TERM"

	# The parent's ignored dispositions stay ignored in the child (as
	# across exec, and tini); what gorral itself ignores (TTIN, TTOU) or
	# blocks (PIPE) is reset. SigIgn bits: HUP 0x1, PIPE 0x1000, TTOU 0x200000.
	if env --default-signal --ignore-signal=HUP true 2>/dev/null; then
		ign() { env --default-signal "$@" "$G" run --no-limits -- grep SigIgn /proc/self/status 2>/dev/null | awk '{print $2}'; }
		expect_eq "$kind: parent ignores nothing: the child ignores nothing" "$(ign)" 0000000000000000
		expect_eq "$kind: parent ignores HUP: the child still does" "$(ign --ignore-signal=HUP)" 0000000000000001
		expect_eq "$kind: parent ignores PIPE and TTOU: the child too, TTIN reset" "$(ign --ignore-signal=PIPE,TTOU)" 0000000000201000
		out=$(env --default-signal nohup "$G" run --no-limits -- grep SigIgn /proc/self/status 2>/dev/null </dev/null | awk '{print $2}')
		expect_eq "$kind: nohup gorral run: the child ignores SIGHUP" "$out" 0000000000000001
		# SIGCHLD left ignored by the parent: the kernel would reap
		# gorral's children unseen (gorral waited forever). gorral sets
		# it back to default for itself; the child still ignores it.
		timeout 10 env --default-signal --ignore-signal=CHLD "$G" run --no-limits -- sh -c 'exit 3' 2>/dev/null
		expect_eq "$kind: parent ignores CHLD: gorral still sees the exit status" "$?" 3
		expect_eq "$kind: parent ignores CHLD: the child too" "$(ign --ignore-signal=CHLD)" 0000000000010000
	else
		skip "$kind: ignored dispositions kept" "env has no --ignore-signal (coreutils < 8.31)"
	fi

	# --rewrite: one rule for both sides about the C library's signals.
	for spec in "32:TERM" "TERM:32" "TERM:33"; do
		err=$("$G" run --no-limits --rewrite "$spec" -- true 2>&1); rc=$?
		if [ $rc -eq 2 ] && grep -q "invalid value '$spec' for --rewrite: .*reserved" <<<"$err"; then
			pass "$kind: --rewrite $spec refused (exit 2), the message says why"
		else fail "$kind: --rewrite $spec refused" "rc=$rc: $err"; fi
	done
done
