"""Start, resume and record build runs with SQLite checkpoints.

Checkpoints are written synchronously (``durability="sync"``) so that a run killed with SIGKILL loses at most
the LLM calls that were in flight; everything that finished is replayed from the checkpoint on resume.
Deserialisation is restricted to ftds' own record types: a checkpoint file is data, never code.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import shutil
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

from ftds.agents.checkpoint_serde import CompressedSerializer
from ftds.agents.context import LIVE_DIR, BuildContext
from ftds.agents.events import ProgressCallback
from ftds.agents.graph import build_graph, run_config
from ftds.agents.runs import RunRecord, RunStore
from ftds.tools.config import Settings
from ftds.tools.dataset.files import check_output_folder
from ftds.tools.generation.task_table import judge_called
from ftds.tools.llm import ChatModel, make_chat_model
from ftds.tools.records import RunSummary
from ftds.tools.redact import is_redacted, same_endpoint

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
    ("ftds.tools.build.steps", "ChunkResult"),
    ("ftds.tools.generation.labels", "LabelTree"),
    ("ftds.tools.generation.labels", "LabelNode"),
    ("ftds.tools.evaluation.items", "SingleChoiceItem"),
    ("ftds.tools.evaluation.items", "MultipleChoiceItem"),
    ("ftds.tools.evaluation.items", "TrueFalseItem"),
    ("ftds.tools.evaluation.items", "ShortAnswerItem"),
    ("ftds.tools.evaluation.items", "OpenItem"),
)
_FINISHED = ("finished", "partial")
GRAPH_VERSION = 2
"""The shape of the build graph a run's checkpoints belong to. 2: one per-chunk flow subgraph with delta
channels. A run written by another shape cannot be resumed (its checkpoints name nodes that do not exist)."""
_GRAPH_KEY = "_ftds_graph_version"


class RunError(RuntimeError):
    """A run cannot be started or resumed; the message says why and what to do."""


def new_run_id() -> str:
    return uuid.uuid4().hex[:12]


def _serializer() -> CompressedSerializer:
    return CompressedSerializer(_STATE_TYPES)


def _folder_name(run_id: str) -> str:
    """A run id as one safe folder name (a user's ``--run-id`` may hold a slash or ``..``)."""
    if re.fullmatch(r"[A-Za-z0-9_-][A-Za-z0-9_.-]{0,63}", run_id):
        return run_id
    return hashlib.sha256(run_id.encode("utf-8")).hexdigest()[:16]


def make_models(settings: Settings, run_id: str) -> tuple[ChatModel, ChatModel]:
    """The run's generator and reviewer (one object when the reviewer is the generator's endpoint). With
    ``llm.batch``, their batch ledgers live beside the run's checkpoints, so ``--resume`` finds the batches."""
    batches = settings.runs_dir / "batches" / _folder_name(run_id)
    generator = make_chat_model(settings.llm, settings.cache_dir, batches / "generator.sqlite")
    if settings.reviewer is None:
        return generator, generator
    return generator, make_chat_model(settings.reviewer, settings.cache_dir, batches / "reviewer.sqlite")


def attach_executor(context: BuildContext) -> None:
    """Start the run's executor when it is not this process (``build.executor = "ray"``): connecting to the
    cluster and placing the workers happens now, so a bad address or a full cluster is reported before the
    run starts (``ValueError`` with what to do)."""
    if context.settings.build.executor == "ray" and context.executor is None:
        from ftds.agents.ray_executor import RayChunkPool

        if context.settings.llm.batch or context.settings.reviewer_llm.batch:
            raise ValueError(
                "--batch and --executor ray do not go together: with a Batch API the provider runs the calls, so "
                "there is nothing for Ray workers to spread; drop one of them"
            )

        context.executor = RayChunkPool(context.settings, context.run_id)


async def close_context(context: BuildContext) -> None:
    """Let go of what a run holds: its models' clients and its executor's workers."""
    try:
        await context.generator.aclose()
        if context.reviewer is not context.generator:
            await context.reviewer.aclose()
    finally:
        if context.executor is not None:
            context.executor.close()
            context.executor = None


@asynccontextmanager
async def _checkpointer(path: Path) -> AsyncIterator[AsyncSqliteSaver]:
    """The run's checkpointer, whose database is left unlocked however the run ends.

    A graph that fails leaves checkpoint writes of other tasks running. One that starts while the connection
    is closing runs its INSERT and is stopped before its COMMIT; its cursor keeps the closed connection alive
    (a zombie, in SQLite's terms) with the write lock held until the garbage collector frees it, and a resume
    in the same process (MCP, tests) failed with "database is locked". So the connection closes under the
    saver's own lock (no write can start) after rolling back whatever a cancelled write left open."""
    conn = await aiosqlite.connect(path)
    saver = AsyncSqliteSaver(conn, serde=_serializer())
    try:
        # WAL with synchronous=NORMAL: every committed step survives a killed process (what resuming needs);
        # only a power loss may drop the last steps. FULL would fsync every step of every chunk.
        await conn.execute("PRAGMA journal_mode=WAL")
        await conn.execute("PRAGMA synchronous=NORMAL")
        yield saver
    finally:
        async with saver.lock:
            try:
                await conn.rollback()  # a no-op unless a cancelled write left its transaction open
            finally:
                await conn.close()


async def execute(
    store: RunStore,
    context: BuildContext,
    inputs: list[Path] | None,
) -> RunSummary:
    """Run (``inputs`` given) or resume (``inputs`` None) the graph for ``context.run_id``."""
    run_id = context.run_id
    record = store.get(run_id)
    if inputs is None and record is not None and record.status in _FINISHED and record.summary:
        return RunSummary.model_validate(record.summary)  # nothing left to do: never set a finished run running
    store.update(run_id, "running")
    try:
        async with _checkpointer(store.checkpoints) as saver:
            graph = build_graph(saver)
            config = run_config(context)
            payload: dict[str, Any] | None = None
            if inputs is None:
                saved = await graph.aget_state(config)
                context.labels = saved.values.get("label_tree")  # the plan step's tree, fixed once per run
                context.chunks = {c.chunk_id: c for c in saved.values.get("chunks", [])}
            else:
                payload = {"inputs": [str(p) for p in inputs], "results": []}
            state = await graph.ainvoke(payload, context=context, config=config, durability="sync")
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
    judge_called(settings)  # a task whose records are the judge's scores refuses --judge never now, not mid-run
    store = RunStore(settings.runs_dir)
    run_id = run_id or new_run_id()
    if store.get(run_id) is not None:
        raise RunError(f"a run named {run_id} exists already; resume it with --resume {run_id} or pick another id")
    generator, reviewer = make_models(settings, run_id)
    record = store.create(
        run_id,
        settings.build.domain,
        [str(p.resolve()) for p in inputs],
        str(out_dir.resolve()),
        snapshot_of(settings),
    )
    live_dir = out_dir / LIVE_DIR
    shutil.rmtree(live_dir, ignore_errors=True)  # left by a killed run of another build: not this one's
    context = BuildContext(settings, generator, reviewer, out_dir, run_id, on_event, live_dir=live_dir)
    return record, context


def snapshot_of(settings: Settings) -> dict[str, Any]:
    """The run's settings as stored for resuming. The split ratios keep only what was set: whether a ratio was
    chosen explicitly decides the small-set ratios (``tools/dataset/split.effective_settings``), and a full
    dump would make every ratio look chosen, so a resumed small run would split differently."""
    return {
        **settings.model_dump(mode="json"),
        "split": settings.split.model_dump(mode="json", exclude_unset=True),
        _GRAPH_KEY: GRAPH_VERSION,
    }


def _restore_endpoints(settings: Settings, current: Settings | None, run_id: str) -> None:
    """Put the real base URLs back into a snapshot whose stored copies were redacted (they held a credential).

    The real URL comes from ``current`` (the configuration, environment and flags of this invocation) and
    must be the one the run was made with: same URL once redacted.
    """
    for name in ("llm", "reviewer"):
        stored = getattr(settings, name)
        if stored is None or not is_redacted(stored.base_url):
            continue
        given = getattr(current, name, None) if current is not None else None
        if given is None and name == "reviewer" and current is not None:
            given = current.llm  # a reviewer on the same endpoint is configured as the main model
        real = given.base_url if given is not None else None
        if not same_endpoint(stored.base_url, real):
            option = "--base-url or FTDS_LLM__BASE_URL" if name == "llm" else "reviewer.base_url in the config"
            raise RunError(
                f"run {run_id} used the endpoint {stored.base_url}, whose credential is not stored; give the same "
                f"URL again ({option}, or the config file) to resume it"
            )
        stored.base_url = real


def prepare_resume(
    runs_dir: Path,
    run_id: str,
    on_event: ProgressCallback,
    current: Settings | None = None,
    executor: tuple[str, str | None] | None = None,
) -> tuple[RunRecord, BuildContext]:
    """Rebuild a registered run's context from its settings snapshot; ``current`` supplies what the snapshot
    holds only redacted (a base URL with a credential in it), ``executor`` (name, Ray address) where to run
    the unfinished chunks when not where the run started (a cluster's address changes; a Ray run may finish
    here). The run's status is left alone: a finished run stays finished (``execute`` then returns its
    summary), an unfinished one becomes running when ``execute`` starts."""
    store = RunStore(runs_dir)
    record = store.get(run_id)
    if record is None:
        known = ", ".join(r.run_id for r in store.list(5)) or "none"
        raise RunError(f"no run {run_id} in {runs_dir}; recent runs: {known} (list them with `ftds-agent runs`)")
    snapshot = dict(record.settings)
    version = snapshot.pop(_GRAPH_KEY, 1)
    if version != GRAPH_VERSION and record.status not in _FINISHED:
        raise RunError(
            f"run {run_id} was made by an older version of ftds (build graph v{version}; this one is "
            f"v{GRAPH_VERSION}) and cannot be resumed. Start it again with `ftds-agent build` on the same input: "
            "finished LLM calls are answered from the response cache, so nothing is paid twice."
        )
    settings = Settings.model_validate(snapshot)
    _restore_endpoints(settings, current, run_id)
    if executor is not None:
        settings.build.executor = "ray" if executor[0] == "ray" else "local"
        settings.build.ray_address = executor[1]
    generator, reviewer = make_models(settings, run_id)
    out_dir = Path(record.out_dir)
    context = BuildContext(settings, generator, reviewer, out_dir, run_id, on_event, live_dir=out_dir / LIVE_DIR)
    return record, context
