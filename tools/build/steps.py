"""The build steps as plain functions: pick chunks, process one chunk, assemble the dataset and report.

The LangGraph graph in ``agents/`` only orders these calls; anything here can be run from a Python shell.
Accounting is exact: every generated sample ends accepted, rejected (with a reason) or failed (with a
reason), and every selected chunk ends processed or failed.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, Field

from ftds.tools.config import Settings
from ftds.tools.dataset.export import CardInfo, export_build, write_rejected
from ftds.tools.dataset.files import DatasetFolder, write_json
from ftds.tools.dataset.dedupe import dedupe_samples
from ftds.tools.generation.task_table import task_spec
from ftds.tools.dataset.leakage import audit_leakage
from ftds.tools.evaluation.items import EvalItem
from ftds.tools.reasons import Reason
from ftds.tools.records import (
    Chunk,
    EndpointFigures,
    ExecutorFigures,
    FileReport,
    ItemOutcome,
    Rejection,
    ReviewVerdict,
    RunSummary,
    Sample,
    TokenUsage,
)
from ftds.tools.build.report import write_report
from ftds.tools.dataset.split import effective_settings, split_grouped


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
    # short chunks set aside above may leave fewer than ``limit`` to pick from: then every one is picked
    remaining = min(limit, sum(len(doc_chunks) for doc_chunks in by_doc.values()))
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
    eval_items: list[EvalItem] = Field(
        default_factory=list, description="The `eval` task's items (vetted by code, not reviewed)."
    )
    rejected: list[ItemOutcome] = Field(default_factory=list)
    failed: list[ItemOutcome] = Field(default_factory=list)
    chunk_failure: ItemOutcome | None = None
    rejected_samples: list[Sample] = Field(
        default_factory=list, description="The samples behind `rejected` (and failed reviews), whole, with reasons."
    )
    generator_usage: TokenUsage = Field(default_factory=TokenUsage)
    reviewer_usage: TokenUsage = Field(default_factory=TokenUsage)


def merge_results(parts: Sequence[ChunkResult]) -> ChunkResult:
    """One chunk's result from what each step of its flow added (draft, reviews, revisions)."""
    merged = ChunkResult(chunk_id=parts[0].chunk_id)
    for part in parts:
        merged.generated += part.generated
        merged.accepted += part.accepted
        merged.eval_items += part.eval_items
        merged.rejected += part.rejected
        merged.failed += part.failed
        merged.rejected_samples += part.rejected_samples
        merged.chunk_failure = merged.chunk_failure or part.chunk_failure
        merged.generator_usage = merged.generator_usage + part.generator_usage
        merged.reviewer_usage = merged.reviewer_usage + part.reviewer_usage
    return merged


def revision_exhausted(flagged: Sequence[tuple[Sample, ReviewVerdict]], rounds_done: int) -> list[ItemOutcome]:
    """Samples still flagged for revision when no revision round is left: rejected, with the feedback. One the
    pre-check or a code check flagged keeps its reason (``precheck:not_a_question``, ``check:key_terms`` ...)."""
    return [_still_flagged(sample, verdict, rounds_done) for sample, verdict in flagged]


def _still_flagged(sample: Sample, verdict: ReviewVerdict, rounds_done: int) -> ItemOutcome:
    if verdict.from_code:
        reason, detail = verdict.rationale, f"after {rounds_done} revision(s): {sample.question[:200]}"
    else:
        reason = Reason.REVIEW_NOT_FIXED_BY_REVISION if rounds_done else Reason.REVIEW_NEEDS_REVISION
        detail = f"score {verdict.total:.2f} after {rounds_done} revision(s): {verdict.feedback}"
    return ItemOutcome(item_id=sample.sample_id, kind="sample", status="rejected", reason=reason, detail=detail)


def card_info(settings: Settings, kept: Sequence[Sample], rejected: Sequence[Sample] = ()) -> CardInfo:
    """The dataset card's facts for a build: name, languages, where the samples came from, and how many
    samples (accepted and rejected) passed and failed each check."""
    from ftds.tools.generation.checks import count_checks

    return CardInfo(
        name=f"ftds-{settings.build.domain}-{settings.build.task}",
        languages=sorted({s.language for s in kept if s.language}),
        task_categories=["question-answering", "text-generation"],
        description=f"{settings.build.task} samples for the {settings.build.domain} domain, each generated from a "
        "chunk of the source documents and accepted by a reviewer model (see provenance/).",
        provenance={
            "sources": sorted({s.provenance.source for s in kept}),
            "models": sorted({s.model for s in kept}),
            "prompt_versions": sorted({s.prompt_version for s in kept}),
        },
        checks=count_checks([*kept, *rejected]),
    )


def rejected_whole(samples: Sequence[Sample], outcomes: Sequence[ItemOutcome]) -> list[Sample]:
    """The samples behind sample-level outcomes (rejections, or failed reviews), whole, each with its reason as
    ``rejection``, so ``rejected.jsonl`` keeps them and they can be looked at and rescued."""
    by_id = {sample.sample_id: sample for sample in samples}
    return [
        by_id[item.item_id].model_copy(update={"rejection": Rejection(reason=item.reason, detail=item.detail)})
        for item in outcomes
        if item.kind == "sample" and item.item_id in by_id
    ]


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
            reason=Reason.OVER_TARGET,
            detail=f"the target of {target} samples was reached with better-scored or other-label samples",
        )
        for s in samples
        if s.sample_id not in kept_ids
    ]
    return [s for s in samples if s.sample_id in kept_ids], dropped


def _reasons(items: Sequence[ItemOutcome]) -> dict[str, int]:
    return dict(Counter(item.reason for item in items).most_common())


@dataclass(frozen=True)
class FinalizeJob:
    """What finalizing a build works from: what was loaded and selected, and every chunk's result (in chunk
    order, so a resumed run gives the same output)."""

    run_id: str
    settings: Settings
    files: Sequence[FileReport]
    total_chunks: int
    selected_chunks: Sequence[Chunk]
    results: Sequence[ChunkResult]
    out_dir: Path
    started: float
    models: dict[str, str]
    endpoints: dict[str, EndpointFigures] | None = None
    """The adaptive-concurrency figures of the endpoints the run called."""
    executor: ExecutorFigures | None = None


def finalize_build(job: FinalizeJob) -> RunSummary:
    """The task's own finalize (``TaskSpec.finalize``: the ``eval`` task writes an evaluation set), else the
    training dataset."""
    return (task_spec(job.settings.build.task).finalize or finalize_dataset)(job)


def finalize_dataset(job: FinalizeJob) -> RunSummary:
    """Dedupe, split and export the accepted samples, and write ``report.json`` accounting for everything.

    ``results`` may hold several fragments per chunk; counts are summed over them. The samples each result
    rejected (``ChunkResult.rejected_samples``, with ``rejection`` set) go to ``rejected.jsonl`` whole, with
    the duplicates and over-target samples rejected here (the counts in report.json come from the outcomes).
    The dataset ``out_dir`` held before is replaced: every file its manifest lists is removed first."""
    settings, results, out_dir = job.settings, job.results, job.out_dir
    accepted = [sample for result in results for sample in result.accepted]
    methods = list(settings.build.dedupe)
    if settings.build.dedupe_against and "semantic" not in methods:
        methods.append("semantic")
    kept, duplicates = dedupe_samples(
        accepted,
        settings.dedupe,
        methods,
        store_dir=settings.cache_dir / "dedupe-store",
        against=settings.build.dedupe_against,
        remember_as=settings.build.dataset_name or out_dir.resolve().name,
    )
    after_review = task_spec(settings.build.task).after_review
    if after_review is not None:
        kept = after_review(kept)
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
    folder = DatasetFolder(out_dir, "build", job.run_id)
    rejected_samples = [sample for result in results for sample in result.rejected_samples]
    exported = export_build(
        split.splits,
        out_dir,
        settings.build.task,
        settings.build.formats,
        card_info(settings, kept, rejected_samples),
        with_context=settings.build.with_context,
    )
    outputs = dict(exported.files)
    outputs["rejected"] = write_rejected(
        out_dir, [*rejected_samples, *rejected_whole(accepted, [*duplicates, *over_target])]
    )
    leakage = audit_leakage(
        {
            name: [{"instruction": s.question, "output": s.answer} for s in items]
            for name, items in split.splits.items()
        },
        settings.dedupe,
    )
    summary = write_run_report(
        job,
        kept=kept,
        late_rejected=[*duplicates, *over_target],
        duplicates_removed=len(duplicates),
        outputs=outputs,
        splits=split.counts(),
        split_grouped_by=split.grouped_by,
        split_notes=split.notes + exported.notes,
        leakage_pairs=len(leakage.pairs),
    )
    folder.seal()
    return summary


def write_run_report(
    job: FinalizeJob,
    *,
    kept: Sequence[Sample],
    late_rejected: Sequence[ItemOutcome],
    duplicates_removed: int,
    outputs: dict[str, str],
    splits: dict[str, int],
    split_grouped_by: str = "",
    split_notes: Sequence[str] = (),
    leakage_pairs: int = 0,
) -> RunSummary:
    """The run's accounting — every file, chunk and generated item: ``generated = accepted + rejected + failed``
    — as ``report.json``, ``report.md`` and ``report.html``, whatever the task wrote. ``kept`` are the items in
    the output (an evaluation set passes its items as samples), ``late_rejected`` what finalizing rejected
    (duplicates, over target, leakage)."""
    settings, files, results, selected = job.settings, job.files, job.results, job.selected_chunks
    rejected = [item for result in results for item in result.rejected] + list(late_rejected)
    failed = [item for result in results for item in result.failed]
    chunk_failures = [r.chunk_failure for r in results if r.chunk_failure is not None]
    generated_by_chunk: dict[str, int] = {}
    for result in results:
        generated_by_chunk[result.chunk_id] = generated_by_chunk.get(result.chunk_id, 0) + result.generated
    generated = sum(generated_by_chunk.values())
    covered = {sample.provenance.chunk_id for sample in kept}
    summary = RunSummary(
        run_id=job.run_id,
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
        chunks=job.total_chunks,
        chunks_selected=len(selected),
        chunks_processed=len(selected) - len({failure.item_id for failure in chunk_failures}),
        chunks_failed=chunk_failures,
        generated=generated,
        accepted=len(kept),
        acceptance_rate=round(len(kept) / generated, 4) if generated else 0.0,
        coverage=round(sum(1 for c in selected if c.chunk_id in covered) / len(selected), 4) if selected else 0.0,
        revision_rounds=sum(sample.revision_rounds for sample in kept),
        rejected=len(rejected),
        failed=len(failed),
        duplicates_removed=duplicates_removed,
        rejection_reasons=_reasons(rejected),
        failure_reasons=_reasons(failed + chunk_failures),
        rejected_items=rejected,
        failed_items=failed,
        splits=splits,
        split_grouped_by=split_grouped_by,
        split_notes=list(split_notes),
        leakage_pairs=leakage_pairs,
        outputs=dict(outputs),
        generator_usage=sum((r.generator_usage for r in results), TokenUsage()),
        reviewer_usage=sum((r.reviewer_usage for r in results), TokenUsage()),
        models=job.models,
        endpoints=job.endpoints or {},
        executor=job.executor,
        wall_time_s=round(time.perf_counter() - job.started, 2),
    )
    summary.outputs.update(write_report(job.out_dir, summary, selected, generated_by_chunk, kept))
    summary.outputs["report"] = str(job.out_dir / "report.json")
    write_json(job.out_dir / "report.json", summary.model_dump(mode="json"))
    return summary
