#!/usr/bin/env bash
# `make bench` (issue 13): Tanu (release) on SQLite and on PostgreSQL and node
# oidc-provider side by side, the server pinned to core 0 and the load
# generator (ops/bench/load.mjs) to core 1, each scenario after a warm-up at
# 1, 8 and 32 concurrent. Prints one table; raw results in $OUT/results.jsonl.
# Knobs: BENCH_SECONDS (per cell, default 5), BENCH_TARGETS (default
# "tanu-sqlite tanu-postgres oidc-provider"), BENCH_SCENARIOS, TANU_BIN,
# TANU_BENCH_POSTGRES_URL (admin URL, default the test server's).
# Then complete face sign-ins over HTTP (tests/examples/face_bench.rs) on
# PostgreSQL at FACE_CONCURRENCY (default "1 4"), FACE_SIGN_INS each (default
# 20): sign-ins per second, the server's CPU per sign-in, verify's latency
# after the last frame. BENCH_FACE=0 skips them. Each HTTP cell also gives
# the server's CPU per request and PostgreSQL's (all its processes, during
# the cell; a PostgreSQL target only), from /proc/<pid>/stat.
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
face=${BENCH_FACE:-1}
face_levels=${FACE_CONCURRENCY:-"1 4"}
face_sign_ins=${FACE_SIGN_INS:-20}
# The face load generator: the test kit's HTTP journey (a debug build: it only
# sends frames encoded before the timing starts).
if [ "$face" = 1 ]; then (cd "$root" && cargo build --workspace --all-targets --quiet); fi

port=39$((RANDOM % 90 + 10))
server_pid=
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; wait 2>/dev/null || true; }
trap cleanup EXIT

wait_up() { for _ in $(seq 1 300); do curl -fs "http://127.0.0.1:$port$1" >/dev/null && return 0; sleep 0.1; done; echo "server did not start" >&2; return 1; }
rss_kb() { awk "/^$1:/ {print \$2}" "/proc/$server_pid/status"; }
# CPU time (clock ticks, user + system) of the server, and of every
# PostgreSQL process (the database's share of an operation; 0 without one).
ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
pg_ticks() { local n=0 p; for p in $(pgrep -x postgres); do n=$((n + $(ticks "$p"))); done; echo "$n"; }

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
      local cpu0 db0
      cpu0=$(ticks "$server_pid"); db0=$(pg_ticks)
      out=$(taskset -c "$LOAD_CPU" node load.mjs "http://127.0.0.1:$port" "$s" "$c" "$seconds" "$creds" 2>&1 | tail -1)
      local cpu=$(( $(ticks "$server_pid") - cpu0 )) db=$(( $(pg_ticks) - db0 ))
      echo "{\"target\":\"$1\",\"result\":$out,\"server_ticks\":$cpu,\"db_ticks\":$db,\"hz\":$(getconf CLK_TCK)}" >> "$results"
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

face_bench() {
  local dir=$OUT/face db=tanu_bench_face_$$
  mkdir -p "$dir"
  psql -q "$pg_admin" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
  local url=${pg_admin%/*}/$db
  # The clip's timing (as the test kit's face tests), no replay memory (the
  # same recording every time), budgets out of the way.
  cat > "$dir/tanu.toml" <<EOF
listen = "127.0.0.1:$port"
issuer = "http://127.0.0.1:$port"
database_url = "$url"
data_dir = "$dir/data"
prefix = "$root"
rate_limit_per_minute = 100000000
token_rate_limit_per_minute = 100000000
[face]
enabled = true
fixed_challenge = "turn_right"
frames_before_challenge = 2
reveal_jitter_frames = 0
[face.replay]
ttl_ms = 0
[biometrics]
sandbox_registry_dir = "$dir/registry"
[onboarding]
worker = false
EOF
  # The HTTP targets' variables (exported by start_tanu) would override the file.
  local run=(env -u TANU_DATABASE_URL -u TANU_DATA_DIR -u TANU_LISTEN -u TANU_ISSUER -u TANU_FACE_ENABLED
    -u TANU_RATE_LIMIT_PER_MINUTE -u TANU_TOKEN_RATE_LIMIT_PER_MINUTE TANU_TEMPORAL_ADDRESS= RUST_LOG=warn "$tanu" --config "$dir/tanu.toml")
  "${run[@]}" migrate >/dev/null
  # The registry's photo: the clip's frame at 4.0 s (the test kit's document_photo).
  ffmpeg -loglevel error -y -ss 4.0 -i "$root/tests/data/video/short_hamilton_clip.mp4" -frames:v 1 -q:v 3 "$dir/photo.jpg"
  "${run[@]}" registry add --sandbox --iin 900101300017 --name "Miranda Lin-Manuel" --photo "$dir/photo.jpg" >/dev/null
  local client id secret
  client=$("${run[@]}" clients add --name "Test RP" --redirect-uri http://127.0.0.1:9/cb --env sandbox --json)
  id=$(node -e 'console.log(JSON.parse(process.argv[1]).client_id)' "$client")
  secret=$(node -e 'console.log(JSON.parse(process.argv[1]).client_secret)' "$client")
  taskset -c "$SERVER_CPU" "${run[@]}" serve >"$dir/serve.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 600); do curl -fs "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
  local idle out
  idle=$(rss_kb VmRSS)
  for c in $face_levels; do
    out=$(taskset -c "$LOAD_CPU" "$root/target/debug/examples/face_bench" "http://127.0.0.1:$port" "$url" "$id" "$secret" "$server_pid" "$face_sign_ins" "$c" | tail -1)
    echo "{\"target\":\"tanu-face\",\"result\":$out}" >> "$results"
    echo "  tanu face c=$c: $out" >&2
  done
  # Each stage's mean time per call over every frame above (the server's
  # own histogram; wall time on its one pinned core).
  curl -fs "http://127.0.0.1:$port/metrics" > "$dir/metrics.txt"
  python3 - "$dir/metrics.txt" >> "$results" <<'PY'
import json, re, sys
sums, counts = {}, {}
for line in open(sys.argv[1]):
    m = re.match(r'tanu_inference_seconds_(sum|count)\{stage="(\w+)"\} (\S+)', line)
    if m:
        (sums if m[1] == "sum" else counts)[m[2]] = float(m[3])
print(json.dumps({"target": "tanu-face", "stages": {k: {"mean_ms": sums[k] * 1000 / counts[k], "calls": counts[k]} for k in sums if counts.get(k)}}))
PY
  echo "{\"target\":\"tanu-face\",\"rss\":{\"idle_kb\":$idle,\"peak_kb\":$(rss_kb VmHWM)}}" >> "$results"
  kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=
  psql -q "$pg_admin" -c "DROP DATABASE IF EXISTS $db" >/dev/null
}
if [ "$face" = 1 ]; then
  echo "== tanu-face" >&2
  face_bench
fi

echo "machine: $(nproc) vCPU, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); server on core $SERVER_CPU, generator on core $LOAD_CPU; ${seconds}s per cell"
python3 "$here/table.py" "$results"
