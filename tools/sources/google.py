"""Google Dataset Search has no public API: the answer is a ready search link to open in a browser."""

from __future__ import annotations

from urllib.parse import urlencode

GOOGLE_DATASET_SEARCH = "https://datasetsearch.research.google.com/search"


def google_search_link(query: str, language: str | None = None) -> str:
    terms = f"{query} {language}" if language else query
    return f"{GOOGLE_DATASET_SEARCH}?{urlencode({'query': terms.strip()})}"
