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

# Demo citizens in the embedded person registry (var/registry), their document
# photos taken from the shared test data (../shared/data/faces-dev). Add
# yourself with: target/debug/tanu registry add --iin … --name … --photo selfie.jpg
faces=../shared/data/faces-dev
if [ -d "$faces" ]; then
  while read -r iin photo name; do
    [ -f "var/registry/$iin.json" ] || "$tanu" registry add --iin "$iin" --name "$name" --photo "$faces/$photo" >/dev/null
  done <<'LIST'
900101300017 img1.jpg Demo citizen one
850523400026 img20.jpg Demo citizen two
921112500036 img16.jpg Demo citizen three
LIST
  echo "demo citizens: $(ls var/registry/*.json 2>/dev/null | wc -l) in var/registry"
fi
