#!/usr/bin/env bash
# The quick start: builds audit-replay, starts audit-replayd on a default configuration
# under ./demo, starts a local webhook receiver (audit-replay-sink), ingests a generated
# sample of Konnect-like audit events, replays a sub-range, shows progress and the result,
# checks the receiver's count against the job's events_total, and stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
demo=$root/demo
events=${DEMO_EVENTS:-200000}

bash scripts/setup.sh
echo "== building"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target audit-replayd audit-replayctl audit-replay-sink \
  audit-replay-gen >/dev/null

rm -rf "$demo"
mkdir -p "$demo"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

# Waits up to $2 seconds for the command $1 to succeed.
wait_for() {
  local i
  for ((i = 0; i < $2 * 10; i++)); do
    if eval "$1"; then return 0; fi
    sleep 0.1  # polling interval of a condition with a deadline
  done
  echo "timed out waiting for: $1" >&2
  return 1
}

echo "== starting the webhook receiver (audit-replay-sink)"
build/sink/audit-replay-sink --listen 127.0.0.1:0 --quiet >"$demo/sink.log" 2>&1 &
pids+=($!)
wait_for "grep -q 'listening on' '$demo/sink.log'" 10
sink_url=$(grep -o 'http://[0-9.:]*' "$demo/sink.log" | head -n1)
echo "   receiver at $sink_url"

cat >"$demo/config.yaml" <<YAML
# Built-in defaults plus one region whose webhook is the local receiver.
data_dir: var/data
control:
  socket: var/run/control.sock
  spool_dir: var/spool
regions:
  us:
    webhook:
      endpoint: $sink_url/audit
      log_format: json
      compression: gzip
YAML

echo "== starting audit-replayd"
build/daemon/audit-replayd --config "$demo/config.yaml" >"$demo/daemon.log" 2>&1 &
pids+=($!)
ctl=(build/ctl/audit-replayctl --config "$demo/config.yaml")
wait_for "${ctl[*]} stats >/dev/null 2>&1" 20

start=$(date -u -d '-3 hours' +%Y-%m-%dT%H:%M:%SZ)
end=$(date -u -d '-1 minute' +%Y-%m-%dT%H:%M:%SZ)
echo "== generating $events sample audit events from $start to $end"
build/bench/audit-replay-gen --count "$events" --start "$start" --end "$end" >"$demo/events.ndjson"
head -c 400 "$demo/events.ndjson"; echo " …"

echo "== ingesting"
"${ctl[@]}" ingest --region us "$demo/events.ndjson"

from=$(date -u -d '-150 minutes' +%Y-%m-%dT%H:%M:%SZ)
to=$(date -u -d '-30 minutes' +%Y-%m-%dT%H:%M:%SZ)
echo "== replaying $from .. $to to the receiver"
"${ctl[@]}" replay --region us --start "$from" --end "$to" --wait
"${ctl[@]}" status --region us

total=$("${ctl[@]}" status --region us --json | grep -o '"events_total":[0-9]*' | head -n1 | cut -d: -f2)
received=$(curl -s "$sink_url/stats" | grep -o '"events":[0-9]*' | cut -d: -f2)
echo "== the receiver got $received events; the job's events_total is $total"
"${ctl[@]}" webhook-status --region us
if [ "$received" != "$total" ]; then
  echo "MISMATCH" >&2
  exit 1
fi
echo "== done: every event of the range arrived. Logs and data are under $demo"
