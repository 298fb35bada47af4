"""Which language a text is in, as far as the pipeline needs to know: Chinese or English.

The output language follows the source document (a peer's most reported complaint is output that follows
the UI language instead). A CJK-character ratio is enough to tell the two apart reliably on real text.
"""

from __future__ import annotations

import re

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[A-Za-z]")


def cjk_ratio(text: str) -> float:
    cjk = len(_CJK.findall(text))
    latin_words = len(re.findall(r"[A-Za-z]+", text))
    total = cjk + latin_words
    return cjk / total if total else 0.0


def detect_language(text: str) -> str:
    """'zh' when CJK characters dominate, else 'en'."""
    return "zh" if cjk_ratio(text) >= 0.3 else "en"
