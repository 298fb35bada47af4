"""The answer check: how sure the reviewer model is that the answer answers its question, from the evidence.

A small judge asked for a verdict says "yes" to nearly everything (the embedded 1.5B accepted every pair that
reached it, wrong ones included), so this check never reads a sampled word. It reads the reviewer's
probability of "yes" as its first reply token, P(yes) / (P(yes) + P(no)), which still ranks pairs: on the
labelled set's pairs that passed the code checks it separates correct from wrong with an AUC of about 0.8
(docs/benchmarks/critique.md), where the rubric judge separated nothing. The model sees the question, the
answer and what its language's prompt names: the located evidence in Chinese, the whole chunk in English (each
the variant that separated best on the labelled set), and a pair passes at the threshold measured for the
prompt (its ``min_probability``; ``build.min_answer_probability`` overrides it).
Whether it runs is ``task_table.answer_check_called`` (``build.answer_check``).

It also decides for a sample the round trip did not confirm. The embedded 1.5B, answering a question again
extractively, often quotes the sentence next to the one that answers it; as a veto that cost 19 of the 110
correct pairs in the labelled set for few wrong ones caught (docs/benchmarks/critique.md). So when the prompt
states a second, stricter threshold (``min_probability_unconfirmed``), an unconfirmed sample is kept only
when the reviewer is that sure of it; otherwise, and whenever no score can be read, the round trip's verdict
stands.

One scoring request per sample, prompt only (no reply is generated). A backend that cannot read token
probabilities (a Batch API, a server that ignores ``logprobs``) gives no verdict: the check is recorded as
not counted and the other checks decide. A scoring request that fails is a failed check, with the reason.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from ftds.tools.config import BuildSettings
from ftds.tools.generation.checks import ANSWERS, NOT_COUNTED
from ftds.tools.generation.evidence import evidence_text
from ftds.tools.generation.prompts import domain_preset, load_template
from ftds.tools.llm.base import ChatModel, LLMError, NoTokenProbabilities, ScoresYesNo
from ftds.tools.records import CheckResult, Chunk, Sample, TokenUsage

DEFAULT_MIN_PROBABILITY = 0.85
"""For a user's scoring prompt that states no threshold of its own."""


def can_score(llm: ChatModel) -> bool:
    """True when ``llm`` reads first-token probabilities (the managed wrapper says so for its backend)."""
    flag = getattr(llm, "scores_yes_no", None)
    return bool(flag) if flag is not None else isinstance(llm, ScoresYesNo)


@dataclass(frozen=True)
class Thresholds:
    """The P(yes) an answer needs: ``confirmed`` for a sample the round trip confirmed (or when no round trip
    ran), ``unconfirmed`` for one it did not (None: the answer check cannot keep such a sample)."""

    confirmed: float
    unconfirmed: float | None


def thresholds(language: str, settings: BuildSettings, prompt_dir: Path | None = None) -> Thresholds:
    """The scoring prompt's measured thresholds, with ``build.min_answer_probability`` /
    ``build.min_unconfirmed_probability`` overriding them (an unconfirmed sample never needs less)."""
    template = load_template("qa_verify", language, prompt_dir or settings.prompt_dir)
    confirmed = settings.min_answer_probability
    if confirmed is None:
        confirmed = template.min_probability if template.min_probability is not None else DEFAULT_MIN_PROBABILITY
    unconfirmed = settings.min_unconfirmed_probability
    if unconfirmed is None:
        unconfirmed = template.min_probability_unconfirmed
    return Thresholds(confirmed, None if unconfirmed is None else max(unconfirmed, confirmed))


def may_keep_unconfirmed(llm: ChatModel, language: str, settings: BuildSettings, prompt_dir: Path | None) -> bool:
    """True when the answer check can keep a sample the round trip did not confirm: it reads scores from
    ``llm`` and its prompt has a threshold for such samples."""
    return can_score(llm) and thresholds(language, settings, prompt_dir).unconfirmed is not None


async def answer_checks(
    chunk: Chunk,
    samples: list[Sample],
    llm: ChatModel,
    language: str,
    settings: BuildSettings,
    *,
    prompt_dir: Path | None = None,
    unconfirmed: frozenset[str] = frozenset(),
) -> tuple[dict[str, CheckResult], TokenUsage]:
    """The answer check of every sample (by id) of ``chunk`` and what the scoring requests cost. The samples
    whose ids are in ``unconfirmed`` (the round trip did not confirm them) are held to the stricter threshold."""
    if not samples:
        return {}, TokenUsage()
    if not can_score(llm):
        detail = f"{NOT_COUNTED} {llm.label} gives no token probabilities to score the answer with"
        return {s.sample_id: CheckResult(name=ANSWERS, passed=True, detail=detail) for s in samples}, TokenUsage()
    template = load_template("qa_verify", language, prompt_dir or settings.prompt_dir)
    bars = thresholds(language, settings, prompt_dir)
    # the system line names the domain in English in both prompts: that is the wording the thresholds were
    # measured with
    preset = domain_preset(settings.domain, "en", prompt_dir or settings.prompt_dir)

    async def one(sample: Sample) -> tuple[CheckResult, TokenUsage]:
        messages = template.render(
            domain_name=preset.name,
            evidence=evidence_text(sample.evidence) or chunk.text,  # the chunk only for a sample not located
            chunk=chunk.text,  # what the English prompt shows (it separates better there; qa_verify.en.md)
            question=sample.question,
            answer=sample.answer,
        )
        try:
            score = await llm.yes_probability(messages)  # type: ignore[attr-defined]
        except NoTokenProbabilities as exc:
            return CheckResult(name=ANSWERS, passed=True, detail=f"{NOT_COUNTED} {exc}"), TokenUsage()
        except LLMError as exc:
            return CheckResult(name=ANSWERS, passed=False, detail=f"answers:llm_error ({exc})"), TokenUsage()
        strict = bars.unconfirmed if sample.sample_id in unconfirmed else None
        threshold = bars.confirmed if strict is None else strict
        verdict = "≥" if score.probability >= threshold else "<"
        detail = f"P(yes) {score.probability:.4f} {verdict} {threshold:g}"  # 4 places: 0.9298 is not 0.93
        if strict is not None:
            detail += " (the bar for an answer the round trip did not confirm)"
        return CheckResult(name=ANSWERS, passed=score.probability >= threshold, detail=detail), score.usage

    scored = await asyncio.gather(*(one(sample) for sample in samples))
    usage = TokenUsage()
    for _, spent in scored:
        usage = usage + spent
    return {sample.sample_id: check for sample, (check, _) in zip(samples, scored, strict=True)}, usage
