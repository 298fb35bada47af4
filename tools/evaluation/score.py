"""Score one reply of the model under test: exact match for choice and true/false items, accepted variants
for short answers; open items go to the judge (:mod:`.judge`).

Small and fine-tuned models rarely follow the requested answer format to the letter, so extraction reads
every common way of giving an answer: ``B``, ``答案：B``, ``答案是 B``, ``(B)``, ``B. text``, ``Answer: B``,
``The answer is B``, the full text of one option, ``AC`` / ``A、C`` / ``A and C`` for multiple answers,
``正确`` / ``错误`` / ``对`` / ``错`` / ``True`` / ``False`` / ``yes`` / ``no`` for true/false. A reply that names no
answer, or names several for a single-answer item, is scored wrong (with ``extracted`` empty), never guessed.
"""

from __future__ import annotations

import re

from ftds.tools.evaluation.evidence import folded
from ftds.tools.evaluation.items import (
    LETTERS,
    EvalItem,
    MultipleChoiceItem,
    ShortAnswerItem,
    SingleChoiceItem,
    TrueFalseItem,
)
from ftds.tools.generation.structured import split_think

_MARKER = r"(?:正确答案|最终答案|答案|选项|选择|应选|final answer|correct answer|the answer|answer|option)"
_LETTER_LIST = r"[A-J](?:\s*(?:[,，、/&]|and|和|与|及)?\s*[A-J])*"
_MARKED_LETTERS = re.compile(
    rf"{_MARKER}\s*(?:is|are|:|：|是|为|应为|应该是|选)?\s*[:：]?\s*[（(\[【]?\s*({_LETTER_LIST})\s*[)）\]】]?(?![A-Za-z])",
    re.IGNORECASE,
)
_BARE_LINE = re.compile(rf"^\s*[（(\[【]?\s*({_LETTER_LIST})\s*[)）\]】]?\s*[.。．]?\s*$", re.MULTILINE)
_PAREN = re.compile(r"[（(\[【]\s*([A-J])\s*[)）\]】]")
_LEADING = re.compile(r"^\s*([A-J])(?:\s*[.．、:：)）]|\s+|$)")
_TRUE_WORDS = ("正确", "对", "对的", "是", "是的", "true", "yes", "correct", "right")
_FALSE_WORDS = ("错误", "不正确", "不对", "错", "错的", "否", "false", "no", "incorrect", "wrong")
_MARKED_TRUTH = re.compile(
    r"(?:答案|判断|结论|answer|verdict)\s*(?:is|:|：|是|为)?\s*[:：]?\s*[“\"'（(]?\s*"
    r"(不正确|正确|错误|不对|对|错|是|否|true|false|yes|no|incorrect|correct|wrong|right)",
    re.IGNORECASE,
)
_MARKED_TEXT = re.compile(r"(?:答案|answer)\s*(?:is|:|：|是|为)\s*[:：]?\s*(.+)$", re.IGNORECASE | re.MULTILINE)
SHORT_SLACK = 12
"""A short answer may carry this many extra characters (a unit, a particle) and still count."""


def answer_text(reply: str) -> str:
    """The reply without a ``<think>`` block."""
    return split_think(reply)[0].strip()


def _letters_in(run: str, allowed: str) -> list[str]:
    """Letters of a matched run like ``AC``, ``A、C`` or ``A and C`` (the connector is not a letter)."""
    compact = re.sub(r"(?i:\band\b)|和|与|及|[,，、/&\s]", "", run)
    return sorted({c for c in compact.upper() if c in allowed})


def extract_letters(reply: str, options: list[str]) -> list[str]:
    """The option letters a reply chooses (sorted), or [] when it names none."""
    text = answer_text(reply)
    allowed = LETTERS[: len(options)]
    marked = _MARKED_LETTERS.findall(text)
    if marked:
        return _letters_in(marked[-1], allowed)
    bare = _BARE_LINE.findall(text)
    if bare:
        return _letters_in(bare[-1], allowed)
    parens = {p for p in _PAREN.findall(text) if p in allowed}
    if len(parens) == 1:
        return sorted(parens)
    leading = _LEADING.match(text)
    if leading and leading.group(1) in allowed:
        return [leading.group(1)]
    flat = folded(text)
    named = [LETTERS[i] for i, option in enumerate(options) if folded(option) and folded(option) in flat]
    # an option that is part of another named option does not count twice ("数据" inside "数据安全")
    named = [
        letter
        for letter in named
        if not any(
            other != letter and folded(options[LETTERS.index(letter)]) in folded(options[LETTERS.index(other)])
            for other in named
        )
    ]
    return named


def extract_truth(reply: str) -> bool | None:
    """True / False as the reply states it, or None when it does not say."""
    text = answer_text(reply)
    marked = _MARKED_TRUTH.findall(text)
    words = marked[-1:] if marked else []
    if not words:
        head = re.match(r"^\s*[“\"'（(]?\s*([^\s，,。.!！:：；;）)”\"']{1,12})", text)
        words = [head.group(1)] if head else []
    for word in words:
        lowered = word.lower().strip(".。!！,，")
        if lowered in _FALSE_WORDS or lowered.startswith(("不正确", "错误", "false", "incorrect", "wrong")):
            return False
        if lowered in _TRUE_WORDS or lowered.startswith(("正确", "true", "correct")):
            return True
    lowered = text.lower()
    says_false = any(w in lowered for w in ("错误", "不正确", "false", "incorrect"))
    says_true = (
        any(w in lowered.replace("不正确", "") for w in ("正确", "true", "correct")) and "incorrect" not in lowered
    )
    if says_true != says_false:
        return says_true
    return None


def extract_short(reply: str) -> str:
    """The answer part of a short-answer reply: after the last "答案：" / "Answer:", else the whole reply."""
    text = answer_text(reply)
    marked = _MARKED_TEXT.findall(text)
    return (marked[-1] if marked else text).strip().strip("。.！!\"'“”")


def short_matches(answer: str, variants: list[str]) -> bool:
    """An accepted variant equals the answer or sits inside it with little else around it."""
    flat = folded(answer)
    for variant in variants:
        target = folded(variant)
        if target and target in flat and len(flat) <= max(3 * len(target), len(target) + SHORT_SLACK):
            return True
    return False


def score_exact(item: EvalItem, reply: str) -> tuple[bool, str]:
    """(correct, what was extracted) for every item kind but ``open``."""
    if isinstance(item, SingleChoiceItem):
        letters = extract_letters(reply, item.options)
        return letters == [item.answer], "".join(letters)
    if isinstance(item, MultipleChoiceItem):
        letters = extract_letters(reply, item.options)
        return letters == item.answers, "".join(letters)
    if isinstance(item, TrueFalseItem):
        truth = extract_truth(reply)
        return truth is item.answer, "" if truth is None else str(truth).lower()
    if isinstance(item, ShortAnswerItem):
        answer = extract_short(reply)
        return short_matches(answer, item.variants), answer[:200]
    raise ValueError(f"{item.kind} items are judged, not matched")
