"""Dataset verbs: ``convert``, ``validate``, ``dedupe``, ``split`` and ``export`` (work on any dataset)."""

from __future__ import annotations

import errno
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from ftds.agents.cli_common import (
    ConfigOpt,
    JsonOpt,
    app,
    fail,
    output_path,
    settings_from,
)
from ftds.agents.exit_codes import EXIT_FATAL, EXIT_OK, EXIT_PARTIAL, EXIT_USAGE

if TYPE_CHECKING:
    from ftds.tools.dataset.operations import Unreadable

# Written out (not imported) so `--help` stays fast; tests/agents/test_cli_dataset.py checks it matches.
FORMAT_CHOICES = (
    "alpaca, sharegpt, openai, dialogue, trl, kto, cot, domain, reward, classification, pretrain, multimodal"
)

OverwriteOpt = Annotated[
    bool, typer.Option("--overwrite", help="Replace the dataset --out already holds (only the files it wrote).")
]
MapOpt = Annotated[
    list[str] | None, typer.Option("--map", help="Rename a column: TARGET=SOURCE (repeatable), e.g. output=answer.")
]


def _pairs(items: list[str] | None, what: str) -> dict[str, str]:
    result = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise fail(f"{what} {item!r} is not KEY=VALUE")
        result[key.strip()] = value.strip()
    return result


R = TypeVar("R")


def _run(func: Callable[..., R], *args: Any, **kwargs: Any) -> R:
    from ftds.tools.dataset.split import SplitError
    from ftds.tools.formats import FormatError

    try:
        return func(*args, **kwargs)
    except FileNotFoundError as exc:
        raise fail(str(exc)) from None
    except (FormatError, SplitError, ValueError) as exc:
        raise fail(str(exc)) from None
    except OSError as exc:  # a path the system refuses (too long, unreadable): say which and why
        from ftds.tools.dataset.output_path import shorten

        reason = "the path is too long" if exc.errno == errno.ENAMETOOLONG else f"cannot be read ({exc.strerror})"
        raise fail(f"{shorten(exc.filename or '')}: {reason}; check it") from None


def _bad_lines(payload: Unreadable) -> list[str]:
    """Detail lines for input lines that were not JSON (the rest of the file was used)."""
    shown = [f"{b.file + ' ' if b.file else ''}line {b.line}: {b.error}" for b in payload.unreadable]
    more = payload.unreadable_count - len(shown)
    return shown + ([f"... and {more} more unreadable line(s)"] if more > 0 else [])


def _exit(usable: bool, payload: Unreadable, partial: bool = False) -> typer.Exit:
    """0 all done, 3 when some records or lines could not be used, 1 when nothing usable came out."""
    if not usable:
        return typer.Exit(EXIT_FATAL)
    return typer.Exit(EXIT_PARTIAL if partial or payload.unreadable_count else EXIT_OK)


def _emit(payload: Unreadable, as_json: bool, line: str, details: list[str], **more: Any) -> None:
    details = _bad_lines(payload) + details
    if as_json:
        typer.echo(json.dumps({**payload.model_dump(mode="json"), **more}, ensure_ascii=False))
        return
    typer.echo(line, err=True)
    for detail in details:
        typer.echo(f"  {detail}", err=True)


@app.command()
def convert(
    input_file: Annotated[str, typer.Argument(help="JSON/JSONL/CSV/Parquet file, datasets folder or Hub id.")],
    to: Annotated[str, typer.Option("--to", "--format", help=f"Target format: {FORMAT_CHOICES}.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output JSONL file.")],
    source_format: Annotated[str, typer.Option("--from", help="Source format, or auto.")] = "auto",
    mapping: MapOpt = None,
    set_fields: Annotated[
        list[str] | None, typer.Option("--set", help="Fill a missing field: KEY=VALUE, e.g. domain=法律.")
    ] = None,
    split: Annotated[str | None, typer.Option(help="Split/slice to read, e.g. train[:1000].")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Convert a dataset between formats; records that do not fit are listed, never dropped silently."""
    from ftds.tools.dataset.operations import convert_file

    output_path(out, "file")
    payload = _run(
        convert_file, input_file, out, to, source_format, _pairs(mapping, "--map"), _pairs(set_fields, "--set"), split
    )
    details = [f"record {e.index}: {e.error}" for e in payload.errors]
    details += [f"dropped '{k}' from {v} record(s): {to} cannot hold it" for k, v in payload.dropped.items()]
    _emit(payload, as_json, f"{payload.converted} records -> {out} ({payload.source_format} -> {to})", details)
    raise _exit(bool(payload.converted), payload, partial=bool(payload.error_count))


@app.command()
def validate(
    input_file: Annotated[str, typer.Argument(help="Dataset file or datasets folder.")],
    fmt: Annotated[
        str, typer.Option("--format", "--to", help=f"Format whose rules apply: auto, {FORMAT_CHOICES}.")
    ] = "auto",
    mapping: MapOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Check every record against the trainer's rules; exit 0 only when all are valid."""
    from ftds.tools.dataset.operations import validate_file

    payload = _run(validate_file, input_file, fmt, _pairs(mapping, "--map"))
    details = [f"record {e.index}: {e.error}" for e in payload.errors]
    _emit(payload, as_json, f"{payload.valid}/{payload.total} valid ({payload.format})", details)
    if payload.error_count:  # records that break the trainer's rules: the input needs fixing
        raise typer.Exit(EXIT_USAGE)
    raise _exit(True, payload)


@app.command()
def dedupe(
    input_file: Annotated[str, typer.Argument(help="Dataset to deduplicate.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="JSONL of the kept records.")],
    methods: Annotated[str, typer.Option("--methods", help="Comma list of exact, near, semantic.")] = "exact,near",
    score_field: Annotated[str | None, typer.Option("--score", help="Field whose higher value wins.")] = None,
    store: Annotated[Path | None, typer.Option(help="chromadb folder remembering earlier runs.")] = None,
    chroma_url: Annotated[
        str | None,
        typer.Option("--chroma-url", help="Chroma server (http://HOST:PORT) remembering earlier runs, shared."),
    ] = None,
    eval_set: Annotated[str | None, typer.Option("--eval", help="Evaluation set to audit for leakage.")] = None,
    executor: Annotated[
        str, typer.Option("--executor", help="local, or ray: every dedupe method on a Ray cluster (extra: ray).")
    ] = "local",
    ray_address: Annotated[
        str | None, typer.Option("--ray-address", help="Ray cluster to use (HOST:PORT); default a local Ray.")
    ] = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Remove exact, near and semantic duplicates, keeping the best-scored record of each cluster."""
    from ftds.tools.dataset.operations import dedupe_file

    if store and chroma_url:
        raise fail("--store and --chroma-url both name where earlier runs are remembered; give one")
    settings = settings_from(config, dedupe={"chroma_url": chroma_url})
    output_path(out, "file")
    chosen = [m.strip() for m in methods.split(",") if m.strip()]
    payload = _run(dedupe_file, input_file, out, settings, chosen, score_field, store, eval_set, executor, ray_address)
    details = [f"kept {c['kept']}, removed {c['removed']} ({c['method']})" for c in payload.cluster_preview]
    if payload.eval_leaks:
        details.append(f"{payload.eval_leaks} record(s) near-duplicate the evaluation set (see report)")
    _emit(payload, as_json, f"{payload.kept}/{payload.total} kept -> {out}", details)
    raise _exit(bool(payload.kept or not payload.total), payload)


@app.command()
def split(
    input_file: Annotated[str, typer.Argument(help="Dataset to split.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for train/validation/test/full JSONL.")],
    train: Annotated[float | None, typer.Option(help="Train share.")] = None,
    validation: Annotated[float | None, typer.Option(help="Validation share.")] = None,
    test: Annotated[float | None, typer.Option(help="Test share.")] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed.")] = None,
    group_by: Annotated[str | None, typer.Option(help="Field whose equal values stay in one split.")] = None,
    strategy: Annotated[str | None, typer.Option(help="random, group, stratify or time.")] = None,
    key: Annotated[str | None, typer.Option(help="Field for group/stratify/time.")] = None,
    k_folds: Annotated[int | None, typer.Option("--k-folds", help="Write k folds instead.")] = None,
    eval_set: Annotated[str | None, typer.Option("--eval", help="Evaluation set to audit for leakage.")] = None,
    overwrite: OverwriteOpt = False,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Split into train/validation/test (+ full), then audit near-duplicate leakage across them."""
    from ftds.tools.dataset.operations import split_file

    settings = settings_from(config, split={"train": train, "validation": validation, "test": test, "seed": seed})
    if k_folds is not None and k_folds < 2:
        raise fail(f"--k-folds must be 2 or more (got {k_folds}); leave it out for a train/validation/test split")
    output_path(out, "folder")
    if group_by and not strategy:
        strategy, key = "group", group_by
    payload = _run(split_file, input_file, out, settings, strategy or "random", key, eval_set, k_folds, overwrite)
    counts = " ".join(f"{k}={v}" for k, v in payload.counts.items())
    _emit(payload, as_json, f"{counts} -> {out}", [f"note: {n}" for n in payload.notes])
    # leakage is reported (notes, leakage.json), not a failure: every record was written to a split
    raise _exit(any(payload.counts.values()), payload)


@app.command()
def export(
    input_path: Annotated[str, typer.Argument(help="A split folder (from `split`) or one dataset file.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Export folder.")],
    fmt: Annotated[str, typer.Option("--format", "--to", help=f"The records' format: {FORMAT_CHOICES}.")] = "alpaca",
    file_types: Annotated[str, typer.Option("--files", help="Comma list: jsonl,json,csv,parquet.")] = "jsonl",
    name: Annotated[str, typer.Option(help="Dataset name (dataset_info.json, card).")] = "ftds",
    license_id: Annotated[str, typer.Option("--license", help="Licence id for the card.")] = "other",
    languages: Annotated[str, typer.Option(help="Comma list of language codes.")] = "",
    openai_finetune: Annotated[bool, typer.Option("--openai-finetune", help="Also write OpenAI FT JSONL.")] = False,
    push: Annotated[str | None, typer.Option(help="Push to this Hub dataset repo (needs HF_TOKEN).")] = None,
    overwrite: OverwriteOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Write trainer-ready files, a DatasetDict, a dataset card and LLaMA-Factory's dataset_info.json."""
    from ftds.tools.dataset.export import CardInfo, push_to_hub
    from ftds.tools.dataset.operations import export_file

    output_path(out, "folder")
    card = CardInfo(name=name, license=license_id, languages=[x for x in languages.split(",") if x])
    types_ = [t.strip() for t in file_types.split(",") if t.strip()]
    payload = _run(export_file, input_path, out, fmt, types_, card, openai_finetune, overwrite)
    pushed = {}
    if push and payload.counts:
        try:
            pushed["pushed"] = push_to_hub(out, push)
        except PermissionError as exc:
            raise fail(str(exc)) from None
    details = [f"note: {n}" for n in payload.notes]
    details += [f"{split}: record {e.index}: {e.error}" for split, es in payload.invalid.items() for e in es]
    counts = " ".join(f"{k}={v}" for k, v in payload.counts.items())
    _emit(payload, as_json, f"{counts} -> {out}", details, **pushed)
    raise _exit(bool(payload.counts), payload, partial=bool(payload.invalid))
