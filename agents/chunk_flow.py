"""The per-chunk flow: the one implementation of generator -> reviewer -> reviser -> reviewer.

    draft ─(samples)─> check ─(passed)─> judge ─(flagged, rounds left)─> revise ─(revised)─> check ...
      │                  │  └─(pre-check flagged, rounds left)────────────────┘
      └──(nothing)───────┴──────────(done)──> end <───────────────────────────────(nothing revised)

The review is two steps: ``check`` (pre-check, code checks and the round-trip call) and ``judge`` (the rubric
call).

Each node is one step of LLM work (the draft, the round-trip call, the judge call, one revision call), so with a
checkpointer a run killed mid-way resumes without repeating a finished call. The build graph fans out one flow per chunk
(``agents/graph.py``); each flow moves on as soon as its own call returns — no chunk waits for another.
MCP ``generate_qa``, the benchmarks and the fault tests run the same flow through :func:`run_chunks`.

What the task does at each step comes from the task table (``tools/generation/task_table.py``).
The state holds what resuming needs and nothing more: the chunk's id, the samples in flight, and what each
step added to the chunk's result. Those are delta channels: a checkpoint stores each write once instead of
copying the whole value at every step. The chunk and the label tree are read from the context (the build
keeps them in its own state once).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Annotated, Any, TypedDict

from langgraph.channels.delta import DeltaChannel
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from ftds.agents.channels import concatenated, latest
from ftds.agents.context import BuildContext
from ftds.tools.build.steps import ChunkResult, merge_results, rejected_whole, revision_exhausted
from ftds.tools.generation.labels import LabelTree
from ftds.tools.generation.review import ReviewResult, check_samples, judge_samples
from ftds.tools.generation.revise import revise_samples
from ftds.tools.generation.task_table import DraftInputs, answer_check_called, judge_called, task_spec
from ftds.tools.records import Chunk, ReviewVerdict, Sample


class ChunkFlowInput(TypedDict):
    chunk_id: str


class ChunkFlowOutput(TypedDict):
    results: Annotated[list[ChunkResult], DeltaChannel(concatenated)]


class ChunkFlowState(TypedDict, total=False):
    chunk_id: str
    """The chunk itself is read from the context (the build keeps the selected chunks once, in its own state)."""
    round: int
    pending: Annotated[list[Sample], DeltaChannel(latest)]
    """Samples waiting for the reviewer."""
    flagged: Annotated[list[tuple[Sample, ReviewVerdict]], DeltaChannel(latest)]
    """Samples the reviewer sent back for revision, with its verdict."""
    results: Annotated[list[ChunkResult], DeltaChannel(concatenated)]
    """What each step added to the chunk's result, kept once each; the build merges a chunk's parts."""


def _inputs(ctx: BuildContext) -> DraftInputs:
    return DraftInputs(ctx.generator, ctx.reviewer, ctx.settings.build, ctx.labels, ctx.settings.evaluation)


async def draft(state: ChunkFlowState, *, runtime: Runtime[BuildContext]) -> dict[str, Any]:
    ctx = runtime.context
    chunk = ctx.chunk(state["chunk_id"])
    made = await task_spec(ctx.settings.build.task).draft(chunk, _inputs(ctx))
    fragment = ChunkResult(
        chunk_id=chunk.chunk_id,
        generated=made.generated,
        accepted=made.accepted,
        eval_items=made.eval_items,
        rejected=made.rejected,
        failed=made.failed,
        chunk_failure=made.chunk_failure,
        generator_usage=made.generator_usage,
        reviewer_usage=made.reviewer_usage,
    )
    if not made.pending:
        ctx.emit_chunk_done(fragment)
    return {"results": [fragment], "pending": made.pending, "round": 0, "flagged": []}


def position_label(chunk: Chunk, tree: LabelTree | None) -> str | None:
    """The chunk's own outline path, when the tree has it (a tree read off the outline): exact, where a small
    reviewer choosing among dozens of chapters often picks the wrong one."""
    path = chunk.provenance.heading_path[:2]
    return tree.resolve("/".join(path)) if tree is not None and path else None


def _settle(
    fragment: ChunkResult, flagged: list[tuple[Sample, ReviewVerdict]], rounds_done: int, max_rounds: int
) -> list[tuple[Sample, ReviewVerdict]]:
    """The samples still to revise; when no revision round is left they are rejected into ``fragment``, whole,
    with the feedback (a pre-check's reason stays the reason)."""
    if not flagged or rounds_done < max_rounds:
        return flagged
    exhausted = revision_exhausted(flagged, rounds_done)
    fragment.rejected += exhausted
    fragment.rejected_samples += rejected_whole([sample for sample, _ in flagged], exhausted)
    return []


async def check(state: ChunkFlowState, *, runtime: Runtime[BuildContext]) -> dict[str, Any]:
    """The review's first step: pre-check, code checks, the round-trip call (one per chunk) and the answer
    check (one scoring request per sample still standing, when ``answer_check_called``)."""
    ctx, pending = runtime.context, state["pending"]
    chunk, build = ctx.chunk(state["chunk_id"]), ctx.settings.build
    checked = await check_samples(chunk, pending, ctx.reviewer, build, check_answers=answer_check_called(ctx.settings))
    fragment = ChunkResult(
        chunk_id=chunk.chunk_id, rejected=checked.rejected, failed=checked.failed, reviewer_usage=checked.usage
    )
    fragment.rejected_samples = rejected_whole(pending, [*checked.rejected, *checked.failed])
    position = position_label(chunk, ctx.labels)
    flagged = [
        (sample.model_copy(update={"label": position or sample.label}), checked.to_revise[sample.sample_id])
        for sample in pending
        if sample.sample_id in checked.to_revise
    ]
    if not checked.to_judge:  # nothing for the judge: this step decides what comes next
        flagged = _settle(fragment, flagged, state["round"], build.max_revision_rounds)
        if not flagged:
            ctx.emit_chunk_done(merge_results([*state["results"], fragment]))
    return {"results": [fragment], "pending": checked.to_judge, "flagged": flagged}


async def judge(state: ChunkFlowState, *, runtime: Runtime[BuildContext]) -> dict[str, Any]:
    """The review's second step: the rubric judge over what passed the checks (labelling it too), or, when
    the judge is not called (``task_table.judge_called``), their acceptance on the checks alone."""
    ctx, pending = runtime.context, state["pending"]
    chunk, build = ctx.chunk(state["chunk_id"]), ctx.settings.build
    verdicts = await judge_samples(
        chunk,
        ReviewResult(to_judge=pending),
        ctx.reviewer,
        build,
        labels=ctx.labels,
        call_judge=judge_called(ctx.settings),
    )
    fragment = ChunkResult(
        chunk_id=chunk.chunk_id, rejected=verdicts.rejected, failed=verdicts.failed, reviewer_usage=verdicts.usage
    )
    position = position_label(chunk, ctx.labels)
    flagged = list(state["flagged"])  # the pre-check's revisions, decided by the check step
    reviewed: list[Sample] = []
    for sample in pending:
        label = position or verdicts.labels.get(sample.sample_id, sample.label)
        verdict = verdicts.scored.get(sample.sample_id) or verdicts.to_revise.get(sample.sample_id)
        labelled = sample.model_copy(update={"label": label, "review": verdict or sample.review})
        reviewed.append(labelled)
        if sample.sample_id in verdicts.verdicts:
            fragment.accepted.append(labelled)
        elif sample.sample_id in verdicts.to_revise:
            flagged.append((labelled, verdicts.to_revise[sample.sample_id]))
    fragment.rejected_samples = rejected_whole(reviewed, [*verdicts.rejected, *verdicts.failed])
    flagged = _settle(fragment, flagged, state["round"], build.max_revision_rounds)
    if not flagged:
        ctx.emit_chunk_done(merge_results([*state["results"], fragment]))
    return {"results": [fragment], "pending": [], "flagged": flagged}


async def revise(state: ChunkFlowState, *, runtime: Runtime[BuildContext]) -> dict[str, Any]:
    ctx = runtime.context
    chunk = ctx.chunk(state["chunk_id"])
    revised = await revise_samples(chunk, state["flagged"], ctx.generator, ctx.settings.build)
    fragment = ChunkResult(chunk_id=chunk.chunk_id, generator_usage=revised.usage, failed=revised.failed)
    if not revised.samples:
        ctx.emit_chunk_done(merge_results([*state["results"], fragment]))
    return {"results": [fragment], "pending": revised.samples, "flagged": [], "round": state["round"] + 1}


def after_draft(state: ChunkFlowState) -> str:
    return "check" if state.get("pending") else END


def after_check(state: ChunkFlowState) -> str:
    if state.get("pending"):
        return "judge"
    return "revise" if state.get("flagged") else END


def after_judge(state: ChunkFlowState) -> str:
    return "revise" if state.get("flagged") else END


def build_chunk_flow() -> Any:
    """The flow, compiled without a checkpointer: inside the build graph it inherits the build's."""
    flow = StateGraph(
        ChunkFlowState, context_schema=BuildContext, input_schema=ChunkFlowInput, output_schema=ChunkFlowOutput
    )
    flow.add_node("draft", draft)
    flow.add_node("check", check)
    flow.add_node("judge", judge)
    flow.add_node("revise", revise)
    flow.add_edge(START, "draft")
    flow.add_conditional_edges("draft", after_draft, ["check", END])
    flow.add_conditional_edges("check", after_check, ["judge", "revise", END])
    flow.add_conditional_edges("judge", after_judge, ["revise", END])
    flow.add_conditional_edges("revise", after_draft, ["check", END])
    return flow.compile()


_FLOW: Any = None


def chunk_flow() -> Any:
    global _FLOW
    if _FLOW is None:
        _FLOW = build_chunk_flow()
    return _FLOW


async def run_chunk(chunk: Chunk, context: BuildContext) -> ChunkResult:
    """One chunk through the flow, without checkpoints (MCP ``generate_qa``, tests, benchmarks)."""
    context.chunks[chunk.chunk_id] = chunk
    output = await chunk_flow().ainvoke({"chunk_id": chunk.chunk_id}, context=context)
    return merge_results(output["results"])


async def run_chunks(chunks: Sequence[Chunk], context: BuildContext) -> list[ChunkResult]:
    """Many chunks through the flow concurrently; the models' own limiters bound the calls in flight."""
    return list(await asyncio.gather(*(run_chunk(chunk, context) for chunk in chunks)))
