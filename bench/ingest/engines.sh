#!/usr/bin/env bash
# Signed webhook ingest on both engines, by run.sh's method (the real dependabot_alert.created
# fixture, a fresh X-GitHub-Delivery per request, wrk on core 0, every request a distinct alert signed
# on its own (ring.py + ingest.lua), so every 2xx is a new row stored and synced):
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
export EVENT=dependabot_alert SENTINEL_GITHUB_WEBHOOK_SECRET="$SECRET" SENTINEL_LOG=warn
# One ring of distinct signed bodies per port, with its own range of alert numbers (RING_SIZE
# requests a port before a body repeats; wrk's JSON counts repeats as ring_repeats).
RING_SIZE="${RING_SIZE:-150000}"
for port in 18181 18182 18183 18184; do
  python3 bench/ingest/ring.py "$BODY_FILE" "$SECRET" "$RING_SIZE" $(( (port - 18180) * 1000000 )) "$WORK/ring.$port"
done
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

# cpu WHO: CPU seconds used so far by the Sentinel instances (WHO=sentinel) or by the PostgreSQL
# server's processes (WHO=postgres).
cpu() {
  python3 - "$1" "${PIDS[@]}" <<'PY'
import os, pwd, sys
who, pids = sys.argv[1], sys.argv[2:]
if who == "postgres":
    uid = pwd.getpwnam("postgres").pw_uid if any(p.pw_name == "postgres" for p in pwd.getpwall()) else -1
    pids = [p for p in os.listdir("/proc") if p.isdigit()]
ticks = 0
for pid in pids:
    try:
        if who == "postgres" and os.stat(f"/proc/{pid}").st_uid != uid:
            continue
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    except (OSError, IndexError):
        pass
print(ticks / os.sysconf("SC_CLK_TCK"))
PY
}

# load PORT...: wrk on core 0, the connections split evenly over the ports; leaves one JSON line
# per port, and the CPU seconds the instances and the PostgreSQL server used meanwhile in
# $WORK/cpu.
load() {
  local share=$((CONNECTIONS / $#)) port pids=() sentinel_before postgres_before
  sentinel_before=$(cpu sentinel); postgres_before=$(cpu postgres)
  for port in "$@"; do
    RING="$WORK/ring.$port" DELIVERY_PREFIX="p$port-" taskset -c 0 wrk -t1 -c"$share" -d"$DURATION" --latency -s bench/ingest/ingest.lua \
      "http://127.0.0.1:$port/webhooks/github" | grep '^JSON' | sed 's/^JSON //' > "$WORK/wrk.$port" &
    pids+=($!)
  done
  wait "${pids[@]}"
  echo "$sentinel_before $(cpu sentinel) $postgres_before $(cpu postgres)" > "$WORK/cpu"
}

# report LABEL STORED PORT...: requests/s summed over the ports, p50 and p99 the worst port's
# (each port's wrk JSON line is in $WORK/wrk.PORT).
report() {
  local label="$1" stored="$2" files=() port
  shift 2
  for port in "$@"; do files+=("$WORK/wrk.$port"); done
  python3 - "$label" "$stored" "$WORK/cpu" "${files[@]}" <<'PY'
import json, sys
label, stored = sys.argv[1], int(sys.argv[2])
s0, s1, p0, p1 = (float(x) for x in open(sys.argv[3]).read().split())
sentinel_cpu, postgres_cpu = round(s1 - s0, 2), round(p1 - p0, 2)
runs = [json.loads(open(path).read()) for path in sys.argv[4:]]
rps = sum(r["rps"] for r in runs)
requests = sum(r["requests"] for r in runs)
errors = sum(r["non_2xx"] + r["socket_errors"] for r in runs)
repeats = sum(r["ring_repeats"] for r in runs)
print(f"{label:<28} {rps:>8.0f} req/s   p50 {max(r['p50_ms'] for r in runs):6.2f} ms   "
      f"p99 {max(r['p99_ms'] for r in runs):6.2f} ms   non-2xx/errors {errors}   "
      f"requests {requests}, stored {stored}, ring repeats {repeats}")
print(f"{'':<28} CPU per 1,000 stored: Sentinel {1000 * sentinel_cpu / max(stored, 1):.2f} s, "
      f"PostgreSQL server {1000 * postgres_cpu / max(stored, 1):.2f} s")
print("JSON " + json.dumps({"run": label, "rps": round(rps), "p50_ms": max(r["p50_ms"] for r in runs),
                            "p99_ms": max(r["p99_ms"] for r in runs), "errors": errors, "requests": requests,
                            "stored": stored, "ring_repeats": repeats,
                            "sentinel_cpu_s": sentinel_cpu, "postgres_cpu_s": postgres_cpu}))
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
