#!/usr/bin/env bash
# Drive the ftds MCP server with the official MCP Inspector CLI (from the npm registry): list the tools and
# call one. Usage: scripts/inspector-check.sh ROOT_DIR FILE_INSIDE_ROOT
set -euo pipefail
cd "$(dirname "$0")/.."
root="${1:?usage: scripts/inspector-check.sh ROOT_DIR FILE}"
file="${2:?usage: scripts/inspector-check.sh ROOT_DIR FILE}"
dir=build/inspector
if [ ! -x "$dir/node_modules/.bin/mcp-inspector" ]; then
  mkdir -p "$dir"
  npm install --silent --no-audit --no-fund --prefix "$dir" @modelcontextprotocol/inspector@2.12.0 >&2
fi
inspector="$dir/node_modules/.bin/mcp-inspector"
server=(.venv/bin/ftds-agent serve --root "$root")
"$inspector" --cli "${server[@]}" --method tools/list
"$inspector" --cli "${server[@]}" --method tools/call --tool-name load_literature \
  --tool-arg "paths=[\"$file\"]" --tool-arg limit=1
