#!/usr/bin/env bash
# Signal options of gorral run (not as PID 1: the subreaper path):
# --stop-signal replaces what a SIGTERM to gorral sends, and -g/--group
# forwards signals to the child's whole process group instead of the child.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/run_helpers.sh"
build_helper sigrec

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
done
