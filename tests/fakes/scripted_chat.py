"""FAKE chat model for tests: replays scripted replies and records every prompt it was sent."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ftds.tools.llm.base import ChatResult, LLMError, Message
from ftds.tools.records import TokenUsage

Reply = str | Exception | Callable[[list[Message]], str]


class ScriptedChatModel:
    """Answers each call with the next scripted reply (a string, an exception to raise, or a function of
    the messages). ``history`` keeps what was sent so tests assert on prompts, not only results."""

    def __init__(self, replies: Iterable[Reply], label: str = "fake/scripted", reasoning: str | None = None) -> None:
        self._replies = list(replies)
        self._label = label
        self._reasoning = reasoning
        self.history: list[dict[str, Any]] = []

    @property
    def label(self) -> str:
        return self._label

    async def complete(
        self,
        messages: list[Message],
        *,
        json_schema: dict[str, Any] | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
    ) -> ChatResult:
        self.history.append({"messages": list(messages), "json_schema": json_schema})
        if not self._replies:
            raise LLMError("scripted model ran out of replies")
        reply = self._replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        text = reply(messages) if callable(reply) else reply
        return ChatResult(
            text=text,
            reasoning=self._reasoning,
            usage=TokenUsage(
                prompt_tokens=sum(len(m["content"]) for m in messages) // 2,
                completion_tokens=len(text) // 2,
                calls=1,
            ),
            model=self._label,
        )

    async def aclose(self) -> None:
        return None
