#!/usr/bin/env bash
# Install the optional Ray extra into .venv (idempotent): `ftds-agent dedupe --executor ray` and the
# `cluster` tests that start a real `ray start` head + worker on this machine need it.
# ray[data] is a ~240 MB wheel (about 25 s to install on the 2-core dev machine). Run after scripts/setup.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
if .venv/bin/python -c 'import ray, ray.data' 2>/dev/null; then
  exit 0
fi
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_CONSTRAINT="$PWD/scripts/constraints.txt"
.venv/bin/python -m pip install --quiet "ray[data]>=2.50,<3"
