#!/usr/bin/env bash
# Issue 17's side-by-side, with distinct alerts: ../shared/bench/side-by-side.sh's method (adnanh/webhook,
# Go, checks the HMAC and stores nothing, against Sentinel, which stores and syncs every delivery before
# its 2xx; each server pinned to core 1, wrk to core 0, 32 connections, 20 s, alternated webhook then
# Sentinel for ROUNDS rounds), except that every request is a distinct alert signed on its own
# (ring.py + ingest.lua). The shared script repeats one body, which Sentinel stores once and then
# finds as a duplicate by its content (since pull mode), so it no longer measures the durable path.
# Both servers get the same ring of bodies in every round.
# Needs: apt-get install -y webhook wrk (Debian packages), installed here when missing; a release
# sentinel binary (SENTINEL_EXE, default target/release/sentinel).
# Usage: bench/ingest/side-by-side.sh   (env: DUR=20s CONC=32 ROUNDS=3 RING_SIZE=200000)
set -euo pipefail
cd "$(dirname "$0")/../.."
EXE=${SENTINEL_EXE:-target/release/sentinel}
FIX=tests/fixtures/github/dependabot_alert.created.json
DUR=${DUR:-20s}; CONC=${CONC:-32}; ROUNDS=${ROUNDS:-3}
SECRET=bench-secret-not-for-production-0123456789
for tool in webhook wrk; do
  command -v "$tool" >/dev/null || { apt-get update -qq && apt-get install -y -qq "$tool" >/dev/null; }
done
RUN=$(mktemp -d -t sbs.XXXXXX)
PID=""
stop() { if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; PID=""; fi; }
trap 'stop; rm -rf "$RUN"' EXIT
wait_http() { for _ in $(seq 200); do curl -s -o /dev/null "$1" && return 0; sleep 0.1; done; echo "no answer from $1" >&2; return 1; }
python3 bench/ingest/ring.py "$FIX" "$SECRET" "${RING_SIZE:-200000}" 1000000 "$RUN/ring"
echo "run dir $RUN, body $(wc -c < "$FIX") bytes, every request a distinct alert; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
load() {
  RING="$RUN/ring" taskset -c 0 wrk -t1 -c"$CONC" -d"$DUR" --latency -s bench/ingest/ingest.lua "$1" | grep '^JSON' |
    python3 -c 'import json,sys; r=json.loads(sys.stdin.read()[5:]); print("rps=%(rps)d p50=%(p50_ms).2f p99=%(p99_ms).2f requests=%(requests)d non2xx=%(non_2xx)d errors=%(socket_errors)d ring_repeats=%(ring_repeats)d" % r)'
}
for r in $(seq "$ROUNDS"); do
  cat > "$RUN/hooks.json" <<JSON
[{"id":"github","execute-command":"/nonexistent/none","http-methods":["POST"],"response-message":"ok",
  "trigger-rule-mismatch-http-response-code":401,
  "trigger-rule":{"match":{"type":"payload-hmac-sha256","secret":"$SECRET","parameter":{"source":"header","name":"X-Hub-Signature-256"}}}}]
JSON
  taskset -c 1 webhook -ip 127.0.0.1 -port 9000 -hooks "$RUN/hooks.json" > "$RUN/webhook.log" 2>&1 & PID=$!
  wait_http http://127.0.0.1:9000/
  echo "round $r webhook  $(load http://127.0.0.1:9000/hooks/github)"; stop
  D=$RUN/s$r; mkdir -p "$D"
  printf '[database]\nurl = "sqlite://%s/sentinel.db"\n[http]\nlisten = "127.0.0.1:9001"\n[chat]\nconsole = "off"\n' "$D" > "$D/sentinel.toml"
  chmod 600 "$D/sentinel.toml"
  SENTINEL_GITHUB_WEBHOOK_SECRET=$SECRET SENTINEL_LOG=warn taskset -c 1 "$EXE" --config "$D/sentinel.toml" run \
     < /dev/null > "$D/out.log" 2>&1 & PID=$!
  wait_http http://127.0.0.1:9001/healthz
  result=$(load http://127.0.0.1:9001/webhooks/github)
  echo "round $r sentinel $result rss_kb=$(awk '/VmHWM/{print $2}' /proc/$PID/status)"
  stop
  echo "round $r sentinel stored $(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("select count(*) from inbox where kind=\"github\"").fetchone()[0])' "$D/sentinel.db") inbox rows"
done
