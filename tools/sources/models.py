"""The normalised shape every registry's answer is mapped to, so callers compare like with like."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

Origin = Literal["live", "catalog"]


class DatasetResult(BaseModel):
    """One dataset as found on one registry (or in the shipped catalog)."""

    source: str = Field(description="Registry: huggingface, modelscope, kaggle, opendatalab, google, awesome, web.")
    id: str = Field(description="The registry's own id, e.g. 'rajpurkar/squad' or 'owner/slug'.")
    title: str
    description: str = ""
    task_types: list[str] = Field(default_factory=list)
    languages: list[str] = Field(default_factory=list)
    domains: list[str] = Field(default_factory=list)
    size: str | None = Field(default=None, description="Size as the registry states it (rows, bucket or bytes).")
    formats: list[str] = Field(default_factory=list)
    license: str = Field(default="unknown", description="SPDX id where known, else 'other' or 'unknown'.")
    license_raw: str | None = Field(default=None, description="The licence text exactly as the registry gave it.")
    downloads: int | None = None
    likes: int | None = None
    last_update: str | None = Field(default=None, description="ISO date of the last change, when known.")
    url: str
    load_snippet: str | None = Field(default=None, description="How to load a slice of it in Python.")
    origin: Origin = Field(default="live", description="live = returned by the registry now; catalog = shipped list.")
    warnings: list[str] = Field(default_factory=list)


class SourceFailure(BaseModel):
    """A registry that did not answer; the search goes on without it."""

    source: str
    error: str = Field(description="What went wrong and what to do about it.")


class SearchOutcome(BaseModel):
    query: str
    results: list[DatasetResult]
    failures: list[SourceFailure] = Field(default_factory=list)
    sources_queried: list[str] = Field(default_factory=list, description="Registries asked live.")
    used_catalog: bool = Field(description="True when at least one result comes from the shipped catalog.")
    offline: bool = Field(description="True when no network call was made at all.")
    search_links: dict[str, str] = Field(
        default_factory=dict, description="Ready search pages for registries without an API (Google Dataset Search)."
    )

    @property
    def partial(self) -> bool:
        return bool(self.failures)


class DatasetDetails(BaseModel):
    """A closer look at one dataset: its card, configurations, splits, features and a few rows."""

    result: DatasetResult
    card: str | None = Field(default=None, description="Dataset card / README text (truncated).")
    configs: list[str] = Field(default_factory=list)
    splits: dict[str, list[str]] = Field(default_factory=dict, description="Config name -> split names.")
    features: dict[str, str] = Field(default_factory=dict, description="Column name -> type.")
    preview: list[dict[str, Any]] = Field(default_factory=list, description="First rows, when the registry has them.")
    failures: list[SourceFailure] = Field(default_factory=list, description="Parts that could not be fetched.")
