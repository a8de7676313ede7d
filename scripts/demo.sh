#!/usr/bin/env bash
# The README's first command: on a fresh machine, brings up the local HA lab (three nodes,
# each a systemd container with its own Docker engine running tswarmd.service, all managers)
# with a demo web service published on 8080, and shows `node ls` and `service ps`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/docker-up.sh
if [[ ! -d node_modules ]] || [[ package-lock.json -nt node_modules/.package-lock.json ]]; then
  npm ci --no-audit --no-fund
fi
npm run build --silent
exec bash scripts/lab up "$@"
