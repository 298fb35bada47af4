"""Turn a model's reply into a validated pydantic object, or a recorded failure — never a silent loss.

Order of attempts: strip ``<think>`` blocks and Markdown fences, parse, repair with ``json_repair``, validate;
if that fails the caller may retry once with the parse error shown to the model (:func:`retry_message`).
"""

from __future__ import annotations

import json
import re
from typing import TypeVar

from pydantic import BaseModel, ValidationError

T = TypeVar("T", bound=BaseModel)

_THINK = re.compile(r"<think>(.*?)</think>", re.DOTALL | re.IGNORECASE)
_OPEN_THINK = re.compile(r"^\s*<think>(.*)$", re.DOTALL | re.IGNORECASE)
_FENCE = re.compile(r"```(?:json|JSON)?\s*\n?(.*?)```", re.DOTALL)


_REFUSAL = re.compile(
    r"(I'?m sorry|I am sorry|I cannot|I can'?t|I'?m unable|I am unable|as an AI"
    r"|抱歉|对不起|无法(?:提供|完成|回答|生成)|不能(?:提供|回答))",
    re.IGNORECASE,
)


class ParseFailure(ValueError):
    """The reply could not be turned into the expected shape; ``raw`` keeps the reply for the report.

    ``kind`` names the failure for the report: ``empty`` (no text), ``refusal`` (the model declined in
    prose) or ``unparseable`` (text that is not the JSON asked for)."""

    def __init__(self, message: str, raw: str, kind: str = "unparseable") -> None:
        super().__init__(message)
        self.raw = raw
        self.kind = kind


def looks_like_refusal(text: str) -> bool:
    """A short prose reply that declines the task (checked only once JSON parsing has failed)."""
    return bool(_REFUSAL.search(text[:400]))


def split_think(text: str) -> tuple[str, str | None]:
    """Separate ``<think>…</think>`` reasoning from the answer text."""
    thoughts = [m.strip() for m in _THINK.findall(text)]
    rest = _THINK.sub("", text)
    unclosed = _OPEN_THINK.match(rest)
    if unclosed:  # a reply cut off inside its reasoning has no answer part
        thoughts.append(unclosed.group(1).strip())
        rest = ""
    reasoning = "\n\n".join(t for t in thoughts if t) or None
    return rest.strip(), reasoning


def extract_json_text(text: str) -> str:
    body, _ = split_think(text)
    fenced = _FENCE.search(body)
    if fenced:
        return fenced.group(1).strip()
    start = min((i for i in (body.find("{"), body.find("[")) if i >= 0), default=-1)
    return body[start:].strip() if start >= 0 else body.strip()


def parse_reply(text: str, model: type[T]) -> T:
    """Parse ``text`` into ``model``, repairing broken JSON; raise :class:`ParseFailure` with the reason."""
    candidate = extract_json_text(text)
    if not candidate:
        raise ParseFailure("empty reply: the model returned no JSON", text, "empty")
    try:
        data = json.loads(candidate)
    except json.JSONDecodeError:
        import json_repair  # lazily: only broken replies need it, and the MCP server starts without it

        data = json_repair.loads(candidate)
        if data in ("", None, [], {}) and candidate not in ("[]", "{}"):
            if looks_like_refusal(candidate):
                raise ParseFailure(
                    "the model declined in prose instead of answering in JSON", text, "refusal"
                ) from None
            raise ParseFailure("reply is not JSON and could not be repaired", text) from None
    if isinstance(data, list) and "items" in model.model_fields:
        data = {"items": data}
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "top level"
        raise ParseFailure(f"JSON does not match the expected shape at {where}: {first['msg']}", text) from exc


def retry_message(failure: ParseFailure) -> str:
    """The follow-up turn that shows the model its own parse error."""
    return (
        f"Your previous reply could not be used: {failure}. Reply again with only the JSON object, "
        "no prose and no code fence."
    )
