"""MCP tools for finding existing datasets: multi-registry search with licences, and one dataset's details
with an optional sample loaded through ``datasets`` and checked by the format tools."""

from __future__ import annotations

import asyncio
from typing import Annotated, Literal

from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

from ftds.server.limits import LIST_BOUND, MAX_LIST_ITEMS, NameText, PathText, QueryText
from ftds.server.state import ServerState, state_of, tool_annotations
from ftds.tools.config import SourceName
from ftds.tools.sources import (
    DatasetDetails,
    FetchedSample,
    FetchError,
    IntendedUse,
    LicenseCheck,
    SearchFilters,
    SearchOutcome,
    SourceError,
    catalog_version,
    check_license,
    fetch_sample,
    get_dataset_details,
    search_sources,
)

DetailSource = Literal["huggingface", "modelscope", "kaggle", "catalog", "local"]


class SearchDatasetSourcesResult(SearchOutcome):
    catalog_version: str
    license_checks: dict[str, LicenseCheck] = Field(
        default_factory=dict, description="Per result id, when an intended use was given."
    )


class DatasetDetailsResult(BaseModel):
    details: DatasetDetails | None = Field(description="Registry metadata; null for a local dataset.")
    sample: FetchedSample | None = Field(default=None, description="Rows loaded with `datasets`, when asked for.")


def register(server: MCPServer[ServerState]) -> None:
    @server.tool(
        name="search_dataset_sources",
        annotations=tool_annotations(
            "Search public dataset registries", read_only=True, destructive=False, idempotent=True, open_world=True
        ),
    )
    async def search_dataset_sources(
        query: Annotated[QueryText, Field(description="What to look for, e.g. 'Chinese law Q&A' or '中文法律问答'.")],
        ctx: Context,
        sources: Annotated[
            Annotated[list[SourceName], LIST_BOUND, Field(max_length=MAX_LIST_ITEMS)] | None,
            Field(description="Registries to ask; default: all configured."),
        ] = None,
        task: Annotated[NameText | None, Field(description="Task category, e.g. question-answering.")] = None,
        language: Annotated[NameText | None, Field(description="Language code, e.g. zh or en.")] = None,
        license: Annotated[NameText | None, Field(description="Licence id to require, e.g. apache-2.0.")] = None,
        limit: Annotated[int | None, Field(ge=1, le=100, description="Results per registry.")] = None,
        offline: Annotated[bool | None, Field(description="True: shipped catalog only, no network.")] = None,
        commercial_use: Annotated[
            bool | None, Field(description="Check every result's licence for commercial training use.")
        ] = None,
        redistribute: Annotated[bool, Field(description="With commercial_use: you will publish the data.")] = False,
    ) -> SearchDatasetSourcesResult:
        """Search Hugging Face, ModelScope, Kaggle, OpenDataLab, awesome-public-datasets and the shipped catalog
        at once; results are normalised (licence as SPDX id, task, language, size, how to load). A registry
        that fails is listed in `failures`; the rest still answer. Google Dataset Search comes back as a link."""
        settings = state_of(ctx).settings.sources
        filters = SearchFilters(task=task, language=language, license=license)
        try:
            outcome = await asyncio.to_thread(
                search_sources, query, settings, filters=filters, sources=sources, limit=limit, offline=offline
            )
        except ValueError as exc:
            raise ToolError(str(exc)) from None
        result = SearchDatasetSourcesResult(**outcome.model_dump(), catalog_version=catalog_version())
        if commercial_use is not None:
            use = IntendedUse(commercial=commercial_use, redistribute=redistribute)
            result.license_checks = {f"{r.source}:{r.id}": check_license(r.license, use) for r in result.results}
        return result

    @server.tool(
        name="get_dataset_details",
        annotations=tool_annotations(
            "Show dataset details and sample", read_only=True, destructive=False, idempotent=True, open_world=True
        ),
    )
    async def get_dataset_details_tool(
        dataset_id: Annotated[
            PathText, Field(description="Registry id (owner/name), or a local file/folder path when source=local.")
        ],
        ctx: Context,
        source: Annotated[DetailSource, Field(description="Where the id comes from.")] = "huggingface",
        sample_rows: Annotated[
            int, Field(ge=0, le=1000, description="Rows to load with `datasets` (0 = metadata only).")
        ] = 0,
        split: Annotated[NameText, Field(description="Split to sample.")] = "train",
        config: Annotated[NameText | None, Field(description="Dataset configuration (subset) to sample.")] = None,
        convert_to: Annotated[
            Literal["alpaca", "sharegpt", "openai"] | None, Field(description="Also convert the sample to this format.")
        ] = None,
    ) -> DatasetDetailsResult:
        """Card, configs, splits, features, a row preview and the licence of one dataset; with sample_rows > 0
        the rows are loaded with `datasets`, their record format detected and optionally converted."""
        state = state_of(ctx)
        settings = state.settings.sources
        result = DatasetDetailsResult(details=None)
        target = dataset_id
        if source == "local":
            target = str(state.path(dataset_id))
        else:
            try:
                result.details = await asyncio.to_thread(get_dataset_details, dataset_id, source, settings)
            except SourceError as exc:
                raise ToolError(str(exc)) from None
        if sample_rows and result.details is not None and result.details.result.source != "huggingface":
            found = result.details.result
            raise ToolError(
                f"samples are loaded with `datasets` from the Hugging Face Hub or a local file; {found.id} is on "
                f"{found.source}: download it ({found.load_snippet or found.url}) and pass the file with source=local"
            )
        if sample_rows:
            try:
                result.sample = await asyncio.to_thread(
                    fetch_sample,
                    target,
                    limit=sample_rows,
                    split=split,
                    config=config,
                    to=convert_to,
                    cache_dir=state.settings.cache_dir / "datasets",
                    offline=settings.offline,
                )
            except FetchError as exc:
                raise ToolError(str(exc)) from None
        return result
