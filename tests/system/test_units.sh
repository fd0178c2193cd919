#!/usr/bin/env bash
# The shipped systemd units (packaging/systemd/) under `systemd-analyze
# verify`, offline, against a scratch root that holds the binary their
# ExecStart= names. verify returns 0 on an unknown key or a bad value (it
# only warns), so any output at all, on stdout or stderr, is a failure.
# Fast (0.1 s a unit), no container: runs wherever systemd-analyze exists.
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../integration/lib.sh"
units=$here/../../packaging/systemd
man=$here/../../packaging/man

if ! command -v systemd-analyze >/dev/null; then
	skip units "systemd-analyze is not installed (package systemd)"
	exit 0
fi

# ExecStart=/usr/bin/gorral must exist and be executable in the root
# verify looks at, and the units a service depends on by default
# (sysinit.target, basic.target, ...) too: the host's unit directory is
# copied in (1 MB). The unit itself goes where systemd reads units, so that
# gorral@.service is verified as an instance (gorral@prod.service: %i).
root=$TMP/root
mkdir -p "$root/usr/bin" "$root/usr/lib/systemd" "$root/etc/systemd/system" "$root/etc/gorral"
cp "$GORRAL" "$root/usr/bin/gorral"
cp -r /usr/lib/systemd/system "$root/usr/lib/systemd/system"
cp "$units"/*.service "$root/etc/systemd/system/"

# verify_clean NAME UNIT...: rc 0 and not one byte of output.
verify_clean() {
	local name=$1 out rc
	shift
	# --man=no: the man pages of Documentation= are checked below, from
	# the tree (verify would run man(1) on the host's installed pages).
	out=$(cd "$root/etc/systemd/system" && SYSTEMD_LOG_COLOR=0 systemd-analyze verify --man=no --root="$root" "$@" 2>&1)
	rc=$?
	if [ $rc -eq 0 ] && [ -z "$out" ]; then
		pass "$name"
	else
		fail "$name" "rc=$rc, output: $(echo "$out" | head -5 | tr '\n' '|')"
	fi
}

for u in gorral.service gorral@.service; do
	check "unit $u exists" test -f "$units/$u"
done
verify_clean "verify gorral.service (no output)" gorral.service
verify_clean "verify gorral@prod.service (no output)" gorral@prod.service

# The check must be able to fail: a unit with an unknown key and a bad
# value returns 0 from verify, with warnings only.
sed -e 's/^WatchdogSec=.*/WatchdogSec=banana/' -e '/^\[Service\]/a Bogus=1' \
	"$units/gorral.service" >"$root/etc/systemd/system/gorral-bad.service"
out=$(cd "$root/etc/systemd/system" && systemd-analyze verify --man=no --root="$root" gorral-bad.service 2>&1)
rc=$?
if [ $rc -eq 0 ] && echo "$out" | grep -q Bogus && echo "$out" | grep -q banana; then
	pass "verify warns of an unknown key and a bad value, with rc 0: output is the test"
else
	fail "verify warns of an unknown key and a bad value, with rc 0" "rc=$rc, output: $out"
fi

# What the units promise, from systemd's own parse of them (systemctl show
# on a unit file is not available offline; grep the effective lines).
val() { sed -n "s/^$2=//p" "$units/$1" | tail -1; }
for u in gorral.service gorral@.service; do
	expect_eq "$u Type" "$(val "$u" Type)" notify
	expect_eq "$u NotifyAccess" "$(val "$u" NotifyAccess)" main
	expect_eq "$u KillMode" "$(val "$u" KillMode)" mixed
	expect_eq "$u Delegate" "$(val "$u" Delegate)" yes
	check "$u WatchdogSec set" test -n "$(val "$u" WatchdogSec)"
	check "$u has no NoNewPrivileges (setuid services)" test -z "$(val "$u" NoNewPrivileges)"
	check "$u has no ProtectControlGroups (gorral writes cgroups)" test -z "$(val "$u" ProtectControlGroups)"
done
expect_eq "gorral@.service control socket" \
	"$(val gorral@.service ExecStart | grep -o -- '--control [^ ]*')" "--control /run/gorral/%i.sock"
expect_eq "gorral@.service reloads through its own socket" \
	"$(val gorral@.service ExecReload | grep -o -- '--control [^ ]*')" "--control /run/gorral/%i.sock"

# Every man page a unit's Documentation= names is in the tree.
if [ -d "$man" ]; then
	for page in $(sed -n 's/^Documentation=//p' "$units"/*.service | tr ' ' '\n' | sort -u); do
		case $page in
		man:*) f=${page#man:} n=${f%%(*} s=${f#*(} s=${s%)}
			if ls "$man/$n.$s"* >/dev/null 2>&1; then pass "man page $f exists"
			else fail "man page $f exists" "no $man/$n.$s"; fi ;;
		esac
	done
else
	skip "Documentation= man pages" "packaging/man/ is not in this tree yet"
fi
