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


class NoTokenProbabilities(LLMError):
    """The backend cannot say how probable a reply token is (no ``logprobs`` from the server, a Batch API):
    a missing capability, not a failed call."""


YES_WORDS = frozenset({"yes", "是", "是的", "对"})
NO_WORDS = frozenset({"no", "否", "不", "不是"})
"""First reply tokens read as a yes or a no (compared stripped and lower-cased)."""


class YesNoScore(BaseModel):
    """How sure a model is of "yes" as its reply, read from the first reply token's probabilities rather than
    from a sampled word: a small model says "yes" to nearly everything, but how much probability it puts on
    "yes" still ranks what it is shown (measured in docs/benchmarks/critique.md)."""

    probability: float = Field(ge=0.0, le=1.0, description="P(yes) / (P(yes) + P(no)) over the first token.")
    mass: float = Field(ge=0.0, le=1.0, description="P(yes) + P(no): how much the model wanted to answer yes/no.")
    usage: TokenUsage = Field(default_factory=TokenUsage)
    cached: bool = False


def yes_no_score(probabilities: dict[str, float], usage: TokenUsage) -> YesNoScore:
    """Fold first-token probabilities (token text -> probability, any subset of the vocabulary) into a score."""
    yes = sum(p for token, p in probabilities.items() if token.strip().lower() in YES_WORDS)
    no = sum(p for token, p in probabilities.items() if token.strip().lower() in NO_WORDS)
    if yes + no <= 0.0:
        raise LLMError("the model put no probability on yes or no as its first reply token")
    return YesNoScore(probability=yes / (yes + no), mass=min(1.0, yes + no), usage=usage)


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


@runtime_checkable
class ScoresYesNo(Protocol):
    """A backend that can read its first-token probabilities (llama.cpp in-process; OpenAI-compatible
    endpoints that return ``logprobs``). The answer check needs it; a backend without it gets no such check."""

    async def yes_probability(self, messages: list[Message]) -> YesNoScore:
        """P(yes) of the reply to ``messages``, which must ask a yes/no question."""
        ...
