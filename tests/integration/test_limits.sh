#!/usr/bin/env bash
# gorral limits / env / exec on fixture cgroup trees (--sysroot): the JSON
# fields, the exit codes, the env formats, what an exec'd child sees, and
# what the real Go 1.19 program reports under `gorral exec`.
# JSON is read with python3 (part of the machine image; no jq needed).
# asan-pass: no (one-shot limits/env/exec; their readers are fuzzed and unit-tested under ASan)
source "$(dirname "$0")/lib.sh"

root=$(cd "$(dirname "$0")/../.." && pwd)
FX=$root/tests/fixtures/limits
CG=$root/tests/fixtures/cgroup
export -n GOMAXPROCS GOMEMLIMIT GORRAL_SYSROOT
unset GOMAXPROCS GOMEMLIMIT GORRAL_SYSROOT

if ! command -v python3 >/dev/null; then
	skip limits_json "python3 not installed (needed to read the JSON)"
	exit 0
fi

# jget FILE EXPR: the Python expression over the parsed JSON `j`; strings
# printed raw, everything else as JSON (null, 2, true).
jget() {
	python3 -c 'import json, sys
j = json.load(open(sys.argv[1]))
v = eval(sys.argv[2], {"j": j})
print(v if isinstance(v, str) else json.dumps(v))' "$1" "$2"
}

# limits_json NAME FIXTURE-DIR ARGS...: run `limits --json`, keep stdout in
# $TMP/NAME.json and the exit status in $rc.
limits_json() {
	local name=$1 dir=$2; shift 2
	"$GORRAL" limits --json --sysroot "$dir" "$@" >"$TMP/$name.json" 2>"$TMP/$name.err"
	rc=$?
	if ! python3 -m json.tool "$TMP/$name.json" >/dev/null 2>&1; then
		fail "$name.valid_json" "$(head -c 300 "$TMP/$name.json")"
		return 1
	fi
	pass "$name.valid_json"
}

# --- gorral limits --json on fixture trees ---------------------------------

# v2: cpu.max 50000/100000, memory.max 512 MiB, memory.high 256 MiB.
if limits_json v2_high "$FX/v2_high" --cpus 4; then
	j=$TMP/v2_high.json
	expect_eq v2_high.exit "$rc" 0
	expect_eq v2_high.version "$(jget "$j" 'j["cgroup"]["version"]')" v2
	expect_eq v2_high.cpu_path "$(jget "$j" 'j["cgroup"]["cpu_path"]')" /svc
	expect_eq v2_high.limit_cores "$(jget "$j" 'j["cpu"]["limit_cores"]')" 0.5
	expect_eq v2_high.cpu_file "$(jget "$j" 'j["cpu"]["file"]')" "$FX/v2_high/sys/fs/cgroup/svc/cpu.max"
	expect_eq v2_high.affinity "$(jget "$j" 'j["cpu"]["affinity_cpus"]')" 4
	expect_eq v2_high.limit_bytes "$(jget "$j" 'j["memory"]["limit_bytes"]')" 536870912
	expect_eq v2_high.high_bytes "$(jget "$j" 'j["memory"]["high_bytes"]')" 268435456
	expect_eq v2_high.high_file "$(jget "$j" 'j["memory"]["high_file"]')" "$FX/v2_high/sys/fs/cgroup/svc/memory.high"
	expect_eq v2_high.gomaxprocs "$(jget "$j" 'j["gomaxprocs"]')" 2
	expect_eq v2_high.gomemlimit "$(jget "$j" 'j["gomemlimit"]')" 241591910
	expect_eq v2_high.errors "$(jget "$j" 'j["errors"]')" "[]"
	check v2_high.reason_names_high grep -q 'memory.high below the hard limit' "$j"
fi
limits_json v2_high_floor "$FX/v2_high" --cpus 4 --rounding floor &&
	expect_eq v2_high_floor.gomaxprocs "$(jget "$TMP/v2_high_floor.json" 'j["gomaxprocs"]')" 1
limits_json v2_high_ratio "$FX/v2_high" --mem-ratio=1 &&
	expect_eq v2_high_ratio.gomemlimit "$(jget "$TMP/v2_high_ratio.json" 'j["gomemlimit"]')" 268435456
# Two affinity CPUs and a 0.5-core quota: ceil+min 2 gives 2 = the CPU
# count, so nothing is exported, and the reason says so.
if limits_json v2_high_2cpu "$FX/v2_high" --cpus 2; then
	expect_eq v2_high_2cpu.gomaxprocs "$(jget "$TMP/v2_high_2cpu.json" 'j["gomaxprocs"]')" null
	expect_eq v2_high_2cpu.target "$(jget "$TMP/v2_high_2cpu.json" 'j["gomaxprocs_target"]')" 2
	check v2_high_2cpu.reason grep -q 'affinity CPUs: not exported' "$TMP/v2_high_2cpu.json"
fi

# The limit sits on the parent (1 core, 128 MiB); the leaf is looser.
if limits_json parent "$FX/v2_parent_cpu" --cpus 4; then
	j=$TMP/parent.json
	expect_eq parent.limit_cores "$(jget "$j" 'j["cpu"]["limit_cores"]')" 1
	expect_eq parent.leaf_cores "$(jget "$j" 'j["cpu"]["leaf_limit_cores"]')" null
	expect_eq parent.limit_bytes "$(jget "$j" 'j["memory"]["limit_bytes"]')" 134217728
	expect_eq parent.gomaxprocs "$(jget "$j" 'j["gomaxprocs"]')" 2
	expect_eq parent.gomemlimit "$(jget "$j" 'j["gomemlimit"]')" 120795955
fi

# The cgroup helper's trees: v1 (2.5 cores, cpuset 5, 1 GiB), hybrid.
if limits_json v1 "$CG/v1" --cpus 8; then
	j=$TMP/v1.json
	expect_eq v1.version "$(jget "$j" 'j["cgroup"]["version"]')" v1
	expect_eq v1.limit_cores "$(jget "$j" 'j["cpu"]["limit_cores"]')" 2.5
	expect_eq v1.gomaxprocs "$(jget "$j" 'j["gomaxprocs"]')" 3
	expect_eq v1.limit_bytes "$(jget "$j" 'j["memory"]["limit_bytes"]')" 1073741824
	expect_eq v1.high_bytes "$(jget "$j" 'j["memory"]["high_bytes"]')" null
	expect_eq v1.gomemlimit "$(jget "$j" 'j["gomemlimit"]')" 966367641
fi
limits_json hybrid "$CG/hybrid" --cpus 8 &&
	expect_eq hybrid.version "$(jget "$TMP/hybrid.json" 'j["cgroup"]["version"]')" hybrid
if limits_json none "$CG/no_cgroupfs" --cpus 8; then
	expect_eq none.exit "$rc" 0
	expect_eq none.version "$(jget "$TMP/none.json" 'j["cgroup"]["version"]')" none
	expect_eq none.gomaxprocs "$(jget "$TMP/none.json" 'j["gomaxprocs"]')" null
	expect_eq none.gomemlimit "$(jget "$TMP/none.json" 'j["gomemlimit"]')" null
	expect_eq none.limit_bytes "$(jget "$TMP/none.json" 'j["memory"]["limit_bytes"]')" null
fi

# Broken tree: cpu.max "50000" and memory.max "512M" -> exit 2, both unset,
# each error names its file.
if limits_json broken "$FX/broken" --cpus 4; then
	j=$TMP/broken.json
	expect_eq broken.exit "$rc" 2
	expect_eq broken.n_errors "$(jget "$j" 'len(j["errors"])')" 2
	expect_eq broken.gomaxprocs "$(jget "$j" 'j["gomaxprocs"]')" null
	expect_eq broken.gomemlimit "$(jget "$j" 'j["gomemlimit"]')" null
	expect_eq broken.error_files "$(jget "$j" '" ".join(sorted(e["file"].rsplit("/", 1)[1] for e in j["errors"]))')" "cpu.max memory.max"
	check broken.message_quotes_content grep -q '512M' "$j"
fi

# A cgroup path with '"' and '\' and a cpu.max with control characters:
# the JSON must still parse and give the strings back intact.
if limits_json escape "$FX/escape" --cpus 4; then
	j=$TMP/escape.json
	expect_eq escape.exit "$rc" 2
	expect_eq escape.cpu_path "$(jget "$j" 'j["cgroup"]["cpu_path"]')" '/q"b\s'
	expect_eq escape.gomemlimit_despite_cpu_error "$(jget "$j" 'j["gomemlimit"]')" 241591910
	expect_eq escape.error_file "$(jget "$j" 'j["errors"][0]["file"]')" "$FX/escape/sys/fs/cgroup/q\"b\\s/cpu.max"
fi

# GORRAL_SYSROOT stands in for --sysroot.
GORRAL_SYSROOT=$FX/v2_high "$GORRAL" limits --json --cpus 4 >"$TMP/envroot.json" 2>/dev/null
expect_eq sysroot_env "$(jget "$TMP/envroot.json" 'j["gomemlimit"]')" 241591910

# Inherited variables win; a malformed GOMEMLIMIT is an error (Go exits 2).
GOMAXPROCS=3 GOMEMLIMIT=100MiB "$GORRAL" limits --json --sysroot "$FX/v2_high" --cpus 4 >"$TMP/inh.json" 2>/dev/null
expect_eq inherited.exit $? 0
expect_eq inherited.gomaxprocs "$(jget "$TMP/inh.json" 'j["gomaxprocs"]')" null
expect_eq inherited.env "$(jget "$TMP/inh.json" 'j["environment"]["GOMAXPROCS"]')" 3
GOMEMLIMIT=512MB "$GORRAL" limits --json --sysroot "$FX/v2_high" --cpus 4 >"$TMP/bad_env.json" 2>/dev/null
expect_eq inherited_malformed.exit $? 2
check inherited_malformed.warning grep -q 'malformed' "$TMP/bad_env.json"
GOMAXPROCS=+3 "$GORRAL" limits --json --sysroot "$FX/v2_high" --cpus 4 >"$TMP/plus.json" 2>/dev/null
expect_eq inherited_plus3.warns "$(jget "$TMP/plus.json" 'len(j["warnings"])')" 1

# Human output: layout, files, decision.
"$GORRAL" limits --sysroot "$FX/v2_high" --cpus 4 >"$TMP/human.txt" 2>&1
expect_eq human.exit $? 0
check human.layout grep -q '^cgroup layout: *v2' "$TMP/human.txt"
check human.file grep -q "$FX/v2_high/sys/fs/cgroup/svc/cpu.max" "$TMP/human.txt"
check human.gomaxprocs grep -q '^  GOMAXPROCS=2$' "$TMP/human.txt"
check human.gomemlimit grep -q '^  GOMEMLIMIT=241591910$' "$TMP/human.txt"
"$GORRAL" limits --sysroot "$FX/broken" --cpus 4 >"$TMP/human_broken.txt" 2>&1
expect_eq human_broken.exit $? 2
check human_broken.errors grep -q "$FX/broken/sys/fs/cgroup/svc/memory.max: " "$TMP/human_broken.txt"

# With the Go command: its version is read from its build info.
"$GORRAL" limits --json --sysroot "$FX/v2_high" --cpus 4 -- "$GOAPPS/goprobe" >"$TMP/go.json" 2>/dev/null
case $(jget "$TMP/go.json" 'j["go"]["version"]') in
go1.*) pass limits_go_version ;;
*) fail limits_go_version "$(jget "$TMP/go.json" 'j["go"]')" ;;
esac

# --- gorral env -------------------------------------------------------------

out=$("$GORRAL" env --sysroot "$FX/v2_high" --cpus 4 2>/dev/null)
expect_eq env_shell "$out" "export GOMAXPROCS='2'
export GOMEMLIMIT='241591910'"
got=$(eval "$out"; echo "$GOMAXPROCS $GOMEMLIMIT")
expect_eq env_shell_eval "$got" "2 241591910"
out=$("$GORRAL" env --format dotenv --sysroot "$FX/v2_high" --cpus 4 2>/dev/null)
expect_eq env_dotenv "$out" "GOMAXPROCS=2
GOMEMLIMIT=241591910"
"$GORRAL" env --format=json --sysroot "$FX/v2_high" --cpus 4 >"$TMP/env.json" 2>/dev/null
expect_eq env_json "$(jget "$TMP/env.json" 'j')" '{"GOMAXPROCS": "2", "GOMEMLIMIT": "241591910"}'
"$GORRAL" env --format json --sysroot "$CG/no_cgroupfs" --cpus 2 >"$TMP/env_none.json" 2>/dev/null
expect_eq env_json_empty "$(jget "$TMP/env_none.json" 'j')" '{}'
out=$("$GORRAL" env --sysroot "$CG/no_cgroupfs" --cpus 2 2>/dev/null)
expect_eq env_shell_empty "$out" ""
out=$(GOMAXPROCS=5 "$GORRAL" env --format dotenv --sysroot "$FX/v2_high" --cpus 4 2>/dev/null)
expect_eq env_inherited_not_repeated "$out" "GOMEMLIMIT=241591910"
out=$("$GORRAL" env --format dotenv --sysroot "$FX/broken" --cpus 4 2>"$TMP/env_broken.err")
expect_eq env_broken.exit $? 0
expect_eq env_broken.nothing "$out" ""
check env_broken.logged grep -q 'limits-error' "$TMP/env_broken.err"

# --- gorral exec --------------------------------------------------------------

out=$("$GORRAL" exec --sysroot "$FX/v2_high" --cpus 4 -- env 2>/dev/null | grep -E '^GO(MAXPROCS|MEMLIMIT)=' | sort)
expect_eq exec_env "$out" "GOMAXPROCS=2
GOMEMLIMIT=241591910"
out=$(GOMAXPROCS=7 "$GORRAL" exec --sysroot "$FX/v2_high" --cpus 4 -- env 2>/dev/null | grep -E '^GO(MAXPROCS|MEMLIMIT)=' | sort)
expect_eq exec_env_inherited "$out" "GOMAXPROCS=7
GOMEMLIMIT=241591910"
out=$("$GORRAL" exec --sysroot "$FX/v2_high" --cpus 4 --no-gomaxprocs --no-gomemlimit -- env 2>/dev/null | grep -cE '^GO(MAXPROCS|MEMLIMIT)=')
expect_eq exec_env_disabled "$out" 0
out=$("$GORRAL" exec --sysroot "$FX/v2_high" --cpus 4 -- env -0 2>/dev/null | tr '\0' '\n' | grep -c '^PATH=')
expect_eq exec_env_keeps_environment "$out" 1
# The first word after the options also starts the command (no --).
out=$("$GORRAL" exec --sysroot "$FX/v2_high" --cpus 4 printenv GOMAXPROCS 2>/dev/null)
expect_eq exec_without_dashdash "$out" 2
# The exit status passes through (exec: it is the command's own).
"$GORRAL" exec --sysroot "$FX/v2_high" -- sh -c 'exit 42' 2>/dev/null
expect_eq exec_status_passthrough $? 42
# No gorral process remains: the command runs in gorral's own pid.
out=$(sh -c 'echo $$; exec "$@"' sh "$GORRAL" exec --sysroot "$FX/v2_high" -- sh -c 'echo $$' 2>/dev/null | sort -u | wc -l)
expect_eq exec_same_pid "$out" 1
# The logged decision: one structured line per variable.
"$GORRAL" exec --sysroot "$FX/v2_high" --cpus 4 -- true 2>"$TMP/exec.err"
expect_eq exec_log_lines "$(grep -c 'event=limits ' "$TMP/exec.err")" 2
check exec_log_reason grep -q 'gomaxprocs=2 .*reason=' "$TMP/exec.err"

# The real Go 1.19 program sees what gorral set.
if [ -x "$GOAPPS/goprobe" ]; then
	out=$("$GORRAL" exec --sysroot "$FX/v2_high" --cpus 4 -- "$GOAPPS/goprobe" 2>/dev/null)
	case $out in
	*"gomaxprocs=2 "*"memlimit=241591910 "*) pass exec_goprobe ;;
	*) fail exec_goprobe "$out" ;;
	esac
else
	fail exec_goprobe "$GOAPPS/goprobe not built (make goapps)"
fi

# Failures: 127 not found, 126 not executable, with a message.
"$GORRAL" exec -- /nonexistent/gorral-test 2>"$TMP/e127"
expect_eq exec_not_found $? 127
check exec_not_found_msg grep -q "cannot execute '/nonexistent/gorral-test'" "$TMP/e127"
"$GORRAL" exec -- gorral-no-such-command-xyz 2>/dev/null
expect_eq exec_not_found_path $? 127
printf 'data\n' >"$TMP/notexec"
chmod 644 "$TMP/notexec"
"$GORRAL" exec -- "$TMP/notexec" 2>"$TMP/e126"
expect_eq exec_not_executable $? 126
check exec_not_executable_msg grep -q 'Permission denied' "$TMP/e126"
"$GORRAL" exec -- "$TMP" 2>/dev/null
expect_eq exec_directory $? 126

# Errors: fail-open by default, --strict refuses (exit 2, command not run).
out=$("$GORRAL" exec --sysroot "$FX/escape" --cpus 4 -- env 2>"$TMP/open.err" | grep -E '^GO(MAXPROCS|MEMLIMIT)=')
expect_eq exec_fail_open "$out" "GOMEMLIMIT=241591910"
check exec_fail_open_warns grep -q 'exec-degraded' "$TMP/open.err"
"$GORRAL" exec --strict --sysroot "$FX/broken" -- sh -c "touch '$TMP/ran'" 2>"$TMP/strict.err"
expect_eq exec_strict.exit $? 2
check exec_strict.not_run test ! -e "$TMP/ran"
check exec_strict.says_why grep -q 'exec-refused' "$TMP/strict.err"
"$GORRAL" exec --sysroot "$FX/broken" -- sh -c "touch '$TMP/ran'" 2>/dev/null
expect_eq exec_nonstrict.exit $? 0
check exec_nonstrict.ran test -e "$TMP/ran"

# --- usage -------------------------------------------------------------------

for c in limits env exec; do
	out=$("$GORRAL" $c --help 2>&1)
	expect_eq "help.$c.exit" $? 0
	case $out in *"Usage: gorral $c"*"--rounding"*) pass "help.$c.text" ;; *) fail "help.$c.text" "${out:0:200}" ;; esac
	out=$("$GORRAL" $c --version 2>&1)
	expect_eq "version.$c.exit" $? 0
	case $out in "gorral "[0-9]*) pass "version.$c" ;; *) fail "version.$c" "$out" ;; esac
done
usage() {
	local name=$1; shift
	"$GORRAL" "$@" >/dev/null 2>"$TMP/usage.err"
	local r=$?
	if [ $r -eq 2 ] && [ -s "$TMP/usage.err" ]; then pass "usage.$name"; else fail "usage.$name" "exit $r: $(cat "$TMP/usage.err")"; fi
}
usage rounding limits --rounding round
usage rounding_missing limits --rounding
usage ratio_zero limits --mem-ratio 0
usage ratio_above_one limits --mem-ratio 1.5
usage ratio_garbage env --mem-ratio abc
usage min_procs_zero limits --min-procs 0
usage cpus_zero exec --cpus 0 -- true
usage unknown_option env --bogus
usage env_format env --format yaml
usage limits_stray_arg limits stray
usage exec_no_command exec --cpus 2
usage exec_flag_with_value exec --strict=1 -- true

# --- the static build, once ---------------------------------------------------

if [ -n "${GORRAL_STATIC:-}" ] && [ -x "$GORRAL_STATIC" ]; then
	"$GORRAL_STATIC" limits --json --sysroot "$FX/v2_high" --cpus 4 >"$TMP/static.json" 2>/dev/null
	expect_eq static.limits "$(jget "$TMP/static.json" '[j["gomaxprocs"], j["gomemlimit"]]')" "[2, 241591910]"
	out=$("$GORRAL_STATIC" exec --sysroot "$FX/v2_high" --cpus 4 -- env 2>/dev/null | grep -E '^GO(MAXPROCS|MEMLIMIT)=' | sort)
	expect_eq static.exec_env "$out" "GOMAXPROCS=2
GOMEMLIMIT=241591910"
	"$GORRAL_STATIC" exec -- /nonexistent/x 2>/dev/null
	expect_eq static.exec_127 $? 127
else
	skip_static static "GORRAL_STATIC not built"
fi
