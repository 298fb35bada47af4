"""The build graph: load -> fan out one branch per chunk (generate + review) -> finalize.

Each node is a call into ``ftds.tools``; the graph adds the ordering, the parallel fan-out with ``Send``,
and the accumulation of per-chunk results through the state's reducer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import Send

from ftds.agents.context import BuildContext
from ftds.agents.state import BuildState, ChunkTask
from ftds.tools.ingest import load_literature
from ftds.tools.pipeline import ChunkResult, finalize_dataset, process_chunk, select_chunks


def load(state: BuildState, *, runtime: Runtime[BuildContext]) -> dict[str, Any]:
    ctx = runtime.context
    literature = load_literature(
        [Path(p) for p in state["inputs"]],
        ctx.settings.chunking,
        domain=ctx.settings.build.domain,
        ingest=ctx.settings.ingest,
    )
    for report in literature.files:
        ctx.on_event("file", report.model_dump())
    chunks = select_chunks(literature.chunks, ctx.settings.build.max_chunks)
    ctx.on_event("chunks", {"total": len(literature.chunks), "selected": len(chunks)})
    return {"files": literature.files, "total_chunks": len(literature.chunks), "chunks": chunks}


def fan_out(state: BuildState) -> list[Send] | str:
    if not state["chunks"]:
        return "finalize"
    return [Send("process_chunk", ChunkTask(chunk=chunk)) for chunk in state["chunks"]]


async def process_chunk_node(task: ChunkTask, *, runtime: Runtime[BuildContext]) -> dict[str, Any]:
    ctx = runtime.context
    result: ChunkResult = await process_chunk(task["chunk"], ctx.generator, ctx.reviewer, ctx.settings)
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
    return {"results": [result]}


def finalize(state: BuildState, *, runtime: Runtime[BuildContext]) -> dict[str, Any]:
    ctx = runtime.context
    summary = finalize_dataset(
        run_id=ctx.run_id,
        settings=ctx.settings,
        files=state.get("files", []),
        total_chunks=state.get("total_chunks", 0),
        results=state.get("results", []),
        out_dir=ctx.out_dir,
        started=ctx.started,
        models={"generator": ctx.generator.label, "reviewer": ctx.reviewer.label},
    )
    ctx.on_event("finished", {"accepted": summary.accepted, "out_dir": str(ctx.out_dir)})
    return {"summary": summary}


def build_graph() -> Any:
    graph = StateGraph(BuildState, context_schema=BuildContext)
    graph.add_node("load", load)
    # langgraph's overloads reject a Send-payload TypedDict that differs from the graph state, though
    # input_schema exists for exactly that case; the call is correct at run time.
    graph.add_node("process_chunk", process_chunk_node, input_schema=ChunkTask)  # type: ignore[call-overload]
    graph.add_node("finalize", finalize)
    graph.add_edge(START, "load")
    graph.add_conditional_edges("load", fan_out, ["process_chunk", "finalize"])
    graph.add_edge("process_chunk", "finalize")
    graph.add_edge("finalize", END)
    return graph.compile()


async def run_build(inputs: list[Path], context: BuildContext) -> BuildState:
    """Run the whole build; returns the final state (its ``summary`` is the report)."""
    graph = build_graph()
    state: BuildState = await graph.ainvoke(
        {"inputs": [str(p) for p in inputs], "results": []},
        context=context,
        config={"max_concurrency": max(context.settings.llm.concurrency, 1), "recursion_limit": 50},
    )
    return state
