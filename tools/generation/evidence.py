"""Locate, by code, the span(s) of a chunk that support an answer: the evidence every accepted sample carries.

A model's quote is never taken on its word. A quote (the generator's one-pass ``evidence`` field, or the
round-trip call's quotes) is searched for in the chunk: first exactly (ignoring whitespace, width and case),
then sentence by sentence with a near match (a small model drops or changes a character or two when it
copies). When there is no usable quote — pairs written elsewhere, or a quote that does not support the
answer — the chunk's sentences that best cover the answer are taken instead. Offsets are into the cleaned
document text: ``chunk.provenance.char_start`` + the offset in the chunk, like :class:`Provenance`.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from difflib import SequenceMatcher

from ftds.tools.records import Chunk, EvidenceSpan

NEAR_MATCH = 0.8
"""Least similarity of a quoted sentence to a sentence of the chunk for a near match."""
MIN_COVERAGE = 0.6
"""Least share of the answer's content (bigrams / words) the evidence must hold for it to support the answer."""
MAX_SENTENCES = 4
"""Most sentences taken as evidence for one answer: beyond that the answer is a summary, not a located fact."""

_SENTENCE_END = re.compile(
    r"[。；;！!？?]+"  # Chinese sentence and clause ends, and ; ! ? anywhere
    r"|\n\s*\n"  # a blank line (a Markdown paragraph); single newlines are hard wraps inside a sentence ...
    r"|\n(?=\s*(?:[#>*-]|\d+\.|[（(][一二三四五六七八九十\d]+[)）]|第.{1,8}条))"  # ... unless a heading, list or item
    r"|(?<=[a-z0-9\)])\.(?=\s)|……|…"
)


@dataclass(frozen=True)
class Normalised:
    """Text with whitespace dropped, width folded (NFKC) and case folded, plus where each kept character was."""

    text: str
    offsets: list[int]

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Original (start, end) of the normalised slice [start, end)."""
        return self.offsets[start], self.offsets[end - 1] + 1


def normalise(text: str) -> Normalised:
    chars: list[str] = []
    offsets: list[int] = []
    for index, char in enumerate(text):
        folded = unicodedata.normalize("NFKC", char).lower()
        for piece in folded:
            if piece.isspace() or piece in "\"'“”‘’「」『』*_#>`":
                continue
            chars.append(piece)
            offsets.append(index)
    return Normalised("".join(chars), offsets)


def sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence or clause of ``text`` ending at 。；！？, a newline or an English full
    stop; empty stretches are left out."""
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        end = match.end()
        if text[start:end].strip(" \t\n。；;！!？?.…"):
            spans.append((start, end))
        start = end
    if text[start:].strip():
        spans.append((start, len(text)))
    return [_trim(text, a, b) for a, b in spans]


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def content_units(text: str) -> set[str]:
    """The answer-comparison units: character bigrams of CJK text, lower-case words (and numbers) otherwise."""
    folded = unicodedata.normalize("NFKC", text).lower()
    units = set(re.findall(r"[a-z0-9]+", folded))
    for run in re.findall(r"[\u3400-\u9fff]+", folded):
        if len(run) == 1:
            units.add(run)
        units.update(run[i : i + 2] for i in range(len(run) - 1))
    return units


EN_STOP_WORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "to",
        "in",
        "on",
        "for",
        "by",
        "and",
        "or",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "shall",
        "may",
        "must",
        "not",
        "no",
        "any",
        "with",
        "as",
        "at",
        "its",
        "it",
        "this",
        "that",
        "which",
        "who",
        "whom",
        "from",
        "under",
        "such",
        "other",
        "than",
        "into",
        "upon",
        "each",
    ]
)
"""English function words: left out of answer coverage here, and of question terms in checks.py."""


def coverage(answer: str, evidence: str) -> float:
    """Share of the answer's content units found in ``evidence`` (English stop words left out)."""
    wanted = {u for u in content_units(answer) if u not in EN_STOP_WORDS}
    if not wanted:
        return 0.0
    return len(wanted & content_units(evidence)) / len(wanted)


def _find_exact(chunk_text: str, quote: str) -> tuple[int, int] | None:
    haystack, needle = normalise(chunk_text), normalise(quote).text
    if not needle:
        return None
    position = haystack.text.find(needle)
    if position < 0:
        return None
    return haystack.span(position, position + len(needle))


def _find_near(chunk_text: str, piece: str, chunk_sentences: list[tuple[int, int]]) -> tuple[int, int, float] | None:
    """The chunk sentence (or run of two) most like ``piece``, when similar enough."""
    needle = normalise(piece).text
    if len(needle) < 4:
        return None
    best: tuple[int, int, float] | None = None
    for i, (a, _end) in enumerate(chunk_sentences):
        for j in (i, i + 1):
            if j >= len(chunk_sentences):
                continue
            end = chunk_sentences[j][1]
            candidate = normalise(chunk_text[a:end]).text
            matcher = SequenceMatcher(None, needle, candidate, autojunk=False)
            if matcher.real_quick_ratio() < NEAR_MATCH or matcher.quick_ratio() < NEAR_MATCH:
                continue
            ratio = matcher.ratio()
            if ratio >= NEAR_MATCH and (best is None or ratio > best[2]):
                best = (a, end, ratio)
    return best


def locate_quote(chunk_text: str, quote: str) -> list[tuple[int, int, str, float]]:
    """Where ``quote`` is in ``chunk_text``: (start, end, 'exact'|'near', score) per located piece.

    The whole quote is tried first; else each of its sentences on its own (a quote may join two places of
    the chunk, or carry an ellipsis). Pieces that are found nowhere are dropped: the caller decides whether
    what was found supports the answer."""
    whole = _find_exact(chunk_text, quote)
    if whole is not None:
        return [(whole[0], whole[1], "exact", 1.0)]
    chunk_sentences = sentences(chunk_text)
    found: list[tuple[int, int, str, float]] = []
    for a, b in sentences(quote):
        piece = quote[a:b]
        exact = _find_exact(chunk_text, piece) if len(normalise(piece).text) >= 4 else None
        if exact is not None:
            found.append((exact[0], exact[1], "exact", 1.0))
        elif (near := _find_near(chunk_text, piece, chunk_sentences)) is not None:
            found.append((near[0], near[1], "near", round(near[2], 4)))
    return _merge(found)


def _merge(found: list[tuple[int, int, str, float]]) -> list[tuple[int, int, str, float]]:
    merged: list[tuple[int, int, str, float]] = []
    for start, end, kind, score in sorted(found):
        if merged and start <= merged[-1][1]:
            last = merged[-1]
            kind = "exact" if kind == last[2] == "exact" else "near"
            merged[-1] = (last[0], max(last[1], end), kind, min(last[3], score))
        else:
            merged.append((start, end, kind, score))
    return merged


def align_answer(chunk_text: str, answer: str) -> list[tuple[int, int, str, float]]:
    """The chunk sentences that together cover most of ``answer``: greedy, at most :data:`MAX_SENTENCES`,
    each one adding new support. Used when there is no quote, or the quote does not support the answer."""
    wanted = {u for u in content_units(answer) if u not in EN_STOP_WORDS}
    if not wanted:
        return []
    candidates = [(a, b, content_units(chunk_text[a:b])) for a, b in sentences(chunk_text)]
    chosen: list[tuple[int, int]] = []
    covered: set[str] = set()
    for _ in range(MAX_SENTENCES):
        best = max(candidates, key=lambda c: len((c[2] & wanted) - covered), default=None)
        if best is None:
            break
        gain = (best[2] & wanted) - covered
        # a sentence adding only a unit or two is noise, not support, once something has been found
        if not gain or (chosen and len(gain) < max(3, 0.1 * len(wanted))):
            break
        chosen.append((best[0], best[1]))
        covered |= gain
        candidates.remove(best)
    score = round(len(covered) / len(wanted), 4)
    return _merge([(a, b, "near", score) for a, b in chosen])


def to_spans(chunk: Chunk, found: list[tuple[int, int, str, float]]) -> list[EvidenceSpan]:
    """Chunk-relative pieces -> :class:`EvidenceSpan` with document offsets and the chunk's text at them."""
    base = chunk.provenance.char_start
    return [
        EvidenceSpan(
            char_start=base + start,
            char_end=base + end,
            text=chunk.text[start:end],
            match="exact" if kind == "exact" else "near",
            score=score,
        )
        for start, end, kind, score in found
    ]


def evidence_text(spans: list[EvidenceSpan]) -> str:
    return "\n".join(span.text for span in spans)


def locate_evidence(chunk: Chunk, quote: str | list[str], answer: str) -> list[EvidenceSpan]:
    """The evidence for ``answer`` in ``chunk``: the located ``quote`` when it supports the answer (covers
    :data:`MIN_COVERAGE` of it), else the chunk sentences that cover the answer best, else nothing.

    An empty list means the answer's support could not be found in the chunk; such a sample is not accepted."""
    quotes = [quote] if isinstance(quote, str) else quote
    found: list[tuple[int, int, str, float]] = []
    for one in quotes:
        if one.strip():
            found.extend(locate_quote(chunk.text, one))
    found = _merge(found)
    if found and coverage(answer, "\n".join(chunk.text[a:b] for a, b, _, _ in found)) >= MIN_COVERAGE:
        return to_spans(chunk, found)
    aligned = align_answer(chunk.text, answer)
    if aligned and coverage(answer, "\n".join(chunk.text[a:b] for a, b, _, _ in aligned)) >= MIN_COVERAGE:
        return to_spans(chunk, aligned)
    return []


def spans_overlap(first: list[EvidenceSpan], second: list[EvidenceSpan]) -> float:
    """Share of the shorter side's characters that the two span lists have in common (0 when either is empty)."""

    def chars(spans: list[EvidenceSpan]) -> set[int]:
        return {i for span in spans for i in range(span.char_start, span.char_end)}

    a, b = chars(first), chars(second)
    if not a or not b:
        return 0.0
    return len(a & b) / min(len(a), len(b))
