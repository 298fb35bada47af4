"""State of a build run as the graph sees it.

Per-chunk work fans out with ``Send``; what the branches produce comes back through reducers. Queues for the
next stage use a reducer that a router node can reset (by writing ``None``) after dispatching them.
"""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

from ftds.tools.labels import LabelTree
from ftds.tools.pipeline import ChunkResult
from ftds.tools.records import Chunk, FileReport, ReviewVerdict, RunSummary, Sample


def queue(old: list[Any] | None, new: list[Any] | None) -> list[Any]:
    """Append to a queue; ``None`` empties it (written by the router that dispatched its items)."""
    return [] if new is None else [*(old or []), *new]


class ChunkTask(TypedDict):
    """Payload of one generation branch. ``revise`` holds samples to rewrite with the reviewer's verdict."""

    chunk: Chunk
    round: int
    revise: list[tuple[Sample, ReviewVerdict]]
    labels: LabelTree | None


class ReviewTask(TypedDict):
    chunk: Chunk
    round: int
    samples: list[Sample]
    labels: LabelTree | None


class BuildState(TypedDict, total=False):
    inputs: list[str]
    files: list[FileReport]
    total_chunks: int
    chunks: list[Chunk]
    label_tree: LabelTree | None
    outline: list[list[str]]
    results: Annotated[list[ChunkResult], operator.add]
    review_queue: Annotated[list[ReviewTask], queue]
    revise_queue: Annotated[list[ChunkTask], queue]
    summary: RunSummary
