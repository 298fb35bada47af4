#!/usr/bin/env bash
# Install Debian's PostgreSQL server binaries for the studio's storage tests (idempotent). The tests start
# their own throw-away server (initdb + pg_ctl in a temp dir, on a free port); nothing is configured here.
# psycopg (the driver) comes with the `studio-pg` extra: pip install -e ".[studio-pg]".
set -euo pipefail
cd "$(dirname "$0")/.."
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends postgresql >/dev/null
fi
python="${PYTHON:-.venv/bin/python}"
if [ -x "$python" ] && ! "$python" -c 'import psycopg' 2>/dev/null; then
  "$python" -m pip install --quiet -e ".[studio-pg]"
fi
