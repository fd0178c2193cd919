#!/usr/bin/env bash
# Prometheus text parse throughput: gorral's promtext_parse (and
# promtext_go_extract, the samplers' entry point) against
# prometheus/common's expfmt.TextParser (Debian 12's
# golang-github-prometheus-common-dev, Go 1.19, GOPATH mode, offline) on
# the same real /metrics captures, in the same run, rounds alternating.
# Throughput is bytes parsed per second of the process's CPU time (median
# of ROUNDS rounds; wall-clock medians beside it); the ratio is gorral's
# parse over expfmt. expfmt has no OpenMetrics parser: OpenMetrics rows
# are gorral's alone.
# Usage: bench/promparse.sh [BUILD_DIR]   (default build; env ROUNDS=5,
#        C_ITERS=50000, GO_ITERS=5000)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
build=${1:-$root/build}
out=$build/bench
mkdir -p "$out"
source "$root/tests/goapps/toolchains.sh"
rounds=${ROUNDS:-5}
c_iters=${C_ITERS:-50000}
go_iters=${GO_ITERS:-5000}
samples=$root/tests/fixtures/samples
text_files=("$samples/metrics-high-plain.txt" "$samples/metrics-low-plain.txt" "$samples/metrics-go126-runtime-plain.txt")
om_files=("$samples/metrics-om-high-openmetrics.txt" "$samples/metrics-go126-runtime-openmetrics.txt")

[ -d /usr/share/gocode/src/github.com/prometheus/common/expfmt ] || {
	echo "$0: expfmt missing: install golang-github-prometheus-common-dev" >&2
	exit 1
}
# The same compiler flags as the Makefile's default build of src/.
cc -O2 -g -std=gnu11 -Wall -Wextra -D_GNU_SOURCE -I"$root/include" -I"$here" \
	"$here/promparse.c" "$root/src/promtext.c" "$root/src/util.c" -o "$out/promparse"
(cd "$here/promparse-go" && GO111MODULE=off GOPROXY=off GOFLAGS= GOPATH=/usr/share/gocode \
	GOCACHE="${GOCACHE:-$out/.gocache}" HOME=${HOME:-/tmp} "$GO119" build -o "$out/promparse-go" .)

raw=$out/promparse.raw
: >"$raw"
for ((r = 1; r <= rounds; r++)); do
	"$out/promparse" -n "$c_iters" "${text_files[@]}" "${om_files[@]}" | sed "s/^/round=$r impl=gorral /" >>"$raw"
	"$out/promparse-go" -n "$go_iters" "${text_files[@]}" | sed "s/^/round=$r impl=expfmt kind=parse /" >>"$raw"
done

# median of MB/s per (file, impl, kind), then the table.
awk '
function med(list,   n, i, j, t, a) {
	n = split(list, a, " ")
	for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
{
	for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
	key = f["name"] SUBSEP f["impl"] SUBSEP f["kind"]
	mbs[key] = mbs[key] " " f["bytes"] * f["iters"] / (f["cpu_ns"] / 1e9) / 1e6
	wmbs[key] = wmbs[key] " " f["bytes"] * f["iters"] / (f["wall_ns"] / 1e9) / 1e6
	us[key] = us[key] " " f["cpu_ns"] / f["iters"] / 1e3
	if (!(f["name"] in seen)) { seen[f["name"]] = 1; order[++nf] = f["name"]; size[f["name"]] = f["bytes"] }
}
END {
	printf "| capture | bytes | gorral parse MB/s | gorral extract MB/s | expfmt MB/s | ratio | gorral us/parse | expfmt us/parse | wall MB/s gorral / expfmt |\n"
	printf "|---|---:|---:|---:|---:|---:|---:|---:|---:|\n"
	for (i = 1; i <= nf; i++) {
		n = order[i]; g = n SUBSEP "gorral" SUBSEP "parse"; x = n SUBSEP "gorral" SUBSEP "extract"; e = n SUBSEP "expfmt" SUBSEP "parse"
		if (e in mbs)
			printf "| %s | %d | %.0f | %.0f | %.1f | %.1fx | %.2f | %.1f | %.0f / %.1f |\n", n, size[n], med(mbs[g]), med(mbs[x]), med(mbs[e]), med(mbs[g]) / med(mbs[e]), med(us[g]), med(us[e]), med(wmbs[g]), med(wmbs[e])
		else
			printf "| %s | %d | %.0f | %.0f | (none: no OpenMetrics parser) | | %.2f | | %.0f / |\n", n, size[n], med(mbs[g]), med(mbs[x]), med(us[g]), med(wmbs[g])
	}
}' "$raw"
echo
echo "rounds=$rounds gorral_iters=$c_iters expfmt_iters=$go_iters; cc: $(cc --version | head -1); expfmt: $(dpkg-query -W -f='${Version}' golang-github-prometheus-common-dev 2>/dev/null || echo '?'), $("$GO119" version | cut -d' ' -f3)"
