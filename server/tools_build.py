"""MCP tools for whole build runs (``build_dataset``, ``get_run``, ``list_runs``) and their resources.

A client sees only the runs whose output folder and inputs lie inside its roots: any other run — made by the
CLI, or by a server with other roots — is answered exactly like an id that does not exist, so a client learns
neither the runs folder nor other runs' ids or paths.

A build can take hours with a local model, longer than a client will hold a request open. So
``build_dataset`` either waits, streaming progress notifications (``wait=true``), or starts the run in the
background and returns its id at once for ``get_run`` to poll. Either way the run is checkpointed: a server
that stops mid-run leaves it resumable (``build_dataset`` with ``resume_run_id``, or the CLI's ``--resume``).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated

from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ResourceNotFoundError, ToolError
from pydantic import BaseModel, Field

from ftds.agents.runs import RunRecord, RunStore
from ftds.server.limits import MAX_NAME_CHARS, NameText, PathList, PathText
from ftds.server.progress import BuildProgressRelay
from ftds.server.state import ServerState, state_of, tool_annotations
from ftds.server.tools_dataset import OverwriteArg
from ftds.tools.confinement import PathNotAllowed
from ftds.tools.dataset.files import OutputExistsError
from ftds.tools.llm import LLMError
from ftds.tools.records import RunSummary
from ftds.tools.redact import redact_text


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


def unknown_run(run_id: str) -> str:
    """One sentence for a run that does not exist and for one outside the client's roots."""
    return f"no run {run_id} among the runs in your folders; call list_runs to see their ids"


def _visible(state: ServerState, record: RunRecord) -> bool:
    """True when the run's output folder and every input lie inside this call's roots."""
    confinement = state.confinement()
    try:
        for path in (record.out_dir, *record.inputs):
            confinement.check(Path(path))
    except PathNotAllowed:
        return False
    return True


def _visible_run(state: ServerState, run_id: str) -> RunRecord | None:
    record = RunStore(state.settings.runs_dir).get(run_id)
    return record if record is not None and _visible(state, record) else None


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


def register(server: MCPServer[ServerState]) -> None:
    @server.tool(
        name="build_dataset",
        annotations=tool_annotations(
            "Build a dataset from documents", read_only=False, destructive=False, idempotent=False, open_world=False
        ),
    )
    async def build_dataset(
        ctx: Context,
        paths: Annotated[PathList, Field(description="Files or folders of literature, inside the allowed roots.")] = [],  # noqa: B006
        out_dir: Annotated[PathText, Field(description="Folder for the dataset and its reports.")] = "ftds-dataset",
        domain: Annotated[NameText, Field(description="Domain preset: law, medicine, finance, general.")] = "law",
        max_chunks: Annotated[
            int | None, Field(description="Process at most N chunks, spread over the documents.", ge=1)
        ] = None,
        wait: Annotated[bool, Field(description="Wait for the end, streaming progress; false returns at once.")] = True,
        resume_run_id: Annotated[NameText | None, Field(description="Resume this interrupted run instead.")] = None,
        overwrite: OverwriteArg = False,
    ) -> BuildDatasetResult:
        """Run the whole pipeline — load, chunk, generate, review, dedupe, split, export — as a resumable run.
        Returns the run id; with wait=true also the summary (counts, reasons, outputs)."""
        from ftds.agents import runner  # langgraph is imported on first use, keeping server start-up fast

        state = state_of(ctx)
        relay = BuildProgressRelay(ctx)
        try:
            if resume_run_id:
                record = _visible_run(state, resume_run_id)
                if record is None:
                    raise ToolError(unknown_run(resume_run_id))
                state.path(record.out_dir)  # no link out of the roots inside the folder it writes to
                _, context = runner.prepare_resume(
                    state.settings.runs_dir, resume_run_id, relay.event, current=state.settings
                )
                inputs = None
            else:
                if not paths:
                    raise ToolError("give at least one file or folder in paths (or resume_run_id to resume a run)")
                resolved = [state.path(p, whole_folder=False) for p in paths]  # the walk reports links per file
                missing = [p for p, r in zip(paths, resolved, strict=True) if not r.exists()]
                if missing:
                    raise ToolError(f"not found: {', '.join(missing)}; pass existing files or folders")
                target = state.path(out_dir)
                try:
                    target.mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    raise ToolError(f"out_dir {out_dir} cannot be a folder ({exc.strerror}); pass another") from None
                settings = state.settings.model_copy(deep=True)
                settings.build.domain = domain
                settings.build.max_chunks = max_chunks
                _, context = runner.start(settings, resolved, target, relay.event, overwrite=overwrite)
                inputs = resolved
            runner.attach_executor(context)  # settings.build.executor = "ray": connects and places the workers
        except (runner.RunError, LLMError, OutputExistsError, ValueError) as exc:
            raise ToolError(redact_text(str(exc))) from None
        context.confinement = state.confinement()  # every file the run reads stays inside the roots
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
                await runner.close_context(context)

        if not wait:
            state.background[context.run_id] = asyncio.create_task(run())
            return BuildDatasetResult(
                run_id=context.run_id, status="running", out_dir=str(context.out_dir), resume_hint=hint
            )
        pump = asyncio.create_task(relay.pump())
        try:
            summary = await run()
        except Exception as exc:
            raise ToolError(f"run {context.run_id} failed: {redact_text(str(exc))}; {hint}") from None
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
        run_id: Annotated[NameText, Field(description="Id returned by build_dataset or list_runs.")], ctx: Context
    ) -> RunInfo:
        """Status of one build run: running, finished, partial, failed or interrupted, with its output folder."""
        record = _visible_run(state_of(ctx), run_id)
        if record is None:
            raise ToolError(unknown_run(run_id))
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
        """Build runs inside your folders, newest first, with status and output folder."""
        state = state_of(ctx)
        visible = [r for r in RunStore(state.settings.runs_dir).list(None) if _visible(state, r)]
        return [_info(r) for r in visible[:limit]]

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
    record = _visible_run(state, run_id) if len(run_id) <= MAX_NAME_CHARS else None
    if record is None:
        raise ResourceNotFoundError(unknown_run(run_id))
    if record.status not in ("finished", "partial"):
        raise ResourceNotFoundError(f"run {run_id} has not finished ({record.status}); get_run shows its status")
    try:
        path = state.confinement().check(Path(record.out_dir) / name, name)
        text = path.read_text(encoding="utf-8")
    except (PathNotAllowed, OSError) as exc:
        reason = str(exc) if isinstance(exc, PathNotAllowed) else "it cannot be read"
        raise ResourceNotFoundError(f"the {name} of run {run_id} is not available: {reason}") from None
    return json.dumps(json.loads(text)["outputs"], ensure_ascii=False, indent=2) if outputs_only else text
