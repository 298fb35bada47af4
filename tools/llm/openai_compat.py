"""Any OpenAI-compatible endpoint: OpenAI, DeepSeek, Qwen (DashScope), Zhipu, Ollama, vLLM, llama.cpp.

The official ``openai`` client does the HTTP work, including retries with exponential backoff that honour
Retry-After on 429 and 5xx. This wrapper adds what the pipeline needs on top: a per-endpoint concurrency
limit that adapts to 429s and timeouts (:mod:`ftds.tools.llm.adaptive`), the structured-output mode the
endpoint accepts, reasoning text from ``reasoning_content`` (DeepSeek-R1, QwQ),
and error messages that never carry the API key.
"""

from __future__ import annotations

import asyncio
import math
import os
import random
from typing import Any

import openai
from openai.types.chat import ChatCompletion

from ftds.tools.config import LLMSettings
from ftds.tools.llm.adaptive import EndpointPressure, observing_http_client
from ftds.tools.llm.base import ChatResult, LLMError, Message, NoTokenProbabilities, YesNoScore, yes_no_score
from ftds.tools.records import TokenUsage
from ftds.tools.redact import redact_url

MALFORMED_BACKOFF_S = 0.25
TOP_LOGPROBS = 20
"""Alternatives asked for the first reply token when scoring yes/no (the most OpenAI returns)."""


def resolve_api_key(settings: LLMSettings) -> str:
    """The key from the environment variable the settings name; local servers may need none."""
    key = os.environ.get(settings.api_key_env, "")
    if key:
        return key
    if settings.base_url and any(host in settings.base_url for host in ("127.0.0.1", "localhost", "[::1]")):
        return "not-needed-for-local-server"
    raise LLMError(
        f"no API key: set the environment variable {settings.api_key_env} (or name another one with "
        f"llm.api_key_env / FTDS_LLM__API_KEY_ENV) for the endpoint {redact_url(settings.base_url or 'api.openai.com')}"
    )


class OpenAICompatibleChatModel:
    def __init__(self, settings: LLMSettings) -> None:
        self._settings = settings
        self.pressure = EndpointPressure(settings)
        self._client = openai.AsyncOpenAI(
            base_url=settings.base_url,
            api_key=resolve_api_key(settings),
            timeout=settings.timeout_s,
            max_retries=settings.max_retries,
            http_client=observing_http_client(self.pressure),
        )

    @property
    def label(self) -> str:
        return self._settings.label

    def _response_format(self, json_schema: dict[str, Any] | None) -> dict[str, Any] | None:
        if json_schema is None:
            return None
        mode = self._settings.structured_output or "json_object"
        if mode == "json_schema":
            return {"type": "json_schema", "json_schema": {"name": "reply", "schema": json_schema}}
        if mode == "json_object":
            return {"type": "json_object"}
        return None

    async def complete(
        self,
        messages: list[Message],
        *,
        json_schema: dict[str, Any] | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
    ) -> ChatResult:
        kwargs: dict[str, Any] = {
            "model": self._settings.model,
            "messages": messages,
            "temperature": self._settings.temperature if temperature is None else temperature,
            "max_tokens": self._settings.max_tokens if max_tokens is None else max_tokens,
        }
        response_format = self._response_format(json_schema)
        if response_format is not None:
            kwargs["response_format"] = response_format
        reply = await self._send(kwargs)
        if not reply.choices:
            raise LLMError(f"{self.label} returned no choices")
        choice = reply.choices[0]
        message = choice.message
        extra = message.model_extra or {}
        reasoning = extra.get("reasoning_content") or extra.get("reasoning")
        return ChatResult(
            text=message.content or "",
            reasoning=reasoning if isinstance(reasoning, str) and reasoning.strip() else None,
            usage=_usage(reply),
            model=self.label,
            finish_reason=choice.finish_reason,
        )

    async def yes_probability(self, messages: list[Message]) -> YesNoScore:
        """P(yes) from the first reply token's ``top_logprobs``; an endpoint that returns none (some servers
        ignore ``logprobs``) raises :class:`NoTokenProbabilities`, and the caller goes without the score."""
        kwargs: dict[str, Any] = {
            "model": self._settings.model,
            "messages": messages,
            "temperature": 0.0,
            "max_tokens": 1,
            "logprobs": True,
            "top_logprobs": TOP_LOGPROBS,
        }
        reply = await self._send(kwargs)
        first = None
        if reply.choices and reply.choices[0].logprobs and reply.choices[0].logprobs.content:
            first = reply.choices[0].logprobs.content[0]
        if first is None:
            raise NoTokenProbabilities(f"{self.label} returned no token probabilities (logprobs) to score a reply with")
        probabilities: dict[str, float] = {}
        alternatives = [(c.token, c.logprob) for c in first.top_logprobs] + [(first.token, first.logprob)]
        for token, logprob in alternatives:
            probabilities[token] = max(probabilities.get(token, 0.0), math.exp(logprob))
        return yes_no_score(probabilities, _usage(reply))

    async def _send(self, kwargs: dict[str, Any]) -> ChatCompletion:
        """One request within the endpoint's in-flight limit (shared by every model object on this endpoint,
        adapted to 429s)."""
        slots = self.pressure.limit()
        await slots.acquire()
        try:
            return await self._post(kwargs)
        finally:
            slots.release()

    async def _post(self, kwargs: dict[str, Any]) -> ChatCompletion:
        """One completion. HTTP errors, 429/5xx and timeouts are retried by the client itself (exponential
        backoff with jitter, Retry-After honoured); a body that cannot be decoded is transient too, but the
        client does not retry it, so it is retried here with the same kind of backoff."""
        for attempt in range(self._settings.max_retries + 1):
            try:
                # The client's generic POST keeps its retries, backoff and response parsing but skips the
                # per-call TypedDict transform of ``messages`` that ``chat.completions.create`` runs; that
                # transform cost ~4 ms of CPU per call, which at high concurrency caps throughput.
                return await self._client.post("/chat/completions", body=kwargs, cast_to=ChatCompletion)
            except openai.APIStatusError as exc:
                raise LLMError(f"{self.label} answered HTTP {exc.status_code} after retries") from None
            except openai.APITimeoutError:
                raise LLMError(f"{self.label} timed out after {self._settings.timeout_s:g}s") from None
            except openai.APIConnectionError:
                raise LLMError(f"could not connect to {self.label}") from None
            except (ValueError, TypeError) as exc:  # the client could not decode the body
                if attempt == self._settings.max_retries:
                    raise LLMError(f"{self.label} sent a malformed response: {type(exc).__name__}") from None
                await asyncio.sleep(MALFORMED_BACKOFF_S * 2**attempt * random.uniform(0.5, 1.0))
        raise AssertionError("unreachable")

    async def aclose(self) -> None:
        await self._client.close()


def _usage(reply: ChatCompletion) -> TokenUsage:
    """The tokens one reply reports (none when the server sends no usage block)."""
    usage = reply.usage
    return TokenUsage(
        prompt_tokens=usage.prompt_tokens if usage else 0,
        completion_tokens=usage.completion_tokens if usage else 0,
        calls=1,
    )
