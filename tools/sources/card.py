"""A dataset card section that lists every source dataset and its licence.

A dataset built from several sources inherits every one of their terms; the card has to say so, and the
most restrictive terms decide what the combined dataset may be used for.
"""

from __future__ import annotations

from collections.abc import Sequence

from ftds.tools.sources.licenses import IntendedUse, check_license, license_terms
from ftds.tools.sources.models import DatasetResult


def _yes_no(value: bool | None) -> str:
    return "yes" if value else "no" if value is False else "unclear"


def sources_card_section(sources: Sequence[DatasetResult], intended_use: IntendedUse | None = None) -> str:
    """Markdown: one row per source with its licence and terms, then the conflicts for the intended use."""
    lines = [
        "## Source datasets and licences",
        "",
        "| Source | Dataset | Licence | Commercial | Modify | Attribution | Share-alike | URL |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for item in sources:
        terms = license_terms(item.license)
        lines.append(
            f"| {item.source} | {item.id} | {terms.spdx} | {_yes_no(terms.commercial)} | {_yes_no(terms.modify)} "
            f"| {_yes_no(terms.attribution)} | {_yes_no(terms.share_alike)} | {item.url} |"
        )
    notes: list[str] = []
    if intended_use is not None:
        for item in sources:
            check = check_license(item.license, intended_use)
            notes += [f"- **{item.id}**: {c}" for c in check.conflicts]
            notes += [f"- {item.id}: {o}" for o in check.obligations]
    for item in sources:
        notes += [f"- {item.id}: {w}" for w in item.warnings]
    if notes:
        lines += ["", "### Conflicts, obligations and warnings", "", *dict.fromkeys(notes)]
    return "\n".join(lines) + "\n"
