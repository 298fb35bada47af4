"""The build steps as plain functions: pick chunks, process one chunk, assemble the dataset and report.

The LangGraph graph in ``agents/`` only orders these calls; anything here can be run from a Python shell.
Accounting is exact: every generated sample ends accepted, rejected (with a reason) or failed (with a
reason), and every selected chunk ends processed or failed.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel, Field

from ftds.tools.config import Settings
from ftds.tools.dedupe import dedupe_samples
from ftds.tools.export import export_splits, write_json, write_jsonl
from ftds.tools.export_dataset import CardInfo, dataset_card
from ftds.tools.generate import generate_qa
from ftds.tools.labels import LabelTree
from ftds.tools.leakage import audit_leakage
from ftds.tools.llm.base import ChatModel
from ftds.tools.records import (
    Chunk,
    EndpointFigures,
    FileReport,
    ItemOutcome,
    ReviewVerdict,
    RunSummary,
    Sample,
    TokenUsage,
)
from ftds.tools.report import write_report
from ftds.tools.review import review_samples
from ftds.tools.revise import revise_samples
from ftds.tools.split import effective_settings, split_grouped
from ftds.tools.task_records import task_record
from ftds.tools.tasks import reward_records


def select_chunks(chunks: Sequence[Chunk], limit: int | None, min_chars: int = 0) -> list[Chunk]:
    """At most ``limit`` chunks, spread over documents and evenly along each one (coverage, not a prefix).

    Each pick is the middle of its stretch of the document, so one pick per document lands in its body, not
    on the title page; chunks shorter than ``min_chars`` (a title, a date line) are only used when a
    document has nothing longer."""
    if limit is None or len(chunks) <= limit:
        return list(chunks)
    by_doc: dict[str, list[Chunk]] = {}
    for chunk in chunks:
        by_doc.setdefault(chunk.doc_id, []).append(chunk)
    for doc_id, doc_chunks in by_doc.items():
        substantive = [c for c in doc_chunks if len(c.text.strip()) >= min_chars]
        by_doc[doc_id] = substantive or doc_chunks
    quotas = dict.fromkeys(by_doc, 0)
    remaining = limit
    while remaining:
        for doc_id, doc_chunks in by_doc.items():
            if remaining and quotas[doc_id] < len(doc_chunks):
                quotas[doc_id] += 1
                remaining -= 1
    picked: list[Chunk] = []
    for doc_id, doc_chunks in by_doc.items():
        quota = quotas[doc_id]
        step = len(doc_chunks) / quota if quota else 0
        picked.extend(doc_chunks[int((i + 0.5) * step)] for i in range(quota))
    return picked


class ChunkResult(BaseModel):
    chunk_id: str
    generated: int = 0
    accepted: list[Sample] = Field(default_factory=list)
    rejected: list[ItemOutcome] = Field(default_factory=list)
    failed: list[ItemOutcome] = Field(default_factory=list)
    chunk_failure: ItemOutcome | None = None
    generator_usage: TokenUsage = Field(default_factory=TokenUsage)
    reviewer_usage: TokenUsage = Field(default_factory=TokenUsage)


def revision_exhausted(flagged: Sequence[tuple[Sample, ReviewVerdict]], rounds_done: int) -> list[ItemOutcome]:
    """Samples still flagged for revision when no revision round is left: rejected, with the feedback. One the
    pre-check flagged keeps the pre-check's reason (``precheck:not_a_question`` ...)."""
    return [_still_flagged(sample, verdict, rounds_done) for sample, verdict in flagged]


def _still_flagged(sample: Sample, verdict: ReviewVerdict, rounds_done: int) -> ItemOutcome:
    if verdict.from_precheck:
        reason, detail = verdict.rationale, f"after {rounds_done} revision(s): {sample.question[:200]}"
    else:
        reason = "review:not_fixed_by_revision" if rounds_done else "review:needs_revision"
        detail = f"score {verdict.total:.2f} after {rounds_done} revision(s): {verdict.feedback}"
    return ItemOutcome(item_id=sample.sample_id, kind="sample", status="rejected", reason=reason, detail=detail)


async def process_chunk(
    chunk: Chunk,
    generator: ChatModel,
    reviewer: ChatModel,
    settings: Settings,
    *,
    labels: LabelTree | None = None,
) -> ChunkResult:
    """Generate Q&A for one chunk, review them (labelling them too when a tree is given), and send the
    ones the reviewer wants revised back to the generator with its feedback, up to
    ``build.max_revision_rounds`` times. Two calls for the whole chunk when nothing needs revising, two
    more per revision round; a sample still marked ``revise`` after the last round is rejected."""
    build = settings.build
    generation = await generate_qa(chunk, generator, build)
    result = ChunkResult(chunk_id=chunk.chunk_id, generator_usage=generation.usage)
    if generation.failure is not None:
        result.chunk_failure = generation.failure
        return result
    result.generated = len(generation.samples)
    if not generation.samples:
        result.chunk_failure = ItemOutcome(
            item_id=chunk.chunk_id,
            kind="chunk",
            status="failed",
            reason="generation:no_pairs",
            detail="the model returned zero pairs",
        )
        return result
    pending = generation.samples
    for round_number in range(build.max_revision_rounds + 1):
        review = await review_samples(chunk, pending, reviewer, build, labels=labels)
        result.reviewer_usage = result.reviewer_usage + review.usage
        result.rejected += review.rejected
        result.failed += review.failed
        for sample in pending:
            verdict = review.verdicts.get(sample.sample_id)
            if verdict is not None:
                label = review.labels.get(sample.sample_id, sample.label)
                result.accepted.append(sample.model_copy(update={"review": verdict, "label": label}))
        flagged = [(s, review.to_revise[s.sample_id]) for s in pending if s.sample_id in review.to_revise]
        if not flagged:
            break
        if round_number == build.max_revision_rounds:
            result.rejected += revision_exhausted(flagged, round_number)
            break
        revision = await revise_samples(chunk, flagged, generator, build)
        result.generator_usage = result.generator_usage + revision.usage
        result.failed += revision.failed
        pending = revision.samples
        if not pending:
            break
    return result


def write_card(out_dir: Path, settings: Settings, splits: dict[str, list[Sample]], kept: Sequence[Sample]) -> str:
    """A dataset card README with YAML metadata and where the samples came from."""
    counts = {name: len(items) for name, items in splits.items() if items}
    languages = sorted({s.language for s in kept if s.language})
    sources = sorted({s.provenance.source for s in kept})
    info = CardInfo(
        name=f"ftds-{settings.build.domain}-{settings.build.task}",
        languages=languages,
        task_categories=["question-answering", "text-generation"],
        description=f"{settings.build.task} samples for the {settings.build.domain} domain, each generated from a "
        "chunk of the source documents and accepted by a reviewer model (see provenance/).",
        provenance={
            "sources": sources,
            "models": sorted({s.model for s in kept}),
            "prompt_versions": sorted({s.prompt_version for s in kept}),
        },
    )
    fmt = settings.build.formats[0] if settings.build.formats else "alpaca"
    files = {name: f"{fmt}/{name}.jsonl" for name in counts}
    path = out_dir / "README.md"
    path.write_text(dataset_card(info, fmt, counts, files), encoding="utf-8")
    return str(path)


def trim_to_target(samples: Sequence[Sample], target: int) -> tuple[list[Sample], list[ItemOutcome]]:
    """Keep ``target`` samples, taking labels in turn (best-reviewed first within a label) so that no label
    crowds out the others; the rest are reported as rejected ``over_target``."""
    by_label: dict[str, list[Sample]] = {}
    for sample in sorted(samples, key=lambda s: -(s.review.total if s.review else 0.0)):
        by_label.setdefault(sample.label or "", []).append(sample)
    kept: list[Sample] = []
    queues = list(by_label.values())
    while len(kept) < target and any(queues):
        for queue in queues:
            if queue and len(kept) < target:
                kept.append(queue.pop(0))
    kept_ids = {s.sample_id for s in kept}
    dropped = [
        ItemOutcome(
            item_id=s.sample_id,
            kind="sample",
            status="rejected",
            reason="over_target",
            detail=f"the target of {target} samples was reached with better-scored or other-label samples",
        )
        for s in samples
        if s.sample_id not in kept_ids
    ]
    return [s for s in samples if s.sample_id in kept_ids], dropped


def _reasons(items: Sequence[ItemOutcome]) -> dict[str, int]:
    return dict(Counter(item.reason for item in items).most_common())


def finalize_dataset(
    *,
    run_id: str,
    settings: Settings,
    files: Sequence[FileReport],
    total_chunks: int,
    selected_chunks: Sequence[Chunk],
    results: Sequence[ChunkResult],
    out_dir: Path,
    started: float,
    models: dict[str, str],
    endpoints: dict[str, EndpointFigures] | None = None,
) -> RunSummary:
    """Dedupe, split and export the accepted samples, and write ``report.json`` accounting for everything.
    ``endpoints`` are the adaptive concurrency figures of the endpoints the run called.

    ``results`` may hold several fragments per chunk (the graph reports generation and review separately);
    counts are summed over them."""
    accepted = [sample for result in results for sample in result.accepted]
    kept, duplicates = dedupe_samples(
        accepted, settings.dedupe, settings.build.dedupe, store_dir=settings.cache_dir / "dedupe-store"
    )
    if settings.build.task == "reward":
        kept = reward_records(kept)
    over_target: list[ItemOutcome] = []
    if settings.build.target is not None:
        kept, over_target = trim_to_target(kept, settings.build.target)
    split = split_grouped(
        kept,
        effective_settings(len(kept), settings.split),
        group_keys=[
            ("source", lambda s: s.provenance.source),
            ("chunk", lambda s: s.provenance.chunk_id or s.sample_id),
        ]
        if settings.split.group_by_source
        else [],
    )
    chat_shaped = settings.build.task not in ("classification", "preference")
    outputs = export_splits(split.splits, out_dir, settings.build.formats if chat_shaped else [])
    for name, samples in split.splits.items():
        if samples:
            path = out_dir / "task" / f"{name}.jsonl"
            write_jsonl(path, (task_record(sample) for sample in samples))
            outputs[f"task/{name}"] = str(path)
    leakage = audit_leakage(
        {
            name: [{"instruction": s.question, "output": s.answer} for s in items]
            for name, items in split.splits.items()
        },
        settings.dedupe,
    )
    outputs["card"] = write_card(out_dir, settings, split.splits, kept)
    rejected = [item for result in results for item in result.rejected] + duplicates + over_target
    failed = [item for result in results for item in result.failed]
    chunk_failures = [r.chunk_failure for r in results if r.chunk_failure is not None]
    generated_by_chunk: dict[str, int] = {}
    for result in results:
        generated_by_chunk[result.chunk_id] = generated_by_chunk.get(result.chunk_id, 0) + result.generated
    generated = sum(generated_by_chunk.values())
    covered = {sample.provenance.chunk_id for sample in kept}
    summary = RunSummary(
        run_id=run_id,
        domain=settings.build.domain,
        task=settings.build.task,
        target=settings.build.target,
        files=list(files),
        files_loaded=sum(1 for f in files if f.status == "loaded"),
        files_failed=[
            ItemOutcome(item_id=f.source, kind="file", status="failed", reason=f.reason)
            for f in files
            if f.status == "failed"
        ],
        files_skipped=[
            ItemOutcome(item_id=f.source, kind="file", status="rejected", reason=f.reason)
            for f in files
            if f.status == "skipped"
        ],
        chunks=total_chunks,
        chunks_selected=len(selected_chunks),
        chunks_processed=len(selected_chunks) - len({failure.item_id for failure in chunk_failures}),
        chunks_failed=chunk_failures,
        generated=generated,
        accepted=len(kept),
        acceptance_rate=round(len(kept) / generated, 4) if generated else 0.0,
        coverage=round(sum(1 for c in selected_chunks if c.chunk_id in covered) / len(selected_chunks), 4)
        if selected_chunks
        else 0.0,
        revision_rounds=sum(sample.revision_rounds for sample in kept),
        rejected=len(rejected),
        failed=len(failed),
        duplicates_removed=len(duplicates),
        rejection_reasons=_reasons(rejected),
        failure_reasons=_reasons(failed + chunk_failures),
        rejected_items=rejected,
        failed_items=failed,
        splits=split.counts(),
        split_grouped_by=split.grouped_by,
        split_notes=split.notes,
        leakage_pairs=len(leakage.pairs),
        outputs=outputs,
        generator_usage=sum((r.generator_usage for r in results), TokenUsage()),
        reviewer_usage=sum((r.reviewer_usage for r in results), TokenUsage()),
        models=models,
        endpoints=endpoints or {},
        wall_time_s=round(time.perf_counter() - started, 2),
    )
    summary.outputs.update(write_report(out_dir, summary, selected_chunks, generated_by_chunk, kept))
    summary.outputs["report"] = str(out_dir / "report.json")
    write_json(out_dir / "report.json", summary.model_dump(mode="json"))
    return summary
