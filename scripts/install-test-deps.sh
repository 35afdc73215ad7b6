#!/usr/bin/env bash
# System packages the test suite needs on Debian/Ubuntu (run as root, or it uses sudo).
# Node 20 and npm are assumed; everything else comes from npm (see package.json).
set -euo pipefail
packages=(
  postgresql-client   # psql: `clawbase psql` is tested against the embedded PostgreSQL 17
  nginx-light         # the edge: the real nginx runs the rendered templates on loopback ports
  openssl             # scripts/make-self-signed-cert.sh makes the edge tests' certificate
  docker-compose      # `docker-compose config` validates docker-compose.yml (no daemon needed)
  chromium            # Conductor's browser tests drive Debian's Chromium through playwright-core
  restic              # workspace snapshots: encrypted, deduplicated, checkable (backups)
  git                 # the maintenance sweep commits the workspace
)
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-test-deps: all present (${packages[*]})"
  exit 0
fi
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "install-test-deps: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
