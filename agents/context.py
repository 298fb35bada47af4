"""Run-time dependencies of the graph, injected per run so tests can swap in fakes."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ftds.agents.events import ChunkDoneEvent, ProgressCallback, ignore
from ftds.tools.config import Settings
from ftds.tools.confinement import Confinement
from ftds.tools.generation.labels import LabelTree
from ftds.tools.llm.base import ChatModel
from ftds.tools.records import Chunk

if TYPE_CHECKING:
    from ftds.tools.build.steps import ChunkResult


@dataclass
class BuildContext:
    settings: Settings
    generator: ChatModel
    reviewer: ChatModel
    out_dir: Path
    run_id: str
    on_event: ProgressCallback = ignore
    started: float = field(default_factory=time.perf_counter)
    confinement: Confinement | None = None  # set by the MCP server: files the run reads stay in its roots
    labels: LabelTree | None = None
    """The run's label tree, fixed once by the plan step (restored from the checkpoint on resume)."""
    chunks: dict[str, Chunk] = field(default_factory=dict)
    """The selected chunks by id: the per-chunk flows carry only ids (restored from the checkpoint on resume)."""

    def chunk(self, chunk_id: str) -> Chunk:
        return self.chunks[chunk_id]

    def emit_chunk_done(self, result: ChunkResult) -> None:
        self.on_event(
            ChunkDoneEvent(
                chunk_id=result.chunk_id,
                generated=result.generated,
                accepted=len(result.accepted),
                rejected=len(result.rejected),
                failed=len(result.failed) + (1 if result.chunk_failure else 0),
                tokens=result.generator_usage.total_tokens + result.reviewer_usage.total_tokens,
                failure=result.chunk_failure.reason if result.chunk_failure else None,
            )
        )
