#!/usr/bin/env bash
# Create .venv and install ftds with the given extras (idempotent: a stamp skips a repeated install).
# Usage: scripts/setup.sh EXTRAS     e.g. scripts/setup.sh embedded,model-qwen-1_5b
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:?usage: scripts/setup.sh EXTRAS}"
python="${PYTHON:-python3}"
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "ftds needs Python >= 3.11; set PYTHON=/path/to/python3.11" >&2
  exit 2
fi
[ -x .venv/bin/python ] || "$python" -m venv .venv
stamp=".venv/.ftds-$(cat pyproject.toml scripts/constraints.txt | sha256sum | cut -c1-16)-${extras//,/_}"
if [ -f "$stamp" ]; then
  exit 0
fi
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_CONSTRAINT="$PWD/scripts/constraints.txt"
export CMAKE_BUILD_PARALLEL_LEVEL="$(nproc 2>/dev/null || echo 2)"
echo "setting up .venv with [$extras] (the first install compiles llama-cpp-python: ~7 min on 2 cores)" >&2
.venv/bin/python -m pip install --quiet --upgrade pip setuptools wheel
# CPU torch first, so sentence-transformers finds it satisfied and never pulls a CUDA build.
.venv/bin/python -m pip install --quiet torch==2.13.0
.venv/bin/python -m pip install --quiet -e ".[$extras]"
# LLaMA-Factory's own dataset converter is the test oracle for exports; its package pins torch/transformers
# versions we do not use, so only its code is installed (tests load data/parser.py + converter.py alone).
.venv/bin/python -m pip install --quiet --no-deps llamafactory==0.9.5
rm -f .venv/.ftds-*-"${extras//,/_}"
touch "$stamp"
