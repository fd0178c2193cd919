#!/usr/bin/env bash
# packaging/completion/gorral, sourced in this bash: commands, options per
# command (read from gorral's own --help), option values, and the service
# names of a running gorral (gorral status --json on its control socket).
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../integration/lib.sh"
repo=$(cd "$here/../.." && pwd)

# shellcheck source=/dev/null
. "$repo/packaging/completion/gorral" || { fail completion_sources "source failed"; exit 0; }
check completion_registered bash -c '[ -n "$1" ]' _ "$(complete -p gorral 2>/dev/null)"

# comp LINE: the completions of LINE, the cursor at its end (a trailing
# space starts a new word), sorted, one line.
comp() {
	local line=$1
	read -ra COMP_WORDS <<<"$line"
	COMP_WORDS[0]=$GORRAL
	[[ $line == *" " ]] && COMP_WORDS+=("")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMP_LINE=$line COMP_POINT=${#line}
	_gorral
	printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' ' | sed 's/ $//'
}

want=$("$GORRAL" --help | sed -n '/^Commands:/,/^$/{s/^  \([a-z][a-z-]*\) .*/\1/p}' | sort | tr '\n' ' ')
expect_eq completion_commands "$(comp 'gorral ')" "--help --version ${want% }"
expect_eq completion_command_prefix "$(comp 'gorral re')" "reload restart"
expect_eq completion_run_options "$(comp 'gorral run --restart')" "--restart --restart-budget --restart-window"
expect_eq completion_run_value "$(comp 'gorral run --restart ')" "always no on-failure"
expect_eq completion_env_format "$(comp 'gorral env --format ')" "dotenv json shell"
expect_eq completion_status_options "$(comp 'gorral status --')" \
	"--control --help --interval --json --timeout --version --watch"
# detect's --OPTION is a placeholder, not an option
expect_eq completion_detect_options "$(comp 'gorral detect --')" \
	"--above --detector --for --help --json --metric --min-goroutines --replay --version"
expect_eq completion_duration_value "$(comp 'gorral run --stop-timeout ')" ""
case " $(comp 'gorral run -- ech') " in
*" echo "*) pass completion_after_dashes ;;
*) fail completion_after_dashes "no echo in '$(comp 'gorral run -- ech')'" ;;
esac
# Every option run --help names is offered.
n_help=$("$GORRAL" run --help | grep -oE '(^|[^[:alnum:]_-])--[[:alpha:]][[:alnum:]_-]*' | sed 's/^[^-]*//' | sort -u | wc -l)
n_comp=$(comp 'gorral run --' | wc -w)
expect_eq completion_run_all_options "$n_comp" "$n_help"

# Service names from a running gorral.
cat >"$TMP/svc.yaml" <<YAML
control: {socket: $TMP/ctl.sock}
services:
  alpha: {command: [sleep, "300"], watch: false}
  beta-2: {command: [sleep, "300"], watch: false}
  gamma: {command: [sleep, "300"], watch: false}
YAML
"$GORRAL" run -c "$TMP/svc.yaml" 2>"$TMP/gorral.log" &
gpid=$!
for ((i = 0; i < 50; i++)); do [ -S "$TMP/ctl.sock" ] && break; sleep 0.1; done
export GORRAL_SOCKET=$TMP/ctl.sock
expect_eq completion_services "$(comp 'gorral stop ')" "alpha beta-2 gamma"
expect_eq completion_services_prefix "$(comp 'gorral restart b')" "beta-2"
expect_eq completion_signal_name "$(comp 'gorral signal gamma US')" "USR1 USR2"
expect_eq completion_second_positional "$(comp 'gorral stop alpha ')" ""
export GORRAL_SOCKET=$TMP/none.sock
expect_eq completion_services_control "$(comp "gorral dump --control $TMP/ctl.sock a")" "alpha"
expect_eq completion_no_gorral "$(comp 'gorral start ')" ""
kill -TERM "$gpid"
wait "$gpid" 2>/dev/null
exit 0
