"""Record formats trainers load, converted through one canonical conversation.

Each format is defined once (``registry.REGISTRY``: a reader, record -> :class:`Conversation`, and a
writer, :class:`Conversation` -> record); any-to-any conversion is reader then writer. Every record is
checked against the rules LLaMA-Factory enforces (role alternation, message-count parity, placeholder
counts, empty turns, one type per column) before it is written, so a file it would reject is never written.
Modules: ``model`` (the canonical record and its rules), ``chat`` (alpaca, sharegpt, openai), ``tasks``
(trl, kto, cot, domain, reward, classification, pretrain, multimodal), ``registry`` (the table, convert,
validate), ``io`` (read JSON/JSONL/CSV/Parquet/``datasets``/Hub).
"""

from __future__ import annotations

from typing import Any

from ftds.tools.formats.io import apply_mapping, parse_split, read_dataset, read_records
from ftds.tools.formats.model import Conversation, FormatError, Role
from ftds.tools.formats.registry import (
    FORMATS,
    READERS,
    REGISTRY,
    WRITERS,
    ConversionResult,
    Format,
    ValidationReport,
    check_format,
    convert_records,
    detect_format,
    mixed_columns,
    validate_records,
    write_record,
)
from ftds.tools.records import Sample

FormatName = str


def answer_text(sample: Sample) -> str:
    """The answer as trained on; reasoning goes in front as <think>…</think> (LLaMA-Factory's CoT form)."""
    if sample.reasoning:
        return f"<think>{sample.reasoning}</think>{sample.answer}"
    return sample.answer


def sample_to_conversation(sample: Sample) -> Conversation:
    extra: dict[str, Any] = {"id": sample.sample_id}
    if sample.turns:  # a multi-turn dialogue sample
        turns: list[tuple[str, str]] = [
            ("user" if turn.get("role") == "user" else "assistant", str(turn.get("content", "")))
            for turn in sample.turns
        ]
        return Conversation(turns=turns, extra=extra)
    return Conversation(turns=[("user", sample.question), ("assistant", answer_text(sample))], extra=extra)


def sample_to_record(sample: Sample, to: str) -> dict[str, Any]:
    return write_record(sample_to_conversation(sample), to)


__all__ = [
    "FORMATS",
    "READERS",
    "REGISTRY",
    "WRITERS",
    "Conversation",
    "ConversionResult",
    "Format",
    "FormatError",
    "FormatName",
    "Role",
    "ValidationReport",
    "answer_text",
    "apply_mapping",
    "check_format",
    "convert_records",
    "detect_format",
    "mixed_columns",
    "parse_split",
    "read_dataset",
    "read_records",
    "sample_to_conversation",
    "sample_to_record",
    "validate_records",
    "write_record",
]
