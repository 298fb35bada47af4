"""Bring datasets into a workspace: a build's output folder, a running build, or any dataset file.

A build folder holds the accepted samples per split (``provenance/{split}.jsonl``, one Sample dump per
line), the rejected ones whole (``rejected.jsonl``, ``rejection`` set) and ``report.json``. A **running**
build is the same folder read again: :func:`sync_build` re-reads every sample file whose size or mtime
changed since the last read and adds the samples it has not seen, so samples appear as the build writes
them; samples a person has touched are never overwritten by a re-read. The dataset's status follows the
run registry (``live`` while the run is running). Dataset files in any format ftds reads (JSON, JSONL, CSV,
Parquet, a ``datasets`` folder; auto-detected, with a ``--map`` column mapping) become Sample records.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.engine import Connection

from ftds.tools.records import Sample, content_hash
from ftds.tools.studio import store
from ftds.tools.studio.models import ImportResult, StudioError
from ftds.tools.studio.store import Workspace, datasets, samples

REJECTED_FILE = "rejected.jsonl"
LIVE_DIR = "live"
LABEL_TREE_FILES = ("labels.yaml", "labels.yml", "labels.json", "label_tree.yaml", "label_tree.json")
_CHAT_FORMATS = ("alpaca", "sharegpt", "openai")


def sample_files(folder: Path) -> list[tuple[Path, str]]:
    """The sample files of a build folder with the split each holds ('' = none yet): the accepted samples
    per split, the rejected ones, then ``live/*.jsonl`` — Sample dumps a running build may append as each
    chunk finishes (rejected ones with ``rejection`` set), shown before the build has split anything."""
    found = [(path, path.stem) for path in sorted((folder / "provenance").glob("*.jsonl"))]
    if (folder / REJECTED_FILE).is_file():
        found.append((folder / REJECTED_FILE, ""))
    found += [(path, "") for path in sorted((folder / LIVE_DIR).glob("*.jsonl"))]
    return found


def _read_samples(path: Path, split: str, errors: list[str]) -> list[tuple[dict[str, Any], str]]:
    out: list[tuple[dict[str, Any], str]] = []
    try:
        handle = path.open("rb")
    except OSError as exc:
        errors.append(f"{path.name}: cannot be read ({exc.strerror or exc})")
        return out
    with handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                data = Sample.model_validate_json(line).model_dump(mode="json")
            except ValidationError as exc:  # invalid JSON, invalid UTF-8 or not the Sample shape
                errors.append(f"{path.name} line {number}: not a Sample record ({exc.errors()[0]['msg']})")
                continue
            if path.name == REJECTED_FILE and data.get("rejection") is None:  # kept there, so rejected
                data["rejection"] = {"reason": "rejected", "detail": "listed in rejected.jsonl without a reason"}
            out.append((data, split))
    return out


def _new_dataset(
    conn: Connection, name: str, task: str, fmt: str, status: str, source: str, meta: dict[str, Any]
) -> int:
    if conn.execute(sa.select(datasets.c.id).where(datasets.c.name == name)).first() is not None:
        raise StudioError(f"a dataset named {name!r} exists already; pass another name or sync that one")
    now = time.time()
    return int(
        conn.execute(
            sa.insert(datasets).values(
                name=name,
                task=task,
                format=fmt,
                status=status,
                source=source,
                version=1,
                created_at=now,
                updated_at=now,
                meta=store.dumps(meta),
            )
        ).inserted_primary_key[0]  # type: ignore[index]
    )


def _insert(conn: Connection, dataset_id: int, start: int, items: Sequence[tuple[dict[str, Any], str]]) -> int:
    now = time.time()
    rows = []
    for offset, (data, split) in enumerate(items):
        rejected = data.get("rejection") is not None
        rows.append(
            {
                "dataset_id": dataset_id,
                "sample_id": data["sample_id"],
                "position": start + offset,
                "split": split,
                "data": store.dumps(data),
                **store.index_columns(data),
                "decision": "reject" if rejected else "accept",
                "reason": (data.get("rejection") or {}).get("reason", "") if rejected else "",
                "reviewer": "",
                "version": 1,
                "updated_at": now,
            }
        )
    for begin in range(0, len(rows), 5000):
        conn.execute(sa.insert(samples), rows[begin : begin + 5000])
    return len(rows)


def _seed_labels(conn: Connection, dataset_id: int, tree_paths: Sequence[str]) -> None:
    from ftds.tools.studio.taxonomy import label_paths, replace_label_paths

    used = conn.execute(
        sa.select(samples.c.label)
        .where(samples.c.dataset_id == dataset_id, samples.c.label.is_not(None))
        .group_by(samples.c.label)
        .order_by(sa.func.min(samples.c.position))
    ).scalars()
    wanted = list(dict.fromkeys([*label_paths(conn, dataset_id), *tree_paths]))
    for label in used:  # in the order the samples first use them
        parts = label.split("/")
        wanted.extend("/".join(parts[: i + 1]) for i in range(len(parts)))
    replace_label_paths(conn, dataset_id, list(dict.fromkeys(wanted)))


def _tree_paths(folder: Path) -> list[str]:
    from ftds.tools.generation.labels import LabelTree

    for name in LABEL_TREE_FILES:
        if (folder / name).is_file():
            try:
                return LabelTree.load(folder / name).paths()
            except ValueError:
                return []
    return []


def _run_for(folder: Path, runs_dir: Path | None) -> tuple[str, list[str]] | None:
    """(status, inputs) of the registered run writing into ``folder``, if the registry knows one."""
    if runs_dir is None or not (runs_dir / "registry.sqlite").is_file():
        return None
    from ftds.agents.runs import RunStore

    target = folder.resolve()
    for record in RunStore(runs_dir).list(limit=500):
        if Path(record.out_dir).resolve() == target:
            return record.status, record.inputs
    return None


def _load_documents(conn: Connection, dataset_id: int, inputs: Sequence[Path], errors: list[str]) -> None:
    """Keep the cleaned text of the documents the samples cite, so the sample view shows the passage."""
    from ftds.tools.ingest.loaders import iter_files, read_document

    wanted = set(
        conn.execute(sa.select(samples.c.source).where(samples.c.dataset_id == dataset_id).distinct()).scalars()
    )
    have = set(
        conn.execute(sa.select(store.documents.c.source).where(store.documents.c.dataset_id == dataset_id)).scalars()
    )
    for path, root in iter_files(inputs):
        relative = path.relative_to(root).as_posix() if path.is_relative_to(root) else path.name
        if relative not in wanted or relative in have:
            continue
        try:
            document = read_document(path, root)
        except (OSError, ValueError) as exc:
            errors.append(f"{relative}: source passage unavailable ({exc})")
            continue
        conn.execute(
            sa.insert(store.documents).values(dataset_id=dataset_id, source=document.source, text=document.text)
        )
        have.add(document.source)


def _remember_files(conn: Connection, dataset_id: int, files: Sequence[Path]) -> None:
    conn.execute(sa.delete(store.source_files).where(store.source_files.c.dataset_id == dataset_id))
    values = []
    for path in files:
        stat = path.stat()
        values.append({"dataset_id": dataset_id, "path": str(path), "size": stat.st_size, "mtime": stat.st_mtime})
    if values:
        conn.execute(sa.insert(store.source_files), values)


def import_build(
    ws: Workspace,
    folder: Path,
    *,
    name: str | None = None,
    documents: Sequence[Path] = (),
    runs_dir: Path | None = None,
    actor: str = "importer",
) -> ImportResult:
    """Import a build's output folder (accepted samples per split, rejected samples, report, documents)."""
    from ftds.tools.studio.operations import get_dataset

    folder = folder.resolve()
    if not folder.is_dir():
        raise StudioError(f"{folder} is not a folder; pass a build's output folder (the --out of ftds-agent build)")
    files = sample_files(folder)
    run = _run_for(folder, runs_dir)
    if not files and run is None:
        raise StudioError(
            f"{folder} holds no provenance/*.jsonl or {REJECTED_FILE}: not a build output folder "
            "(for a dataset file, import the file itself)"
        )
    report: dict[str, Any] = {}
    if (folder / "report.json").is_file():
        try:
            report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            report = {}
    errors: list[str] = []
    items = [item for path, split in files for item in _read_samples(path, split, errors)]
    items = _unique(items)
    task = report.get("task") or (items[0][0].get("task") if items else "qa") or "qa"
    status = "live" if run and run[0] == "running" else "imported"
    meta = {"report": {k: report[k] for k in ("run_id", "domain", "generated", "accepted", "rejected") if k in report}}
    with store.writing(ws) as conn:
        dataset_id = _new_dataset(conn, name or folder.name, task, "alpaca", status, str(folder), meta)
        added = _insert(conn, dataset_id, 0, items)
        _seed_labels(conn, dataset_id, _tree_paths(folder))
        inputs = [*documents, *(Path(p) for p in (run[1] if run else []))]
        if inputs:
            _load_documents(conn, dataset_id, inputs, errors)
        _remember_files(conn, dataset_id, [path for path, _ in files])
        store.record_audit(conn, dataset_id, actor, "import", f"import {added} sample(s) from {folder}", [])
    return ImportResult(dataset=get_dataset(ws, dataset_id), added=added, errors=errors)


def _unique(items: list[tuple[dict[str, Any], str]]) -> list[tuple[dict[str, Any], str]]:
    """One entry per sample id: an accepted copy wins over a rejected one (rescued by a later stage)."""
    seen: dict[str, int] = {}
    out: list[tuple[dict[str, Any], str]] = []
    for data, split in items:
        index = seen.get(data["sample_id"])
        if index is None:
            seen[data["sample_id"]] = len(out)
            out.append((data, split))
        elif out[index][1] == "" and split:
            out[index] = (data, split)
    return out


def sync_build(
    ws: Workspace, dataset: int | str, runs_dir: Path | None = None, documents: Sequence[Path] = ()
) -> ImportResult:
    """Re-read a build folder: add new samples, refresh the ones nobody has touched, keep reviewed ones."""
    from ftds.tools.studio.operations import get_dataset

    info = get_dataset(ws, dataset)
    folder = Path(info.source)
    if not folder.is_dir():
        raise StudioError(f"dataset {info.name!r} was not imported from a build folder ({info.source})")
    with store.reading(ws) as conn:
        known = {
            r.path: (r.size, r.mtime)
            for r in conn.execute(sa.select(store.source_files).where(store.source_files.c.dataset_id == info.id))
        }
    files = sample_files(folder)
    changed = [(p, s) for p, s in files if known.get(str(p)) != (p.stat().st_size, p.stat().st_mtime)]
    errors: list[str] = []
    items = _unique([item for path, split in changed for item in _read_samples(path, split, errors)])
    run = _run_for(folder, runs_dir)
    added = updated = kept = 0
    with store.writing(ws, info.id) as conn:
        existing = {
            r.sample_id: r
            for r in conn.execute(
                sa.select(samples.c.id, samples.c.sample_id, samples.c.reviewer, samples.c.data, samples.c.split).where(
                    samples.c.dataset_id == info.id
                )
            )
        }
        position = conn.execute(
            sa.select(sa.func.coalesce(sa.func.max(samples.c.position), -1)).where(samples.c.dataset_id == info.id)
        ).scalar_one()
        fresh = []
        for data, split in items:
            row = existing.get(data["sample_id"])
            if row is None:
                fresh.append((data, split))
            elif row.reviewer:
                kept += 1
            elif json.loads(row.data) != data or row.split != split:
                rejected = data.get("rejection") is not None
                conn.execute(
                    sa.update(samples)
                    .where(samples.c.id == row.id)
                    .values(
                        data=store.dumps(data),
                        **store.index_columns(data),
                        split=split,
                        decision="reject" if rejected else "accept",
                        reason=(data.get("rejection") or {}).get("reason", "") if rejected else "",
                        version=samples.c.version + 1,
                        updated_at=time.time(),
                    )
                )
                updated += 1
        added = _insert(conn, info.id, position + 1, fresh)
        if fresh:
            _seed_labels(conn, info.id, [])
        if run is not None:
            status = "live" if run[0] == "running" else "finished"
            conn.execute(sa.update(datasets).where(datasets.c.id == info.id).values(status=status))
        inputs = [*documents, *(Path(p) for p in (run[1] if run else []))]
        if inputs:
            _load_documents(conn, info.id, inputs, errors)
        _remember_files(conn, info.id, [path for path, _ in files])
        if added or updated:
            store.record_audit(conn, info.id, "importer", "sync", f"sync: {added} new, {updated} refreshed", [])
    return ImportResult(dataset=get_dataset(ws, info.id), added=added, updated=updated, kept=kept, errors=errors)


# --- dataset files -------------------------------------------------------------------------------------------


def record_to_sample(record: dict[str, Any], fmt: str, index: int, source: str) -> dict[str, Any]:
    """A dataset record (any format ftds reads) as a Sample record: the question/answer pair, dialogue
    turns, preference pair, label and score it carries; the original columns kept where a Sample can."""
    from ftds.tools.formats import FormatError, check_format

    conv = check_format(fmt).read(record)
    problems = conv.problems()
    if problems:
        raise FormatError("; ".join(problems))
    turns = [(role, content) for role, content in conv.turns]
    extra = conv.extra or {}
    question = next((c for r, c in turns if r == "user"), conv.text or "")
    answer = next((c for r, c in turns if r == "assistant"), "")
    data: dict[str, Any] = {
        "sample_id": str(
            extra.get("id") or content_hash(source, str(index), json.dumps(record, sort_keys=True, default=str))
        ),
        "task": "qa",
        "question": question,
        "answer": answer,
        "domain": str(extra.get("domain") or "general"),
        "provenance": {"source": source, "char_start": 0, "char_end": 0, "chunk_id": f"record {index + 1}"},
        "model": "imported",
        "prompt_version": "imported",
    }
    if len(turns) > 2:
        data["turns"] = [{"role": role, "content": content} for role, content in turns]
        data["task"] = "dialogue"
    if conv.is_preference:
        data["answer"] = conv.chosen or ""
        data["rejected_answer"] = conv.rejected
        data["question"] = next((c for r, c in reversed(turns) if r == "user"), question)
        data["task"] = "preference"
    if conv.text is not None and not turns:
        data["task"] = "pretraining"
    label = extra.get("label")
    if label not in (None, ""):
        data["label"] = str(label)
    score = extra.get("reward_score")
    if isinstance(score, int | float) and 0 <= score <= 5:
        data["reward_score"] = float(score)
    if fmt == "classification":
        data["task"] = "classification"
    return Sample.model_validate(data).model_dump(mode="json")


def import_file(
    ws: Workspace,
    path: Path,
    *,
    name: str | None = None,
    source_format: str = "auto",
    mapping: Mapping[str, str] | None = None,
    split: str = "train",
    actor: str = "importer",
) -> ImportResult:
    """Import a dataset file (or ``datasets`` folder) in any format ftds reads; bad records are listed."""
    from ftds.tools.formats import FormatError, check_format, detect_format, read_dataset
    from ftds.tools.studio.operations import get_dataset

    try:
        records = read_dataset(path, mapping=mapping or {})
    except (FormatError, FileNotFoundError, json.JSONDecodeError) as exc:
        raise StudioError(str(exc)) from None
    first = next((r for r in records if isinstance(r, dict)), None)
    if first is None:
        raise StudioError(f"{path} holds no JSON object records")
    try:
        fmt = detect_format(first) if source_format == "auto" else check_format(source_format).name
    except FormatError as exc:
        raise StudioError(f"{path}: {exc}") from None
    errors: list[str] = []
    items: list[tuple[dict[str, Any], str]] = []
    seen: set[str] = set()
    for index, record in enumerate(records):
        try:
            if not isinstance(record, dict):
                raise FormatError(f"expected a JSON object, got {type(record).__name__}")
            data = record_to_sample(record, fmt, index, Path(path).name)
        except (FormatError, ValidationError, ValueError) as exc:
            errors.append(f"record {index + 1}: {exc}")
            continue
        if data["sample_id"] in seen:
            data["sample_id"] = content_hash(data["sample_id"], str(index))
        seen.add(data["sample_id"])
        items.append((data, split))
    if not items:
        raise StudioError(f"{path}: no record could be read as {fmt}: " + "; ".join(errors[:3]))
    task = items[0][0]["task"]
    with store.writing(ws) as conn:
        dataset_id = _new_dataset(
            conn,
            name or Path(path).stem,
            task,
            fmt if fmt in _CHAT_FORMATS else "alpaca",
            "imported",
            str(path),
            {"source_format": fmt, "mapping": dict(mapping or {})},
        )
        added = _insert(conn, dataset_id, 0, items)
        _seed_labels(conn, dataset_id, [])
        store.record_audit(conn, dataset_id, actor, "import", f"import {added} record(s) from {path} ({fmt})", [])
    return ImportResult(dataset=get_dataset(ws, dataset_id), added=added, errors=errors)


def import_path(ws: Workspace, path: Path, **options: Any) -> ImportResult:
    """A build folder or a dataset file, told apart by what the path holds."""
    if path.is_dir() and ((path / "provenance").is_dir() or (path / REJECTED_FILE).is_file()):
        return import_build(ws, path, **{k: v for k, v in options.items() if k in ("name", "documents", "runs_dir")})
    return import_file(ws, path, **{k: v for k, v in options.items() if k in ("name", "source_format", "mapping")})
