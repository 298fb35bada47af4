"""The evaluation item records: one model per item kind, one union to read and write them all.

An evaluation item is asked of a trained model, not trained on, so it carries what scoring needs (the answer
key, accepted variants, a rubric) next to what auditing needs (the evidence span in the source, the label,
the difficulty and the provenance). Every kind shares :class:`EvalItemBase`; ``kind`` is the discriminator,
so a JSONL line always reads back as the right class (:func:`parse_item`).
"""

from __future__ import annotations

import string
from typing import Annotated, Literal

from pydantic import BaseModel, Field, TypeAdapter, model_validator

from ftds.tools.config import ALL_EVAL_KINDS, EvalItemKind
from ftds.tools.records import CheckResult, EvidenceSpan, Provenance, Rejection, content_hash

ItemKind = EvalItemKind  # defined with the settings, which name the kinds to generate
ITEM_KINDS = ALL_EVAL_KINDS
Difficulty = Literal["easy", "medium", "hard"]
DIFFICULTIES: tuple[Difficulty, ...] = ("easy", "medium", "hard")
LETTERS = string.ascii_uppercase[:10]  # EvalScope's general_mcq reads options A..J
MAX_OPTIONS = len(LETTERS)


class EvalItemBase(BaseModel):
    """What every item kind shares: the question, where it came from and what was checked."""

    item_id: str
    kind: ItemKind
    question: str = Field(description="The question (for true/false: the statement to judge).")
    label: str | None = Field(default=None, description="Topic label, for the per-label report.")
    difficulty: Difficulty = "medium"
    domain: str
    language: str | None = None
    evidence: list[EvidenceSpan] = Field(
        default_factory=list, description="Spans of the source that hold the answer key (located by code)."
    )
    provenance: Provenance
    model: str = Field(description="Generator endpoint/model that wrote the item.")
    prompt_version: str
    checks: list[CheckResult] = Field(default_factory=list)
    rejection: Rejection | None = Field(default=None, description="Set on items kept in rejected.jsonl.")

    @staticmethod
    def new_id(chunk_id: str, kind: str, question: str, key: str) -> str:
        return content_hash(chunk_id, kind, question, key)


def _check_letters(letters: list[str], options: list[str]) -> None:
    allowed = LETTERS[: len(options)]
    bad = [letter for letter in letters if letter not in allowed]
    if bad:
        raise ValueError(f"answer letters {bad} are not among the options {list(allowed)}")


class SingleChoiceItem(EvalItemBase):
    kind: Literal["single_choice"] = "single_choice"
    options: list[str] = Field(min_length=2, max_length=MAX_OPTIONS)
    answer: str = Field(description="The letter of the one correct option (A, B, ...).")

    @model_validator(mode="after")
    def _answer_is_an_option(self) -> SingleChoiceItem:
        _check_letters([self.answer], self.options)
        return self


class MultipleChoiceItem(EvalItemBase):
    kind: Literal["multiple_choice"] = "multiple_choice"
    options: list[str] = Field(min_length=3, max_length=MAX_OPTIONS)
    answers: list[str] = Field(min_length=1, description="Letters of every correct option, sorted.")

    @model_validator(mode="after")
    def _answers_are_options(self) -> MultipleChoiceItem:
        _check_letters(self.answers, self.options)
        self.answers = sorted(set(self.answers))
        return self


class TrueFalseItem(EvalItemBase):
    kind: Literal["true_false"] = "true_false"
    answer: bool = Field(description="True when the statement in `question` agrees with the source.")


class ShortAnswerItem(EvalItemBase):
    kind: Literal["short_answer"] = "short_answer"
    answer: str = Field(min_length=1, description="The canonical short answer (a term, number, name, date).")
    accepted: list[str] = Field(default_factory=list, description="Other spellings that count as correct.")

    @property
    def variants(self) -> list[str]:
        """The answer and every accepted variant, without repeats, answer first."""
        return list(dict.fromkeys(v.strip() for v in [self.answer, *self.accepted] if v.strip()))


class OpenItem(EvalItemBase):
    kind: Literal["open"] = "open"
    reference_answer: str = Field(min_length=1)
    rubric: list[str] = Field(min_length=1, description="Criteria a full-credit answer meets, one per line.")


EvalItem = Annotated[
    SingleChoiceItem | MultipleChoiceItem | TrueFalseItem | ShortAnswerItem | OpenItem,
    Field(discriminator="kind"),
]
_ADAPTER: TypeAdapter[EvalItem] = TypeAdapter(EvalItem)


def parse_item(data: object) -> EvalItem:
    """One item from its JSON dump (dict or string), as the class its ``kind`` names."""
    if isinstance(data, str | bytes):
        return _ADAPTER.validate_json(data)
    return _ADAPTER.validate_python(data)


def option_lines(options: list[str]) -> str:
    """``A. first`` / ``B. second`` lines, the way every prompt and export shows options."""
    return "\n".join(f"{LETTERS[i]}. {text}" for i, text in enumerate(options))


def reference_answer(item: EvalItem) -> str:
    """The correct answer as text: what a report shows and a QA export puts in ``response``."""
    if isinstance(item, SingleChoiceItem):
        return f"{item.answer}. {item.options[LETTERS.index(item.answer)]}"
    if isinstance(item, MultipleChoiceItem):
        return "; ".join(f"{letter}. {item.options[LETTERS.index(letter)]}" for letter in item.answers)
    if isinstance(item, TrueFalseItem):
        return truth_word(item.answer, item.language or "en")
    if isinstance(item, ShortAnswerItem):
        return item.answer
    return item.reference_answer


def truth_word(value: bool, language: str) -> str:
    if language == "zh":
        return "正确" if value else "错误"
    return "True" if value else "False"


def item_text(item: EvalItem) -> str:
    """The text two items (or an item and a training sample) must share to be near-duplicates: question,
    options and the correct answer, the way a training pair holds question and answer."""
    parts = [item.question]
    if isinstance(item, SingleChoiceItem | MultipleChoiceItem):
        parts.append(option_lines(item.options))
    parts.append(reference_answer(item))
    return "\n".join(parts)
