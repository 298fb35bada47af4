"""Which reader handles which file: one table, by suffix, the single source of truth for supported formats."""

from __future__ import annotations

from importlib import import_module
from pathlib import Path

from ftds.tools.ingest.base import Reader

# suffix -> "module:function". Readers are imported on first use: lxml, trafilatura and python-docx cost
# about half a second to import, which an MCP server's start-up (or an ingest of Markdown only) should not pay.
READERS: dict[str, str] = {
    ".pdf": "pdf:read_pdf",
    ".docx": "docx:read_docx",
    ".epub": "epub:read_epub",
    ".html": "html:read_html",
    ".htm": "html:read_html",
    ".xhtml": "html:read_html",
    ".md": "text:read_markdown",
    ".markdown": "text:read_markdown",
    ".txt": "text:read_text",
    ".text": "text:read_text",
    ".csv": "tabular:read_csv",
    ".tsv": "tabular:read_csv",
    ".xlsx": "tabular:read_xlsx",
    ".json": "tabular:read_json",
    ".jsonl": "tabular:read_jsonl",
    ".ndjson": "tabular:read_jsonl",
}

_KNOWN_UNSUPPORTED = {
    ".doc": "legacy Word .doc is not supported; save it as .docx",
    ".xls": "legacy Excel .xls is not supported; save it as .xlsx",
    ".ppt": "PowerPoint is not supported; export it as PDF",
    ".pptx": "PowerPoint is not supported; export it as PDF",
    ".mobi": "MOBI is not supported; convert it to EPUB",
}


def reader_for(path: Path) -> Reader | None:
    target = READERS.get(path.suffix.lower())
    if target is None:
        return None
    module, function = target.split(":")
    reader: Reader = getattr(import_module(f"ftds.tools.ingest.{module}"), function)
    return reader


def unsupported_reason(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in _KNOWN_UNSUPPORTED:
        return _KNOWN_UNSUPPORTED[suffix]
    supported = " ".join(sorted(READERS))
    return f"unsupported file type {suffix or '(no extension)'}; supported: {supported}"
