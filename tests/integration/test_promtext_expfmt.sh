#!/usr/bin/env bash
# Differential test of gorral's Prometheus text parser against the one the
# Prometheus ecosystem uses, prometheus/common's expfmt.TextParser
# (Debian's golang-github-prometheus-common-dev, Go 1.19, offline): on the
# real captures, the fuzz seeds and hand-made bodies, both must accept the
# same bodies with the same number of samples, and reject the same bodies
# at the same line. The two deliberate differences (promtext.h) are
# checked as differences: CRLF line ends (gorral accepts) and NUL bytes
# (gorral refuses).
# asan-pass: no (no gorral runs here: a harness of the parser against expfmt)
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$(dirname "$here")")
source "$here/lib.sh"
source "$root/tests/goapps/toolchains.sh"

expfmt=/usr/share/gocode/src/github.com/prometheus/common/expfmt
if [ ! -x "$GO119" ] || [ ! -d "$expfmt" ]; then
	skip expfmt_differential "needs $GO119 and $expfmt (make deps installs golang-go; golang-github-prometheus-common-dev)"
	exit 0
fi
cc -O1 -std=gnu11 -D_GNU_SOURCE -I"$root/include" -I"$root/bench" "$root/bench/promparse.c" \
	"$root/src/promtext.c" "$root/src/util.c" -o "$TMP/promparse" 2>"$TMP/cc.err" ||
	{ fail build_c "$(head -3 "$TMP/cc.err")"; exit 0; }
(cd "$root/bench/promparse-go" && GO111MODULE=off GOPROXY=off GOFLAGS= GOPATH=/usr/share/gocode \
	GOCACHE="${GORRAL_GO_CACHE:-/var/tmp/gorral-go}/go1.19-build" HOME=${HOME:-/tmp} "$GO119" build -o "$TMP/promparse-go" .) 2>"$TMP/go.err" ||
	{ fail build_go "$(head -3 "$TMP/go.err")"; exit 0; }

mkdir -p "$TMP/c"
i=0
add() { printf -- "$1" >"$TMP/c/$(printf 'hand%03d' $i).txt"; i=$((i + 1)); }
# Valid bodies.
add '# a comment\n\n   \t\n#\n# HELP\n# TYPE only_a_name\n#HELP x_total Help \\\\ \\n.\n#  TYPE   x_total  counter\nx_total{a="b",} 1\n'
add '  x_total { a = "c" , b="\\\\\\"\\n" } 2 -17\nx_total\t3\t1700000000000\n'
add '# TYPE h HISTOGRAM\nh_bucket{le="+Inf"} 4\nh_sum 1e3\nh_count 4\nother{}NaN\n'
add '# TYPE s summary\n# TYPE h histogram\nx 1\ns_count 2\nh_bucket{le="1"} 3\ns_sum 4\n# HELP h_sum help\nx_sum 5\n'
add 'm 0x1p-2\nn +Inf\no -inf\np Infinity\nq .5\nr 5.\ns 1e-400\nt 123456789012345678901234567890\n'
add 'a 1 9223372036854775807\nb 1 -9223372036854775808\nc 1 +5\n'
add 'a{b="é"} 1\n'
add ''
add 'a 1\n  '
# Malformed bodies (each error path of the text format).
add 'a 1'
add 'a 1\n# comment at the end'
add 'a{b="x\ny"} 1\n'
add 'a 1\nb\n'
add 'a$ 1\n'
add '# HELP a$ x\n'
add '# HELP 1a x\n'
add 'a 1\n# TYPE a gauge\n'
add '# TYPE a gauge\na 1\n# TYPE a gauge\n'
add '# TYPE a gauge\na 1\nb 2\n# TYPE a counter\n'
add '# HELP a x\nb 2\n# HELP a y\n'
add '# TYPE s summary\n# TYPE s_sum gauge\n'
add '# TYPE a gauge \n'
add '# TYPE a info\n'
add '# HELP a \\"q\\"\n'
add 'a{b="x"}\n'
add 'a 1 9223372036854775808\n'
add 'a 1 1.5\n'
add 'a 1 \n'
add 'a 1 2 3\n'
add 'a 1e400\n'
add 'a 0x1p3x\n'
add 'a 1_000\n'
add 'a +NaN\n'
add 'a{1="x"} 1\n'
add 'a{__name__="x"} 1\n'
add 'a{b"x"} 1\n'
add 'a{b=x} 1\n'
add 'a{b="x} 1\n'
add 'a{b="x\\t"} 1\n'
add 'a{b="x";c="y"} 1\n'
add 'a{b="x",b="y"} 1\n'
add 'a{b="\xc3\x28"} 1\n'
add 'a{b="x",\n'
add '# TYPE s summary\ns{quantile="x"} 1\n'
add '# TYPE h histogram\nh_bucket{le=""} 1\n'
add '# HELP a x\n# HELP a y\na 1\n'
add '# HELP a bad \\t escape\n'
hand=$i

files=("$TMP"/c/*.txt)
for f in "$root"/tests/fixtures/samples/metrics-*.txt; do
	case $f in *.headers.txt) ;; *) files+=("$f") ;; esac
done
# The fuzz seeds' first byte picks the format: 0 is text. A CR or a NUL
# is one of the deliberate differences, checked below instead.
for f in "$root"/tests/fuzz/seeds/fuzz_promtext/*; do
	if [ "$(head -c1 "$f" | od -An -tu1 | tr -d ' ')" = 0 ]; then
		tail -c +2 "$f" >"$TMP/c/seed-$(basename "$f")"
		if LC_ALL=C grep -qaP '[\r\x00]' "$TMP/c/seed-$(basename "$f")"; then
			rm "$TMP/c/seed-$(basename "$f")"
		else
			files+=("$TMP/c/seed-$(basename "$f")")
		fi
	fi
done
"$TMP/promparse" -check "${files[@]}" >"$TMP/c.out"
"$TMP/promparse-go" -check "${files[@]}" >"$TMP/go.out"

# Verdicts: ACCEPT SAMPLES or REJECT LINE, one per file, in the same order.
agree=0 differ=0
while IFS= read -r c && IFS= read -r g <&3; do
	set -- $c; cv="$1 $3"; f=$2
	set -- $g; gv="$1 $3"
	if [ "$cv" == "$gv" ]; then
		agree=$((agree + 1))
	else
		differ=$((differ + 1))
		fail "agree_$(basename "$f")" "gorral: '$c', expfmt: '$g'"
	fi
done <"$TMP/c.out" 3<"$TMP/go.out"
expect_eq verdicts_compared "$((agree + differ))" "${#files[@]}"
expect_eq all_agree "$differ" 0
[ "$(grep -c '^ACCEPT' "$TMP/c.out")" -ge 20 ] && [ "$(grep -c '^REJECT' "$TMP/c.out")" -ge 30 ] &&
	pass both_verdicts_exercised || fail both_verdicts_exercised "$(grep -c '^ACCEPT' "$TMP/c.out") accepted"
echo "info: $agree bodies ($hand hand-made) judged alike" >&2

# The deliberate differences.
printf 'a 1\r\nb{c="d"} 2\r\n' >"$TMP/crlf.txt"
printf 'a{b="x\0y"} 1\n' >"$TMP/nul.txt"
c=$("$TMP/promparse" -check "$TMP/crlf.txt" "$TMP/nul.txt" | awk '{print $1}' | tr '\n' ' ')
g=$("$TMP/promparse-go" -check "$TMP/crlf.txt" "$TMP/nul.txt" | awk '{print $1}' | tr '\n' ' ')
expect_eq crlf_and_nul_gorral "$c" "ACCEPT REJECT "
expect_eq crlf_and_nul_expfmt "$g" "REJECT ACCEPT "
