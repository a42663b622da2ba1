#!/usr/bin/env bash
# `make bench` (issue 13): Tanu (release) on SQLite and on PostgreSQL and node
# oidc-provider side by side, the server pinned to core 0 and the load
# generator (ops/bench/load.mjs) to core 1, each scenario after a warm-up at
# 1, 8 and 32 concurrent. Prints one table; raw results in $OUT/results.jsonl.
# Knobs: BENCH_SECONDS (per cell, default 5), BENCH_TARGETS (default
# "tanu-sqlite tanu-postgres oidc-provider"), BENCH_SCENARIOS, TANU_BIN,
# TANU_BENCH_POSTGRES_URL (admin URL, default the test server's).
set -euo pipefail
cd "$(dirname "$0")"
here=$(pwd)
root=$(cd ../.. && pwd)
seconds=${BENCH_SECONDS:-5}
targets=${BENCH_TARGETS:-"tanu-sqlite tanu-postgres oidc-provider"}
scenarios=${BENCH_SCENARIOS:-"refresh code userinfo jwks discovery"}
codes=${BENCH_CODES:-60000}
levels=${BENCH_CONCURRENCY:-"1 8 32"}
pg_admin=${TANU_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
OUT=${OUT:-$(mktemp -d /tmp/tanu-bench.XXXXXX)}
results=$OUT/results.jsonl
: > "$results"

[ -d node_modules/oidc-provider ] || npm ci --no-audit --no-fund >/dev/null
tanu=${TANU_BIN:-$root/target/release/tanu}
if [ -z "${TANU_BIN:-}" ]; then
  (cd "$root" && cargo build --release -p tanu-idp --bin tanu)
fi

port=39$((RANDOM % 90 + 10))
server_pid=
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; wait 2>/dev/null || true; }
trap cleanup EXIT

wait_up() { for _ in $(seq 1 300); do curl -fs "http://127.0.0.1:$port$1" >/dev/null && return 0; sleep 0.1; done; echo "server did not start" >&2; return 1; }
rss_kb() { awk "/^$1:/ {print \$2}" "/proc/$server_pid/status"; }

start_tanu() { # $1 = database url
  local dir=$OUT/$2
  mkdir -p "$dir"
  export TANU_DATABASE_URL=$1 TANU_DATA_DIR=$dir TANU_LISTEN=127.0.0.1:$port TANU_ISSUER=http://127.0.0.1:$port \
    TANU_FACE_ENABLED=false TANU_TEMPORAL_ADDRESS= TANU_TOKEN_RATE_LIMIT_PER_MINUTE=100000000 TANU_RATE_LIMIT_PER_MINUTE=100000000 RUST_LOG=warn
  "$tanu" migrate >/dev/null
  local client
  client=$("$tanu" clients add --name bench --redirect-uri http://127.0.0.1:9/cb --json)
  local id secret
  id=$(node -e 'console.log(JSON.parse(process.argv[1]).client_id)' "$client")
  secret=$(node -e 'console.log(JSON.parse(process.argv[1]).client_secret)' "$client")
  node seed.mjs "$3" "$id" 32 "$codes" "$dir/seed"
  if [ "$3" = postgres ]; then psql -q "$1" -f "$dir/seed.sql" >/dev/null
  else local file=${1#sqlite://}; sqlite3 "${file%%\?*}" < "$dir/seed.sql"; fi
  taskset -c "$SERVER_CPU" "$tanu" serve >"$dir/serve.log" 2>&1 &
  server_pid=$!
  wait_up /healthz
  node -e 'const s=JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); console.log(JSON.stringify({client_id: process.argv[2], client_secret: process.argv[3], ...s}))' "$dir/seed.json" "$id" "$secret" > "$creds"
}

start_provider() {
  PORT=$port USERS=32 taskset -c "$SERVER_CPU" node provider.mjs >"$OUT/provider.out" 2>"$OUT/provider.err" &
  server_pid=$!
  for _ in $(seq 1 300); do [ -s "$OUT/provider.out" ] && break; sleep 0.1; done
  head -1 "$OUT/provider.out" > "$creds"
}

measure() { # $1 = target name
  local idle
  idle=$(rss_kb VmRSS)
  for s in $scenarios; do
    # oidc-provider's in-memory adapter keeps 1 000 entries (an LRU): codes
    # cannot be minted ahead for it, so code exchange is measured for Tanu only.
    [ "$s" = code ] && [ "$1" = oidc-provider ] && continue
    # Warm-up: the same load, results discarded. Refresh tokens rotate, so
    # each run continues the chains the previous one left.
    local out
    out=$(taskset -c "$LOAD_CPU" node load.mjs "http://127.0.0.1:$port" "$s" 8 2 "$creds" 2>&1 | tail -1)
    for c in $levels; do
      out=$(taskset -c "$LOAD_CPU" node load.mjs "http://127.0.0.1:$port" "$s" "$c" "$seconds" "$creds" 2>&1 | tail -1)
      echo "{\"target\":\"$1\",\"result\":$out}" >> "$results"
      echo "  $1 $s c=$c: $out" >&2
    done
  done
  echo "{\"target\":\"$1\",\"rss\":{\"idle_kb\":$idle,\"peak_kb\":$(rss_kb VmHWM)}}" >> "$results"
}

for t in $targets; do
  echo "== $t" >&2
  creds=$OUT/$t.creds.json
  case $t in
    tanu-sqlite) start_tanu "sqlite://$OUT/sqlite/t.db?mode=rwc" sqlite sqlite ;;
    tanu-postgres)
      db=tanu_bench_$$
      psql -q "$pg_admin" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
      start_tanu "${pg_admin%/*}/$db" postgres postgres ;;
    oidc-provider) start_provider ;;
  esac
  measure "$t"
  kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=
  [ "$t" = tanu-postgres ] && psql -q "$pg_admin" -c "DROP DATABASE IF EXISTS tanu_bench_$$" >/dev/null
done

echo "machine: $(nproc) vCPU, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); server on core $SERVER_CPU, generator on core $LOAD_CPU; ${seconds}s per cell"
python3 "$here/table.py" "$results"
