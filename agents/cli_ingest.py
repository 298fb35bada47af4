"""``ftds-agent ingest``: load and chunk literature."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from ftds.agents.cli_common import EXIT_FATAL, EXIT_OK, EXIT_PARTIAL, ConfigOpt, JsonOpt, app, settings_from


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

    settings = settings_from(config, build={"domain": domain})
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
