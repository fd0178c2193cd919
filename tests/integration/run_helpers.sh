# Sourced by the `gorral run` integration tests (after lib.sh): build the C
# helper programs of tests/helpers/ into $TMP, and small utilities.
HELPERS_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../helpers" && pwd)

# build_helper NAME: compile tests/helpers/NAME.c to $TMP/NAME (once).
build_helper() {
	[ -x "$TMP/$1" ] || cc -O2 -o "$TMP/$1" "$HELPERS_SRC/$1.c"
}

# build_signals_helper NAME [CC]: compile tests/helpers/NAME.c with gorral's
# src/signals.c and src/util.c (so it uses the very signal set gorral
# blocks) to $TMP/NAME (or $TMP/NAME-musl with CC musl-gcc, static).
build_signals_helper() {
	local cc=${2:-cc} out=$TMP/$1 root
	root=$(cd "$HELPERS_SRC/../.." && pwd)
	[ "$cc" = cc ] || out=$TMP/$1-musl
	[ -x "$out" ] && return 0
	if [ "$cc" = cc ]; then
		cc -O2 -std=gnu11 -D_GNU_SOURCE -I"$root/include" -o "$out" "$HELPERS_SRC/$1.c" "$root/src/signals.c" "$root/src/util.c"
	else
		"$cc" -static -O2 -std=gnu11 -D_GNU_SOURCE -I"$root/include" -o "$out" "$HELPERS_SRC/$1.c" "$root/src/signals.c" "$root/src/util.c"
	fi
}

# wait_for_file FILE [TENTHS]: poll until FILE is non-empty (bounded).
wait_for_file() {
	local i
	for ((i = 0; i < ${2:-100}; i++)); do
		[ -s "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

# ns_child PID: the pid (host view) of the process unshare --fork started.
ns_child() {
	local i c
	for ((i = 0; i < 100; i++)); do
		c=$(cat "/proc/$1/task/$1/children" 2>/dev/null | awk '{print $1}')
		[ -n "$c" ] && { echo "$c"; return 0; }
		sleep 0.05
	done
	return 1
}

# now_ms: monotonic-enough wall clock in milliseconds.
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# The gorral binaries a PID 1 test runs against.
gorral_variants() {
	echo "dynamic:$GORRAL"
	if [ -n "${GORRAL_STATIC:-}" ] && [ -x "$GORRAL_STATIC" ]; then
		echo "static:$GORRAL_STATIC"
	fi
}
