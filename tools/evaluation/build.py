"""Finalize an evaluation set: the ``eval`` task's finalize (``TaskSpec.finalize``) in the build graph.

``ftds-agent build --task eval`` (and its wrappers ``ftds-agent eval-set build``, MCP ``build_eval_set``) runs
the one per-chunk flow: each chunk's items come from :func:`ftds.tools.evaluation.generate.generate_eval_items`
(the task table's ``eval`` draft). This module does what needs every chunk: in-set dedupe, true/false balance,
the leakage audit against the training data (``--holdout-from``), the set folder with its exports and card,
and the run's ``report.json`` through the same accounting as a training build.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ftds.tools.config import Settings
from ftds.tools.evaluation.audit import AuditReport, audit_eval_against_training
from ftds.tools.evaluation.checks import balance_true_false
from ftds.tools.evaluation.generate import rejected_items
from ftds.tools.evaluation.items import EvalItem, item_text, reference_answer
from ftds.tools.evaluation.store import EvalSetInfo, summarise, write_eval_files
from ftds.tools.reasons import Reason
from ftds.tools.records import ItemOutcome, Rejection, RunSummary, Sample

if TYPE_CHECKING:
    from ftds.tools.build.steps import FinalizeJob


@dataclass
class FinishedSet:
    """A written set: its info and audit, the items kept, and the set-level rejections (in-set duplicates,
    true/false surplus, leakage) as outcomes."""

    info: EvalSetInfo
    audit: AuditReport
    kept: list[EvalItem]
    late: list[ItemOutcome]
    duplicates: int


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
) -> FinishedSet:
    """Set-level steps after generation — in-set dedupe, true/false balance, the leakage audit — then write the
    set's files into ``out_dir`` (a folder the caller holds). Every draft ends up in ``items.jsonl`` or
    ``rejected.jsonl`` (with its reason), every failed call in ``set.json``'s failures."""
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
    info = write_eval_files(out_dir, kept, info, rejected=[*rejected, *late], audit=audit)
    return FinishedSet(info, audit, kept, late_outcomes, len(duplicates))


def report_view(item: EvalItem) -> Sample:
    """An item as the run report sees a sample (question, reference answer, label, provenance), so the same
    report counts and plots an evaluation set."""
    return Sample(
        sample_id=item.item_id,
        task="eval",
        question=item.question,
        answer=reference_answer(item),
        label=item.label,
        domain=item.domain,
        language=item.language,
        provenance=item.provenance,
        model=item.model,
        prompt_version=item.prompt_version,
        evidence=item.evidence,
        checks=item.checks,
    )


def finalize_eval_build(job: FinalizeJob) -> RunSummary:
    """The ``eval`` task's finalize: every chunk's items -> :func:`finish_eval_set` (audited against
    ``evaluation.training``) -> the set folder, and ``report.json`` / ``report.md`` accounting for every file,
    chunk and item like any build. Raises :class:`TrainingDataError` when the training data cannot be read."""
    from ftds.tools.build.steps import write_run_report
    from ftds.tools.dataset.files import DatasetFolder

    settings, results = job.settings, job.results
    training = load_training_records(settings.evaluation.training)
    items = [item for result in results for item in result.eval_items]
    outcomes = [outcome for result in results for outcome in (*result.rejected, *result.failed)]
    failures = [r.chunk_failure for r in results if r.chunk_failure is not None]
    failures += [
        ItemOutcome(item_id=f.source, kind="file", status="failed", reason=f.reason or "unreadable")
        for f in job.files
        if f.status == "failed"
    ]
    folder = DatasetFolder(job.out_dir, "build", job.run_id)
    done = finish_eval_set(
        job.out_dir,
        items,
        outcomes,
        settings,
        training=training,
        name=settings.build.dataset_name or job.out_dir.resolve().name,
        generator=job.models.get("generator", ""),
        chunks_used=len(job.selected_chunks),
        extra_failures=failures,
    )
    summary = write_run_report(
        job,
        kept=[report_view(item) for item in done.kept],
        late_rejected=done.late,
        duplicates_removed=done.duplicates,
        outputs=done.info.outputs,
        splits={"test": len(done.kept)},
        split_notes=[f"an evaluation set: {len(done.kept)} items in items.jsonl (exports/ for evaluation tools)"],
    )
    folder.seal()
    return summary
