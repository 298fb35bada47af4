"""Issue 13 item 15, the small ones: one exit code for a missing input, --k-folds 0 refused, pydantic errors
as sentences, a 5,000-character input path with a reason, validate_dataset on a folder says what to pass."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mcp import Client

from ftds.server.app import create_server
from ftds.tools.config import load_settings
from ftds.tools.dataset.operations import validate_file
from ftds.tools.formats import FormatError
from tests.adversarial.inprocess import cli
from tests.conftest import run_cli

RECORDS = [{"instruction": f"What does rule {i} say?", "output": f"Rule {i} says to keep records."} for i in range(6)]


def _data(tmp_path: Path) -> None:
    (tmp_path / "data.jsonl").write_text("".join(json.dumps(r) + "\n" for r in RECORDS), encoding="utf-8")


@pytest.mark.parametrize("verb", ["ingest", "build"])
def test_a_missing_input_exits_2_on_ingest_and_build_alike(tmp_path: Path, verb: str) -> None:
    done = run_cli(verb, "missing.md", "--out", "out", "--backend", "openai", cwd=tmp_path, timeout=120) \
        if verb == "build" else run_cli(verb, "missing.md", "--out", "o.jsonl", cwd=tmp_path, timeout=120)  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "missing.md" in done.stderr and "not found" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("folds", ["0", "1", "-3"])
def test_k_folds_below_2_is_refused_with_a_sentence(tmp_path: Path, folds: str) -> None:
    _data(tmp_path)
    done = cli("split", "data.jsonl", "--out", "s", "--k-folds", folds, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "--k-folds" in done.stderr and "2 or more" in done.stderr
    assert not (tmp_path / "s").exists() or not any((tmp_path / "s").iterdir())


@pytest.mark.parametrize(
    ("flags", "words"),
    [
        (["--train", "1.5"], "--train must be at most 1"),
        (["--train", "0.5", "--validation", "0.1", "--test", "0.1"], "split ratios must add up to 1.0"),
    ],
)
def test_ratio_errors_are_sentences_not_pydantic_dumps(tmp_path: Path, flags: list[str], words: str) -> None:
    _data(tmp_path)
    done = cli("split", "data.jsonl", "--out", "s", *flags, cwd=tmp_path)
    assert done.returncode == 2
    assert words in done.stderr, done.stderr
    for raw in ("validation error for", "[type=", "errors.pydantic.dev", "input_value"):
        assert raw not in done.stderr


@pytest.mark.parametrize("verb", ["ingest", "build", "convert", "validate"])
def test_a_5000_character_input_path_gets_a_reason(tmp_path: Path, verb: str) -> None:
    long = "a" * 5000
    extra = {"ingest": ["--out", "o.jsonl"], "build": ["--out", "o", "--backend", "openai"],
             "convert": ["--to", "alpaca", "--out", "o.jsonl"], "validate": []}[verb]  # fmt: skip
    done = cli(verb, long, *extra, cwd=tmp_path)
    assert done.returncode == 2, done.stderr[-500:]
    assert "Traceback" not in done.stderr and "too long" in done.stderr
    assert len(done.stderr) < 1000


def test_validate_on_a_plain_folder_says_it_is_a_folder_and_what_to_pass(tmp_path: Path) -> None:
    (tmp_path / "folder").mkdir()
    (tmp_path / "folder" / "data.jsonl").write_text(json.dumps(RECORDS[0]) + "\n", encoding="utf-8")
    with pytest.raises(FormatError, match=r"is a folder.*data\.jsonl"):
        validate_file(str(tmp_path / "folder"))


async def test_mcp_validate_dataset_on_a_folder_does_not_say_it_does_not_exist(tmp_path: Path) -> None:
    (tmp_path / "folder").mkdir()
    server = create_server(load_settings(server={"roots": [str(tmp_path)]}))
    async with Client(server) as client:
        result = await client.call_tool("validate_dataset", {"input_path": "folder"})
    text = result.content[0].text  # type: ignore[union-attr]
    assert result.is_error and "does not exist" not in text and "is a folder" in text
