"""What a dataset's licence lets you do, and a check of an intended use against it.

Registries spell licences many ways ("cc-by-4.0", "CC BY-SA 4.0", "Apache License 2.0",
"CC0: Public Domain"); :func:`normalize_license` maps them to one SPDX id (or "other"/"unknown") so the
table below answers the same questions for all of them. This is guidance for a first filter, not legal
advice: the answer always points to the licence text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pydantic import BaseModel, Field


@dataclass(frozen=True)
class LicenseTerms:
    spdx: str
    name: str
    commercial: bool | None  # None: cannot tell without reading the specific terms
    modify: bool | None
    redistribute: bool | None
    attribution: bool | None
    share_alike: bool | None
    note: str = ""


_T = LicenseTerms
LICENSES: dict[str, LicenseTerms] = {
    t.spdx: t
    for t in (
        _T("CC0-1.0", "Creative Commons Zero (public domain dedication)", True, True, True, False, False),
        _T("CC-BY-4.0", "Creative Commons Attribution 4.0", True, True, True, True, False),
        _T("CC-BY-3.0", "Creative Commons Attribution 3.0", True, True, True, True, False),
        _T("CC-BY-SA-4.0", "Creative Commons Attribution-ShareAlike 4.0", True, True, True, True, True),
        _T("CC-BY-SA-3.0", "Creative Commons Attribution-ShareAlike 3.0", True, True, True, True, True),
        _T("CC-BY-NC-4.0", "Creative Commons Attribution-NonCommercial 4.0", False, True, True, True, False),
        _T(
            "CC-BY-NC-SA-4.0",
            "Creative Commons Attribution-NonCommercial-ShareAlike 4.0",
            False,
            True,
            True,
            True,
            True,
        ),
        _T(
            "CC-BY-NC-ND-4.0",
            "Creative Commons Attribution-NonCommercial-NoDerivatives 4.0",
            False,
            False,
            True,
            True,
            False,
            "adapted material (a converted or filtered copy) may not be shared",
        ),
        _T("Apache-2.0", "Apache License 2.0", True, True, True, True, False, "keep the licence and NOTICE file"),
        _T("MIT", "MIT License", True, True, True, True, False, "keep the copyright and licence notice"),
        _T("BSD-3-Clause", "BSD 3-Clause License", True, True, True, True, False),
        _T("ODC-By-1.0", "Open Data Commons Attribution 1.0", True, True, True, True, False),
        _T("ODbL-1.0", "Open Database License 1.0", True, True, True, True, True),
        _T(
            "GPL-3.0",
            "GNU General Public License 3.0",
            True,
            True,
            True,
            True,
            True,
            "a software licence applied to data: derived works must be GPL; some publishers add a research-only note",
        ),
        _T(
            "OpenRAIL",
            "Open Responsible AI License (OpenRAIL family)",
            True,
            True,
            True,
            True,
            None,
            "use-based restrictions travel with the data and any derivative; read the specific variant",
        ),
        _T("other", "Custom or other licence", None, None, None, None, None, "read the dataset card for the terms"),
        _T("unknown", "No licence stated", None, None, None, None, None, "no licence means no permission granted"),
    )
}

# Lower-cased, punctuation-stripped spellings seen on the registries -> SPDX id.
_ALIASES: dict[str, str] = {
    "cc0": "CC0-1.0",
    "cc0 10": "CC0-1.0",
    "cc0 public domain": "CC0-1.0",
    "public domain": "CC0-1.0",
    "cc by 40": "CC-BY-4.0",
    "cc by 30": "CC-BY-3.0",
    "cc by sa 40": "CC-BY-SA-4.0",
    "cc by sa 30": "CC-BY-SA-3.0",
    "cc by nc 40": "CC-BY-NC-4.0",
    "cc by nc sa 40": "CC-BY-NC-SA-4.0",
    "cc by nc nd 40": "CC-BY-NC-ND-4.0",
    "apache 20": "Apache-2.0",
    "apache license 20": "Apache-2.0",
    "apache license version 20": "Apache-2.0",
    "mit": "MIT",
    "mit license": "MIT",
    "bsd 3 clause": "BSD-3-Clause",
    "odc by": "ODC-By-1.0",
    "odc by 10": "ODC-By-1.0",
    "open data commons attribution license": "ODC-By-1.0",
    "odbl": "ODbL-1.0",
    "odbl 10": "ODbL-1.0",
    "open database license": "ODbL-1.0",
    "database open database contents database contents": "ODbL-1.0",
    "gpl 30": "GPL-3.0",
    "gpl 3": "GPL-3.0",
    "gpl 30 only": "GPL-3.0",
    "gnu general public license v3": "GPL-3.0",
    "openrail": "OpenRAIL",
    "openrail++": "OpenRAIL",
    "bigscience openrail m": "OpenRAIL",
    "creativeml openrail m": "OpenRAIL",
    "other": "other",
    "other specified in description": "other",
    "unknown": "unknown",
    "": "unknown",
}


def _key(raw: str) -> str:
    text = raw.lower().replace("_", " ").replace("-", " ").replace(":", " ")
    text = re.sub(r"[^a-z0-9+ ]", "", text)
    return re.sub(r"\s+", " ", text).strip()


def normalize_license(raw: str | None) -> str:
    """The SPDX id for a registry's licence string; 'other' for a named but unlisted one, 'unknown' if none."""
    if raw is None:
        return "unknown"
    # "Attribution-NonCommercial 4.0 International (CC BY-NC 4.0)": the short name in brackets is the id.
    for inner in re.findall(r"\(([^()]+)\)", raw):
        found = normalize_license(inner)
        if found not in ("other", "unknown"):
            return found
    key = _key(raw)
    if key in _ALIASES:
        return _ALIASES[key]
    for spdx in LICENSES:
        if _key(spdx) == key:
            return spdx
    if key.startswith("openrail") or "openrail" in key:
        return "OpenRAIL"
    return "other"


def license_terms(license_id: str | None) -> LicenseTerms:
    return LICENSES.get(normalize_license(license_id), LICENSES["other"])


class IntendedUse(BaseModel):
    """What you plan to do with the data."""

    commercial: bool = Field(default=False, description="Train a model used or sold commercially.")
    modify: bool = Field(default=True, description="Convert, filter or augment the data.")
    redistribute: bool = Field(default=False, description="Publish the (converted) dataset.")


class LicenseCheck(BaseModel):
    license: str
    allowed: bool | None = Field(description="False on a conflict; None when the terms cannot be told.")
    conflicts: list[str] = Field(default_factory=list)
    obligations: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)


def check_license(license_id: str | None, intended_use: IntendedUse) -> LicenseCheck:
    """Compare an intended use with a licence: conflicts are listed, and so is what you must do."""
    terms = license_terms(license_id)
    check = LicenseCheck(license=terms.spdx, allowed=True)
    wanted = (
        ("commercial", intended_use.commercial, terms.commercial, "commercial use"),
        ("modify", intended_use.modify, terms.modify, "modification (adapted copies)"),
        ("redistribute", intended_use.redistribute, terms.redistribute, "redistribution"),
    )
    unclear = False
    for _, asked, permitted, label in wanted:
        if not asked:
            continue
        if permitted is False:
            check.conflicts.append(f"{terms.spdx} does not permit {label}")
        elif permitted is None:
            unclear = True
            check.notes.append(f"{terms.spdx}: cannot tell whether {label} is allowed; read the dataset card")
    if intended_use.modify and intended_use.redistribute and terms.modify is False:
        check.conflicts.append(f"{terms.spdx} forbids sharing a converted or filtered copy")
    if terms.attribution:
        check.obligations.append("credit the original authors and link the licence in your dataset card")
    if terms.share_alike and intended_use.redistribute:
        check.obligations.append(f"publish the derived dataset under {terms.spdx} (share-alike)")
    if terms.note:
        check.notes.append(terms.note)
    if check.conflicts:
        check.allowed = False
    elif unclear:
        check.allowed = None
    return check


# Words that mark medical or biological data, which needs an ethics review before use.
_SENSITIVE = re.compile(
    r"medic|clinic|biomed|patient|health|pubmed|disease|diagnos|genom|protein|biolog|drug|hospital|"
    r"医疗|医学|临床|病历|患者|健康|生物|基因|药",
    re.IGNORECASE,
)

ETHICS_WARNING = (
    "medical/biological data: check consent, de-identification and your institution's ethics review "
    "before training on it; do not use it for diagnosis without clinical validation"
)


def needs_ethics_review(*texts: str | None) -> bool:
    return any(text and _SENSITIVE.search(text) for text in texts)
