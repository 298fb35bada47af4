"""MCP tools for whole build runs (``build_dataset``, ``get_run``, ``list_runs``) and their resources.

A build can take hours with a local model, longer than a client will hold a request open. So
``build_dataset`` either waits, streaming progress notifications (``wait=true``), or starts the run in the
background and returns its id at once for ``get_run`` to poll. Either way the run is checkpointed: a server
that stops mid-run leaves it resumable (``build_dataset`` with ``resume_run_id``, or the CLI's ``--resume``).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated, Any

from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ResourceNotFoundError, ToolError
from pydantic import BaseModel, Field

from ftds.agents.runs import RunRecord, RunStore
from ftds.server.state import ServerState, state_of, tool_annotations
from ftds.server.tools_dataset import OverwriteArg
from ftds.tools.dataset.files import OutputExistsError
from ftds.tools.llm import LLMError
from ftds.tools.records import RunSummary


class BuildDatasetResult(BaseModel):
    run_id: str
    status: str = Field(description="running (background), finished, partial or failed")
    out_dir: str
    summary: RunSummary | None = Field(default=None, description="Present when the run has ended.")
    resume_hint: str


class RunInfo(BaseModel):
    run_id: str
    status: str
    domain: str
    out_dir: str
    created_at: float
    accepted: int | None = None
    error: str | None = None


def _info(record: RunRecord) -> RunInfo:
    return RunInfo(
        run_id=record.run_id,
        status=record.status,
        domain=record.domain,
        out_dir=record.out_dir,
        created_at=record.created_at,
        accepted=(record.summary or {}).get("accepted"),
        error=record.error,
    )


class _ProgressRelay:
    """Turns the graph's synchronous progress events into ordered MCP progress notifications."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        self._queue: asyncio.Queue[tuple[float, float | None, str] | None] = asyncio.Queue()
        self._chunks_seen: set[str] = set()  # a revised chunk reports more than once
        self._total: float | None = None

    def event(self, kind: str, data: dict[str, Any]) -> None:
        if kind == "chunks":
            self._total = float(data["selected"])
            self._queue.put_nowait((0.0, self._total, f"{data['selected']} of {data['total']} chunks selected"))
        elif kind == "chunk_done":
            self._chunks_seen.add(data["chunk_id"])
            message = f"chunk {data['chunk_id']}: {data['accepted']} accepted, {data['rejected']} rejected"
            self._queue.put_nowait((float(len(self._chunks_seen)), self._total, message))

    async def pump(self) -> None:
        last = -1.0
        while (item := await self._queue.get()) is not None:
            progress, total, message = item
            if progress > last:  # notifications must increase; review fragments repeat a chunk
                last = progress
                await self._ctx.report_progress(progress, total, message)

    def close(self) -> None:
        self._queue.put_nowait(None)


def register(server: MCPServer[ServerState]) -> None:
    @server.tool(
        name="build_dataset",
        annotations=tool_annotations(
            "Build a dataset from documents", read_only=False, destructive=False, idempotent=False, open_world=False
        ),
    )
    async def build_dataset(
        ctx: Context,
        paths: Annotated[
            list[str], Field(description="Files or folders of literature, inside the allowed roots.")
        ] = [],  # noqa: B006
        out_dir: Annotated[str, Field(description="Folder for the dataset and its reports.")] = "ftds-dataset",
        domain: Annotated[str, Field(description="Domain preset: law, medicine, finance, general.")] = "law",
        max_chunks: Annotated[
            int | None, Field(description="Process at most N chunks, spread over the documents.", ge=1)
        ] = None,
        wait: Annotated[bool, Field(description="Wait for the end, streaming progress; false returns at once.")] = True,
        resume_run_id: Annotated[str | None, Field(description="Resume this interrupted run instead.")] = None,
        overwrite: OverwriteArg = False,
    ) -> BuildDatasetResult:
        """Run the whole pipeline — load, chunk, generate, review, dedupe, split, export — as a resumable run.
        Returns the run id; with wait=true also the summary (counts, reasons, outputs)."""
        from ftds.agents import runner  # langgraph is imported on first use, keeping server start-up fast

        state = state_of(ctx)
        relay = _ProgressRelay(ctx)
        try:
            if resume_run_id:
                _, context = runner.prepare_resume(state.settings.runs_dir, resume_run_id, relay.event)
                inputs = None
            else:
                if not paths:
                    raise ToolError("give at least one file or folder in paths (or resume_run_id to resume a run)")
                resolved = [state.path(p) for p in paths]
                missing = [p for p, r in zip(paths, resolved, strict=True) if not r.exists()]
                if missing:
                    raise ToolError(f"not found: {', '.join(missing)}; pass existing files or folders")
                target = state.path(out_dir)
                target.mkdir(parents=True, exist_ok=True)
                settings = state.settings.model_copy(deep=True)
                settings.build.domain = domain
                settings.build.max_chunks = max_chunks
                _, context = runner.start(settings, resolved, target, relay.event, overwrite=overwrite)
                inputs = resolved
        except (runner.RunError, LLMError, OutputExistsError) as exc:
            raise ToolError(str(exc)) from None
        store = RunStore(context.settings.runs_dir)
        hint = (
            f"resume with build_dataset(resume_run_id='{context.run_id}') "
            f"or `ftds-agent build --resume {context.run_id}`"
        )

        async def run() -> RunSummary:
            try:
                return await runner.execute(store, context, inputs)
            finally:
                relay.close()
                await context.generator.aclose()
                if context.reviewer is not context.generator:
                    await context.reviewer.aclose()

        if not wait:
            state.background[context.run_id] = asyncio.create_task(run())
            return BuildDatasetResult(
                run_id=context.run_id, status="running", out_dir=str(context.out_dir), resume_hint=hint
            )
        pump = asyncio.create_task(relay.pump())
        try:
            summary = await run()
        except Exception as exc:
            raise ToolError(f"run {context.run_id} failed: {exc}; {hint}") from None
        finally:
            await pump
        return BuildDatasetResult(
            run_id=context.run_id,
            status="finished" if summary.complete else "partial",
            out_dir=str(context.out_dir),
            summary=summary,
            resume_hint=hint,
        )

    @server.tool(
        name="get_run",
        annotations=tool_annotations(
            "Get a build run", read_only=True, destructive=False, idempotent=True, open_world=False
        ),
    )
    async def get_run(
        run_id: Annotated[str, Field(description="Id returned by build_dataset or list_runs.")], ctx: Context
    ) -> RunInfo:
        """Status of one build run: running, finished, partial, failed or interrupted, with its output folder."""
        record = RunStore(state_of(ctx).settings.runs_dir).get(run_id)
        if record is None:
            raise ToolError(f"no run {run_id}; call list_runs to see the run ids")
        return _info(record)

    @server.tool(
        name="list_runs",
        annotations=tool_annotations(
            "List build runs", read_only=True, destructive=False, idempotent=True, open_world=False
        ),
    )
    async def list_runs(
        ctx: Context, limit: Annotated[int, Field(description="Newest first, at most this many.", ge=1, le=200)] = 20
    ) -> list[RunInfo]:
        """Build runs, newest first, with status and output folder."""
        return [_info(r) for r in RunStore(state_of(ctx).settings.runs_dir).list(limit)]

    @server.resource(
        "ftds://runs/{run_id}/report",
        name="run_report",
        title="Run report",
        description="The Markdown report of a finished build run.",
        mime_type="text/markdown",
    )
    def run_report(run_id: str, ctx: Context) -> str:
        return _run_file(state_of(ctx), run_id, "report.md")

    @server.resource(
        "ftds://runs/{run_id}/dataset",
        name="run_dataset",
        title="Run dataset files",
        description="The files a finished build wrote (JSON: split and format -> path, plus dataset_info).",
        mime_type="application/json",
    )
    def run_dataset(run_id: str, ctx: Context) -> str:
        return _run_file(state_of(ctx), run_id, "report.json", outputs_only=True)


def _run_file(state: ServerState, run_id: str, name: str, outputs_only: bool = False) -> str:
    record = RunStore(state.settings.runs_dir).get(run_id)
    if record is None or record.status not in ("finished", "partial"):
        raise ResourceNotFoundError(f"no finished run {run_id}; list_runs shows the runs and their status")
    text = (Path(record.out_dir) / name).read_text(encoding="utf-8")
    return json.dumps(json.loads(text)["outputs"], ensure_ascii=False, indent=2) if outputs_only else text
