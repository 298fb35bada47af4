"""Redact credentials written into URLs, wherever a URL is shown or stored.

API keys belong in environment variables (settings only name the variable), but a key can still arrive inside
a base URL — ``http://user:KEY@host/v1`` or ``https://host/v1?api_key=KEY``. Every place that prints, logs or
stores a URL or a settings dump (report.json, the run registry and its settings snapshot, model labels in
provenance and checkpoints, error messages, stderr) passes it through here first. The real URL stays in
memory for the HTTP client only; a resumed run gets it back from the current configuration.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit, urlunsplit

MASK = "***"

# Query parameters whose value is a credential (matched case-insensitively anywhere in the name).
_SECRET_PARAM = re.compile(r"key|token|secret|passw|pwd|auth|sig|credential|session", re.IGNORECASE)
_URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"<>`]+")


def _redact_query(query: str) -> str:
    if not query:
        return query
    parts = []
    for piece in query.split("&"):
        name, sep, value = piece.partition("=")
        secret = sep and value and value != MASK and _SECRET_PARAM.search(name)
        parts.append(f"{name}={MASK}" if secret else piece)
    return "&".join(parts)


def redact_url(url: str) -> str:
    """``url`` with its user-info and credential-like query values replaced by ``***``; anything that is not
    a URL comes back unchanged. Idempotent, so an already-redacted URL stays as it is."""
    if "://" not in url:
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{MASK}@{netloc.rpartition('@')[2]}"
    query = _redact_query(parts.query)
    if (netloc, query) == (parts.netloc, parts.query):
        return url
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def redact_text(text: str) -> str:
    """Every URL inside free text (an error message, a log line) redacted with :func:`redact_url`."""
    if "://" not in text:
        return text
    return _URL.sub(lambda match: redact_url(match.group(0)), text)


def redact_data(data: Any) -> Any:
    """A copy of JSON-like ``data`` (a settings dump, a summary) with every string passed through
    :func:`redact_text`."""
    if isinstance(data, str):
        return redact_text(data)
    if isinstance(data, dict):
        return {key: redact_data(value) for key, value in data.items()}
    if isinstance(data, list | tuple):
        return [redact_data(value) for value in data]
    return data


def is_redacted(url: str | None) -> bool:
    """True when ``url`` is a redacted copy: it cannot be used to connect, the real URL must come back."""
    return url is not None and (f"{MASK}@" in url or f"={MASK}" in url)


def same_endpoint(stored: str | None, current: str | None) -> bool:
    """True when ``current`` (a real URL) is what the redacted ``stored`` copy was made from."""
    return current is not None and stored is not None and redact_url(current) == stored


__all__ = ["MASK", "is_redacted", "redact_data", "redact_text", "redact_url", "same_endpoint"]
