"""Locate an item's answer key in its chunk by code, and tell whether a claim is supported by the chunk.

A generator's quote is never taken on its word: it is searched for in the chunk, first exactly (ignoring
whitespace, width, case and quote marks), then sentence by sentence with a near match. A *claim* (an option
joined to its question, a true/false statement) counts as supported when its text occurs in the chunk, or
when one sentence of the chunk covers nearly all of it with the same numbers and the same negation: that is
how a distractor is shown to be wrong, and a "false" statement to be really false.

Quotes are located by the training samples' locator (``tools/generation/evidence.py``), one source of truth;
what is particular to items (one span per answer key, support of a claim) is here.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from ftds.tools.generation.evidence import locate_quote as locate_pieces
from ftds.tools.records import Chunk, EvidenceSpan

CLAIM_COVERAGE = 0.85
"""Least share of a claim's content units one chunk sentence must hold for the claim to count as supported."""

_SENTENCE_END = re.compile(r"[。；;！!？?\n]+|(?<=[a-z0-9\)])\.(?=\s)")
_DROP = set("\"'“”‘’「」『』《》*_#>`")
_NUMBER = re.compile(r"\d+(?:\.\d+)?|[零〇一二三四五六七八九十百千万亿两]+")
_NEGATION = re.compile(r"不|未|非|无|没有|禁止|不得|\bnot\b|\bno\b|\bnever\b|\bwithout\b|n't", re.IGNORECASE)


@dataclass(frozen=True)
class Folded:
    """Text with whitespace, quote marks and punctuation dropped, width and case folded, plus where each kept
    character came from (so a match maps back to chunk offsets)."""

    text: str
    offsets: list[int]


def fold(text: str) -> Folded:
    chars: list[str] = []
    offsets: list[int] = []
    for index, char in enumerate(text):
        for piece in unicodedata.normalize("NFKC", char).casefold():
            if piece.isspace() or piece in _DROP or unicodedata.category(piece).startswith("P"):
                continue
            chars.append(piece)
            offsets.append(index)
    return Folded("".join(chars), offsets)


def folded(text: str) -> str:
    return fold(text).text


def sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence or clause of ``text``; empty stretches left out."""
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        if text[start : match.end()].strip():
            spans.append((start, match.end()))
        start = match.end()
    if text[start:].strip():
        spans.append((start, len(text)))
    return spans


def _span(chunk: Chunk, start: int, end: int, match: str, score: float) -> EvidenceSpan:
    base = chunk.provenance.char_start
    return EvidenceSpan(
        char_start=base + start,
        char_end=base + end,
        text=chunk.text[start:end],
        match="exact" if match == "exact" else "near",
        score=round(min(1.0, max(0.0, score)), 3),
    )


def locate_quote(chunk: Chunk, quote: str) -> EvidenceSpan | None:
    """The span of ``chunk`` that ``quote`` copies, or None when nothing in the chunk is close enough.

    The training samples' locator (:func:`ftds.tools.generation.evidence.locate_quote`: the whole quote
    exactly, else each of its sentences exactly or nearly) does the search; an item's answer key wants one
    span, so the located pieces are joined into the stretch from the first to the last."""
    pieces = locate_pieces(chunk.text, quote) if len(folded(quote)) >= 2 else []
    if not pieces:
        return None
    exact = all(kind == "exact" for _, _, kind, _ in pieces)
    score = min(piece_score for _, _, _, piece_score in pieces)
    return _span(chunk, pieces[0][0], pieces[-1][1], "exact" if exact else "near", score)


def locate_support(chunk: Chunk, key: str, least: float) -> EvidenceSpan | None:
    """The run of one or two sentences of ``chunk`` that covers most of ``key`` (at least ``least`` of its
    content units): the evidence when the generator's quote could not be found. Located by code, from the
    answer key itself, so it is as trustworthy as a found quote; recorded as a near match with the coverage
    as its score."""
    spans = sentences(chunk.text)
    best: tuple[float, int, int] = (0.0, 0, 0)
    for i, (start, end) in enumerate(spans):
        for j in (i, i + 1):
            if j >= len(spans):
                continue
            share = coverage(key, chunk.text[start : spans[j][1]])
            shorter = j == i and share >= best[0]  # prefer one sentence when two add nothing
            if share > best[0] or (shorter and best[2] - best[1] > end - start):
                best = (share, start, spans[j][1] if j > i else end)
    if best[0] < least or best[0] == 0.0:
        return None
    return _span(chunk, best[1], best[2], "near", best[0])


def units(text: str) -> set[str]:
    """Content units: character bigrams for CJK text, words otherwise (what coverage is counted in)."""
    flat = folded(text)
    if re.search(r"[\u4e00-\u9fff]", flat):
        return {flat[i : i + 2] for i in range(len(flat) - 1)} or ({flat} if flat else set())
    return set(re.findall(r"[^\W_]+", unicodedata.normalize("NFKC", text).casefold()))


def coverage(claim: str, source: str) -> float:
    """Share of the claim's content units that occur in ``source``."""
    claim_units = units(claim)
    if not claim_units:
        return 0.0
    return len(claim_units & units(source)) / len(claim_units)


def numbers(text: str) -> set[str]:
    return set(_NUMBER.findall(unicodedata.normalize("NFKC", text)))


def negations(text: str) -> int:
    return len(_NEGATION.findall(text))


def claim_supported(claim: str, text: str) -> bool:
    """True when ``text`` (a chunk, or an evidence span) states ``claim``: the claim's folded text occurs in it,
    or one sentence (or two adjacent) covers at least :data:`CLAIM_COVERAGE` of the claim's content with the
    same numbers and the same count of negations. Used to show a distractor or a "false" statement is NOT
    supported, so when in doubt it says supported (the item is then dropped, never shipped wrong)."""
    target = folded(claim)
    if not target:
        return False
    if target in folded(text):
        return True
    claim_numbers, claim_negations = numbers(claim), negations(claim)
    spans = sentences(text)
    for i, (start, _end) in enumerate(spans):
        for j in (i, i + 1):
            if j >= len(spans):
                continue
            sentence = text[start : spans[j][1]]
            if (
                coverage(claim, sentence) >= CLAIM_COVERAGE
                and claim_numbers <= numbers(sentence)
                and negations(sentence) == claim_negations
            ):
                return True
    return False
