"""The build graph.

    load -> plan ─Send per chunk─> generate ─> route_reviews ─Send─> review ─> route_revisions ─┐
             │                        ^                                                          │
             │                        └────────── Send per chunk with samples to revise ─────────┤
             └─(no input)─> distill ───────────────────────────────────────────────────────> finalize

Every node is a call into ``ftds.tools``. Each LLM call is its own task, so with a checkpointer a run killed
mid-way resumes without repeating a finished call: LangGraph keeps the writes of finished tasks, and the
response cache covers a call whose write was still in flight. The two router nodes are barriers: they run
once per stage, after every branch of that stage has finished.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import Command, Send

from ftds.agents.context import BuildContext
from ftds.agents.state import BuildState, ChunkTask, ReviewTask
from ftds.tools.generate import GenerationResult, chunk_language, generate_qa, question_count
from ftds.tools.ingest import load_literature
from ftds.tools.labels import LabelTree, build_label_tree, outline_tree
from ftds.tools.language import detect_language
from ftds.tools.llm.adaptive import endpoint_figures
from ftds.tools.pipeline import ChunkResult, finalize_dataset, revision_exhausted, select_chunks
from ftds.tools.prompts import domain_preset
from ftds.tools.records import Chunk, ItemOutcome
from ftds.tools.review import review_samples
from ftds.tools.revise import revise_samples
from ftds.tools.tasks import (
    distill_topic,
    generate_classification,
    generate_cot,
    generate_dialogues,
    preference_pairs,
    topic_chunk,
)

REVIEWED_TASKS = ("qa", "cot", "dialogue", "reward")


def load(state: BuildState, *, runtime: Runtime[BuildContext]) -> dict[str, Any]:
    ctx = runtime.context
    if not state["inputs"]:
        ctx.on_event("chunks", {"total": 0, "selected": 0})
        return {"files": [], "total_chunks": 0, "chunks": []}
    literature = load_literature(
        [Path(p) for p in state["inputs"]],
        ctx.settings.chunking,
        domain=ctx.settings.build.domain,
        ingest=ctx.settings.ingest,
    )
    for report in literature.files:
        ctx.on_event("file", report.model_dump())
    chunks = select_chunks(literature.chunks, chunk_budget(ctx), ctx.settings.chunking.min_chars)
    ctx.on_event("chunks", {"total": len(literature.chunks), "selected": len(chunks)})
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
    """Fix the label tree (a user's file, or one call over the documents' outlines), then fan out."""
    ctx = runtime.context
    build = ctx.settings.build
    chunks = state.get("chunks", [])
    tree: LabelTree | None = None
    update: dict[str, Any] = {}
    if build.label_tree_file is not None:
        tree = LabelTree.load(build.label_tree_file)
    elif build.labels == "auto" and chunks:
        ctx.on_event("note", {"message": "building a label tree from the documents' outlines (one LLM call)"})
        outline = state.get("outline") or [c.provenance.heading_path for c in chunks]
        language = chunk_language(chunks[0], build.language)
        made = await build_label_tree(outline, ctx.generator, build, language=language)
        tree = made.tree
        if made.failure is not None:  # fall back to the outline itself; unlabelled only if there is none
            tree = outline_tree(outline)
            fallback = "using the documents' outline as labels" if tree else "samples stay unlabelled"
            message = f"label tree: {made.failure.reason} ({made.failure.detail}); {fallback}"
            ctx.on_event("note", {"message": message})
        update["results"] = [ChunkResult(chunk_id="label_tree", generator_usage=made.usage)]
    update["label_tree"] = tree
    if not state["inputs"]:
        return Command(update=update, goto="distill")
    if not chunks:
        return Command(update=update, goto="finalize")
    sends = [Send("generate", ChunkTask(chunk=c, round=0, revise=[], labels=tree)) for c in chunks]
    return Command(update=update, goto=sends)


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


async def _first_draft(task: ChunkTask, ctx: BuildContext) -> GenerationResult:
    chunk, build, llm = task["chunk"], ctx.settings.build, ctx.generator
    if build.task == "cot":
        return await generate_cot(chunk, llm, build)
    if build.task == "dialogue":
        return await generate_dialogues(chunk, llm, build, count=max(1, question_count(chunk, build) // 2))
    return await generate_qa(chunk, llm, build)


async def generate(task: ChunkTask, *, runtime: Runtime[BuildContext]) -> dict[str, Any]:
    ctx = runtime.context
    chunk, build = task["chunk"], ctx.settings.build
    if task["revise"]:
        revised = await revise_samples(chunk, task["revise"], ctx.generator, build)
        result = ChunkResult(chunk_id=chunk.chunk_id, generator_usage=revised.usage, failed=revised.failed)
        if revised.samples:
            review = ReviewTask(chunk=chunk, round=task["round"], samples=revised.samples, labels=task["labels"])
            return {"results": [result], "review_queue": [review]}
        _chunk_done(ctx, result)
        return {"results": [result]}
    if build.task == "preference":
        return {"results": [await _preference(chunk, ctx)]}
    if build.task == "classification":
        return {"results": [await _classification(chunk, task["labels"], ctx)]}
    draft = await _first_draft(task, ctx)
    result = ChunkResult(chunk_id=chunk.chunk_id, generator_usage=draft.usage, failed=draft.failed)
    result.generated = len(draft.samples) + len(draft.failed)
    if draft.failure is not None:
        result.chunk_failure = draft.failure
    elif not draft.samples and not draft.failed:
        result.chunk_failure = _no_output(chunk)
    elif draft.samples:
        review = ReviewTask(chunk=chunk, round=0, samples=draft.samples, labels=task["labels"])
        return {"results": [result], "review_queue": [review]}
    _chunk_done(ctx, result)
    return {"results": [result]}


def _no_output(chunk: Chunk) -> ItemOutcome:
    return ItemOutcome(
        item_id=chunk.chunk_id,
        kind="chunk",
        status="failed",
        reason="generation:no_pairs",
        detail="the model returned nothing for this chunk",
    )


async def _preference(chunk: Chunk, ctx: BuildContext) -> ChunkResult:
    """Questions from the Q&A prompt, then two candidate answers each, scored by the reviewer."""
    build = ctx.settings.build
    questions = await generate_qa(chunk, ctx.generator, build)
    result = ChunkResult(chunk_id=chunk.chunk_id, generator_usage=questions.usage)
    if questions.failure is not None or not questions.samples:
        result.chunk_failure = questions.failure or _no_output(chunk)
    else:
        pairs = await preference_pairs(
            chunk, [s.question for s in questions.samples], ctx.generator, ctx.reviewer, build
        )
        result.generated = len(questions.samples)
        result.accepted, result.rejected, result.failed = pairs.pairs, pairs.rejected, pairs.failed
        result.generator_usage = result.generator_usage + pairs.generator_usage
        result.reviewer_usage = pairs.reviewer_usage
    _chunk_done(ctx, result)
    return result


async def _classification(chunk: Chunk, tree: LabelTree | None, ctx: BuildContext) -> ChunkResult:
    """Classification records are checked lexically (quote in source, label in tree): no review call."""
    result = ChunkResult(chunk_id=chunk.chunk_id)
    if tree is None:
        result.chunk_failure = ItemOutcome(
            item_id=chunk.chunk_id,
            kind="chunk",
            status="failed",
            reason="classification:no_label_tree",
            detail="classification needs labels: give --label-tree FILE or leave labels on auto",
        )
    else:
        made = await generate_classification(chunk, tree, ctx.generator, ctx.settings.build)
        result.generator_usage = made.usage
        result.generated = len(made.samples) + len(made.failed)
        result.accepted, result.failed = made.samples, made.failed
        result.chunk_failure = made.failure
    _chunk_done(ctx, result)
    return result


def route_reviews(state: BuildState) -> Command[Any]:
    tasks = state.get("review_queue") or []
    if not tasks:
        return Command(update={"review_queue": None}, goto="finalize")
    return Command(update={"review_queue": None}, goto=[Send("review", task) for task in tasks])


async def review(task: ReviewTask, *, runtime: Runtime[BuildContext]) -> dict[str, Any]:
    ctx = runtime.context
    chunk, build = task["chunk"], ctx.settings.build
    verdicts = await review_samples(chunk, task["samples"], ctx.reviewer, build, labels=task["labels"])
    result = ChunkResult(
        chunk_id=chunk.chunk_id, rejected=verdicts.rejected, failed=verdicts.failed, reviewer_usage=verdicts.usage
    )
    flagged = []
    position = position_label(chunk, task["labels"])
    for sample in task["samples"]:
        label = position or verdicts.labels.get(sample.sample_id, sample.label)
        if sample.sample_id in verdicts.verdicts:
            verdict = verdicts.verdicts[sample.sample_id]
            result.accepted.append(sample.model_copy(update={"review": verdict, "label": label}))
        elif sample.sample_id in verdicts.to_revise:
            flagged.append((sample.model_copy(update={"label": label}), verdicts.to_revise[sample.sample_id]))
    update: dict[str, Any] = {"results": [result]}
    if flagged and task["round"] < build.max_revision_rounds:
        retry = ChunkTask(chunk=chunk, round=task["round"] + 1, revise=flagged, labels=task["labels"])
        update["revise_queue"] = [retry]
    else:
        result.rejected += revision_exhausted(flagged, task["round"])
    _chunk_done(ctx, result)
    return update


def position_label(chunk: Chunk, tree: LabelTree | None) -> str | None:
    """The chunk's own outline path, when the tree has it (a tree read off the outline): exact, where a small
    reviewer choosing among dozens of chapters often picks the wrong one."""
    path = chunk.provenance.heading_path[:2]
    return tree.resolve("/".join(path)) if tree is not None and path else None


def route_revisions(state: BuildState) -> Command[Any]:
    tasks = state.get("revise_queue") or []
    if not tasks:
        return Command(update={"revise_queue": None}, goto="finalize")
    return Command(update={"revise_queue": None}, goto=[Send("generate", task) for task in tasks])


async def distill(state: BuildState, *, runtime: Runtime[BuildContext]) -> dict[str, Any]:
    """No documents: topic -> tag tree -> questions -> answers, each reviewed without a source text."""
    ctx = runtime.context
    build = ctx.settings.build
    preset_language: str = build.language if build.language != "auto" else "zh"
    topic = build.topic or domain_preset(build.domain, preset_language, build.prompt_dir).name
    language: str = build.language if build.language != "auto" else detect_language(topic)
    ctx.on_event("note", {"message": f"no input given: distilling from the topic {topic!r}"})
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
        _chunk_done(ctx, result)
    return {"results": results}


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
        endpoints=endpoint_figures([ctx.generator, ctx.reviewer]),
    )
    ctx.on_event("finished", {"accepted": summary.accepted, "out_dir": str(ctx.out_dir)})
    return {"summary": summary}


def build_graph(checkpointer: Any = None) -> Any:
    graph = StateGraph(BuildState, context_schema=BuildContext)
    graph.add_node("load", load)
    graph.add_node("plan", plan, destinations=("generate", "distill", "finalize"))
    # langgraph's overloads reject a Send payload type that differs from the graph state, though
    # input_schema exists for exactly that case; the calls are correct at run time.
    graph.add_node("generate", generate, input_schema=ChunkTask)  # type: ignore[call-overload]
    graph.add_node("route_reviews", route_reviews, destinations=("review", "finalize"))
    graph.add_node("review", review, input_schema=ReviewTask)  # type: ignore[arg-type]
    graph.add_node("route_revisions", route_revisions, destinations=("generate", "finalize"))
    graph.add_node("distill", distill)
    graph.add_node("finalize", finalize)
    graph.add_edge(START, "load")
    graph.add_edge("load", "plan")
    graph.add_edge("generate", "route_reviews")
    graph.add_edge("review", "route_revisions")
    graph.add_edge("distill", "finalize")
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
