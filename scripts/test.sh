#!/usr/bin/env bash
# The whole test suite from a fresh machine: a Docker engine and the test image
# (scripts/docker-up.sh), systemd-analyze and vagrant, dependencies, build, then every tier
# (unit, sim, integration, lab).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/docker-up.sh
# The lab tier checks the shipped unit and Vagrantfile with their own tools.
need=()
command -v systemd-analyze >/dev/null || need+=(systemd)
command -v vagrant >/dev/null || need+=(vagrant)
if ((${#need[@]})); then
  echo "installing ${need[*]} (apt)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need[@]}" >/dev/null ||
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need[@]}" >/dev/null; }
fi
if [[ ! -d node_modules ]] || [[ package-lock.json -nt node_modules/.package-lock.json ]]; then
  npm ci --no-audit --no-fund
fi
npm test
