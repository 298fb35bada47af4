"""Find the statute articles a text cites, so an answer citing an article its source lacks can be caught.

Small models readily write "第197条" under a chunk that holds 第一百二十条 only; a reviewer model of the same
size often scores such answers highly. Citations are compared as numbers, whatever numerals were used
(第一百九十七条, 第197条, Article 197, § 197), with cn2an converting Chinese numerals.
"""

from __future__ import annotations

import re

_ZH_ARTICLE = re.compile(r"第\s*([零〇一二两三四五六七八九十百千\d]+)\s*条")
_EN_ARTICLE = re.compile(r"(?:\b(?:Article|Art\.|Section|Sec\.)|§)\s*(\d+)", re.IGNORECASE)


def _to_int(numeral: str) -> int | None:
    if numeral.isdigit():
        return int(numeral)
    import cn2an  # imported on first Chinese numeral: it costs ~0.2 s, which MCP start-up should not pay

    try:
        return int(cn2an.cn2an(numeral, "smart"))
    except (ValueError, KeyError):
        return None


def cited_articles(text: str) -> set[int]:
    """Article numbers cited in ``text``."""
    numbers = {_to_int(m.group(1)) for m in _ZH_ARTICLE.finditer(text)}
    numbers |= {int(m.group(1)) for m in _EN_ARTICLE.finditer(text)}
    return {n for n in numbers if n is not None}


def invented_citations(answer: str, source: str) -> set[int]:
    """Articles the answer cites that do not appear in the source."""
    return cited_articles(answer) - cited_articles(source)
