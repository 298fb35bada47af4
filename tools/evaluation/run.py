"""Answer every item of a set with the model under test, score it, and keep each result on disk at once.

Resumable like a build: each scored item is appended to ``OUT/answers/<model>.jsonl`` as soon as it is
done, so a killed run re-answers only the items that have no line yet (and those that failed). Calls go
through the same :class:`~ftds.tools.llm.managed.ManagedChatModel` as builds (rate limits, response cache,
token accounting), one call per item plus one judge call per open item.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import Callable, Sequence
from functools import lru_cache
from importlib import resources
from pathlib import Path

from pydantic import BaseModel, Field

from ftds.tools.config import EvaluationSettings, Settings
from ftds.tools.evaluation.items import (
    EvalItem,
    MultipleChoiceItem,
    OpenItem,
    SingleChoiceItem,
    option_lines,
)
from ftds.tools.evaluation.score import score_exact
from ftds.tools.generation.prompts import domain_preset, load_template
from ftds.tools.llm.base import ChatModel, LLMError, Message
from ftds.tools.records import TokenUsage

Progress = Callable[[int, int, str], None]
JUDGED_PASS = 0.5
"""An open item counts as correct (for accuracy tables) when its rubric score reaches this."""


class Criterion(BaseModel):
    index: int
    met: bool
    reason: str = ""


class CriteriaVerdict(BaseModel):
    criteria: list[Criterion]


class ItemResult(BaseModel):
    """One item answered (and scored) by one model: the line persisted per item."""

    item_id: str
    kind: str
    model: str
    reply: str = ""
    extracted: str = Field(default="", description="The answer read from the reply (letters, true/false, text).")
    correct: bool | None = Field(default=None, description="Exact match; for open items: score >= 0.5.")
    score: float = Field(default=0.0, ge=0, le=1, description="1/0 for exact-match items, rubric share for open.")
    judged: bool = False
    judge: str | None = None
    criteria: list[Criterion] = Field(default_factory=list)
    failure: str | None = Field(default=None, description="Why the item has no score (llm_error, judge:...).")
    cached: bool = False


@lru_cache(maxsize=4)
def _instructions(user_dir: Path | None) -> dict[str, dict[str, str]]:
    import yaml

    if user_dir is not None and (user_dir / "eval_instructions.yaml").is_file():
        text = (user_dir / "eval_instructions.yaml").read_text(encoding="utf-8")
    else:
        text = (resources.files("ftds.prompts") / "eval_instructions.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    if not isinstance(data, dict):
        raise ValueError("eval_instructions.yaml must map item kinds to {zh, en} instructions")
    return data


def question_block(item: EvalItem) -> str:
    """The question as the model under test sees it (options listed for choice items)."""
    if isinstance(item, SingleChoiceItem | MultipleChoiceItem):
        return f"{item.question}\n{option_lines(item.options)}"
    return item.question


def answer_messages(item: EvalItem, prompt_dir: Path | None = None) -> list[Message]:
    language = item.language if item.language in ("zh", "en") else "en"
    template = load_template("eval_answer", language, prompt_dir)
    instruction = _instructions(prompt_dir)[item.kind][language]
    preset = domain_preset(item.domain, language, prompt_dir)
    return template.render(domain_name=preset.name, question=question_block(item), instruction=instruction)


def judge_messages(item: OpenItem, reply: str, prompt_dir: Path | None = None) -> list[Message]:
    language = item.language if item.language in ("zh", "en") else "en"
    template = load_template("eval_judge", language, prompt_dir)
    preset = domain_preset(item.domain, language, prompt_dir)
    rubric = "\n".join(f"{n}. {point}" for n, point in enumerate(item.rubric, start=1))
    return template.render(
        domain_name=preset.name,
        question=item.question,
        reference=item.reference_answer,
        rubric=rubric,
        answer=reply.replace('"""', "'''"),
    )


async def judge_open(item: OpenItem, reply: str, judge: ChatModel, prompt_dir: Path | None = None) -> ItemResult:
    """Rubric points met by ``reply``, as the judge model sees them; score = share of points met."""
    from ftds.tools.generation.generate import call_structured, exact_items_schema

    messages = judge_messages(item, reply, prompt_dir)
    schema = exact_items_schema(CriteriaVerdict, "criteria", len(item.rubric))
    call = await call_structured(judge, messages, CriteriaVerdict, schema, temperature=0.0)
    result = ItemResult(item_id=item.item_id, kind=item.kind, model="", reply=reply, judge=judge.label)
    if call.value is None:
        result.failure = f"judge:{call.failure_reason}"
        return result
    assert isinstance(call.value, CriteriaVerdict)
    by_index = {c.index: c for c in call.value.criteria if 1 <= c.index <= len(item.rubric)}
    result.criteria = [
        by_index.get(n, Criterion(index=n, met=False, reason="not judged")) for n in range(1, len(item.rubric) + 1)
    ]
    result.score = sum(1 for c in result.criteria if c.met) / len(item.rubric)
    result.correct = result.score >= JUDGED_PASS
    result.judged = True
    result.extracted = reply[:200]
    return result


async def answer_item(
    item: EvalItem,
    model: ChatModel,
    judge: ChatModel | None,
    evaluation: EvaluationSettings,
    prompt_dir: Path | None = None,
) -> ItemResult:
    """Ask, read the answer, score it (judging open items); failures come back in ``failure``, not raised."""
    try:
        reply = await model.complete(
            answer_messages(item, prompt_dir),
            temperature=evaluation.answer_temperature,
            max_tokens=evaluation.answer_max_tokens,
        )
    except LLMError as exc:
        return ItemResult(item_id=item.item_id, kind=item.kind, model=model.label, failure=f"llm_error: {exc}")
    text = reply.text
    if isinstance(item, OpenItem):
        if judge is None:
            return ItemResult(item_id=item.item_id, kind=item.kind, model=model.label, reply=text, failure="judge:none")
        result = await judge_open(item, text, judge, prompt_dir)
        return result.model_copy(update={"model": model.label, "cached": reply.cached})
    correct, extracted = score_exact(item, text)
    return ItemResult(
        item_id=item.item_id,
        kind=item.kind,
        model=model.label,
        reply=text,
        extracted=extracted,
        correct=correct,
        score=1.0 if correct else 0.0,
        cached=reply.cached,
    )


def answers_path(out_dir: Path, model_label: str) -> Path:
    """``OUT/answers/<readable name>-<hash>.jsonl``: one file per model, stable across runs."""
    readable = re.sub(r"[^A-Za-z0-9._-]+", "_", model_label.rsplit("/", 1)[-1])[:40] or "model"
    digest = hashlib.sha256(model_label.encode("utf-8")).hexdigest()[:8]
    return out_dir / "answers" / f"{readable}-{digest}.jsonl"


def load_answers(path: Path) -> dict[str, ItemResult]:
    """Results already persisted (a cut-off last line from a killed run is ignored)."""
    found: dict[str, ItemResult] = {}
    if not path.is_file():
        return found
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            result = ItemResult.model_validate_json(line)
        except ValueError:
            continue
        found[result.item_id] = result
    return found


async def run_model(
    items: Sequence[EvalItem],
    model: ChatModel,
    judge: ChatModel | None,
    settings: Settings,
    out_dir: Path,
    progress: Progress | None = None,
) -> list[ItemResult]:
    """Every item's result for ``model``, in item order: finished ones read back from disk, the rest asked
    (``llm.concurrency`` at a time) and appended to the answers file as each one ends."""
    path = answers_path(out_dir, model.label)
    path.parent.mkdir(parents=True, exist_ok=True)
    done = {k: v for k, v in load_answers(path).items() if v.failure is None}
    wanted = {item.item_id for item in items}
    pending = [item for item in items if item.item_id not in done]
    results = {k: v for k, v in done.items() if k in wanted}
    slots = asyncio.Semaphore(settings.llm.concurrency)
    lock = asyncio.Lock()
    finished = len(results)
    if progress is not None:
        progress(finished, len(items), f"{model.label}: {finished} already answered, {len(pending)} to ask")

    async def one(item: EvalItem) -> None:
        nonlocal finished
        async with slots:
            result = await answer_item(item, model, judge, settings.evaluation, settings.build.prompt_dir)
        async with lock:
            with path.open("a", encoding="utf-8") as out:
                out.write(result.model_dump_json() + "\n")
            results[item.item_id] = result
            finished += 1
        if progress is not None:
            verdict = "failed" if result.failure else ("right" if result.correct else "wrong")
            progress(finished, len(items), f"{model.label}: {item.item_id} {verdict}")

    await asyncio.gather(*(one(item) for item in pending))
    return [results[item.item_id] for item in items]


def usage_of(model: ChatModel) -> TokenUsage:
    usage = getattr(model, "usage", None)
    return usage if isinstance(usage, TokenUsage) else TokenUsage()
