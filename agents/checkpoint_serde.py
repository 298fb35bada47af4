"""Checkpoint serialisation: LangGraph's msgpack serde restricted to ftds' own record types, compressed.

A build's checkpoints are mostly samples (Chinese or English text, JSON-like structure) and small version maps;
zlib at level 1 shrinks them to about a third for a few microseconds per write, so the file a long run keeps
grows with what it produced, not with steps x state. Blobs from an uncompressed serde still load.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from typing import Any

from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

SUFFIX = "+zlib"
MIN_BYTES = 256  # smaller blobs (version maps of a step) gain nothing from compression


class CompressedSerializer:
    """A LangGraph ``SerializerProtocol``: the inner serde's bytes, zlib-compressed when that pays."""

    def __init__(self, allowed_modules: Sequence[tuple[str, str]]) -> None:
        self._inner = JsonPlusSerializer(allowed_msgpack_modules=list(allowed_modules))

    def dumps_typed(self, obj: Any) -> tuple[str, bytes]:
        kind, data = self._inner.dumps_typed(obj)
        if len(data) < MIN_BYTES:
            return kind, data
        return kind + SUFFIX, zlib.compress(data, 1)

    def loads_typed(self, data: tuple[str, bytes]) -> Any:
        kind, payload = data
        if kind.endswith(SUFFIX):
            return self._inner.loads_typed((kind.removesuffix(SUFFIX), zlib.decompress(payload)))
        return self._inner.loads_typed((kind, payload))
