"""The canonical record every format converts through, and the trainer rules it must satisfy.

One format-neutral shape (:class:`Conversation`) holds everything any supported format can carry: turns with
the four LLaMA-Factory roles, system prompt, tool definitions, media lists, a preference pair, a KTO tag, a
pretraining text and any extra columns. Readers build it, writers emit from it, so any-to-any conversion is
read-then-write and a round trip is lossless wherever the target can hold the data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Role = Literal["user", "assistant", "function_call", "observation"]
# LLaMA-Factory's alternation rule: even positions are prompts, odd positions are model turns.
PROMPT_ROLES = frozenset({"user", "observation"})
MODEL_ROLES = frozenset({"assistant", "function_call"})
MEDIA_KINDS: dict[str, str] = {"images": "<image>", "videos": "<video>", "audios": "<audio>"}


class FormatError(ValueError):
    """A record that does not fit a format; the message says which rule and where."""


@dataclass(slots=True)
class Conversation:
    """Format-neutral record. ``turns`` alternate prompt/model turns (user|observation, assistant|function_call).

    A preference record ends on a prompt turn and carries ``chosen``/``rejected``; a pretraining record has
    no turns and a ``text``. ``extra`` keeps columns no format rule knows about (ids, domain, label, score).
    """

    turns: list[tuple[str, str]]
    system: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    tools: str = ""
    media: dict[str, list[str]] = field(default_factory=dict)
    chosen: str | None = None
    rejected: str | None = None
    kto_tag: bool | None = None
    text: str | None = None
    kto_key: str = "kto_tag"  # the column the KTO tag was read from ("label" in LLaMA-Factory's kto_en_demo)

    @property
    def is_preference(self) -> bool:
        return self.chosen is not None or self.rejected is not None

    @property
    def has_tool_turns(self) -> bool:
        return any(role in ("function_call", "observation") for role, _ in self.turns)

    def problems(self) -> list[str]:
        """Every rule this record breaks, as actionable sentences (empty list = a trainer accepts it).

        This runs on every record of every conversion, so the common case (alternating text turns, no media)
        is kept to one pass over the turns.
        """
        turns = self.turns
        if not turns:
            if self.text is not None:
                return [] if self.text.strip() else ["text is empty"]
            return ["record has no turns"]
        errors: list[str] = []
        maybe_placeholder = False
        for index, (role, content) in enumerate(turns):
            if role not in (MODEL_ROLES if index % 2 else PROMPT_ROLES):
                expected = "assistant" if index % 2 else "user"
                errors.append(
                    f"turn {index + 1} is from {role}, expected {expected}: roles must alternate "
                    f"(LLaMA-Factory: Invalid role tag)"
                )
                break
            if type(content) is not str or not content or content.isspace():
                errors.append(f"turn {index + 1} ({role}) is empty")
            elif "<" in content:
                maybe_placeholder = True
        if self.chosen is not None or self.rejected is not None:
            if len(turns) % 2 == 0:
                errors.append(
                    f"{len(turns)} turns: a preference record ends with a user turn "
                    "(LLaMA-Factory: Invalid message count)"
                )
            for name in ("chosen", "rejected"):
                value = getattr(self, name)
                if not isinstance(value, str) or not value.strip():
                    errors.append(f"preference record has an empty or missing '{name}' answer")
        elif len(turns) % 2:
            errors.append(
                f"{len(turns)} turns: a training record ends with an assistant turn "
                "(LLaMA-Factory: Invalid message count)"
            )
        if self.kto_tag is not None and not isinstance(self.kto_tag, bool):
            errors.append(f"kto_tag must be true or false, got {self.kto_tag!r}")
        if maybe_placeholder or self.media:
            errors.extend(self.placeholder_problems())
        return errors

    def placeholder_problems(self) -> list[str]:
        """The number of <image>/<video>/<audio> placeholders must equal the number of files listed."""
        errors = []
        for kind, token in MEDIA_KINDS.items():
            listed = len(self.media.get(kind) or [])
            used = sum(content.count(token) for _, content in self.turns)
            if listed != used:
                errors.append(f"{used} {token} placeholder(s) in the text but {listed} file(s) in '{kind}'")
        return errors

    def validate(self) -> None:
        errors = self.problems()
        if errors:
            raise FormatError(errors[0])
