"""Pydantic result models: they become each tool's outputSchema and structured content."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from ftds.tools.records import Chunk, FileReport, PairCritique, Sample


class LoadLiteratureResult(BaseModel):
    files: list[FileReport]
    total_chunks: int
    chunks: list[Chunk] = Field(description="One page of chunks (see offset/limit).")
    offset: int
    next_offset: int | None = Field(description="Pass as offset for the next page; null at the end.")
    chunks_file: str | None = Field(default=None, description="JSONL with all chunks, when out_path was given.")


class GenerateQAResult(BaseModel):
    accepted: list[Sample]
    rejected: list[dict[str, str]] = Field(description="Rejected samples with their reason.")
    failed: list[dict[str, str]] = Field(description="Failures with their reason.")
    generated: int
    tokens: int
    model: str


class RecordError(BaseModel):
    index: int
    error: str


class UnreadableLine(BaseModel):
    """A JSONL line that is not JSON: the file's other records were used, this one is named."""

    line: int = Field(description="1-based line number in the file.")
    error: str
    file: str | None = Field(default=None, description="Which split file, when a folder was read.")


class ConvertFormatResult(BaseModel):
    out_path: str
    source_format: str
    target_format: str
    converted: int
    errors: list[RecordError] = Field(description="Records that could not be converted (first 20).")
    error_count: int
    dropped: dict[str, int] = Field(default_factory=dict, description="Field -> records that lost it.")
    report_path: str | None = Field(default=None, description="JSON file with every error.")
    unreadable_count: int = Field(default=0, description="Input lines that are not JSON (the rest was used).")
    unreadable: list[UnreadableLine] = Field(default_factory=list, description="First 20 of those lines.")


class SplitDatasetResult(BaseModel):
    counts: dict[str, int]
    files: dict[str, str]
    grouped_by: str
    notes: list[str]
    leakage: dict[str, int] = Field(default_factory=dict, description="Near-duplicate pairs per split pair.")
    unreadable_count: int = Field(default=0, description="Input lines that are not JSON (the rest was used).")
    unreadable: list[UnreadableLine] = Field(default_factory=list, description="First 20 of those lines.")


class ValidateDatasetResult(BaseModel):
    format: str
    total: int
    valid: int
    ok: bool = Field(description="True when every record is valid.")
    error_count: int
    errors: list[RecordError] = Field(description="First 20 invalid records.")
    unreadable_count: int = Field(default=0, description="Input lines that are not JSON (the rest was used).")
    unreadable: list[UnreadableLine] = Field(default_factory=list, description="First 20 of those lines.")


class EmbedDedupeResult(BaseModel):
    out: str
    report: str = Field(description="JSON file with every cluster (and eval leaks).")
    total: int
    kept: int
    removed: int
    methods: list[str]
    clusters: int
    cluster_preview: list[dict[str, Any]] = Field(description="First 20 clusters: kept index, removed indices.")
    eval_leaks: int | None = None
    store: str | None = Field(default=None, description="chromadb folder remembering survivors (semantic).")
    unreadable_count: int = Field(default=0, description="Input lines that are not JSON (the rest was used).")
    unreadable: list[UnreadableLine] = Field(default_factory=list, description="First 20 of those lines.")


class ExportDatasetResult(BaseModel):
    out_dir: str
    counts: dict[str, int]
    files: dict[str, str]
    notes: list[str]
    invalid: dict[str, list[RecordError]] = Field(description="Per split, invalid records (split not written).")
    unreadable_count: int = Field(default=0, description="Input lines that are not JSON (the rest was used).")
    unreadable: list[UnreadableLine] = Field(default_factory=list, description="First 20 of those lines.")


class CritiqueQAResult(BaseModel):
    critiques: list[PairCritique] = Field(description="One critique per input pair, in input order.")
    accepted: int
    to_revise: int
    rejected: int
    failed: int
    tokens: int
    model: str
