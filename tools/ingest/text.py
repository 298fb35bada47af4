"""Markdown and plain text, in whatever common encoding they use (see :mod:`.encoding`; a guess is noted)."""

from __future__ import annotations

import re
from pathlib import Path

from ftds.tools.config import IngestSettings
from ftds.tools.ingest.base import Extracted
from ftds.tools.ingest.encoding import decode_document


def read_markdown(data: bytes, path: Path, limits: IngestSettings) -> Extracted:
    decoded = decode_document(data, path)
    title = re.search(r"^#\s+(.+)$", decoded.text, re.MULTILINE)
    notes = [decoded.note] if decoded.note else []
    return Extracted(format="markdown", text=decoded.text, title=title.group(1).strip() if title else None, notes=notes)


def read_text(data: bytes, path: Path, limits: IngestSettings) -> Extracted:
    decoded = decode_document(data, path)
    return Extracted(format="text", text=decoded.text, notes=[decoded.note] if decoded.note else [])
