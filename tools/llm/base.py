"""One chat interface for every backend.

The pipeline only ever calls :meth:`ChatModel.complete`; backends differ in how they honour a JSON schema
and where reasoning text comes from, which they report in :class:`ChatResult` so nothing downstream has
to know which backend produced a reply.
"""

from __future__ import annotations

from typing import Any, Protocol, TypedDict, runtime_checkable

from pydantic import BaseModel, Field

from ftds.tools.records import TokenUsage


class Message(TypedDict):
    role: str
    content: str


class ChatResult(BaseModel):
    text: str
    reasoning: str | None = Field(default=None, description="reasoning_content when the model sends one.")
    usage: TokenUsage = Field(default_factory=TokenUsage)
    model: str = ""
    finish_reason: str | None = None
    cache_key: str | None = Field(
        default=None, description="Key of the stored reply, so a caller can evict a reply it could not use."
    )
    cached: bool = Field(default=False, description="True when the reply came from the response cache.")


class LLMError(RuntimeError):
    """A call that failed after the backend's own retries; the message is safe to show and log."""


@runtime_checkable
class ChatModel(Protocol):
    """What the pipeline needs from a model."""

    @property
    def label(self) -> str:
        """Printable endpoint/model name recorded on every sample (never a secret)."""
        ...

    async def complete(
        self,
        messages: list[Message],
        *,
        json_schema: dict[str, Any] | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
    ) -> ChatResult:
        """One chat completion. ``json_schema`` asks for JSON shaped by that schema where supported."""
        ...

    async def aclose(self) -> None:
        """Release connections or model memory."""
        ...
