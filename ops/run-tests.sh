#!/usr/bin/env bash
# Every test, on SQLite then PostgreSQL, with one total line at the end.
set -uo pipefail
cd "$(dirname "$0")/.."
log=$(mktemp)
status=0
run() { echo "+ $*"; "$@" 2>&1 | tee -a "$log"; [ "${PIPESTATUS[0]}" -eq 0 ] || status=1; }
run env TANU_TEST_DATABASE=sqlite cargo test --workspace --no-fail-fast
run env TANU_TEST_DATABASE=postgres cargo test -p tanu-tests --no-fail-fast
read -r passed failed < <(awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($i ~ /^passed/) p += $(i-1); if ($i ~ /^failed/) f += $(i-1) } } END { print p+0, f+0 }' "$log")
rm -f "$log"
echo
echo "tests: $passed passed, $failed failed"
exit $status
