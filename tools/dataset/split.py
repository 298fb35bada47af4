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


# --- strategies for any dataset: random, grouped, stratified, time-ordered, k-fold ------------------------

STRATEGIES = ("random", "group", "stratify", "time")


def effective_settings(count: int, settings: SplitSettings) -> SplitSettings:
    """Small sets get the small-set ratios (80/10/10) unless ratios were chosen explicitly."""
    explicit = {"train", "validation", "test"} & settings.model_fields_set
    if explicit or count >= settings.small_set_size:
        return settings
    train, validation, test = settings.small_set_ratios
    return settings.model_copy(update={"train": train, "validation": validation, "test": test})


def _allocate(count: int, ratios: dict[str, float]) -> dict[str, int]:
    """Largest-remainder rounding of ``count`` over the ratios, so the sizes always add up to ``count``."""
    exact = {name: ratios[name] * count for name in SPLIT_NAMES}
    sizes = {name: int(value) for name, value in exact.items()}
    for name in sorted(SPLIT_NAMES, key=lambda n: -(exact[n] - sizes[n]))[: count - sum(sizes.values())]:
        sizes[name] += 1
    return sizes


def split_random(records: Sequence[R], settings: SplitSettings) -> SplitResult[R]:
    order = list(range(len(records)))
    random.Random(settings.seed).shuffle(order)
    sizes = _allocate(len(records), ratios_of(settings))
    result: SplitResult[R] = SplitResult(splits={}, grouped_by="record")
    start = 0
    for name in SPLIT_NAMES:
        result.splits[name] = [records[i] for i in sorted(order[start : start + sizes[name]])]
        start += sizes[name]
    return result


def split_stratified(records: Sequence[R], settings: SplitSettings, label_of: Callable[[R], str]) -> SplitResult[R]:
    """Each label (or domain) is split by the ratios on its own, so every split has the same label mix."""
    by_label: dict[str, list[int]] = {}
    for index, record in enumerate(records):
        by_label.setdefault(label_of(record), []).append(index)
    rng = random.Random(settings.seed)
    chosen: dict[str, list[int]] = {name: [] for name in SPLIT_NAMES}
    result: SplitResult[R] = SplitResult(splits={}, grouped_by="stratified")
    for label in sorted(by_label):
        members = by_label[label]
        rng.shuffle(members)
        sizes = _allocate(len(members), ratios_of(settings))
        start = 0
        for name in SPLIT_NAMES:
            chosen[name] += members[start : start + sizes[name]]
            start += sizes[name]
        if len(members) < 3:
            result.notes.append(f"label {label!r} has only {len(members)} record(s): not in every split")
    result.splits = {name: [records[i] for i in sorted(chosen[name])] for name in SPLIT_NAMES}
    return result


def split_by_time(records: Sequence[R], settings: SplitSettings, date_of: Callable[[R], str]) -> SplitResult[R]:
    """Oldest records train, newer validate, newest test: a time series is never split at random.

    Dates are compared as ISO-8601 strings (YYYY-MM-DD…), so they must be written that way.
    """
    dated = sorted(range(len(records)), key=lambda i: (date_of(records[i]), i))
    sizes = _allocate(len(records), ratios_of(settings))
    result: SplitResult[R] = SplitResult(splits={}, grouped_by="time")
    start = 0
    for name in SPLIT_NAMES:
        result.splits[name] = [records[i] for i in dated[start : start + sizes[name]]]
        start += sizes[name]
    return result


def k_fold(
    records: Sequence[R], k: int, seed: int, group_of: Callable[[R], str] | None = None
) -> list[tuple[list[R], list[R]]]:
    """``k`` (train, held-out) folds; with ``group_of`` a group is never on both sides of a fold."""
    if k < 2:
        raise SplitError(f"k-fold needs k >= 2, got {k}")
    keys = [group_of(r) if group_of else str(i) for i, r in enumerate(records)]
    groups = sorted(set(keys))
    if len(groups) < k:
        raise SplitError(f"only {len(groups)} group(s) for {k} folds; lower k or group by something finer")
    random.Random(seed).shuffle(groups)
    fold_of = {group: index % k for index, group in enumerate(groups)}
    folds = []
    for fold in range(k):
        held = [r for r, key in zip(records, keys, strict=True) if fold_of[key] == fold]
        rest = [r for r, key in zip(records, keys, strict=True) if fold_of[key] != fold]
        folds.append((rest, held))
    return folds


def field_getter(name: str) -> Callable[[object], str]:
    """A record's value at a (dotted) field, as a string key; missing values group together as ''."""

    def get(record: object) -> str:
        value: object = record
        for part in name.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        return "" if value is None else str(value)

    return get


def split_records(
    records: Sequence[R], settings: SplitSettings, strategy: str = "random", key: str | None = None
) -> SplitResult[R]:
    """Split plain records: ``random``; ``group`` (no value of ``key`` spans two splits); ``stratify`` by
    ``key`` (label/domain); ``time`` ordered by the date in ``key``. Adds the ``full`` set (the union)."""
    if strategy not in STRATEGIES:
        raise SplitError(f"unknown split strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}")
    if strategy != "random" and not key:
        raise SplitError(f"the {strategy!r} strategy needs a field: pass --key FIELD")
    settings = effective_settings(len(records), settings)
    if strategy == "group":
        assert key is not None
        result = split_grouped(records, settings, [(key, field_getter(key))])
        if result.grouped_by != key:
            raise SplitError(f"too few distinct '{key}' values to keep groups apart; " + "; ".join(result.notes))
    elif strategy == "stratify":
        assert key is not None
        result = split_stratified(records, settings, field_getter(key))
    elif strategy == "time":
        assert key is not None
        missing = sum(1 for r in records if not field_getter(key)(r))
        if missing:
            raise SplitError(f"{missing} record(s) have no '{key}' date; a time split needs a date on every record")
        result = split_by_time(records, settings, field_getter(key))
    else:
        result = split_random(records, settings)
    result.splits["full"] = [r for name in SPLIT_NAMES for r in result.splits.get(name, [])]
    result.notes.append(
        f"ratios {settings.train:.2f}/{settings.validation:.2f}/{settings.test:.2f}, seed {settings.seed}"
    )
    return result
