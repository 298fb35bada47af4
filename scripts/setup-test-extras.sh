#!/usr/bin/env bash
# What the test suite needs beyond .venv's packages, each installed by its own idempotent script so `make test`
# (and so CI) runs every test on a fresh machine: EvalScope's loader for the evaluation-export test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-evalscope.sh
