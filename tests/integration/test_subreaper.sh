#!/usr/bin/env bash
# gorral run when it is not PID 1: it registers as child subreaper, so a
# grandchild orphan is re-parented to gorral and reaped (no zombie left),
# and the orphan count is logged at debug.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/run_helpers.sh"
for h in orphans zcount; do build_helper $h; done

for v in $(gorral_variants); do
	kind=${v%%:*} G=${v#*:}
	ppidf=$TMP/ppid-$kind
	rm -f "$ppidf"
	# The shell (gorral's child) runs orphans, whose 3 children outlive it:
	# they must come back to gorral ($PPID of the shell), not to init, and
	# leave no zombie behind. The shell waits for the record, then checks.
	out=$("$G" run --no-limits --log-level debug -- sh -c "
		\"$TMP/orphans\" 3 \"$ppidf\"
		for i in \$(seq 200); do [ -s \"$ppidf\" ] && break; sleep 0.01; done
		echo gorral=\$PPID newparent=\$(cat \"$ppidf\")
		for i in \$(seq 200); do
			z=\$(ps -o stat= --ppid \$PPID | grep -c '^Z')
			[ \"\$z\" = 0 ] && break; sleep 0.01
		done
		echo zombies=\$z" 2>"$TMP/sub-$kind.log")
	rc=$?
	g=$(echo "$out" | sed -n 's/.*gorral=\([0-9]*\).*/\1/p')
	np=$(echo "$out" | sed -n 's/.*newparent=\([0-9]*\).*/\1/p')
	expect_eq "$kind: not PID 1, registered as subreaper" \
		"$(grep -o 'pid1=[a-z]* subreaper=[a-z]*' "$TMP/sub-$kind.log")" "pid1=false subreaper=true"
	if [ -n "$g" ] && [ "$g" = "$np" ]; then pass "$kind: orphan re-parented to gorral ($np)"
	else fail "$kind: orphan re-parented to gorral" "gorral=$g new parent=$np"; fi
	expect_eq "$kind: no zombie left under gorral" "$(echo "$out" | grep -o 'zombies=[0-9]*')/$rc" "zombies=0/0"
	total=$(grep -o 'event=orphans reaped=[0-9]* total=[0-9]*' "$TMP/sub-$kind.log" | tail -1 | sed 's/.*total=//')
	expect_eq "$kind: orphans counted at debug" "$total" "3"
done

# No warning when the subreaper registration works.
"$GORRAL" run --no-limits -- true 2>"$TMP/warn.log"
if grep -q 'neither PID 1 nor a child subreaper' "$TMP/warn.log"; then
	fail "no subreaper warning when registered" "warning printed"
else pass "no subreaper warning when registered"; fi
