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

# Demo citizens, their document photos taken from the repository's test data
# (tests/data/faces-dev), in both registries: the embedded person registry
# (var/registry), which the portal, console and cabinet (production) read,
# and the sandbox's test registry (var/sandbox-registry), the only one the
# demo relying party (a sandbox client) can sign anyone in from. Add yourself
# to the demo relying party with:
#   target/debug/tanu registry add --sandbox --iin … --name … --photo selfie.jpg
faces=tests/data/faces-dev
if [ -d "$faces" ]; then
  while read -r iin photo name; do
    [ -f "var/registry/$iin.json" ] || "$tanu" registry add --iin "$iin" --name "$name" --photo "$faces/$photo" >/dev/null
    [ -f "var/sandbox-registry/$iin.json" ] || "$tanu" registry add --sandbox --iin "$iin" --name "$name" --photo "$faces/$photo" >/dev/null
  done <<'LIST'
900101300017 img1.jpg Demo citizen one
850523400026 img20.jpg Demo citizen two
921112500036 img16.jpg Demo citizen three
LIST
  echo "demo citizens: $(ls var/registry/*.json 2>/dev/null | wc -l) in var/registry, $(ls var/sandbox-registry/*.json 2>/dev/null | wc -l) test persons in var/sandbox-registry"
fi

# The connection procedure (Rules chapter 3): demo citizen one acts for the
# demo organisations, two is an operator reviewer, three a supervisor; their
# EDS certificates (and a demo CA and CRL, the console's trust) in var/pki,
# made with ops/demo/pki.sh. Sign an act with:
#   ops/demo/pki.sh var/pki sign initiator act-….txt   → act-….txt.p7s
bash ops/demo/pki.sh var/pki init
[ -f var/pki/initiator.pem ] || bash ops/demo/pki.sh var/pki person initiator 900101300017 010140000143
[ -f var/pki/reviewer.pem ] || bash ops/demo/pki.sh var/pki person reviewer 850523400026 110140000015
"$tanu" onboarding staff-add --iin 850523400026 --name "Demo reviewer" --email reviewer@operator.demo.kz --role reviewer --lang ru >/dev/null
"$tanu" onboarding staff-add --iin 921112500036 --name "Demo supervisor" --email supervisor@operator.demo.kz --role supervisor --lang en >/dev/null
echo "demo staff: reviewer 850523400026, supervisor 921112500036; EDS test certificates in var/pki"
