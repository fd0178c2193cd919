#!/usr/bin/env bash
# gorral run on a real terminal (a pty from tests/helpers/ptyrun.py, whose
# command leads the terminal's session, as under a terminal emulator, sshd
# or `docker run -t`): the child gets the terminal's foreground (also when
# the session began outside gorral's PID namespace, as tini does), and with
# --setsid it gets the terminal as its controlling terminal (as dumb-init's
# setsid mode does) when gorral led the session that held it.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/run_helpers.sh"

PTY=(python3 "$HELPERS_SRC/ptyrun.py")
if ! python3 -c 'import pty' 2>/dev/null; then
	skip "tty" "python3 with the pty module is missing (a test dependency)"
	exit 0
fi
can_ns=0
is_root && unshare --pid --fork --mount-proc true 2>/dev/null && can_ns=1
NS=(unshare --pid --fork --mount-proc)
# What the child reports: its ps state ('+': in the terminal's foreground
# group, 's': session leader), its controlling terminal, and the job
# control flag bash -m keeps only when it could take the terminal.
PROBE='echo "state=$(ps -o stat= -p $$) tty=$(ps -o tty= -p $$)"; bash -m -c "echo flags=\$-" 2>&1'
# field TRANSCRIPT NAME: NAME=value from the probe's line.
field() { sed -n "s/.*\b$2=\([^ ]*\).*/\1/p" <<<"$1" | tr -d '\r' | head -1; }

for v in $(gorral_variants); do
	kind=${v%%:*} G=${v#*:}
	RUN=("$G" run --no-limits)

	# Under a shell that leads the session (gorral is not the leader):
	# the child's group becomes the foreground group.
	out=$("${PTY[@]}" -- sh -c "$(printf '%q ' "${RUN[@]}") -- sh -c '$PROBE'; true" 2>&1)
	st=$(field "$out" state)
	if [[ $st == *+* ]] && [[ $(field "$out" flags) == *m* ]]; then
		pass "$kind: the child gets the terminal's foreground (state $st), bash has job control"
	else fail "$kind: the child gets the terminal's foreground" "$(tr '\n' ' ' <<<"$out")"; fi

	if [ $can_ns = 1 ]; then
		# The session and the foreground group are outside gorral's PID
		# namespace (both read as 0 inside): dash must answer, not sit
		# stopped by SIGTTIN in a background group.
		if command -v dash >/dev/null; then
			out=$("${PTY[@]}" --timeout 10 --send 'echo answer=$((6*7))\nexit 3\n' -- "${NS[@]}" "${RUN[@]}" -- dash 2>&1)
			rc=$?
			if [ $rc -eq 3 ] && grep -q 'answer=42' <<<"$out"; then
				pass "$kind: PID namespace, session outside: dash in the foreground answers and exits 3"
			else fail "$kind: PID namespace, session outside: dash answers" "rc=$rc: $(tr '\n' ' ' <<<"$out")"; fi
		else
			skip "$kind: PID namespace, session outside: dash answers" "dash is not installed"
		fi
		out=$("${PTY[@]}" -- "${NS[@]}" "${RUN[@]}" -- sh -c "$PROBE" 2>&1)
		st=$(field "$out" state)
		if [[ $st == *+* ]] && [[ $(field "$out" flags) == *m* ]]; then
			pass "$kind: PID namespace, session outside: the child is in the foreground (state $st)"
		else fail "$kind: PID namespace, session outside: the child is in the foreground" "$(tr '\n' ' ' <<<"$out")"; fi
	else
		skip "$kind: PID namespace terminal cases" "cannot create a PID namespace (needs root and unshare)"
	fi

	# --setsid, gorral leads the session (exec'd by the pty's leader): it
	# gives the terminal up and the child's session takes it. The SIGHUP
	# and SIGCONT the kernel sends when gorral lets go are gorral's own and
	# must not reach the child (the trap would print them; an untrapped
	# early SIGHUP would kill it: rc 129).
	out=$("${PTY[@]}" -- "${RUN[@]}" --setsid -- sh -c "trap 'echo got=HUP' HUP; trap 'echo got=CONT' CONT; $PROBE; sleep 0.2" 2>&1)
	rc=$?
	st=$(field "$out" state) tty=$(field "$out" tty)
	if [ $rc -eq 0 ] && [[ $st == *s*+* || $st == *+*s* ]] && [[ $tty == pts/* ]] && [[ $(field "$out" flags) == *m* ]] &&
		! grep -q 'got=' <<<"$out" && ! grep -q 'no job control' <<<"$out"; then
		pass "$kind: --setsid as session leader: the child leads a session with the terminal ($st $tty), job control, no HUP/CONT"
	else fail "$kind: --setsid as session leader: the child gets the terminal" "rc=$rc: $(tr '\n' ' ' <<<"$out")"; fi

	# --setsid as PID 1 leading its session (docker run -t): the same.
	if [ $can_ns = 1 ] && setsid --help 2>&1 | grep -q -- '--ctty'; then
		out=$("${PTY[@]}" -- "${NS[@]}" setsid --ctty "${RUN[@]}" --setsid -- sh -c "$PROBE" 2>&1)
		rc=$?
		st=$(field "$out" state) tty=$(field "$out" tty)
		if [ $rc -eq 0 ] && [[ $st == *s* && $st == *+* ]] && [[ $tty == pts/* ]] && [[ $(field "$out" flags) == *m* ]]; then
			pass "$kind: --setsid as PID 1 session leader: the child gets the terminal ($st $tty)"
		else fail "$kind: --setsid as PID 1 session leader: the child gets the terminal" "rc=$rc: $(tr '\n' ' ' <<<"$out")"; fi
	else
		skip "$kind: --setsid as PID 1 session leader" "needs a PID namespace and util-linux setsid --ctty"
	fi

	# --setsid under a shell that leads the session: the terminal is the
	# shell's; taking it would need CAP_SYS_ADMIN and rob the shell, so
	# the child runs without one (dumb-init does the same) and gorral says
	# so once.
	out=$("${PTY[@]}" -- sh -c "$(printf '%q ' "${RUN[@]}") --setsid -- sh -c '$PROBE'; echo shell-still-has=\$(ps -o tty= -p \$\$)" 2>&1)
	rc=$?
	if [ $rc -eq 0 ] && [ "$(field "$out" tty)" = "?" ] && grep -q 'level=warn.*--setsid: the terminal on stdin belongs to a session' <<<"$out" &&
		[[ $(field "$out" shell-still-has) == pts/* ]]; then
		pass "$kind: --setsid under a shell: no terminal stolen, a warning says so"
	else fail "$kind: --setsid under a shell" "rc=$rc: $(tr '\n' ' ' <<<"$out")"; fi
done
