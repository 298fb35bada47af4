"""Issue 13 item 12 (+ item 15's file-name escaping): every input path that is not read appears in the report
with its reason — symlinked folders, symlink loops, broken links, hidden entries, FIFOs, unlistable folders —
and odd file names are printed escaped, never raw."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ftds.tools.ingest import load_literature
from tests.conftest import run_cli

TEXT = "Article 1. A data handler shall keep a record of each processing activity it performs.\n"


def _tree(tmp_path: Path) -> Path:
    docs = tmp_path / "docs"
    (docs / "real").mkdir(parents=True)
    (docs / "real" / "a.md").write_text(TEXT, encoding="utf-8")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "b.md").write_text(TEXT, encoding="utf-8")
    (docs / "linked").symlink_to(outside, target_is_directory=True)  # a symlinked folder
    (docs / "loop.md").symlink_to(docs / "loop.md")  # a link to itself
    (docs / "gone.md").symlink_to(tmp_path / "nowhere.md")  # a broken link
    (docs / ".hidden.md").write_text(TEXT, encoding="utf-8")
    os.mkfifo(docs / "pipe.txt")  # reading it would block forever
    return docs


def _by_source(reports: list[dict[str, object]]) -> dict[str, dict[str, object]]:
    return {str(r["source"]): r for r in reports}


def test_every_entry_of_an_input_folder_is_accounted_for_with_a_reason(tmp_path: Path) -> None:
    docs = _tree(tmp_path)
    reports = _by_source([r.model_dump() for r in load_literature([docs]).files])
    assert reports["real/a.md"]["status"] == "loaded"
    assert reports["linked"]["status"] == "skipped" and "symbolic link to a folder" in str(reports["linked"]["reason"])
    assert reports["loop.md"]["status"] == "failed" and "loop" in str(reports["loop.md"]["reason"])
    assert reports["gone.md"]["status"] == "failed" and "broken symbolic link" in str(reports["gone.md"]["reason"])
    assert reports[".hidden.md"]["status"] == "skipped" and "hidden" in str(reports[".hidden.md"]["reason"])
    assert reports["pipe.txt"]["status"] == "skipped" and "not a regular file" in str(reports["pipe.txt"]["reason"])
    assert set(reports) == {"real/a.md", "linked", "loop.md", "gone.md", ".hidden.md", "pipe.txt"}


def test_a_symlink_loop_named_on_the_command_line_is_not_called_missing(tmp_path: Path) -> None:
    (tmp_path / "loop.md").symlink_to(tmp_path / "loop.md")
    (tmp_path / "ok.md").write_text(TEXT, encoding="utf-8")
    done = run_cli("ingest", "loop.md", "ok.md", "--out", "c.jsonl", "--json", cwd=tmp_path, timeout=120)
    assert done.returncode == 3, done.stderr
    reports = _by_source(json.loads(done.stdout)["files"])
    loop = next(r for source, r in reports.items() if source.endswith("loop.md"))
    assert "loop" in str(loop["reason"]) and "no such file" not in str(loop["reason"])


def test_an_unlistable_subfolder_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    docs = tmp_path / "docs"
    (docs / "locked").mkdir(parents=True)
    (docs / "ok.md").write_text(TEXT, encoding="utf-8")
    real_scandir = os.scandir

    def scandir(path: object) -> object:  # what listing a chmod 000 folder does for a non-root user
        if str(path).endswith("locked"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "scandir", scandir)
    reports = _by_source([r.model_dump() for r in load_literature([docs]).files])
    assert reports["locked"]["status"] == "failed" and "cannot list" in str(reports["locked"]["reason"])
    assert reports["ok.md"]["status"] == "loaded"


def test_names_with_newlines_and_non_utf8_bytes_are_escaped_in_progress_and_json(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "two\nlines.md").write_text(TEXT, encoding="utf-8")
    os.close(os.open(os.fsencode(docs) + b"/caf\xe9.md", os.O_WRONLY | os.O_CREAT, 0o644))
    with open(os.fsencode(docs) + b"/caf\xe9.md", "wb") as handle:
        handle.write(TEXT.encode())
    plain = run_cli("ingest", "docs", "--out", "c.jsonl", cwd=tmp_path, timeout=120)
    assert plain.returncode == 0, plain.stderr
    assert "Traceback" not in plain.stderr
    assert "two\\nlines.md" in plain.stderr and "two\nlines.md" not in plain.stderr
    assert all(line.startswith(("file ", "loaded", "skipped", "failed", "  ")) or "chunks ->" in line
               for line in plain.stderr.splitlines()), plain.stderr  # fmt: skip
    as_json = run_cli("ingest", "docs", "--out", "c2.jsonl", "--json", cwd=tmp_path, timeout=120)
    assert as_json.returncode == 0, as_json.stderr
    sources = sorted(str(r["source"]) for r in json.loads(as_json.stdout)["files"])
    assert sources == ["caf\\xe9.md", "two\nlines.md"]  # JSON escapes the newline itself; the bad byte is shown
