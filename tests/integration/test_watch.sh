#!/usr/bin/env bash
# Watching Go services (monitor.c and its samplers): real Go 1.19 services
# under gorral run -c, their numbers in gorral's series, in /metrics and in
# `gorral status --json`, agreeing with what the services report themselves;
# GODEBUG schedtrace/gctrace read from a live service's stderr while its
# other lines pass through whole; throttling of a service burning CPU in
# its own v1 cgroup with a 0.5 CPU quota; hostile scrape targets that cost
# only their own samples; promtool check metrics on gorral's /metrics, and a
# real Prometheus scraping it. Both builds.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/run_helpers.sh"

unset GOMAXPROCS GOMEMLIMIT GODEBUG GORRAL_SYSROOT
SVC=$GOAPPS/goservice
[ -x "$SVC" ] || { fail watch "$SVC not built (make goapps)"; exit 0; }
build_helper hostile
build_helper sigrec

# A free TCP port on loopback (bind to 0, read it back, close).
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# status_value JSONFILE SERVICE KEY: the latest sample's KEY, or "null".
status_value() {
	jq -r --arg s "$2" --arg k "$3" '.services[] | select(.name == $s) | .sample[$k] // "null"' "$1"
}

# metric BODYFILE NAME SERVICE: the value of NAME{service="SERVICE"} (first).
metric() {
	awk -v n="$2{service=\"$3\"" 'index($0, n) == 1 { print $NF; exit }' "$1"
}

# wait_status SERVICE KEY PREDICATE [TENTHS]: poll gorral status --json
# until the sample's KEY satisfies the awk predicate on v (e.g. "v >= 100").
wait_status() {
	local i v
	for ((i = 0; i < ${4:-100}; i++)); do
		"$G" status --json >"$TMP/st.json" 2>/dev/null && v=$(status_value "$TMP/st.json" "$1" "$2") &&
			[ "$v" != null ] && awk -v v="$v" "BEGIN { exit !($3) }" && return 0
		sleep 0.1
	done
	return 1
}

builds=("dynamic:$GORRAL")
[ -n "${GORRAL_STATIC:-}" ] && [ -x "$GORRAL_STATIC" ] && builds+=("static:$GORRAL_STATIC")

for b in "${builds[@]}"; do
	kind=${b%%:*} G=${b#*:}
	d=$TMP/$kind
	mkdir -p "$d"
	p_api=$(free_port)
	cat >"$d/watch.yaml" <<-EOF
	metrics:
	  listen: "127.0.0.1:0"
	services:
	  api:
	    command: [$SVC, -listen, "127.0.0.1:$p_api", -log-every, 20ms]
	    sample_interval: 300ms
	    metrics_url: http://127.0.0.1:$p_api/metrics
	    pprof_url: http://127.0.0.1:$p_api/debug/pprof/goroutine?debug=1
	    godebug: {schedtrace: 100ms, gctrace: true}
	  quiet:
	    command: [sleep, "3911"]
	    watch: false
	  once:
	    command: [sleep, "0.4"]
	    sample_interval: 100ms
	EOF
	"$G" run -c "$d/watch.yaml" >"$d/out" 2>"$d/err" &
	gp=$!
	wait_grep "$d/err" 'event=metrics_listen .*port=[0-9]+' 100
	mport=$(sed -n 's/.*event=metrics_listen .*port=\([0-9]*\).*/\1/p' "$d/err" | head -1)
	wait_grep "$d/out" "^listening=" 100
	check "$kind: /metrics listens on the port gorral logged" bash -c "[ -n '$mport' ] && curl -sf http://127.0.0.1:$mport/healthz | grep -qx ok"

	# Leak goroutines and locked threads through the service's own API.
	curl -sf "http://127.0.0.1:$p_api/leak/goroutines?n=500" >/dev/null
	curl -sf "http://127.0.0.1:$p_api/leak/threads?n=8" >/dev/null
	curl -sf "http://127.0.0.1:$p_api/gc" >/dev/null
	check "$kind: gorral's series sees the 500 leaked goroutines" wait_status api goroutines "v >= 500" 60
	check "$kind: ... and the 8 locked threads" wait_status api threads "v >= 13" 60
	sleep 0.7 # two more samples, so that both endpoints are in one row
	spid=$(sed -n 's/^pid=//p' "$d/out" | head -1)
	"$G" status --json >"$d/st.json"
	curl -sf "http://127.0.0.1:$p_api/stats" >"$d/stats.json"
	curl -sf "http://127.0.0.1:$mport/metrics" >"$d/metrics.txt"
	curl -sf "http://127.0.0.1:$p_api/metrics" >"$d/svc-metrics.txt"
	proc_threads=$(awk '/^Threads:/ { print $2 }' "/proc/$spid/status")
	g_threads=$(status_value "$d/st.json" api threads)
	expect_eq "$kind: status threads agree with /proc Threads:" "$g_threads" "$proc_threads"
	g_gor=$(status_value "$d/st.json" api goroutines)
	s_gor=$(jq -r .numgoroutine "$d/stats.json" 2>/dev/null)
	check "$kind: status goroutines ($g_gor) agree with the service's runtime.NumGoroutine ($s_gor) within the scrape's own few" \
		awk -v a="$g_gor" -v b="$s_gor" 'BEGIN { exit !(a >= b - 2 && a <= b + 6) }'
	svc_created=$(awk '$1 == "go_threads" { print $2 }' "$d/svc-metrics.txt")
	g_created=$(status_value "$d/st.json" api go_threads_created)
	check "$kind: go_threads_created ($g_created) is client_golang's go_threads ($svc_created), not the live count" \
		awk -v a="$g_created" -v b="$svc_created" 'BEGIN { exit !(a == b && a >= 13) }'
	expect_eq "$kind: /metrics gorral_service_threads is /proc's" "$(metric "$d/metrics.txt" gorral_service_threads api)" \
		"$proc_threads"
	m_gor=$(metric "$d/metrics.txt" gorral_service_goroutines api)
	check "$kind: /metrics gorral_service_goroutines ($m_gor) >= 500" awk -v a="$m_gor" 'BEGIN { exit !(a >= 500) }'
	expect_eq "$kind: a watched service that finished has no current sample (its series keeps the history)" \
		"$(jq -c '.services[] | select(.name == "once") | [.state, .sample, .sample_age_seconds]' "$d/st.json")" '["done",{},null]'
	expect_eq "$kind: a service that is not watched has no sample" \
		"$(jq -r '.services[] | select(.name == "quiet") | has("sample")' "$d/st.json")" "false"
	check "$kind: /metrics has no series for the unwatched service's samples" \
		bash -c "! grep -q 'gorral_service_threads{service=\"quiet\"' '$d/metrics.txt'"
	check "$kind: the build info of the binary: go1.19" \
		bash -c "grep -q '^gorral_service_info{service=\"api\",go_version=\"go1.19' '$d/metrics.txt'"

	# The status table and --watch.
	"$G" status >"$d/table.txt"
	check "$kind: gorral status shows api's threads and goroutines" bash -c \
		"head -1 '$d/table.txt' | grep -q 'THREADS  GOROUTINES' && awk '\$1 == \"api\"' '$d/table.txt' | grep -qE ' $proc_threads +[0-9]{3} '"
	timeout 1 "$G" status --watch --interval 200ms >"$d/watch.txt" 2>&1
	check "$kind: status --watch into a pipe: plain tables one after another ($(grep -c '^# ' "$d/watch.txt"))" \
		bash -c "[ \$(grep -c '^# [0-9:]*Z, every 0.2s' '$d/watch.txt') -ge 3 ] && [ \$(grep -c '^api ' '$d/watch.txt') -ge 3 ] && ! grep -q \$'\\033' '$d/watch.txt'"
	python3 "$(dirname "$0")/../helpers/ptyrun.py" --timeout 1 -- "$G" status --watch --interval 200ms >"$d/watch-tty.txt" 2>&1
	check "$kind: status --watch on a terminal redraws the screen" \
		bash -c "[ \$(grep -o \$'\\033\\[H\\033\\[2J' '$d/watch-tty.txt' | wc -l) -ge 3 ] && grep -q '^api ' '$d/watch-tty.txt'"

	# GODEBUG traces: parsed from the live stderr, the service's own
	# lines (three goroutines logging every 20 ms) passed through whole.
	expect_eq "$kind: schedtrace gomaxprocs" "$(status_value "$d/st.json" api sched_gomaxprocs)" \
		"$(jq -r .gomaxprocs "$d/stats.json")"
	check "$kind: schedtrace threads= is a real count" awk -v a="$(status_value "$d/st.json" api sched_threads)" \
		'BEGIN { exit !(a >= 13) }'
	check "$kind: gctrace: GC cycles counted (the /gc request forced one)" \
		awk -v a="$(status_value "$d/st.json" api gc_cycles)" 'BEGIN { exit !(a >= 1) }'
	check "$kind: no SCHED or gc trace line reached gorral's stderr" \
		bash -c "! grep -qE '^(SCHED |gc [0-9]+ @)' '$d/err'"
	nlog=$(grep -cE '^[0-9/]{10} [0-9:.]{15} worker [0-2] line [0-9]+$' "$d/err")
	nbad=$(grep -E 'worker [0-2] line' "$d/err" | grep -cvE '^[0-9/]{10} [0-9:.]{15} worker [0-2] line [0-9]+$')
	check "$kind: the service's own stderr lines passed through whole ($nlog lines, $nbad broken)" \
		bash -c "[ '$nlog' -ge 30 ] && [ '$nbad' -eq 0 ]"

	if command -v promtool >/dev/null; then
		promtool check metrics <"$d/metrics.txt" >"$d/promtool.out" 2>&1
		rc=$?
		expect_eq "$kind: promtool check metrics on gorral's /metrics" "$rc $(cat "$d/promtool.out")" "0 "
	else
		fail "$kind: promtool check metrics" "promtool is not installed (make deps installs prometheus)"
	fi
	for fam in gorral_service_up gorral_service_restarts_total gorral_service_threads gorral_service_goroutines \
		gorral_service_gomaxprocs gorral_service_cpu_seconds_total gorral_service_memory_bytes \
		gorral_service_scrape_errors_total gorral_service_sched_runqueue gorral_service_gc_cpu_fraction \
		gorral_build_info gorral_orphans_reaped_total gorral_samples_total gorral_sample_duration_seconds; do
		check "$kind: /metrics has HELP and TYPE for $fam" \
			bash -c "grep -q '^# HELP $fam ' '$d/metrics.txt' && grep -q '^# TYPE $fam ' '$d/metrics.txt'"
	done
	check "$kind: HEAD /metrics and a 404 for another path" bash -c \
		"curl -sfI http://127.0.0.1:$mport/metrics >/dev/null && [ \"\$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$mport/nope)\" = 404 ]"
	check "$kind: POST /metrics is 405" \
		bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' -X POST http://127.0.0.1:$mport/metrics)\" = 405 ]"

	# A real Prometheus server scrapes gorral and answers for each service.
	if command -v prometheus >/dev/null; then
		pp=$(free_port)
		cat >"$d/prom.yml" <<-EOF
		global: {scrape_interval: 1s, evaluation_interval: 1s}
		scrape_configs:
		  - job_name: gorral
		    static_configs: [{targets: ["127.0.0.1:$mport"]}]
		EOF
		prometheus --config.file="$d/prom.yml" --storage.tsdb.path="$d/tsdb" --web.listen-address="127.0.0.1:$pp" \
			>"$d/prom.log" 2>&1 &
		ppid=$!
		ok=
		for _ in $(seq 150); do
			curl -sf "http://127.0.0.1:$pp/api/v1/query?query=gorral_service_up" >"$d/q.json" 2>/dev/null &&
				[ "$(jq '.data.result | length' "$d/q.json")" = 3 ] && { ok=1; break; }
			sleep 0.2
		done
		check "$kind: Prometheus scraped gorral: gorral_service_up for api, once and quiet" \
			bash -c "[ -n '$ok' ] && jq -r '.data.result[].metric.service' '$d/q.json' | sort | tr '\n' ' ' | grep -qx 'api once quiet '"
		curl -sf "http://127.0.0.1:$pp/api/v1/query?query=gorral_service_goroutines" >"$d/q2.json"
		check "$kind: ... and its query API has api's goroutines" \
			bash -c "jq -r '.data.result[] | select(.metric.service == \"api\") | .value[1]' '$d/q2.json' | awk '\$1 >= 500 { ok = 1 } END { exit !ok }'"
		curl -sf "http://127.0.0.1:$pp/api/v1/targets" >"$d/targets.json"
		expect_eq "$kind: ... its target is healthy" "$(jq -r '.data.activeTargets[0].health' "$d/targets.json")" "up"
		kill $ppid
		wait $ppid 2>/dev/null
	else
		fail "$kind: Prometheus scrape" "prometheus is not installed (make deps installs it)"
	fi

	kill -TERM $gp
	wait $gp
	expect_eq "$kind: SIGTERM ends gorral and its services (a stop is not a failure: 0)" "$?" "0"
	

	# One service under gorral run with the watching options: Go 1.26
	# with its runtime/metrics scheduler families, the goroutine profile,
	# gctrace lines passed through (--trace-passthrough), /metrics.
	if [ -x "$GOAPPS/goservice126" ]; then
		p26=$(free_port)
		"$G" run --control "$GORRAL_SOCKET" --sample-interval 300ms --metrics-url "http://127.0.0.1:$p26/metrics" \
			--pprof-url "http://127.0.0.1:$p26/debug/pprof/goroutine?debug=1" --gctrace --trace-passthrough \
			--metrics-listen 127.0.0.1:0 -- "$GOAPPS/goservice126" -listen "127.0.0.1:$p26" -runtime-metrics \
			-leak-goroutines 200 >"$d/r26.out" 2>"$d/r26.err" &
		gp=$!
		check "$kind: gorral run --metrics-url: Go 1.26's goroutines in the series" wait_status main goroutines "v >= 200" 80
		curl -sf "http://127.0.0.1:$p26/gc" >/dev/null
		check "$kind: ... and runtime/metrics' waiting goroutines (go_sched_goroutines_waiting_goroutines)" \
			wait_status main goroutines_waiting "v >= 200" 40
		check "$kind: ... and the runtime's own GOMAXPROCS (go_sched_gomaxprocs_threads)" \
			wait_status main runtime_gomaxprocs "v >= 1" 40
		check "$kind: ... a forced GC seen on stderr (gctrace)" wait_status main gc_cycles "v >= 1" 40
		check "$kind: --trace-passthrough: the gc lines still reach stderr" wait_grep "$d/r26.err" '^gc [0-9]+ @' 30
		expect_eq "$kind: ... and the service is Go 1.26 by its build info" \
			"$(jq -r '.services[0].go_version' "$TMP/st.json" | cut -c1-6)" "go1.26"
		m26=$(sed -n 's/.*event=metrics_listen .*port=\([0-9]*\).*/\1/p' "$d/r26.err" | head -1)
		check "$kind: ... and /metrics names the service main" \
			bash -c "curl -sf http://127.0.0.1:$m26/metrics | grep -q '^gorral_service_goroutines{service=\"main\"} '"
		kill -TERM $gp
		wait $gp
		expect_eq "$kind: gorral run's child died by SIGTERM: 143" "$?" "143"
	else
		fail "$kind: Go 1.26 watching" "$GOAPPS/goservice126 not built (make goapps)"
	fi

	# Hostile scrape targets: each costs only its own samples. A good
	# service beside them is sampled on time, and a signal to gorral is
	# forwarded on time.
	hp=()
	for mode in silent dribble garbage endless reset; do
		"$TMP/hostile" $mode >"$d/hostile-$mode" 2>&1 &
		hp+=($!)
	done
	for mode in silent dribble garbage endless reset; do
		wait_grep "$d/hostile-$mode" '^port=' 50
		eval "p_$mode=\$(sed -n 's/^port=//p' '$d/hostile-$mode')"
	done
	p_good=$(free_port)
	rec=$d/rec
	cat >"$d/hostile.yaml" <<-EOF
	defaults:
	  sample_interval: 1s
	services:
	  silent: {command: [$TMP/sigrec, $d/rec-silent], metrics_url: "http://127.0.0.1:$p_silent/metrics"}
	  dribble: {command: [$TMP/sigrec, $d/rec-dribble], metrics_url: "http://127.0.0.1:$p_dribble/metrics"}
	  garbage: {command: [$TMP/sigrec, $d/rec-garbage], metrics_url: "http://127.0.0.1:$p_garbage/metrics"}
	  endless: {command: [$TMP/sigrec, $d/rec-endless], metrics_url: "http://127.0.0.1:$p_endless/metrics"}
	  reset: {command: [$TMP/sigrec, $d/rec-reset], metrics_url: "http://127.0.0.1:$p_reset/metrics"}
	  good:
	    command: [$SVC, -listen, "127.0.0.1:$p_good"]
	    sample_interval: 200ms
	    metrics_url: http://127.0.0.1:$p_good/metrics
	  rec: {command: [$TMP/sigrec, $rec], watch: false}
	EOF
	"$G" run -c "$d/hostile.yaml" >"$d/hout" 2>"$d/herr" &
	gp=$!
	wait_for_file "$rec.ready" 100
	wait_grep "$d/hout" "^listening=" 100
	wait_status good threads "v >= 1" 50
	# For 3 s: the good service's newest sample is never older than two
	# of its intervals, while the hostile scrapes time out, break or
	# overflow.
	worst=0
	t_end=$(($(date +%s%N) + 3000000000))
	while [ "$(date +%s%N)" -lt $t_end ]; do
		"$G" status good --json >"$d/good.json" 2>/dev/null &&
			age=$(jq -r '.services[0].sample_age_seconds // "null"' "$d/good.json") && [ "$age" != null ] &&
			worst=$(awk -v a="$age" -v w="$worst" 'BEGIN { print (a > w ? a : w) }')
		sleep 0.1
	done
	check "$kind: beside 5 hostile targets, the good service was sampled on time (worst sample age ${worst}s)" \
		awk -v w="$worst" 'BEGIN { exit !(w > 0 && w < 0.45) }'
	t0=$(date +%s%N)
	kill -USR1 $gp
	for _ in $(seq 100); do grep -q USR1 "$rec" 2>/dev/null && break; sleep 0.01; done
	t1=$(date +%s%N)
	check "$kind: ... and a SIGUSR1 to gorral reached a service within 200 ms ($(((t1 - t0) / 1000000)) ms)" \
		bash -c "grep -q USR1 '$rec' && [ $(((t1 - t0) / 1000000)) -lt 200 ]"
	errs() { jq -r --arg s "$1" --arg r "$2" '.services[] | select(.name == $s) | .scrape_errors[$r]' "$d/hst.json"; }
	# Two timed-out scrapes each take two intervals at least: poll (a
	# loaded machine starts the samples late), up to 10 s.
	for _ in $(seq 50); do
		"$G" status --json >"$d/hst.json" 2>/dev/null &&
			[ "$(errs silent timeout)" -ge 2 ] 2>/dev/null && [ "$(errs dribble timeout)" -ge 2 ] 2>/dev/null && break
		sleep 0.2
	done
	check "$kind: a target that accepts and never answers: timeout errors ($(errs silent timeout))" \
		bash -c "[ '$(errs silent timeout)' -ge 2 ]"
	check "$kind: a target that dribbles a byte a second: timeout errors ($(errs dribble timeout))" \
		bash -c "[ '$(errs dribble timeout)' -ge 2 ]"
	check "$kind: a target that sends garbage: parse errors ($(errs garbage parse))" \
		bash -c "[ '$(errs garbage parse)' -ge 2 ]"
	check "$kind: a target that sends 100 MiB: too_big errors ($(errs endless too_big))" \
		bash -c "[ '$(errs endless too_big)' -ge 2 ]"
	check "$kind: a target that resets the connection: reset errors ($(errs reset reset))" \
		bash -c "[ '$(errs reset reset)' -ge 2 ]"
	expect_eq "$kind: the good service had no scrape error" \
		"$(jq '[.services[] | select(.name == "good") | .scrape_errors[]] | add' "$d/hst.json")" "0"
	expect_eq "$kind: a failed scrape is a gap, never a zero: silent has no goroutines value" \
		"$(status_value "$d/hst.json" silent goroutines)" "null"
	check "$kind: ... but its /proc figures are there" bash -c "[ '$(status_value "$d/hst.json" silent threads)' -ge 1 ]"
	check "$kind: each streak of failures is logged once per service" \
		bash -c "[ \$(grep -c 'event=scrape_error service=silent ' '$d/herr') = 1 ]"
	curl -sf "http://127.0.0.1:$(sed -n 's/.*event=metrics_listen .*port=\([0-9]*\).*/\1/p' "$d/herr" | head -1)/metrics" \
		>/dev/null 2>&1 # (no listener here: nothing to check)
	kill -TERM $gp
	wait $gp
	expect_eq "$kind: gorral beside hostile targets stops cleanly" "$?" "0"
	kill "${hp[@]}" 2>/dev/null
	wait "${hp[@]}" 2>/dev/null

	# Throttling: a service burning CPU in its own v1 cgroup with a 0.5
	# CPU quota shows throttled periods rising.
	if ! is_root || [ -z "$(v1_mount cpu)" ]; then
		skip "$kind: throttling" "needs root and a v1 cpu hierarchy for a per-service cgroup with a quota"
		continue
	fi
	p_burn=$(free_port)
	cat >"$d/burn.yaml" <<-EOF
	services:
	  burn:
	    command: [$SVC, -listen, "127.0.0.1:$p_burn", -burn, 20s]
	    resources: {cpu: 0.5}
	    sample_interval: 300ms
	EOF
	"$G" run -c "$d/burn.yaml" >"$d/bout" 2>"$d/berr" &
	gp=$!
	check "$kind: a burning service in a 0.5 CPU cgroup is throttled" wait_status burn cpu_throttled_periods "v >= 3" 60
	t1=$(status_value "$TMP/st.json" burn cpu_throttled_periods)
	sleep 0.8
	check "$kind: ... its throttled periods keep rising" wait_status burn cpu_throttled_periods "v > $t1" 30
	check "$kind: ... with throttled time" awk -v a="$(status_value "$TMP/st.json" burn cpu_throttled_seconds)" \
		'BEGIN { exit !(a > 0) }'
	check "$kind: ... and CPU use near its half CPU (its cgroup's usage)" wait_status burn cpu_seconds "v > 0.3" 30
	kill -TERM $gp
	wait $gp
done
pkill -KILL -f '^sleep 391[0-9]$' 2>/dev/null || true
exit 0
