"""Markdown and plain text, in whatever common encoding they use (detected by :func:`decode_bytes`)."""

from __future__ import annotations

import re
from pathlib import Path

from ftds.tools.config import IngestSettings
from ftds.tools.ingest.base import Extracted
from ftds.tools.ingest.cleaning import decode_bytes


def read_markdown(data: bytes, path: Path, limits: IngestSettings) -> Extracted:
    text = decode_bytes(data, path)
    title = re.search(r"^#\s+(.+)$", text, re.MULTILINE)
    return Extracted(format="markdown", text=text, title=title.group(1).strip() if title else None)


def read_text(data: bytes, path: Path, limits: IngestSettings) -> Extracted:
    return Extracted(format="text", text=decode_bytes(data, path))
