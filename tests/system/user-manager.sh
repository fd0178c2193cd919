# Sourced by tests/system/test_*.sh: a real systemd to talk to, cheaply.
# The host's own `systemd --user` in a mount + cgroup namespace of its own,
# on fresh cgroups that this file makes and removes (in every v1 hierarchy
# and the cgroup2 mount). Inside: a tmpfs on /run/systemd with
# /run/systemd/system (systemd --user refuses to start without it: "the
# system has not been booted with systemd"), a tmpfs /sys/fs/cgroup with
# each hierarchy mounted again inside the cgroupns (without that, systemd
# finds its memory path differs from its name=systemd one and applies cpu
# only), and XDG_RUNTIME_DIR a private directory where the manager's own
# dbus.socket listens. Scopes land in app.slice. The manager is on its bus
# 0.2-0.3 s after start.
#
#   um_start DIR      start it; sets UM_PID (the manager), UM_BUS (its bus
#                     address), UM_CG (the namespace's root in each v1
#                     hierarchy, "controller=path" words); 1 when it fails
#   um_run CMD...     run CMD inside the namespaces, in the manager's cgroups
#   um_stop           stop the manager, remove the cgroups

UM_PID=
UM_DIR=
UM_CGDIRS=()

um_hierarchies() {
	awk '$0 ~ / - cgroup2? / { print $5 " " $(NF-2) " " $NF }' /proc/self/mountinfo
}

um_start() {
	local dir=$1 name mp fstype opts leaf i
	UM_DIR=$dir
	rm -f "$dir/pid"
	mkdir -p "$dir/xdg" && chmod 700 "$dir/xdg"
	leaf=gorral-um-$$
	# Fresh cgroups in every hierarchy: the namespace's root, removed at the end.
	while read -r mp fstype opts; do
		case $mp in /sys/fs/cgroup/*) ;; *) continue ;; esac
		[ -d "$mp/$leaf" ] || mkdir "$mp/$leaf" || return 1
		UM_CGDIRS+=("$mp/$leaf")
		# cpuset children start empty: copy the parent's.
		if [ -e "$mp/cpuset.cpus" ]; then
			cat "$mp/cpuset.cpus" >"$mp/$leaf/cpuset.cpus"
			cat "$mp/cpuset.mems" >"$mp/$leaf/cpuset.mems"
		fi
	done < <(um_hierarchies)
	cat >"$dir/inner.sh" <<'INNER'
set -e
for d in "$@"; do echo $$ >"$d/cgroup.procs"; done
exec unshare --mount --cgroup --propagation private -- bash -c '
set -e
mount -t tmpfs -o mode=755 tmpfs /run/systemd
mkdir /run/systemd/system
# The hierarchies as they are mounted now, then again inside the cgroupns.
awk '\''$0 ~ / - cgroup2? / && $5 ~ "^/sys/fs/cgroup/" { print $5 " " $(NF-2) " " $NF }'\'' /proc/self/mountinfo >"$UM_DIR/mounts"
mount -t tmpfs -o mode=755 tmpfs /sys/fs/cgroup
while read -r mp fstype opts; do
	mkdir -p "$mp"
	if [ "$fstype" = cgroup2 ]; then
		mount -t cgroup2 none "$mp"
	else
		o=$(echo "$opts" | tr , "\n" | grep -E "^(cpu|cpuacct|cpuset|memory|devices|freezer|blkio|pids|net_cls|net_prio|perf_event|hugetlb|rdma|misc|name=.*)$" | paste -sd, -)
		case $o in name=*) o=none,$o ;; esac
		mount -t cgroup -o "$o" cgroup "$mp"
	fi
done <"$UM_DIR/mounts"
echo $$ >"$UM_DIR/pid"
exec env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root USER=root XDG_RUNTIME_DIR="$UM_DIR/xdg" \
	/lib/systemd/systemd --user --log-target=console
'
INNER
	UM_DIR=$dir bash "$dir/inner.sh" "${UM_CGDIRS[@]}" >"$dir/manager.log" 2>&1 &
	UM_SHELL=$!
	for ((i = 0; i < 50; i++)); do
		[ -s "$dir/pid" ] && [ -S "$dir/xdg/bus" ] && break
		sleep 0.1
	done
	UM_PID=$(cat "$dir/pid" 2>/dev/null)
	UM_BUS=unix:path=$dir/xdg/bus
	[ -n "$UM_PID" ] || return 1
	for ((i = 0; i < 50; i++)); do
		DBUS_SESSION_BUS_ADDRESS=$UM_BUS busctl --user call org.freedesktop.systemd1 /org/freedesktop/systemd1 \
			org.freedesktop.DBus.Peer Ping >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

# um_run CMD...: CMD joins the manager's namespaces and its cgroups first
# (a process outside the cgroupns's root cannot be moved into a scope).
# um_spawn OUT CMD...: the same in the background, output to OUT; sets
# UM_SPAWNED to CMD's own pid (every step execs).
um_exec() {
	exec bash -c 'for d in "$@"; do case $d in --) break ;; esac; echo $$ >"$d/cgroup.procs" || exit 99; done
		while [ "$1" != -- ]; do shift; done; shift
		exec nsenter -t '"$UM_PID"' -m -C -- "$@"' _ "${UM_CGDIRS[@]}" -- env XDG_RUNTIME_DIR="$UM_DIR/xdg" \
		DBUS_SESSION_BUS_ADDRESS="$UM_BUS" "$@"
}
um_run() { (um_exec "$@"); }
um_spawn() {
	local out=$1
	shift
	(um_exec "$@") >"$out" 2>&1 &
	UM_SPAWNED=$!
}

um_stop() {
	local d i p
	[ -n "$UM_PID" ] && kill "$UM_PID" 2>/dev/null
	for ((i = 0; i < 30; i++)); do
		kill -0 "$UM_PID" 2>/dev/null || break
		sleep 0.1
	done
	[ -n "$UM_PID" ] && kill -9 "$UM_PID" 2>/dev/null
	# What the manager started and left (its dbus-daemon) is below the
	# namespace's root: SIGKILL it, by the pids of those cgroups only.
	for d in "${UM_CGDIRS[@]}"; do
		case $d in */pids/*) ;; *) continue ;; esac
		for ((i = 0; i < 20; i++)); do
			p=$(find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null)
			[ -z "$p" ] && break
			kill -9 $p 2>/dev/null
			sleep 0.1
		done
	done
	# Children first: the manager's slices and scopes below the namespace root.
	for d in "${UM_CGDIRS[@]}"; do
		[ -d "$d" ] || continue
		for ((i = 0; i < 20; i++)); do
			find "$d" -mindepth 1 -depth -type d -exec rmdir {} \; 2>/dev/null
			rmdir "$d" 2>/dev/null && break
			sleep 0.1
		done
		[ -d "$d" ] && echo "warning: could not remove $d" >&2
	done
}
