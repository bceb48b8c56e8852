#!/usr/bin/env bash
# Signed webhook ingest on both engines, by run.sh's method (the real dependabot_alert.created
# fixture, a fresh X-GitHub-Delivery per request, wrk on core 0; the alert content key makes every request
# after the first a duplicate, so this measures the door and the dedup path: see bench/docs/cluster.md):
#   1. SQLite, one instance (WAL, synchronous=FULL);
#   2. PostgreSQL, one instance;
#   3. PostgreSQL, two instances on one database, wrk's connections split between them.
# PostgreSQL is a throwaway local cluster (.ci/with-postgres) with its durable defaults
# (WITH_POSTGRES_DURABLE=1: fsync, synchronous_commit and full_page_writes on). The Sentinel
# instances AND the PostgreSQL server are pinned to core 1, so every run has the same one core for
# the server side that SQLite's run has (SQLite's engine lives inside the one process).
# Usage: bench/ingest/engines.sh [duration, default 20s] [connections, default 32]
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION="${1:-20s}"
CONNECTIONS="${2:-32}"

if [ -z "${SENTINEL_TEST_POSTGRES_URL:-}" ]; then
  if ! command -v wrk >/dev/null; then
    echo "installing wrk (Debian package)…"
    (apt-get update -qq && apt-get install -y -qq wrk) >/dev/null
  fi
  cargo build --release --quiet --bin sentinel
  # Again, inside a durable throwaway cluster whose server runs on core 1.
  WITH_POSTGRES_DURABLE=1 exec taskset -c 1 .ci/with-postgres "$0" "$DURATION" "$CONNECTIONS"
fi

WORK="$(mktemp -d)"
PIDS=()
stop_all() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done; PIDS=(); }
trap 'stop_all; rm -rf "$WORK"' EXIT
BODY_FILE="$PWD/tests/fixtures/github/dependabot_alert.created.json"
SECRET="bench-secret-0123456789abcdef0123456789abcdef"
SIG="sha256=$(python3 -c 'import hmac,hashlib,sys; print(hmac.new(sys.argv[1].encode(), open(sys.argv[2],"rb").read(), hashlib.sha256).hexdigest())' "$SECRET" "$BODY_FILE")"
export BODY_FILE SIG EVENT=dependabot_alert SENTINEL_GITHUB_WEBHOOK_SECRET="$SECRET" SENTINEL_LOG=warn
PG_SERVER="${SENTINEL_TEST_POSTGRES_URL%/*}"
psql_at() { psql -X -q -t -A -d "$1" -c "$2"; }

# start NAME URL PORT: one instance, pinned to core 1, waited for until /healthz answers.
start() {
  cat > "$WORK/$1.toml" <<TOML
[database]
url = "$2"
[http]
listen = "127.0.0.1:$3"
[chat]
console = "off"
[cluster]
instance = "$1"
TOML
  chmod 600 "$WORK/$1.toml"
  taskset -c 1 ./target/release/sentinel --config "$WORK/$1.toml" run </dev/null >"$WORK/$1.out" 2>"$WORK/$1.err" &
  PIDS+=($!)
  for _ in $(seq 1 200); do curl -fs "http://127.0.0.1:$3/healthz" >/dev/null && return 0; sleep 0.1; done
  echo "instance $1 did not start:"; cat "$WORK/$1.err"; exit 1
}

# load PORT...: wrk on core 0, the connections split evenly over the ports; leaves one JSON line
# per port.
load() {
  local share=$((CONNECTIONS / $#)) port pids=()
  for port in "$@"; do
    DELIVERY_PREFIX="p$port-" taskset -c 0 wrk -t1 -c"$share" -d"$DURATION" --latency -s bench/ingest/ingest.lua \
      "http://127.0.0.1:$port/webhooks/github" | grep '^JSON' | sed 's/^JSON //' > "$WORK/wrk.$port" &
    pids+=($!)
  done
  wait "${pids[@]}"
}

# report LABEL STORED PORT...: requests/s summed over the ports, p50 and p99 the worst port's
# (each port's wrk JSON line is in $WORK/wrk.PORT).
report() {
  local label="$1" stored="$2" files=() port
  shift 2
  for port in "$@"; do files+=("$WORK/wrk.$port"); done
  python3 - "$label" "$stored" "${files[@]}" <<'PY'
import json, sys
label, stored = sys.argv[1], int(sys.argv[2])
runs = [json.loads(open(path).read()) for path in sys.argv[3:]]
rps = sum(r["rps"] for r in runs)
errors = sum(r["non_2xx"] + r["socket_errors"] for r in runs)
print(f"{label:<28} {rps:>8.0f} req/s   p50 {max(r['p50_ms'] for r in runs):6.2f} ms   "
      f"p99 {max(r['p99_ms'] for r in runs):6.2f} ms   non-2xx/errors {errors}   stored {stored}")
print("JSON " + json.dumps({"run": label, "rps": round(rps), "p50_ms": max(r["p50_ms"] for r in runs),
                            "p99_ms": max(r["p99_ms"] for r in runs), "errors": errors, "stored": stored}))
PY
}

echo "body: $(wc -c <"$BODY_FILE") bytes; $CONNECTIONS connections, $DURATION per run; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "PostgreSQL: $(psql_at "$SENTINEL_TEST_POSTGRES_URL" 'SHOW server_version'), fsync $(psql_at "$SENTINEL_TEST_POSTGRES_URL" 'SHOW fsync'), synchronous_commit $(psql_at "$SENTINEL_TEST_POSTGRES_URL" 'SHOW synchronous_commit')"

start sqlite "sqlite://$WORK/sentinel.db" 18181
load 18181
stop_all
STORED=$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("select count(*) from inbox where kind=\"github\"").fetchone()[0])' "$WORK/sentinel.db")
report "SQLite, 1 instance" "$STORED" 18181

psql_at "$SENTINEL_TEST_POSTGRES_URL" "CREATE DATABASE ingest_one"
start pg-1 "$PG_SERVER/ingest_one" 18182
load 18182
stop_all
report "PostgreSQL, 1 instance" "$(psql_at "$PG_SERVER/ingest_one" "select count(*) from inbox where kind='github'")" 18182

psql_at "$SENTINEL_TEST_POSTGRES_URL" "CREATE DATABASE ingest_two"
start pg-a "$PG_SERVER/ingest_two" 18183
start pg-b "$PG_SERVER/ingest_two" 18184
load 18183 18184
stop_all
report "PostgreSQL, 2 instances" "$(psql_at "$PG_SERVER/ingest_two" "select count(*) from inbox where kind='github'")" 18183 18184
