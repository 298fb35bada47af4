#!/usr/bin/env bash
# What the test suite needs beyond .venv's packages, each installed by its own idempotent script so `make test`
# (and so CI) runs every test on a fresh machine: EvalScope's loader for the evaluation-export test, Debian's
# chromium + Playwright for the studio's browser tests, a PostgreSQL server for the studio's storage tests, Ray
# for the cluster tests (a real `ray start` head and worker).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-evalscope.sh
scripts/setup-browser.sh
scripts/setup-postgres.sh
scripts/setup-ray.sh
