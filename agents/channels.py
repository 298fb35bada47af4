"""Reducers for LangGraph delta channels (``DeltaChannel``): a checkpoint keeps each write once and rebuilds
the value by replaying writes, instead of storing the whole value again at every step. That keeps a build's
checkpoints proportional to what it produced, not to steps x state size.

Reducers must be deterministic and give the same value whether writes come one by one or in one batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def latest(current: Any, writes: Sequence[Any]) -> Any:
    """A value replaced by each write (the last write wins)."""
    return writes[-1] if writes else current


def concatenated(current: list[Any], writes: Sequence[list[Any]]) -> list[Any]:
    """A list that each write appends to."""
    return [*current, *(item for write in writes for item in write)]
