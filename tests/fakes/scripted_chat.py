"""FAKE chat model for tests: replays scripted replies and records every prompt it was sent."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from ftds.tools.llm.base import ChatResult, LLMError, Message
from ftds.tools.records import TokenUsage

Reply = str | Exception | Callable[[list[Message]], str]


class ScriptedChatModel:
    """Answers each call with the next scripted reply (a string, an exception to raise, or a function of
    the messages). ``history`` keeps what was sent so tests assert on prompts, not only results."""

    def __init__(
        self,
        replies: Iterable[Reply],
        label: str = "fake/scripted",
        reasoning: str | None = None,
        *,
        auto_quote: bool = True,
    ) -> None:
        self._replies = list(replies)
        self._label = label
        self._reasoning = reasoning
        self.history: list[dict[str, Any]] = []
        self.auto_quote = auto_quote
        """Answer the review's round-trip call (the extractive "quote the sentences" prompt) like the fake
        server does, without using a scripted reply: tests script the generation and the judge; the ones
        about the round trip turn this off and script it too. Those calls are kept in ``quote_calls``."""
        self.quote_calls: list[dict[str, Any]] = []

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
        if self.auto_quote and json_schema is not None and "quotes" in json_schema.get("properties", {}):
            from tests.fakes.fake_openai_server import FakeServerConfig, fake_reply

            self.quote_calls.append({"messages": list(messages), "json_schema": json_schema})
            text = json.dumps(fake_reply(messages[-1]["content"], FakeServerConfig()), ensure_ascii=False)
            return ChatResult(text=text, usage=TokenUsage(calls=1), model=self._label)
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
