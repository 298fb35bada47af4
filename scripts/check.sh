#!/usr/bin/env bash
# Lint, type-check and test. Run through `make test`, which sets up .venv first.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.venv/bin
$bin/python -m ruff check .
$bin/python -m ruff format --check .
# mypy cannot follow setuptools' editable import hook, so give it the installed layout as symlinks.
mkdir -p build/typecheck/ftds
for pkg in tools agents server prompts; do ln -sfn "../../../$pkg" "build/typecheck/ftds/$pkg"; done
MYPYPATH=build/typecheck $bin/python -m mypy -p ftds
$bin/python -m pytest "$@"
