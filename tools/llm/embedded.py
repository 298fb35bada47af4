"""The embedded default: a packaged Qwen2.5-Coder GGUF run in-process by llama-cpp-python.

llama.cpp is not safe to call from two threads at once and a 2-core machine gains nothing from it, so
calls are serialised with a lock and run in a worker thread to keep the event loop free for progress
reporting. With a JSON schema the reply is grammar-constrained: slower, but a small model then always
returns parseable JSON.
"""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

from ftds.tools.config import LLMSettings
from ftds.tools.llm.base import NO_WORDS, YES_WORDS, ChatResult, LLMError, Message, YesNoScore, yes_no_score
from ftds.tools.llm.model_files import ensure_model_file
from ftds.tools.records import TokenUsage


class EmbeddedChatModel:
    """llama-cpp-python over a verified packaged GGUF."""

    def __init__(self, settings: LLMSettings, cache_dir: Path) -> None:
        self._settings = settings
        self._cache_dir = cache_dir
        self._llama: Any = None
        self._load_lock = threading.Lock()
        self._call_lock = threading.Lock()
        self._yes_no_tokens: dict[int, str] | None = None
        self._format_chat: Any = None
        self.load_seconds: float | None = None

    @property
    def label(self) -> str:
        return self._settings.label

    def _model(self) -> Any:
        with self._load_lock:
            if self._llama is None:
                try:
                    from llama_cpp import Llama
                except ImportError as exc:
                    raise LLMError(
                        "the embedded backend needs llama-cpp-python; install it with "
                        "pip install 'ftds-agent[embedded]' or point ftds at an OpenAI-compatible endpoint"
                    ) from exc
                path = ensure_model_file(self._settings.model, self._cache_dir)
                started = time.perf_counter()
                self._llama = Llama(
                    model_path=str(path),
                    n_ctx=self._settings.n_ctx,
                    n_threads=self._settings.n_threads,
                    verbose=False,
                )
                self.load_seconds = time.perf_counter() - started
            return self._llama

    def _complete_sync(
        self, messages: list[Message], json_schema: dict[str, Any] | None, temperature: float, max_tokens: int
    ) -> ChatResult:
        llama = self._model()
        kwargs: dict[str, Any] = {"temperature": temperature, "max_tokens": max_tokens}
        if self._settings.seed is not None:
            kwargs["seed"] = self._settings.seed  # else llama.cpp's seed advances per call: order-dependent output
        mode = self._settings.structured_output or "json_schema"
        if json_schema is not None and mode == "json_schema":
            kwargs["response_format"] = {"type": "json_object", "schema": json_schema}
        elif json_schema is not None and mode == "json_object":
            kwargs["response_format"] = {"type": "json_object"}
        with self._call_lock:
            try:
                reply = llama.create_chat_completion(messages=list(messages), **kwargs)
            except ValueError as exc:  # llama.cpp raises ValueError when the prompt exceeds n_ctx
                raise LLMError(f"embedded model rejected the request: {exc}") from exc
        choice = reply["choices"][0]
        usage = reply.get("usage") or {}
        return ChatResult(
            text=choice["message"].get("content") or "",
            usage=TokenUsage(
                prompt_tokens=int(usage.get("prompt_tokens", 0)),
                completion_tokens=int(usage.get("completion_tokens", 0)),
                calls=1,
            ),
            model=self.label,
            finish_reason=choice.get("finish_reason"),
        )

    async def complete(
        self,
        messages: list[Message],
        *,
        json_schema: dict[str, Any] | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
    ) -> ChatResult:
        return await asyncio.to_thread(
            self._complete_sync,
            messages,
            json_schema,
            self._settings.temperature if temperature is None else temperature,
            self._settings.max_tokens if max_tokens is None else max_tokens,
        )

    def _candidate_tokens(self, llama: Any) -> dict[int, str]:
        """Token id -> text for every single-token spelling of a yes or no word (yes, Yes, " yes", 是 …)."""
        if self._yes_no_tokens is None:
            found: dict[int, str] = {}
            for word in YES_WORDS | NO_WORDS:
                for spelling in {word, word.capitalize(), " " + word, " " + word.capitalize(), word.upper()}:
                    ids = llama.tokenize(spelling.encode("utf-8"), add_bos=False, special=False)
                    if len(ids) == 1:
                        found[ids[0]] = spelling
            self._yes_no_tokens = found
        return self._yes_no_tokens

    def _prompt_tokens(self, llama: Any, messages: list[Message]) -> list[int]:
        """``messages`` in the model's own chat template, ending where the assistant's reply starts."""
        if self._format_chat is None:
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter

            template = llama.metadata.get("tokenizer.chat_template")
            if not template:
                raise LLMError(f"{self.label} has no chat template to score a reply with")
            self._format_chat = Jinja2ChatFormatter(template=template, eos_token="", bos_token="")
        prompt = self._format_chat(messages=list(messages)).prompt
        return list(llama.tokenize(prompt.encode("utf-8"), add_bos=False, special=True))

    def _yes_probability_sync(self, messages: list[Message]) -> YesNoScore:
        import llama_cpp
        import numpy as np

        llama = self._model()
        with self._call_lock:
            tokens = self._prompt_tokens(llama, messages)
            if len(tokens) >= llama.n_ctx():
                raise LLMError(f"the prompt ({len(tokens)} tokens) does not fit the {llama.n_ctx()}-token context")
            # keep what the context already holds of this prompt (the system prompt, a shared passage)
            same = llama.longest_token_prefix(tokens, llama.input_ids[: llama.n_tokens])
            same = min(same, len(tokens) - 1)  # the last token must be evaluated to read its logits
            llama.n_tokens = same
            llama.eval(tokens[same:])
            logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(llama.ctx, -1), shape=(llama.n_vocab(),))
            candidates = self._candidate_tokens(llama)
        weights = np.exp(logits.astype(np.float64) - float(logits.max()))
        total = float(weights.sum())
        probabilities = {text: float(weights[token]) / total for token, text in candidates.items()}
        usage = TokenUsage(prompt_tokens=len(tokens), calls=1)
        return yes_no_score(probabilities, usage)

    async def yes_probability(self, messages: list[Message]) -> YesNoScore:
        """P(yes) of the first reply token, read from the logits after evaluating the prompt (no sampling)."""
        return await asyncio.to_thread(self._yes_probability_sync, messages)

    def count_tokens(self, text: str) -> int:
        return len(self._model().tokenize(text.encode("utf-8"), add_bos=False))

    async def aclose(self) -> None:
        with self._load_lock:
            if self._llama is not None:
                self._llama.close()
                self._llama = None
