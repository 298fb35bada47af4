#!/usr/bin/env bash
# EvalScope's own dataset loader, for the test that reads ftds' evaluation exports with it
# (tests/tools/test_evaluation_exports.py). Idempotent.
#
# `pip install evalscope` into .venv would downgrade datasets (5.x -> 4.8) and move huggingface_hub and fsspec
# (checked with `pip install --dry-run --report`), so EvalScope is NOT installed into the venv. Its code, plus
# the five small pure-Python/wheel libraries its loader and general_mcq/general_qa adapters import, go into a
# separate folder with --no-deps; the test puts that folder on sys.path in a subprocess.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${FTDS_EVALSCOPE_LOADER:-build/evalscope-loader}"
if [ -f "$target/evalscope/benchmarks/general_mcq/general_mcq_adapter.py" ] && [ -d "$target/editdistance" ]; then
  exit 0
fi
python="${PYTHON:-.venv/bin/python}"
PIP_DISABLE_PIP_VERSION_CHECK=1 "$python" -m pip install --quiet --no-deps --target "$target" \
  evalscope==1.14.1 jsonlines==4.0.0 filetype==1.2.0 colorlog==6.12.0 docstring_parser==0.18.0 editdistance==0.8.1
