"""Search every registry at once and return one normalised answer.

Registries are queried in parallel threads (each adapter is a plain blocking client); a registry that
times out, rate-limits or is down becomes a named failure while the others' results still come back.
The shipped catalog always contributes: alone when offline, merged (live first, no duplicates) when online.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from ftds.tools.config import SourcesSettings
from ftds.tools.sources.awesome import AwesomeAdapter, search_entries, snapshot
from ftds.tools.sources.base import SearchFilters, SourceAdapter, SourceError
from ftds.tools.sources.catalog import search_catalog
from ftds.tools.sources.google import google_search_link
from ftds.tools.sources.huggingface import HuggingFaceAdapter
from ftds.tools.sources.kaggle import KaggleAdapter
from ftds.tools.sources.licenses import ETHICS_WARNING, needs_ethics_review, normalize_license
from ftds.tools.sources.models import DatasetResult, SearchOutcome, SourceFailure
from ftds.tools.sources.modelscope import ModelScopeAdapter
from ftds.tools.sources.opendatalab import OpenDataLabAdapter

if TYPE_CHECKING:
    import httpx

ADAPTERS: dict[str, type[SourceAdapter]] = {
    "huggingface": HuggingFaceAdapter,
    "modelscope": ModelScopeAdapter,
    "kaggle": KaggleAdapter,
    "opendatalab": OpenDataLabAdapter,
    "awesome": AwesomeAdapter,
}


def make_adapter(name: str, settings: SourcesSettings, client: httpx.Client | None = None) -> SourceAdapter:
    if name not in ADAPTERS:
        raise ValueError(f"unknown source {name!r}; choose from {', '.join(ADAPTERS)}")
    return ADAPTERS[name](settings, client)


def with_warnings(result: DatasetResult) -> DatasetResult:
    """Adds the ethics-review warning to medical/biological datasets."""
    texts = (result.title, result.description, *result.domains, *result.task_types)
    if needs_ethics_review(*texts) and ETHICS_WARNING not in result.warnings:
        result.warnings.append(ETHICS_WARNING)
    return result


def _run(adapter: SourceAdapter, query: str, filters: SearchFilters, limit: int) -> list[DatasetResult]:
    try:
        return adapter.search(query, filters, limit)
    finally:
        adapter.close()


def search_sources(
    query: str,
    settings: SourcesSettings | None = None,
    *,
    filters: SearchFilters | None = None,
    sources: Sequence[str] | None = None,
    limit: int | None = None,
    offline: bool | None = None,
) -> SearchOutcome:
    """Search the chosen registries (default: all in settings) plus the catalog; never raises for a registry."""
    settings = settings or SourcesSettings()
    filters = filters or SearchFilters()
    limit = limit or settings.limit_per_source
    offline = settings.offline if offline is None else offline
    chosen = list(settings.sources if sources is None else sources)
    unknown = [s for s in chosen if s not in (*ADAPTERS, "google")]
    if unknown:
        raise ValueError(f"unknown source(s) {', '.join(unknown)}; choose from {', '.join([*ADAPTERS, 'google'])}")
    outcome = SearchOutcome(query=query, results=[], used_catalog=False, offline=offline)
    if "google" in chosen:
        outcome.search_links["google"] = google_search_link(query, filters.language)
    live: list[DatasetResult] = []
    if not offline:
        names = [s for s in chosen if s in ADAPTERS]
        outcome.sources_queried = names
        with ThreadPoolExecutor(max_workers=max(1, len(names))) as pool:
            futures = {name: pool.submit(_run, make_adapter(name, settings), query, filters, limit) for name in names}
            for name, future in futures.items():
                try:
                    live.extend(future.result())
                except SourceError as exc:
                    outcome.failures.append(SourceFailure(source=name, error=str(exc)))
                except Exception as exc:  # a registry's surprise must not sink the others' results
                    outcome.failures.append(
                        SourceFailure(source=name, error=f"{name} failed: {type(exc).__name__}: {exc}")
                    )
    catalog = search_catalog(query, filters, limit=limit)
    awesome_failed = any(f.source == "awesome" for f in outcome.failures)
    if "awesome" in chosen and (offline or awesome_failed):
        catalog += search_entries(snapshot(), query, limit, "catalog")  # the shipped snapshot stands in
    seen = {(r.source, r.id.lower()) for r in live}
    merged = live + [r for r in catalog if (r.source, r.id.lower()) not in seen]
    if filters.license:
        # Not every registry can filter by licence; the merged answer honours the filter for all of them.
        wanted = normalize_license(filters.license)
        merged = [r for r in merged if r.license == wanted]
    outcome.results = [with_warnings(r) for r in merged]
    outcome.used_catalog = any(r.origin == "catalog" for r in outcome.results)
    return outcome
