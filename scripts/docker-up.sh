#!/usr/bin/env bash
# Idempotent: makes sure a Docker engine answers on this machine and the test image exists.
# Installs docker.io, busybox-static, iproute2 and iptables with apt when missing,
# starts dockerd when none answers (there is no systemd as PID 1 on our CI machines),
# waits until `docker info` works, then imports the test image.
set -euo pipefail

need=()
command -v dockerd >/dev/null 2>&1 || need+=(docker.io)
[[ -x /bin/busybox ]] && ! ldd /bin/busybox >/dev/null 2>&1 || need+=(busybox-static)
command -v ip >/dev/null 2>&1 || need+=(iproute2)
command -v iptables >/dev/null 2>&1 || need+=(iptables)
if ((${#need[@]})); then
  echo "installing ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

if ! timeout 10 docker info >/dev/null 2>&1; then
  if pidof systemd >/dev/null 2>&1 && [[ "$(ps -o comm= -p 1)" == systemd ]]; then
    systemctl start docker
  else
    echo "starting dockerd (log: /var/log/dockerd.log)"
    nohup dockerd >/var/log/dockerd.log 2>&1 &
  fi
  for _ in $(seq 1 120); do
    timeout 10 docker info >/dev/null 2>&1 && break
    sleep 0.5
  done
  if ! timeout 10 docker info >/dev/null 2>&1; then
    echo "error: dockerd did not answer within 60 s; see /var/log/dockerd.log" >&2
    tail -20 /var/log/dockerd.log >&2 || true
    exit 1
  fi
fi
echo "docker engine $(docker version --format '{{.Server.Version}}') is up"

"$(dirname "$0")/test-image.sh"
