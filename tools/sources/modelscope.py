"""ModelScope (魔搭), through the JSON API its website and its own MCP server use
(``GET /api/v1/dolphin/datasets`` to search, ``GET /api/v1/datasets/{owner}/{name}`` for one dataset).

The ``modelscope`` client package is not used: it pulls a large dependency tree for what is two GET requests.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ftds.tools.sources.base import SearchFilters, SourceAdapter, SourceError
from ftds.tools.sources.licenses import normalize_license
from ftds.tools.sources.models import DatasetDetails, DatasetResult

CARD_CHARS = 4000


def _date(epoch: Any) -> str | None:
    if not isinstance(epoch, int | float) or epoch <= 0:
        return None
    return datetime.fromtimestamp(epoch, tz=UTC).date().isoformat()


class ModelScopeAdapter(SourceAdapter):
    name = "modelscope"

    def to_result(self, row: dict[str, Any]) -> DatasetResult | None:
        namespace, name = row.get("Namespace"), row.get("Name")
        if not namespace or not name:
            return None
        dataset_id = f"{namespace}/{name}"
        raw_license = row.get("License") or None
        return DatasetResult(
            source=self.name,
            id=dataset_id,
            title=row.get("ChineseName") or name,
            description=str(row.get("Description") or "")[:500],
            license=normalize_license(raw_license),
            license_raw=raw_license,
            downloads=row.get("Downloads"),
            likes=row.get("Likes"),
            last_update=_date(row.get("GmtModified") or row.get("LastUpdatedTime")),
            url=f"{self.settings.modelscope_endpoint}/datasets/{dataset_id}",
            load_snippet=f'modelscope.msdatasets.MsDataset.load("{dataset_id}", split="train")',
        )

    def search(self, query: str, filters: SearchFilters, limit: int) -> list[DatasetResult]:
        body = self.get_json(
            f"{self.settings.modelscope_endpoint}/api/v1/dolphin/datasets",
            params={"Query": query, "PageSize": limit, "PageNumber": 1},
        )
        if not isinstance(body, dict) or not isinstance(body.get("Data"), list):
            raise SourceError(f"{self.name} answered without a Data list; its API may have changed")
        results = [self.to_result(row) for row in body["Data"] if isinstance(row, dict)]
        return [r for r in results if r is not None][:limit]

    def details(self, dataset_id: str) -> DatasetDetails:
        body = self.get_json(f"{self.settings.modelscope_endpoint}/api/v1/datasets/{dataset_id}")
        data = body.get("Data") if isinstance(body, dict) else None
        if not isinstance(data, dict):
            raise SourceError(f"{self.name} has no dataset {dataset_id}; check the id (owner/name)")
        namespace, _, name = dataset_id.partition("/")
        result = self.to_result({"Namespace": namespace, "Name": name, **data})
        assert result is not None
        readme = data.get("ReadmeContent")
        return DatasetDetails(result=result, card=readme[:CARD_CHARS] if isinstance(readme, str) and readme else None)
