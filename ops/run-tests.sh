#!/usr/bin/env bash
# Every test, on SQLite then PostgreSQL, with one total line at the end.
set -uo pipefail
cd "$(dirname "$0")/.."
log=$(mktemp)
status=0
run() { echo "+ $*"; "$@" 2>&1 | tee -a "$log"; [ "${PIPESTATUS[0]}" -eq 0 ] || status=1; }
# The container engine and base image for tests/tests/containers.rs (the
# deployment files of ops/deploy); idempotent, minutes only the first time.
run bash ops/setup/containers.sh
# Formatting first (rustfmt.toml at the root; seconds): an unformatted tree fails the run.
run cargo fmt --all --check
# Lints next (clippy.toml; about 2 min over the build's dependencies): a
# warning fails the run. The library crates deny unwrap/expect outside tests.
run cargo clippy --workspace --all-targets -- -D warnings
run env TANU_TEST_DATABASE=sqlite cargo test --workspace --no-fail-fast
# The end-to-end suites again on PostgreSQL: their binaries from the build
# above, run as cargo runs them (from the package's directory). `cargo test
# -p tanu-tests` would resolve another feature set and recompile for minutes.
suites=$(cargo test --workspace --no-run --message-format=json 2>/dev/null | python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["kind"] == ["test"] \
            and m["manifest_path"].endswith("/tests/Cargo.toml"):
        print(m["executable"])')
[ -n "$suites" ] || { echo "no end-to-end suites found" >&2; status=1; }
for suite in $suites; do
  run env TANU_TEST_DATABASE=postgres bash -c 'cd tests && exec "$0"' "$suite"
done
read -r passed failed < <(awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($i ~ /^passed/) p += $(i-1); if ($i ~ /^failed/) f += $(i-1) } } END { print p+0, f+0 }' "$log")
rm -f "$log"
echo
echo "tests: $passed passed, $failed failed"
exit $status
