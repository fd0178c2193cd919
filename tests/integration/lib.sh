# Sourced by tests/integration/test_*.sh. Each check prints exactly one
# line: "PASS: name", "FAIL: name: why" or "SKIP: name: reason".
# GORRAL, GORRAL_STATIC and GOAPPS come from the Makefile.
: "${GORRAL:?}" "${GOAPPS:?}"
TMP=$(mktemp -d /tmp/gorral-it.XXXXXX)
# Each test talks to its own gorral: never the machine's /run/gorral.sock.
export GORRAL_SOCKET=$TMP/gorral.sock
CG_CREATED=() # cgroup directories a test made, parents first
cleanup() {
	local i
	for ((i = ${#CG_CREATED[@]} - 1; i >= 0; i--)); do
		[ -d "${CG_CREATED[i]}" ] && ! rmdir "${CG_CREATED[i]}" 2>/dev/null &&
			echo "warning: could not remove ${CG_CREATED[i]}" >&2
	done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap "exit 143" TERM INT HUP

pass() { echo "PASS: $1"; }
fail() { echo "FAIL: $1: $2"; }
skip() { echo "SKIP: $1: $2"; }

# check NAME COND-COMMAND...: PASS when the command succeeds.
check() {
	local name=$1; shift
	if "$@"; then pass "$name"; else fail "$name" "$* failed"; fi
}

# expect_eq NAME GOT WANT
expect_eq() {
	if [ "$2" == "$3" ]; then pass "$1"; else fail "$1" "got '$2', want '$3'"; fi
}

is_root() { [ "$(id -u)" -eq 0 ]; }

# The v1 mount point of a controller, from mountinfo (never hard-coded).
v1_mount() {
	awk -v c="$1" '$0 ~ / - cgroup / { n = split($NF, o, ","); for (i = 1; i <= n; i++) if (o[i] == c) { print $5; exit } }' /proc/self/mountinfo
}

# own_v1_cgroup CONTROLLER: this process's path in that v1 hierarchy.
own_v1_cgroup() {
	awk -F: -v c="$1" '{ n = split($2, a, ","); for (i = 1; i <= n; i++) if (a[i] == c) { print $3; exit } }' /proc/self/cgroup
}

# cg_mkdir DIR: create a cgroup, removed again when the test exits.
cg_mkdir() {
	mkdir "$1" 2>"$TMP/mkdir.err" || return 1
	CG_CREATED+=("$1")
}

# cg_run_in DIR1 DIR2 CMD...: a shell moves itself into both cgroups, then
# execs CMD.
cg_run_in() {
	bash -c 'echo $$ >"$1/cgroup.procs" && echo $$ >"$2/cgroup.procs" || exit 99; shift 2; exec "$@"' \
		_ "$@"
}

# wait_grep FILE REGEX [TENTHS]: poll (bounded) until FILE has a line
# matching the extended REGEX.
wait_grep() {
	local i
	for ((i = 0; i < ${3:-100}; i++)); do
		grep -qE "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}
