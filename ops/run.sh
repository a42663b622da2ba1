#!/usr/bin/env bash
# `make run`: the provider and the demo relying party together; stopping one
# (Ctrl-C) stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
tanu=${TANU_BIN:-target/debug/tanu}
node ops/demo/rp.mjs &
rp=$!
trap 'kill $rp 2>/dev/null || true' EXIT INT TERM
"$tanu" serve
