"""Cut a document into chunks that respect its structure and lose nothing.

Every strategy first computes spans that tile the cleaned text exactly (concatenated in order they give
the text back), then optional overlap repeats the end of the previous span at the start of a chunk; the
number of repeated characters is recorded in ``Provenance.overlap_chars`` so that the chunks minus their
overlap always reassemble to the text. The size limit is hard for the whole chunk, overlap included: spans
are cut shorter by the overlap (:func:`overlap_reserve`), and a lead-in never reaches past the limit.
Strategies (defaults in :class:`ChunkSettings`):

- ``legal``: statute articles (第X条 / Article N / §) are the units; an article is cut, at sentence ends,
  only when it alone is over the limit. Chapter lines (第一编/章/节) count as headings in plain text.
- ``heading``: the Markdown outline (DOCX, HTML and EPUB are converted to Markdown, so it is theirs too);
  long sections split at paragraphs, then sentences; small neighbouring sections are merged.
- ``recursive``: paragraph, line, sentence, clause, space — each finer separator used only where the
  coarser one leaves a piece over the limit.
- ``token``: sentences packed up to ``max_tokens`` tokens of a real tokenizer (see :mod:`.tokenizer`).
- ``fixed``: every ``max_chars`` characters.

Records of a tabular file (CSV/XLSX/JSON) are one unit each, whatever the strategy: never merged, split only
when one alone is over the limit.
"""

from __future__ import annotations

import bisect
import itertools
import math
import re
from collections.abc import Callable
from dataclasses import dataclass

from ftds.tools.config import ChunkSettings
from ftds.tools.ingest import sentences
from ftds.tools.ingest.tokenizer import Tokenizer, embedded_tokenizer
from ftds.tools.records import Chunk, Document, Provenance, content_hash

Span = tuple[int, int]
PathSpan = tuple[int, int, tuple[str, ...]]

_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$", re.MULTILINE)
_LEGAL_HEADING = re.compile(
    r"^[ \t\u3000]*(第[一二三四五六七八九十百千零〇两\d]+(编|分编|章|节))(?:[ \t\u3000]+\S.*)?$", re.MULTILINE
)
_LEGAL_LEVEL = {"编": 1, "分编": 2, "章": 3, "节": 4}
_ARTICLE = re.compile(
    r"^[ \t\u3000]*(?:\**第[一二三四五六七八九十百千零〇两\d]+条(?:之[一二三四五六七八九十]+)?|"
    r"\**(?:Article|ARTICLE|Art\.)\s+[\dIVXLC]+\b|§+\s*\d)",
    re.MULTILINE,
)


@dataclass(frozen=True)
class Budget:
    """How big a piece is (characters or tokens) and the limits that apply to it."""

    limit: int
    minimum: int
    token_starts: tuple[int, ...] | None = None
    ceiling: int = 0  # the hard limit of a whole chunk, overlap included (``limit`` leaves room for the overlap)

    def size(self, a: int, b: int) -> int:
        if self.token_starts is None:
            return b - a
        return bisect.bisect_left(self.token_starts, b) - bisect.bisect_left(self.token_starts, a)

    def earliest_start(self, b: int) -> int:
        """The first offset from which a chunk ending at ``b`` still fits the limit (for its overlap)."""
        ceiling = max(self.ceiling, self.limit)
        if self.token_starts is None:
            return max(0, b - ceiling)
        end = bisect.bisect_left(self.token_starts, b)
        first = end - ceiling  # the earliest token a chunk ending at b may start with
        return self.token_starts[first] if first > 0 else 0

    def hard_cuts(self, a: int, b: int) -> list[Span]:
        """Cut [a, b) into pieces of at most ``limit``, with no regard for words: the last resort."""
        if self.token_starts is None:
            points = list(range(a, b, self.limit))
        else:
            first = bisect.bisect_left(self.token_starts, a)
            last = bisect.bisect_left(self.token_starts, b)
            points = [a, *self.token_starts[first + self.limit : last : self.limit]]
        return list(itertools.pairwise([*points, b]))


# --- outline -------------------------------------------------------------------------------------------


def _outline(text: str, legal: bool) -> list[tuple[int, int, str]]:
    """(offset, level, title) of every heading: Markdown headings, else statute chapter lines."""
    marks = [(m.start(), len(m.group(1)), re.sub(r"\s+", " ", m.group(2)).strip()) for m in _HEADING.finditer(text)]
    if not marks and legal:
        marks = [
            (m.start(), _LEGAL_LEVEL[m.group(2)], re.sub(r"\s+", " ", m.group(0)).strip())
            for m in _LEGAL_HEADING.finditer(text)
        ]
    return marks


def _paths(text: str, outline: list[tuple[int, int, str]]) -> list[tuple[int, tuple[str, ...]]]:
    """(offset, heading path in force from that offset) for each heading."""
    result: list[tuple[int, tuple[str, ...]]] = []
    stack: list[tuple[int, str]] = []
    for offset, level, title in outline:
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, title))
        result.append((offset, tuple(t for _, t in stack)))
    return result


def _path_at(paths: list[tuple[int, tuple[str, ...]]], offset: int) -> tuple[str, ...]:
    index = bisect.bisect_right([p[0] for p in paths], offset) - 1
    return paths[index][1] if index >= 0 else ()


def _sections(text: str, paths: list[tuple[int, tuple[str, ...]]]) -> list[PathSpan]:
    """Spans between headings; a heading with no body of its own joins the section after it."""
    bounds = [0, *[p[0] for p in paths if p[0] > 0], len(text)]
    raw = [(a, b, _path_at(paths, a)) for a, b in itertools.pairwise(bounds) if b > a]
    merged: list[PathSpan] = []
    carry: int | None = None
    heading_offsets = {p[0] for p in paths}
    for index, (a, b, path) in enumerate(raw):
        first_line_end = text.find("\n", a, b)
        body = text[first_line_end:b] if first_line_end != -1 else ""
        start = a if carry is None else carry
        if a in heading_offsets and not body.strip() and index + 1 < len(raw):
            carry = start
            continue
        merged.append((start, b, path))
        carry = None
    return merged


# --- splitting and packing -----------------------------------------------------------------------------

Finder = Callable[[str, int, int], list[int]]


def _finder(pattern: re.Pattern[str]) -> Finder:
    return lambda text, a, b: sentences.separator_cuts(text, a, b, pattern)


def _article_cuts(text: str, a: int, b: int) -> list[int]:
    return [m.start() for m in _ARTICLE.finditer(text, a, b) if a < m.start() < b]


RECURSIVE_LEVELS: list[Finder] = [
    _finder(sentences.PARAGRAPH),
    _finder(sentences.LINE),
    sentences.sentence_cuts,
    _finder(sentences.CLAUSE),
    _finder(sentences.SPACE),
]

_ARTICLE_LEVELS: list[Finder] = [_finder(sentences.LINE), sentences.sentence_cuts, *RECURSIVE_LEVELS[3:]]


def _split(text: str, a: int, b: int, budget: Budget, levels: list[Finder]) -> list[Span]:
    """Pieces of [a, b) each within the budget, using the coarsest separator that gets there."""
    if budget.size(a, b) <= budget.limit:
        return [(a, b)]
    for level, finder in enumerate(levels):
        cuts = finder(text, a, b)
        if cuts:
            pieces: list[Span] = []
            for x, y in itertools.pairwise([a, *cuts, b]):
                pieces.extend(_split(text, x, y, budget, levels[level + 1 :]))
            return pieces
    return budget.hard_cuts(a, b)


def _pack(units: list[Span], budget: Budget) -> list[Span]:
    """Merge consecutive units while they fit the budget; the limit is hard, the minimum a preference."""
    packed: list[list[int]] = []
    for a, b in units:
        if packed and budget.size(packed[-1][0], b) <= budget.limit:
            packed[-1][1] = b
        else:
            packed.append([a, b])
    return [(a, b) for a, b in packed]


def _common(a: tuple[str, ...], b: tuple[str, ...]) -> tuple[str, ...]:
    prefix: list[str] = []
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        prefix.append(x)
    return tuple(prefix)


def _merge_small(spans: list[PathSpan], budget: Budget) -> list[PathSpan]:
    """Join a section under the minimum with its neighbour when both fit; the path is what they share."""
    merged: list[PathSpan] = []
    for a, b, path in spans:
        if merged:
            pa, _pb, ppath = merged[-1]
            small = budget.size(pa, a) < budget.minimum or budget.size(a, b) < budget.minimum
            if small and budget.size(pa, b) <= budget.limit:
                merged[-1] = (pa, b, _common(ppath, path))
                continue
        merged.append((a, b, path))
    return merged


# --- strategies ----------------------------------------------------------------------------------------


def _structured(text: str, budget: Budget, legal: bool) -> list[PathSpan]:
    paths = _paths(text, _outline(text, legal))
    spans: list[PathSpan] = []
    for a, b, path in _sections(text, paths):
        if legal:
            # whole articles are packed together; an article over the limit is packed on its own, so its
            # tail never shares a chunk with the next article
            packed: list[Span] = []
            whole: list[Span] = []
            for x, y in itertools.pairwise([a, *_article_cuts(text, a, b), b]):
                if budget.size(x, y) <= budget.limit:
                    whole.append((x, y))
                    continue
                packed.extend(_pack(whole, budget))
                whole = []
                packed.extend(_pack(_split(text, x, y, budget, _ARTICLE_LEVELS), budget))
            packed.extend(_pack(whole, budget))
        else:
            packed = _pack(_split(text, a, b, budget, RECURSIVE_LEVELS), budget)
        spans.extend((x, y, path) for x, y in packed)
    return _merge_small(spans, budget)


def _flat(text: str, budget: Budget, levels: list[Finder]) -> list[PathSpan]:
    paths = _paths(text, _outline(text, legal=False))
    if levels:
        pieces = _glue_headings(text, _split(text, 0, len(text), budget, levels), budget)
        packed = _headings_with_body(text, _pack(pieces, budget), budget)
    else:
        packed = budget.hard_cuts(0, len(text))
    return [(a, b, _path_at(paths, a)) for a, b in packed]


_TRAILING_HEADINGS = re.compile(r"(?:^#{1,6}[ \t][^\n]*(?:\n[ \t]*)*)+\Z", re.MULTILINE)


def _glue_headings(text: str, pieces: list[Span], budget: Budget) -> list[Span]:
    """A piece that is only headings becomes one unit with the piece after it, so packing cannot part them."""
    glued: list[Span] = []
    carry: int | None = None
    for a, b in pieces:
        start = a if carry is None else carry
        carry = None
        if _TRAILING_HEADINGS.fullmatch(text, a, b):
            carry = start
            continue
        if start != a and budget.size(start, b) > budget.limit:
            glued.append((start, a))  # heading and body do not fit together: keep them apart
            start = a
        glued.append((start, b))
    if carry is not None:
        glued.append((carry, pieces[-1][1]))
    return glued


def _headings_with_body(text: str, spans: list[Span], budget: Budget) -> list[Span]:
    """Move headings that end a chunk to the start of the next one, where their body is (if it fits)."""
    result = list(spans)
    for i in range(len(result) - 1):
        a, b = result[i]
        match = _TRAILING_HEADINGS.search(text, a, b)
        if match and match.start() > a and budget.size(match.start(), result[i + 1][1]) <= budget.limit:
            result[i] = (a, match.start())
            result[i + 1] = (match.start(), result[i + 1][1])
    return result


def _records(document: Document, budget: Budget) -> list[PathSpan]:
    text = document.text
    bounds = [*document.record_starts, len(text)]
    spans: list[PathSpan] = []
    for index, (a, b) in enumerate(itertools.pairwise(bounds)):
        start = 0 if index == 0 else a
        label = (document.record_labels[index],) if index < len(document.record_labels) else ()
        spans.extend((x, y, label) for x, y in _split(text, start, b, budget, RECURSIVE_LEVELS))
    return spans


def resolve_strategy(document: Document, settings: ChunkSettings, domain: str) -> str:
    """The strategy in force: ``auto`` becomes legal for law or text with statute articles, else heading."""
    if settings.strategy != "auto":
        return settings.strategy
    if domain == "law" or len(_ARTICLE.findall(document.text)) >= 3:
        return "legal"
    return "heading"


def overlap_reserve(settings: ChunkSettings) -> int:
    """Characters of each chunk kept free for the overlap: the limit is hard for the whole chunk, lead-in
    included, so spans are cut ``overlap`` shorter (at most half the limit, so a chunk is mostly its own)."""
    return min(settings.overlap_chars, settings.max_chars // 2)


def _budget(text: str, settings: ChunkSettings, strategy: str, tokenizer: Tokenizer | None, reserve: int) -> Budget:
    if strategy != "token":
        limit = settings.max_chars - reserve
        return Budget(limit, min(settings.min_chars, limit), ceiling=settings.max_chars)
    tokenizer = tokenizer or embedded_tokenizer(settings.tokenizer_model)
    ratio = settings.min_chars / settings.max_chars
    starts = tuple(tokenizer.token_starts(text))
    # the overlap is set in characters: reserve as many tokens as that many characters hold in this text
    reserve_tokens = min(math.ceil(reserve * len(starts) / max(len(text), 1)), settings.max_tokens // 2)
    limit = settings.max_tokens - reserve_tokens
    return Budget(limit, int(limit * ratio), starts, ceiling=settings.max_tokens)


def chunk_spans(
    document: Document, settings: ChunkSettings, domain: str = "general", tokenizer: Tokenizer | None = None
) -> list[PathSpan]:
    """Spans (start, end, heading path) that tile ``document.text`` exactly, by the chosen strategy."""
    return _plan(document, settings, domain, tokenizer)[0]


def _plan(
    document: Document, settings: ChunkSettings, domain: str, tokenizer: Tokenizer | None
) -> tuple[list[PathSpan], Budget]:
    """The spans and the budget they were cut to (which also bounds each chunk's overlap)."""
    text = document.text
    strategy = resolve_strategy(document, settings, domain)
    reserve = 0 if document.record_starts else overlap_reserve(settings)  # records carry no overlap
    budget = _budget(text, settings, strategy, tokenizer, reserve)
    if not text:
        return [], budget
    if document.record_starts:
        spans = _records(document, budget)
    elif strategy in ("legal", "heading"):
        spans = _structured(text, budget, legal=strategy == "legal")
    elif strategy == "recursive":
        spans = _flat(text, budget, RECURSIVE_LEVELS)
    elif strategy == "token":
        spans = _flat(text, budget, [_finder(sentences.PARAGRAPH), sentences.sentence_cuts, *RECURSIVE_LEVELS[3:]])
    else:
        spans = _flat(text, budget, [])
    return _absorb_blank(text, spans), budget


def _absorb_blank(text: str, spans: list[PathSpan]) -> list[PathSpan]:
    """A whitespace-only span joins its neighbour, so no chunk is empty and the tiling stays exact."""
    result: list[PathSpan] = []
    pending: int | None = None
    for a, b, path in spans:
        if not text[a:b].strip():
            if result:
                result[-1] = (result[-1][0], b, result[-1][2])
            elif pending is None:
                pending = a
            continue
        result.append((pending if pending is not None else a, b, path))
        pending = None
    return result


# --- chunks --------------------------------------------------------------------------------------------


def _overlap_start(text: str, previous_start: int, start: int, overlap: int, earliest: int = 0) -> int:
    """Where a chunk's repeated lead-in starts: at most ``overlap`` back and not before ``earliest`` (where the
    whole chunk would pass the limit), snapped to a sentence or word."""
    if overlap <= 0 or start <= previous_start or earliest >= start:
        return start
    begin = max(previous_start, start - overlap, earliest)
    for cut in sentences.sentence_cuts(text, begin - 1 if begin > 0 else begin, start):
        if cut >= begin:
            return cut
    space = text.find(" ", begin, start)
    return space + 1 if space != -1 and space + 1 < start else begin


def prepare(settings: ChunkSettings, tokenizer: Tokenizer | None = None) -> None:
    """Fail early, before any file is read, when the chosen strategy cannot run (e.g. no tokenizer)."""
    if settings.strategy == "token" and tokenizer is None:
        embedded_tokenizer(settings.tokenizer_model)


def chunk_document(
    document: Document,
    settings: ChunkSettings | None = None,
    domain: str = "general",
    tokenizer: Tokenizer | None = None,
) -> list[Chunk]:
    """Chunks of ``document``; minus their overlap they reassemble to its text. Ids are content hashes."""
    settings = settings or ChunkSettings()
    text = document.text
    chunks: list[Chunk] = []
    previous = 0
    overlap = 0 if document.record_starts else settings.overlap_chars  # records stand alone
    spans, budget = _plan(document, settings, domain, tokenizer)
    for a, b, path in spans:
        start = _overlap_start(text, previous, a, overlap, budget.earliest_start(b)) if chunks else a
        previous = a
        body = text[start:b]
        chunk_id = content_hash(document.source, str(start), body)
        first_page = document.page_of(start)
        last_page = document.page_of(max(start, b - 1))
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
                    char_start=start,
                    char_end=b,
                    heading_path=list(path),
                    chunk_id=chunk_id,
                    overlap_chars=a - start,
                ),
            )
        )
    return chunks


def reassemble(chunks: list[Chunk]) -> str:
    """The text the chunks came from: each chunk minus its overlap, in order (the lossless invariant)."""
    return "".join(c.text[c.provenance.overlap_chars :] for c in chunks)
