"""Kaggle, through its documented REST API (``GET /api/v1/datasets/list``, ``/datasets/view/{owner}/{slug}``)
with HTTP basic auth from the user's API token.

The official ``kaggle`` package authenticates when it is imported and exits without credentials, so it
cannot be imported by a tool that must also work for users without a Kaggle account; httpx is used instead.
"""

from __future__ import annotations

from typing import Any

from ftds.tools.sources.base import SearchFilters, SourceAdapter, SourceError, env_secret, human_bytes
from ftds.tools.sources.licenses import normalize_license
from ftds.tools.sources.models import DatasetDetails, DatasetResult

# The list endpoint filters licences by family only.
_LICENSE_FAMILY = {"cc": "cc", "gpl": "gpl", "odb": "odb", "odc": "odb", "odbl": "odb"}


class KaggleAdapter(SourceAdapter):
    name = "kaggle"

    def _auth(self) -> tuple[str, str]:
        user, key = env_secret(self.settings.kaggle_username_env), env_secret(self.settings.kaggle_key_env)
        if not user or not key:
            raise SourceError(
                f"kaggle needs your API credentials: set {self.settings.kaggle_username_env} and "
                f"{self.settings.kaggle_key_env} (kaggle.com -> Settings -> API -> Create New Token); "
                "skipped Kaggle"
            )
        return user, key

    def to_result(self, row: dict[str, Any]) -> DatasetResult | None:
        ref = row.get("ref")
        if not ref:
            return None
        raw_license = row.get("licenseName") or None
        tags = [t.get("name") for t in row.get("tags") or [] if isinstance(t, dict) and t.get("name")]
        updated = row.get("lastUpdated")
        return DatasetResult(
            source=self.name,
            id=ref,
            title=row.get("title") or ref,
            description=str(row.get("subtitle") or row.get("description") or "")[:500],
            domains=tags,
            size=human_bytes(row.get("totalBytes")),
            license=normalize_license(raw_license),
            license_raw=raw_license,
            downloads=row.get("downloadCount"),
            likes=row.get("voteCount"),
            last_update=str(updated)[:10] if updated else None,
            url=row.get("url") or f"https://www.kaggle.com/datasets/{ref}",
            load_snippet=f'kagglehub.dataset_download("{ref}")',
        )

    def search(self, query: str, filters: SearchFilters, limit: int) -> list[DatasetResult]:
        params: dict[str, Any] = {"search": query, "page": 1}
        if filters.license and filters.license.lower().split("-")[0] in _LICENSE_FAMILY:
            params["license"] = _LICENSE_FAMILY[filters.license.lower().split("-")[0]]
        body = self.get_json(f"{self.settings.kaggle_endpoint}/datasets/list", params=params, auth=self._auth())
        if not isinstance(body, list):
            raise SourceError(f"{self.name} answered without a dataset list; its API may have changed")
        results = [self.to_result(row) for row in body if isinstance(row, dict)]
        return [r for r in results if r is not None][:limit]

    def details(self, dataset_id: str) -> DatasetDetails:
        body = self.get_json(f"{self.settings.kaggle_endpoint}/datasets/view/{dataset_id}", auth=self._auth())
        result = self.to_result(body) if isinstance(body, dict) else None
        if result is None:
            raise SourceError(f"{self.name} has no dataset {dataset_id}; check the id (owner/slug)")
        return DatasetDetails(result=result, card=(body.get("description") or None))
