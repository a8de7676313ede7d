#!/usr/bin/env bash
# Builds the local test images: tswarm/busybox:1 from Debian's busybox-static, and
# tswarm/node:1 from this machine's node (see build_node_image).
# No registry is reachable on our machines, so every test image is made here.
set -euo pipefail

IMAGE=${TSWARM_TEST_IMAGE:-tswarm/busybox:1}
BUSYBOX=${BUSYBOX:-/bin/busybox}

NODE_IMAGE=${TSWARM_NODE_IMAGE:-tswarm/node:1}

# tswarm/node:1: this machine's node binary with the shared libraries it links, plus busybox,
# for test services busybox cannot play (a UDP server: busybox nc has no -u).
build_node_image() {
  if docker image inspect "$NODE_IMAGE" >/dev/null 2>&1 && [[ "${1:-}" != "--force" ]]; then
    echo "test image $NODE_IMAGE already present"
    return
  fi
  local bin nd
  bin=$(readlink -f "$(command -v node)") || { echo "error: node not found" >&2; exit 1; }
  nd=$(mktemp -d)
  mkdir -p "$nd/bin" "$nd/tmp"
  cp "$bin" "$nd/bin/node"
  cp "$BUSYBOX" "$nd/bin/busybox"
  ln -sf busybox "$nd/bin/sh"
  for lib in $(ldd "$bin" | grep -o '/[^ ]*'); do
    mkdir -p "$nd$(dirname "$lib")"
    cp -L "$lib" "$nd$lib"
  done
  chmod 1777 "$nd/tmp"
  tar -C "$nd" -c . | docker import -c 'ENV PATH=/bin' -c 'CMD ["/bin/node"]' - "$NODE_IMAGE" >/dev/null
  rm -rf "$nd"
  echo "built test image $NODE_IMAGE"
}

if docker image inspect "$IMAGE" >/dev/null 2>&1 && [[ "${1:-}" != "--force" ]]; then
  echo "test image $IMAGE already present"
  build_node_image "${1:-}"
  exit 0
fi
if [[ ! -x "$BUSYBOX" ]]; then
  echo "error: $BUSYBOX not found; install busybox-static (apt-get install -y busybox-static)" >&2
  exit 1
fi
if ! "$BUSYBOX" --list >/dev/null 2>&1 || ldd "$BUSYBOX" >/dev/null 2>&1; then
  echo "error: $BUSYBOX is not a static busybox; install busybox-static" >&2
  exit 1
fi

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir/bin" "$dir/tmp" "$dir/etc" "$dir/www"
cp "$BUSYBOX" "$dir/bin/busybox"
for applet in $("$BUSYBOX" --list); do
  [[ "$applet" == busybox ]] || ln -sf busybox "$dir/bin/$applet"
done
echo 'root:x:0:0:root:/root:/bin/sh' >"$dir/etc/passwd"
echo 'root:x:0:' >"$dir/etc/group"
echo 'tswarm test image' >"$dir/www/index.html"
chmod 1777 "$dir/tmp"
tar -C "$dir" -c . | docker import -c 'ENV PATH=/bin' -c 'CMD ["/bin/sh"]' - "$IMAGE" >/dev/null
echo "built test image $IMAGE"
build_node_image "${1:-}"
