#!/usr/bin/env bash
# packaging/kubernetes/, offline:
#   - every manifest validates against the Kubernetes OpenAPI schema and the
#     prometheus-operator CRDs (kubernetes-models, @kubernetes-models/
#     prometheus-operator, installed by `make deps` through
#     tests/system/k8s/install.sh into a cache keyed by its package-lock.json),
#     unknown fields refused as kubectl's strict validation does;
#   - broken copies (a typo'd field, a string where an integer goes, a
#     ServiceMonitor typo) fail with a message that names the field;
#   - pod.yaml's terminationGracePeriodSeconds is preStop + drain_delay + the
#     longest chain of stop_timeouts of the gorral.yaml it mounts (and a
#     shorter one is refused), and that gorral.yaml passes check-config with
#     the Pod's environment (it needs the downward API's POD_NAME);
#   - the PrometheusRule's groups pass `promtool check rules` and `promtool
#     test rules` (tests/system/k8s/rules_test.yaml), and a broken expression
#     fails;
#   - the two init-container patterns do what their comments say, in a real
#     v1 cgroup with the manifests' limits: the copied static binary runs
#     `gorral exec -- APP` (the Go 1.19 probe gets GOMAXPROCS and
#     GOMEMLIMIT), and the env-file init container's own command writes a
#     dotenv file the application's command sources.
source "$(dirname "$0")/../integration/lib.sh"

unset GOMAXPROCS GOMEMLIMIT GORRAL_SYSROOT
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
K=$root/packaging/kubernetes
MiB=$((1024 * 1024))
manifests=(pod.yaml init-container.yaml env-file.yaml servicemonitor.yaml prometheusrule.yaml)

# --- the schema --------------------------------------------------------------
node_dir=$("$here/k8s/install.sh" --print)
have_node=false
if ! command -v node >/dev/null; then
	skip k8s_schema "node is not installed (Node 20 runs the validator)"
elif [ ! -e "$node_dir/.complete" ]; then
	skip k8s_schema "the validator's npm packages are not in $node_dir: run make deps (tests/system/k8s/install.sh)"
else
	have_node=true
	# The validator imports its packages relative to itself.
	cp "$here/k8s/validate.mjs" "$TMP/"
	ln -s "$node_dir/node_modules" "$TMP/node_modules"
fi
V() { node "$TMP/validate.mjs" "$@"; }

if $have_node; then
	for m in "${manifests[@]}"; do
		if V "$K/$m" >"$TMP/v.out" 2>&1; then
			pass "$m validates ($(grep -c ': ok$' "$TMP/v.out") objects: $(sed -n 's/.*: \([A-Za-z]*\)\/.*: ok$/\1/p' "$TMP/v.out" | paste -sd, -))"
		else
			fail "$m validates" "$(cat "$TMP/v.out")"
		fi
	done

	# broken NAME FILE SED-SCRIPT WANT: a copy of FILE edited by
	# SED-SCRIPT must fail, with WANT in the message.
	broken() {
		local out
		sed "$3" "$K/$2" >"$TMP/broken.yaml"
		if cmp -s "$K/$2" "$TMP/broken.yaml"; then
			fail "$1" "the sed script changed nothing in $2"
			return
		fi
		out=$(V "$TMP/broken.yaml" 2>&1)
		if [ $? -eq 0 ]; then
			fail "$1" "validated: $out"
		elif grep -qF -- "$4" <<<"$out"; then
			pass "$1: $(grep -F -- "$4" <<<"$out" | sed 's/^[^:]*: //' | head -1)"
		else
			fail "$1" "message does not name '$4': $out"
		fi
	}
	broken "a typo'd Pod field is refused" pod.yaml \
		's/^  shareProcessNamespace:/  shareProcessNamespaces:/' "unknown field spec.shareProcessNamespaces"
	broken "a typo'd container field is refused" init-container.yaml \
		's/^      volumeMounts:/      volumeMount:/' "spec.containers[0].volumeMount"
	broken "a string where an integer goes is refused" pod.yaml \
		's/^  terminationGracePeriodSeconds: 35/  terminationGracePeriodSeconds: "35s"/' \
		"data/spec/terminationGracePeriodSeconds must be integer"
	broken "a port number as a word is refused" servicemonitor.yaml \
		's/port: 9321, targetPort/port: metrics-port, targetPort/' "data/spec/ports/0/port must be integer"
	broken "a typo'd ServiceMonitor field is refused" servicemonitor.yaml \
		's/scrapeTimeout: 5s/scrapeTimout: 5s/' "unknown field spec.endpoints[0].scrapeTimout"
	broken "a PrometheusRule without its alert's expr is refused" prometheusrule.yaml \
		'0,/          expr: gorral_finding_active{detector="leak"} > 0/s//          exr: gorral_finding_active{detector="leak"} > 0/' \
		"data/spec/groups/1/rules/0 must have required property expr"

	# --- termination: the grace period against the mounted gorral.yaml ---
	if out=$(V --grace "$K/pod.yaml" 2>&1); then
		pass "pod.yaml: ${out#*: }"
	else
		fail "pod.yaml: terminationGracePeriodSeconds matches the config" "$out"
	fi
	sed 's/^  terminationGracePeriodSeconds: 35/  terminationGracePeriodSeconds: 30/' "$K/pod.yaml" >"$TMP/short.yaml"
	out=$(V --grace "$TMP/short.yaml" 2>&1)
	if [ $? -ne 0 ] && grep -q 'too short' <<<"$out"; then
		pass "a grace period of 30 s is refused: too short for 33 s"
	else
		fail "a grace period of 30 s is refused" "$out"
	fi
	sed 's/^    drain_delay: 5s/    drain_delay: 10s/' "$K/pod.yaml" >"$TMP/drain.yaml"
	out=$(V --grace "$TMP/drain.yaml" 2>&1)
	if [ $? -ne 0 ] && grep -q 'drain_delay 10 ' <<<"$out"; then
		pass "raising drain_delay in the ConfigMap alone is refused (the sum is read from the config)"
	else
		fail "raising drain_delay in the ConfigMap alone is refused" "$out"
	fi

	# --- the mounted gorral.yaml, with the Pod's environment -------------
	(cd "$TMP" && node --input-type=module -e '
		import { parseAllDocuments } from "yaml";
		import { readFileSync, writeFileSync } from "node:fs";
		// The ConfigMap'"'"'s gorral.yaml on stdout, the Pod'"'"'s environment
		// (a downward API value as a stand-in) in pod.env.
		const docs = parseAllDocuments(readFileSync(process.argv[1], "utf8")).map((d) => d.toJS()).filter(Boolean);
		const cm = docs.find((o) => o.kind === "ConfigMap");
		const pod = docs.find((o) => o.kind === "Pod");
		process.stdout.write(cm.data["gorral.yaml"]);
		const env = pod.spec.containers[0].env.map((e) => e.name + "=" + (e.value ?? "from-the-downward-api"));
		writeFileSync("pod.env", env.join("\n") + "\n");
	' "$K/pod.yaml") >"$TMP/gorral.yaml"
	mapfile -t podenv <"$TMP/pod.env"
	if out=$(env "${podenv[@]}" "$GORRAL" check-config "$TMP/gorral.yaml" 2>&1); then
		pass "pod.yaml's gorral.yaml with the Pod's environment: ${out#*: }"
	else
		fail "pod.yaml's gorral.yaml passes check-config" "$out"
	fi
	out=$(env -u POD_NAME -u POD_NAMESPACE "$GORRAL" check-config "$TMP/gorral.yaml" 2>&1)
	if [ $? -eq 2 ] && grep -q 'POD_NAME' <<<"$out"; then
		pass "... and without the downward API's POD_NAME it is refused, naming it"
	else
		fail "... and without the downward API's POD_NAME it is refused" "$out"
	fi
fi

# --- the PrometheusRule under promtool ----------------------------------------
if ! command -v promtool >/dev/null; then
	skip k8s_promtool "promtool is not installed (Debian's prometheus package)"
elif ! $have_node; then
	skip k8s_promtool "no validator to extract spec.groups with (see k8s_schema)"
else
	V --rules "$K/prometheusrule.yaml" >"$TMP/rules.yaml"
	cp "$here/k8s/rules_test.yaml" "$TMP/"
	if out=$(promtool check rules "$TMP/rules.yaml" 2>&1); then
		pass "promtool check rules: $(grep -o '[0-9]* rules found' <<<"$out")"
	else
		fail "promtool check rules" "$out"
	fi
	if out=$(promtool test rules "$TMP/rules_test.yaml" 2>&1); then
		pass "promtool test rules: $(grep -c 'eval_time' "$TMP/rules_test.yaml") alert and expression checks"
	else
		fail "promtool test rules" "$out"
	fi
	sed 's/rate(gorral_service_cpu_throttled_periods_total\[5m\])/rate(gorral_service_cpu_throttled_periods_total[5m]/' \
		"$TMP/rules.yaml" >"$TMP/bad-rules.yaml"
	out=$(promtool check rules "$TMP/bad-rules.yaml" 2>&1)
	if [ $? -ne 0 ] && grep -qi 'parse error\|unclosed' <<<"$out"; then
		pass "promtool refuses a rule with an unbalanced expression"
	else
		fail "promtool refuses a rule with an unbalanced expression" "$out"
	fi
fi

# --- the init-container patterns, in a real cgroup ----------------------------
cpu_mnt=$(v1_mount cpu)
mem_mnt=$(v1_mount memory)
if ! is_root; then
	skip k8s_init "not root: cannot create the container's cgroup"
elif [ -z "$cpu_mnt" ] || [ -z "$mem_mnt" ]; then
	skip k8s_init "no cgroup v1 cpu and memory hierarchies here"
elif [ -z "${GORRAL_STATIC:-}" ] || [ ! -x "$GORRAL_STATIC" ]; then
	fail k8s_init "GORRAL_STATIC is not built (make static)"
elif [ ! -x "$GOAPPS/goprobe" ]; then
	fail k8s_init "$GOAPPS/goprobe is not built (make goapps)"
else
	cpu=${cpu_mnt}$(own_v1_cgroup cpu)
	mem=${mem_mnt}$(own_v1_cgroup memory)
	cpu=${cpu%/}/gorral-k8s-$$ mem=${mem%/}/gorral-k8s-$$
	if cg_mkdir "$cpu" && cg_mkdir "$mem"; then
		# init-container.yaml: limits {cpu: 1500m, memory: 512Mi}; the
		# init container's `cp` into the emptyDir, then the app's command.
		echo 100000 >"$cpu/cpu.cfs_period_us"
		echo 150000 >"$cpu/cpu.cfs_quota_us"
		echo $((512 * MiB)) >"$mem/memory.limit_in_bytes"
		mkdir -p "$TMP/gorral"
		cp "$GORRAL_STATIC" "$TMP/gorral/gorral"
		out=$(cg_run_in "$cpu" "$mem" "$TMP/gorral/gorral" exec --cpus 8 -- "$GOAPPS/goprobe" 2>"$TMP/exec.err")
		if grep -q '^gomaxprocs=2 memlimit=483183820 ' <<<"$out"; then
			pass "init-container.yaml: the copied static gorral exec's the Go 1.19 app with GOMAXPROCS=2 GOMEMLIMIT=483183820 (1500m, 512Mi)"
		else
			fail "init-container.yaml: gorral exec gives the app its limits" "$out $(cat "$TMP/exec.err")"
		fi
		# env-file.yaml: limits {cpu: 500m, memory: 256Mi} for both
		# containers; run each container's own command (with /go-env in
		# $TMP and gorral on PATH, --cpus 8 standing in for a node's CPUs).
		echo 50000 >"$cpu/cpu.cfs_quota_us"
		echo $((256 * MiB)) >"$mem/memory.limit_in_bytes"
		if $have_node; then
			(cd "$TMP" && node --input-type=module -e '
				import { parseAllDocuments } from "yaml";
				import { readFileSync } from "node:fs";
				const pod = parseAllDocuments(readFileSync(process.argv[1], "utf8")).map((d) => d.toJS()).find((o) => o && o.kind === "Pod");
				console.log(pod.spec.initContainers[0].command[2]);
				console.log(pod.spec.containers[0].command[2]);
			' "$K/env-file.yaml") >"$TMP/cmds"
			init_cmd=$(sed -n 1p "$TMP/cmds")
			app_cmd=$(sed -n 2p "$TMP/cmds")
		else
			skip "env-file.yaml: the containers' own commands" "no node to read them from the manifest (see k8s_schema)"
			init_cmd=
		fi
		if [ -n "$init_cmd" ]; then
			mkdir -p "$TMP/bin" "$TMP/go-env"
			printf '#!/bin/sh\nexec %q "$@" --cpus 8\n' "$GORRAL_STATIC" >"$TMP/bin/gorral"
			chmod +x "$TMP/bin/gorral"
			init_cmd=${init_cmd//\/go-env/$TMP/go-env}
			app_cmd=${app_cmd//\/go-env/$TMP/go-env}
			app_cmd=${app_cmd/\/app\/api -listen :8080/$GOAPPS/goprobe}
			PATH=$TMP/bin:$PATH cg_run_in "$cpu" "$mem" sh -c "$init_cmd" 2>"$TMP/env.err"
			expect_eq "env-file.yaml: the init container's command writes the dotenv file" \
				"$(cat "$TMP/go-env/go.env" 2>&1)" "$(printf 'GOMAXPROCS=2\nGOMEMLIMIT=241591910')"
			out=$(cg_run_in "$cpu" "$mem" sh -c "$app_cmd" 2>&1)
			if grep -q '^gomaxprocs=2 memlimit=241591910 .*env_GOMAXPROCS=2 env_GOMEMLIMIT=241591910' <<<"$out"; then
				pass "env-file.yaml: the app container's command sources it: the Go 1.19 app runs with GOMAXPROCS=2 GOMEMLIMIT=241591910"
			else
				fail "env-file.yaml: the app container's command sources the file" "$out"
			fi
		fi
	else
		skip k8s_init "cannot create a cgroup: $(cat "$TMP/mkdir.err")"
	fi
fi
