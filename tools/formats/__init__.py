"""Record formats trainers load, converted through one canonical conversation.

Each format is defined once (``registry.REGISTRY``: a reader, record -> :class:`Conversation`, and a
writer, :class:`Conversation` -> record); any-to-any conversion is reader then writer. Every record is
checked against the rules LLaMA-Factory enforces (role alternation, message-count parity, placeholder
counts, empty turns, one type per column) before it is written, so a file it would reject is never written.
Modules: ``model`` (the canonical record and its rules), ``chat`` (alpaca, sharegpt, openai, dialogue), ``single_turn``
(trl, kto, cot, domain, reward, classification, pretrain, multimodal), ``registry`` (the table, convert,
validate), ``io`` (read JSON/JSONL/CSV/Parquet/``datasets``/Hub).

A generated :class:`~ftds.tools.records.Sample` enters the same table through :func:`sample_to_conversation`,
so a build's trainer files and its task-shaped records are written by the same writers as a conversion.
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
    """The answer as trained on; reasoning goes in front as <think>…</think> (LLaMA-Factory's CoT form).

    A CoT sample's steps are its reasoning (one a line, which the ``cot`` writer splits back into steps)."""
    thought = "\n".join(sample.chain_of_thought) if sample.chain_of_thought else sample.reasoning
    if thought:
        return f"<think>{thought}</think>{sample.answer}"
    return sample.answer


def sample_to_conversation(sample: Sample) -> Conversation:
    """The canonical record of a generated sample: a dialogue's turns, a preference pair (the question as the
    prompt, ``chosen``/``rejected``), or one question and its answer. ``id`` travels as an extra column (every
    writer keeps it, for tracing a record back to ``provenance/``), as does a reward sample's score. A Q&A
    sample becomes ``turns=[("user", question), ("assistant", answer)]``.
    """
    extra: dict[str, Any] = {"id": sample.sample_id}
    if sample.reward_score is not None:
        extra["reward_score"] = sample.reward_score
    if sample.turns:  # a multi-turn dialogue sample
        turns: list[tuple[str, str]] = [
            ("user" if turn.get("role") == "user" else "assistant", str(turn.get("content", "")))
            for turn in sample.turns
        ]
        return Conversation(turns=turns, extra=extra)
    if sample.rejected_answer is not None:  # a preference pair: the prompt ends on the user turn
        return Conversation(
            turns=[("user", sample.question)], extra=extra, chosen=answer_text(sample), rejected=sample.rejected_answer
        )
    return Conversation(turns=[("user", sample.question), ("assistant", answer_text(sample))], extra=extra)


def sample_to_record(sample: Sample, to: str) -> dict[str, Any]:
    """The sample as a record of format ``to`` (raises :class:`FormatError` if it breaks the format's rules)."""
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
