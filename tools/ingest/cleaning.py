"""Text cleaning shared by every format: decoding, Unicode and whitespace, hyphenation, page furniture.

Cleaning changes how text is written, never what it says: it normalises Unicode (NFC) and whitespace,
joins words hyphenated across a line break, and removes what a printed page repeats on every page
(running headers, footers, page numbers). List markers, Markdown tables and paragraph breaks are kept,
because the chunkers use them as boundaries.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

_ZERO_WIDTH = re.compile(r"[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f]+")
# "infor-\nmation" -> "information"; only lowercase on both sides, so "COVID-\n19" and list dashes stay.
_HYPHEN_BREAK = re.compile(r"(?<=[a-z])-\n(?=[a-z])")
_PAGE_NUMBER = re.compile(
    r"^\s*(?:[-–—]\s*)?(?:(?:page|p\.)\s*)?\d{1,4}(?:\s*(?:/|of)\s*\d{1,4})?(?:\s*[-–—])?\s*$"
    r"|^\s*第\s*\d{1,4}\s*页(?:\s*[,，/]?\s*共\s*\d{1,4}\s*页)?\s*$",
    re.IGNORECASE,
)


def _normalise_line(line: str) -> str:
    """Collapse runs of spaces inside a line but keep its indentation (nested lists, code)."""
    body = line.lstrip(" \t")
    indent = line[: len(line) - len(body)].replace("\t", "    ")
    return (indent + _SPACES.sub(" ", body)).rstrip() if body.strip() else ""


def clean_text(text: str, join_hyphens: bool = False) -> str:
    """Normalise Unicode and whitespace without changing the content; ends with one newline (or is empty)."""
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = _ZERO_WIDTH.sub("", text)
    text = "\n".join(_normalise_line(line) for line in text.split("\n"))
    if join_hyphens:
        text = _HYPHEN_BREAK.sub("", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip() + "\n" if text.strip() else ""


def decode_bytes(data: bytes, path: Path) -> str:
    """Decoded text only; readers use :func:`ftds.tools.ingest.encoding.decode_document`, which also says
    when the encoding was a guess (kept for callers of the first version)."""
    from ftds.tools.ingest.encoding import decode_document

    return decode_document(data, path).text


def _furniture_key(line: str) -> str:
    """A line with its digits blanked, so 'Report 2018 — page 3' matches 'Report 2018 — page 4'."""
    return re.sub(r"\d+", "#", re.sub(r"\s+", "", line))


def strip_page_furniture(pages: list[str], edge_lines: int = 2) -> list[str]:
    """Drop running headers/footers (a line at a page edge repeated on most pages) and bare page numbers.

    Only the first and last ``edge_lines`` non-empty lines of each page are candidates, so a sentence in
    the body that happens to repeat is never removed.
    """
    split = [page.split("\n") for page in pages]

    def edges(lines: list[str]) -> list[int]:
        filled = [i for i, line in enumerate(lines) if line.strip()]
        return sorted(set(filled[:edge_lines] + filled[-edge_lines:]))

    counts: Counter[str] = Counter()
    for lines in split:
        counts.update({_furniture_key(lines[i]) for i in edges(lines)})
    threshold = max(3, (len(pages) + 1) // 2)
    cleaned: list[str] = []
    for lines in split:
        drop = {
            i
            for i in edges(lines)
            if _PAGE_NUMBER.match(lines[i]) or (len(pages) >= 3 and counts[_furniture_key(lines[i])] >= threshold)
        }
        drop |= _line_number_gutter(lines)
        cleaned.append("\n".join(line for i, line in enumerate(lines) if i not in drop))
    return cleaned


def _line_number_gutter(lines: list[str], min_run: int = 5) -> set[int]:
    """Indexes of a line-number column (transcripts, pleadings): a run of lines 1, 2, 3 ... alone on a line.

    Text extraction emits that column as its own block; the numbers say nothing, and left in they would
    sit between a chunk's sentences."""
    found: set[int] = set()
    run: list[int] = []
    previous: int | None = None
    for index, line in enumerate([*lines, ""]):
        value = int(line.strip()) if line.strip().isdigit() and len(line.strip()) <= 3 else None
        if value is not None and previous is not None and value == previous + 1:
            run.append(index)
        else:
            if len(run) >= min_run:
                found.update(run)
            run = [index] if value is not None else []
        previous = value
    return found


def join_blocks(bodies: Iterable[str]) -> tuple[str, list[int | None]]:
    """Join the non-empty blocks with a blank line; returns the text and, per block, where it starts in it
    (None for an empty block, which is left out)."""
    parts: list[str] = []
    starts: list[int | None] = []
    offset = 0
    for body in bodies:
        if not body:
            starts.append(None)
            continue
        if parts:
            parts.append("\n\n")
            offset += 2
        starts.append(offset)
        parts.append(body)
        offset += len(body)
    return "".join(parts), starts


def join_pages(pages: list[str]) -> tuple[str, list[int]]:
    """Clean each page and join them with a blank line; returns the text and where each page starts.

    An empty page starts where the next page with text starts, so no offset is attributed to it."""
    text, starts = join_blocks(clean_text(page, join_hyphens=True).rstrip("\n") for page in pages)
    resolved: list[int] = []
    following = len(text)
    for start in reversed(starts):
        following = start if start is not None else following
        resolved.append(following)
    return (text + "\n" if text else ""), resolved[::-1]
