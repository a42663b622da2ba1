#!/usr/bin/env bash
# The container engine and the base image for ops/deploy (issue 16), from
# Debian's packages alone: docker.io (dockerd, containerd, runc) and
# docker-compose 1.29; the daemon started when it is not running (no systemd
# here); the base image made with debootstrap from Debian's archive, because
# no image registry is reachable from this machine. Where one is, skip this:
# the Containerfiles take `debian:bookworm-slim` by default (TANU_BASE_IMAGE).
# Idempotent: each step checks before it acts.
set -euo pipefail
log() { printf '\033[1msetup:\033[0m %s\n' "$*"; }
base=${TANU_BASE_IMAGE:-tanu-base:bookworm}

need=()
for pkg in docker.io docker-compose debootstrap; do dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg"); done
if [ ${#need[@]} -gt 0 ]; then
  log "apt-get install ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

if ! docker info >/dev/null 2>&1; then
  log "starting dockerd (log: /var/log/tanu-dockerd.log)"
  nohup dockerd --log-level=warn >/var/log/tanu-dockerd.log 2>&1 &
  for _ in $(seq 100); do docker info >/dev/null 2>&1 && break; sleep 0.2; done
  docker info >/dev/null 2>&1 || { echo "setup: dockerd did not start (see /var/log/tanu-dockerd.log)" >&2; exit 1; }
fi

if ! docker image inspect "$base" >/dev/null 2>&1; then
  log "base image $base: debootstrap bookworm (minbase; a few minutes)"
  rootfs=$(mktemp -d)
  trap 'rm -rf "$rootfs"' EXIT
  debootstrap --variant=minbase bookworm "$rootfs" http://deb.debian.org/debian >/dev/null
  cat >"$rootfs/etc/apt/sources.list" <<'LIST'
deb http://deb.debian.org/debian bookworm main
deb http://deb.debian.org/debian bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
LIST
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/lib/apt/lists/*
  tar -C "$rootfs" -c . | docker import -c 'CMD ["bash"]' - "$base" >/dev/null
fi
