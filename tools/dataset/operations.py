"""File-in, file-out dataset operations shared by the CLI verbs and the MCP tools.

Each returns a small pydantic summary (the MCP tools' structured output); large details (every cluster,
every invalid record) go to a report file next to the output so an MCP client is never sent megabytes.
``split`` and ``export`` write a folder: one that already holds a dataset is refused unless ``overwrite``,
and then the old dataset's files are removed first (:class:`~ftds.tools.dataset.files.DatasetFolder`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from ftds.tools.config import Settings
from ftds.tools.dataset.dedupe import dedupe_records
from ftds.tools.dataset.export import CardInfo, export_dataset
from ftds.tools.dataset.files import (
    FILE_TYPES,
    DatasetFolder,
    check_output_folder,
    write_json,
    write_jsonl,
    write_records,
)
from ftds.tools.dataset.leakage import audit_leakage
from ftds.tools.dataset.split import split_records
from ftds.tools.formats import FORMATS, convert_records, read_dataset, validate_records
from ftds.tools.formats.io import BadLines

PREVIEW = 20  # errors / clusters included in a summary; the rest are in the report file


class RecordError(BaseModel):
    index: int
    error: str


class UnreadableLine(BaseModel):
    """A JSONL line that is not JSON: the file's other records were used, this one is named."""

    line: int = Field(description="1-based line number in the file.")
    error: str
    file: str | None = Field(default=None, description="Which split file, when a folder was read.")


class Unreadable(BaseModel):
    """Input lines that could not be read at all (the rest of the input was used): every result names them."""

    unreadable_count: int = Field(default=0, description="Input lines that are not JSON (the rest was used).")
    unreadable: list[UnreadableLine] = Field(default_factory=list, description="First 20 of those lines.")


class ConvertResult(Unreadable):
    out: str
    report: str = Field(description="JSON file with every error and dropped field.")
    read: int
    converted: int
    source_format: str
    target_format: str
    dropped: dict[str, int] = Field(default_factory=dict, description="Field -> records that lost it.")
    error_count: int
    errors: list[RecordError] = Field(description="Records that could not be converted (first 20).")


class ValidateResult(Unreadable):
    format: str
    total: int
    valid: int
    ok: bool = Field(description="True when every record is valid.")
    error_count: int
    errors: list[RecordError] = Field(description="First 20 invalid records.")


class DedupeResult(Unreadable):
    out: str
    report: str = Field(default="", description="JSON file with every cluster (and eval leaks).")
    total: int
    kept: int
    removed: int
    methods: list[str]
    clusters: int
    cluster_preview: list[dict[str, Any]] = Field(description="First 20 clusters: kept index, removed indices.")
    eval_leaks: int | None = None
    store: str | None = Field(
        default=None, description="chromadb folder or Chroma server URL remembering survivors (semantic)."
    )
    executor: str = Field(default="local", description="Where duplicates were found: local or ray.")


class SplitResult(Unreadable):
    counts: dict[str, int]
    files: dict[str, str]
    grouped_by: str
    notes: list[str]
    leakage: dict[str, int] = Field(default_factory=dict, description="Near-duplicate pairs per split pair.")


class ExportResult(Unreadable):
    out_dir: str
    counts: dict[str, int]
    files: dict[str, str]
    notes: list[str]
    invalid: dict[str, list[RecordError]] = Field(description="Per split, invalid records (split not written).")


def _version() -> str:
    try:
        return version("ftds-agent")
    except PackageNotFoundError:
        return "unknown"


def _errors(errors: Sequence[tuple[int, str]]) -> list[RecordError]:
    return [RecordError(index=i, error=e) for i, e in errors]


def _unreadable(bad_lines: BadLines) -> dict[str, Any]:
    """The result fields naming input lines that were not JSON (the rest of the file was used)."""
    return {"unreadable_count": len(bad_lines), "unreadable": bad_lines[:PREVIEW]}


def convert_file(
    source: str,
    out: Path,
    to: str,
    source_format: str = "auto",
    mapping: Mapping[str, str] | None = None,
    defaults: Mapping[str, Any] | None = None,
    split: str | None = None,
) -> ConvertResult:
    bad_lines: BadLines = []
    records = read_dataset(source, split, mapping, defaults, bad_lines=bad_lines)
    result = convert_records(records, to, source_format)
    if result.records:  # an empty file is what trainers fail on ("Cannot find valid samples"): never write one
        file_type = out.suffix.lstrip(".").lower()
        write_records(out, result.records, file_type if file_type in FILE_TYPES else "jsonl")
    report = out.with_name(out.name + ".report.json")
    errors = _errors(result.errors)
    write_json(
        report, {"errors": [e.model_dump() for e in errors], "dropped": dict(result.dropped), "unreadable": bad_lines}
    )
    return ConvertResult(
        out=str(out),
        report=str(report),
        read=len(records),
        converted=len(result.records),
        source_format=result.source_format,
        target_format=to,
        dropped=dict(result.dropped),
        error_count=len(errors),
        errors=errors[:PREVIEW],
        **_unreadable(bad_lines),
    )


def validate_file(
    source: str, fmt: str = "auto", mapping: Mapping[str, str] | None = None, split: str | None = None
) -> ValidateResult:
    bad_lines: BadLines = []
    records = read_dataset(source, split, mapping, bad_lines=bad_lines)
    report = validate_records(records, fmt)
    return ValidateResult(
        format=report.format,
        total=report.total,
        valid=report.valid,
        ok=report.ok and not bad_lines,
        error_count=len(report.errors),
        errors=_errors(report.errors[:PREVIEW]),
        **_unreadable(bad_lines),
    )


def dedupe_file(
    source: str,
    out: Path,
    settings: Settings,
    methods: Sequence[str] = ("exact", "near"),
    score_field: str | None = None,
    store_dir: Path | None = None,
    eval_set: str | None = None,
    executor: str = "local",
    ray_address: str | None = None,
) -> DedupeResult:
    """``executor='ray'`` finds exact, near and semantic duplicates on a Ray cluster (``ray_address``, or a
    local Ray instance); the clusters are the same as with the local executor."""
    engine = None
    if executor == "ray":
        from ftds.tools.dataset.ray_dedupe import RayEngine

        engine = RayEngine(ray_address)
    elif executor != "local":
        raise ValueError(f"unknown executor {executor!r}; choose local or ray")
    elif ray_address:
        raise ValueError("--ray-address needs --executor ray")
    bad_lines: BadLines = []
    records = read_dataset(source, bad_lines=bad_lines)
    if "semantic" in methods and store_dir is None and not settings.dedupe.chroma_url:  # remember by default
        store_dir = settings.cache_dir / "dedupe-store"
    try:
        report = dedupe_records(records, settings.dedupe, methods, score_field, store_dir, engine=engine)
    finally:
        if engine is not None:
            engine.close()  # a long-lived caller (the MCP server) must not stay a driver of the cluster
    kept = [records[i] for i in report.kept]
    write_jsonl(out, kept)
    details: dict[str, Any] = {"clusters": [asdict(c) for c in report.clusters]}
    summary = DedupeResult(
        out=str(out),
        total=report.total,
        kept=len(kept),
        removed=report.removed,
        methods=list(methods),
        clusters=len(report.clusters),
        cluster_preview=details["clusters"][:PREVIEW],
        store=(settings.dedupe.chroma_url or str(store_dir)) if "semantic" in methods else None,
        executor=executor,
        **_unreadable(bad_lines),
    )
    if eval_set:
        leaks = audit_leakage({"dataset": kept}, settings.dedupe, read_dataset(eval_set))
        details["eval_leaks"] = [asdict(p) for p in leaks.pairs]
        summary.eval_leaks = len(leaks.pairs)
    report_path = out.with_name(out.name + ".report.json")
    write_json(report_path, details)
    summary.report = str(report_path)
    return summary


def split_file(
    source: str,
    out_dir: Path,
    settings: Settings,
    strategy: str = "random",
    key: str | None = None,
    eval_set: str | None = None,
    k_folds: int | None = None,
    overwrite: bool = False,
) -> SplitResult:
    """Split into ``out_dir`` (train/validation/test/full JSONL and leakage.json, or k folds), replacing the
    dataset it held only when ``overwrite``."""
    from ftds.tools.dataset.split import SplitError, field_getter, k_fold

    if k_folds is not None and k_folds < 2:
        raise SplitError(f"k_folds must be 2 or more (got {k_folds}); leave it out for a train/validation/test split")
    check_output_folder(out_dir, overwrite)
    bad_lines: BadLines = []
    records = read_dataset(source, bad_lines=bad_lines)
    evaluation = read_dataset(eval_set) if eval_set else None
    files: dict[str, str] = {}
    with DatasetFolder(out_dir, "split"):
        if k_folds:
            folds = k_fold(records, k_folds, settings.split.seed, field_getter(key) if key else None)
            counts: dict[str, int] = {}
            leakage: dict[str, int] = {}
            for index, (train, held) in enumerate(folds):
                for name, items in (("train", train), ("test", held)):
                    path = out_dir / f"fold{index}" / f"{name}.jsonl"
                    write_jsonl(path, items)
                    files[f"fold{index}/{name}"] = str(path)
                    counts[f"fold{index}/{name}"] = len(items)
                fold_leaks = audit_leakage({"train": train, "test": held}, settings.dedupe)
                write_json(out_dir / f"fold{index}" / "leakage.json", [asdict(p) for p in fold_leaks.pairs])
                leakage.update({f"fold{index}/{k}": v for k, v in fold_leaks.counts.items()})
            notes = [f"leakage: {sum(leakage.values())} near-duplicate pair(s) across folds"] if leakage else []
            return SplitResult(
                counts=counts,
                files=files,
                grouped_by=key or "record",
                notes=notes,
                leakage=leakage,
                **_unreadable(bad_lines),
            )
        result = split_records(records, settings.split, strategy, key)
        for name, items in result.splits.items():
            if not items:  # an empty file is what trainers fail on: say so instead of writing one
                result.notes.append(f"{name} is empty ({len(records)} record(s) in all): no file written")
                continue
            write_jsonl(out_dir / f"{name}.jsonl", items)
            files[name] = str(out_dir / f"{name}.jsonl")
        leaks = audit_leakage(result.splits, settings.dedupe, evaluation)
        write_json(out_dir / "leakage.json", {"threshold": leaks.threshold, "pairs": [asdict(p) for p in leaks.pairs]})
        files["leakage"] = str(out_dir / "leakage.json")
    notes = list(result.notes)
    if leaks.pairs:
        notes.append(f"leakage: {len(leaks.pairs)} near-duplicate pair(s) across splits/eval, see leakage.json")
    return SplitResult(
        counts=result.counts(),
        files=files,
        grouped_by=result.grouped_by,
        notes=notes,
        leakage=leaks.counts,
        **_unreadable(bad_lines),
    )


def _read_splits(path: Path, bad_lines: BadLines) -> dict[str, list[Any]]:
    """A split folder's train/validation/test/full files (from ``split``), or one dataset as 'train'; lines that
    are not JSON are added to ``bad_lines`` with their file."""
    splits: dict[str, list[Any]] = {}
    if path.is_dir() and not (path / "dataset_info.json").exists() and not (path / "state.json").exists():
        for name in ("train", "validation", "test", "full"):
            for suffix in (".jsonl", ".json", ".parquet", ".csv"):
                if (path / f"{name}{suffix}").is_file():
                    found: BadLines = []
                    splits[name] = read_dataset(path / f"{name}{suffix}", bad_lines=found)
                    bad_lines += [{"file": f"{name}{suffix}", **bad} for bad in found]
                    break
        if not splits:
            raise FileNotFoundError(f"{path} has no train/validation/test files; run `ftds-agent split` first")
    else:
        splits["train"] = read_dataset(path, bad_lines=bad_lines)
    return splits


def export_file(
    source: str,
    out_dir: Path,
    fmt: str,
    file_types: Sequence[str] = ("jsonl",),
    card: CardInfo | None = None,
    openai_finetune: bool = False,
    overwrite: bool = False,
) -> ExportResult:
    """Export a split folder (train/validation/test .jsonl from ``split``), a build's folder (its ``fmt``
    files) or a single file as 'train', replacing the dataset ``out_dir`` held only when ``overwrite``."""
    check_output_folder(out_dir, overwrite)
    path = Path(source)
    if (path / "dataset_info.json").is_file():  # a build's folder: its files of this format
        built = [p.name for p in sorted(path.iterdir()) if p.name in FORMATS and (p / "train.jsonl").is_file()]
        if fmt not in built:
            raise FileNotFoundError(
                f"{path} is an exported dataset with {', '.join(built) or 'no'} split folders; "
                f"pass --format {' or '.join(built) or 'alpaca'}, or one of its files"
            )
        path = path / fmt
    bad_lines: BadLines = []
    splits = _read_splits(path, bad_lines) if path.exists() else {"train": read_dataset(source)}  # a Hub id
    card = card or CardInfo()
    card.provenance = {
        "source": str(source),
        "exported_by": f"ftds-agent {_version()}",
        "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "format": fmt,
        **card.provenance,
    }
    leakage_file = path / "leakage.json" if path.is_dir() else None
    if leakage_file is not None and leakage_file.is_file():
        leaks = json.loads(leakage_file.read_text(encoding="utf-8"))
        card.provenance["leakage_pairs_at_split"] = len(leaks.get("pairs", []))
    if fmt == "classification" and card.task_categories == ["text-generation"]:
        card.task_categories = ["text-classification"]
    with DatasetFolder(out_dir, "export"):
        result = export_dataset(splits, out_dir, fmt, file_types, card, openai_finetune=openai_finetune)
    return ExportResult(
        out_dir=str(out_dir),
        counts=result.counts,
        files=result.files,
        notes=result.notes,
        invalid={k: _errors(v[:PREVIEW]) for k, v in result.errors.items()},
        **_unreadable(bad_lines),
    )
