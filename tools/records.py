"""The records every layer shares: documents, chunks, samples, verdicts and run summaries.

One definition each, so that the CLI, the MCP server, the graph and the exporters can never disagree
about what a sample is or where it came from. Provenance travels with every chunk and every sample so a
trainer-ready record can always be traced back to the file, page, span and heading it was made from.
"""

from __future__ import annotations

import bisect
import hashlib
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ftds.tools.reasons import check_reason

ItemStatus = Literal["done", "rejected", "failed"]
Decision = Literal["accept", "revise", "reject"]


def content_hash(*parts: str, length: int = 16) -> str:
    """Stable short id from content, so re-ingesting the same text gives the same ids."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode("utf-8"))
        digest.update(b"\x1f")
    return digest.hexdigest()[:length]


class Provenance(BaseModel):
    """Where a piece of text came from: file (relative to the input root), page, span, headings."""

    model_config = ConfigDict(frozen=True)

    source: str = Field(description="Source file path, relative to the input root.")
    page: int | None = Field(default=None, description="1-based first page, where the format has pages.")
    page_end: int | None = Field(default=None, description="1-based last page when a chunk spans pages.")
    char_start: int = Field(ge=0, description="Start offset in the cleaned document text.")
    char_end: int = Field(ge=0, description="End offset (exclusive) in the cleaned document text.")
    heading_path: list[str] = Field(default_factory=list, description="Outline path, outermost first.")
    chunk_id: str | None = Field(default=None, description="Id of the chunk this came from.")
    overlap_chars: int = Field(
        default=0, ge=0, description="Leading characters of the chunk repeated from the previous chunk."
    )


class Document(BaseModel):
    """A loaded, cleaned document: the text every chunk span points into."""

    doc_id: str
    source: str = Field(description="Path relative to the input root.")
    text: str
    title: str | None = None
    language: str | None = Field(default=None, description="Detected language code, e.g. 'zh' or 'en'.")
    format: str = Field(description="Parser used, e.g. 'markdown', 'text', 'pdf'.")
    page_starts: list[int] = Field(
        default_factory=list, description="Offsets in `text` where each page starts (empty if no pages)."
    )
    record_starts: list[int] = Field(
        default_factory=list,
        description="Offsets where each record of a tabular file (CSV/XLSX/JSON/JSONL) starts; one unit each.",
    )
    record_labels: list[str] = Field(
        default_factory=list, description="Where each record came from, e.g. 'row 12' or 'Sheet1 row 3'."
    )
    metadata: dict[str, str] = Field(default_factory=dict)

    def page_of(self, offset: int) -> int | None:
        """1-based page containing `offset`, or None for formats without pages."""
        if not self.page_starts:
            return None
        return max(1, bisect.bisect_right(self.page_starts, offset))


class Chunk(BaseModel):
    """A span of a document that one generation call sees."""

    chunk_id: str
    doc_id: str
    index: int = Field(ge=0, description="Position of the chunk within its document.")
    text: str
    provenance: Provenance

    @property
    def heading_context(self) -> str:
        return " > ".join(self.provenance.heading_path)


class ReviewScores(BaseModel):
    """Rubric scores in [0, 1] per dimension; the weighted total decides the verdict."""

    grounded: float = Field(ge=0, le=1, description="Answer is supported by the source text.")
    question: float = Field(ge=0, le=1, description="Question is clear, self-contained and worth asking.")
    answer: float = Field(ge=0, le=1, description="Answer is correct and complete.")
    language: float = Field(ge=0, le=1, description="Language and format are right.")


class EvidenceSpan(BaseModel):
    """A stretch of the source document that supports an answer, located by code (never taken on the model's
    word): ``char_start``/``char_end`` index the cleaned document text, like :class:`Provenance`."""

    char_start: int = Field(ge=0)
    char_end: int = Field(ge=0)
    text: str = Field(description="The document text at that span.")
    match: Literal["exact", "near"] = Field(default="exact", description="How the quote was found in the chunk.")
    score: float = Field(default=1.0, ge=0, le=1, description="Similarity of the quote to the span (1 = exact).")


class CheckResult(BaseModel):
    """One verdict of one check on one sample (evidence located, round trip, key terms, facts, judge ...)."""

    name: str = Field(description="The check, e.g. 'evidence', 'round_trip', 'key_terms', 'facts', 'judge'.")
    passed: bool
    detail: str = Field(default="", description="Why it failed, or what it compared.")
    score: float | None = Field(
        default=None, description="The model's score when the check reads one (the answer check's P(yes)), else null."
    )


class PairCritique(BaseModel):
    """The critique of one user-supplied pair: always one per pair, in input order."""

    index: int = Field(description="1-based position of the pair in the input.")
    question: str
    decision: Literal["accept", "revise", "reject", "failed"]
    total: float | None = Field(default=None, description="Weighted rubric score in [0, 1]; null if not scored.")
    scores: ReviewScores | None = None
    rationale: str = ""
    feedback: str = Field(default="", description="What to change, for 'revise'.")
    reason: str = Field(default="", description="Reason code for reject/failed, e.g. precheck:unsupported.")
    evidence: list[EvidenceSpan] = Field(
        default_factory=list, description="Spans of the source that support the answer, located by code."
    )
    checks: list[CheckResult] = Field(default_factory=list, description="Every check run on the pair.")


PRECHECK = "precheck"  # ReviewVerdict.reviewer of a verdict the pre-check gave
CHECKS = "checks"  # ReviewVerdict.reviewer of an acceptance the checks gave alone (no judge call)


class ReviewVerdict(BaseModel):
    """The reviewer's judgement on one sample."""

    decision: Decision
    total: float = Field(ge=0, le=1)
    scores: ReviewScores | None = None
    rationale: str = ""
    feedback: str = Field(default="", description="What to change, when the decision is 'revise'.")
    reviewer: str = Field(default="", description="Which check decided: a model name or 'precheck'.")

    @property
    def from_precheck(self) -> bool:
        """Decided by the lexical pre-check, not a model: ``rationale`` then holds the pre-check's reason code."""
        return self.reviewer == PRECHECK

    @property
    def from_code(self) -> bool:
        """Decided by code, the pre-check or a code check (reviewer ``check:<name>``), not a model:
        ``rationale`` then holds the reason code (``precheck:not_a_question``, ``check:key_terms``)."""
        return self.reviewer == PRECHECK or self.reviewer.startswith("check:")


class Rejection(BaseModel):
    """Why a whole sample was not accepted; kept with the sample in ``rejected.jsonl`` so it can be rescued."""

    reason: str = Field(description="Reason code, e.g. 'precheck:unsupported' or 'duplicate'.")
    detail: str = ""


class Sample(BaseModel):
    """One generated training example with everything needed to audit it."""

    sample_id: str
    task: str = "qa"
    question: str
    answer: str
    reasoning: str | None = None
    label: str | None = None
    domain: str
    language: str | None = None
    review: ReviewVerdict | None = None
    provenance: Provenance
    model: str = Field(description="Generator endpoint/model that wrote the sample.")
    prompt_version: str
    revision_rounds: int = 0
    turns: list[dict[str, str]] | None = Field(
        default=None, description="Dialogue tasks: alternating {role, content} turns (user first)."
    )
    chain_of_thought: list[str] | None = Field(default=None, description="CoT tasks: the reasoning steps.")
    rejected_answer: str | None = Field(default=None, description="Preference tasks: the worse candidate.")
    reward_score: float | None = Field(default=None, ge=0, le=5, description="Reward tasks: score 0..5.")
    evidence: list[EvidenceSpan] = Field(
        default_factory=list, description="Spans of the source document that support the answer (code-located)."
    )
    checks: list[CheckResult] = Field(default_factory=list, description="Every check run on the sample.")
    rejection: Rejection | None = Field(default=None, description="Set on samples kept in rejected.jsonl.")

    @classmethod
    def new_id(cls, chunk_id: str, question: str, answer: str) -> str:
        return content_hash(chunk_id, question, answer)


class ItemOutcome(BaseModel):
    """The fate of one unit of work: every chunk and every sample ends in exactly one of these."""

    item_id: str
    kind: Literal["file", "chunk", "sample"]
    status: ItemStatus
    reason: str = Field(
        default="",
        description="For chunks and samples a reason code (ftds.tools.reasons: STAGE:WHAT); for files the "
        "reader's sentence saying what is wrong and what to do.",
    )
    detail: str = Field(default="", description="Raw model output or error text kept for inspection.")

    @field_validator("reason", mode="before")
    @classmethod
    def _plain_text(cls, value: object) -> object:
        return str.__str__(value) if isinstance(value, str) else value  # a Reason member is kept as its code

    @model_validator(mode="after")
    def _reason_code(self) -> ItemOutcome:
        if self.kind != "file" and self.reason:
            check_reason(self.reason)
        return self


class FileReport(BaseModel):
    """What happened to one input file."""

    source: str
    status: Literal["loaded", "skipped", "failed"]
    reason: str = ""
    chunks: int = 0
    partial: bool = Field(
        default=False, description="Loaded, but some lines or records could not be read (named in the reason)."
    )


class TokenUsage(BaseModel):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    calls: int = 0
    cached_calls: int = Field(default=0, description="Calls answered from the response cache (not paid).")
    cost: float = Field(default=0.0, description="Price of the calls at the configured per-1M-token rates.")

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: TokenUsage) -> TokenUsage:
        return TokenUsage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            calls=self.calls + other.calls,
            cached_calls=self.cached_calls + other.cached_calls,
            cost=round(self.cost + other.cost, 8),
        )


class BatchFigures(BaseModel):
    """What a run sent through an endpoint's Batch API (``--batch``)."""

    batches: int = Field(default=0, description="Batches created by this process.")
    resumed: int = Field(default=0, description="Batches created by an earlier, interrupted process and waited on.")
    requests: int = Field(default=0, description="Requests answered from a batch (resumed ones included).")
    failed: int = Field(default=0, description="Requests a batch returned with an error (or no line) instead.")

    def merged(self, other: BatchFigures) -> BatchFigures:
        return BatchFigures(
            batches=self.batches + other.batches,
            resumed=self.resumed + other.resumed,
            requests=self.requests + other.requests,
            failed=self.failed + other.failed,
        )


class EndpointFigures(BaseModel):
    """What one endpoint's adaptive limit did during a run (in ``report.json`` under ``endpoints``)."""

    ceiling: int = Field(description="llm.concurrency: the most calls ever in flight.")
    limit: int = Field(description="The limit when the run ended.")
    min_limit: int = Field(description="The lowest the limit went.")
    rate_limited: int = Field(default=0, description="HTTP 429 answers seen (retried attempts included).")
    timeouts: int = Field(default=0, description="Attempts that timed out.")
    decreases: int = Field(default=0, description="Times the limit was halved.")
    increases: int = Field(default=0, description="Times the limit grew by one.")
    batch: BatchFigures | None = Field(default=None, description="Set when the calls went through the Batch API.")

    def merged(self, other: EndpointFigures) -> EndpointFigures:
        """Two model objects on one endpoint (generator and reviewer): their counts add up."""
        batches = [f for f in (self.batch, other.batch) if f is not None]
        return EndpointFigures(
            batch=batches[0].merged(batches[1]) if len(batches) == 2 else (batches[0] if batches else None),
            ceiling=max(self.ceiling, other.ceiling),
            limit=min(self.limit, other.limit),
            min_limit=min(self.min_limit, other.min_limit),
            rate_limited=self.rate_limited + other.rate_limited,
            timeouts=self.timeouts + other.timeouts,
            decreases=self.decreases + other.decreases,
            increases=self.increases + other.increases,
        )


class ExecutorFigures(BaseModel):
    """Where a run's per-chunk flows ran when not in the driver's process (``report.json`` ``executor``)."""

    name: str = Field(description="ray")
    address: str = Field(default="", description="The cluster's address; empty for a Ray started by the run.")
    workers: int = Field(description="Actors that ran chunks (each holds its models once).")
    lost_workers: int = Field(default=0, description="Actors lost during the run (node or process gone).")
    resent_chunks: int = Field(default=0, description="Chunks sent again to a live actor after a loss.")


class RunSummary(BaseModel):
    """What `report.json` holds: every file, chunk and sample accounted for."""

    run_id: str
    domain: str
    files: list[FileReport] = Field(default_factory=list)
    files_loaded: int = 0
    files_failed: list[ItemOutcome] = Field(default_factory=list)
    files_skipped: list[ItemOutcome] = Field(default_factory=list)
    chunks: int = 0
    chunks_selected: int = Field(default=0, description="Chunks sent to the generator (after --max-chunks).")
    chunks_processed: int = 0
    chunks_failed: list[ItemOutcome] = Field(default_factory=list)
    generated: int = 0
    accepted: int = 0
    rejected: int = 0
    failed: int = 0
    duplicates_removed: int = 0
    acceptance_rate: float = Field(default=0.0, description="accepted / generated")
    coverage: float = Field(default=0.0, description="Share of selected chunks with an accepted sample.")
    revision_rounds: int = Field(default=0, description="Revision rounds spent over all samples.")
    task: str = Field(default="qa", description="Record type produced (qa, cot, dialogue, ...).")
    target: int | None = Field(default=None, description="Accepted samples asked for, if any.")
    rejection_reasons: dict[str, int] = Field(default_factory=dict)
    failure_reasons: dict[str, int] = Field(default_factory=dict)
    rejected_items: list[ItemOutcome] = Field(default_factory=list)
    failed_items: list[ItemOutcome] = Field(default_factory=list)
    splits: dict[str, int] = Field(default_factory=dict)
    split_grouped_by: str = ""
    split_notes: list[str] = Field(default_factory=list)
    leakage_pairs: int = Field(default=0, description="Near-duplicate pairs found across splits after splitting.")
    outputs: dict[str, str] = Field(default_factory=dict)
    generator_usage: TokenUsage = Field(default_factory=TokenUsage)
    reviewer_usage: TokenUsage = Field(default_factory=TokenUsage)
    models: dict[str, str] = Field(default_factory=dict)
    endpoints: dict[str, EndpointFigures] = Field(
        default_factory=dict, description="Per endpoint: the adaptive concurrency limit and the 429s/timeouts seen."
    )
    executor: ExecutorFigures | None = Field(
        default=None, description="The Ray executor's figures (None: the chunks ran in the driver's process)."
    )
    wall_time_s: float = 0.0

    @property
    def complete(self) -> bool:
        """True when nothing asked for failed: no file, chunk or sample failure, no file read only in part."""
        partial = any(f.partial for f in self.files)  # e.g. a JSONL with a bad line: the rest was used
        return not (self.files_failed or self.chunks_failed or self.failed or partial)
