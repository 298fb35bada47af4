"""awesome-public-datasets (github.com/awesomedata/awesome-public-datasets, MIT): its README list parsed
into entries. A parsed snapshot ships in ``tools/data/awesome_snapshot.yaml`` for offline use; when online
the live README is fetched and parsed the same way.

The list gives a name, a link and a topic, never a licence, so every entry's licence is "unknown".
"""

from __future__ import annotations

import re
from functools import cache

from ftds.tools.sources.base import SearchFilters, SourceAdapter, SourceError, raise_for_status
from ftds.tools.sources.catalog import DATA_DIR, matches
from ftds.tools.sources.models import DatasetResult

_RST_LINK = re.compile(r"`([^`<]+?)\s*<([^>]+)>`_")
_MD_LINK = re.compile(r"\[([^\]]+)\]\((https?://[^)\s]+)\)")
_UNDERLINE = re.compile(r"^[-=~^]{3,}\s*$")
_SKIP_TITLES = {"META", "OK_ICON", "FIXME_ICON"}


def parse_readme(text: str) -> list[dict[str, str]]:
    """Entries ``{topic, title, url}`` from the README (reStructuredText or Markdown form)."""
    entries: list[dict[str, str]] = []
    topic = ""
    lines = text.splitlines()
    for index, line in enumerate(lines):
        stripped = line.strip()
        following = lines[index + 1] if index + 1 < len(lines) else ""
        if stripped and _UNDERLINE.match(following) and not stripped.startswith(("*", "-")):
            topic = stripped
            continue
        if stripped.startswith("#"):
            topic = stripped.lstrip("#").strip()
            continue
        if not stripped.startswith(("* ", "- ")):
            continue
        for title, url in _RST_LINK.findall(stripped) or _MD_LINK.findall(stripped):
            title = title.strip()
            if title.upper() in _SKIP_TITLES or not url.startswith(("http://", "https://")):
                continue
            entries.append({"topic": topic, "title": title, "url": url.strip()})
            break  # the first link of a bullet is the dataset; later ones are metadata
    return entries


@cache
def snapshot() -> tuple[dict[str, str], ...]:
    import yaml  # lazily: the MCP server's start-up imports this module but needs no YAML

    data = yaml.safe_load((DATA_DIR / "awesome_snapshot.yaml").read_text("utf-8"))
    return tuple(data["entries"])


def to_result(entry: dict[str, str], origin: str) -> DatasetResult:
    return DatasetResult(
        source="awesome",
        id=entry["url"],
        title=entry["title"],
        description=f"awesome-public-datasets, section {entry['topic']}",
        domains=[entry["topic"]] if entry["topic"] else [],
        license="unknown",
        url=entry["url"],
        origin="catalog" if origin == "catalog" else "live",
    )


def search_entries(
    entries: list[dict[str, str]] | tuple[dict[str, str], ...], query: str, limit: int, origin: str
) -> list[DatasetResult]:
    found = [e for e in entries if matches(query, e["title"], e["topic"])]
    return [to_result(e, origin) for e in found[:limit]]


class AwesomeAdapter(SourceAdapter):
    name = "awesome"

    def search(self, query: str, filters: SearchFilters, limit: int) -> list[DatasetResult]:
        import httpx  # lazily, as in base.py

        try:
            response = self.client.get(self.settings.awesome_readme_url)
        except httpx.TimeoutException:
            raise SourceError(f"{self.name} README not fetched within {self.settings.timeout_s:g} s") from None
        except httpx.HTTPError as exc:
            raise SourceError(f"{self.name} README not fetched ({type(exc).__name__}); check the network") from None
        raise_for_status(self.name, response)
        entries = parse_readme(response.text)
        if not entries:
            raise SourceError(f"{self.name} README had no entries; its layout may have changed")
        return search_entries(entries, query, limit, "live")
