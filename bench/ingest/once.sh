#!/usr/bin/env bash
# One load of distinct signed alerts against one release binary on SQLite, then where the time went:
# run.sh's method (server on core 1, wrk on core 0, ring.py + ingest.lua: every request a new alert
# stored and synced before its 2xx) for a single run, followed by the write-turn histograms
# (turns.py). For A/B comparisons of two binaries: run it for each, alternately, several times.
# Usage: EXE=target/release/sentinel DUR=20s CONC=32 bench/ingest/once.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
EXE=${EXE:-target/release/sentinel}
PORT=${PORT:-18191}
WORK=$(mktemp -d)
PID=""
trap 'if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi; rm -rf "$WORK"' EXIT
SECRET="bench-secret-0123456789abcdef0123456789abcdef"
python3 bench/ingest/ring.py tests/fixtures/github/dependabot_alert.created.json "$SECRET" 200000 2000000 "$WORK/ring"
printf '[database]\nurl = "sqlite://%s/s.db"\n[http]\nlisten = "127.0.0.1:%s"\n[chat]\nconsole = "off"\n' "$WORK" "$PORT" > "$WORK/s.toml"
chmod 600 "$WORK/s.toml"
SENTINEL_GITHUB_WEBHOOK_SECRET="$SECRET" SENTINEL_LOG=warn taskset -c 1 "$EXE" --config "$WORK/s.toml" run \
  </dev/null >"$WORK/out" 2>"$WORK/err" &
PID=$!
for _ in $(seq 1 200); do curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
RING="$WORK/ring" EVENT=dependabot_alert taskset -c 0 wrk -t1 -c"${CONC:-32}" -d"${DUR:-20s}" --latency \
  -s bench/ingest/ingest.lua "http://127.0.0.1:$PORT/webhooks/github" | grep '^JSON'
python3 bench/ingest/turns.py "http://127.0.0.1:$PORT/metrics"
