#!/usr/bin/env bash
# The manual pages: they format without a warning (groff -ww, and man-db's
# own check), gorral(1) has every command and every option each command's
# --help prints and no option that --help lacks, and gorral.yaml(5) has
# every key config.c and detect.c accept, none they do not, and every key
# config/gorral.yaml uses (tests/system/mansync.py says how it reads them).
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../integration/lib.sh"
repo=$(cd "$here/../.." && pwd)
man=$repo/packaging/man
pages=("$man/gorral.1" "$man/gorral.yaml.5" "$man/gorral-dbus.7")

for p in "${pages[@]}"; do
	n=$(basename "$p")
	if [ ! -f "$p" ]; then
		fail "man_exists_$n" "$p is missing"
		continue
	fi
	out=$(LC_ALL=C.UTF-8 groff -ww -man -z "$p" 2>&1)
	expect_eq "man_groff_$n" "$out" ""
	# man-db's check (it runs groff with -ww through its own pipeline,
	# preconv included); the width is fixed so that the line breaking and
	# thus the warnings do not depend on the terminal.
	if command -v man >/dev/null; then
		out=$(MANWIDTH=80 LC_ALL=C.UTF-8 man --warnings -l "$p" 2>&1 >/dev/null)
		expect_eq "man_warnings_$n" "$out" ""
	else
		skip "man_warnings_$n" "man-db is not installed (groff -ww above checked the page)"
	fi
	# Every page renders to text with its name in the header line.
	first=$(MANWIDTH=80 LC_ALL=C.UTF-8 man -l "$p" 2>/dev/null | head -1)
	case $first in
	*"$(tr a-z A-Z <<<"${n%.*}")("*) pass "man_renders_$n" ;;
	*) fail "man_renders_$n" "first line '$first'" ;;
	esac
done

python3 "$here/mansync.py" options "$GORRAL" "$man/gorral.1"
python3 "$here/mansync.py" keys "$man/gorral.yaml.5" "$repo/src/config.c" "$repo/src/detect.c" \
	"$repo/config/gorral.yaml"

# gorral-dbus(7) against the introspection XML the bus work ships (a test
# of its own compares that XML with a live gorral).
xml=$repo/packaging/dbus/org.gorral.Supervisor1.xml
if [ -f "$xml" ]; then
	python3 "$here/mansync.py" dbus "$man/gorral-dbus.7" "$xml"
else
	skip man_dbus_members "no $xml in this tree yet (the bus work ships it)"
fi

# The checker itself: an option --help has and the page lacks, and a key
# the page claims that the code does not accept, are both reported.
sed 's/^\\fB\\-\\-drain\\-delay\\fR.*/\\fB\\-\\-no\\-such\\-option\\fR/' "$man/gorral.1" >"$TMP/drift.1"
out=$(python3 "$here/mansync.py" options "$GORRAL" "$TMP/drift.1" | grep '^FAIL: man_options_run')
case $out in
*"--drain-delay is in --help, not in gorral(1)"*"--no-such-option is in gorral(1), not in --help"*)
	pass man_sync_detects_drift ;;
*) fail man_sync_detects_drift "got '$out'" ;;
esac
cp "$man/gorral.yaml.5" "$TMP/drift.5"
printf '.TP\n\\fBno_such_key\\fR: \\fIbool\\fR\nnothing\n' >>"$TMP/drift.5"
out=$(python3 "$here/mansync.py" keys "$TMP/drift.5" "$repo/src/config.c" "$repo/src/detect.c" \
	"$repo/config/gorral.yaml" | grep '^FAIL: man_keys_page')
case $out in
*"no_such_key is in gorral.yaml(5), not accepted"*) pass man_keys_detects_drift ;;
*) fail man_keys_detects_drift "got '$out'" ;;
esac
exit 0
