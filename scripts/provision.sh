#!/usr/bin/env bash
# Provisions one tswarm node (a Vagrant VM or a container-lab node): Docker, Node.js,
# tswarm under /opt/tswarm, and tswarmd.service enabled and started.
#   provision.sh [--src DIR] [--no-start]
# DIR is a checkout of tswarm (default: the directory above this script). Idempotent.
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
start=1
copy_modules=0
while (($#)); do
  case $1 in
    --src) src=$2; shift 2 ;;
    --no-start) start=0; shift ;;
    --copy-modules) copy_modules=1; shift ;;
    *) echo "provision.sh: unknown argument $1" >&2; exit 64 ;;
  esac
done

export DEBIAN_FRONTEND=noninteractive
need=()
command -v dockerd >/dev/null 2>&1 || need+=(docker.io)
command -v ip >/dev/null 2>&1 || need+=(iproute2)
command -v iptables >/dev/null 2>&1 || need+=(iptables)
command -v rsync >/dev/null 2>&1 || need+=(rsync)
if ((${#need[@]})); then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
node_major() { command -v node >/dev/null 2>&1 && node -p 'process.versions.node.split(".")[0]' || echo 0; }
if (($(node_major) < 20)); then
  # Debian bookworm ships Node 18: take the official Node 20 build (VMs reach nodejs.org).
  arch=$(uname -m); case $arch in x86_64) arch=x64 ;; aarch64) arch=arm64 ;; esac
  ver=${TSWARM_NODE_VERSION:-v20.18.1}
  apt-get install -y -qq --no-install-recommends curl ca-certificates xz-utils >/dev/null
  curl -fsSL "https://nodejs.org/dist/$ver/node-$ver-linux-$arch.tar.xz" | tar -xJ -C /usr/local --strip-components=1
  hash -r
fi
if (($(node_major) < 20)); then
  echo "provision.sh: Node.js >= 20 is required (found $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi

# tswarmd.service starts /usr/bin/node.
[[ -x /usr/bin/node ]] || ln -sf "$(command -v node)" /usr/bin/node

mkdir -p /opt/tswarm
if ((copy_modules)) && [[ -d "$src/node_modules" ]]; then
  # Lab nodes: same machine architecture as the host, so its installed modules are reused.
  rsync -a --delete --exclude .git --exclude .lab "$src"/ /opt/tswarm/
else
  rsync -a --delete --exclude .git --exclude node_modules --exclude .lab "$src"/ /opt/tswarm/
fi
cd /opt/tswarm
if ((copy_modules == 0)) && { [[ ! -d node_modules ]] || [[ package-lock.json -nt node_modules/.package-lock.json ]]; }; then
  npm ci --no-audit --no-fund --omit=dev >/dev/null 2>&1 || npm ci --no-audit --no-fund >/dev/null
fi
if [[ ! -f build/src/daemon/bin.js ]]; then
  # A source checkout without a build: build it here (needs the dev dependencies).
  npm ci --no-audit --no-fund >/dev/null
  npm run build --silent
fi
ln -sf /opt/tswarm/bin/tswarm.js /usr/local/bin/tswarm
ln -sf /opt/tswarm/bin/tswarmd.js /usr/local/bin/tswarmd

install -m 0644 /opt/tswarm/scripts/systemd/tswarmd.service /etc/systemd/system/tswarmd.service
[[ -f /etc/default/tswarmd ]] || echo 'TSWARMD_OPTS=' >/etc/default/tswarmd
if [[ -d /run/systemd/system ]]; then
  systemctl daemon-reload
  systemctl enable docker.service tswarmd.service >/dev/null 2>&1
  if ((start)); then
    systemctl start docker.service
    systemctl restart tswarmd.service
    # A loaded machine may take a while to start Node and load the daemon.
    for _ in $(seq 1 300); do
      tswarm info >/dev/null 2>&1 && break
      sleep 0.2
    done
    tswarm info >/dev/null
  fi
fi
echo "provisioned tswarm on $(hostname)"
