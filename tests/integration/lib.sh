# Sourced by tests/integration/test_*.sh. Each check prints exactly one
# line: "PASS: name", "FAIL: name: why" or "SKIP: name: reason".
# GORRAL, GORRAL_STATIC and GOAPPS come from the Makefile.
: "${GORRAL:?}" "${GOAPPS:?}"
TMP=$(mktemp -d /tmp/gorral-it.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

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
