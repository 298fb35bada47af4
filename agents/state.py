"""State of a build run as the graph sees it. Results from fanned-out chunk branches are appended."""

from __future__ import annotations

import operator
from typing import Annotated, TypedDict

from ftds.tools.pipeline import ChunkResult
from ftds.tools.records import Chunk, FileReport, RunSummary


class BuildState(TypedDict, total=False):
    inputs: list[str]
    files: list[FileReport]
    total_chunks: int
    chunks: list[Chunk]
    results: Annotated[list[ChunkResult], operator.add]
    summary: RunSummary


class ChunkTask(TypedDict):
    """The payload a ``Send`` carries to one chunk branch."""

    chunk: Chunk
