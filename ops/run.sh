#!/usr/bin/env bash
# `make run`: the provider, its onboarding worker, and around it what it needs
# on this machine: the Temporal dev server (unless TANU_TEMPORAL_ADDRESS names
# a cluster), a local SMTP server keeping mail in var/mail (unless
# TANU_SMTP_URL is set), and the demo relying party. Ctrl-C stops them all
# (the Temporal dev server keeps running: `ops/temporal-dev.sh stop`).
set -euo pipefail
cd "$(dirname "$0")/.."
tanu=${TANU_BIN:-target/debug/tanu}
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT INT TERM
node ops/demo/rp.mjs & pids+=($!)
if [ -z "${TANU_TEMPORAL_ADDRESS:-}" ]; then
  bash ops/temporal-dev.sh start
  export TANU_TEMPORAL_ADDRESS=http://127.0.0.1:7233
fi
if [ -z "${TANU_SMTP_URL:-}" ]; then
  mkdir -p var/mail/tmp var/mail/new var/mail/cur   # a maildir
  ops/vendor/venv/bin/python -m aiosmtpd -n -l 127.0.0.1:2525 -c aiosmtpd.handlers.Mailbox var/mail & pids+=($!)
  export TANU_SMTP_URL=smtp://127.0.0.1:2525
fi
export TANU_EDS_ROOTS=${TANU_EDS_ROOTS:-var/pki/ca.pem} TANU_EDS_CRLS=${TANU_EDS_CRLS:-var/pki/crl.pem}
export TANU_OPERATOR_BIN=${TANU_OPERATOR_BIN:-110140000015}
"$tanu" serve & server=$!; pids+=($server)
for _ in $(seq 1 100); do curl -fs http://127.0.0.1:8080/readyz >/dev/null 2>&1 && break; sleep 0.2; done
"$tanu" onboarding seed-demo --initiator 900101300017 --reviewer 850523400026 || echo "demo applications not seeded (is Temporal up?)"
echo "Operator console:    http://127.0.0.1:8080/console   (demo reviewer 850523400026)"
echo "Initiator portal:    http://127.0.0.1:8080/portal    (demo initiator 900101300017)"
echo "Mail:                var/mail (maildir)"
wait $server
