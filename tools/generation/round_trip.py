"""Round-trip consistency: answer each question again, independently and extractively, and compare.

The filter of Alberti et al. 2019 ("Synthetic QA Corpora Generation with Roundtrip Consistency"): a
generated pair is kept only when answering its question again from the source gives the same answer. Here
the second answer is extractive: one call per chunk asks the reviewer to quote, word for word, the sentences
of the source that answer each question (it never sees the generated answers, so it cannot agree by
copying them). The quotes are located in the chunk by code and must overlap the sample's own evidence.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, Field

from ftds.tools.config import BuildSettings
from ftds.tools.generation.checks import ROUND_TRIP
from ftds.tools.generation.evidence import coverage, evidence_text, locate_quote, spans_overlap, to_spans
from ftds.tools.generation.generate import call_structured, exact_items_schema
from ftds.tools.generation.prompts import domain_preset, load_template
from ftds.tools.llm.base import ChatModel
from ftds.tools.records import CheckResult, Chunk, EvidenceSpan, Sample, TokenUsage

MIN_OVERLAP = 0.3
"""Least share of the shorter side (round-trip quotes or the sample's evidence) the two must have in common."""
MIN_CONTENT_AGREEMENT = 0.6
"""For quotes that are not verbatim: least share of their content the sample's evidence must hold."""


class QuoteAnswer(BaseModel):
    index: int = Field(description="1-based number of the question.")
    sentences: list[str] = Field(default_factory=list, description="Sentences of the source, copied verbatim.")


class QuoteBatch(BaseModel):
    quotes: list[QuoteAnswer]


@dataclass
class RoundTrip:
    """The round-trip verdict per sample id, what the quotes located to, and what the call cost."""

    results: dict[str, CheckResult] = field(default_factory=dict)
    spans: dict[str, list[EvidenceSpan]] = field(default_factory=dict)
    usage: TokenUsage = field(default_factory=TokenUsage)
    failure: str = ""


def compare(sample: Sample, spans: list[EvidenceSpan], quotes: list[str]) -> CheckResult:
    """Pass when the round-trip's located quotes overlap the sample's evidence by :data:`MIN_OVERLAP`."""
    if not quotes:
        return CheckResult(name=ROUND_TRIP, passed=False, detail="answered again, the source gave no quote")
    if not spans:
        # not verbatim (a small model abridges or renumbers what it quotes): compare what it says instead
        agreement = coverage(" ".join(quotes), evidence_text(sample.evidence))
        shown = " / ".join(q[:60] for q in quotes)[:200]
        if agreement >= MIN_CONTENT_AGREEMENT:
            detail = f"quotes not verbatim; {agreement:.0%} of their content is in the evidence: {shown}"
            return CheckResult(name=ROUND_TRIP, passed=True, detail=detail)
        detail = f"the round-trip quotes are not in the source ({agreement:.0%} like the evidence): {shown}"
        return CheckResult(name=ROUND_TRIP, passed=False, detail=detail)
    overlap = spans_overlap(sample.evidence, spans)
    where = ",".join(f"{s.char_start}-{s.char_end}" for s in spans)
    if overlap < MIN_OVERLAP:
        detail = f"answered again from {where}: overlap {overlap:.0%} with the evidence"
        return CheckResult(name=ROUND_TRIP, passed=False, detail=detail)
    return CheckResult(name=ROUND_TRIP, passed=True, detail=f"overlap {overlap:.0%} ({where})")


async def round_trip(
    chunk: Chunk,
    samples: list[Sample],
    llm: ChatModel,
    language: str,
    settings: BuildSettings | None = None,
    *,
    prompt_dir: Path | None = None,
) -> RoundTrip:
    """One extractive call for all ``samples`` of ``chunk``; a verdict per sample (failed when the call or
    its entry for the sample is missing: a question nobody answered again is not confirmed)."""
    settings = settings or BuildSettings()
    outcome = RoundTrip()
    if not samples:
        return outcome
    template = load_template("qa_quote", language, prompt_dir or settings.prompt_dir)
    preset = domain_preset(settings.domain, language, prompt_dir or settings.prompt_dir)
    messages = template.render(
        domain_name=preset.name,
        chunk=chunk.text,
        questions="\n".join(f"{n}. {s.question}" for n, s in enumerate(samples, 1)),
        n_questions=len(samples),
    )
    call = await call_structured(
        llm, messages, QuoteBatch, exact_items_schema(QuoteBatch, "quotes", len(samples)), temperature=0.0
    )
    outcome.usage = call.usage
    if call.value is None:
        outcome.failure = f"round_trip:{call.failure_reason}"
    by_number = {a.index: a for a in call.value.quotes} if isinstance(call.value, QuoteBatch) else {}
    for number, sample in enumerate(samples, 1):
        answer = by_number.get(number)
        if answer is None:
            detail = outcome.failure or "round_trip:missing (the call gave no quote for this question)"
            outcome.results[sample.sample_id] = CheckResult(name=ROUND_TRIP, passed=False, detail=detail)
            continue
        quotes = [q for q in answer.sentences if q.strip()]
        found = [piece for quote in quotes for piece in locate_quote(chunk.text, quote)]
        spans = to_spans(chunk, found)
        outcome.spans[sample.sample_id] = spans
        outcome.results[sample.sample_id] = compare(sample, spans, quotes)
    return outcome
