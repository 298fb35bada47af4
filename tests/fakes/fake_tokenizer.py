"""A fake tokenizer for property tests of the token strategy: one token per word or CJK character.

The real one (the Qwen2.5 GGUF vocabulary) is tested in tests/tools/test_chunking.py when installed; this
fake lets the lossless property run everywhere, fast."""

from __future__ import annotations

import re

_TOKEN = re.compile(r"[\u4e00-\u9fff]|\w+|[^\w\s]|\s+")


class FakeWordTokenizer:
    name = "fake/words"

    def token_starts(self, text: str) -> list[int]:
        starts = [m.start() for m in _TOKEN.finditer(text)]
        return starts if starts and starts[0] == 0 else [0, *starts]
