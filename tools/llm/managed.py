"""What every backend gets on top of its own transport: a response cache, per-endpoint rate limits,
max_tokens clamped to the context window, and token and cost accounting per call.

Backoff is not repeated here: the official ``openai`` client already retries 429/5xx and timeouts with
exponential backoff and jitter, honouring Retry-After, and the embedded model has nothing to retry. The
cache makes a re-run free: the same (endpoint, model, messages, schema, params) never reaches the model
twice. A reply the caller could not use is evicted (:meth:`ManagedChatModel.forget`), so a re-run retries
it instead of replaying a broken answer.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import weakref
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from aiolimiter import AsyncLimiter

from ftds.tools.config import LLMSettings
from ftds.tools.llm.base import (
    ChatModel,
    ChatResult,
    LLMError,
    Message,
    NoTokenProbabilities,
    ScoresYesNo,
    YesNoScore,
)
from ftds.tools.records import EndpointFigures, TokenUsage

_CJK = re.compile(r"[\u3000-\u9fff\uf900-\ufaff\uff00-\uffef]")
# Room left for the chat template's role markers, which the character estimate does not see.
TEMPLATE_OVERHEAD_TOKENS = 32
MIN_REPLY_TOKENS = 16


_Reply = TypeVar("_Reply", ChatResult, YesNoScore)
"""A reply the wrapper stores, limits and accounts for (each carries its ``usage`` and a ``cached`` flag)."""


def estimate_tokens(text: str) -> int:
    """A deliberately generous token estimate (no tokenizer needed): one per CJK character, one per
    three other characters. Over-estimating only makes the max_tokens clamp a little conservative."""
    cjk = len(_CJK.findall(text))
    return cjk + (len(text) - cjk + 2) // 3


def messages_tokens(messages: list[Message]) -> int:
    return sum(estimate_tokens(m["content"]) + 4 for m in messages)


class _Limits:
    """Request and token buckets for one endpoint, shared by every model object that talks to it."""

    def __init__(self, settings: LLMSettings) -> None:
        self.requests = AsyncLimiter(settings.requests_per_minute, 60) if settings.requests_per_minute else None
        self.tokens = AsyncLimiter(settings.tokens_per_minute, 60) if settings.tokens_per_minute else None

    async def acquire(self, tokens: int) -> None:
        if self.requests is not None:
            await self.requests.acquire(1)
        if self.tokens is not None:
            await self.tokens.acquire(min(tokens, self.tokens.max_rate))


# One bucket per endpoint and event loop: limits are per endpoint, not per model object, and an aiolimiter
# bucket must not be shared across event loops. Weak keys let a finished loop take its buckets with it.
_LIMITS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, _Limits]] = weakref.WeakKeyDictionary()


def _limits_for(settings: LLMSettings) -> _Limits:
    per_loop = _LIMITS.setdefault(asyncio.get_running_loop(), {})
    if settings.label not in per_loop:
        per_loop[settings.label] = _Limits(settings)
    return per_loop[settings.label]


def call_cost(usage: TokenUsage, settings: LLMSettings) -> float:
    return round(
        usage.prompt_tokens * settings.cost_per_1m_input / 1e6
        + usage.completion_tokens * settings.cost_per_1m_output / 1e6,
        8,
    )


class ManagedChatModel:
    """Wraps any :class:`ChatModel`; ``usage`` totals every call made through it (cache hits cost 0)."""

    def __init__(
        self, inner: ChatModel, settings: LLMSettings, cache_dir: Path | None = None, *, rate_limited: bool = True
    ) -> None:
        self.inner = inner
        self._settings = settings
        self._rate_limited = rate_limited
        self._cache: Any = None
        if settings.cache and cache_dir is not None:
            import diskcache

            self._cache = diskcache.Cache(str(cache_dir / "responses"))
        self.usage = TokenUsage()

    @property
    def label(self) -> str:
        return self.inner.label

    @property
    def context_window(self) -> int | None:
        if self._settings.context_window is not None:
            return self._settings.context_window
        return self._settings.n_ctx if self._settings.backend == "embedded" else None

    def clamp_max_tokens(self, messages: list[Message], max_tokens: int) -> int:
        """``max_tokens`` cut so prompt + reply fit the window; an error when the prompt alone does not."""
        window = self.context_window
        if window is None:
            return max_tokens
        room = window - messages_tokens(messages) - TEMPLATE_OVERHEAD_TOKENS
        if room < MIN_REPLY_TOKENS:
            raise LLMError(
                f"the prompt (~{messages_tokens(messages)} tokens) leaves no room for a reply in the "
                f"{window}-token context window of {self.label}; lower chunking.max_chars or raise "
                "llm.context_window / llm.n_ctx"
            )
        return min(max_tokens, room)

    def cache_key(self, messages: list[Message], json_schema: dict[str, Any] | None, params: dict[str, Any]) -> str:
        payload = json.dumps(
            {
                "endpoint": self._settings.base_url or self._settings.backend,
                "model": self._settings.model,
                "messages": messages,
                "schema": json_schema,
                "params": params,
            },
            ensure_ascii=False,
            sort_keys=True,
        )
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()

    async def complete(
        self,
        messages: list[Message],
        *,
        json_schema: dict[str, Any] | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
    ) -> ChatResult:
        temperature = self._settings.temperature if temperature is None else temperature
        max_tokens = self.clamp_max_tokens(messages, self._settings.max_tokens if max_tokens is None else max_tokens)
        key = self.cache_key(messages, json_schema, {"temperature": temperature, "max_tokens": max_tokens})
        result = await self._managed(
            key,
            messages_tokens(messages) + max_tokens,
            lambda: self.inner.complete(
                messages, json_schema=json_schema, temperature=temperature, max_tokens=max_tokens
            ),
            ChatResult,
        )
        return result.model_copy(update={"cache_key": key})

    async def _managed(
        self, key: str, tokens: int, call: Callable[[], Awaitable[_Reply]], kind: type[_Reply]
    ) -> _Reply:
        """What every request gets: the stored reply under ``key`` when there is one (a hit costs nothing),
        else the endpoint's rate limits for ``tokens``, the call, its cost, the running total and the store."""
        if self._cache is not None:
            stored = self._cache.get(key)
            if stored is not None:
                hit = TokenUsage(cached_calls=1)
                self.usage = self.usage + hit
                return kind.model_validate_json(stored).model_copy(update={"usage": hit, "cached": True})
        if self._rate_limited:
            await _limits_for(self._settings).acquire(tokens)
        reply = await call()
        usage = reply.usage.model_copy(update={"cost": call_cost(reply.usage, self._settings)})
        reply = reply.model_copy(update={"usage": usage})
        self.usage = self.usage + usage
        if self._cache is not None:
            self._cache.set(key, reply.model_dump_json())
        return reply

    @property
    def scores_yes_no(self) -> bool:
        """True when the backend can read first-token probabilities (:class:`ScoresYesNo`)."""
        return isinstance(self.inner, ScoresYesNo)

    async def yes_probability(self, messages: list[Message]) -> YesNoScore:
        """The backend's P(yes), cached and rate-limited like a completion; :class:`NoTokenProbabilities` when
        the backend cannot score."""
        inner = self.inner
        if not isinstance(inner, ScoresYesNo):
            raise NoTokenProbabilities(f"{self.label} gives no token probabilities (this backend cannot score)")
        key = self.cache_key(messages, None, {"yes_probability": True})
        return await self._managed(
            key, messages_tokens(messages) + 1, lambda: inner.yes_probability(messages), YesNoScore
        )

    def endpoint_figures(self) -> EndpointFigures | None:
        """The adaptive concurrency figures of this model's endpoint (None for the embedded backend), or its
        Batch API figures."""
        own = getattr(self.inner, "endpoint_figures", None)
        if own is not None:
            return own()
        pressure = getattr(self.inner, "pressure", None)
        return pressure.figures() if pressure is not None else None

    def forget(self, cache_key: str | None) -> None:
        """Drop a stored reply the caller could not use, so the next run asks the model again."""
        if self._cache is not None and cache_key:
            self._cache.delete(cache_key)

    async def aclose(self) -> None:
        await self.inner.aclose()
        if self._cache is not None:
            self._cache.close()
