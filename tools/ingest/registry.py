"""Which reader handles which file: one table, by suffix, the single source of truth for supported formats."""

from __future__ import annotations

from pathlib import Path

from ftds.tools.ingest.base import Reader
from ftds.tools.ingest.docx import read_docx
from ftds.tools.ingest.epub import read_epub
from ftds.tools.ingest.html import read_html
from ftds.tools.ingest.pdf import read_pdf
from ftds.tools.ingest.tabular import read_csv, read_json, read_jsonl, read_xlsx
from ftds.tools.ingest.text import read_markdown, read_text

READERS: dict[str, Reader] = {
    ".pdf": read_pdf,
    ".docx": read_docx,
    ".epub": read_epub,
    ".html": read_html,
    ".htm": read_html,
    ".xhtml": read_html,
    ".md": read_markdown,
    ".markdown": read_markdown,
    ".txt": read_text,
    ".text": read_text,
    ".csv": read_csv,
    ".tsv": read_csv,
    ".xlsx": read_xlsx,
    ".json": read_json,
    ".jsonl": read_jsonl,
    ".ndjson": read_jsonl,
}

_KNOWN_UNSUPPORTED = {
    ".doc": "legacy Word .doc is not supported; save it as .docx",
    ".xls": "legacy Excel .xls is not supported; save it as .xlsx",
    ".ppt": "PowerPoint is not supported; export it as PDF",
    ".pptx": "PowerPoint is not supported; export it as PDF",
    ".mobi": "MOBI is not supported; convert it to EPUB",
}


def reader_for(path: Path) -> Reader | None:
    return READERS.get(path.suffix.lower())


def unsupported_reason(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in _KNOWN_UNSUPPORTED:
        return _KNOWN_UNSUPPORTED[suffix]
    supported = " ".join(sorted(READERS))
    return f"unsupported file type {suffix or '(no extension)'}; supported: {supported}"
