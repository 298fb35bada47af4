"""Reason codes: why an item was rejected or failed, in one namespace with one rule.

The rule: ``STAGE:WHAT`` — the stage that decided (a :class:`Stage`) and what it found, in snake_case — or a
bare word for a decision about the whole dataset (``duplicate``, ``over_target``). A call that gave nothing
usable is ``STAGE:`` + one of :data:`CALL_FAILURES`. Reports count items by these codes, so two places may
never spell one reason two ways; :func:`check_reason` (run on every ``ItemOutcome``) refuses a code that
breaks the rule or names an unknown stage.
"""

from __future__ import annotations

import re
from enum import StrEnum


class Stage(StrEnum):
    """The steps that decide about items; the first half of every staged reason code."""

    GENERATION = "generation"
    COT = "cot"
    DIALOGUE = "dialogue"
    CLASSIFICATION = "classification"
    PREFERENCE = "preference"
    PRECHECK = "precheck"
    REVIEW = "review"
    REVISION = "revision"
    LABELS = "labels"
    ANSWER = "answer"
    DISTILL_TAGS = "distill_tags"
    DISTILL_QUESTIONS = "distill_questions"
    CHECK = "check"
    EVAL = "eval"
    DUPLICATE = "duplicate"
    EXECUTOR = "executor"


CALL_FAILURES = ("empty", "refusal", "unparseable", "llm_error")
"""How a structured LLM call fails (``tools/generate.call_structured``)."""


class Reason(StrEnum):
    """Every fixed reason code the code base writes (call failures are built by :func:`call_failure`)."""

    DUPLICATE = "duplicate"
    DUPLICATE_NEAR = "duplicate:near"
    DUPLICATE_SEMANTIC = "duplicate:semantic"
    DUPLICATE_EARLIER_RUN = "duplicate:earlier-run"
    DUPLICATE_MIXED = "duplicate:mixed"
    OVER_TARGET = "over_target"
    GENERATION_NO_PAIRS = "generation:no_pairs"
    DIALOGUE_BAD_TURNS = "dialogue:bad_turns"
    CLASSIFICATION_NO_LABEL_TREE = "classification:no_label_tree"
    CLASSIFICATION_EMPTY_TEXT = "classification:empty_text"
    CLASSIFICATION_TEXT_NOT_IN_SOURCE = "classification:text_not_in_source"
    CLASSIFICATION_LABEL_NOT_IN_TREE = "classification:label_not_in_tree"
    PREFERENCE_CANDIDATES_MISSING = "preference:candidates_missing"
    PREFERENCE_TIE = "preference:tie"
    PREFERENCE_NO_GOOD_CANDIDATE = "preference:no_good_candidate"
    PRECHECK_EMPTY = "precheck:empty"
    PRECHECK_TOO_SHORT = "precheck:too_short"
    PRECHECK_COPIED_SOURCE = "precheck:copied_source"
    PRECHECK_UNSUPPORTED = "precheck:unsupported"
    PRECHECK_INVENTED_CITATION = "precheck:invented_citation"
    PRECHECK_ANSWER_IN_QUESTION = "precheck:answer_in_question"
    PRECHECK_NOT_A_QUESTION = "precheck:not_a_question"
    PRECHECK_REFERENCE_ONLY = "precheck:reference_only"
    PRECHECK_LEAD_IN_ONLY = "precheck:lead_in_only"
    PRECHECK_WRONG_LANGUAGE = "precheck:wrong_language"
    REVIEW_BELOW_THRESHOLD = "review:below_threshold"
    REVIEW_NEEDS_REVISION = "review:needs_revision"
    REVIEW_NOT_FIXED_BY_REVISION = "review:not_fixed_by_revision"
    REVIEW_MISSING_SCORE = "review:missing_score"
    REVISION_MISSING_PAIR = "revision:missing_pair"
    LABELS_NO_OUTLINE = "labels:no_outline"
    LABELS_COPIED_EXAMPLE = "labels:copied_example"
    ANSWER_MISSING = "answer:missing"
    # evaluation items (tools/evaluation): per-item checks, set-level steps and the leakage audit
    EVAL_ANSWER_KEY = "eval:answer_key"
    EVAL_DISTRACTORS = "eval:distractors"
    EVAL_INVALID_DRAFT = "eval:invalid_draft"
    EVAL_NO_ANSWER_KEY = "eval:no_answer_key"
    EVAL_REPEATED_DRAFT = "eval:repeated_draft"
    EVAL_KIND_NOT_REQUESTED = "eval:kind_not_requested"
    EVAL_TRUE_FALSE_SURPLUS = "eval:true_false_surplus"
    EVAL_LEAK_NEAR_DUPLICATE = "eval:leak_near_duplicate"
    EVAL_LEAK_SEMANTIC_DUPLICATE = "eval:leak_semantic_duplicate"
    EVAL_HOLDOUT_SECTION = "eval:holdout_section"
    EVAL_HOLDOUT_DOCUMENT = "eval:holdout_document"
    # the Ray executor (agents/ray_executor.py): a chunk whose worker was lost every time, or whose flow raised
    EXECUTOR_WORKER_LOST = "executor:worker_lost"
    EXECUTOR_WORKER_ERROR = "executor:worker_error"


_FORM = re.compile(r"^[a-z][a-z0-9_]*(?::[a-z0-9_-]+)?$")
_FIXED = {reason.value for reason in Reason}
_STAGES = {stage.value for stage in Stage}


def call_failure(stage: str, kind: str) -> str:
    """The code of a structured call at ``stage`` that gave nothing usable (``kind`` in CALL_FAILURES)."""
    return check_reason(f"{stage}:{kind}")


def check_reason(code: str) -> str:
    """``code`` when it follows the one rule (see the module docstring), else ValueError naming the rule."""
    if code in _FIXED:
        return code
    stage, _, what = code.partition(":")
    if not _FORM.match(code) or not what or stage not in _STAGES:
        raise ValueError(
            f"reason code {code!r} breaks the rule STAGE:WHAT with STAGE one of {sorted(_STAGES)} "
            "(or a bare code listed in ftds.tools.reasons.Reason)"
        )
    return code
