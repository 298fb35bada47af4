"""The studio's records: what the storage functions take and return (pydantic, so the web API and the MCP
tools serialise them without a second definition)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

Decision = Literal["accept", "reject"]
SortKey = Literal["position", "score", "label", "source", "updated", "decision"]


class StudioError(ValueError):
    """A request the studio cannot carry out; the message says what to change."""


class NotFound(StudioError):
    pass


class Conflict(StudioError):
    """Someone else changed the data since it was read (stale version, preview out of date, undo clash)."""


class DatasetInfo(BaseModel):
    id: int
    name: str
    task: str
    format: str
    status: str = Field(description="imported | live (a running build, re-read on sync) | finished")
    source: str = Field(default="", description="Folder or file the dataset was imported from.")
    version: int = Field(description="Bumped by every committed change.")
    counts: dict[str, int] = Field(default_factory=dict, description="total, accept, reject, reviewed")
    labels: int = 0
    created_at: float
    updated_at: float
    meta: dict[str, Any] = Field(default_factory=dict)


class SampleFilter(BaseModel):
    """Which samples an operation sees; every field optional, all given fields must hold."""

    label: str | None = Field(default=None, description="Label path; its sub-labels match too. '' = unlabelled.")
    decision: Decision | None = None
    min_score: float | None = Field(default=None, ge=0, le=1)
    max_score: float | None = Field(default=None, ge=0, le=1)
    failed_check: str | None = Field(default=None, description="Name of a check the sample failed; '*' = any.")
    source: str | None = None
    reviewer: str | None = Field(default=None, description="Last human reviewer; '' = not reviewed by a person.")
    split: str | None = None
    assigned_to: str | None = Field(default=None, description="Samples in this reviewer's assignments.")
    query: str | None = Field(default=None, description="Free text searched in question, answer and reasoning.")
    sample_ids: list[str] | None = None


class SampleRow(BaseModel):
    """One line of the review table."""

    id: int
    sample_id: str
    position: int
    split: str
    question: str
    answer: str
    label: str | None
    decision: str
    score: float | None
    failed_checks: list[str]
    source: str
    reviewer: str
    reason: str
    version: int


class SamplePage(BaseModel):
    total: int
    offset: int
    limit: int
    rows: list[SampleRow]


class SampleDetail(BaseModel):
    row: SampleRow
    sample: dict[str, Any] = Field(description="The ftds Sample record as JSON.")
    passage: str | None = Field(default=None, description="The source passage (the chunk text) when known.")
    passage_start: int | None = Field(default=None, description="Document offset where `passage` starts.")
    history: list[AuditEntry] = Field(default_factory=list)


class FieldChange(BaseModel):
    sample_id: str
    field: str
    before: Any
    after: Any


class Plan(BaseModel):
    """A bulk change worked out but not applied: every change listed, and a fingerprint so that applying
    it refuses when the data moved on since the preview."""

    action: str
    total: int = Field(description="Number of field changes.")
    samples: int = Field(description="Number of samples touched.")
    changes: list[FieldChange]
    fingerprint: str


class AuditEntry(BaseModel):
    id: int
    actor: str
    at: float
    action: str
    summary: str
    undone: bool = False
    changes: int = 0
    diff: list[FieldChange] = Field(default_factory=list)


class ApplyResult(BaseModel):
    audit_id: int | None
    changed: int
    samples: int
    version: int


class LabelCount(BaseModel):
    label: str
    total: int
    accepted: int
    share: float


class Balance(BaseModel):
    labels: list[LabelCount]
    unlabelled: int
    outside_tree: list[str] = Field(description="Labels used by samples but missing from the tree.")
    imbalance: float | None = Field(description="Largest / smallest accepted count over used labels.")


class Assignment(BaseModel):
    id: int
    reviewer: str
    label_scope: str | None = None
    range_start: int | None = None
    range_end: int | None = None
    samples: int = 0


class PairAgreement(BaseModel):
    reviewers: tuple[str, str]
    samples: int
    observed: float
    expected: float
    kappa: float | None = Field(description="Cohen's kappa; None when undefined (fewer than 2 samples).")
    matrix: dict[str, dict[str, int]]


TEXT_FIELDS = ("question", "answer", "reasoning", "rejected_answer")


class BulkOp(BaseModel):
    """One bulk change over the samples a filter selects."""

    kind: Literal["decide", "replace", "relabel"]
    filter: SampleFilter = Field(default_factory=SampleFilter)
    decision: Decision | None = Field(default=None, description="decide: accept or reject")
    reason: str = Field(default="", description="decide: why (required to reject)")
    find: str = Field(default="", description="replace: text (or regular expression) to find")
    replace: str = Field(default="", description="replace: replacement")
    fields: list[str] = Field(default_factory=lambda: list(TEXT_FIELDS), description="replace: fields searched")
    regex: bool = False
    case_sensitive: bool = True
    label: str | None = Field(default=None, description="relabel: the new label ('' removes the label)")


class ImportResult(BaseModel):
    dataset: DatasetInfo
    added: int = 0
    updated: int = 0
    kept: int = Field(default=0, description="Samples a person changed, left as they are by a re-read.")
    errors: list[str] = Field(default_factory=list, description="Lines or records that could not be read.")


class RecordProblem(BaseModel):
    sample_id: str
    message: str


class ValidationSummary(BaseModel):
    format: str
    total: int
    valid: int
    ok: bool
    errors: list[RecordProblem] = Field(default_factory=list)


class ExportSummary(BaseModel):
    out_dir: str
    format: str
    counts: dict[str, int]
    files: dict[str, str]
    rejected: int
    errors: list[RecordProblem] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)


SampleDetail.model_rebuild()
