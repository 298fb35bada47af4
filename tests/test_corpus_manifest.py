"""The documents shipped for tests and the demo: every file has its origin and a redistributable licence on
record, and is the file that record describes, so a fixture cannot enter the repository unaccounted for."""

import csv
import hashlib
from pathlib import Path

import pytest

from tests.conftest import CORPUS, REPO

SHIPPED = [CORPUS, REPO / "examples", REPO / "bench" / "data" / "documents"]
PAPERWORK = {"MANIFEST.tsv", "README.md", "NOTICE"}
# Licences an Apache-2.0 project may redistribute test data under without conditions beyond a notice.
REDISTRIBUTABLE = ("MIT", "Apache-2.0", "CC0-1.0", "public domain", "PRC Copyright Law Art. 5")
NOT_REDISTRIBUTABLE = ("GPL", "CC BY-SA", "CC BY-NC", "NonCommercial", "ShareAlike")


def _manifest(folder: Path) -> dict[str, dict[str, str]]:
    with (folder / "MANIFEST.tsv").open(encoding="utf-8", newline="") as handle:
        return {row["local_name"]: row for row in csv.DictReader(handle, delimiter="\t")}


@pytest.mark.parametrize("folder", SHIPPED, ids=lambda p: p.name)
def test_every_shipped_file_is_listed_with_its_size_and_hash(folder: Path) -> None:
    manifest = _manifest(folder)
    files = {p.relative_to(folder).as_posix(): p for p in folder.rglob("*") if p.is_file() and p.name not in PAPERWORK}
    unlisted = sorted(set(files) - set(manifest))
    assert not unlisted, f"add a row to {folder / 'MANIFEST.tsv'} (origin, commit, licence, sha256) for {unlisted}"
    assert sorted(set(manifest) - set(files)) == [], "MANIFEST.tsv lists files that are not there"
    for name, path in files.items():
        data = path.read_bytes()
        assert int(manifest[name]["bytes"]) == len(data), name
        assert manifest[name]["sha256"] == hashlib.sha256(data).hexdigest(), f"{name} differs from its origin"


@pytest.mark.parametrize("folder", SHIPPED, ids=lambda p: p.name)
def test_every_shipped_file_has_a_licence_that_allows_redistribution(folder: Path) -> None:
    for name, row in _manifest(folder).items():
        licence = row["licence"]
        assert row["repository"] and row["path_in_repo"], name
        assert any(ok in licence for ok in REDISTRIBUTABLE), f"{name}: {licence}"
        assert not any(bad in licence for bad in NOT_REDISTRIBUTABLE), f"{name}: {licence}"


def test_the_demo_statutes_are_the_ones_the_tests_read() -> None:
    demo = _manifest(REPO / "examples")
    assert len(demo) == 8 and all(name.startswith("law_zh/") for name in demo)
    tests = _manifest(CORPUS)
    assert {name: row["sha256"] for name, row in demo.items()} == {name: tests[name]["sha256"] for name in demo}
