#!/usr/bin/env bash
# Installs what Tanu needs on a fresh machine, idempotently: every step checks
# before it acts, so running it again costs seconds. Called by `make run` and
# `make test`; nothing is installed by hand.
set -euo pipefail
cd "$(dirname "$0")/../.."
here=$(pwd)
log() { printf '\033[1msetup:\033[0m %s\n' "$*"; }

# Rust toolchain: the machine's (rustup); we only check it is there.
command -v cargo >/dev/null || { echo "setup: cargo not found (install Rust with rustup)" >&2; exit 1; }

# Debian packages the tests and the demo need.
need_apt=()
for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg"); done
command -v node >/dev/null || need_apt+=(nodejs npm)
command -v psql >/dev/null || need_apt+=(postgresql-client)
# ffmpeg: video files to frames (tanu biometrics liveness --video, the browser's fake camera).
command -v ffmpeg >/dev/null || need_apt+=(ffmpeg)
# HAProxy: the load balancer of the multi-instance test (ops/deploy/haproxy.cfg).
command -v haproxy >/dev/null || need_apt+=(haproxy)
# systemd-analyze checks ops/deploy/*.service (idp/tests/cli.rs).
command -v systemd-analyze >/dev/null || need_apt+=(systemd)
# OpenSSL headers: EDS verification (workflows/src/eds.rs) links the system OpenSSL.
dpkg -s libssl-dev >/dev/null 2>&1 || need_apt+=(libssl-dev pkg-config)
# Chromium and its driver: the browser tests (playwright-core drives /usr/bin/chromium).
[ -x /usr/bin/chromium ] || need_apt+=(chromium chromium-driver)
if [ ${#need_apt[@]} -gt 0 ]; then
  log "apt-get install ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

# Python tools (interop relying party, Temporal dev server): one venv, pinned.
venv=ops/vendor/venv
reqs=tests/interop/python/requirements.txt
stamp="$venv/.requirements.sha256"
shopt -s nullglob
extra_reqs=(ops/setup/requirements-*.txt)
want=$(cat "$reqs" "${extra_reqs[@]}" | sha256sum | cut -d' ' -f1)
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  log "python venv ($venv)"
  python3 -m venv "$venv"
  args=(-r "$reqs")
  for f in "${extra_reqs[@]}"; do args+=(-r "$f"); done
  "$venv/bin/pip" install -q --disable-pip-version-check "${args[@]}"
  echo "$want" > "$stamp"
fi

# Node relying party (openid-client v6), from its lock file.
if [ ! -d tests/interop/node/node_modules/openid-client ]; then
  log "npm ci (tests/interop/node)"
  (cd tests/interop/node && npm ci --no-audit --no-fund --silent)
fi

# The demo relying party of `make run` (openid-client, pinned by its lock file).
if [ ! -d ops/demo/node_modules/openid-client ]; then
  log "npm ci (ops/demo)"
  (cd ops/demo && npm ci --no-audit --no-fund --silent)
fi

# Browser test driver (playwright-core, pinned by its lock file; it uses Debian's Chromium).
if [ ! -d tests/browser/node_modules/playwright-core ]; then
  log "npm ci (tests/browser)"
  (cd tests/browser && npm ci --no-audit --no-fund --silent)
fi

# PostgreSQL: the machine runs one at 127.0.0.1:5432; start it if it stopped.
if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  if command -v pg_ctlcluster >/dev/null && ls /etc/postgresql >/dev/null 2>&1; then
    log "starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
  fi
fi

# Further component setups (models, Temporal, browser) add themselves here.
for step in ops/setup/models.sh; do
  if [ -x "$step" ]; then "$step"; fi
done
log "ready ($here)"
