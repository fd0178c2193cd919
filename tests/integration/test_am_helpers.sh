#!/usr/bin/env bash
# The test harness itself: lib.sh's Alertmanager helpers (am_start,
# am_post, am_alerts, am_stop) against Debian's real prometheus-alertmanager,
# and the webhook_recorder (tests/helpers/webhook.c) as Alertmanager's
# receiver. test_detect.sh builds on both; this test tells a broken harness
# from a broken gorral.
# asan-pass: no (no gorral runs here: the Alertmanager harness itself)
source "$(dirname "$0")/lib.sh"

webhook_recorder "$TMP/notes.jsonl"
check "webhook_recorder listens" bash -c "[ -n '$WEBHOOK_URL' ] && kill -0 $WEBHOOK_PID"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
	-d '{"x": [1,
2]}' "$WEBHOOK_URL/some/path")
expect_eq "webhook_recorder answers 200" "$code" 200
expect_eq "... and records the body as one JSON line" "$(jq -c .x "$TMP/notes.jsonl")" "[1,2]"
check "... and the request line in FILE.head" grep -qx 'POST /some/path HTTP/1.1' "$TMP/notes.jsonl.head"
webhook_recorder "$TMP/failing.jsonl" 500
expect_eq "webhook_recorder FILE 500 answers 500" \
	"$(curl -s -o /dev/null -w '%{http_code}' -X POST -d '{}' "$WEBHOOK_URL/")" 500
check "... and still records the body" grep -qx '{}' "$TMP/failing.jsonl"

# Alertmanager notifies the first recorder.
webhook_recorder "$TMP/notes.jsonl"
if ! command -v prometheus-alertmanager >/dev/null; then
	fail "alertmanager" "prometheus-alertmanager is not installed (make deps installs it)"
	exit 0
fi
if ! am_start "$TMP/am" "$WEBHOOK_URL/am"; then
	fail "am_start" "Alertmanager did not become ready (see above)"
	exit 0
fi
pass "am_start: Alertmanager ready at $AM_URL"
expect_eq "am_alerts: none at first" "$(am_alerts | jq length)" 0
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
check "am_post: accepted" am_post "[{\"labels\": {\"alertname\": \"GoroutineLeak\", \"service\": \"api\"},
	\"annotations\": {\"summary\": \"test\"}, \"startsAt\": \"$now\", \"generatorURL\": \"http://127.0.0.1/\"}]"
api_active() {
	am_alerts 'filter=service="api"' |
		jq -e 'length == 1 and .[0].labels.alertname == "GoroutineLeak" and .[0].status.state == "active"' >/dev/null
}
none_listed() { am_alerts | jq -e 'length == 0' >/dev/null; }
check "am_alerts 'filter=service=\"api\"': the posted alert is active" wait_for 50 api_active
check "Alertmanager notified the receiver: firing" wait_for 100 \
	jsonl_any "$TMP/notes.jsonl" '.status == "firing" and .alerts[0].labels.service == "api"'
# Resolve: the same labels with endsAt = now.
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
check "am_post: the resolution (endsAt = now)" \
	am_post "[{\"labels\": {\"alertname\": \"GoroutineLeak\", \"service\": \"api\"}, \"endsAt\": \"$now\"}]"
check "am_alerts: a resolved alert is no longer listed" wait_for 50 none_listed
check "Alertmanager notified the receiver: resolved" wait_for 100 \
	jsonl_any "$TMP/notes.jsonl" '.status == "resolved" and .alerts[0].labels.service == "api"'
pid=$AM_PID
am_stop
check "am_stop: Alertmanager is gone" bash -c "! kill -0 $pid 2>/dev/null"
exit 0
