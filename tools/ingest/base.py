"""What every format reader returns, and the one error type a reader raises.

A reader turns the raw bytes of one file into text (Markdown-flavoured where the format has structure, so
that headings and tables survive), into pages (PDF), or into records (CSV/XLSX/JSON/JSONL). Cleaning,
provenance and chunking are done once, after the reader, so every format gets the same treatment.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ftds.tools.config import IngestSettings


class LoadError(ValueError):
    """A file that cannot be loaded; the message names what is wrong and what to do."""


@dataclass
class Extracted:
    """A reader's output: exactly one of ``text``, ``pages`` or ``records`` is set."""

    format: str
    text: str | None = None
    pages: list[str] | None = None
    records: list[tuple[str, str]] | None = None  # (label such as "row 3", text)
    title: str | None = None
    notes: list[str] = field(default_factory=list)  # things the user should know, e.g. records skipped
    unreadable: int = 0  # lines or records of the file that could not be read (the file is then partial)


Reader = Callable[[bytes, Path, IngestSettings], Extracted]
