"""Find existing datasets before synthesising new ones: registry search, licences, samples.

Plain functions, no MCP or LangGraph: ``search_sources`` (all registries + the shipped catalog),
``get_dataset_details`` (card, configs, splits, features, preview), ``fetch_sample`` (load a slice with
``datasets`` and hand it to the format tools), ``check_license`` and ``sources_card_section``.
"""

from __future__ import annotations

from ftds.tools.config import SourcesSettings
from ftds.tools.sources.base import SearchFilters, SourceError
from ftds.tools.sources.card import sources_card_section
from ftds.tools.sources.catalog import catalog_version, load_catalog, search_catalog
from ftds.tools.sources.fetch import FetchedSample, FetchError, fetch_sample
from ftds.tools.sources.licenses import LICENSES, IntendedUse, LicenseCheck, check_license, normalize_license
from ftds.tools.sources.models import DatasetDetails, DatasetResult, SearchOutcome, SourceFailure
from ftds.tools.sources.search import ADAPTERS, make_adapter, search_sources, with_warnings

__all__ = [
    "ADAPTERS",
    "LICENSES",
    "DatasetDetails",
    "DatasetResult",
    "FetchError",
    "FetchedSample",
    "IntendedUse",
    "LicenseCheck",
    "SearchFilters",
    "SearchOutcome",
    "SourceError",
    "SourceFailure",
    "SourcesSettings",
    "catalog_version",
    "check_license",
    "fetch_sample",
    "get_dataset_details",
    "load_catalog",
    "normalize_license",
    "search_catalog",
    "search_sources",
    "sources_card_section",
]


def get_dataset_details(
    dataset_id: str, source: str = "huggingface", settings: SourcesSettings | None = None
) -> DatasetDetails:
    """Details of one dataset from its registry; offline (or for a catalog-only entry) from the catalog."""
    settings = settings or SourcesSettings()
    entries = [r for r in search_catalog("", limit=10_000) if r.id.lower() == dataset_id.lower()]
    if settings.offline or source not in ADAPTERS:
        if entries:  # result.origin == "catalog" tells the caller where the answer came from
            return DatasetDetails(result=entries[0])
        raise SourceError(
            f"{dataset_id} is not in the shipped catalog and {source} cannot be asked (offline or no API); "
            "check the id or search first"
        )
    adapter = make_adapter(source, settings)
    try:
        details = adapter.details(dataset_id)
    except SourceError as exc:
        if not entries:
            raise
        # The registry failed but the catalog knows the dataset: answer from it and name the failure.
        return DatasetDetails(result=entries[0], failures=[SourceFailure(source=source, error=str(exc))])
    finally:
        adapter.close()
    with_warnings(details.result)
    return details
