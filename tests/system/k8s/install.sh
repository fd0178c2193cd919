#!/usr/bin/env bash
# `make deps` (and test_k8s.sh, to find it): install the npm packages that
# validate packaging/kubernetes/ (package-lock.json here) into a cache
# directory keyed by the lock file's hash, once per machine:
#   /var/tmp/gorral-k8s-node-HASH/node_modules
# Prints that directory. The test itself never runs npm: it runs offline
# and skips (saying why) when the cache is not there.
#   install.sh [--print]   --print: only print the directory, install nothing
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
hash=$(cat "$here/package.json" "$here/package-lock.json" | sha256sum | cut -c1-16)
dir=${GORRAL_K8S_NODE:-/var/tmp/gorral-k8s-node-$hash}
if [ "${1:-}" = --print ] || [ -e "$dir/.complete" ]; then
	echo "$dir"
	exit 0
fi
command -v npm >/dev/null || { echo "install.sh: npm is missing (apt-get install npm, or Node 20 + npm)" >&2; exit 1; }
rm -rf "$dir.tmp"
mkdir -p "$dir.tmp"
cp "$here/package.json" "$here/package-lock.json" "$dir.tmp/"
# --ignore-scripts: nothing of these packages runs at install time. The
# packages declare node >= 22 but run on Node 20 (the tests show it): npm's
# EBADENGINE warnings are expected and filtered.
(cd "$dir.tmp" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error) >&2
touch "$dir.tmp/.complete"
rm -rf "$dir"
mv "$dir.tmp" "$dir"
echo "$dir"
