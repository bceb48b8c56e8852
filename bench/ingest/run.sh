#!/usr/bin/env bash
# Signed webhook ingest benchmark: the release binary pinned to core 1, wrk pinned to core 0,
# the real `dependabot_alert.created` fixture (~10 KB), 32 and 64 connections, 20 s each.
# Every 2xx means the delivery was stored and synced to disk first (synchronous=FULL, group commit).
# Then it waits for the dispatcher to handle the backlog (alert notifier and the rest) and reports
# how long that took: the end-to-end figure next to the acknowledgement figure.
# Usage: bench/ingest/run.sh [duration, default 20s]
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION="${1:-20s}"
if ! command -v wrk >/dev/null; then
  echo "installing wrk (Debian package)…"
  (apt-get update -qq && apt-get install -y -qq wrk) >/dev/null
fi
cargo build --release --quiet --bin sentinel
WORK="$(mktemp -d)"
trap 'kill "${PID:-0}" 2>/dev/null || true; rm -rf "$WORK"' EXIT
BODY_FILE="${BODY_FILE:-$PWD/tests/fixtures/github/dependabot_alert.created.json}"
SECRET="bench-secret-0123456789abcdef0123456789abcdef"
PORT="${PORT:-18080}"
cat > "$WORK/sentinel.toml" <<TOML
[database]
url = "sqlite://$WORK/sentinel.db"
[http]
listen = "127.0.0.1:$PORT"
[chat]
console = "off"
TOML
chmod 600 "$WORK/sentinel.toml"
export SENTINEL_GITHUB_WEBHOOK_SECRET="$SECRET" SENTINEL_LOG=warn
taskset -c 1 ./target/release/sentinel --config "$WORK/sentinel.toml" run </dev/null >"$WORK/stdout" 2>"$WORK/stderr" &
PID=$!
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
export EVENT=dependabot_alert
# Every request a distinct alert signed on its own (a repeated body would be a duplicate, stored
# once): one ring per run, each with its own range of alert numbers.
for CONNECTIONS in 32 64; do
  python3 bench/ingest/ring.py "$BODY_FILE" "$SECRET" "${RING_SIZE:-200000}" $((CONNECTIONS * 1000000)) "$WORK/ring.$CONNECTIONS"
done
echo "body: $(wc -c <"$BODY_FILE") bytes; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for CONNECTIONS in 32 64; do
  echo "== $CONNECTIONS connections, $DURATION"
  RING="$WORK/ring.$CONNECTIONS" taskset -c 0 wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --latency -s bench/ingest/ingest.lua "http://127.0.0.1:$PORT/webhooks/github" | grep -E "Requests/sec|Latency|50%|99%|Non-2xx|JSON|Socket"
done
# Where the time went: the write turns of the inbox writer and the dispatcher during the load.
python3 bench/ingest/turns.py "http://127.0.0.1:$PORT/metrics"
# The dispatcher defers to acknowledgements during the burst; measure how long handling the backlog
# takes once it ends, so the end-to-end rate is reported next to the ingest rate.
pending() { python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("select count(*) from inbox where state=\"pending\"").fetchone()[0])' "$WORK/sentinel.db"; }
BACKLOG=$(pending); START=$(date +%s.%N)
while [ "$(pending)" -gt 0 ]; do sleep 0.5; done
DRAIN=$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$START" "$(date +%s.%N)")
echo "backlog when the load stopped: $BACKLOG events, handled in ${DRAIN} s"
STORED=$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("select count(*) from inbox where kind=\"github\"").fetchone()[0])' "$WORK/sentinel.db")
echo "deliveries stored in the inbox: $STORED"
echo "server peak RSS: $(grep VmHWM /proc/$PID/status | awk '{print $2, $3}')"
