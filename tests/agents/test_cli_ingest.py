"""``ftds-agent ingest`` as a user runs it: a real subprocess, so stderr is not a TTY (plain progress lines)."""

import json
import shutil
from pathlib import Path

from tests.conftest import run_cli


def test_ingest_writes_chunks_prints_plain_progress_and_exits_partial_on_a_bad_file(
    tmp_path: Path, corpus: Path
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    shutil.copy(corpus / "docs" / "multi_page.pdf", docs)
    shutil.copy(corpus / "hostile" / "password-example.pdf", docs)
    result = run_cli(
        "ingest",
        str(docs),
        "--out",
        str(tmp_path / "chunks.jsonl"),
        "--strategy",
        "recursive",
        cwd=tmp_path,
        timeout=120,
    )
    assert result.returncode == 3, result.stderr
    assert "file 1/2: loaded multi_page.pdf" in result.stderr
    assert "file 2/2: failed password-example.pdf" in result.stderr and "encrypted" in result.stderr
    chunks = [json.loads(line) for line in (tmp_path / "chunks.jsonl").read_text(encoding="utf-8").splitlines()]
    assert chunks and {c["provenance"]["source"] for c in chunks} == {"multi_page.pdf"}
    assert all(c["provenance"]["page"] for c in chunks)


def test_ingest_json_output_lists_every_file(tmp_path: Path, corpus: Path) -> None:
    result = run_cli(
        "ingest",
        str(corpus / "datasets" / "identity.json"),
        "--text-field",
        "output",
        "--out",
        str(tmp_path / "c.jsonl"),
        "--json",
        cwd=tmp_path,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["files"][0]["status"] == "loaded" and data["chunks"] == data["files"][0]["chunks"] == 91
    assert "file 1/1" not in result.stderr  # --json keeps stderr free of progress lines


def test_ingest_with_an_unknown_strategy_is_a_usage_error(tmp_path: Path) -> None:
    result = run_cli("ingest", str(tmp_path), "--strategy", "magic", cwd=tmp_path, timeout=120)
    assert result.returncode == 2
