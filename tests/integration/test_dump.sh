#!/usr/bin/env bash
# gorral dump --file: the saved captures in tests/fixtures/godump (text and
# --json read back by jq), a dump on stdin, live dumps of the Go 1.19 and
# 1.26 test services (their debug=2 page through stdin, the goroutineleak
# debug=1 page, their SIGQUIT stderr), usage and input errors (exit 2,
# the file named), and the static build giving the same answer.
source "$(dirname "$0")/lib.sh"

FIX=$(cd "$(dirname "$0")/../fixtures/godump" && pwd)
have_jq=false
command -v jq >/dev/null 2>&1 && have_jq=true
have_curl=false
command -v curl >/dev/null 2>&1 && have_curl=true

# dump NAME ARGS...: stdout in $TMP/NAME.out, stderr in $TMP/NAME.err, status in $rc.
dump() {
	local name=$1; shift
	"$GORRAL" dump "$@" >"$TMP/$name.out" 2>"$TMP/$name.err"
	rc=$?
}

# 1. Text: the goroutines leaked by http.Get with no timeout are named by
# the user's function under the net/http frames, on both toolchains.
for v in 119 126; do
	dump text$v --file "$FIX/go$v-fetchleak-sigquit.txt"
	expect_eq "text.go$v.exit_0" "$rc" 0
	check "text.go$v.names_fetchUpstream" grep -qx '30 goroutines \[select\] in main.fetchUpstream' "$TMP/text$v.out"
	check "text.go$v.created_by" grep -q '^    created by main.main (/tmp/gdcap/fetchleak.go:38)$' "$TMP/text$v.out"
	check "text.go$v.reason" grep -qx 'reason: SIGQUIT: quit' "$TMP/text$v.out"
done
dump minutes --file "$FIX/go119-sigquit-minutes.txt" --max-groups 2 --max-frames 1
check text.longest_wait grep -qx '1000 goroutines \[chan receive, 1 minutes\] in main.leakedGoroutine' "$TMP/minutes.out"
check text.locked grep -qx '50 goroutines \[chan receive, 1 minutes, locked to thread\] in main.leakedThread' "$TMP/minutes.out"
check text.max_groups grep -qx '\.\.\. 8 more groups' "$TMP/minutes.out"
expect_eq text.max_frames "$(grep '^    ' "$TMP/minutes.out" | grep -vc '^    created by \|^    \.\.\. ')" 2

# 2. JSON, read back by jq.
if $have_jq; then
	dump json --json --file "$FIX/go126-sigquit-all-labels.txt" --max-groups 2
	expect_eq json.exit_0 "$rc" 0
	expect_eq json.goroutines "$(jq -r .goroutines "$TMP/json.out")" 14
	expect_eq json.groups_shown "$(jq -r '.groups | length' "$TMP/json.out")" 2
	expect_eq json.groups_total "$(jq -r .groups_total "$TMP/json.out")" 8
	expect_eq json.culprit "$(jq -r '.groups[0].culprit' "$TMP/json.out")" main.worker
	expect_eq json.labels "$(jq -c '.groups[0].labels' "$TMP/json.out")" '{"job":"ingest","tenant":"a\"b"}'
	expect_eq json.state "$(jq -r '.groups[0].states[0] | "\(.state) x\(.count)"' "$TMP/json.out")" 'chan receive x5'
	dump jsonleak --json --file "$FIX/go126-leakprof-goroutineleak-debug1.txt"
	expect_eq json.leak_profile "$(jq -r '"\(.format) \(.profile) \(.profile_total) \(.groups[0].culprit)"' "$TMP/jsonleak.out")" \
		'count_profile goroutineleak 20 main.leakOrphans.func1'
else
	skip json "jq not installed"
fi

# 3. Stdin.
"$GORRAL" dump --file - <"$FIX/go126-panic-nilptr.txt" >"$TMP/stdin.out" 2>"$TMP/stdin.err"
expect_eq stdin.exit_0 "$?" 0
check stdin.grouped grep -qx '1 goroutine \[running\] in main.read' "$TMP/stdin.out"
check stdin.reason grep -q '^reason: panic: runtime error: invalid memory address or nil pointer dereference; \[signal SIGSEGV' "$TMP/stdin.out"

# 4. Live: the test services' own dumps, fetched now.
live() { # BIN TAG
	local bin=$GOAPPS/$1 tag=$2 addr pid
	if [ ! -x "$bin" ]; then
		skip "live.$tag" "$bin not built (make goapps)"
		return
	fi
	if ! $have_curl; then
		skip "live.$tag" "curl not installed"
		return
	fi
	"$bin" -listen 127.0.0.1:0 -leak-goroutines 50 -leak-orphans 20 >"$TMP/$tag.svc.out" 2>"$TMP/$tag.svc.err" &
	pid=$!
	if ! wait_grep "$TMP/$tag.svc.out" '^listening=' 100; then
		fail "live.$tag" "the service did not listen"
		kill -9 "$pid" 2>/dev/null
		return
	fi
	addr=$(sed -n 's/^listening=//p' "$TMP/$tag.svc.out")
	[ "$tag" != go127 ] || check "live.$tag.runtime_is_go1.27" grep -q '^go_version=go1\.27\.' "$TMP/$tag.svc.out"
	curl -sf "http://$addr/debug/pprof/goroutine?debug=2" | "$GORRAL" dump --file - --max-frames 0 >"$TMP/$tag.d2.out" 2>&1
	expect_eq "live.$tag.debug2_exit_0" "$?" 0
	check "live.$tag.debug2_leaked_group" grep -qx '50 goroutines \[chan receive\] in main.leakGoroutines.func1' "$TMP/$tag.d2.out"
	check "live.$tag.debug2_orphans_group" grep -qE '^20 goroutines \[chan receive\] in main.leakOrphans.func1$' "$TMP/$tag.d2.out"
	if [ "$tag" = go126leak ] || [ "$tag" = go127 ]; then
		curl -sf "http://$addr/debug/pprof/goroutineleak?debug=1" >"$TMP/$tag.leak" &&
			"$GORRAL" dump --file "$TMP/$tag.leak" >"$TMP/$tag.leak.out" 2>&1
		check "live.$tag.goroutineleak_proves_20" grep -q '^20 goroutines in 1 group (goroutineleak count profile;.*, total 20$' "$TMP/$tag.leak.out"
	fi
	kill -QUIT "$pid"
	wait "$pid" 2>/dev/null
	"$GORRAL" dump --file "$TMP/$tag.svc.err" >"$TMP/$tag.quit.out" 2>&1
	expect_eq "live.$tag.sigquit_exit_0" "$?" 0
	check "live.$tag.sigquit_grouped" grep -qx '50 goroutines \[chan receive\] in main.leakGoroutines.func1' "$TMP/$tag.quit.out"
	check "live.$tag.sigquit_nothing_skipped" grep -q ' lines, 0 skipped)' "$TMP/$tag.quit.out"
}
live goservice go119
live goservice126 go126
live goservice126-leakprof go126leak
# Go 1.27 serves the goroutine leak profile without any GOEXPERIMENT.
live goservice127 go127

# 5. Errors: exit 2, the file named.
dump missing --file "$TMP/nope.txt"
expect_eq err.missing_exit_2 "$rc" 2
check err.missing_named grep -q "'$TMP/nope.txt': No such file" "$TMP/missing.err"
printf 'hello\nworld\n' >"$TMP/notadump.txt"
dump notdump --file "$TMP/notadump.txt"
expect_eq err.not_a_dump_exit_2 "$rc" 2
check err.not_a_dump_named grep -q "'$TMP/notadump.txt': not a goroutine dump" "$TMP/notdump.err"
: | "$GORRAL" dump --file - >/dev/null 2>"$TMP/empty.err"
expect_eq err.empty_stdin_exit_2 "$?" 2
dump nofile
expect_eq err.no_file_exit_2 "$rc" 2
check err.no_file_says_name_or_file grep -q -- 'give a service NAME or --file FILE' "$TMP/nofile.err"
dump name myservice --control "$TMP/no-gorral.sock"
expect_eq "err.live_name_without_gorral_exit_69 (EX_UNAVAILABLE, as gorral status)" "$rc" 69
check err.live_name_says_no_gorral grep -q -- "no gorral is listening on $TMP/no-gorral.sock" "$TMP/name.err"
dump both myservice --file "$FIX/go119-panic.txt"
expect_eq err.name_and_file_exit_2 "$rc" 2
dump badcount --file "$FIX/go119-panic.txt" --max-groups many
expect_eq err.bad_max_groups_exit_2 "$rc" 2
dump badopt --file "$FIX/go119-panic.txt" --frobnicate
expect_eq err.unknown_option_exit_2 "$rc" 2
dump help --help
expect_eq help.exit_0 "$rc" 0
check help.usage grep -q '^Usage: gorral dump NAME' "$TMP/help.out"
check help.usage_file grep -q '^       gorral dump --file FILE' "$TMP/help.out"
"$GORRAL" --help | grep -q '^  dump ' && pass help.listed || fail help.listed "gorral --help does not list dump"

# 6. The static build answers the same.
if [ -n "${GORRAL_STATIC:-}" ] && [ -x "$GORRAL_STATIC" ]; then
	"$GORRAL_STATIC" dump --json --file "$FIX/go119-fetchleak-sigquit.txt" >"$TMP/static.json" 2>&1
	"$GORRAL" dump --json --file "$FIX/go119-fetchleak-sigquit.txt" >"$TMP/dynamic.json" 2>&1
	check static.same_json cmp -s "$TMP/static.json" "$TMP/dynamic.json"
else
	skip_static static.same_json "GORRAL_STATIC not set or not built"
fi
