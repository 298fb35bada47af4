"""Start, resume and record build runs with SQLite checkpoints.

Checkpoints are written synchronously (``durability="sync"``) so that a run killed with SIGKILL loses at most
the LLM calls that were in flight; everything that finished is replayed from the checkpoint on resume.
Deserialisation is restricted to ftds' own record types: a checkpoint file is data, never code.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import aiosqlite
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

from ftds.agents.context import BuildContext, ProgressCallback
from ftds.agents.graph import build_graph, run_config
from ftds.agents.runs import RunRecord, RunStore
from ftds.tools.config import Settings
from ftds.tools.dataset.files import check_output_folder
from ftds.tools.llm import ChatModel, make_chat_model
from ftds.tools.records import RunSummary

_STATE_TYPES = (
    ("ftds.tools.records", "Chunk"),
    ("ftds.tools.records", "Provenance"),
    ("ftds.tools.records", "Sample"),
    ("ftds.tools.records", "ReviewVerdict"),
    ("ftds.tools.records", "ReviewScores"),
    ("ftds.tools.records", "EvidenceSpan"),
    ("ftds.tools.records", "CheckResult"),
    ("ftds.tools.records", "Rejection"),
    ("ftds.tools.records", "ItemOutcome"),
    ("ftds.tools.records", "TokenUsage"),
    ("ftds.tools.records", "FileReport"),
    ("ftds.tools.records", "RunSummary"),
    ("ftds.tools.pipeline", "ChunkResult"),
    ("ftds.tools.labels", "LabelTree"),
    ("ftds.tools.labels", "LabelNode"),
)


class RunError(RuntimeError):
    """A run cannot be started or resumed; the message says why and what to do."""


def new_run_id() -> str:
    return uuid.uuid4().hex[:12]


def _serializer() -> JsonPlusSerializer:
    return JsonPlusSerializer(allowed_msgpack_modules=list(_STATE_TYPES))


def make_models(settings: Settings) -> tuple[ChatModel, ChatModel]:
    generator = make_chat_model(settings.llm, settings.cache_dir)
    reviewer = generator if settings.reviewer is None else make_chat_model(settings.reviewer, settings.cache_dir)
    return generator, reviewer


async def execute(
    store: RunStore,
    context: BuildContext,
    inputs: list[Path] | None,
) -> RunSummary:
    """Run (``inputs`` given) or resume (``inputs`` None) the graph for ``context.run_id``."""
    run_id = context.run_id
    try:
        async with aiosqlite.connect(store.checkpoints) as conn:
            saver = AsyncSqliteSaver(conn, serde=_serializer())
            graph = build_graph(saver)
            payload: dict[str, Any] | None = (
                None if inputs is None else {"inputs": [str(p) for p in inputs], "results": []}
            )
            state = await graph.ainvoke(payload, context=context, config=run_config(context), durability="sync")
    except (asyncio.CancelledError, KeyboardInterrupt):
        store.update(run_id, "interrupted")
        raise
    except Exception as exc:
        store.update(run_id, "failed", error=f"{type(exc).__name__}: {exc}")
        raise
    summary = state.get("summary") if isinstance(state, dict) else None
    if not isinstance(summary, RunSummary):
        store.update(run_id, "failed", error="the graph ended without a summary")
        raise RunError(f"run {run_id} ended without a summary; see the log above")
    store.update(run_id, "finished" if summary.complete else "partial", summary.model_dump(mode="json"))
    return summary


def start(
    settings: Settings,
    inputs: list[Path],
    out_dir: Path,
    on_event: ProgressCallback,
    run_id: str | None = None,
    overwrite: bool = False,
) -> tuple[RunRecord, BuildContext]:
    """Register a new run and build its context (models are created here, so config errors surface now).

    An ``out_dir`` that already holds a dataset is refused (:class:`OutputExistsError`) unless ``overwrite``:
    the run would replace it, and that is found out now rather than after the whole build."""
    check_output_folder(out_dir, overwrite)
    store = RunStore(settings.runs_dir)
    run_id = run_id or new_run_id()
    if store.get(run_id) is not None:
        raise RunError(f"a run named {run_id} exists already; resume it with --resume {run_id} or pick another id")
    generator, reviewer = make_models(settings)
    record = store.create(
        run_id,
        settings.build.domain,
        [str(p.resolve()) for p in inputs],
        str(out_dir.resolve()),
        settings.model_dump(mode="json"),
    )
    context = BuildContext(settings, generator, reviewer, out_dir, run_id, on_event)
    return record, context


def prepare_resume(runs_dir: Path, run_id: str, on_event: ProgressCallback) -> tuple[RunRecord, BuildContext]:
    """Rebuild a registered run's context from its settings snapshot."""
    store = RunStore(runs_dir)
    record = store.get(run_id)
    if record is None:
        known = ", ".join(r.run_id for r in store.list(5)) or "none"
        raise RunError(f"no run {run_id} in {runs_dir}; recent runs: {known} (list them with `ftds-agent runs`)")
    settings = Settings.model_validate(record.settings)
    generator, reviewer = make_models(settings)
    store.update(run_id, "running")
    context = BuildContext(settings, generator, reviewer, Path(record.out_dir), run_id, on_event)
    return record, context
