#!/usr/bin/env bash
# Demo data for `make run`, idempotent: a sandbox relying party whose
# credentials are kept in var/demo-client.json.
set -euo pipefail
cd "$(dirname "$0")/../.."
tanu=${TANU_BIN:-target/debug/tanu}
mkdir -p var
if [ ! -s var/demo-client.json ] || ! "$tanu" clients show "$(sed -n 's/.*"client_id":"\([^"]*\)".*/\1/p' var/demo-client.json)" >/dev/null 2>&1; then
  "$tanu" clients add --name "Demo relying party" --organisation "Tanu demo" --system-name "Demo portal" \
    --redirect-uri http://127.0.0.1:8081/callback --post-logout-redirect-uri http://127.0.0.1:8081/ \
    --env sandbox --json > var/demo-client.json
fi
cat var/demo-client.json
