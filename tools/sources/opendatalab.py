"""OpenDataLab (Shanghai AI Lab), through the search endpoint its official SDK calls
(``POST /api/datasets/list`` with ``keywords``; the answer's ``data.list`` holds ``name``,
``introductionText``, ``downloadCount``, ``fileBytes``).

The SDK itself is not used: it wants a login at start-up and exits the process on an empty result.
"""

from __future__ import annotations

from typing import Any

from ftds.tools.sources.base import SearchFilters, SourceAdapter, SourceError, human_bytes
from ftds.tools.sources.licenses import normalize_license
from ftds.tools.sources.models import DatasetResult


def _license(row: dict[str, Any]) -> str | None:
    """The licence if the item carries one; list items often do not, and then it stays unknown."""
    value = row.get("license")
    if isinstance(value, str) and value:
        return value
    licenses = row.get("licenses")
    if isinstance(licenses, list) and licenses:
        first = licenses[0]
        return str(first.get("name") if isinstance(first, dict) else first)
    return None


class OpenDataLabAdapter(SourceAdapter):
    name = "opendatalab"

    def to_result(self, row: dict[str, Any]) -> DatasetResult | None:
        name = row.get("name")
        if not name:
            return None
        raw_license = _license(row)
        return DatasetResult(
            source=self.name,
            id=f"OpenDataLab/{name}",
            title=name,
            description=str(row.get("introductionText") or "")[:500],
            size=human_bytes(row.get("fileBytes")),
            license=normalize_license(raw_license),
            license_raw=raw_license,
            downloads=row.get("downloadCount"),
            url=f"{self.settings.opendatalab_endpoint}/OpenDataLab/{name}",
            load_snippet=f'openxlab.dataset.get(dataset_repo="OpenDataLab/{name}", target_path=".")',
        )

    def search(self, query: str, filters: SearchFilters, limit: int) -> list[DatasetResult]:
        body = self.request_json(
            "POST",
            f"{self.settings.opendatalab_endpoint}/api/datasets/list",
            json={"backend": False, "keywords": query, "pageSize": limit, "state": ["online"]},
        )
        rows = (
            body.get("data", {}).get("list") if isinstance(body, dict) and isinstance(body.get("data"), dict) else None
        )
        if not isinstance(rows, list):
            raise SourceError(f"{self.name} answered without data.list; its API may have changed")
        results = [self.to_result(row) for row in rows if isinstance(row, dict)]
        return [r for r in results if r is not None][:limit]
