"""The ``ftds-agent`` executable.

``serve`` is dispatched before the typer command line is imported: MCP clients start the server for every
session, and the CLI's other verbs would add their imports (~0.1 s) to every start. Everything else goes
to ``ftds.agents.cli``.
"""

from __future__ import annotations

import sys


def main() -> None:
    if sys.argv[1:2] == ["serve"]:
        from ftds.server.main import main as serve_main

        sys.exit(serve_main(sys.argv[2:]))
    from ftds.agents.cli import main as cli_main

    cli_main()
