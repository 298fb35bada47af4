"""Pydantic result models: they become each tool's outputSchema and structured content."""

from __future__ import annotations

from pydantic import BaseModel, Field

from ftds.tools.dataset.operations import RecordError, UnreadableLine
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


class CritiqueQAResult(BaseModel):
    critiques: list[PairCritique] = Field(description="One critique per input pair, in input order.")
    accepted: int
    to_revise: int
    rejected: int
    failed: int
    tokens: int
    model: str
