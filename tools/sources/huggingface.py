"""Hugging Face Hub: its documented REST API (``GET /api/datasets``, ``GET /api/datasets/{id}``), parsed with
the official client's own model (``huggingface_hub.hf_api.DatasetInfo``), plus the dataset viewer API
(splits, features, first rows).

``HfApi`` itself is not used for the requests: it retries a failing Hub five times with backoff (about 25 s)
and sends through its own HTTP stack, so a Hub outage would stall the whole multi-registry search; here a
request fails once, within ``sources.timeout_s``, and the search moves on. The query parameters are the ones
``HfApi.list_datasets`` sends.

The Hub states licence, task, language, size and format as tags (``license:mit``,
``task_categories:question-answering``, ``language:zh``, ``size_categories:1K<n<10K``, ``format:json``);
they are read from there so a search needs one request, not one per dataset.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # huggingface_hub costs ~0.2 s to import: only searches pay for it
    from huggingface_hub.hf_api import DatasetInfo

from ftds.tools.sources.base import SearchFilters, SourceAdapter, SourceError, env_secret, load_snippet
from ftds.tools.sources.licenses import normalize_license
from ftds.tools.sources.models import DatasetDetails, DatasetResult, SourceFailure

CARD_CHARS = 4000


def _tag_values(tags: list[str] | None, prefix: str) -> list[str]:
    return [t.split(":", 1)[1] for t in tags or [] if t.startswith(prefix + ":")]


class HuggingFaceAdapter(SourceAdapter):
    name = "huggingface"

    def _headers(self) -> dict[str, str]:
        token = env_secret(self.settings.hf_token_env)
        return {"Authorization": f"Bearer {token}"} if token else {}

    def to_result(self, info: DatasetInfo) -> DatasetResult:
        tags = list(info.tags or [])
        licenses = _tag_values(tags, "license")
        raw_license = licenses[0] if licenses else None
        card = info.card_data
        if raw_license is None and card is not None and getattr(card, "license", None):
            value = card.license
            raw_license = value[0] if isinstance(value, list) and value else str(value)
        sizes = _tag_values(tags, "size_categories")
        pretty = getattr(card, "pretty_name", None) if card is not None else None
        return DatasetResult(
            source=self.name,
            id=info.id,
            title=pretty or info.id.split("/")[-1],
            description=(info.description or "").strip()[:500],
            task_types=_tag_values(tags, "task_categories"),
            domains=[t for t in tags if ":" not in t],
            languages=_tag_values(tags, "language"),
            size=sizes[0] if sizes else None,
            formats=_tag_values(tags, "format"),
            license=normalize_license(raw_license),
            license_raw=raw_license,
            downloads=info.downloads,
            likes=info.likes,
            last_update=info.last_modified.date().isoformat() if info.last_modified else None,
            url=f"{self.settings.hf_endpoint}/datasets/{info.id}",
            load_snippet=load_snippet(info.id),
        )

    def search(self, query: str, filters: SearchFilters, limit: int) -> list[DatasetResult]:
        params: list[tuple[str, str | int]] = [("limit", limit), ("full", "true")]
        if query:
            params.append(("search", query))
        for prefix, value in (
            ("task_categories", filters.task),
            ("language", filters.language),
            ("size_categories", filters.size),
            ("license", filters.license.lower() if filters.license else None),
        ):
            if value:
                params.append(("filter", f"{prefix}:{value}"))
        body = self.get_json(f"{self.settings.hf_endpoint}/api/datasets", params=params, headers=self._headers())
        if not isinstance(body, list):
            raise SourceError(f"{self.name} answered without a dataset list; its API may have changed")
        return [
            self.to_result(_dataset_info(item)) for item in body[:limit] if isinstance(item, dict) and item.get("id")
        ]

    def details(self, dataset_id: str) -> DatasetDetails:
        body = self.get_json(f"{self.settings.hf_endpoint}/api/datasets/{dataset_id}", headers=self._headers())
        if not isinstance(body, dict) or not body.get("id"):
            raise SourceError(f"{self.name} answered without dataset info for {dataset_id}")
        info = _dataset_info(body)
        details = DatasetDetails(result=self.to_result(info))
        card = info.card_data
        for config in (getattr(card, "configs", None) or []) if card is not None else []:
            if isinstance(config, dict) and config.get("config_name"):
                details.configs.append(str(config["config_name"]))
        details.card = self._card(dataset_id, details.failures)
        self._viewer(dataset_id, details)
        return details

    def _card(self, dataset_id: str, failures: list[SourceFailure]) -> str | None:
        import httpx  # lazily, as in base.py

        url = f"{self.settings.hf_endpoint}/datasets/{dataset_id}/resolve/main/README.md"
        try:
            response = self.client.get(url, headers=self._headers())
        except httpx.HTTPError as exc:
            failures.append(SourceFailure(source=self.name, error=f"dataset card not fetched: {type(exc).__name__}"))
            return None
        if response.status_code >= 400:
            failures.append(
                SourceFailure(source=self.name, error=f"dataset card not fetched: HTTP {response.status_code}")
            )
            return None
        return response.text[:CARD_CHARS]

    def _viewer(self, dataset_id: str, details: DatasetDetails) -> None:
        """Splits, features and first rows from the dataset viewer; a dataset it cannot read is a noted failure."""
        base = self.settings.hf_viewer_endpoint
        try:
            splits = self.get_json(f"{base}/splits", params={"dataset": dataset_id})
            for item in splits.get("splits", []):
                details.splits.setdefault(item["config"], []).append(item["split"])
            if not details.configs:
                details.configs = list(details.splits)
            if not details.splits:
                return
            config = next(iter(details.splits))
            split = details.splits[config][0]
            rows = self.get_json(f"{base}/first-rows", params={"dataset": dataset_id, "config": config, "split": split})
        except (SourceError, KeyError, AttributeError) as exc:
            details.failures.append(SourceFailure(source=self.name, error=f"viewer data not fetched: {exc}"))
            return
        for feature in rows.get("features", []):
            kind = feature.get("type", {})
            details.features[feature["name"]] = str(kind.get("dtype") or kind.get("_type") or kind)
        details.preview = [row["row"] for row in rows.get("rows", [])[:5]]
        details.result.load_snippet = load_snippet(dataset_id, config if config != "default" else None, split)


def _dataset_info(data: dict[str, Any]) -> DatasetInfo:
    from huggingface_hub.hf_api import DatasetInfo

    return DatasetInfo(**data)
