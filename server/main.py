"""``ftds-agent serve`` (also ``python -m ftds.server``): start the MCP server.

MCP clients start their server for every chat session and wait for ``initialize`` before the user can do
anything, so this path imports as little as it can: its options are parsed with argparse (the typer/rich
command line and its other verbs are never imported) and every heavy library (torch, chromadb, the LLM,
httpx, ``datasets``) is imported by the tool that needs it, on its first call.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
from pathlib import Path

from ftds.agents.exit_codes import EXIT_USAGE


def build_parser(prog: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Start the ftds MCP server (stdio for desktop clients, http for remote ones).",
    )
    parser.add_argument("--transport", choices=("stdio", "http"), default="stdio", help="default: stdio")
    parser.add_argument("--host", help="HTTP bind address (default: server.host, loopback; others need a token).")
    parser.add_argument("--port", type=int, help="HTTP port (default: server.port).")
    parser.add_argument(
        "--root",
        dest="roots",
        action="append",
        type=Path,
        metavar="DIR",
        help="Folder the tools may read and write; repeatable (default: the working directory, refused when "
        "it is / or your home folder; dot-folders such as .ssh are never served unless named here).",
    )
    parser.add_argument("--config", type=Path, help="Config file (TOML).")
    return parser


def main(argv: list[str] | None = None, prog: str = "ftds-agent serve") -> int:
    options = build_parser(prog).parse_args(argv)
    # Pydantic discovers plugins by scanning every installed package's entry points when the first model is
    # built (~60 ms here); ftds uses none. A user who wants theirs sets PYDANTIC_DISABLE_PLUGINS (even empty).
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    # Start-up allocates a few hundred thousand objects (the mcp package's and our pydantic models) that live
    # as long as the server; the cyclic GC would scan them again and again while they are created (~10 % of
    # start-up CPU here). Collect nothing until the server is built, then freeze them out of later collections.
    gc.disable()
    try:
        from ftds.server.app import create_server, run_server
        from ftds.tools.config import load_settings
        from ftds.tools.redact import redact_text

        roots = [str(root) for root in options.roots] if options.roots else None
        try:
            settings = load_settings(
                options.config, server={"host": options.host, "port": options.port, "roots": roots}
            )
            server = create_server(settings)
        except (FileNotFoundError, ValueError) as exc:  # UnsafeDefaultRoot is a ValueError
            print(f"error: {redact_text(str(exc))}", file=sys.stderr)
            return EXIT_USAGE
    finally:
        gc.freeze()
        gc.enable()
    run_server(server, settings, options.transport)
    return 0
