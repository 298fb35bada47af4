"""MCP tools for dataset engineering: convert, validate, dedupe, split and export.

Large results (every cluster, every invalid record) are written to report files; the tool returns a summary.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field

from ftds.server.limits import LIST_BOUND, MAX_LIST_ITEMS, NameList, NameMap, NameText, PathText
from ftds.server.models import ConvertFormatResult
from ftds.server.state import ServerState, state_of, tool_annotations
from ftds.tools.config import SplitSettings
from ftds.tools.dataset import operations as dataset_ops
from ftds.tools.dataset.export import CardInfo
from ftds.tools.dataset.operations import DedupeResult, ExportResult, SplitResult, ValidateResult
from ftds.tools.dataset.split import SplitError
from ftds.tools.formats import FormatError

FormatArg = Literal[
    "alpaca",
    "sharegpt",
    "openai",
    "dialogue",
    "trl",
    "kto",
    "cot",
    "domain",
    "reward",
    "classification",
    "pretrain",
    "multimodal",
]


R = TypeVar("R")
OverwriteArg = Annotated[
    bool, Field(description="Replace the dataset out_dir already holds (only the files it wrote are removed).")
]


async def _run(input_path: str, func: Callable[..., R], *args: Any, **kwargs: Any) -> R:
    try:
        return await asyncio.to_thread(func, *args, **kwargs)
    except FileNotFoundError as exc:
        raise ToolError(f"{input_path} does not exist: {exc}") from None
    except (FormatError, SplitError, ValueError) as exc:
        raise ToolError(f"{input_path}: {exc}") from None
    except OSError as exc:  # a folder where a file goes, a file where a folder goes, a read-only place...
        where = f" ({Path(exc.filename).name})" if exc.filename else ""
        raise ToolError(f"{input_path}: {exc.strerror or exc}{where}; check the input and output paths") from None


def register(server: MCPServer[ServerState]) -> None:
    @server.tool(
        name="convert_format",
        annotations=tool_annotations(
            "Convert dataset format", read_only=False, destructive=True, idempotent=True, open_world=False
        ),
    )
    async def convert_format(
        input_path: Annotated[
            PathText, Field(description="JSON, JSONL, CSV or Parquet dataset, or a datasets folder.")
        ],
        to: Annotated[FormatArg, Field(description="Target format.")],
        out_path: Annotated[PathText, Field(description="JSONL file to write (overwritten).")],
        ctx: Context,
        source_format: Annotated[Literal["auto"] | FormatArg, Field(description="Source format.")] = "auto",
        mapping: Annotated[NameMap | None, Field(description="Rename columns {target_field: source_field}.")] = None,
    ) -> ConvertFormatResult:
        """Convert a dataset between formats; records that break the target's rules are listed with the
        reason instead of being written, and fields the target cannot hold are counted in 'dropped'."""
        state = state_of(ctx)
        source, target = state.path(input_path), state.path(out_path)
        summary = await _run(input_path, dataset_ops.convert_file, str(source), target, to, source_format, mapping)
        return ConvertFormatResult(
            out_path=summary.out,
            source_format=summary.source_format,
            target_format=to,
            converted=summary.converted,
            error_count=summary.error_count,
            errors=summary.errors,
            dropped=summary.dropped,
            report_path=summary.report,
            unreadable_count=summary.unreadable_count,
            unreadable=summary.unreadable,
        )

    @server.tool(
        name="validate_dataset",
        annotations=tool_annotations(
            "Validate dataset for trainers", read_only=True, destructive=False, idempotent=True, open_world=False
        ),
    )
    async def validate_dataset(
        input_path: Annotated[PathText, Field(description="Dataset file or datasets folder to check.")],
        ctx: Context,
        format: Annotated[Literal["auto"] | FormatArg, Field(description="Format whose rules apply.")] = "auto",
    ) -> ValidateResult:
        """Check every record against the format's trainer rules (role alternation, message count, media
        placeholders, required fields, empty strings, one type per column) and list the failures."""
        source = state_of(ctx).path(input_path)
        return await _run(input_path, dataset_ops.validate_file, str(source), format)

    @server.tool(
        name="embed_dedupe",
        annotations=tool_annotations(
            "Deduplicate dataset (exact, near, semantic)",
            read_only=False,
            destructive=True,
            idempotent=True,
            open_world=False,
        ),
    )
    async def embed_dedupe(
        input_path: Annotated[PathText, Field(description="Dataset to deduplicate.")],
        out_path: Annotated[PathText, Field(description="JSONL of the kept records (overwritten).")],
        ctx: Context,
        methods: Annotated[
            list[Literal["exact", "near", "semantic"]],
            LIST_BOUND,
            Field(description="Duplicate tests to apply.", max_length=MAX_LIST_ITEMS),
        ] = ["exact", "near"],  # noqa: B006 - a JSON-schema default, never mutated
        score_field: Annotated[NameText | None, Field(description="Field whose higher value wins a cluster.")] = None,
        store_dir: Annotated[
            PathText | None, Field(description="chromadb folder remembering earlier runs (semantic only).")
        ] = None,
        eval_path: Annotated[PathText | None, Field(description="Evaluation set to audit for leakage.")] = None,
    ) -> DedupeResult:
        """Cluster duplicates, keep the best-scored member of each, and report the clusters (full list in
        the report file). Semantic dedupe embeds with the packaged multilingual encoder."""
        state = state_of(ctx)
        source, target = state.path(input_path), state.path(out_path)
        store = state.path(store_dir) if store_dir else None
        evaluation = str(state.path(eval_path)) if eval_path else None
        return await _run(
            input_path,
            dataset_ops.dedupe_file,
            str(source),
            target,
            state.settings,
            methods,
            score_field,
            store,
            evaluation,
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
        input_path: Annotated[PathText, Field(description="Dataset to split.")],
        out_dir: Annotated[PathText, Field(description="Folder for train/validation/test/full JSONL files.")],
        ctx: Context,
        train: Annotated[float | None, Field(ge=0, le=1, description="Train share (default 0.7; 0.8 small).")] = None,
        validation: Annotated[float | None, Field(ge=0, le=1, description="Validation share.")] = None,
        test: Annotated[float | None, Field(ge=0, le=1, description="Test share.")] = None,
        seed: Annotated[int | None, Field(description="Random seed; same seed, same split.")] = None,
        group_by: Annotated[NameText | None, Field(description="Field whose equal values stay in one split.")] = None,
        strategy: Annotated[
            Literal["random", "group", "stratify", "time"] | None,
            Field(description="random, group (by key), stratify (by label/domain key), time (by date key)."),
        ] = None,
        key: Annotated[NameText | None, Field(description="Field for group/stratify/time.")] = None,
        k_folds: Annotated[int | None, Field(ge=2, description="Write k folds instead of one split.")] = None,
        eval_path: Annotated[PathText | None, Field(description="Evaluation set to audit for leakage.")] = None,
        overwrite: OverwriteArg = False,
    ) -> SplitResult:
        """Split a dataset by seeded ratios and strategy, then audit near-duplicate leakage across splits."""
        state = state_of(ctx)
        source, target = state.path(input_path), state.path(out_dir)
        chosen = {"train": train, "validation": validation, "test": test, "seed": seed}
        configured = state.settings.split.model_dump(exclude_unset=True)
        try:  # the server's configured split settings, overridden by the arguments given
            split_settings = SplitSettings(**{**configured, **{k: v for k, v in chosen.items() if v is not None}})
        except ValueError as exc:
            raise ToolError(f"invalid ratios: {exc}") from None
        settings = state.settings.model_copy(update={"split": split_settings})
        if group_by and not strategy:
            strategy, key = "group", group_by
        evaluation = str(state.path(eval_path)) if eval_path else None
        return await _run(
            input_path,
            dataset_ops.split_file,
            str(source),
            target,
            settings,
            strategy or "random",
            key,
            evaluation,
            k_folds,
            overwrite,
        )

    @server.tool(
        name="export_dataset",
        annotations=tool_annotations(
            "Export dataset for trainers", read_only=False, destructive=True, idempotent=True, open_world=False
        ),
    )
    async def export_dataset(
        input_path: Annotated[PathText, Field(description="A split folder (from split_dataset) or one dataset file.")],
        out_dir: Annotated[PathText, Field(description="Export folder.")],
        format: Annotated[FormatArg, Field(description="The records' format (convert first if needed).")],
        ctx: Context,
        file_types: Annotated[
            list[Literal["jsonl", "json", "csv", "parquet"]],
            LIST_BOUND,
            Field(description="Files to write per split.", max_length=MAX_LIST_ITEMS),
        ] = ["jsonl"],  # noqa: B006 - a JSON-schema default, never mutated
        name: Annotated[NameText, Field(description="Dataset name for dataset_info.json and the card.")] = "ftds",
        license: Annotated[NameText, Field(description="Licence id for the card, e.g. apache-2.0.")] = "other",
        languages: Annotated[NameList | None, Field(description="Language codes for the card.")] = None,
        openai_finetune: Annotated[bool, Field(description="Also write OpenAI fine-tuning JSONL.")] = False,
        overwrite: OverwriteArg = False,
    ) -> ExportResult:
        """Validate and write every split (files, DatasetDict, dataset card, LLaMA-Factory dataset_info.json)."""
        state = state_of(ctx)
        source, target = state.path(input_path), state.path(out_dir)
        card = CardInfo(name=name, license=license, languages=languages or [])
        return await _run(
            input_path,
            dataset_ops.export_file,
            str(source),
            target,
            format,
            file_types,
            card,
            openai_finetune,
            overwrite,
        )
