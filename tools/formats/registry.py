"""The one table of formats: name, reader, writer, how to recognise it, and conversion/validation over it."""

from __future__ import annotations

import gc
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ftds.tools.formats import chat, single_turn
from ftds.tools.formats.model import Conversation, FormatError

Reader = Callable[[dict[str, Any]], Conversation]
Writer = Callable[[Conversation, list[str]], dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Format:
    name: str
    read: Reader
    write: Writer
    summary: str


_TABLE = (
    Format(
        "alpaca",
        chat.read_alpaca,
        chat.write_alpaca,
        "instruction/input/output (+system, history, chosen/rejected)",
    ),
    Format(
        "sharegpt",
        chat.read_sharegpt,
        chat.write_sharegpt,
        "conversations from human/gpt/function_call/observation",
    ),
    Format("openai", chat.read_openai, chat.write_openai, "messages with roles and tool_calls"),
    Format("dialogue", chat.read_dialogue, chat.write_dialogue, "dialogue: user/assistant turns with role/content"),
    Format("trl", single_turn.read_trl, single_turn.write_trl, "TRL preference: prompt/chosen/rejected"),
    Format("kto", single_turn.read_kto, single_turn.write_kto, "TRL unpaired KTO: prompt/completion/label"),
    Format("cot", single_turn.read_cot, single_turn.write_cot, "instruction/input/chain_of_thought/output"),
    Format("domain", single_turn.read_domain, single_turn.write_domain, "alpaca + domain tag"),
    Format("reward", single_turn.read_reward, single_turn.write_reward, "input/output/reward_score"),
    Format("classification", single_turn.read_classification, single_turn.write_classification, "text/label"),
    Format("pretrain", single_turn.read_pretrain, single_turn.write_pretrain, "plain text"),
    Format(
        "multimodal",
        single_turn.read_multimodal,
        single_turn.write_multimodal,
        "text/image_url/caption or audio/text/summary",
    ),
)
REGISTRY: dict[str, Format] = {f.name: f for f in _TABLE}
FORMATS: tuple[str, ...] = tuple(REGISTRY)
READERS: dict[str, Reader] = {f.name: f.read for f in _TABLE}


def _plain_writer(write: Writer) -> Callable[[Conversation], dict[str, Any]]:
    """The first version's writer signature (conversation -> record), kept for existing callers."""

    def plain(conv: Conversation) -> dict[str, Any]:
        return write(conv, [])

    return plain


WRITERS: dict[str, Callable[[Conversation], dict[str, Any]]] = {f.name: _plain_writer(f.write) for f in _TABLE}


def detect_format(record: dict[str, Any]) -> str:
    """Recognise a record's format from its keys (most specific shape first)."""
    if "conversations" in record:
        return "sharegpt"
    if "messages" in record:
        return "openai"
    if "dialogue" in record:
        return "dialogue"
    if "prompt" in record:
        if "chosen" in record:
            return "trl"
        if "completion" in record:
            return "kto"
    if "chain_of_thought" in record:
        return "cot"
    if "instruction" in record:
        return "domain" if "domain" in record else "alpaca"
    if "reward_score" in record and "input" in record:
        return "reward"
    if "input" in record and "output" in record:
        return "alpaca"
    if "image_url" in record or ("audio" in record and "summary" in record):
        return "multimodal"
    if "text" in record:
        return "classification" if "label" in record else "pretrain"
    raise FormatError(f"cannot tell the format of a record with keys {sorted(record)[:8]}; pass --from or a --map")


def check_format(name: str) -> Format:
    try:
        return REGISTRY[name]
    except KeyError:
        raise FormatError(f"unknown format {name!r}; choose one of: {', '.join(FORMATS)}") from None


def write_record(conv: Conversation, to: str, dropped: list[str] | None = None) -> dict[str, Any]:
    """Validate ``conv`` against the trainer rules, then write it in format ``to``."""
    fmt = check_format(to)
    conv.validate()
    return fmt.write(conv, dropped if dropped is not None else [])


@dataclass
class ConversionResult:
    records: list[dict[str, Any]] = field(default_factory=list)
    errors: list[tuple[int, str]] = field(default_factory=list)
    source_format: str = ""
    dropped: Counter[str] = field(default_factory=Counter)  # field name -> number of records that lost it
    indices: list[int] = field(default_factory=list)  # source index of each written record


def _convert_each(records: Iterable[Any], fixed: Format | None, write: Writer, result: ConversionResult) -> None:
    out, errors, indices, dropped = result.records, result.errors, result.indices, result.dropped
    notes: list[str] = []
    for index, record in enumerate(records):
        try:
            if not isinstance(record, dict):
                raise FormatError(f"expected a JSON object, got {type(record).__name__}")
            reader = fixed.read if fixed is not None else check_format(detect_format(record)).read
            conv = reader(record)
            problems = conv.problems()
            if problems:
                raise FormatError("; ".join(problems))
            out.append(write(conv, notes))
            indices.append(index)
            if notes:
                dropped.update(set(notes))
                notes.clear()
        except FormatError as exc:
            errors.append((index, str(exc)))


def _detected(records: Iterable[Any], indices: list[int]) -> str:
    """The source format to report: that of the first converted record, else of the first JSON object (even
    when every record failed), else "unknown" — never "auto", which names no format."""
    if not isinstance(records, list):
        return "unknown"
    first = records[indices[0]] if indices else next((r for r in records if isinstance(r, dict)), None)
    try:
        return detect_format(first) if isinstance(first, dict) else "unknown"
    except FormatError:
        return "unknown"


def convert_records(
    records: Iterable[Any], to: str, source: str = "auto", column_check: bool = True
) -> ConversionResult:
    """Convert every record; a record that fails is reported by index with the reason, never dropped silently.

    Every written record has passed the target's rules; with ``column_check`` the columns are then checked
    for one JSON type each, since Arrow-based loaders (``datasets``, LLaMA-Factory) reject mixed columns.
    """
    target = check_format(to)
    fixed = check_format(source) if source != "auto" else None
    result = ConversionResult(source_format=source)
    # The loop allocates millions of small acyclic containers; CPython's cyclic collector would rescan the
    # growing output again and again (about a third of the time at 1M records), so it pauses meanwhile.
    collecting = gc.isenabled()
    gc.disable()
    try:
        _convert_each(records, fixed, target.write, result)
    finally:
        if collecting:
            gc.enable()
    out, errors, indices = result.records, result.errors, result.indices
    if result.source_format == "auto":
        result.source_format = _detected(records, indices)
    if column_check:
        bad = mixed_columns(out)
        if bad:
            for position, message in bad.items():
                errors.append((indices[position], message))
            result.records = [r for i, r in enumerate(out) if i not in bad]
            result.indices = [ix for i, ix in enumerate(indices) if i not in bad]
            errors.sort()
    return result


_JSON_TYPE = {str: "string", int: "number", float: "number", bool: "boolean", list: "list", dict: "object"}


def _kind(value: Any) -> str:
    return _JSON_TYPE.get(type(value), "other")


def mixed_columns(records: list[dict[str, Any]]) -> dict[int, str]:
    """Records whose column type differs from the column's majority type ({position: message}).

    Missing values and nulls are allowed (Arrow fills them); a string in a list column is not. The first
    pass only compares each value's type with the first one seen for its column; counting happens only
    for the rare columns that turn out mixed.
    """
    first: dict[str, type] = {}
    mixed_keys: set[str] = set()
    for record in records:
        for key, value in record.items():
            if value is None:
                continue
            kind = type(value)
            seen = first.setdefault(key, kind)
            if seen is not kind and _kind(value) != _kind_of_type(seen):
                mixed_keys.add(key)
    if not mixed_keys:
        return {}
    counts: dict[str, Counter[str]] = {key: Counter() for key in mixed_keys}
    for record in records:
        for key in mixed_keys:
            value = record.get(key)
            if value is not None:
                counts[key][_kind(value)] += 1
    majority = {key: counter.most_common(1)[0][0] for key, counter in counts.items()}
    bad: dict[int, str] = {}
    for position, record in enumerate(records):
        for key, expected in majority.items():
            value = record.get(key)
            if value is not None and _kind(value) != expected:
                bad[position] = (
                    f"column '{key}' is a {_kind(value)} here but a {expected} in most records; "
                    "loaders need one type per column"
                )
                break
    return bad


def _kind_of_type(kind: type) -> str:
    return _JSON_TYPE.get(kind, "other")


@dataclass
class ValidationReport:
    format: str
    total: int = 0
    valid: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.total > 0 and not self.errors


def validate_records(records: list[Any], fmt: str = "auto") -> ValidationReport:
    """Check each record against ``fmt``'s rules as the trainer applies them; report per-record errors.

    A valid record must read as the format (required fields, types), satisfy the conversation rules (role
    alternation, message-count parity, placeholder counts, no empty turns) and keep every column one type.
    A file with no valid record is what LLaMA-Factory fails on ("Cannot find valid samples").
    """
    name = fmt
    if fmt == "auto":
        first = next((r for r in records if isinstance(r, dict)), None)
        if first is None:
            return ValidationReport(format="auto", total=len(records), errors=[(0, "no JSON object records")])
        name = detect_format(first)
    reader = check_format(name).read
    report = ValidationReport(format=name, total=len(records))
    for index, record in enumerate(records):
        try:
            if not isinstance(record, dict):
                raise FormatError(f"expected a JSON object, got {type(record).__name__}")
            problems = reader(record).problems()
            if problems:
                raise FormatError("; ".join(problems))
        except FormatError as exc:
            report.errors.append((index, str(exc)))
    dicts = [r if isinstance(r, dict) else {} for r in records]
    failed = {i for i, _ in report.errors}
    for position, message in mixed_columns(dicts).items():
        if position not in failed:
            report.errors.append((position, message))
    report.errors.sort()
    report.valid = report.total - len({i for i, _ in report.errors})
    if not report.valid and report.total:
        report.errors.append((-1, "no record is valid: LLaMA-Factory would stop with 'Cannot find valid samples'"))
    return report
