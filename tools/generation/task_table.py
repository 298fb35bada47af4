"""The task table: one entry per task type — how its samples are drafted from a chunk, whether they go through
the review -> revise loop, which record shape they are written in, and (when it is not a training dataset) how
the build's output is finalized.

The per-chunk flow (``agents/chunk_flow.py``) and the exporter read this table instead of branching on task
names, so a new task is one module with its draft function plus one :class:`TaskSpec` here (and its name in
``config.BuildTask``, the list settings validate against).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from ftds.tools.config import BuildSettings, EvaluationSettings, Settings
from ftds.tools.evaluation.generate import generate_eval_items
from ftds.tools.evaluation.items import EvalItem
from ftds.tools.generation.generate import GenerationResult, generate_qa, question_count
from ftds.tools.generation.labels import LabelTree
from ftds.tools.generation.tasks import (
    generate_classification,
    generate_cot,
    generate_dialogues,
    preference_pairs,
    reward_records,
)
from ftds.tools.llm.base import ChatModel
from ftds.tools.reasons import Reason
from ftds.tools.records import Chunk, ItemOutcome, RunSummary, Sample, TokenUsage

if TYPE_CHECKING:
    from ftds.tools.build.steps import FinalizeJob


@dataclass(frozen=True)
class DraftInputs:
    """What a draft function may use: both roles' models, the build settings, the label tree (if any) and the
    evaluation settings (item kinds and counts of the ``eval`` task)."""

    generator: ChatModel
    reviewer: ChatModel
    settings: BuildSettings
    labels: LabelTree | None = None
    evaluation: EvaluationSettings = field(default_factory=EvaluationSettings)


@dataclass
class Draft:
    """A chunk's first draft. ``pending`` samples still need the reviewer; everything else is decided:
    ``accepted`` (checked inside the draft, e.g. scored preference pairs), ``rejected``, ``failed``, or the
    whole chunk failed (``chunk_failure``). ``generated`` counts every item the generator produced.
    ``eval_items`` are the ``eval`` task's items, vetted by code inside the draft (they are not samples)."""

    pending: list[Sample] = field(default_factory=list)
    accepted: list[Sample] = field(default_factory=list)
    eval_items: list[EvalItem] = field(default_factory=list)
    rejected: list[ItemOutcome] = field(default_factory=list)
    failed: list[ItemOutcome] = field(default_factory=list)
    chunk_failure: ItemOutcome | None = None
    generated: int = 0
    generator_usage: TokenUsage = field(default_factory=TokenUsage)
    reviewer_usage: TokenUsage = field(default_factory=TokenUsage)


DraftFn = Callable[[Chunk, DraftInputs], Awaitable[Draft]]
FinalizeFn = Callable[["FinalizeJob"], RunSummary]
"""Writes a build's output from every chunk's result and returns the run's summary (``report.json``)."""
LlamaFactoryKind = Literal["sft", "ranking"]
"""How LLaMA-Factory registers a task's trainer files: ``sft`` (prompt -> response; trained with ``stage: sft``)
or ``ranking`` (``ranking: true`` with chosen/rejected; ``stage: dpo`` or ``rm``)."""


@dataclass(frozen=True)
class TaskSpec:
    name: str
    description: str
    draft: DraftFn
    reviewed: bool
    """True: drafted samples go through review -> revise -> review. False: the draft decides them itself."""
    record_format: str
    """The task-shaped record (a format name of ``ftds.tools.formats.REGISTRY``) written to ``task/{split}.jsonl``."""
    llamafactory: LlamaFactoryKind = "sft"
    """How the build's trainer files (alpaca/sharegpt/openai) are registered in ``dataset_info.json``."""
    after_review: Callable[[Sequence[Sample]], list[Sample]] | None = None
    """Applied to the accepted samples before dedupe (reward: review scores become reward records)."""
    scored_by_judge: bool = False
    """True: the records are the judge's scores (reward), so the rubric call always runs (:func:`judge_called`)."""
    needs_labels: bool = False
    uses_label_tree: bool = True
    """False: the task labels its items itself (``eval``: by section), so the plan step builds no label tree."""
    finalize: FinalizeFn | None = None
    """How the build's output is written; None: the training dataset (``tools/build/steps.finalize_dataset``)."""


def no_output(chunk: Chunk) -> ItemOutcome:
    return ItemOutcome(
        item_id=chunk.chunk_id,
        kind="chunk",
        status="failed",
        reason=Reason.GENERATION_NO_PAIRS,
        detail="the model returned nothing for this chunk",
    )


def from_generation(chunk: Chunk, made: GenerationResult, *, reviewed: bool = True) -> Draft:
    """A draft from one generation call: its samples pending review (or accepted when the call checked them
    mechanically), per-item failures kept, and a call that gave nothing is a chunk failure."""
    draft = Draft(failed=list(made.failed), generator_usage=made.usage)
    draft.generated = len(made.samples) + len(made.failed)
    if made.failure is not None:
        draft.chunk_failure = made.failure
    elif not made.samples and not made.failed:
        draft.chunk_failure = no_output(chunk)
    elif reviewed:
        draft.pending = list(made.samples)
    else:
        draft.accepted = list(made.samples)
    return draft


async def draft_qa(chunk: Chunk, inputs: DraftInputs) -> Draft:
    return from_generation(chunk, await generate_qa(chunk, inputs.generator, inputs.settings))


async def draft_cot(chunk: Chunk, inputs: DraftInputs) -> Draft:
    return from_generation(chunk, await generate_cot(chunk, inputs.generator, inputs.settings))


async def draft_dialogue(chunk: Chunk, inputs: DraftInputs) -> Draft:
    count = max(1, question_count(chunk, inputs.settings) // 2)
    return from_generation(chunk, await generate_dialogues(chunk, inputs.generator, inputs.settings, count=count))


async def draft_classification(chunk: Chunk, inputs: DraftInputs) -> Draft:
    """Classification records are checked mechanically (quote in source, label in tree): no review call."""
    if inputs.labels is None:
        return Draft(
            chunk_failure=ItemOutcome(
                item_id=chunk.chunk_id,
                kind="chunk",
                status="failed",
                reason=Reason.CLASSIFICATION_NO_LABEL_TREE,
                detail="classification needs labels: give --label-tree FILE or leave labels on auto",
            )
        )
    made = await generate_classification(chunk, inputs.labels, inputs.generator, inputs.settings)
    return from_generation(chunk, made, reviewed=False)


async def draft_preference(chunk: Chunk, inputs: DraftInputs) -> Draft:
    """Questions from the Q&A prompt, then two candidate answers each, scored by the reviewer."""
    questions = await generate_qa(chunk, inputs.generator, inputs.settings)
    if questions.failure is not None or not questions.samples:
        return Draft(chunk_failure=questions.failure or no_output(chunk), generator_usage=questions.usage)
    pairs = await preference_pairs(
        chunk, [s.question for s in questions.samples], inputs.generator, inputs.reviewer, inputs.settings
    )
    return Draft(
        accepted=pairs.pairs,
        rejected=pairs.rejected,
        failed=pairs.failed,
        generated=len(questions.samples),
        generator_usage=questions.usage + pairs.generator_usage,
        reviewer_usage=pairs.reviewer_usage,
    )


async def draft_eval(chunk: Chunk, inputs: DraftInputs) -> Draft:
    """Evaluation items of every kind asked for: vetted by code in ``generate_eval_items`` (answer key located in
    the chunk, distractors verifiably wrong), so no review call. A rejected draft keeps the item's JSON in its
    outcome's detail; a failed family call is one failed item, and a chunk where every call failed is a chunk
    failure."""
    items, outcomes = await generate_eval_items(chunk, inputs.generator, inputs.settings, evaluation=inputs.evaluation)
    rejected = [o for o in outcomes if o.status == "rejected"]
    failed = [o for o in outcomes if o.status == "failed"]
    if not items and not rejected:
        if not failed:
            return Draft(chunk_failure=no_output(chunk))
        detail = "; ".join(f"{o.reason}: {o.detail}" for o in failed)
        return Draft(chunk_failure=failed[0].model_copy(update={"detail": detail[:2000]}))
    return Draft(eval_items=items, rejected=rejected, failed=failed, generated=len(items) + len(rejected) + len(failed))


def finalize_eval(job: FinalizeJob) -> RunSummary:
    """The evaluation set instead of a training dataset (imported on use: it builds on the build steps)."""
    from ftds.tools.evaluation.build import finalize_eval_build

    return finalize_eval_build(job)


TASKS: dict[str, TaskSpec] = {
    spec.name: spec
    for spec in (
        TaskSpec("qa", "grounded question-answer pairs", draft_qa, reviewed=True, record_format="alpaca"),
        TaskSpec("cot", "question, reasoning steps, answer", draft_cot, reviewed=True, record_format="cot"),
        TaskSpec("dialogue", "multi-turn dialogues", draft_dialogue, reviewed=True, record_format="dialogue"),
        TaskSpec(
            "classification",
            "source passages with a label from the label tree",
            draft_classification,
            reviewed=False,
            record_format="classification",
            needs_labels=True,
        ),
        TaskSpec(
            "preference",
            "a question with a chosen and a rejected answer",
            draft_preference,
            reviewed=False,
            record_format="trl",
            llamafactory="ranking",
        ),
        TaskSpec(
            "reward",
            "question-answer pairs with the reviewer's score (0-5)",
            draft_qa,
            reviewed=True,
            record_format="reward",
            after_review=reward_records,
            scored_by_judge=True,
        ),
        TaskSpec(
            "eval",
            "evaluation items (choice, true/false, short answer, open) with evidence, audited against training data",
            draft_eval,
            reviewed=False,
            record_format="alpaca",  # never used: the set has its own exports (tools/evaluation/export.py)
            uses_label_tree=False,
            finalize=finalize_eval,
        ),
    )
}


def task_spec(name: str) -> TaskSpec:
    try:
        return TASKS[name]
    except KeyError:
        raise ValueError(f"unknown task {name!r}; choose one of {', '.join(TASKS)}") from None


def judge_called(settings: Settings) -> bool:
    """Whether the review calls the rubric judge after the checks (``build.judge``). auto: not when the
    reviewer is the embedded model (it accepted every pair that passed the checks on the labelled set), unless
    the task's records are the judge's scores; never is refused for such a task rather than writing records
    without their score."""
    judge, spec = settings.build.judge, task_spec(settings.build.task)
    if spec.scored_by_judge and judge == "never":
        raise ValueError(f"--task {spec.name} writes the judge's scores; it cannot run with --judge never")
    return (
        judge == "always" or spec.scored_by_judge or (judge == "auto" and settings.reviewer_llm.backend != "embedded")
    )


def answer_check_called(settings: Settings) -> bool:
    """Whether the review runs the answer check (``build.answer_check``). auto: for the embedded reviewer, the
    model its threshold was measured on; a remote reviewer's probabilities sit on another scale, and it gets
    the judge."""
    answer_check = settings.build.answer_check
    return answer_check == "always" or (answer_check == "auto" and settings.reviewer_llm.backend == "embedded")
