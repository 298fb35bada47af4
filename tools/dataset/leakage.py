"""Leakage audit: near-duplicates that sit in two different splits, or in a split and the evaluation set.

A test question whose near-twin is in train measures memory, not skill; the audit runs after every split
and reports each leaking pair so it can be fixed (re-split grouped, or drop the twin).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

from ftds.tools.config import DedupeSettings


@dataclass
class LeakPair:
    left: str  # split name (or "eval")
    left_index: int
    right: str
    right_index: int
    similarity: float


@dataclass
class LeakageReport:
    threshold: float
    pairs: list[LeakPair] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for pair in self.pairs:
            key = f"{pair.left}~{pair.right}"
            counts[key] = counts.get(key, 0) + 1
        return counts

    @property
    def clean(self) -> bool:
        return not self.pairs


def audit_leakage(
    splits: Mapping[str, Sequence[Any]],
    settings: DedupeSettings,
    eval_records: Sequence[Any] | None = None,
    eval_name: str = "eval",
) -> LeakageReport:
    """Near-duplicate pairs (MinHash Jaccard >= leakage_threshold) across splits and against ``eval_records``."""
    from ftds.tools.dataset.dedupe import record_text
    from ftds.tools.dataset.near_dup import cross_pairs

    threshold = settings.leakage_threshold
    texts = {name: [record_text(r) for r in items] for name, items in splits.items() if items and name != "full"}
    report = LeakageReport(threshold=threshold)
    for left, right in combinations(texts, 2):
        for i, j, similarity in cross_pairs(texts[left], texts[right], settings, threshold):
            report.pairs.append(LeakPair(left, i, right, j, similarity))
    if eval_records:
        eval_texts = [record_text(r) for r in eval_records]
        for name, items in texts.items():
            for i, j, similarity in cross_pairs(items, eval_texts, settings, threshold):
                report.pairs.append(LeakPair(name, i, eval_name, j, similarity))
    return report
