"""The per-chunk flow: the one implementation of generator -> reviewer -> reviser -> reviewer.

    draft ──(samples to review)──> review ──(flagged, rounds left)──> revise ──(revised)──> review
      │                              │                                  │
      └──(nothing to review)─────────┴──(done)─────> done <─────────────┘(nothing revised)

Each node is one step of LLM work (the draft, one review call, one revision call), so with a checkpointer a
run killed mid-way resumes without repeating a finished call. The build graph fans out one flow per chunk
(``agents/graph.py``); each flow moves on as soon as its own call returns — no chunk waits for another.
MCP ``generate_qa``, the benchmarks and the fault tests run the same flow through :func:`run_chunks`.

What the task does at each step comes from the task table (``tools/generation/task_table.py``).
The state holds what resuming needs and nothing more: the chunk, the samples in flight, and the chunk's
result so far. The label tree is read from the context (the build keeps it in its own state once).
"""

from __future__ import annotations

import asyncio
import operator
from collections.abc import Sequence
from typing import Annotated, Any, Literal, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from ftds.agents.context import BuildContext
from ftds.tools.generation.task_table import DraftInputs, task_spec
from ftds.tools.labels import LabelTree
from ftds.tools.pipeline import ChunkResult, revision_exhausted
from ftds.tools.records import Chunk, ItemOutcome, Rejection, ReviewVerdict, Sample
from ftds.tools.review import review_samples
from ftds.tools.revise import revise_samples


class ChunkFlowInput(TypedDict):
    chunk: Chunk


class ChunkFlowOutput(TypedDict):
    results: Annotated[list[ChunkResult], operator.add]


class ChunkFlowState(TypedDict, total=False):
    chunk: Chunk
    round: int
    pending: list[Sample]
    """Samples waiting for the reviewer."""
    flagged: list[tuple[Sample, ReviewVerdict]]
    """Samples the reviewer sent back for revision, with its verdict."""
    result: ChunkResult
    results: Annotated[list[ChunkResult], operator.add]


def _inputs(ctx: BuildContext) -> DraftInputs:
    return DraftInputs(ctx.generator, ctx.reviewer, ctx.settings.build, ctx.labels)


async def draft(state: ChunkFlowState, *, runtime: Runtime[BuildContext]) -> dict[str, Any]:
    ctx, chunk = runtime.context, state["chunk"]
    made = await task_spec(ctx.settings.build.task).draft(chunk, _inputs(ctx))
    result = ChunkResult(
        chunk_id=chunk.chunk_id,
        generated=made.generated,
        accepted=made.accepted,
        rejected=made.rejected,
        failed=made.failed,
        chunk_failure=made.chunk_failure,
        generator_usage=made.generator_usage,
        reviewer_usage=made.reviewer_usage,
    )
    return {"result": result, "pending": made.pending, "round": 0, "flagged": []}


def position_label(chunk: Chunk, tree: LabelTree | None) -> str | None:
    """The chunk's own outline path, when the tree has it (a tree read off the outline): exact, where a small
    reviewer choosing among dozens of chapters often picks the wrong one."""
    path = chunk.provenance.heading_path[:2]
    return tree.resolve("/".join(path)) if tree is not None and path else None


def rejected_whole(samples: Sequence[Sample], outcomes: Sequence[ItemOutcome]) -> list[Sample]:
    """The samples that were not accepted, whole, each with its reason, so they can be looked at and rescued
    (a sample whose review call failed is kept the same way, with the failure as its reason)."""
    by_id = {sample.sample_id: sample for sample in samples}
    return [
        by_id[item.item_id].model_copy(update={"rejection": Rejection(reason=item.reason, detail=item.detail)})
        for item in outcomes
        if item.kind == "sample" and item.item_id in by_id
    ]


async def review(state: ChunkFlowState, *, runtime: Runtime[BuildContext]) -> dict[str, Any]:
    ctx, chunk, pending = runtime.context, state["chunk"], state["pending"]
    build = ctx.settings.build
    verdicts = await review_samples(chunk, pending, ctx.reviewer, build, labels=ctx.labels)
    result = state["result"].model_copy(deep=True)
    result.reviewer_usage = result.reviewer_usage + verdicts.usage
    result.rejected += verdicts.rejected
    result.failed += verdicts.failed
    position = position_label(chunk, ctx.labels)
    flagged: list[tuple[Sample, ReviewVerdict]] = []
    reviewed: list[Sample] = []
    for sample in pending:
        label = position or verdicts.labels.get(sample.sample_id, sample.label)
        verdict = verdicts.verdicts.get(sample.sample_id) or verdicts.to_revise.get(sample.sample_id)
        labelled = sample.model_copy(update={"label": label, "review": verdict or sample.review})
        reviewed.append(labelled)
        if sample.sample_id in verdicts.verdicts:
            result.accepted.append(labelled)
        elif sample.sample_id in verdicts.to_revise:
            flagged.append((labelled, verdicts.to_revise[sample.sample_id]))
    exhausted: list[ItemOutcome] = []
    if flagged and state["round"] >= build.max_revision_rounds:
        exhausted = revision_exhausted(flagged, state["round"])
        result.rejected += exhausted
        flagged = []
    result.rejected_samples += rejected_whole(reviewed, [*verdicts.rejected, *verdicts.failed, *exhausted])
    return {"result": result, "pending": [], "flagged": flagged}


async def revise(state: ChunkFlowState, *, runtime: Runtime[BuildContext]) -> dict[str, Any]:
    ctx, chunk = runtime.context, state["chunk"]
    revised = await revise_samples(chunk, state["flagged"], ctx.generator, ctx.settings.build)
    result = state["result"].model_copy(deep=True)
    result.generator_usage = result.generator_usage + revised.usage
    result.failed += revised.failed
    return {"result": result, "pending": revised.samples, "flagged": [], "round": state["round"] + 1}


def done(state: ChunkFlowState, *, runtime: Runtime[BuildContext]) -> dict[str, Any]:
    result = state["result"]
    runtime.context.emit_chunk_done(result)
    return {"results": [result]}


def after_draft(state: ChunkFlowState) -> Literal["review", "done"]:
    return "review" if state.get("pending") else "done"


def after_review(state: ChunkFlowState) -> Literal["revise", "done"]:
    return "revise" if state.get("flagged") else "done"


def build_chunk_flow() -> Any:
    """The flow, compiled without a checkpointer: inside the build graph it inherits the build's."""
    flow = StateGraph(
        ChunkFlowState, context_schema=BuildContext, input_schema=ChunkFlowInput, output_schema=ChunkFlowOutput
    )
    flow.add_node("draft", draft)
    flow.add_node("review", review)
    flow.add_node("revise", revise)
    flow.add_node("done", done)
    flow.add_edge(START, "draft")
    flow.add_conditional_edges("draft", after_draft, ["review", "done"])
    flow.add_conditional_edges("review", after_review, ["revise", "done"])
    flow.add_conditional_edges("revise", after_draft, ["review", "done"])
    flow.add_edge("done", END)
    return flow.compile()


_FLOW: Any = None


def chunk_flow() -> Any:
    global _FLOW
    if _FLOW is None:
        _FLOW = build_chunk_flow()
    return _FLOW


async def run_chunk(chunk: Chunk, context: BuildContext) -> ChunkResult:
    """One chunk through the flow, without checkpoints (MCP ``generate_qa``, tests, benchmarks)."""
    output = await chunk_flow().ainvoke({"chunk": chunk}, context=context)
    results: list[ChunkResult] = output["results"]
    return results[0]


async def run_chunks(chunks: Sequence[Chunk], context: BuildContext) -> list[ChunkResult]:
    """Many chunks through the flow concurrently; the models' own limiters bound the calls in flight."""
    return list(await asyncio.gather(*(run_chunk(chunk, context) for chunk in chunks)))
