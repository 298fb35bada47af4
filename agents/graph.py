"""The build graph.

    load -> plan ─Send per chunk─> chunk (the per-chunk flow, agents/chunk_flow.py) ─> finalize
             ├─Send per chunk─> remote_chunk (the same flow on a Ray actor) ──────────> finalize
             └─(no input)─> distill ─────────────────────────────────────────────────> finalize

Every node is a call into ``ftds.tools``. Each chunk runs its own generator -> reviewer -> reviser flow as a
subgraph, so a chunk's review starts as soon as its own draft returns: there is no barrier between stages,
only the one before ``finalize``, which needs every chunk. With a checkpointer each LLM step of each flow is
checkpointed, so a run killed mid-way resumes without repeating a finished call. With ``--executor ray`` the
plan sends chunks to ``remote_chunk`` instead, which runs the same flow on a Ray actor
(``agents/ray_executor.py``); there the checkpoint records each chunk when its result comes back.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import Command, Send

from ftds.agents.chunk_flow import chunk_flow, run_chunk
from ftds.agents.context import BuildContext
from ftds.agents.events import ChunksEvent, FileEvent, FinishedEvent, NoteEvent
from ftds.agents.state import BuildState
from ftds.tools.build.steps import (
    ChunkResult,
    FinalizeJob,
    finalize_build,
    merge_results,
    revision_exhausted,
    select_chunks,
)
from ftds.tools.generation.generate import chunk_language
from ftds.tools.generation.labels import LabelTree, build_label_tree, outline_tree
from ftds.tools.generation.prompts import domain_preset
from ftds.tools.generation.review import review_samples
from ftds.tools.generation.task_table import judge_called, task_spec
from ftds.tools.generation.tasks import distill_topic, topic_chunk
from ftds.tools.ingest import load_literature
from ftds.tools.language import detect_language
from ftds.tools.llm.adaptive import endpoint_figures


def load(state: BuildState, *, runtime: Runtime[BuildContext]) -> dict[str, Any]:
    ctx = runtime.context
    if not state["inputs"]:
        ctx.on_event(ChunksEvent(total=0, selected=0))
        return {"files": [], "total_chunks": 0, "chunks": []}
    literature = load_literature(
        [Path(p) for p in state["inputs"]],
        ctx.settings.chunking,
        domain=ctx.settings.build.domain,
        ingest=ctx.settings.ingest,
        confine_to=ctx.confinement,
    )
    for report in literature.files:
        ctx.on_event(FileEvent(report=report))
    chunks = select_chunks(literature.chunks, chunk_budget(ctx), ctx.settings.chunking.min_chars)
    ctx.on_event(ChunksEvent(total=len(literature.chunks), selected=len(chunks)))
    # two levels (document > chapter) are all a two-level label tree needs, and keep the prompt small
    outline = list({tuple(c.provenance.heading_path[:2]): None for c in literature.chunks if c.provenance.heading_path})
    return {
        "files": literature.files,
        "total_chunks": len(literature.chunks),
        "chunks": chunks,
        "outline": [list(path) for path in outline],
    }


def chunk_budget(ctx: BuildContext) -> int | None:
    """Chunks to process: ``max_chunks``, else enough for ``target`` at a cautious yield per chunk."""
    build = ctx.settings.build
    if build.max_chunks is not None or build.target is None:
        return build.max_chunks
    per_chunk = (build.questions_per_chunk or 3) * 0.5  # small models keep about half of what they write
    return max(1, int(build.target / per_chunk + 0.999))


async def plan(state: BuildState, *, runtime: Runtime[BuildContext]) -> Command[Any]:
    """Fix the label tree (a user's file, one call over the documents' outlines, or the outline itself when
    no judge call would label the samples), then fan out."""
    ctx = runtime.context
    build = ctx.settings.build
    chunks = state.get("chunks", [])
    tree: LabelTree | None = None
    outline: Sequence[Sequence[str]] | None = None  # set when the tree is to come from the outline
    update: dict[str, Any] = {}
    if build.label_tree_file is not None:
        tree = LabelTree.load(build.label_tree_file)
    elif build.labels == "auto" and chunks and task_spec(build.task).uses_label_tree:
        outline = state.get("outline") or [c.provenance.heading_path for c in chunks]
    if outline is not None and not judge_called(ctx.settings):
        # no judge call to label with: the outline's own tree labels each sample by its chunk's position
        tree = outline_tree(outline)
        note = "label tree: the documents' outline (no judge call)" if tree else "no outline: samples stay unlabelled"
        ctx.on_event(NoteEvent(message=note))
    elif outline is not None:
        ctx.on_event(NoteEvent(message="building a label tree from the documents' outlines (one LLM call)"))
        language = chunk_language(chunks[0], build.language)
        made = await build_label_tree(outline, ctx.generator, build, language=language)
        tree = made.tree
        if made.failure is not None:  # fall back to the outline itself; unlabelled only if there is none
            tree = outline_tree(outline)
            fallback = "using the documents' outline as labels" if tree else "samples stay unlabelled"
            message = f"label tree: {made.failure.reason} ({made.failure.detail}); {fallback}"
            ctx.on_event(NoteEvent(message=message))
        update["results"] = [ChunkResult(chunk_id="label_tree", generator_usage=made.usage)]
    update["label_tree"] = tree
    ctx.labels = tree
    ctx.chunks = {c.chunk_id: c for c in chunks}
    if not state["inputs"]:
        return Command(update=update, goto="distill")
    if not chunks:
        return Command(update=update, goto="finalize")
    node = "chunk" if ctx.executor is None else "remote_chunk"
    return Command(update=update, goto=[Send(node, {"chunk_id": c.chunk_id}) for c in chunks])


class RemoteChunkInput(TypedDict):
    chunk_id: str


async def remote_chunk(state: RemoteChunkInput, *, runtime: Runtime[BuildContext]) -> dict[str, Any]:
    """One chunk through the per-chunk flow on the run's executor (a Ray actor), recorded when it returns.
    A Ray run resumed without an executor finishes its chunks here, in this process."""
    ctx = runtime.context
    chunk = ctx.chunk(state["chunk_id"])
    if ctx.executor is None:
        return {"results": [await run_chunk(chunk, ctx)]}  # the flow reports the chunk itself
    result = await ctx.executor.run(chunk, ctx.labels)
    ctx.emit_chunk_done(result)
    return {"results": [result]}


async def distill(state: BuildState, *, runtime: Runtime[BuildContext]) -> dict[str, Any]:
    """No documents: topic -> tag tree -> questions -> answers, each reviewed without a source text."""
    ctx = runtime.context
    build = ctx.settings.build
    preset_language: str = build.language if build.language != "auto" else "zh"
    topic = build.topic or domain_preset(build.domain, preset_language, build.prompt_dir).name
    language: str = build.language if build.language != "auto" else detect_language(topic)
    ctx.on_event(NoteEvent(message=f"no input given: distilling from the topic {topic!r}"))
    made = await distill_topic(topic, ctx.generator, build, language=language)
    results = [
        ChunkResult(
            chunk_id=f"topic:{topic}",
            generator_usage=made.usage,
            failed=made.failed,
            generated=len(made.samples) + len(made.failed),
        )
    ]
    groups: dict[tuple[str, ...], list[Any]] = {}
    for sample in made.samples:
        groups.setdefault(tuple(sample.provenance.heading_path[1:]), []).append(sample)
    for tag_path, samples in groups.items():
        chunk = topic_chunk(topic, list(tag_path))
        verdicts = await review_samples(chunk, samples, ctx.reviewer, build, grounded=False)
        result = ChunkResult(
            chunk_id=chunk.chunk_id, rejected=verdicts.rejected, failed=verdicts.failed, reviewer_usage=verdicts.usage
        )
        flagged = []
        for sample in samples:
            if sample.sample_id in verdicts.verdicts:
                result.accepted.append(sample.model_copy(update={"review": verdicts.verdicts[sample.sample_id]}))
            elif sample.sample_id in verdicts.to_revise:
                flagged.append((sample, verdicts.to_revise[sample.sample_id]))
        result.rejected += revision_exhausted(flagged, 0)  # distillation has no revision step
        results.append(result)
        ctx.emit_chunk_done(result)
    return {"results": results}


def in_chunk_order(results: list[ChunkResult], chunks: list[Any]) -> list[ChunkResult]:
    """One result per chunk (its flow's steps merged, in step order), in the order the chunks were selected,
    whatever order they finished in (or were replayed in on resume), so the same samples always give the same
    dedupe survivors and the same splits."""
    rank = {chunk.chunk_id: index for index, chunk in enumerate(chunks)}
    parts: dict[str, list[ChunkResult]] = {}
    for result in results:  # a chunk's parts arrive together, in step order
        parts.setdefault(result.chunk_id, []).append(result)
    ordered = sorted(parts, key=lambda chunk_id: (rank.get(chunk_id, -1), chunk_id))
    return [merge_results(parts[chunk_id]) for chunk_id in ordered]


def finalize(state: BuildState, *, runtime: Runtime[BuildContext]) -> dict[str, Any]:
    ctx = runtime.context
    chunks = state.get("chunks", [])
    job = FinalizeJob(
        run_id=ctx.run_id,
        settings=ctx.settings,
        files=state.get("files", []),
        total_chunks=state.get("total_chunks", 0),
        selected_chunks=chunks,
        results=in_chunk_order(state.get("results", []), chunks),
        out_dir=ctx.out_dir,
        started=ctx.started,
        models={"generator": ctx.generator.label, "reviewer": ctx.reviewer.label},
        endpoints=(
            ctx.executor.endpoint_figures()
            if ctx.executor is not None
            else endpoint_figures([ctx.generator, ctx.reviewer])
        ),
        executor=ctx.executor.figures() if ctx.executor is not None else None,
    )
    summary = finalize_build(job)  # the task's finalize: a training dataset, or an evaluation set
    if ctx.live_dir is not None:  # the finished dataset holds every sample now
        shutil.rmtree(ctx.live_dir, ignore_errors=True)
    ctx.on_event(FinishedEvent(accepted=summary.accepted, out_dir=str(ctx.out_dir)))
    return {"summary": summary}


def build_graph(checkpointer: Any = None) -> Any:
    graph = StateGraph(BuildState, context_schema=BuildContext)
    graph.add_node("load", load)
    graph.add_node("plan", plan, destinations=("chunk", "remote_chunk", "distill", "finalize"))
    graph.add_node("chunk", chunk_flow())
    graph.add_node("remote_chunk", remote_chunk)
    graph.add_node("distill", distill)
    graph.add_node("finalize", finalize)
    graph.add_edge(START, "load")
    graph.add_edge("load", "plan")
    graph.add_edge("chunk", "finalize")
    graph.add_edge("remote_chunk", "finalize")
    graph.add_edge("distill", "finalize")
    graph.add_edge("finalize", END)
    return graph.compile(checkpointer=checkpointer)


def run_config(context: BuildContext) -> dict[str, Any]:
    """With an executor, the graph itself is not gated: LangGraph's ``max_concurrency`` also gates the
    checkpoint writes of finished tasks behind every queued task, so a finished remote chunk would not be
    durable until the fan-out's tail started; the executor bounds the chunks in flight instead."""
    config: dict[str, Any] = {"configurable": {"thread_id": context.run_id}, "recursion_limit": 100}
    if context.executor is None:
        config["max_concurrency"] = max(context.settings.llm.concurrency, 1)
    return config
