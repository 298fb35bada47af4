"""The interface every registry adapter implements, and the one place HTTP faults become messages.

An adapter turns a query into :class:`DatasetResult` objects. Anything that goes wrong on the wire
(timeout, rate limit, server down, a body that is not the documented shape) is raised as
:class:`SourceError` with a sentence a user can act on; the search collects those as failures and carries
on with the other registries.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any

from ftds.tools.config import SourcesSettings
from ftds.tools.sources.models import DatasetDetails, DatasetResult

if TYPE_CHECKING:  # httpx (with its CLI's rich) costs ~80 ms: the MCP server's start-up must not pay for it
    import httpx

USER_AGENT = "ftds-agent/0.1 (dataset source search)"


class SourceError(RuntimeError):
    """A registry could not answer; the message names the registry and says what to do."""


class SearchFilters:
    """Optional narrowing. Each adapter passes what its API accepts (the Hub takes all of them, Kaggle a
    licence family, ModelScope and OpenDataLab only the query); the licence filter is then enforced on
    every live result, and the catalog applies all of them."""

    def __init__(
        self,
        task: str | None = None,
        language: str | None = None,
        license: str | None = None,
        size: str | None = None,
        domain: str | None = None,
    ) -> None:
        self.task, self.language, self.license, self.size, self.domain = task, language, license, size, domain


class SourceAdapter(ABC):
    """One registry. ``name`` is the value users pass in ``--source``."""

    name: str

    def __init__(self, settings: SourcesSettings, client: httpx.Client | None = None) -> None:
        self.settings = settings
        self._client = client

    @property
    def client(self) -> httpx.Client:
        if self._client is None:
            import httpx

            self._client = httpx.Client(
                timeout=self.settings.timeout_s, headers={"User-Agent": USER_AGENT}, follow_redirects=True
            )
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    @abstractmethod
    def search(self, query: str, filters: SearchFilters, limit: int) -> list[DatasetResult]: ...

    def details(self, dataset_id: str) -> DatasetDetails:
        raise SourceError(f"{self.name} has no details lookup; open the dataset's URL instead")

    def get_json(self, url: str, **kwargs: Any) -> Any:
        return self.request_json("GET", url, **kwargs)

    def request_json(self, method: str, url: str, **kwargs: Any) -> Any:
        """The decoded JSON body, or :class:`SourceError` naming the registry and the fault."""
        import httpx

        try:
            response = self.client.request(method, url, **kwargs)
        except httpx.TimeoutException:
            raise SourceError(
                f"{self.name} did not answer within {self.settings.timeout_s:g} s; try again later or raise "
                "sources.timeout_s"
            ) from None
        except httpx.HTTPError as exc:
            raise SourceError(f"{self.name} is unreachable ({type(exc).__name__}); check the network") from None
        raise_for_status(self.name, response)
        try:
            return response.json()
        except ValueError:
            raise SourceError(f"{self.name} returned a body that is not JSON; its API may have changed") from None


def raise_for_status(source: str, response: httpx.Response) -> None:
    status = response.status_code
    if status < 400:
        return
    if status == 429:
        retry = response.headers.get("Retry-After")
        wait = f" (retry after {retry} s)" if retry else ""
        raise SourceError(f"{source} rate-limited the search (HTTP 429){wait}; wait and search again")
    if status in (401, 403):
        raise SourceError(f"{source} refused the request (HTTP {status}); check the credentials for {source}")
    if status == 404:
        raise SourceError(f"{source} has no such dataset (HTTP 404); check the id")
    if status >= 500:
        raise SourceError(f"{source} is down or failing (HTTP {status}); try again later")
    raise SourceError(f"{source} rejected the request (HTTP {status})")


def env_secret(name: str) -> str | None:
    """A credential from the environment; the value is only ever passed to the registry, never returned."""
    value = os.environ.get(name)
    return value.strip() if value and value.strip() else None


def load_snippet(dataset_id: str, config: str | None = None, split: str = "train", rows: int = 1000) -> str:
    """The ``datasets`` line that loads a slice, so a user can look before downloading everything."""
    name = f', "{config}"' if config else ""
    return f'datasets.load_dataset("{dataset_id}"{name}, split="{split}[:{rows}]")'


def human_bytes(size: Any) -> str | None:
    """A byte count as registries report it, in the unit a person reads ("5.0 MB")."""
    if not isinstance(size, int | float) or size < 0:
        return None
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if size < 1024 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return None  # pragma: no cover
