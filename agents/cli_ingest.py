"""``ftds-agent ingest``: load and chunk literature."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from ftds.agents.cli_common import (
    ConfigOpt,
    JsonOpt,
    app,
    check_inputs,
    fail,
    output_path,
    settings_from,
)
from ftds.agents.exit_codes import EXIT_FATAL, EXIT_OK, EXIT_PARTIAL
from ftds.agents.progress import StepProgress
from ftds.tools.config import ChunkStrategy
from ftds.tools.records import FileReport
from ftds.tools.text_safety import printable


class FileProgress(StepProgress):
    """Ingest progress: a step per file, and a line of its own for a file that was not loaded."""

    def __init__(self, quiet: bool) -> None:
        super().__init__("file", quiet)

    def file_done(self, done: int, total: int, report: FileReport) -> None:
        source, problem = printable(report.source), report.status != "loaded"
        if self.live:
            note = f"[yellow]{report.status}[/] {escape(source)}: {escape(printable(report.reason))}" if problem else ""
            self(done, total, source, note)
        else:
            self(done, total, f"{report.status} {source}", printable(report.reason) if problem else "")


@app.command()
def ingest(
    inputs: Annotated[list[Path], typer.Argument(help="Files or folders of literature.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="JSONL file for the chunks.")] = Path("out/chunks.jsonl"),
    domain: Annotated[str | None, typer.Option(help="Domain (law picks article-aware chunking).")] = None,
    strategy: Annotated[
        ChunkStrategy | None,
        typer.Option(help="Chunking: auto, legal, heading, recursive, token, fixed (default from config)."),
    ] = None,
    max_chars: Annotated[int | None, typer.Option(help="Largest chunk in characters.")] = None,
    overlap: Annotated[int | None, typer.Option(help="Characters repeated from the previous chunk.")] = None,
    text_field: Annotated[
        str | None, typer.Option(help="CSV/XLSX column or JSON field with each record's text (default: all).")
    ] = None,
    max_file_mb: Annotated[float | None, typer.Option(help="Refuse files larger than this.")] = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Load and chunk literature; every file is listed as loaded, skipped or failed."""
    from ftds.tools.dataset.files import write_jsonl
    from ftds.tools.ingest import load_literature

    settings = settings_from(
        config,
        build={"domain": domain},
        chunking={"strategy": strategy, "max_chars": max_chars, "overlap_chars": overlap},
        ingest={"text_field": text_field, "max_file_mb": max_file_mb},
    )
    check_inputs(inputs)
    output_path(out, "file")
    with FileProgress(quiet=as_json) as progress:
        try:
            result = load_literature(
                inputs,
                settings.chunking,
                domain=settings.build.domain,
                ingest=settings.ingest,
                progress=progress.file_done,
            )
        except ValueError as exc:
            raise fail(str(exc)) from None
    write_jsonl(out, (c.model_dump(mode="json") for c in result.chunks))
    files = [f.model_dump() for f in result.files]
    if as_json:
        typer.echo(json.dumps({"out": str(out), "chunks": len(result.chunks), "files": files}, ensure_ascii=False))
    else:
        for f in result.files:
            typer.echo(f"{f.status:8} {printable(f.source)}  {printable(f.reason) or f'{f.chunks} chunks'}", err=True)
        typer.echo(f"{len(result.chunks)} chunks -> {out}", err=True)
    if not result.chunks:
        raise typer.Exit(EXIT_FATAL)
    partial = result.failed or any(f.partial for f in result.files)  # a bad JSONL line counts as partial
    raise typer.Exit(EXIT_PARTIAL if partial else EXIT_OK)
