#!/usr/bin/env bash
# Install what the studio's browser tests drive (idempotent): Debian's chromium + chromium-driver, and the
# playwright Python package (the `studio-test` extra). Playwright drives /usr/bin/chromium through
# executable_path, so no browser is downloaded by `playwright install`.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x /usr/bin/chromium ] || ! command -v chromedriver >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends chromium chromium-driver fonts-noto-cjk >/dev/null
fi
python="${PYTHON:-.venv/bin/python}"
if [ -x "$python" ] && ! "$python" -c 'import playwright' 2>/dev/null; then
  "$python" -m pip install --quiet -e ".[studio-test]"
fi
