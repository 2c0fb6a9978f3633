#!/usr/bin/env bash
# Starts a single-node Berth cluster on this machine: installs the system
# packages the node agent needs when they are missing (containerd, runc,
# CNI plugins, busybox-static for offline images; protoc to build), builds
# berth, and runs `berth up` with the embedded defaults. Extra arguments go
# to `berth up` (e.g. --data-dir DIR, --secure-port PORT). Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
need=""
[ -x /usr/lib/cni/bridge ] || need=yes
for tool in protoc containerd ctr runc busybox nft ip nsenter unshare; do
  command -v "$tool" >/dev/null 2>&1 || need=yes
done
if [ -n "$need" ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
    containerd runc containernetworking-plugins busybox-static protobuf-compiler \
    nftables iproute2 util-linux >/dev/null
fi
cargo build --release -p berth
exec "${CARGO_TARGET_DIR:-/var/tmp/berth-target}/release/berth" up "$@"
