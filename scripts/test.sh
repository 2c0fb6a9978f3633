#!/usr/bin/env bash
# Runs every check and test of Berth: formatting, lints, unit, integration
# and end-to-end tests (the latter drive the real kubectl against the real
# berth binary).
set -euo pipefail
cd "$(dirname "$0")/.."

# kubectl 1.32 comes with every machine of this kind (Debian's package is 1.20: too old).
if ! kubectl version --client 2>/dev/null | grep -q 'v1\.3[2-9]'; then
  echo "scripts/test.sh: the end-to-end tests need kubectl v1.32 or later on PATH" >&2
  exit 1
fi

# System packages: protoc builds the CRI bindings; containerd, runc, CNI
# plugins and busybox-static run the node agent's end-to-end tests.
need=""
for tool in protoc containerd ctr runc busybox nft ip nsenter unshare; do
  command -v "$tool" >/dev/null 2>&1 || need=yes
done
[ -x /usr/lib/cni/bridge ] || need=yes
if [ -n "$need" ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
    containerd runc containernetworking-plugins busybox-static protobuf-compiler \
    nftables iproute2 util-linux >/dev/null
fi

# The Python client and helm for their end-to-end tests.
HELM=$(./scripts/test-tools.sh)
export HELM

# A CI checkout is built once: incremental caches would only cost disk
# (tens of GB across the test binaries).
if [ "${CI:-}" = "true" ]; then
  export CARGO_INCREMENTAL=0
fi

cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
cargo test --workspace --no-fail-fast 2>&1 | tee /tmp/berth-test.log
