"""``python -m ftds.server``: the MCP server, for clients configured with a Python interpreter's path."""

import sys

from ftds.server.main import main

sys.exit(main(prog="python -m ftds.server"))
