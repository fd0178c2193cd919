#!/usr/bin/env bash
# Per-service cgroups (cgsvc.h) on this machine's real cgroups, through a
# small driver linked with the library sources (tests/helpers/cgsvc_drive.c),
# so it runs without the supervisor. Twice: the dynamic build's v1 backend
# (libcgroup 2.0.2) and the static build's (direct writes, musl).
# Below this process's own cgroups only; everything is removed again.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/run_helpers.sh"

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
MiB=$((1024 * 1024))

if ! is_root; then
	skip cgsvc "not root: cannot create cgroups"
	exit 0
fi
cpu_mnt=$(v1_mount cpu)
mem_mnt=$(v1_mount memory)
v2_mnt=$(awk '$0 ~ / - cgroup2 / { print $5; exit }' /proc/self/mountinfo)
if [ -z "$cpu_mnt" ] || [ -z "$mem_mnt" ] || [ -z "$v2_mnt" ]; then
	skip cgsvc "not a hybrid host (v1 cpu and memory plus a cgroup2 mount): this test drives that layout"
	exit 0
fi
CPU_OWN=$cpu_mnt$(own_v1_cgroup cpu)
MEM_OWN=$mem_mnt$(own_v1_cgroup memory)
V2_OWN=$v2_mnt$(awk -F: '$1 == 0 { print $3 }' /proc/self/cgroup)
CPU_OWN=${CPU_OWN%/} MEM_OWN=${MEM_OWN%/} V2_OWN=${V2_OWN%/}

# The driver links the modules cgsvc.c needs, by name: one they start to
# call goes here too (cgsvc_build fails with the linker's words otherwise).
SRCS="$ROOT/src/cgsvc.c $ROOT/src/cgroup.c $ROOT/src/mountdesc.c $ROOT/src/cgroup-v1.c $ROOT/src/util.c $ROOT/src/spawn.c $ROOT/src/signals.c"
build_drivers() {
	cc -std=gnu11 -D_GNU_SOURCE -I"$ROOT/include" -O2 -o "$TMP/drive-libcgroup" \
		"$ROOT/tests/helpers/cgsvc_drive.c" $SRCS -lcgroup 2>"$TMP/cc.err" || return 1
	if command -v musl-gcc >/dev/null; then
		musl-gcc -static -std=gnu11 -D_GNU_SOURCE -DGORRAL_STATIC -I"$ROOT/include" -Os -o "$TMP/drive-direct" \
			"$ROOT/tests/helpers/cgsvc_drive.c" $SRCS 2>>"$TMP/cc.err" || return 1
	fi
}
if ! build_drivers; then
	fail cgsvc_build "$(head -5 "$TMP/cc.err")"
	exit 0
fi

# --- the driver as a coprocess: send LINE, read its one answer ---------------
start_driver() {
	coproc DRV { exec "$1"; }
}
# ask CMD...: the answer line in $ans (notes of `open` collected in $notes).
ask() {
	notes=""
	echo "$*" >&"${DRV[1]}"
	while IFS= read -r -t 10 ans <&"${DRV[0]}"; do
		case $ans in
		note\ *) notes+="${ans#note }"$'\n' ;;
		*) return 0 ;;
		esac
	done
	ans="(no answer)"
	return 1
}
kv() { sed -n "s/.*\\b$1=\\([^ ]*\\).*/\\1/p" <<<"$ans"; }
stop_driver() {
	echo quit >&"${DRV[1]}" 2>/dev/null
	wait "$DRV_PID" 2>/dev/null
}

# pids_alive PID...: how many of them still exist (zombies count as gone).
pids_alive() {
	local n=0 p
	for p in "$@"; do
		[ -e "/proc/$p" ] && [ "$(awk '{print $3}' "/proc/$p/stat" 2>/dev/null)" != Z ] && n=$((n + 1))
	done
	echo $n
}

scenario() {
	local v=$1 drv=$2 svc=it$$
	start_driver "$drv"
	ask open
	case $ans in
	"ok enabled=1"*) pass "$v:host_open" ;;
	*) fail "$v:host_open" "$ans"; stop_driver; return ;;
	esac
	expect_eq "$v:describe" "$(sed -n 's/.*describe=\(v1 via [a-z]*\).*/\1/p' <<<"$ans")" \
		"v1 via $([ "$v" = libcgroup ] && echo libcgroup || echo direct)"
	grep -q "cgroup2 tracking (cgroup.kill)" <<<"$ans" && pass "$v:tracking" || fail "$v:tracking" "$ans"

	# --- cpu 0.5 and 128 MiB: exactly those values in its own v1 cgroups ---
	ask create "$svc" 50000 100000 $((128 * MiB))
	[[ $ans == ok* ]] || { fail "$v:create" "$ans"; stop_driver; return; }
	expect_eq "$v:create_paths" "$(kv path) $(kv subpath) $(kv nfds)" "$V2_OWN/gorral/$svc gorral/$svc 3"
	expect_eq "$v:cpu_values" "$(cat "$CPU_OWN/gorral/$svc/cpu.cfs_quota_us") $(cat "$CPU_OWN/gorral/$svc/cpu.cfs_period_us")" "50000 100000"
	expect_eq "$v:memory_value" "$(cat "$MEM_OWN/gorral/$svc/memory.limit_in_bytes")" $((128 * MiB))
	check "$v:tracking_cgroup" test -e "$V2_OWN/gorral/$svc/cgroup.kill"
	ask limits "$svc"
	expect_eq "$v:limits_sub" "$(kv cpu) $(kv mem) $(kv cpu_file)" \
		"50000/100000 $((128 * MiB)) $CPU_OWN/gorral/$svc/cpu.cfs_quota_us"

	# --- a process that double-forks into a new session, inside it ----------
	rm -f "$TMP/gc.pid"
	ask sh "$svc" "setsid sh -c 'echo \$\$ >$TMP/gc.pid; exec sleep 300' </dev/null >/dev/null 2>&1 & exec sleep 300"
	local main=$(kv pid)
	wait_for_file "$TMP/gc.pid" 50
	local gc=$(cat "$TMP/gc.pid" 2>/dev/null)
	if [ -z "$main" ] || [ -z "$gc" ]; then
		fail "$v:spawn" "$ans / grandchild ${gc:-none}"
		stop_driver
		return
	fi
	local in_all=1 f
	for f in "$CPU_OWN" "$MEM_OWN" "$V2_OWN"; do
		grep -qx "$gc" "$f/gorral/$svc/cgroup.procs" || in_all=0
		grep -qx "$main" "$f/gorral/$svc/cgroup.procs" || in_all=0
	done
	expect_eq "$v:entered_before_exec" "$in_all" 1
	expect_eq "$v:grandchild_new_session" "$(ps -o sid= -p "$gc" | tr -d ' ')" "$gc"
	ask populated "$svc"
	expect_eq "$v:populated_1" "$ans" "ok 1"
	ask watch "$svc"
	[[ $ans == ok ]] || fail "$v:watch" "$ans"

	# --- SIGTERM to every process (sleep dies of it), then the stop ----------
	ask signal "$svc" TERM
	expect_eq "$v:signal_term_count" "$(kv n)" 2
	ask waitempty "$svc" 3000
	expect_eq "$v:term_reaches_all" "$(kv populated) $(pids_alive "$main" "$gc")" "0 0"
	check "$v:events_wake_epoll" test "$(kv woke)" -ge 1
	echo "INFO: $v: cgroup.events revents=$(kv revents) after the last process left ($(kv ms) ms)"

	# and SIGKILL (cgroup.kill) on a fresh double-forking process tree
	rm -f "$TMP/gc.pid"
	ask sh "$svc" "trap '' TERM; setsid sh -c 'trap \"\" TERM; echo \$\$ >$TMP/gc.pid; while :; do sleep 1; done' </dev/null >/dev/null 2>&1 & while :; do sleep 1; done"
	main=$(kv pid)
	wait_for_file "$TMP/gc.pid" 50
	gc=$(cat "$TMP/gc.pid" 2>/dev/null)
	ask signal "$svc" TERM
	sleep 0.2
	expect_eq "$v:term_ignored_still_alive" "$(pids_alive "$main" "$gc")" 2
	ask kill "$svc"
	[[ $ans == ok* ]] || fail "$v:kill" "$ans"
	ask waitempty "$svc" 3000
	expect_eq "$v:kill_reaches_all" "$(kv populated) $(pids_alive "$main" "$gc")" "0 0"
	grep -qx 'populated 0' "$V2_OWN/gorral/$svc/cgroup.events" && pass "$v:events_populated_0" ||
		fail "$v:events_populated_0" "$(cat "$V2_OWN/gorral/$svc/cgroup.events")"

	# --- update, then removal leaves nothing behind ---------------------------
	ask update "$svc" 150000 100000 $((256 * MiB))
	expect_eq "$v:update" "$ans $(cat "$CPU_OWN/gorral/$svc/cpu.cfs_quota_us") $(cat "$MEM_OWN/gorral/$svc/memory.limit_in_bytes")" \
		"ok 150000 $((256 * MiB))"
	ask destroy "$svc"
	[[ $ans == ok* ]] && pass "$v:destroy" || fail "$v:destroy" "$ans"
	local left=""
	for f in "$CPU_OWN" "$MEM_OWN" "$V2_OWN"; do
		[ -e "$f/gorral/$svc" ] && left+=" $f/gorral/$svc"
	done
	expect_eq "$v:nothing_left" "${left:-none}" none
	ask close
	left=""
	for f in "$CPU_OWN" "$MEM_OWN" "$V2_OWN"; do
		[ -e "$f/gorral" ] && left+=" $f/gorral"
	done
	expect_eq "$v:instance_removed" "${left:-none}" none
	stop_driver

	# --- a SIGKILLed owner's leftover is cleaned by the next host_open --------
	start_driver "$drv"
	ask open
	ask create "$svc" 0 0 0
	rm -f "$TMP/gc.pid"
	ask sh "$svc" "setsid sh -c 'echo \$\$ >$TMP/gc.pid; exec sleep 300' </dev/null >/dev/null 2>&1 & exec sleep 300"
	main=$(kv pid)
	wait_for_file "$TMP/gc.pid" 50
	gc=$(cat "$TMP/gc.pid" 2>/dev/null)
	kill -KILL "$DRV_PID"
	wait "$DRV_PID" 2>/dev/null
	expect_eq "$v:leftover_present" "$(pids_alive "$main" "$gc") $(test -d "$V2_OWN/gorral/$svc" && echo dir)" "2 dir"
	start_driver "$drv"
	ask open
	grep -q "removed leftover $V2_OWN/gorral of an earlier gorral (killed 2 processes)" <<<"$notes" &&
		pass "$v:leftover_note" || fail "$v:leftover_note" "$notes"
	sleep 0.1
	expect_eq "$v:leftover_killed" "$(pids_alive "$main" "$gc")" 0
	left=""
	for f in "$CPU_OWN" "$MEM_OWN" "$V2_OWN"; do
		[ -e "$f/gorral/$svc" ] && left+=" $f/gorral/$svc"
	done
	expect_eq "$v:leftover_removed" "${left:-none}" none

	# --- a second live gorral in the same cgroup takes gorral-<pid> -----------
	local second
	second=$(printf 'open\nquit\n' | "$drv" & echo "pid=$!"; wait)
	local spid=$(sed -n 's/^pid=//p' <<<"$second")
	grep -q "in $V2_OWN/gorral-$spid" <<<"$second" && pass "$v:second_instance" || fail "$v:second_instance" "$second"
	stop_driver

	# --- cost of create + enter + remove ---------------------------------------
	start_driver "$drv"
	ask open
	ask bench 200
	[[ $ans == ok* ]] && pass "$v:bench" || fail "$v:bench" "$ans"
	echo "INFO: $v: one service, median of 200: create $(kv create_us) us, spawn /bin/true entering 3 cgroups + reap $(kv spawn_enter_exit_us) us (without cgroups $(kv spawn_plain_us) us), remove $(kv destroy_us) us, total $(kv total_us) us (p90 $(kv total_p90_us) us)"
	stop_driver
}

scenario libcgroup "$TMP/drive-libcgroup"
if [ -x "$TMP/drive-direct" ]; then
	scenario direct "$TMP/drive-direct"
else
	skip direct "musl-gcc not installed: the static build's direct v1 writes are not exercised"
fi

# --- pure v2: the same kernel seen through a mount namespace where only the
# cgroup2 mount is left (no controllers there: the v2 path without limits:
# direct mkdir, enter, cgroup.kill, cgroup.events, rmdir) ------------------------
if command -v unshare >/dev/null; then
	cat >"$TMP/v2ns.sh" <<'EOS'
awk '$0 ~ / - cgroup / { print $5 }' /proc/self/mountinfo | while read -r m; do umount -l "$m" || exit 1; done
printf 'open\ncreate v2svc 0 0 0\nsh v2svc setsid sleep 100 & exec sleep 100\npopulated v2svc\nwatch v2svc\nkill v2svc\nwaitempty v2svc 3000\ndestroy v2svc\nclose\nquit\n' | "$1"
EOS
	out=$(unshare -m --propagation private bash "$TMP/v2ns.sh" "$TMP/drive-libcgroup" 2>&1)
	if grep -q "describe=v2 (cgroup.kill) in $v2_mnt/gorral" <<<"$out"; then
		pass v2ns:host_open
		expect_eq v2ns:create "$(grep -c "^ok path=$v2_mnt/gorral/v2svc subpath=gorral/v2svc events_fd=[0-9]* nfds=1" <<<"$out")" 1
		expect_eq v2ns:populated_then_killed "$(grep -c -e '^ok 1$' -e '^ok woke=[1-9][0-9]* revents=PRI|ERR populated=0' <<<"$out")" 2
		expect_eq v2ns:destroyed "$(grep -c '^ok tries=' <<<"$out") $(test -e "$v2_mnt/gorral" && echo left || echo gone)" "1 gone"
	else
		fail v2ns:host_open "$out"
	fi
else
	skip v2ns "no unshare(1): the pure v2 path on real cgroups is not exercised"
fi

# --- pure v1: the cgroup2 mount hidden by a mount namespace, so the stop goes
# through the v1 freezer and cgroup.procs, and emptiness is read from
# cgroup.procs (no cgroup.events) ---------------------------------------------
frz_mnt=$(v1_mount freezer)
if command -v unshare >/dev/null && [ -n "$frz_mnt" ]; then
	FRZ_OWN=$frz_mnt$(own_v1_cgroup freezer)
	FRZ_OWN=${FRZ_OWN%/}
	coproc DRV { exec unshare -m --propagation private bash -c 'umount -l "$1" && exec "$0"' "$TMP/drive-libcgroup" "$v2_mnt"; }
	ask open
	grep -q "describe=v1 via libcgroup 2.0.2 (cpu memory freezer) in $CPU_OWN/gorral, no cgroup2 tree (freezer+kill)" <<<"$ans" &&
		pass v1ns:host_open || fail v1ns:host_open "$ans"
	ask create v1svc 50000 100000 $((128 * MiB))
	expect_eq v1ns:create "$(kv events_fd) $(kv nfds)" "-1 3"
	# populated_within SECONDS: ask until "ok 0" (the driver reads cgroup.procs)
	populated_within() {
		local i
		for ((i = 0; i < $1 * 20; i++)); do
			ask populated v1svc
			[ "$ans" = "ok 0" ] && return 0
			sleep 0.05
		done
		return 1
	}
	rm -f "$TMP/gc.pid"
	ask sh v1svc "trap '' TERM; setsid sh -c 'trap \"\" TERM; echo \$\$ >$TMP/gc.pid; while :; do sleep 1; done' </dev/null >/dev/null 2>&1 & while :; do sleep 1; done"
	main=$(kv pid)
	wait_for_file "$TMP/gc.pid" 50
	gc=$(cat "$TMP/gc.pid" 2>/dev/null)
	grep -qx "$gc" "$FRZ_OWN/gorral/v1svc/cgroup.procs" && pass v1ns:in_freezer_cgroup || fail v1ns:in_freezer_cgroup "no $gc"
	ask signal v1svc TERM
	[[ $ans == ok* ]] || fail v1ns:signal_term "$ans"
	sleep 0.2
	expect_eq v1ns:term_ignored_thawed "$(pids_alive "$main" "$gc") $(cat "$FRZ_OWN/gorral/v1svc/freezer.state")" "2 THAWED"
	ask kill v1svc
	check v1ns:kill_count test "$(kv n)" -ge 2
	populated_within 3 && pass v1ns:empty_after_kill || fail v1ns:empty_after_kill "$ans"
	expect_eq v1ns:kill_reaches_all "$(pids_alive "$main" "$gc")" 0
	ask destroy v1svc
	[[ $ans == ok* ]] && pass v1ns:destroy || fail v1ns:destroy "$ans"
	ask close
	left=""
	for f in "$CPU_OWN" "$MEM_OWN" "$FRZ_OWN"; do
		[ -e "$f/gorral" ] && left+=" $f/gorral"
	done
	expect_eq v1ns:nothing_left "${left:-none}" none
	stop_driver
else
	skip v1ns "no unshare(1) or no v1 freezer: the pure v1 stop path is not exercised"
fi

# --- where cgroups cannot be made, host_open says why once, nothing fails ------
disabled_case() {
	local name=$1 want=$2 out
	out=$3
	if grep -q "^ok enabled=0 ctrls=0 reason=per-service cgroups disabled, services run in gorral's own cgroup: cannot create cgroups: .*$want" <<<"$out" &&
		grep -q '^err create: Operation not supported' <<<"$out"; then
		expect_eq "$name" "$(grep -c '^note ' <<<"$out")" 0
	else
		fail "$name" "$out"
	fi
}
if command -v unshare >/dev/null; then
	cat >"$TMP/rons.sh" <<'EOS'
awk '$0 ~ / - cgroup2? / { print $5 }' /proc/self/mountinfo | while read -r m; do mount -o remount,bind,ro "$m" || exit 1; done
printf 'open\ncreate api 0 0 0\nquit\n' | "$1"
EOS
	disabled_case disabled_read_only "Read-only file system" "$(unshare -m --propagation private bash "$TMP/rons.sh" "$TMP/drive-libcgroup" 2>&1)"
else
	skip disabled_read_only "no unshare(1)"
fi
if command -v setpriv >/dev/null; then
	disabled_case disabled_unprivileged "Permission denied" \
		"$(printf 'open\ncreate api 0 0 0\nquit\n' | setpriv --reuid=65534 --regid=65534 --clear-groups "$TMP/drive-libcgroup" 2>&1)"
else
	skip disabled_unprivileged "no setpriv(1)"
fi

# --- v1 refuses a child quota above its parent's (EINVAL): the service is
# still created, and its limit is the parent's -------------------------------
PARENT=$CPU_OWN/cgsvc-it$$
if cg_mkdir "$PARENT" && echo 100000 >"$PARENT/cpu.cfs_quota_us"; then
	out=$(bash -c 'echo $$ >"$1/cgroup.procs" || exit 99; printf "open\ncreate greedy 200000 100000 0\nlimits greedy\ndestroy greedy\nclose\nquit\n" | "$2"' _ "$PARENT" "$TMP/drive-libcgroup" 2>&1)
	if grep -q '^ok path=' <<<"$out"; then
		expect_eq v1_quota_above_parent "$(sed -n 's/^ok cpu=\([^ ]*\) .*cpu_file=\([^ ]*\).*/\1 \2/p' <<<"$out")" \
			"100000/100000 $PARENT/cpu.cfs_quota_us"
	else
		fail v1_quota_above_parent "$out"
	fi
else
	skip v1_quota_above_parent "cannot make $PARENT: $(cat "$TMP/mkdir.err" 2>/dev/null)"
fi
