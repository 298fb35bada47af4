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

It also decides whether the round trip is needed. The embedded 1.5B, answering a question again
extractively, often quotes the sentence next to the one that answers it; as a veto that cost 19 of the 110
correct pairs of rounds 1-4 for few wrong ones caught (docs/benchmarks/critique.md). So when the prompt states
a threshold for an answer the round trip does not confirm (``min_probability_unconfirmed``), a sample scored
at or above it is kept whatever the round trip would say, and the round trip is not called for it; below it,
and whenever no score can be read, the round trip's verdict stands. In Chinese the two thresholds are the
same (measured over rounds 1-8), so there the answer check decides alone.

One scoring request per sample, prompt only (no reply is generated). A backend that cannot read token
probabilities (a Batch API, a server that ignores ``logprobs``) gives no verdict: the check is recorded as
not counted and the other checks decide. A scoring request that fails is a failed check, with the reason.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from ftds.tools.config import BuildSettings
from ftds.tools.generation.checks import ANSWERS, NOT_COUNTED, ROUND_TRIP
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


def round_trip_can_change(answer: CheckResult | None, bars: Thresholds) -> bool:
    """True when the round trip's verdict can still change the decision on a sample the answer check passed
    (``answer``; None when no answer check ran): there is no score (the round trip is then the model's only
    check), no threshold for an unconfirmed answer (the round trip rejects alone), or a score below it. A
    score at or above the unconfirmed threshold keeps the sample whatever the round trip says, so its call is
    not spent (in Chinese the two thresholds are the same: docs/benchmarks/critique.md)."""
    if answer is None or answer.score is None or bars.unconfirmed is None:
        return True
    return answer.score < bars.unconfirmed


def unconfirmed_rejection(trip: CheckResult, answer: CheckResult | None, bars: Thresholds) -> CheckResult:
    """The round trip's failure on a sample it did not confirm, with the score that was not enough to keep it
    (the round trip ran because that score is below the threshold for an unconfirmed answer)."""
    if answer is None or answer.score is None or bars.unconfirmed is None:
        return trip
    detail = f"{trip.detail}; answer check P(yes) {answer.score:.4f} < {bars.unconfirmed:g}"
    return CheckResult(name=ROUND_TRIP, passed=False, detail=detail)


async def answer_checks(
    chunk: Chunk,
    samples: list[Sample],
    llm: ChatModel,
    language: str,
    settings: BuildSettings,
    *,
    prompt_dir: Path | None = None,
) -> tuple[dict[str, CheckResult], TokenUsage]:
    """The answer check of every sample (by id) of ``chunk`` against the threshold for a confirmed answer, and
    what the scoring requests cost. Each result carries its P(yes) as ``score``, so the stricter threshold for
    an answer the round trip did not confirm can be applied afterwards (:func:`round_trip_can_change`)."""
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
        passed = score.probability >= bars.confirmed
        detail = f"P(yes) {score.probability:.4f} {'≥' if passed else '<'} {bars.confirmed:g}"  # 4 places: 0.9298
        return CheckResult(name=ANSWERS, passed=passed, detail=detail, score=score.probability), score.usage

    scored = await asyncio.gather(*(one(sample) for sample in samples))
    usage = TokenUsage()
    for _, spent in scored:
        usage = usage + spent
    return {sample.sample_id: check for sample, (check, _) in zip(samples, scored, strict=True)}, usage
