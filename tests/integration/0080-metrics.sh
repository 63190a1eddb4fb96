#!/usr/bin/env bash
# 0080: Prometheus can scrape batond, a worker and the bridge, and the
# values move as runs flow: every scrape passes `promtool check metrics`;
# after 20 runs of three activities the run counters rose by 20, the
# activity histograms of batond and of the worker counted the 60
# attempts, the outbox drained to 0, librdkafka's statistics are there; a
# retry waiting out its backoff shows as backlog on /metrics/backlog (the
# KEDA metrics-api shape); the bridge counts the command it produced;
# /readyz is 200 once partitions are assigned and 503 while redis-server
# is down (killed by pid), 200 again after its restart; /healthz stays 200.
source "$(dirname "$0")/lib.sh"
command -v promtool >/dev/null || fail "promtool missing (Debian package prometheus)"
stack_up "$TEST_DIR" 4 default

PB=$(free_port); PW=$(free_port); PR=$(free_port)
B="http://127.0.0.1:$PB" W="http://127.0.0.1:$PW" R="http://127.0.0.1:$PR"

# scrape URL NAME: the metrics text of URL into $TEST_DIR/NAME.prom, which
# promtool must accept without a single complaint.
scrape() {
  local out="$TEST_DIR/$2.prom" lint
  curl -sf "$1/metrics" >"$out" || fail "GET $1/metrics failed"
  lint=$(promtool check metrics <"$out" 2>&1) || fail "promtool on $2: $lint"
  [ -z "$lint" ] || fail "promtool complains about $2: $lint"
}
# value NAME FILTER: the sum of the samples of metric NAME (exact name)
# whose label set contains every label="value" of FILTER (0 when none).
value() {
  /usr/bin/python3 - "$TEST_DIR/$1.prom" "$2" "${3:-}" <<'EOF'
import re, sys
path, name, flt = sys.argv[1:4]
want = dict(re.findall(r'(\w+)="([^"]*)"', flt))
total = 0.0
for line in open(path):
    if line.startswith('#'): continue
    m = re.match(r'([a-zA-Z_:][\w:]*)(\{(.*)\})? (\S+)$', line.strip())
    if not m or m.group(1) != name: continue
    labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(3) or ''))
    if all(labels.get(k) == v for k, v in want.items()): total += float(m.group(4))
print(int(total) if total == int(total) else total)
EOF
}
status() { curl -s -o /dev/null -w '%{http_code}' "$1"; }
is_status() { [ "$(status "$1")" == "$2" ]; }

# the definitions, plus a step that fails once and retries after 60 s
mkdir -p "$TEST_DIR/wf"
cp config/workflows/*.json "$TEST_DIR/wf/"
cat >"$TEST_DIR/wf/metrics-retry.asl.json" <<'EOF'
{ "StartAt": "Flaky",
  "States": { "Flaky": { "Type": "Task", "Resource": "baton:activity:default/fail",
    "Parameters": { "times": 1 },
    "Retry": [ { "ErrorEquals": ["States.ALL"], "IntervalSeconds": 60, "MaxAttempts": 2 } ],
    "End": true } } }
EOF

WORKFLOWS_DIR="$TEST_DIR/wf" batond_up batond --set "batond.metrics.listen=127.0.0.1:$PB" \
  --set kafka.statistics.interval.ms=500 --set metrics.refresh.ms=300
BATOND=$LAST_PID
{ cat "$BATON_STACK_FILE"; echo "worker.metrics.listen = 127.0.0.1:$PW"
  echo "kafka.statistics.interval.ms = 500"; } >"$TEST_DIR/worker.conf"
worker_up worker --concurrency 8 --config "$TEST_DIR/worker.conf"
WORKER=$LAST_PID
# the bridge's source topics exist before it subscribes (as in 0030)
KT="$BIN/baton-kafka"
echo '{"type":"hello"}' | "$KT" produce shop.orders --key warmup
echo '{}' | "$KT" produce shop.payments --key warmup --header ce_specversion=1.0 \
  --header ce_id=warm --header ce_source=/test --header ce_type=payment.pending \
  --header ce_subject=none
_bg bridge "$BIN/baton-bridge" --triggers config/triggers \
  --set "bridge.metrics.listen=127.0.0.1:$PR"
BRIDGE=$LAST_PID

wait_until 60 "batond ready (partitions assigned)" is_status "$B/readyz" 200
wait_until 60 "worker ready (partitions assigned)" is_status "$W/readyz" 200
wait_until 60 "bridge ready (partitions assigned)" is_status "$R/readyz" 200
for u in "$B" "$W" "$R"; do
  assert_eq "$(status "$u/healthz")" 200 "liveness of $u"
  assert_eq "$(status "$u/nothing")" 404 "unknown path on $u"
done
pass "/readyz 200 once partitions are assigned, /healthz 200, unknown paths 404"

scrape "$B" batond0; scrape "$W" worker0; scrape "$R" bridge0
grep -q '^baton_build_info{version="[^"]*",program="batond"} 1$' "$TEST_DIR/batond0.prom" \
  || fail "no baton_build_info on batond"
started0=$(value batond0 baton_runs_started_total 'type="steps3"')
done0=$(value batond0 baton_runs_completed_total 'type="steps3"')
act0=$(value batond0 baton_activity_schedule_to_close_seconds_count 'queue="default",type="noop"')
wtask0=$(value worker0 baton_worker_tasks_total 'queue="default",type="noop",outcome="completed"')
pass "first scrapes pass promtool"

out=$("$BIN/baton-bench" --workflows 20 --type steps3 --steps 3 --concurrency 5 \
      --id-prefix m1 --timeout 180 --json) || fail "bench: $out"
assert_eq "$(json_get "$out" completed)" 20 "completed workflows"

outbox_drained() {
  scrape "$B" batond1
  [ "$(value batond1 baton_runs_completed_total 'type="steps3"')" == $((done0 + 20)) ] &&
    [ "$(value batond1 baton_outbox_depth)" == 0 ] &&
    grep -q '^baton_kafka_broker_rtt_avg_seconds{' "$TEST_DIR/batond1.prom"
}
wait_until 30 "batond's counters to show the 20 runs and the outbox to drain" outbox_drained
assert_eq "$(value batond1 baton_runs_started_total 'type="steps3"')" $((started0 + 20)) "runs started"
assert_eq "$(value batond1 baton_runs_failed_total 'type="steps3"')" 0 "runs failed"
assert_eq "$(value batond1 baton_run_duration_seconds_count 'type="steps3",status="completed"')" \
  $((done0 + 20)) "run durations observed"
assert_eq "$(value batond1 baton_activity_schedule_to_close_seconds_count 'queue="default",type="noop"')" \
  $((act0 + 60)) "activity latencies observed by batond"
assert_eq "$(value batond1 baton_activity_schedule_to_close_seconds_bucket 'queue="default",type="noop",le="+Inf"')" \
  $((act0 + 60)) "+Inf bucket = count"
assert_eq "$(value batond1 baton_activities_total 'queue="default",type="noop",outcome="completed"')" \
  $((act0 + 60)) "activity attempts completed"
[ "$(value batond1 baton_batch_messages_count)" -gt 0 ] || fail "no batch sizes"
[ "$(value batond1 baton_redis_roundtrip_seconds_count 'op="write"')" -gt 0 ] || fail "no Redis round trips"
[ "$(value batond1 baton_kafka_messages_sent_total)" -gt 0 ] || fail "no librdkafka txmsgs"
[ "$(value batond1 baton_partitions_owned)" == 4 ] || fail "batond owns $(value batond1 baton_partitions_owned) of 4 partitions"
pass "batond: runs started/completed +20, 60 activity latencies, outbox back to 0, librdkafka stats"

worker_counted() {
  scrape "$W" worker1
  [ "$(value worker1 baton_worker_tasks_total 'queue="default",type="noop",outcome="completed"')" == $((wtask0 + 60)) ] &&
    grep -q '^baton_kafka_consumer_lag{' "$TEST_DIR/worker1.prom"
}
wait_until 30 "the worker's counters to show 60 tasks and librdkafka's consumer lag" worker_counted
assert_eq "$(value worker1 baton_activity_execution_seconds_count 'queue="default",type="noop",outcome="completed"')" \
  $((wtask0 + 60)) "execution latencies observed by the worker"
assert_eq "$(value worker1 baton_activity_schedule_to_start_seconds_count 'queue="default",type="noop"')" \
  $((wtask0 + 60)) "schedule-to-start latencies observed by the worker"
assert_eq "$(value worker1 baton_worker_running)" 0 "activities running"
pass "worker: 60 tasks, execution and schedule-to-start histograms counted them"

# a retry waiting out its 60 s backoff is backlog Kafka lag does not show
assert_eq "$(curl -sf "$B/metrics/backlog?queue=default")" '{"queue":"default","backlog":0}' "backlog before"
assert_eq "$(status "$B/metrics/backlog")" 400 "backlog without a queue"
ctl start metrics-retry --id m-retry --input '{}' >/dev/null
has_backlog() { [ "$(curl -sf "$B/metrics/backlog?queue=default")" == '{"queue":"default","backlog":1}' ]; }
wait_until 30 "the retry of m-retry to show as backlog of queue default" has_backlog
scrape "$B" batond2
assert_eq "$(value batond2 baton_queue_retries_waiting 'queue="default"')" 1 "retries waiting"
[ "$(value batond2 baton_timers_pending)" -ge 1 ] || fail "no timers pending"
assert_eq "$(value batond2 baton_activities_total 'queue="default",type="fail",outcome="failed"')" 1 "failed attempt"
pass "a retry in backoff: /metrics/backlog?queue=default says 1 (KEDA metrics-api JSON)"

# the bridge counts what it produced
c0=$(value bridge0 baton_bridge_commands_total)
printf '%s\n' 'm1	{"type":"order.created","orderId":"M1","amount":3}' | "$KT" produce shop.orders --lines
ctl result order-M1 --wait 60 >/dev/null || fail "order-M1 did not complete"
bridge_counted() { scrape "$R" bridge1; [ "$(value bridge1 baton_bridge_commands_total)" == $((c0 + 1)) ]; }
wait_until 30 "the bridge to count its command" bridge_counted
# librdkafka reports its statistics every kafka.statistics.interval.ms: the
# first report may come after the bridge's first command.
bridge_stats() { scrape "$R" bridge1 && grep -q '^baton_kafka_messages_sent_total{client="' "$TEST_DIR/bridge1.prom"; }
wait_until 30 "librdkafka stats on the bridge" bridge_stats
pass "bridge: commands_total +1 for the event it mapped"

# readiness follows Redis; liveness does not
rpid=$(redis INFO server | sed -n 's/^process_id:\([0-9]*\).*/\1/p')
[ -n "$rpid" ] || fail "no redis-server pid"
kill -9 "$rpid"
wait_until 30 "batond /readyz 503 with Redis down" is_status "$B/readyz" 503
curl -s "$B/readyz" | grep -q 'Redis' || fail "readiness does not name Redis: $(curl -s "$B/readyz")"
assert_eq "$(status "$B/healthz")" 200 "batond liveness with Redis down"
stack_control redis-restart || fail "dev stack did not restart redis"
wait_until 60 "batond /readyz 200 after Redis is back" is_status "$B/readyz" 200
pass "/readyz 503 while redis-server is down, 200 after its restart; /healthz 200 throughout"

scrape "$B" batond3; scrape "$W" worker3; scrape "$R" bridge3
pass "the last scrapes pass promtool"

proc_stop "$BRIDGE" || fail "bridge exited non-zero on SIGTERM"
proc_stop "$WORKER" || fail "worker exited non-zero on SIGTERM"
proc_stop "$BATOND" || fail "batond exited non-zero on SIGTERM"
pass "batond, worker and bridge stop cleanly with their endpoints"
