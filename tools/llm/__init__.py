"""LLM backends behind one interface; :func:`make_chat_model` picks one from settings."""

from __future__ import annotations

from pathlib import Path

from ftds.tools.config import LLMSettings
from ftds.tools.llm.base import ChatModel, ChatResult, LLMError, Message

__all__ = ["ChatModel", "ChatResult", "LLMError", "Message", "make_chat_model"]


def make_chat_model(settings: LLMSettings, cache_dir: Path, batch_state: Path | None = None) -> ChatModel:
    """Build the backend the settings name, wrapped with the response cache, rate limits, the max_tokens
    clamp and cost accounting (:mod:`ftds.tools.llm.managed`). Heavy imports happen here, not at import.

    ``batch_state``: where a build keeps its batch ledger; with it and ``settings.batch``, calls go through
    the endpoint's Batch API (:mod:`ftds.tools.llm.batched`). Without it (MCP tools, evaluation), live calls."""
    from ftds.tools.llm.managed import ManagedChatModel

    inner: ChatModel
    if settings.batch and batch_state is not None:
        from ftds.tools.llm.batched import BatchingChatModel

        # the per-minute buckets are for live calls: a provider queues batch requests separately
        return ManagedChatModel(BatchingChatModel(settings, batch_state), settings, cache_dir, rate_limited=False)
    if settings.backend == "embedded":
        from ftds.tools.llm.embedded import EmbeddedChatModel

        inner = EmbeddedChatModel(settings, cache_dir)
    else:
        from ftds.tools.llm.openai_compat import OpenAICompatibleChatModel

        inner = OpenAICompatibleChatModel(settings)
    return ManagedChatModel(inner, settings, cache_dir)
