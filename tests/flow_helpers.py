"""Test helpers that drive the ONE per-chunk flow and the build graph without the CLI or a checkpointer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ftds.agents.chunk_flow import run_chunk
from ftds.agents.context import BuildContext
from ftds.agents.graph import build_graph, run_config
from ftds.tools.build.steps import ChunkResult
from ftds.tools.config import Settings
from ftds.tools.generation.labels import LabelTree
from ftds.tools.llm.base import ChatModel
from ftds.tools.records import Chunk

DATASET_FILES = ("provenance/train.jsonl", "provenance/validation.jsonl", "provenance/test.jsonl", "rejected.jsonl")
"""What makes two builds' datasets the same: the accepted samples per split and the rejected ones."""


def dataset_files(out: Path) -> dict[str, str]:
    """A build folder's dataset files as text, to compare two builds byte for byte."""
    return {name: (out / name).read_text(encoding="utf-8") for name in DATASET_FILES}


async def process_chunk(
    chunk: Chunk, generator: ChatModel, reviewer: ChatModel, settings: Settings, *, labels: LabelTree | None = None
) -> ChunkResult:
    """One chunk through the per-chunk flow (the same flow a build runs)."""
    context = BuildContext(settings, generator, reviewer, out_dir=Path("unused"), run_id="test", labels=labels)
    return await run_chunk(chunk, context)


async def run_build(inputs: list[Path], context: BuildContext) -> dict[str, Any]:
    """The whole build graph without checkpoints; returns the final state (its ``summary`` is the report)."""
    state: dict[str, Any] = await build_graph().ainvoke(
        {"inputs": [str(p) for p in inputs], "results": []}, context=context, config=run_config(context)
    )
    return state
