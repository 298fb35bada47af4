"""Cut a document into chunks that respect its structure and lose nothing.

Chunks are contiguous spans of the cleaned text: concatenated in order they give the text back exactly.
Boundaries are chosen from the most meaningful unit down — Markdown section, then statute article
(第X条 / Article N / §), then sentence — and units are packed up to ``max_chars``, so an article is only
ever cut when it alone is longer than the limit.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

from ftds.tools.config import ChunkSettings
from ftds.tools.records import Chunk, Document, Provenance, content_hash

_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$", re.MULTILINE)
_ARTICLE = re.compile(
    r"^[ \t\u3000]*(?:第[一二三四五六七八九十百千零〇两\d]+条(?:之[一二三四五六七八九十]+)?|"
    r"\**(?:Article|ARTICLE|Art\.)\s+[\dIVXLC]+\b|§+\s*\d)",
    re.MULTILINE,
)
# A sentence ends at CJK terminal punctuation, or at . ! ? followed by space/newline — which keeps
# decimals ("4.0"), numbered items ("1.2.3") and abbreviations inside words in one piece.
_SENTENCE_END = re.compile(r"(?<=[。！？；!?])|(?<=[.!?])(?=\s)|\n\n")


@dataclass(frozen=True)
class _Section:
    start: int
    end: int
    heading_path: tuple[str, ...]


def _sections(text: str) -> list[_Section]:
    """Spans between Markdown headings, each with the path of headings above it."""
    matches = list(_HEADING.finditer(text))
    if not matches:
        return [_Section(0, len(text), ())]
    sections: list[_Section] = []
    if matches[0].start() > 0:
        sections.append(_Section(0, matches[0].start(), ()))
    stack: list[tuple[int, str]] = []
    for i, match in enumerate(matches):
        level = len(match.group(1))
        title = re.sub(r"\s+", " ", match.group(2)).strip()
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, title))
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        sections.append(_Section(match.start(), end, tuple(t for _, t in stack)))
    return _merge_bare_headings(text, sections)


def _merge_bare_headings(text: str, sections: list[_Section]) -> list[_Section]:
    """A heading with no body of its own ("# 合同编") joins the section after it instead of being a chunk."""
    merged: list[_Section] = []
    carry: int | None = None
    for index, section in enumerate(sections):
        body = _HEADING.sub("", text[section.start : section.end], count=1)
        start = section.start if carry is None else carry
        if not body.strip() and index + 1 < len(sections):
            carry = start
            continue
        merged.append(_Section(start, section.end, section.heading_path))
        carry = None
    return merged


def _cuts(text: str, start: int, end: int, pattern: re.Pattern[str]) -> list[int]:
    """Offsets in [start, end) where ``pattern`` allows a cut, always including start and end."""
    points = {start, end}
    for match in pattern.finditer(text, start, end):
        if start < match.start() < end:
            points.add(match.start())
    return sorted(points)


def _split_long(text: str, start: int, end: int, max_chars: int) -> list[tuple[int, int]]:
    """Split an over-long unit at sentence ends, falling back to hard cuts only for run-on text."""
    pieces: list[tuple[int, int]] = []
    cuts = _cuts(text, start, end, _SENTENCE_END)
    piece_start = start
    previous = start
    for cut in cuts[1:]:
        if cut - piece_start > max_chars and previous > piece_start:
            pieces.append((piece_start, previous))
            piece_start = previous
        previous = cut
    pieces.append((piece_start, end))
    exact: list[tuple[int, int]] = []
    for a, b in pieces:
        while b - a > max_chars:
            exact.append((a, a + max_chars))
            a += max_chars
        exact.append((a, b))
    return exact


def _pack(units: list[tuple[int, int]], max_chars: int, min_chars: int) -> list[tuple[int, int]]:
    """Merge consecutive units while they fit in ``max_chars``; a small tail joins its neighbour."""
    packed: list[list[int]] = []
    for a, b in units:
        if packed and (b - packed[-1][0] <= max_chars or packed[-1][1] - packed[-1][0] < min_chars):
            packed[-1][1] = b
        else:
            packed.append([a, b])
    if len(packed) > 1 and packed[-1][1] - packed[-1][0] < min_chars:
        tail = packed.pop()
        packed[-1][1] = tail[1]
    return [(a, b) for a, b in packed]


def chunk_spans(text: str, settings: ChunkSettings, legal: bool) -> list[tuple[int, int, tuple[str, ...]]]:
    spans: list[tuple[int, int, tuple[str, ...]]] = []
    for section in _sections(text):
        pattern = _ARTICLE if legal else _SENTENCE_END
        cuts = _cuts(text, section.start, section.end, pattern)
        units: list[tuple[int, int]] = []
        for a, b in itertools.pairwise(cuts):
            units.extend(_split_long(text, a, b, settings.max_chars) if b - a > settings.max_chars else [(a, b)])
        for a, b in _pack(units, settings.max_chars, settings.min_chars):
            spans.append((a, b, section.heading_path))
    return spans


def _is_legal(document: Document, settings: ChunkSettings, domain: str) -> bool:
    if settings.strategy == "legal":
        return True
    if settings.strategy == "auto":
        return domain == "law" or len(_ARTICLE.findall(document.text)) >= 3
    return False


def chunk_document(document: Document, settings: ChunkSettings | None = None, domain: str = "general") -> list[Chunk]:
    """Chunks of ``document`` whose spans tile its text exactly; ids are content hashes (stable)."""
    settings = settings or ChunkSettings()
    text = document.text
    chunks: list[Chunk] = []
    for a, b, path in chunk_spans(text, settings, _is_legal(document, settings, domain)):
        body = text[a:b]
        if not body.strip():
            continue
        chunk_id = content_hash(document.source, str(a), body)
        first_page = document.page_of(a)
        last_page = document.page_of(max(a, b - 1))
        chunks.append(
            Chunk(
                chunk_id=chunk_id,
                doc_id=document.doc_id,
                index=len(chunks),
                text=body,
                provenance=Provenance(
                    source=document.source,
                    page=first_page,
                    page_end=last_page if last_page != first_page else None,
                    char_start=a,
                    char_end=b,
                    heading_path=list(path),
                    chunk_id=chunk_id,
                ),
            )
        )
    return chunks
