"""Dataset verbs: ``convert`` and ``split``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from ftds.agents.cli_common import EXIT_FATAL, EXIT_OK, EXIT_PARTIAL, ConfigOpt, JsonOpt, app, fail, settings_from


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

    settings = settings_from(config, split={"train": train, "validation": validation, "test": test, "seed": seed})
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
