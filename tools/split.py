"""Seeded train/validation/test splits that keep related records together.

Records are grouped (by source document when there are enough documents, else by chunk) and whole groups
are dealt to the split furthest below its target share, so no document — or at least no chunk — ever
appears in two splits. The same seed and input always give the same split.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from ftds.tools.config import SplitSettings

R = TypeVar("R")
SPLIT_NAMES = ("train", "validation", "test")


class SplitError(ValueError):
    pass


@dataclass
class SplitResult(Generic[R]):
    splits: dict[str, list[R]] = field(default_factory=dict)
    grouped_by: str = "record"
    notes: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {name: len(items) for name, items in self.splits.items()}


def ratios_of(settings: SplitSettings) -> dict[str, float]:
    return {"train": settings.train, "validation": settings.validation, "test": settings.test}


def split_grouped(
    records: Sequence[R],
    settings: SplitSettings,
    group_keys: Sequence[tuple[str, Callable[[R], str]]] = (),
) -> SplitResult[R]:
    """Split ``records`` by ratio. ``group_keys`` are tried in order: the first that yields at least one
    group per non-empty split is used; with none usable each record is its own group."""
    ratios = ratios_of(settings)
    wanted = [name for name in SPLIT_NAMES if ratios[name] > 0]
    result: SplitResult[R] = SplitResult(splits={name: [] for name in SPLIT_NAMES})
    if not records:
        return result
    groups: dict[str, list[R]] = {}
    for name, key_of in group_keys:
        candidate: dict[str, list[R]] = {}
        for record in records:
            candidate.setdefault(key_of(record), []).append(record)
        if len(candidate) >= len(wanted):
            groups, result.grouped_by = candidate, name
            break
        result.notes.append(f"only {len(candidate)} distinct {name} value(s): too few to group by {name}")
    if not groups:
        groups = {str(i): [record] for i, record in enumerate(records)}
    order = sorted(groups)
    random.Random(settings.seed).shuffle(order)
    order.sort(key=lambda k: -len(groups[k]))  # big groups first, ties in seeded order (sort is stable)
    total = len(records)
    for key in order:
        deficit = {name: ratios[name] * total - len(result.splits[name]) for name in wanted}
        empty = [name for name in wanted if not result.splits[name]]
        target = (
            empty[0]
            if empty and len(groups) - order.index(key) <= len(empty)
            else max(deficit, key=deficit.__getitem__)
        )
        result.splits[target].extend(groups[key])
    if len(records) < len(wanted):
        result.notes.append(f"{len(records)} record(s) cannot fill {len(wanted)} splits; some are empty")
    return result
