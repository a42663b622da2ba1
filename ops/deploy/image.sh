#!/usr/bin/env bash
# Builds the images of ops/deploy/Containerfile: tanu:local, and
# tanu-postgres:local, tanu-temporal:local, tanu-haproxy:local,
# tanu-smtp:local for compose.yaml. `image.sh release` (the default) packs
# target/release/tanu (build it first: cargo build --release); `image.sh
# debug` packs target/debug/tanu, as the tests do. The context is staged in
# target/image so that nothing else of the checkout is sent to the engine.
# The base image is TANU_BASE_IMAGE (default debian:bookworm-slim; on a
# machine that reaches no registry, ops/setup/containers.sh makes one).
set -euo pipefail
cd "$(dirname "$0")/../.."
profile=${1:-release}
base=${TANU_BASE_IMAGE:-debian:bookworm-slim}
bin=target/$profile/tanu
[ -x "$bin" ] || { echo "image.sh: $bin not built" >&2; exit 1; }
[ -f ops/vendor/ort-dylib ] || { echo "image.sh: run make setup first (models and ONNX Runtime)" >&2; exit 1; }
ctx=target/image
rm -rf "$ctx" && mkdir -p "$ctx/onnxruntime"
# Hard links where possible: the binary and Temporal weigh hundreds of MB.
cp -l "$bin" "$ctx/tanu" 2>/dev/null || cp "$bin" "$ctx/tanu"
cp -l ops/vendor/venv/bin/temporal "$ctx/temporal" 2>/dev/null || cp ops/vendor/venv/bin/temporal "$ctx/temporal"
cp -r ops/vendor/models "$ctx/models"
cp "$(cat ops/vendor/ort-dylib)" "$ctx/onnxruntime/"
cp -r ops/calendar "$ctx/calendar"
cp ops/deploy/Containerfile ops/deploy/haproxy.cfg ops/deploy/tanu.toml ops/deploy/postgres-start.sh "$ctx/"
for target in postgres temporal haproxy smtp tanu; do
  name=tanu-$target:local
  [ "$target" = tanu ] && name=tanu:local
  if ! out=$(docker build --build-arg "BASE=$base" --target "$target" -t "$name" -f "$ctx/Containerfile" "$ctx" 2>&1); then
    echo "$out" >&2
    exit 1
  fi
  echo "image.sh: $name"
done
