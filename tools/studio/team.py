"""Team review: who reviews what (label scopes or sample ranges) and how far two reviewers agree.

Every human decision is kept in the ``reviews`` table with its reviewer, so a second pass over the same
samples (double review) needs no special mode: each reviewer decides, and :func:`agreement` compares the
latest decision of every pair of reviewers on the samples both judged, with Cohen's kappa.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ftds.tools.studio import store
from ftds.tools.studio.models import Assignment, PairAgreement, StudioError
from ftds.tools.studio.store import Workspace, assignments, samples

CATEGORIES = ("accept", "reject")


def assignment_condition(conn: Connection, dataset_id: int, reviewer: str) -> sa.ColumnElement[bool]:
    """Samples inside any of ``reviewer``'s assignments (nothing when they have none)."""
    from ftds.tools.studio.operations import label_condition

    rows = conn.execute(
        sa.select(assignments).where(assignments.c.dataset_id == dataset_id, assignments.c.reviewer == reviewer)
    ).all()
    conditions = [_scope(row.label_scope, row.range_start, row.range_end, label_condition) for row in rows]
    return sa.or_(*conditions) if conditions else sa.false()


def _scope(label: str | None, start: int | None, end: int | None, label_condition: Any) -> sa.ColumnElement[bool]:
    parts = []
    if label is not None:
        parts.append(label_condition(label))
    if start is not None:
        parts.append(samples.c.position >= start)
    if end is not None:
        parts.append(samples.c.position < end)
    return sa.and_(*parts) if parts else sa.true()


def assign(
    ws: Workspace,
    dataset: int | str,
    reviewer: str,
    *,
    label_scope: str | None = None,
    range_start: int | None = None,
    range_end: int | None = None,
) -> Assignment:
    """Give ``reviewer`` a label (with its sub-labels) and/or a range of sample positions [start, end)."""
    from ftds.tools.studio.operations import dataset_id_of

    reviewer = reviewer.strip()
    if not reviewer:
        raise StudioError("an assignment needs a reviewer name")
    if label_scope is None and range_start is None and range_end is None:
        raise StudioError("an assignment needs a label scope or a sample range")
    if range_start is not None and range_end is not None and range_end <= range_start:
        raise StudioError(f"the range end ({range_end}) must be after its start ({range_start})")
    dataset_id = dataset_id_of(ws, dataset)
    with store.writing(ws, dataset_id) as conn:
        new_id = conn.execute(
            sa.insert(assignments).values(
                dataset_id=dataset_id,
                reviewer=reviewer,
                label_scope=label_scope or None,
                range_start=range_start,
                range_end=range_end,
                created_at=time.time(),
            )
        ).inserted_primary_key[0]  # type: ignore[index]
        summary = f"assign {reviewer}: " + ", ".join(
            part
            for part in (
                f"label {label_scope}" if label_scope else "",
                f"samples {range_start or 0}..{range_end}" if range_start is not None or range_end is not None else "",
            )
            if part
        )
        store.record_audit(conn, dataset_id, reviewer, "assign", summary, [])
    return next(a for a in list_assignments(ws, dataset_id) if a.id == new_id)


def unassign(ws: Workspace, dataset: int | str, assignment_id: int) -> None:
    from ftds.tools.studio.operations import dataset_id_of

    dataset_id = dataset_id_of(ws, dataset)
    with store.writing(ws, dataset_id) as conn:
        gone = conn.execute(
            sa.delete(assignments).where(assignments.c.id == assignment_id, assignments.c.dataset_id == dataset_id)
        )
        if not gone.rowcount:
            raise StudioError(f"no assignment {assignment_id} in this dataset")


def list_assignments(ws: Workspace, dataset: int | str) -> list[Assignment]:
    from ftds.tools.studio.operations import dataset_id_of, label_condition

    dataset_id = dataset_id_of(ws, dataset)
    with store.reading(ws) as conn:
        rows = conn.execute(
            sa.select(assignments).where(assignments.c.dataset_id == dataset_id).order_by(assignments.c.id)
        ).all()
        out = []
        for row in rows:
            count = conn.execute(
                sa.select(sa.func.count()).where(
                    samples.c.dataset_id == dataset_id,
                    _scope(row.label_scope, row.range_start, row.range_end, label_condition),
                )
            ).scalar_one()
            out.append(
                Assignment(
                    id=row.id,
                    reviewer=row.reviewer,
                    label_scope=row.label_scope,
                    range_start=row.range_start,
                    range_end=row.range_end,
                    samples=count,
                )
            )
    return out


def cohen_kappa(pairs: Sequence[tuple[str, str]], categories: Sequence[str] = CATEGORIES) -> PairAgreement:
    """Cohen's kappa of two raters' labels on the same items: (p_o - p_e) / (1 - p_e), where p_o is the
    share of items they agree on and p_e the agreement expected by chance from each rater's marginals."""
    cats = list(dict.fromkeys([*categories, *(a for a, _ in pairs), *(b for _, b in pairs)]))
    matrix = {a: dict.fromkeys(cats, 0) for a in cats}
    for a, b in pairs:
        matrix[a][b] += 1
    n = len(pairs)
    if n == 0:
        return PairAgreement(reviewers=("", ""), samples=0, observed=0.0, expected=0.0, kappa=None, matrix=matrix)
    observed = sum(matrix[c][c] for c in cats) / n
    expected = sum((sum(matrix[c].values()) / n) * (sum(matrix[r][c] for r in cats) / n) for c in cats)
    if n < 2:
        kappa = None
    elif expected == 1.0:
        kappa = 1.0 if observed == 1.0 else None  # both raters used one category only
    else:
        kappa = round((observed - expected) / (1 - expected), 4)
    return PairAgreement(
        reviewers=("", ""),
        samples=n,
        observed=round(observed, 4),
        expected=round(expected, 4),
        kappa=kappa,
        matrix=matrix,
    )


def agreement(ws: Workspace, dataset: int | str) -> list[PairAgreement]:
    """Kappa for every pair of reviewers over the samples both decided (each one's latest decision)."""
    from ftds.tools.studio.operations import dataset_id_of

    dataset_id = dataset_id_of(ws, dataset)
    reviews = store.reviews
    with store.reading(ws) as conn:
        rows = conn.execute(
            sa.select(reviews.c.reviewer, reviews.c.sample_row, reviews.c.decision)
            .where(reviews.c.dataset_id == dataset_id)
            .order_by(reviews.c.id)
        ).all()
    latest: dict[str, dict[int, str]] = {}
    for reviewer, sample_row, decision in rows:
        latest.setdefault(reviewer, {})[sample_row] = decision
    out = []
    for first, second in itertools.combinations(sorted(latest), 2):
        shared = sorted(set(latest[first]) & set(latest[second]))
        if not shared:
            continue
        result = cohen_kappa([(latest[first][s], latest[second][s]) for s in shared])
        out.append(result.model_copy(update={"reviewers": (first, second)}))
    return out
