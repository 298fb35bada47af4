"""Build an evaluation set from documents, standalone: load, chunk, generate items per chunk, vet, balance,
audit against the training data, write the set folder.

This is what ``ftds-agent eval-set build`` and the MCP tool ``build_eval_set`` run. Inside a training build
the task table calls :func:`ftds.tools.evaluation.generate.generate_eval_items` per chunk instead and the
finalize step calls the same :func:`finish_eval_set`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from ftds.tools.config import Settings
from ftds.tools.evaluation.audit import AuditReport, audit_eval_against_training
from ftds.tools.evaluation.checks import balance_true_false
from ftds.tools.evaluation.generate import generate_eval_items, rejected_items
from ftds.tools.evaluation.items import EvalItem, item_text
from ftds.tools.evaluation.store import EvalSetInfo, summarise, write_eval_set
from ftds.tools.llm.base import ChatModel
from ftds.tools.reasons import Reason
from ftds.tools.records import Chunk, ItemOutcome, Rejection

Progress = Callable[[int, int, str], None]


class TrainingDataError(ValueError):
    """Training data given for the audit could not be read; the message says which file and why."""


def load_training_records(paths: Iterable[Path]) -> list[Any]:
    """Training records for the leakage audit: a build's output folder (its ``provenance/*.jsonl`` Sample
    dumps, which carry provenance for the holdout), or any dataset file ftds reads (JSON, JSONL, CSV,
    Parquet, a ``save_to_disk`` folder)."""
    from ftds.tools.formats import FormatError
    from ftds.tools.formats.io import read_dataset

    records: list[Any] = []
    for path in paths:
        provenance = path / "provenance"
        try:
            if provenance.is_dir():
                for file in sorted(provenance.glob("*.jsonl")):
                    records += read_dataset(file)
            else:
                records += read_dataset(path)
        except (FormatError, FileNotFoundError, ValueError, OSError) as exc:
            raise TrainingDataError(f"cannot read training data {path}: {exc}") from None
    return records


def dedupe_items(items: Sequence[EvalItem], settings: Settings) -> tuple[list[EvalItem], list[EvalItem]]:
    """(kept, duplicates): near-duplicate items within the set (two chunks that say the same thing), the
    first of each pair kept."""
    from ftds.tools.dataset.near_dup import near_duplicate_pairs

    dropped: set[int] = set()
    for left, right, similarity in near_duplicate_pairs([item_text(i) for i in items], settings.dedupe):
        if left not in dropped:
            dropped.add(right)
            items[right].rejection = Rejection(
                reason=Reason.DUPLICATE_NEAR, detail=f"Jaccard {similarity:.2f} with {items[left].item_id}"
            )
    return [i for n, i in enumerate(items) if n not in dropped], [i for n, i in enumerate(items) if n in dropped]


async def generate_for_chunks(
    chunks: Sequence[Chunk], llm: ChatModel, settings: Settings, progress: Progress | None = None
) -> tuple[list[EvalItem], list[ItemOutcome]]:
    """Items of every chunk, ``llm.concurrency`` chunks at a time; progress after each chunk."""
    slots = asyncio.Semaphore(settings.llm.concurrency)
    items: list[EvalItem] = []
    outcomes: list[ItemOutcome] = []
    done = 0

    async def one(chunk: Chunk) -> None:
        nonlocal done
        async with slots:
            got, other = await generate_eval_items(chunk, llm, settings.build, evaluation=settings.evaluation)
        items.extend(got)
        outcomes.extend(other)
        done += 1
        if progress is not None:
            progress(done, len(chunks), f"chunk {chunk.chunk_id}: {len(got)} items, {len(other)} left out")

    await asyncio.gather(*(one(chunk) for chunk in chunks))
    order = {chunk.chunk_id: n for n, chunk in enumerate(chunks)}
    items.sort(key=lambda i: (order.get(i.provenance.chunk_id or "", 0), i.kind, i.item_id))
    return items, outcomes


def finish_eval_set(
    out_dir: Path,
    items: Sequence[EvalItem],
    outcomes: Sequence[ItemOutcome],
    settings: Settings,
    *,
    training: Sequence[Any] = (),
    name: str = "ftds-eval",
    generator: str = "",
    chunks_used: int = 0,
    extra_failures: Sequence[ItemOutcome] = (),
) -> tuple[EvalSetInfo, AuditReport]:
    """Set-level steps after generation — in-set dedupe, true/false balance, the leakage audit — then write the
    folder. Every draft ends up in ``items.jsonl`` or ``rejected.jsonl`` (with its reason), every failed call
    in ``set.json``'s failures."""
    evaluation = settings.evaluation
    rejected_outcomes = [o for o in outcomes if o.status == "rejected"]
    failed = [o for o in outcomes if o.status == "failed"] + list(extra_failures)
    rejected = rejected_items(rejected_outcomes)
    kept, duplicates = dedupe_items(list(items), settings)
    kept, surplus = balance_true_false(kept, evaluation.seed)
    kept, audit = audit_eval_against_training(
        kept,
        training,
        settings.dedupe,
        holdout=evaluation.holdout,
        semantic=evaluation.semantic_audit and bool(training),
    )
    excluded = {e.item_id: e for e in audit.excluded}
    leaked = [i for i in items if i.item_id in excluded]
    for item in leaked:
        exclusion = excluded[item.item_id]
        item.rejection = Rejection(reason=exclusion.reason, detail=exclusion.detail)
    late = [*duplicates, *surplus, *leaked]
    late_outcomes = [
        ItemOutcome(
            item_id=i.item_id,
            kind="sample",
            status="rejected",
            reason=i.rejection.reason if i.rejection else Reason.DUPLICATE,
            detail=i.rejection.detail if i.rejection else "",
        )
        for i in late
    ]
    all_rejected_outcomes = [*rejected_outcomes, *late_outcomes]
    info = summarise(
        name,
        settings.build.domain,
        kept,
        all_rejected_outcomes,
        failed,
        generator=generator,
        chunks_used=chunks_used,
    )
    info = write_eval_set(out_dir, kept, info, rejected=[*rejected, *late], audit=audit)
    return info, audit


async def build_eval_set(
    inputs: Sequence[Path],
    out_dir: Path,
    settings: Settings,
    llm: ChatModel,
    *,
    training_paths: Sequence[Path] = (),
    name: str | None = None,
    progress: Progress | None = None,
    overwrite: bool = False,
) -> EvalSetInfo:
    """The whole standalone flow; raises ``ValueError`` (or :class:`TrainingDataError`) for bad input, and
    :class:`~ftds.tools.dataset.files.OutputExistsError` (a ValueError) before any work when ``out_dir`` already
    holds a dataset or a set and ``overwrite`` is not given."""
    from ftds.tools.build.steps import select_chunks
    from ftds.tools.dataset.files import check_output_folder
    from ftds.tools.ingest import load_literature

    check_output_folder(out_dir, overwrite)
    training: list[Any] = load_training_records(training_paths) if training_paths else []
    literature = await asyncio.to_thread(
        load_literature, inputs, settings.chunking, settings.build.domain, ingest=settings.ingest
    )
    file_failures = [
        ItemOutcome(item_id=f.source, kind="file", status="failed", reason=f.reason or "unreadable")
        for f in literature.files
        if f.status == "failed"
    ]
    if not literature.chunks:
        raise ValueError("no text to build items from: every input was empty, skipped or failed to load")
    chunks = select_chunks(literature.chunks, settings.build.max_chunks, settings.chunking.min_chars)
    items, outcomes = await generate_for_chunks(chunks, llm, settings, progress)
    info, _ = finish_eval_set(
        out_dir,
        items,
        outcomes,
        settings,
        training=training,
        name=name or out_dir.name,
        generator=llm.label,
        chunks_used=len(chunks),
        extra_failures=file_failures,
    )
    return info
