"""Generate evaluation items from one chunk: one structured call per item family, every draft vetted by code.

Families: choice (single and multiple answer in one call), true/false, short answer, open question. Each
draft becomes an item only after :func:`ftds.tools.evaluation.checks.vet_item` located its answer key in the
chunk and verified its distractors; everything else is returned as an :class:`ItemOutcome` (``rejected``
with the item's JSON in ``detail`` so it can be rescued, or ``failed`` for a call that gave nothing usable).

:func:`generate_eval_items` is the entry point with a stable signature; the task table registers it as the
``eval`` task.
"""

from __future__ import annotations

import asyncio
import functools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from ftds.tools.config import BuildSettings, EvaluationSettings
from ftds.tools.evaluation.checks import vet_item
from ftds.tools.evaluation.items import (
    DIFFICULTIES,
    ITEM_KINDS,
    LETTERS,
    Difficulty,
    EvalItem,
    EvalItemBase,
    ItemKind,
    MultipleChoiceItem,
    OpenItem,
    ShortAnswerItem,
    SingleChoiceItem,
    TrueFalseItem,
    parse_item,
)
from ftds.tools.generation.generate import (
    PromptContext,
    call_structured,
    chunk_language,
    exact_items_schema,
    prompt_context,
)
from ftds.tools.llm.base import ChatModel
from ftds.tools.reasons import Reason, Stage, call_failure
from ftds.tools.records import Chunk, ItemOutcome

# ------------------------------------------------------------------------------------------ what the model writes


class ChoiceDraft(BaseModel):
    question: str
    options: list[str]
    answers: list[str] = Field(description="Letters of the correct options.")
    difficulty: str = "medium"
    evidence: str = ""


class ChoiceDrafts(BaseModel):
    choice_items: list[ChoiceDraft]


class StatementDraft(BaseModel):
    statement: str
    answer: bool
    difficulty: str = "medium"
    evidence: str = ""


class StatementDrafts(BaseModel):
    statements: list[StatementDraft]


class ShortDraft(BaseModel):
    question: str
    answer: str
    accepted: list[str] = Field(default_factory=list)
    difficulty: str = "medium"
    evidence: str = ""


class ShortDrafts(BaseModel):
    short_items: list[ShortDraft]


class OpenDraft(BaseModel):
    question: str
    reference_answer: str
    rubric: list[str]
    difficulty: str = "medium"
    evidence: str = ""


class OpenDrafts(BaseModel):
    open_items: list[OpenDraft]


# ------------------------------------------------------------------------------------------------- shared steps


@dataclass
class FamilyResult:
    """Accepted items and the outcome of everything else one family call produced."""

    items: list[EvalItem] = field(default_factory=list)
    outcomes: list[ItemOutcome] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)


def label_for(chunk: Chunk) -> str:
    """The section a chunk belongs to (the chapter under the document title), used as the item's label so the
    report can break scores down by topic."""
    path = chunk.provenance.heading_path
    if len(path) > 1:
        return path[1]
    if path:
        return path[0]
    return Path(chunk.provenance.source).stem


def _difficulty(value: str) -> Difficulty:
    lowered = value.strip().lower()
    aliases = {"易": "easy", "简单": "easy", "中": "medium", "中等": "medium", "难": "hard", "困难": "hard"}
    lowered = aliases.get(lowered, lowered)
    for level in DIFFICULTIES:
        if lowered == level:
            return level
    return "medium"


_LETTER_RUN = re.compile(r"^[（(]?([A-Ja-j]+)[)）]?$")
_LETTER_HEAD = re.compile(r"^[（(]?([A-Ja-j])[)）.．、:：\s]")


def _letters(raw: Sequence[str], options: Sequence[str]) -> list[str]:
    """``["B"]``, ``["b. text"]``, ``["AC"]``, or an option's own text -> sorted unique letters."""
    found: set[str] = set()
    for value in raw:
        head = value.strip()
        if run := _LETTER_RUN.match(head):
            found.update(run.group(1).upper())
        elif lead := _LETTER_HEAD.match(head):
            found.add(lead.group(1).upper())
        elif head in options and (index := list(options).index(head)) < len(LETTERS):
            found.add(LETTERS[index])  # an option past the last letter cannot be an answer key: left out
    return sorted(found)


_OPTION_PREFIX = re.compile(r"^\s*[（(]?[A-Ja-j][)）.．、:]\s*")


def _clean_option(text: str) -> str:
    """Models often repeat the letter inside the option text ("B. 三十日"): the export adds letters itself."""
    return _OPTION_PREFIX.sub("", text).strip()


def _common(chunk: Chunk, llm: ChatModel, settings: BuildSettings, ctx: PromptContext) -> dict[str, Any]:
    return {
        "label": label_for(chunk),
        "domain": settings.domain,
        "language": ctx.language,
        "provenance": chunk.provenance,
        "model": llm.label,
        "prompt_version": ctx.template.version,
    }


def _rejected(item_id: str, reason: str, detail: str) -> ItemOutcome:
    return ItemOutcome(item_id=item_id, kind="sample", status="rejected", reason=reason, detail=detail)


def _finish(result: FamilyResult, chunk: Chunk, build: Callable[[], EvalItem], quote: str) -> None:
    """Build the item (``build()`` may raise a validation error), vet it and file it as accepted or rejected;
    a draft repeating an earlier one of the same call is a duplicate."""
    try:
        item: EvalItem = build()
    except (ValidationError, ValueError, IndexError) as exc:
        result.outcomes.append(_rejected(f"{chunk.chunk_id}:draft", Reason.EVAL_INVALID_DRAFT, str(exc)[:500]))
        return
    if item.item_id in result.seen:
        result.outcomes.append(_rejected(item.item_id, Reason.EVAL_REPEATED_DRAFT, item.model_dump_json()))
        return
    result.seen.add(item.item_id)
    item, rejection = vet_item(item, chunk, quote)
    if rejection is not None:
        item.rejection = rejection
        result.outcomes.append(_rejected(item.item_id, rejection.reason, item.model_dump_json()))
    else:
        result.items.append(item)


def _failed(chunk: Chunk, family: str, reason: str, detail: str) -> ItemOutcome:
    """A family call that gave nothing usable: ``eval:`` + the call failure, the family named in the detail."""
    return ItemOutcome(
        item_id=chunk.chunk_id,
        kind="chunk",
        status="failed",
        reason=call_failure(Stage.EVAL, reason),
        detail=f"{family}: {detail}",
    )


# ------------------------------------------------------------------------------------------------- the families


Made = tuple[Callable[..., EvalItem], dict[str, Any]] | ItemOutcome
"""What one draft becomes: an item class and its values (built and vetted by :func:`_finish`), or a rejection."""


@dataclass(frozen=True)
class _Family:
    """One item family's fixed parts: its prompt template (also named in a failed call's detail) and the drafts
    model whose list ``field_name`` the call must fill."""

    prompt: str
    drafts: type[BaseModel]
    field_name: str


_CHOICE = _Family("eval_choice", ChoiceDrafts, "choice_items")
_TRUE_FALSE = _Family("eval_true_false", StatementDrafts, "statements")
_SHORT_ANSWER = _Family("eval_short_answer", ShortDrafts, "short_items")
_OPEN = _Family("eval_open", OpenDrafts, "open_items")


async def _generate_family(
    family: _Family,
    chunk: Chunk,
    llm: ChatModel,
    settings: BuildSettings,
    prompt_dir: Path | None,
    count: int,
    render: dict[str, int],
    make: Callable[[Any, dict[str, Any]], Made],
) -> FamilyResult:
    """The steps every family shares: render the family's prompt with ``render``'s counts, make one structured
    call for exactly ``count`` drafts, and turn each draft into an item with ``make`` (given the values every
    item carries, its difficulty included). What differs per family is only what the four callers below pass."""
    prompt, drafts, field_name = family.prompt, family.drafts, family.field_name
    ctx = prompt_context(prompt, chunk_language(chunk, settings.language), settings, prompt_dir, [])
    messages = ctx.render(**render, heading_path=chunk.heading_context or chunk.provenance.source, chunk=chunk.text)
    call = await call_structured(llm, messages, drafts, exact_items_schema(drafts, field_name, count))
    result = FamilyResult()
    if call.value is None:
        result.outcomes.append(_failed(chunk, prompt, call.failure_reason, call.failure_detail))
        return result
    assert isinstance(call.value, drafts)
    common = _common(chunk, llm, settings, ctx)
    for draft in getattr(call.value, field_name):
        made = make(draft, {**common, "difficulty": _difficulty(draft.difficulty)})
        if isinstance(made, ItemOutcome):
            result.outcomes.append(made)
        else:
            item_class, values = made
            _finish(result, chunk, functools.partial(item_class, **values), draft.evidence)
    return result


async def generate_choice_items(
    chunk: Chunk,
    llm: ChatModel,
    settings: BuildSettings,
    *,
    single: int,
    multi: int,
    prompt_dir: Path | None = None,
) -> FamilyResult:
    """Single- and multiple-answer choice items in one call; a draft with one key is single choice."""
    wanted = {"single_choice": single > 0, "multiple_choice": multi > 0}

    def make(draft: ChoiceDraft, common: dict[str, Any]) -> Made:
        options = [_clean_option(o) for o in draft.options]
        keys = _letters(draft.answers, options)
        kind: ItemKind = "single_choice" if len(keys) == 1 else "multiple_choice"
        item_id = EvalItemBase.new_id(chunk.chunk_id, kind, draft.question, ",".join(keys))
        if not keys:
            return _rejected(item_id, Reason.EVAL_NO_ANSWER_KEY, draft.model_dump_json())
        if not wanted[kind]:
            return _rejected(item_id, Reason.EVAL_KIND_NOT_REQUESTED, draft.model_dump_json())
        values = {**common, "item_id": item_id, "question": draft.question.strip(), "options": options}
        if kind == "single_choice":
            return SingleChoiceItem, {**values, "answer": keys[0]}
        return MultipleChoiceItem, {**values, "answers": keys}

    render = {"single_count": single, "multi_count": multi}
    return await _generate_family(_CHOICE, chunk, llm, settings, prompt_dir, single + multi, render, make)


async def generate_true_false_items(
    chunk: Chunk, llm: ChatModel, settings: BuildSettings, *, count: int, prompt_dir: Path | None = None
) -> FamilyResult:
    """True/false statements, asked for half true and half false (the set is balanced again afterwards)."""

    def make(draft: StatementDraft, common: dict[str, Any]) -> Made:
        item_id = EvalItemBase.new_id(chunk.chunk_id, "true_false", draft.statement, str(draft.answer))
        return TrueFalseItem, {
            **common,
            "item_id": item_id,
            "question": draft.statement.strip(),
            "answer": draft.answer,
        }

    true_count = (count + 1) // 2
    render = {"count": count, "true_count": true_count, "false_count": count - true_count}
    return await _generate_family(_TRUE_FALSE, chunk, llm, settings, prompt_dir, count, render, make)


async def generate_short_answer_items(
    chunk: Chunk, llm: ChatModel, settings: BuildSettings, *, count: int, prompt_dir: Path | None = None
) -> FamilyResult:
    """Short-answer items with their accepted variants."""

    def make(draft: ShortDraft, common: dict[str, Any]) -> Made:
        item_id = EvalItemBase.new_id(chunk.chunk_id, "short_answer", draft.question, draft.answer)
        answer = draft.answer.strip()
        return ShortAnswerItem, {
            **common,
            "item_id": item_id,
            "question": draft.question.strip(),
            "answer": answer,
            "accepted": [a.strip() for a in draft.accepted if a.strip() and a.strip() != answer],
        }

    return await _generate_family(_SHORT_ANSWER, chunk, llm, settings, prompt_dir, count, {"count": count}, make)


async def generate_open_items(
    chunk: Chunk, llm: ChatModel, settings: BuildSettings, *, count: int, prompt_dir: Path | None = None
) -> FamilyResult:
    """Open questions with a reference answer and a rubric of checkable points."""

    def make(draft: OpenDraft, common: dict[str, Any]) -> Made:
        item_id = EvalItemBase.new_id(chunk.chunk_id, "open", draft.question, draft.reference_answer)
        return OpenItem, {
            **common,
            "item_id": item_id,
            "question": draft.question.strip(),
            "reference_answer": draft.reference_answer.strip(),
            "rubric": [r.strip() for r in draft.rubric if r.strip()],
        }

    return await _generate_family(_OPEN, chunk, llm, settings, prompt_dir, count, {"count": count}, make)


# ---------------------------------------------------------------------------------------------- the entry point


async def generate_eval_items(
    chunk: Chunk,
    llm: ChatModel,
    settings: BuildSettings | None = None,
    kinds: Sequence[ItemKind] | None = None,
    *,
    evaluation: EvaluationSettings | None = None,
    prompt_dir: Path | None = None,
) -> tuple[list[EvalItem], list[ItemOutcome]]:
    """Evaluation items of ``kinds`` (default: ``evaluation.kinds``) from one chunk, and every other outcome.

    The families run concurrently (one call each). The second value lists each rejected draft (reason code,
    the item's JSON in ``detail``; :func:`rejected_items` reads them back) and each failed call (kind
    ``chunk``, status ``failed``). Nothing is dropped silently."""
    settings = settings or BuildSettings()
    evaluation = evaluation or EvaluationSettings()
    wanted = list(dict.fromkeys(kinds or evaluation.kinds))
    unknown = [k for k in wanted if k not in ITEM_KINDS]
    if unknown:
        raise ValueError(f"unknown evaluation item kinds {unknown}; choose from {list(ITEM_KINDS)}")
    n = evaluation.items_per_kind
    calls = []
    single, multi = n if "single_choice" in wanted else 0, n if "multiple_choice" in wanted else 0
    if single or multi:
        calls.append(generate_choice_items(chunk, llm, settings, single=single, multi=multi, prompt_dir=prompt_dir))
    if "true_false" in wanted:
        calls.append(generate_true_false_items(chunk, llm, settings, count=max(2, n), prompt_dir=prompt_dir))
    if "short_answer" in wanted:
        calls.append(generate_short_answer_items(chunk, llm, settings, count=n, prompt_dir=prompt_dir))
    if "open" in wanted:
        calls.append(generate_open_items(chunk, llm, settings, count=n, prompt_dir=prompt_dir))
    items: list[EvalItem] = []
    outcomes: list[ItemOutcome] = []
    for family in await asyncio.gather(*calls):
        items += family.items
        outcomes += family.outcomes
    return items, outcomes


def rejected_items(outcomes: Sequence[ItemOutcome]) -> list[EvalItem]:
    """The whole rejected items carried in ``outcomes`` (drafts that never became items are left out)."""
    found: list[EvalItem] = []
    for outcome in outcomes:
        if outcome.status == "rejected" and outcome.detail.startswith("{") and '"kind"' in outcome.detail:
            try:
                found.append(parse_item(outcome.detail))
            except ValidationError:
                continue
    return found
