"""State of a build run as the graph sees it.

Per-chunk work fans out with ``Send`` to the per-chunk flow; what each flow produces comes back through the
``results`` reducer. The per-chunk flow's own state is in ``agents/chunk_flow.py``.
"""

from __future__ import annotations

import operator
from typing import Annotated, TypedDict

from ftds.tools.labels import LabelTree
from ftds.tools.pipeline import ChunkResult
from ftds.tools.records import Chunk, FileReport, RunSummary


class BuildState(TypedDict, total=False):
    inputs: list[str]
    files: list[FileReport]
    total_chunks: int
    chunks: list[Chunk]
    label_tree: LabelTree | None
    outline: list[list[str]]
    results: Annotated[list[ChunkResult], operator.add]
    summary: RunSummary
