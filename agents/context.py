"""Run-time dependencies of the graph, injected per run so tests can swap in fakes."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from ftds.agents.events import ChunkDoneEvent, ProgressCallback, ignore
from ftds.tools.config import Settings
from ftds.tools.confinement import Confinement
from ftds.tools.dataset.files import write_jsonl
from ftds.tools.generation.labels import LabelTree
from ftds.tools.llm.base import ChatModel
from ftds.tools.records import Chunk, EndpointFigures, ExecutorFigures

if TYPE_CHECKING:
    from ftds.tools.build.steps import ChunkResult


class ChunkExecutor(Protocol):
    """Runs per-chunk flows somewhere other than this process (``agents/ray_executor.py``); it bounds the
    chunks in flight itself."""

    async def run(self, chunk: Chunk, labels: LabelTree | None) -> ChunkResult: ...

    def endpoint_figures(self) -> dict[str, EndpointFigures]: ...

    def figures(self) -> ExecutorFigures: ...

    def close(self) -> None: ...


LIVE_DIR = "live"
"""Where a running build writes each finished chunk's samples (one file per chunk), so they can be reviewed
(``ftds-agent studio``) before the dataset is finished; removed when the build finalizes."""


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
    live_dir: Path | None = None
    """A build's ``out/live`` folder (None outside a build: MCP ``generate_qa``, tests)."""
    chunks: dict[str, Chunk] = field(default_factory=dict)
    """The selected chunks by id: the per-chunk flows carry only ids (restored from the checkpoint on resume)."""
    executor: ChunkExecutor | None = None
    """Where the per-chunk flows run when not in this process (``--executor ray``); None = here."""

    def chunk(self, chunk_id: str) -> Chunk:
        return self.chunks[chunk_id]

    def emit_chunk_done(self, result: ChunkResult) -> None:
        """Report a finished chunk, and in a build write its samples (accepted, and rejected with their reason)
        to the live folder."""
        if self.live_dir is not None:
            samples = [*result.accepted, *result.rejected_samples]
            write_jsonl(self.live_dir / f"{result.chunk_id}.jsonl", (s.model_dump(mode="json") for s in samples))
        self.on_event(
            ChunkDoneEvent(
                chunk_id=result.chunk_id,
                generated=result.generated,
                accepted=len(result.accepted) + len(result.eval_items),
                rejected=len(result.rejected),
                failed=len(result.failed) + (1 if result.chunk_failure else 0),
                tokens=result.generator_usage.total_tokens + result.reviewer_usage.total_tokens,
                failure=result.chunk_failure.reason if result.chunk_failure else None,
            )
        )
