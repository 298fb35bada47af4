"""Record formats trainers load, converted through one canonical conversation.

Each format is defined once, as a reader (record -> :class:`Conversation`) and a writer
(:class:`Conversation` -> record); any-to-any conversion is reader then writer. Writers validate the rules
LLaMA-Factory enforces (role alternation, even message count) so a file it would reject is never written.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from ftds.tools.records import Sample

FormatName = Literal["alpaca", "sharegpt", "openai"]
FORMATS: tuple[FormatName, ...] = ("alpaca", "sharegpt", "openai")
Role = Literal["user", "assistant"]


class FormatError(ValueError):
    """A record that does not fit a format; the message says which rule and where."""


@dataclass
class Conversation:
    """Format-neutral record: an optional system prompt and alternating user/assistant turns."""

    turns: list[tuple[Role, str]]
    system: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def validate(self) -> None:
        if not self.turns:
            raise FormatError("record has no turns")
        for index, (role, content) in enumerate(self.turns):
            expected = "user" if index % 2 == 0 else "assistant"
            if role != expected:
                raise FormatError(f"turn {index + 1} is from {role}, expected {expected}: roles must alternate")
            if not isinstance(content, str) or not content.strip():
                raise FormatError(f"turn {index + 1} ({role}) is empty")
        if len(self.turns) % 2:
            raise FormatError(f"{len(self.turns)} turns: a training record ends with an assistant turn")


def answer_text(sample: Sample) -> str:
    """The answer as trained on; reasoning goes in front as <think>…</think> (LLaMA-Factory's CoT form)."""
    if sample.reasoning:
        return f"<think>{sample.reasoning}</think>{sample.answer}"
    return sample.answer


def sample_to_conversation(sample: Sample) -> Conversation:
    if sample.turns:  # a multi-turn dialogue sample
        turns: list[tuple[Role, str]] = [
            ("user" if turn.get("role") == "user" else "assistant", str(turn.get("content", "")))
            for turn in sample.turns
        ]
        return Conversation(turns=turns, extra={"id": sample.sample_id})
    return Conversation(
        turns=[("user", sample.question), ("assistant", answer_text(sample))],
        extra={"id": sample.sample_id},
    )


# --- readers -------------------------------------------------------------------------------------------


def _read_alpaca(record: dict[str, Any]) -> Conversation:
    if "instruction" not in record or "output" not in record:
        raise FormatError("alpaca record needs 'instruction' and 'output'")
    turns: list[tuple[Role, str]] = []
    for pair in record.get("history") or []:
        if not (isinstance(pair, list | tuple) and len(pair) == 2):
            raise FormatError("alpaca 'history' must be a list of [question, answer] pairs")
        turns += [("user", str(pair[0])), ("assistant", str(pair[1]))]
    prompt = str(record["instruction"])
    if record.get("input"):
        prompt = f"{prompt}\n{record['input']}"
    turns += [("user", prompt), ("assistant", str(record["output"]))]
    extra = {k: v for k, v in record.items() if k not in {"instruction", "input", "output", "system", "history"}}
    return Conversation(turns, str(record.get("system") or ""), extra)


_SHAREGPT_ROLES: dict[str, Role] = {
    "human": "user",
    "user": "user",
    "gpt": "assistant",
    "assistant": "assistant",
}


def _read_messages(messages: Any, role_key: str, content_key: str, system: str) -> tuple[list[tuple[Role, str]], str]:
    if not isinstance(messages, list):
        raise FormatError("messages must be a list")
    turns: list[tuple[Role, str]] = []
    for index, message in enumerate(messages):
        role = message.get(role_key) if isinstance(message, dict) else None
        if role == "system" and index == 0:
            system = str(message.get(content_key, ""))
            continue
        if role not in _SHAREGPT_ROLES:
            raise FormatError(f"message {index + 1} has role {role!r}; expected human/gpt or user/assistant")
        turns.append((_SHAREGPT_ROLES[role], str(message.get(content_key, ""))))
    return turns, system


def _read_sharegpt(record: dict[str, Any]) -> Conversation:
    if "conversations" not in record:
        raise FormatError("sharegpt record needs 'conversations'")
    turns, system = _read_messages(record["conversations"], "from", "value", str(record.get("system") or ""))
    extra = {k: v for k, v in record.items() if k not in {"conversations", "system"}}
    return Conversation(turns, system, extra)


def _read_openai(record: dict[str, Any]) -> Conversation:
    if "messages" not in record:
        raise FormatError("openai record needs 'messages'")
    turns, system = _read_messages(record["messages"], "role", "content", "")
    return Conversation(turns, system, {k: v for k, v in record.items() if k != "messages"})


# --- writers -------------------------------------------------------------------------------------------


def _write_alpaca(conv: Conversation) -> dict[str, Any]:
    pairs = [(conv.turns[i][1], conv.turns[i + 1][1]) for i in range(0, len(conv.turns), 2)]
    record: dict[str, Any] = {"instruction": pairs[-1][0], "input": "", "output": pairs[-1][1]}
    if conv.system:
        record["system"] = conv.system
    if len(pairs) > 1:
        record["history"] = [list(p) for p in pairs[:-1]]
    return {**record, **conv.extra}


def _write_sharegpt(conv: Conversation) -> dict[str, Any]:
    tags = {"user": "human", "assistant": "gpt"}
    record: dict[str, Any] = {"conversations": [{"from": tags[r], "value": c} for r, c in conv.turns]}
    if conv.system:
        record["system"] = conv.system
    return {**record, **conv.extra}


def _write_openai(conv: Conversation) -> dict[str, Any]:
    messages = [{"role": "system", "content": conv.system}] if conv.system else []
    messages += [{"role": r, "content": c} for r, c in conv.turns]
    return {"messages": messages, **conv.extra}


READERS: dict[str, Callable[[dict[str, Any]], Conversation]] = {
    "alpaca": _read_alpaca,
    "sharegpt": _read_sharegpt,
    "openai": _read_openai,
}
WRITERS: dict[str, Callable[[Conversation], dict[str, Any]]] = {
    "alpaca": _write_alpaca,
    "sharegpt": _write_sharegpt,
    "openai": _write_openai,
}


def detect_format(record: dict[str, Any]) -> FormatName:
    if "conversations" in record:
        return "sharegpt"
    if "messages" in record:
        return "openai"
    if "instruction" in record and "output" in record:
        return "alpaca"
    raise FormatError(f"cannot tell the format of a record with keys {sorted(record)[:8]}")


def _check_format(name: str) -> None:
    if name not in READERS:
        raise FormatError(f"unknown format {name!r}; choose one of: {', '.join(FORMATS)}")


def write_record(conv: Conversation, to: str) -> dict[str, Any]:
    _check_format(to)
    conv.validate()
    return WRITERS[to](conv)


def sample_to_record(sample: Sample, to: str) -> dict[str, Any]:
    return write_record(sample_to_conversation(sample), to)


@dataclass
class ConversionResult:
    records: list[dict[str, Any]] = field(default_factory=list)
    errors: list[tuple[int, str]] = field(default_factory=list)
    source_format: str = ""


def convert_records(records: Iterable[dict[str, Any]], to: str, source: str = "auto") -> ConversionResult:
    """Convert every record; a record that fails is reported by index with the reason, never dropped silently."""
    _check_format(to)
    if source != "auto":
        _check_format(source)
    result = ConversionResult(source_format=source)
    for index, record in enumerate(records):
        try:
            if not isinstance(record, dict):
                raise FormatError(f"expected a JSON object, got {type(record).__name__}")
            fmt = detect_format(record) if source == "auto" else source
            result.source_format = result.source_format if result.source_format != "auto" else fmt
            result.records.append(write_record(READERS[fmt](record), to))
        except FormatError as exc:
            result.errors.append((index, str(exc)))
    return result


def read_records(path: str) -> list[Any]:
    """Records from a .json (array) or .jsonl file."""
    with open(path, encoding="utf-8") as handle:
        if path.endswith(".jsonl"):
            return [json.loads(line) for line in handle if line.strip()]
        data = json.load(handle)
    if not isinstance(data, list):
        raise FormatError(f"{path}: expected a JSON array of records")
    return data
