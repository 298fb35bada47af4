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
"""Most separate places taken as evidence for one answer: beyond that the answer is a summary, not a located
fact. Consecutive sentences (a list the answer copies in order) are one place, up to :data:`MAX_RUN`."""
MAX_RUN = 12
"""Most sentences in all taken as evidence for one answer."""

_SENTENCE_END = re.compile(
    r"[。；;！!？?]+"  # Chinese sentence and clause ends, and ; ! ? anywhere
    r"|\n\s*\n"  # a blank line (a Markdown paragraph); single newlines are hard wraps inside a sentence ...
    r"|\n(?=\s*(?:[#>*-]|\d+\.|[（(][一二三四五六七八九十\d]+[)）]|第.{1,8}条))"  # ... unless a heading, list or item
    r"|(?<=[a-z0-9\)])\.(?=\s)|……|…"
)


LIST_ITEM = re.compile(r"\s*(?:[（(][零〇一二两三四五六七八九十\d]+[)）]|\d+[.、]|[-*]\s)")
"""The start of a list item: （一）, (1), 1. / 1、, - or *."""


@dataclass(frozen=True)
class Normalised:
    """Text with whitespace dropped, width folded (NFKC) and case folded, plus where each kept character was."""

    text: str
    offsets: list[int]

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Original (start, end) of the normalised slice [start, end)."""
        return self.offsets[start], self.offsets[end - 1] + 1


def compact(text: str) -> str:
    """``text`` without punctuation, spaces or letter case: what "the same words" compares."""
    return re.sub(r"\W+", "", text).lower()


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


EN_NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
    "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17,
    "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
    "seventy": 70, "eighty": 80, "ninety": 90, "hundred": 100, "thousand": 1000, "first": 1, "second": 2,
    "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8, "ninth": 9, "tenth": 10,
    "half": 0.5, "two-thirds": 2 / 3, "three-fourths": 3 / 4,
}  # fmt: skip
"""English number words and their values: statutes spell numbers out ("the Age of thirty five Years"), answers
write digits ("35 years"); both sides are compared as values."""
_TENS = "twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety"
_UNITS_WORDS = "one|two|three|four|five|six|seven|eight|nine"
_EN_COMPOUND = re.compile(rf"\b({_TENS})[\s-]+({_UNITS_WORDS})\b", re.IGNORECASE)
EN_NUMBER_WORD = re.compile(r"\b(" + "|".join(sorted(EN_NUMBER_WORDS, key=len, reverse=True)) + r")\b", re.IGNORECASE)


def digits_for_number_words(text: str) -> str:
    """ "thirty five Years" -> "35 Years", "two-thirds" -> "0.666667" (values as a comparison sees them)."""

    def compound(match: re.Match[str]) -> str:
        return str(int(EN_NUMBER_WORDS[match.group(1).lower()] + EN_NUMBER_WORDS[match.group(2).lower()]))

    def single(match: re.Match[str]) -> str:
        value = EN_NUMBER_WORDS[match.group(1).lower()]
        return str(int(value)) if float(value).is_integer() else f"{value:g}"

    return EN_NUMBER_WORD.sub(single, _EN_COMPOUND.sub(compound, text))


def content_units(text: str) -> set[str]:
    """The answer-comparison units: character bigrams of CJK text, lower-case words (and numbers, English
    number words read as digits) otherwise."""
    folded = digits_for_number_words(unicodedata.normalize("NFKC", text)).lower()
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


def coverage(answer: str, evidence: str, question: str = "") -> float:
    """Share of the answer's content units found in ``evidence`` (English stop words left out). With
    ``question``, only what the answer adds to it counts ("The minimum age required to be eligible to run for
    President is 35 years old" is supported by "the Age of thirty five Years"), unless it adds fewer than
    :data:`MIN_ADDED_UNITS` units (an answer that restates its question is measured whole)."""
    wanted = _wanted_units(answer, question)
    if not wanted:
        return 0.0
    return len(wanted & content_units(evidence)) / len(wanted)


MIN_ADDED_UNITS = 2


def _wanted_units(answer: str, question: str = "") -> set[str]:
    wanted = {u for u in content_units(answer) if u not in EN_STOP_WORDS}
    added = wanted - content_units(question) if question else wanted
    return added if len(added) >= MIN_ADDED_UNITS else wanted


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


def align_answer(chunk_text: str, answer: str, question: str = "") -> list[tuple[int, int, str, float]]:
    """The chunk sentences that together cover most of ``answer``: greedy, each one adding new support, in at
    most :data:`MAX_SENTENCES` separate places (a run of consecutive sentences is one place). Used when there
    is no quote, or the quote does not support the answer."""
    wanted = _wanted_units(answer, question)
    if not wanted:
        return []
    spans = sentences(chunk_text)
    candidates = [(n, content_units(chunk_text[a:b])) for n, (a, b) in enumerate(spans)]
    chosen: set[int] = set()
    covered: set[str] = set()

    def enough(candidate: tuple[int, set[str]]) -> bool:
        """Adds support: any, for the first sentence; else at least a few units, and a real share of the answer
        unless it is the next item of a list already taken (a list the answer copies in order)."""
        gain = len((candidate[1] & wanted) - covered)
        if not chosen:
            return gain > 0
        n = candidate[0]
        next_item = (n - 1 in chosen or n + 1 in chosen) and LIST_ITEM.match(chunk_text[spans[n][0] : spans[n][1]])
        return gain >= (3 if next_item else max(3, 0.1 * len(wanted)))

    asked = content_units(question) if question else set()
    while len(chosen) < MAX_RUN:
        # beyond MAX_SENTENCES places only a sentence next to a chosen one (a longer run) can join
        eligible = [c for c in candidates if _places(chosen | {c[0]}) <= MAX_SENTENCES and enough(c)]
        if not eligible:
            break
        # of sentences adding as much, the one sharing most with the question: "公司登记机关" answers "公司在进行
        # 清算时，隐匿财产……由谁处罚" in the article about hiding assets, not in the one before it
        best = max(eligible, key=lambda c: (len((c[1] & wanted) - covered), len(c[1] & asked)))
        chosen.add(best[0])
        covered |= best[1] & wanted
        candidates.remove(best)
    score = round(len(covered) / len(wanted), 4)
    return _merge([(*_joined(spans, run), "near", score) for run in _runs(chosen)])


def _runs(indices: set[int]) -> list[list[int]]:
    runs: list[list[int]] = []
    for n in sorted(indices):
        if runs and n == runs[-1][-1] + 1:
            runs[-1].append(n)
        else:
            runs.append([n])
    return runs


def _places(indices: set[int]) -> int:
    return len(_runs(indices))


def _joined(spans: list[tuple[int, int]], run: list[int]) -> tuple[int, int]:
    return spans[run[0]][0], spans[run[-1]][1]


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


def locate_evidence(chunk: Chunk, quote: str | list[str], answer: str, question: str = "") -> list[EvidenceSpan]:
    """The evidence for ``answer`` in ``chunk``: the located ``quote`` when it supports the answer (covers
    :data:`MIN_COVERAGE` of it), else the chunk sentences that cover the answer best, else nothing.

    An empty list means the answer's support could not be found in the chunk; such a sample is not accepted."""
    quotes = [quote] if isinstance(quote, str) else quote
    found: list[tuple[int, int, str, float]] = []
    for one in quotes:
        if one.strip():
            found.extend(locate_quote(chunk.text, one))
    found = _merge(found)
    if found and coverage(answer, "\n".join(chunk.text[a:b] for a, b, _, _ in found), question) >= MIN_COVERAGE:
        return to_spans(chunk, found)
    aligned = align_answer(chunk.text, answer, question)
    if aligned and coverage(answer, "\n".join(chunk.text[a:b] for a, b, _, _ in aligned), question) >= MIN_COVERAGE:
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
