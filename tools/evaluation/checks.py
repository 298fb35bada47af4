"""Mechanical checks on evaluation items: a wrong answer key or a distractor that is secretly right would
make the evaluation measure the set's errors, not the model.

Per item (:func:`vet_item`):

- ``answer_key``: the evidence quote is located in the chunk and the correct answer is in it (choice options
  and short answers literally or nearly so; open reference answers by content coverage); a "true" statement
  is supported by the chunk, a "false" one is not, yet its evidence (the sentence it distorts) is located.
- ``distractors``: every wrong option is plausible (not empty, not generic like "all of the above", of a
  length comparable to the key, no repeat of another option) and verifiably wrong: it does not occur in the
  evidence that holds the key, and as a claim it is not supported anywhere in the chunk. Failing distractors
  are dropped and the options re-lettered; an item left with too few is rejected.

Per set: :func:`balance_true_false` (as many true as false statements) and :func:`difficulty_spread`.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Sequence

from ftds.tools.evaluation.evidence import claim_supported, coverage, folded, locate_quote, locate_support
from ftds.tools.evaluation.items import (
    DIFFICULTIES,
    LETTERS,
    EvalItem,
    MultipleChoiceItem,
    OpenItem,
    ShortAnswerItem,
    SingleChoiceItem,
    TrueFalseItem,
)
from ftds.tools.reasons import Reason
from ftds.tools.records import CheckResult, Chunk, Rejection

ANSWER_KEY, DISTRACTORS, BALANCE, SPREAD = "answer_key", "distractors", "true_false_balance", "difficulty_spread"
KEY_COVERAGE = 0.6
"""Least share of a choice key's / short answer's content the evidence must hold when it is not literal."""
OPEN_COVERAGE = 0.4
"""Least share of an open question's reference answer the evidence must hold (answers paraphrase)."""
FALSE_RELATED = 0.4
"""Least share of a false statement's content its evidence must hold: it must be about that sentence."""
LENGTH_RATIO = 4.0
"""A distractor more than this many times longer or shorter than the key stands out (implausible)."""
SHORT_OPTION = 4
"""Options this short (a number, a date, a name) are not compared by length."""
MIN_SINGLE_OPTIONS, MIN_MULTI_OPTIONS = 3, 3
MAX_SHARE = 0.6
"""Most of a set (of at least :data:`SPREAD_MIN_ITEMS`) one difficulty level may hold."""
SPREAD_MIN_ITEMS = 6

_GENERIC = re.compile(
    r"^(以上(都|均|全)(对|不对|正确|错误|不是|是)|都(对|不对)|皆非|无法确定|"
    r"all of the above|none of the above|both .* and .*|cannot be determined|not stated)$",
    re.IGNORECASE,
)


def _result(name: str, problems: list[str], detail_ok: str = "") -> CheckResult:
    return CheckResult(name=name, passed=not problems, detail="; ".join(problems) or detail_ok)


def key_text(item: EvalItem) -> str:
    """What the source must hold for the item's key to be right: the correct options, the statement, the short
    answer, the reference answer."""
    if isinstance(item, SingleChoiceItem):
        return item.options[LETTERS.index(item.answer)]
    if isinstance(item, MultipleChoiceItem):
        return "；".join(item.options[LETTERS.index(letter)] for letter in item.answers)
    if isinstance(item, TrueFalseItem):
        return item.question
    if isinstance(item, ShortAnswerItem):
        return item.answer
    return item.reference_answer


def _key_in(key: str, text: str) -> bool:
    return bool(folded(key)) and (folded(key) in folded(text) or coverage(key, text) >= KEY_COVERAGE)


def check_answer_key(item: EvalItem, chunk: Chunk, quote: str) -> CheckResult:
    """Locate ``quote`` in the chunk (stored on ``item.evidence``) and check the key is held by it."""
    span = locate_quote(chunk, quote) if quote.strip() else None
    if span is None:  # no usable quote: locate the key itself (a small model often garbles its quote)
        least = OPEN_COVERAGE if isinstance(item, OpenItem) else KEY_COVERAGE
        span = locate_support(chunk, key_text(item), least)
    item.evidence = [span] if span is not None else []
    if span is None:
        return CheckResult(
            name=ANSWER_KEY,
            passed=False,
            detail="neither the evidence quote nor the answer key was found in the source",
        )
    evidence = span.text
    problems: list[str] = []
    if isinstance(item, SingleChoiceItem | MultipleChoiceItem):
        keys = [item.answer] if isinstance(item, SingleChoiceItem) else item.answers
        for letter in keys:
            option = item.options[LETTERS.index(letter)]
            if not _key_in(option, evidence):
                problems.append(f"key {letter} ({option[:40]}) is not in the evidence")
    elif isinstance(item, TrueFalseItem):
        if item.answer and not claim_supported(item.question, chunk.text):
            problems.append("a 'true' statement the source does not support")
        if not item.answer:
            if claim_supported(item.question, chunk.text):
                problems.append("a 'false' statement the source actually supports")
            elif coverage(item.question, evidence) < FALSE_RELATED:
                problems.append("a 'false' statement unrelated to its evidence")
    elif isinstance(item, ShortAnswerItem):
        if any(len(folded(v)) >= 2 and folded(v) in folded(item.question) for v in item.variants):
            problems.append("the question already contains its answer")
        if not any(_key_in(variant, evidence) or folded(variant) in folded(chunk.text) for variant in item.variants):
            problems.append("no accepted answer occurs in the evidence or the source")
    elif (
        isinstance(item, OpenItem)
        and max(coverage(item.reference_answer, evidence), coverage(item.reference_answer, chunk.text)) < OPEN_COVERAGE
    ):
        problems.append("the reference answer is not supported by the source")
    return _result(ANSWER_KEY, problems, f"{span.match} {span.char_start}-{span.char_end}")


def distractor_problem(option: str, item: SingleChoiceItem | MultipleChoiceItem, chunk: Chunk) -> str | None:
    """Why a wrong option is not a fair distractor, or None when it is plausible and verifiably wrong."""
    text = option.strip()
    if not text:
        return "empty"
    if _GENERIC.match(text):
        return "generic"
    keys = [item.answer] if isinstance(item, SingleChoiceItem) else item.answers
    key_lengths = [len(item.options[LETTERS.index(k)].strip()) for k in keys]
    longest, shortest = max(key_lengths), min(key_lengths)
    if max(len(text), longest) > SHORT_OPTION and (
        len(text) > LENGTH_RATIO * max(longest, 1) or LENGTH_RATIO * len(text) < shortest
    ):
        return "implausible length"
    evidence = " ".join(span.text for span in item.evidence)
    if evidence and folded(text) in folded(evidence):
        return "occurs in the evidence that holds the key"
    if len(folded(text)) > SHORT_OPTION * 2 and claim_supported(text, chunk.text):
        return "supported by the source"
    return None


def check_distractors(
    item: SingleChoiceItem | MultipleChoiceItem, chunk: Chunk
) -> tuple[SingleChoiceItem | MultipleChoiceItem | None, CheckResult]:
    """Drop unfair distractors and re-letter the options; None when too few remain."""
    keys = {item.answer} if isinstance(item, SingleChoiceItem) else set(item.answers)
    seen: set[str] = set()
    kept: list[tuple[str, bool]] = []  # (option, is key)
    problems: list[str] = []
    for index, option in enumerate(item.options):
        letter = LETTERS[index]
        flat = folded(option)
        if flat in seen:
            problems.append(f"{letter}: repeats another option")
            continue
        seen.add(flat)
        if letter in keys:
            kept.append((option, True))
            continue
        problem = distractor_problem(option, item, chunk)
        if problem:
            problems.append(f"{letter}: {problem}")
        else:
            kept.append((option, False))
    wrong = sum(1 for _, key in kept if not key)
    needed = MIN_SINGLE_OPTIONS if isinstance(item, SingleChoiceItem) else MIN_MULTI_OPTIONS
    if len(kept) < needed or wrong == 0 or not any(key for _, key in kept):
        detail = "; ".join(problems) or "too few options"
        return None, CheckResult(name=DISTRACTORS, passed=False, detail=detail)
    options = [text for text, _ in kept]
    letters = [LETTERS[i] for i, (_, key) in enumerate(kept) if key]
    fixed = item.model_copy(update={"options": options})
    if isinstance(fixed, SingleChoiceItem):
        fixed.answer = letters[0]
    else:
        fixed.answers = letters
    detail = ("dropped " + "; ".join(problems)) if problems else f"{wrong} distractors verified wrong"
    return fixed, CheckResult(name=DISTRACTORS, passed=True, detail=detail)


def vet_item(item: EvalItem, chunk: Chunk, quote: str) -> tuple[EvalItem, Rejection | None]:
    """Run the per-item checks; the (possibly re-lettered) item and the rejection, if any, with the checks
    recorded on the item either way."""
    key = check_answer_key(item, chunk, quote)
    item.checks.append(key)
    if not key.passed:
        return item, Rejection(reason=Reason.EVAL_ANSWER_KEY, detail=key.detail)
    if isinstance(item, SingleChoiceItem | MultipleChoiceItem):
        fixed, result = check_distractors(item, chunk)
        item.checks.append(result)
        if fixed is None:
            return item, Rejection(reason=Reason.EVAL_DISTRACTORS, detail=result.detail)
        return fixed, None
    return item, None


def balance_true_false(items: Sequence[EvalItem], seed: int = 0) -> tuple[list[EvalItem], list[EvalItem]]:
    """(kept, surplus): true and false statements in equal numbers (the surplus of the larger side is dropped,
    chosen at random with ``seed``), so always answering "true" scores 50%, not more. Other kinds are kept."""
    trues = [i for i in items if isinstance(i, TrueFalseItem) and i.answer]
    falses = [i for i in items if isinstance(i, TrueFalseItem) and not i.answer]
    larger, smaller = (trues, falses) if len(trues) > len(falses) else (falses, trues)
    rng = random.Random(seed)
    surplus_ids = {i.item_id for i in rng.sample(larger, len(larger) - len(smaller))}
    kept = [i for i in items if i.item_id not in surplus_ids]
    surplus = [i for i in items if i.item_id in surplus_ids]
    for item in surplus:
        item.checks.append(CheckResult(name=BALANCE, passed=False, detail="surplus of one truth value"))
        detail = f"{len(trues)} true vs {len(falses)} false"
        item.rejection = Rejection(reason=Reason.EVAL_TRUE_FALSE_SURPLUS, detail=detail)
    return kept, surplus


def difficulty_spread(items: Sequence[EvalItem]) -> tuple[dict[str, int], CheckResult]:
    """Items per difficulty, and whether the set is spread: with at least :data:`SPREAD_MIN_ITEMS` items no
    level may hold more than :data:`MAX_SHARE` of them and every level must be present."""
    counts = Counter(item.difficulty for item in items)
    table: dict[str, int] = {level: counts.get(level, 0) for level in DIFFICULTIES}
    problems: list[str] = []
    if len(items) >= SPREAD_MIN_ITEMS:
        problems += [f"no {level} items" for level, n in table.items() if n == 0]
        problems += [
            f"{level} holds {n}/{len(items)} (> {MAX_SHARE:.0%})"
            for level, n in table.items()
            if n > MAX_SHARE * len(items)
        ]
    detail = ", ".join(f"{k} {v}" for k, v in table.items())
    return table, CheckResult(name=SPREAD, passed=not problems, detail="; ".join(problems) or detail)
