"""State of a build run as the graph sees it.

Per-chunk work fans out with ``Send`` to the per-chunk flow; what each flow produces comes back through the
``results`` reducer. The per-chunk flow's own state is in ``agents/chunk_flow.py``.
"""

from __future__ import annotations

from typing import Annotated, TypedDict

from langgraph.channels.delta import DeltaChannel

from ftds.agents.channels import concatenated, latest
from ftds.tools.build.steps import ChunkResult
from ftds.tools.generation.labels import LabelTree
from ftds.tools.records import Chunk, FileReport, RunSummary


class BuildState(TypedDict, total=False):
    """The large values are delta channels (``agents/channels.py``): stored once when written, not again in
    every later checkpoint."""

    inputs: list[str]
    files: Annotated[list[FileReport], DeltaChannel(latest)]
    total_chunks: int
    chunks: Annotated[list[Chunk], DeltaChannel(latest)]
    label_tree: LabelTree | None
    outline: Annotated[list[list[str]], DeltaChannel(latest)]
    results: Annotated[list[ChunkResult], DeltaChannel(concatenated)]
    summary: RunSummary
