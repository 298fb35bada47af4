"""MCP tools for dataset engineering: conversion and splitting."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated, Literal

from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field

from ftds.server.models import ConvertFormatResult, RecordError, SplitDatasetResult
from ftds.server.state import ServerState, state_of, tool_annotations
from ftds.tools.config import SplitSettings
from ftds.tools.export import write_jsonl
from ftds.tools.formats import FormatError, convert_records, read_records
from ftds.tools.split import split_grouped


def register(server: MCPServer[ServerState]) -> None:
    @server.tool(
        name="convert_format",
        annotations=tool_annotations(
            "Convert dataset format", read_only=False, destructive=True, idempotent=True, open_world=False
        ),
    )
    async def convert_format(
        input_path: Annotated[str, Field(description="JSON or JSONL dataset to convert.")],
        to: Annotated[Literal["alpaca", "sharegpt", "openai"], Field(description="Target format.")],
        out_path: Annotated[str, Field(description="JSONL file to write (overwritten).")],
        ctx: Context,
        source_format: Annotated[
            Literal["auto", "alpaca", "sharegpt", "openai"], Field(description="Source format.")
        ] = "auto",
    ) -> ConvertFormatResult:
        """Convert a dataset between Alpaca, ShareGPT and OpenAI messages; records that break the target's
        rules are listed with the reason instead of being written."""
        state = state_of(ctx)
        source, target = state.path(input_path), state.path(out_path)
        try:
            records = await asyncio.to_thread(read_records, str(source))
            result = convert_records(records, to, source_format)
        except FileNotFoundError:
            raise ToolError(f"{input_path} does not exist; pass an existing JSON or JSONL file") from None
        except (ValueError, FormatError) as exc:
            raise ToolError(f"{input_path} is not a readable dataset: {exc}") from None
        await asyncio.to_thread(write_jsonl, target, result.records)
        return ConvertFormatResult(
            out_path=str(target),
            source_format=result.source_format,
            target_format=to,
            converted=len(result.records),
            error_count=len(result.errors),
            errors=[RecordError(index=i, error=e) for i, e in result.errors[:50]],
        )

    @server.tool(
        name="split_dataset",
        annotations=tool_annotations(
            "Split dataset into train/validation/test",
            read_only=False,
            destructive=True,
            idempotent=True,
            open_world=False,
        ),
    )
    async def split_dataset(
        input_path: Annotated[str, Field(description="JSON or JSONL dataset to split.")],
        out_dir: Annotated[str, Field(description="Folder for train/validation/test JSONL files.")],
        ctx: Context,
        train: Annotated[float, Field(ge=0, le=1, description="Train share.")] = SplitSettings().train,
        validation: Annotated[float, Field(ge=0, le=1, description="Validation share.")] = SplitSettings().validation,
        test: Annotated[float, Field(ge=0, le=1, description="Test share.")] = SplitSettings().test,
        seed: Annotated[int, Field(description="Random seed; same seed, same split.")] = SplitSettings().seed,
        group_by: Annotated[str | None, Field(description="Field whose equal values stay in one split.")] = None,
    ) -> SplitDatasetResult:
        """Split a dataset by seeded ratios, keeping records with the same group_by value in one split."""
        state = state_of(ctx)
        source, target = state.path(input_path), state.path(out_dir)
        try:
            split_settings = SplitSettings(train=train, validation=validation, test=test, seed=seed)
        except ValueError as exc:
            raise ToolError(f"invalid ratios: {exc}") from None
        try:
            records = await asyncio.to_thread(read_records, str(source))
        except FileNotFoundError:
            raise ToolError(f"{input_path} does not exist; pass an existing JSON or JSONL file") from None
        except (ValueError, FormatError) as exc:
            raise ToolError(f"{input_path} is not a readable dataset: {exc}") from None
        keys = [(group_by, lambda r: json.dumps(r.get(group_by), ensure_ascii=False))] if group_by else []
        result = split_grouped(records, split_settings, keys)
        files = {}
        for name, items in result.splits.items():
            files[name] = str(target / f"{name}.jsonl")
            await asyncio.to_thread(write_jsonl, target / f"{name}.jsonl", items)
        return SplitDatasetResult(counts=result.counts(), files=files, grouped_by=result.grouped_by, notes=result.notes)
