"""MCP tools for the review studio: the same actions as the web app, so a chat assistant can help review.

``studio_review`` carries the MCP Apps extension (SEP-1865): its ``_meta.ui.resourceUri`` points at the
``ui://ftds/review`` HTML resource, a single self-contained page that hosts supporting MCP Apps render in a
sandboxed frame; it calls the tools below through the host. Every tool names a ``workspace`` (a folder
inside the server's roots, ``ftds-studio`` by default): the studio's database lives there. The storage
(``ftds.tools.studio``, SQLAlchemy) is imported inside the tools, so server start-up stays light.
"""

from __future__ import annotations

import asyncio
import threading
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from mcp.server import MCPServer
from mcp.server.apps import Apps
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

from ftds.server.limits import (
    EditMap,
    IdList,
    LabelText,
    NameList,
    NameMap,
    NameText,
    NoteText,
    PairText,
    PathText,
    QueryText,
)
from ftds.server.state import ServerState, state_of, tool_annotations
from ftds.tools.studio.models import (
    TEXT_FIELDS,
    ApplyResult,
    BulkOp,
    DatasetInfo,
    ExportSummary,
    ImportResult,
    Plan,
    SampleDetail,
    SampleFilter,
    SamplePage,
    SampleRow,
    ValidationSummary,
)

REVIEW_URI = "ui://ftds/review"
DEFAULT_WORKSPACE = "ftds-studio"
WorkspaceArg = Annotated[
    PathText, Field(description="Studio workspace folder (its database inside), within the server's roots.")
]
ReviewerArg = Annotated[NameText, Field(description="Name of the person the change is recorded for (audit log).")]
DatasetArg = Annotated[NameText, Field(description="Dataset name or numeric id (see studio_list_datasets).")]


class FilterArg(SampleFilter):
    """SampleFilter with every text and list bounded, as every MCP argument is (server/limits.py)."""

    label: LabelText | None = Field(default=None, description="Label path; its sub-labels match too. '' = unlabelled.")
    failed_check: NameText | None = Field(default=None, description="Name of a check the sample failed; '*' = any.")
    source: NameText | None = None
    reviewer: NameText | None = Field(default=None, description="Last human reviewer; '' = not reviewed by a person.")
    split: NameText | None = None
    assigned_to: NameText | None = Field(default=None, description="Samples in this reviewer's assignments.")
    query: QueryText | None = Field(default=None, description="Free text searched in question, answer and reasoning.")
    sample_ids: IdList | None = None


class BulkOpArg(BulkOp):
    """BulkOp with every text and list bounded; find and replace may be as long as one question or answer."""

    filter: FilterArg = Field(default_factory=FilterArg)
    reason: NoteText = Field(default="", description="decide: why (required to reject)")
    find: PairText = Field(default="", description="replace: text (or regular expression) to find")
    replace: PairText = Field(default="", description="replace: replacement")
    fields: NameList = Field(default_factory=lambda: list(TEXT_FIELDS), description="replace: fields searched")
    label: LabelText | None = Field(default=None, description="relabel: the new label ('' removes the label)")


_open: dict[str, Any] = {}
_open_lock = threading.Lock()


def _workspace(ctx: Context, raw: str) -> Any:
    from ftds.tools.studio.store import open_workspace

    folder = state_of(ctx).path(raw or DEFAULT_WORKSPACE)
    with _open_lock:
        if str(folder) not in _open:
            try:
                _open[str(folder)] = open_workspace(folder)
            except ValueError as exc:
                raise ToolError(str(exc)) from None
        return _open[str(folder)]


def _dataset_ref(raw: str) -> int | str:
    return int(raw) if raw.strip().isdigit() else raw.strip()


async def _call(func: Any, *args: Any, **kwargs: Any) -> Any:
    from ftds.tools.studio.models import StudioError

    try:
        return await asyncio.to_thread(func, *args, **kwargs)
    except StudioError as exc:
        raise ToolError(str(exc)) from None


class DatasetList(BaseModel):
    datasets: list[DatasetInfo]


class ReviewPage(BaseModel):
    """A page of the review table with what the review view needs to act on it."""

    workspace: str
    dataset: DatasetInfo
    page: SamplePage


def _annotations(title: str, *, read_only: bool, destructive: bool = False, idempotent: bool = False) -> Any:
    return tool_annotations(
        title, read_only=read_only, destructive=destructive, idempotent=idempotent, open_world=False
    )


def review_html() -> str:
    """The review view as one sandbox-friendly HTML document (inline CSS and JS, no network)."""
    return (resources.files("ftds.server.studio") / "static" / "review-app.html").read_text(encoding="utf-8")


def review_app() -> Apps:
    """The MCP Apps extension: ``studio_review`` bound to the ``ui://ftds/review`` resource."""
    apps = Apps()

    @apps.tool(
        resource_uri=REVIEW_URI,
        name="studio_review",
        annotations=_annotations("Review samples (studio)", read_only=True, idempotent=True),
    )
    async def studio_review(
        dataset: DatasetArg,
        ctx: Context,
        filter: Annotated[FilterArg | None, Field(description="Which samples to show.")] = None,
        sort: Annotated[
            Literal["position", "score", "label", "source", "updated", "decision"], Field(description="Sort key.")
        ] = "position",
        descending: bool = False,
        offset: Annotated[int, Field(ge=0)] = 0,
        limit: Annotated[int, Field(ge=1, le=500)] = 50,
        workspace: WorkspaceArg = DEFAULT_WORKSPACE,
    ) -> ReviewPage:
        """A page of a dataset's samples for review (filters: label, decision, score, failed check, source,
        reviewer, free text). Hosts with MCP Apps show it as an interactive review view."""
        from ftds.tools.studio import operations

        ws = _workspace(ctx, workspace)
        info = await _call(operations.get_dataset, ws, _dataset_ref(dataset))
        page = await _call(
            operations.list_samples,
            ws,
            info.id,
            filter,
            sort=sort,
            descending=descending,
            offset=offset,
            limit=limit,
        )
        return ReviewPage(workspace=workspace, dataset=info, page=page)

    apps.add_html_resource(
        REVIEW_URI,
        review_html(),
        name="ftds review",
        title="ftds review studio",
        description="Review a dataset's samples: table, sample with its source passage, accept/reject, undo.",
        prefers_border=True,
    )
    return apps


def register(server: MCPServer[ServerState]) -> None:
    @server.tool(name="studio_import", annotations=_annotations("Import into the studio", read_only=False))
    async def studio_import(
        path: Annotated[
            PathText, Field(description="A build's output folder, or a dataset file in any format ftds reads.")
        ],
        ctx: Context,
        name: Annotated[NameText | None, Field(description="Dataset name (default: the folder or file name).")] = None,
        mapping: Annotated[
            NameMap | None, Field(description="Column mapping for dataset files {target_field: source_field}.")
        ] = None,
        workspace: WorkspaceArg = DEFAULT_WORKSPACE,
    ) -> ImportResult:
        """Import a build (accepted and rejected samples, report) or a dataset file into a studio workspace;
        records that cannot be read are listed with the reason."""
        from ftds.tools.studio import importing

        ws = _workspace(ctx, workspace)
        source = state_of(ctx).path(path)
        return await _call(
            importing.import_path, ws, source, name=name, mapping=mapping, runs_dir=state_of(ctx).settings.runs_dir
        )

    @server.tool(
        name="studio_list_datasets",
        annotations=_annotations("List studio datasets", read_only=True, idempotent=True),
    )
    async def studio_list_datasets(ctx: Context, workspace: WorkspaceArg = DEFAULT_WORKSPACE) -> DatasetList:
        """The workspace's datasets with counts (total, accepted, rejected, reviewed), task, format, status."""
        from ftds.tools.studio import operations

        return DatasetList(datasets=await _call(operations.list_datasets, _workspace(ctx, workspace)))

    @server.tool(
        name="studio_get_sample", annotations=_annotations("Get a studio sample", read_only=True, idempotent=True)
    )
    async def studio_get_sample(
        dataset: DatasetArg, sample_id: NameText, ctx: Context, workspace: WorkspaceArg = DEFAULT_WORKSPACE
    ) -> SampleDetail:
        """One sample: the Sample record, its source passage (evidence offsets point into the document) and
        its revision history."""
        from ftds.tools.studio import operations

        return await _call(operations.get_sample, _workspace(ctx, workspace), _dataset_ref(dataset), sample_id)

    @server.tool(name="studio_update_sample", annotations=_annotations("Edit a studio sample", read_only=False))
    async def studio_update_sample(
        dataset: DatasetArg,
        sample_id: NameText,
        fields: Annotated[EditMap, Field(description="Sample fields to set, e.g. {'answer': '...'}.")],
        reviewer: ReviewerArg,
        ctx: Context,
        expected_version: Annotated[
            int | None, Field(description="Row version last seen; a newer change is then refused, not overwritten.")
        ] = None,
        workspace: WorkspaceArg = DEFAULT_WORKSPACE,
    ) -> SampleRow:
        """Edit any field of a sample (question, answer, reasoning, label, turns, split ...); audited."""
        from ftds.tools.studio import operations

        return await _call(
            operations.update_sample,
            _workspace(ctx, workspace),
            _dataset_ref(dataset),
            sample_id,
            fields,
            reviewer,
            expected_version,
        )

    @server.tool(name="studio_decide", annotations=_annotations("Accept or reject a sample", read_only=False))
    async def studio_decide(
        dataset: DatasetArg,
        sample_id: NameText,
        decision: Literal["accept", "reject"],
        reviewer: ReviewerArg,
        ctx: Context,
        reason: Annotated[NoteText, Field(description="Why (required to reject).")] = "",
        workspace: WorkspaceArg = DEFAULT_WORKSPACE,
    ) -> SampleRow:
        """Accept or reject one sample; accepting a rejected sample rescues it. Audited, undoable."""
        from ftds.tools.studio import operations

        return await _call(
            operations.decide, _workspace(ctx, workspace), _dataset_ref(dataset), sample_id, decision, reviewer, reason
        )

    @server.tool(name="studio_undo", annotations=_annotations("Undo a studio change", read_only=False))
    async def studio_undo(
        dataset: DatasetArg,
        reviewer: ReviewerArg,
        ctx: Context,
        audit_id: Annotated[int | None, Field(description="Audit entry to undo (default: your last).")] = None,
        workspace: WorkspaceArg = DEFAULT_WORKSPACE,
    ) -> ApplyResult:
        """Reverse the reviewer's last change (refused if someone changed those fields since)."""
        from ftds.tools.studio import operations

        return await _call(operations.undo, _workspace(ctx, workspace), _dataset_ref(dataset), reviewer, audit_id)

    @server.tool(
        name="studio_bulk_preview",
        annotations=_annotations("Preview a bulk change", read_only=True, idempotent=True),
    )
    async def studio_bulk_preview(
        dataset: DatasetArg,
        op: Annotated[BulkOpArg, Field(description="decide / replace / relabel over the samples a filter selects.")],
        ctx: Context,
        limit: Annotated[int, Field(ge=0, le=2000, description="Changes listed (the count is always whole).")] = 200,
        workspace: WorkspaceArg = DEFAULT_WORKSPACE,
    ) -> Plan:
        """Every change a bulk accept/reject, find-and-replace or re-label would make (before/after), and
        the fingerprint studio_bulk_apply needs."""
        from ftds.tools.studio import operations

        return await _call(operations.preview, _workspace(ctx, workspace), _dataset_ref(dataset), op, "preview", limit)

    @server.tool(
        name="studio_bulk_apply",
        annotations=_annotations("Apply a previewed bulk change", read_only=False, destructive=True),
    )
    async def studio_bulk_apply(
        dataset: DatasetArg,
        op: Annotated[BulkOpArg, Field(description="The same operation that was previewed.")],
        fingerprint: Annotated[
            NameText, Field(description="The preview's fingerprint (refused if the data moved on).")
        ],
        reviewer: ReviewerArg,
        ctx: Context,
        workspace: WorkspaceArg = DEFAULT_WORKSPACE,
    ) -> ApplyResult:
        """Apply exactly the previewed changes in one audited, undoable step."""
        from ftds.tools.studio import operations

        return await _call(
            operations.apply, _workspace(ctx, workspace), _dataset_ref(dataset), op, reviewer, fingerprint
        )

    @server.tool(name="studio_edit_labels", annotations=_annotations("Edit the label tree", read_only=False))
    async def studio_edit_labels(
        dataset: DatasetArg,
        action: Literal["add", "rename", "move", "merge", "remove", "import"],
        reviewer: ReviewerArg,
        ctx: Context,
        path: Annotated[LabelText, Field(description="The label (Parent/Child) the action is on.")] = "",
        new_name: Annotated[LabelText, Field(description="rename: the new node name.")] = "",
        new_parent: Annotated[LabelText, Field(description="move: the new parent ('' = top level).")] = "",
        target: Annotated[LabelText, Field(description="merge: the label that absorbs `path`.")] = "",
        taxonomy_file: Annotated[
            PathText, Field(description="import: a YAML/JSON tree or a document whose headings become labels.")
        ] = "",
        replace: Annotated[bool, Field(description="import: replace the tree instead of adding to it.")] = False,
        workspace: WorkspaceArg = DEFAULT_WORKSPACE,
    ) -> ApplyResult:
        """Change the label tree; samples under a renamed, moved or merged label follow it (one undo)."""
        from ftds.tools.studio import taxonomy

        ws, ref = _workspace(ctx, workspace), _dataset_ref(dataset)
        if action == "add":
            return await _call(taxonomy.add_label, ws, ref, path, reviewer)
        if action == "rename":
            return await _call(taxonomy.rename_label, ws, ref, path, new_name, reviewer)
        if action == "move":
            return await _call(taxonomy.move_label, ws, ref, path, new_parent, reviewer)
        if action == "merge":
            return await _call(taxonomy.merge_labels, ws, ref, path, target, reviewer)
        if action == "remove":
            return await _call(taxonomy.remove_label, ws, ref, path, reviewer)
        source = state_of(ctx).path(taxonomy_file)
        return await _call(taxonomy.import_taxonomy, ws, ref, source, reviewer, replace)

    @server.tool(
        name="studio_validate", annotations=_annotations("Validate a studio dataset", read_only=True, idempotent=True)
    )
    async def studio_validate(
        dataset: DatasetArg,
        ctx: Context,
        format: Annotated[NameText | None, Field(description="Trainer format (default: the dataset's).")] = None,
        workspace: WorkspaceArg = DEFAULT_WORKSPACE,
    ) -> ValidationSummary:
        """The trainer rules (as ftds-agent validate) on every accepted sample, as it would be exported."""
        from ftds.tools.studio import publish

        return await _call(publish.validate_dataset, _workspace(ctx, workspace), _dataset_ref(dataset), format)

    @server.tool(
        name="studio_export",
        annotations=_annotations("Export a reviewed dataset", read_only=False, destructive=True, idempotent=True),
    )
    async def studio_export(
        dataset: DatasetArg,
        out_dir: Annotated[PathText, Field(description="Folder to write (inside the roots).")],
        ctx: Context,
        format: Annotated[NameText | None, Field(description="Trainer format (default: the dataset's).")] = None,
        split: Annotated[Literal["keep", "recompute"], Field(description="Keep the imported split or recompute.")] = (
            "keep"
        ),
        overwrite: Annotated[
            bool, Field(description="Replace a dataset already in out_dir (only the files it wrote are removed).")
        ] = False,
        workspace: WorkspaceArg = DEFAULT_WORKSPACE,
    ) -> ExportSummary:
        """Export the accepted samples through the project's exporter, with reviewer decisions, edits and
        names in the provenance sidecar and the rejected samples in rejected.jsonl."""
        from ftds.tools.studio import publish

        target = state_of(ctx).path(out_dir)
        return await _call(
            publish.export_reviewed,
            _workspace(ctx, workspace),
            _dataset_ref(dataset),
            Path(target),
            fmt=format,
            split=split,
            overwrite=overwrite,
        )
