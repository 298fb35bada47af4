"""The build graph.

    load ─Send per chunk─> generate ─> route_reviews ─Send per chunk─> review ─> route_revisions ─┐
                              ^                                                                  │
                              └──────────── Send per chunk with samples to revise ───────────────┤
                                                                                                 v
                                                                                             finalize

Every node is a call into ``ftds.tools``. Each LLM call is its own task, so with a checkpointer a run killed
mid-way resumes without repeating a finished call: LangGraph keeps the writes of finished tasks. The two
router nodes are barriers: they run once per stage, after every branch of that stage has finished.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import Command, Send

from ftds.agents.context import BuildContext
from ftds.agents.state import BuildState, ChunkTask, ReviewTask
from ftds.tools.generate import generate_qa
from ftds.tools.ingest import load_literature
from ftds.tools.pipeline import ChunkResult, finalize_dataset, select_chunks
from ftds.tools.records import ItemOutcome
from ftds.tools.review import review_samples


def load(state: BuildState, *, runtime: Runtime[BuildContext]) -> Command[Any]:
    ctx = runtime.context
    literature = load_literature(
        [Path(p) for p in state["inputs"]],
        ctx.settings.chunking,
        domain=ctx.settings.build.domain,
        ingest=ctx.settings.ingest,
    )
    for report in literature.files:
        ctx.on_event("file", report.model_dump())
    chunks = select_chunks(literature.chunks, ctx.settings.build.max_chunks, ctx.settings.chunking.min_chars)
    ctx.on_event("chunks", {"total": len(literature.chunks), "selected": len(chunks)})
    update = {"files": literature.files, "total_chunks": len(literature.chunks), "chunks": chunks}
    if not chunks:
        return Command(update=update, goto="finalize")
    return Command(update=update, goto=[Send("generate", ChunkTask(chunk=c, round=0, revise=[])) for c in chunks])


def _chunk_done(ctx: BuildContext, result: ChunkResult) -> None:
    ctx.on_event(
        "chunk_done",
        {
            "chunk_id": result.chunk_id,
            "generated": result.generated,
            "accepted": len(result.accepted),
            "rejected": len(result.rejected),
            "failed": len(result.failed) + (1 if result.chunk_failure else 0),
            "tokens": result.generator_usage.total_tokens + result.reviewer_usage.total_tokens,
            "failure": result.chunk_failure.reason if result.chunk_failure else None,
        },
    )


async def generate(task: ChunkTask, *, runtime: Runtime[BuildContext]) -> dict[str, Any]:
    ctx = runtime.context
    chunk = task["chunk"]
    generation = await generate_qa(chunk, ctx.generator, ctx.settings.build)
    result = ChunkResult(chunk_id=chunk.chunk_id, generator_usage=generation.usage)
    if generation.failure is not None:
        result.chunk_failure = generation.failure
    elif not generation.samples:
        result.chunk_failure = ItemOutcome(
            item_id=chunk.chunk_id,
            kind="chunk",
            status="failed",
            reason="generation:no_pairs",
            detail="the model returned zero pairs",
        )
    else:
        result.generated = len(generation.samples)
        review = ReviewTask(chunk=chunk, round=task["round"], samples=generation.samples)
        return {"results": [result], "review_queue": [review]}
    _chunk_done(ctx, result)
    return {"results": [result]}


def route_reviews(state: BuildState) -> Command[Any]:
    tasks = state.get("review_queue") or []
    if not tasks:
        return Command(update={"review_queue": None}, goto="finalize")
    return Command(update={"review_queue": None}, goto=[Send("review", task) for task in tasks])


async def review(task: ReviewTask, *, runtime: Runtime[BuildContext]) -> dict[str, Any]:
    ctx = runtime.context
    chunk = task["chunk"]
    verdicts = await review_samples(chunk, task["samples"], ctx.reviewer, ctx.settings.build)
    result = ChunkResult(
        chunk_id=chunk.chunk_id,
        rejected=verdicts.rejected,
        failed=verdicts.failed,
        reviewer_usage=verdicts.usage,
        accepted=[
            sample.model_copy(update={"review": verdicts.verdicts[sample.sample_id]})
            for sample in task["samples"]
            if sample.sample_id in verdicts.verdicts
        ],
    )
    _chunk_done(ctx, result)
    return {"results": [result]}


def route_revisions(state: BuildState) -> Command[Any]:
    tasks = state.get("revise_queue") or []
    if not tasks:
        return Command(update={"revise_queue": None}, goto="finalize")
    return Command(update={"revise_queue": None}, goto=[Send("generate", task) for task in tasks])


def finalize(state: BuildState, *, runtime: Runtime[BuildContext]) -> dict[str, Any]:
    ctx = runtime.context
    summary = finalize_dataset(
        run_id=ctx.run_id,
        settings=ctx.settings,
        files=state.get("files", []),
        total_chunks=state.get("total_chunks", 0),
        selected_chunks=state.get("chunks", []),
        results=state.get("results", []),
        out_dir=ctx.out_dir,
        started=ctx.started,
        models={"generator": ctx.generator.label, "reviewer": ctx.reviewer.label},
    )
    ctx.on_event("finished", {"accepted": summary.accepted, "out_dir": str(ctx.out_dir)})
    return {"summary": summary}


def build_graph(checkpointer: Any = None) -> Any:
    graph = StateGraph(BuildState, context_schema=BuildContext)
    graph.add_node("load", load, destinations=("generate", "finalize"))
    # langgraph's overloads reject a Send payload type that differs from the graph state, though
    # input_schema exists for exactly that case; the calls are correct at run time.
    graph.add_node("generate", generate, input_schema=ChunkTask)  # type: ignore[call-overload]
    graph.add_node("route_reviews", route_reviews, destinations=("review", "finalize"))
    graph.add_node("review", review, input_schema=ReviewTask)  # type: ignore[arg-type]
    graph.add_node("route_revisions", route_revisions, destinations=("generate", "finalize"))
    graph.add_node("finalize", finalize)
    graph.add_edge(START, "load")
    graph.add_edge("generate", "route_reviews")
    graph.add_edge("review", "route_revisions")
    graph.add_edge("finalize", END)
    return graph.compile(checkpointer=checkpointer)


def run_config(context: BuildContext) -> dict[str, Any]:
    return {
        "configurable": {"thread_id": context.run_id},
        "max_concurrency": max(context.settings.llm.concurrency, 1),
        "recursion_limit": 100,
    }


async def run_build(inputs: list[Path], context: BuildContext) -> BuildState:
    """Run the whole build without checkpoints; returns the final state (its ``summary`` is the report)."""
    state: BuildState = await build_graph().ainvoke(
        {"inputs": [str(p) for p in inputs], "results": []}, context=context, config=run_config(context)
    )
    return state
