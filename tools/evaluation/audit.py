"""No leakage by construction: keep evaluation items off the training data.

An evaluation item whose near-twin was trained on measures memory, not skill. :func:`audit_eval_against_training`
excludes, with the reason listed, every item that

- comes from a section (heading path) or a whole document the training set also used, when a holdout mode is
  asked for (``holdout:section`` / ``holdout:document``);
- is within the near-duplicate threshold (``DedupeSettings.leakage_threshold``, Jaccard of character
  n-grams) of any training sample, comparing whole texts and questions alone (``near_duplicate``). LSH only
  proposes candidates, at a lower threshold; the decision is the exact Jaccard of the two n-gram sets, so no
  estimate error lets a twin through;
- means the same as a training sample (cosine of sentence embeddings >= ``semantic_threshold``,
  ``semantic_duplicate``), when the semantic audit is on.

Training records may be :class:`Sample` objects, their JSON dumps (a build's ``provenance/*.jsonl``), or
records of any format ftds reads (Alpaca, ShareGPT, ...; those carry no provenance, so only the
similarity audits apply to them). :func:`partition_chunks` is the other half: choosing held-out sections
before either set is generated.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, Field

from ftds.tools.config import DedupeSettings
from ftds.tools.evaluation.items import EvalItem, item_text
from ftds.tools.reasons import Reason
from ftds.tools.records import Chunk, Provenance, Sample

HoldoutMode = Literal["none", "section", "document"]
HOLDOUT_REASONS = {"section": Reason.EVAL_HOLDOUT_SECTION, "document": Reason.EVAL_HOLDOUT_DOCUMENT}
CANDIDATE_MARGIN = 0.15
"""LSH proposes pairs this far below the threshold; the exact Jaccard then decides."""


class Exclusion(BaseModel):
    """One evaluation item left out, and why."""

    item_id: str
    reason: str = Field(
        description="eval:leak_near_duplicate, eval:leak_semantic_duplicate, eval:holdout_section or "
        "eval:holdout_document (ftds.tools.reasons)"
    )
    training_index: int | None = Field(default=None, description="Position of the matching training record.")
    training_id: str | None = Field(default=None, description="sample_id of the matching training record, if any.")
    similarity: float | None = None
    detail: str = ""


class AuditReport(BaseModel):
    """What the leakage audit compared and what it excluded (written to the set's ``audit.json``)."""

    items_in: int
    items_kept: int
    training_records: int
    training_with_provenance: int
    holdout: HoldoutMode
    near_threshold: float
    semantic_threshold: float | None = Field(default=None, description="None when the semantic audit was off.")
    embedder: str | None = None
    excluded: list[Exclusion] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)

    @property
    def reasons(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for exclusion in self.excluded:
            counts[exclusion.reason] = counts.get(exclusion.reason, 0) + 1
        return counts


class TrainingText(BaseModel):
    """What the audit needs of one training record."""

    index: int
    sample_id: str | None = None
    text: str
    question: str | None = None
    provenance: Provenance | None = None


def training_texts(records: Iterable[Any]) -> list[TrainingText]:
    """Texts (and provenance where known) of training records of any supported shape."""
    from ftds.tools.dataset.dedupe import record_text

    out: list[TrainingText] = []
    for index, record in enumerate(records):
        if isinstance(record, dict) and "question" in record and "provenance" in record:
            record = Sample.model_validate(record)
        if isinstance(record, Sample):
            out.append(
                TrainingText(
                    index=index,
                    sample_id=record.sample_id,
                    text=f"{record.question}\n{record.answer}",
                    question=record.question,
                    provenance=record.provenance,
                )
            )
        else:
            out.append(TrainingText(index=index, text=record_text(record)))
    return out


def holdout_key(provenance: Provenance, mode: HoldoutMode) -> tuple[str, ...] | None:
    """The unit held out together: a whole document (its source) or one section (source + heading path)."""
    if mode == "document":
        return (provenance.source,)
    if mode == "section":
        return (provenance.source, *provenance.heading_path)
    return None


def exact_jaccard(left: np.ndarray, right: np.ndarray) -> float:
    """Jaccard similarity of two sets of shingle hashes (as ``dataset.near_dup.shingle_sets`` gives them)."""
    if not len(left) and not len(right):
        return 1.0
    inter = len(np.intersect1d(left, right, assume_unique=True))
    return inter / (len(left) + len(right) - inter)


def _near_pairs(
    train: Sequence[str], evals: Sequence[str], settings: DedupeSettings, threshold: float
) -> list[tuple[int, int, float]]:
    """(train index, eval index, exact Jaccard >= threshold): LSH candidates at a lower threshold, then exact."""
    from ftds.tools.dataset.near_dup import cross_pairs, shingle_sets

    if not train or not evals:
        return []
    candidates = cross_pairs(train, evals, settings, max(0.05, threshold - CANDIDATE_MARGIN))
    if not candidates:
        return []
    needed_train = sorted({i for i, _, _ in candidates})
    needed_eval = sorted({j for _, j, _ in candidates})
    train_sets = dict(zip(needed_train, shingle_sets([train[i] for i in needed_train], settings), strict=True))
    eval_sets = dict(zip(needed_eval, shingle_sets([evals[j] for j in needed_eval], settings), strict=True))
    pairs = []
    for i, j, _ in candidates:
        similarity = exact_jaccard(train_sets[i], eval_sets[j])
        if similarity >= threshold:
            pairs.append((i, j, similarity))
    return pairs


def audit_eval_against_training(
    eval_items: Sequence[EvalItem],
    training_records: Iterable[Any],
    dedupe_settings: DedupeSettings | None = None,
    *,
    holdout: HoldoutMode = "none",
    semantic: bool = False,
    embedder: Any = None,
) -> tuple[list[EvalItem], AuditReport]:
    """The items that may stay in the evaluation set, and the report listing every exclusion with its reason.

    Each item is excluded once, for the first reason found in this order: holdout, near duplicate, semantic
    duplicate (the strongest match is recorded). ``embedder`` overrides the one ``dedupe_settings`` names."""
    settings = dedupe_settings or DedupeSettings()
    training = training_texts(training_records)
    report = AuditReport(
        items_in=len(eval_items),
        items_kept=0,
        training_records=len(training),
        training_with_provenance=sum(1 for t in training if t.provenance is not None),
        holdout=holdout,
        near_threshold=settings.leakage_threshold,
        semantic_threshold=settings.semantic_threshold if semantic else None,
    )
    excluded: dict[str, Exclusion] = {}

    def exclude(item: EvalItem, exclusion: Exclusion) -> None:
        current = excluded.get(item.item_id)
        stronger = (exclusion.similarity or 0) > (current.similarity or 0) if current else True
        if current is None or (current.reason == exclusion.reason and stronger):
            excluded[item.item_id] = exclusion

    if holdout != "none":
        if report.training_with_provenance < len(training):
            report.notes.append(
                f"{len(training) - report.training_with_provenance} training records carry no provenance: the "
                f"{holdout} holdout cannot apply to them (the similarity audits still do)"
            )
        used: dict[tuple[str, ...], TrainingText] = {}
        for record in training:
            if record.provenance is not None:
                key = holdout_key(record.provenance, holdout)
                if key is not None:
                    used.setdefault(key, record)
        for item in eval_items:
            key = holdout_key(item.provenance, holdout)
            if key is not None and key in used:
                match = used[key]
                exclude(
                    item,
                    Exclusion(
                        item_id=item.item_id,
                        reason=HOLDOUT_REASONS[holdout],
                        training_index=match.index,
                        training_id=match.sample_id,
                        detail=" > ".join(key),
                    ),
                )

    remaining = [item for item in eval_items if item.item_id not in excluded]
    threshold = settings.leakage_threshold
    comparisons = [
        ([t.text for t in training], [item_text(i) for i in remaining], "text"),
        (
            [t.question or t.text for t in training],
            [i.question for i in remaining],
            "question",
        ),
    ]
    for train_side, eval_side, what in comparisons:
        for i, j, similarity in _near_pairs(train_side, eval_side, settings, threshold):
            item = remaining[j]
            if item.item_id in excluded and excluded[item.item_id].reason != Reason.EVAL_LEAK_NEAR_DUPLICATE:
                continue
            exclude(
                item,
                Exclusion(
                    item_id=item.item_id,
                    reason=Reason.EVAL_LEAK_NEAR_DUPLICATE,
                    training_index=training[i].index,
                    training_id=training[i].sample_id,
                    similarity=round(similarity, 4),
                    detail=f"{what} Jaccard {similarity:.3f} >= {threshold}",
                ),
            )

    remaining = [item for item in eval_items if item.item_id not in excluded]
    if semantic and remaining and training:
        from ftds.tools.dataset.semantic import make_embedder

        model = embedder or make_embedder(settings)
        report.embedder = getattr(model, "name", type(model).__name__)
        eval_vectors = model.embed([item_text(i) for i in remaining])
        train_vectors = model.embed([t.text for t in training])
        block = 1024
        for start in range(0, len(remaining), block):
            sims = eval_vectors[start : start + block] @ train_vectors.T
            best = sims.argmax(axis=1)
            for row, col in enumerate(best.tolist()):
                similarity = float(sims[row, col])
                if similarity >= settings.semantic_threshold:
                    item = remaining[start + row]
                    exclude(
                        item,
                        Exclusion(
                            item_id=item.item_id,
                            reason=Reason.EVAL_LEAK_SEMANTIC_DUPLICATE,
                            training_index=training[col].index,
                            training_id=training[col].sample_id,
                            similarity=round(similarity, 4),
                            detail=f"cosine {similarity:.3f} >= {settings.semantic_threshold}",
                        ),
                    )

    kept = [item for item in eval_items if item.item_id not in excluded]
    report.excluded = [excluded[i.item_id] for i in eval_items if i.item_id in excluded]
    report.items_kept = len(kept)
    return kept, report


def partition_chunks(
    chunks: Sequence[Chunk], eval_share: float, mode: HoldoutMode = "section", seed: int = 0
) -> tuple[list[Chunk], list[Chunk]]:
    """(eval chunks, training chunks): whole sections (or documents) drawn at random for evaluation, so that a
    build next to an evaluation set never trains on a held-out section. At least one unit goes each way when
    there are two or more."""
    if mode == "none":
        raise ValueError("partition_chunks needs a holdout mode: section or document")
    if not 0 < eval_share < 1:
        raise ValueError(f"eval_share must be between 0 and 1, got {eval_share}")
    units: dict[tuple[str, ...], list[Chunk]] = {}
    for chunk in chunks:
        key = holdout_key(chunk.provenance, mode)
        assert key is not None
        units.setdefault(key, []).append(chunk)
    keys = list(units)
    random.Random(seed).shuffle(keys)
    take = round(len(keys) * eval_share)
    if len(keys) >= 2:
        take = min(max(take, 1), len(keys) - 1)
    held = set(keys[:take])
    eval_chunks = [c for c in chunks if holdout_key(c.provenance, mode) in held]
    train_chunks = [c for c in chunks if holdout_key(c.provenance, mode) not in held]
    return eval_chunks, train_chunks
