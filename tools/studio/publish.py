"""Validate the reviewed dataset with the trainer rules and export it through the project's exporter.

Validation is ``ftds-agent validate``'s: each accepted sample is written in the target format and checked
by :func:`ftds.tools.formats.validate_records`. Export calls the project's exporter in one place
(:func:`_run_exporter`) and writes beside it the provenance sidecar the build writes
(``provenance/{split}.jsonl``) and ``rejected.jsonl``, each Sample dump carrying a ``studio`` object with the
human decision, the reviewer, the reason and the revision history (who changed which field, when).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import sqlalchemy as sa

from ftds.tools.records import Sample
from ftds.tools.studio import store
from ftds.tools.studio.models import DatasetInfo, ExportSummary, RecordProblem, StudioError, ValidationSummary
from ftds.tools.studio.store import Workspace, audit, audit_changes, datasets, samples

SplitMode = Literal["keep", "recompute"]


def _rows(ws: Workspace, dataset_id: int, decision: str) -> list[Any]:
    with store.reading(ws) as conn:
        return list(
            conn.execute(
                sa.select(samples)
                .where(samples.c.dataset_id == dataset_id, samples.c.decision == decision)
                .order_by(samples.c.position)
            )
        )


def _records(rows: Sequence[Any], fmt: str) -> tuple[list[tuple[Any, Sample, dict[str, Any]]], list[RecordProblem]]:
    from ftds.tools.formats import FormatError, sample_to_record

    good, bad = [], []
    for row in rows:
        sample = Sample.model_validate_json(row.data)
        try:
            good.append((row, sample, sample_to_record(sample, fmt)))
        except FormatError as exc:
            bad.append(RecordProblem(sample_id=row.sample_id, message=str(exc)))
    return good, bad


def _accepted_records(
    ws: Workspace, dataset: int | str, fmt: str | None
) -> tuple[DatasetInfo, str, list[tuple[Any, Sample, dict[str, Any]]], list[RecordProblem]]:
    """What validation and export both start from: the dataset, the format (``fmt``, else the dataset's own;
    an unknown one is a :class:`StudioError`) and its accepted samples as records of that format, those that
    cannot be written in it listed apart."""
    from ftds.tools.formats import FormatError, check_format
    from ftds.tools.studio.operations import get_dataset

    info = get_dataset(ws, dataset)
    fmt = fmt or info.format
    try:
        check_format(fmt)
    except FormatError as exc:
        raise StudioError(str(exc)) from None
    good, bad = _records(_rows(ws, info.id, "accept"), fmt)
    return info, fmt, good, bad


def validate_dataset(ws: Workspace, dataset: int | str, fmt: str | None = None) -> ValidationSummary:
    """The trainer rules on every accepted sample as it would be exported in ``fmt``."""
    from ftds.tools.formats import validate_records

    _, fmt, good, bad = _accepted_records(ws, dataset, fmt)
    report = validate_records([record for _, _, record in good], fmt) if good else None
    errors = list(bad)
    if report is not None:
        errors += [
            RecordProblem(sample_id=good[index][0].sample_id if index >= 0 else "*", message=message)
            for index, message in report.errors
        ]
    total = len(good) + len(bad)
    invalid = len({e.sample_id for e in errors if e.sample_id != "*"})
    return ValidationSummary(format=fmt, total=total, valid=total - invalid, ok=total > 0 and not errors, errors=errors)


def _run_exporter(
    splits: Mapping[str, Sequence[dict[str, Any]]], out_dir: Path, fmt: str, file_types: Sequence[str], name: str
) -> tuple[dict[str, int], dict[str, str], list[tuple[str, int, str]], list[str]]:
    """The one call into the project's exporter (repoint here when the exporter moves)."""
    from ftds.tools.dataset.export import CardInfo, export_dataset

    result = export_dataset(splits, out_dir, fmt, file_types=file_types, card=CardInfo(name=name), save_to_disk=False)
    errors = [(split, index, message) for split, items in result.errors.items() for index, message in items]
    return result.counts, result.files, errors, result.notes


def _histories(ws: Workspace, dataset_id: int) -> dict[int, list[dict[str, Any]]]:
    """Per sample row: the human changes made to it, oldest first (who, when, action, fields)."""
    with store.reading(ws) as conn:
        rows = conn.execute(
            sa.select(audit_changes.c.ref, audit.c.actor, audit.c.at, audit.c.action, audit_changes.c.field)
            .join(audit, audit.c.id == audit_changes.c.audit_id)
            .where(audit.c.dataset_id == dataset_id, audit_changes.c.kind == "sample", audit.c.undone.is_(False))
            .where(audit.c.action != "undo")
            .order_by(audit.c.id)
        ).all()
    out: dict[int, list[dict[str, Any]]] = {}
    for ref, actor, at, action, field in rows:
        events = out.setdefault(ref, [])
        if events and events[-1]["at"] == at and events[-1]["action"] == action:
            events[-1]["fields"].append(field)
        else:
            events.append({"actor": actor, "at": at, "action": action, "fields": [field]})
    return out


def _studio_record(row: Any, sample: Sample, history: list[dict[str, Any]]) -> dict[str, Any]:
    edited = sorted({f for event in history for f in event["fields"]} - {"reviewer", "decision", "reason", "rejection"})
    return {
        **sample.model_dump(mode="json"),
        "studio": {
            "decision": row.decision,
            "reviewer": row.reviewer,
            "reason": row.reason,
            "edited_fields": edited,
            "history": history,
        },
    }


def _recompute(
    samples_: list[tuple[Any, Sample, dict[str, Any]]],
) -> dict[str, list[tuple[Any, Sample, dict[str, Any]]]]:
    from ftds.tools.config import SplitSettings
    from ftds.tools.dataset.split import effective_settings, split_grouped

    settings = effective_settings(len(samples_), SplitSettings())
    result = split_grouped(samples_, settings, [("source", lambda item: item[1].provenance.source)])
    return result.splits


def export_reviewed(
    ws: Workspace,
    dataset: int | str,
    out_dir: Path,
    *,
    fmt: str | None = None,
    file_types: Sequence[str] = ("jsonl",),
    split: SplitMode = "keep",
    overwrite: bool = False,
) -> ExportSummary:
    """Export the accepted samples (splits kept as imported, or recomputed grouped by source document).

    A folder that already holds a dataset is refused unless ``overwrite`` (then only the files that dataset
    wrote are removed first), as every ftds writer does."""
    from ftds.tools.dataset.files import DatasetFolder, OutputExistsError, check_output_folder, write_jsonl

    info, fmt, good, bad = _accepted_records(ws, dataset, fmt)
    if not good:
        raise StudioError(f"dataset {info.name!r} has no accepted sample that can be written as {fmt}")
    if split == "recompute":
        groups = _recompute(good)
    else:
        groups = {}
        for item in good:
            groups.setdefault(item[0].split or "train", []).append(item)
    groups = {name: items for name, items in groups.items() if items}
    try:
        check_output_folder(out_dir, overwrite)
    except OutputExistsError as exc:
        raise StudioError(str(exc)) from None
    folder = DatasetFolder(out_dir, "export")
    counts, files, export_errors, notes = _run_exporter(
        {name: [record for _, _, record in items] for name, items in groups.items()},
        out_dir,
        fmt,
        file_types,
        _card_name(info.name),
    )
    errors = list(bad) + [
        RecordProblem(sample_id=groups[name][index][0].sample_id, message=f"{name}: {message}")
        for name, index, message in export_errors
        if index >= 0
    ]
    histories = _histories(ws, info.id)
    for name, items in groups.items():
        if name in counts:
            path = out_dir / "provenance" / f"{name}.jsonl"
            write_jsonl(path, (_studio_record(r, s, histories.get(r.id, [])) for r, s, _ in items))
            files[f"provenance/{name}"] = str(path)
    rejected_rows = _rows(ws, info.id, "reject")
    rejected_path = out_dir / "rejected.jsonl"
    write_jsonl(
        rejected_path,
        (_studio_record(r, Sample.model_validate_json(r.data), histories.get(r.id, [])) for r in rejected_rows),
    )
    files["rejected"] = str(rejected_path)
    record = {"version": info.version, "format": fmt, "counts": counts, "out_dir": str(out_dir), "at": time.time()}
    (out_dir / "studio-export.json").write_text(
        json.dumps({"dataset": info.name, **record}, indent=2, ensure_ascii=False), encoding="utf-8"
    )
    folder.seal()
    with store.writing(ws) as conn:  # the dataset's exported versions, newest last (not a data change)
        meta = json.loads(conn.execute(sa.select(datasets.c.meta).where(datasets.c.id == info.id)).scalar_one())
        meta["exports"] = [*meta.get("exports", []), record][-20:]
        conn.execute(sa.update(datasets).where(datasets.c.id == info.id).values(meta=store.dumps(meta)))
    return ExportSummary(
        out_dir=str(out_dir),
        format=fmt,
        counts=counts,
        files=files,
        rejected=len(rejected_rows),
        errors=errors,
        notes=notes,
    )


def _card_name(name: str) -> str:
    cleaned = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in name).strip("_")
    return cleaned or "ftds-dataset"
