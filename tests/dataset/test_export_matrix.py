"""THE matrix: every task of the task table x every build format, built by `ftds-agent build` against the FAKE
OpenAI-compatible server, loads in LLaMA-Factory's own loader with no row dropped, and every dataset name the
card tells the user to train with exists in dataset_info.json."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import datasets
import pytest

from ftds.tools.config import ExportFormat
from ftds.tools.generation.task_table import TASKS
from tests.conftest import fake_llm_flags
from tests.dataset import STATUTE
from tests.fakes.fake_openai_server import FakeOpenAIServer
from tests.tools import llamafactory_oracle

BUILD_FORMATS: tuple[ExportFormat, ...] = ("alpaca", "sharegpt", "openai")


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as server:
        yield server


@pytest.fixture(scope="module")
def built(fake: FakeOpenAIServer, tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """``ftds-agent build --task TASK`` with all three formats, once per task (cached for the module)."""
    done: dict[str, Path] = {}

    def build(task: str) -> Path:
        if task in done:
            return done[task]
        root = tmp_path_factory.mktemp(f"matrix-{task}")
        (root / "in").mkdir()
        (root / "in" / "数据安全法.md").write_text(STATUTE, encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if not k.startswith("FTDS_") and k != "OPENAI_API_KEY"}
        env |= {"FTDS_CACHE_DIR": str(root / "cache"), "FTDS_RUNS_DIR": str(root / "runs")}
        env["XDG_CONFIG_HOME"] = str(root / "xdg")
        formats = [flag for fmt in BUILD_FORMATS for flag in ("--format", fmt)]
        command = [sys.executable, "-m", "ftds.agents.cli", "build", str(root / "in"), "--out", str(root / "out")]
        result = subprocess.run(
            [*command, "--domain", "law", "--task", task, "--max-chunks", "2", *formats, *fake_llm_flags(fake)],
            capture_output=True,
            text=True,
            cwd=root,
            env=env,
            timeout=300,
            check=False,
        )
        assert result.returncode == 0, result.stderr[-2000:]
        done[task] = root / "out"
        return done[task]

    return build


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.mark.skipif(not llamafactory_oracle.available(), reason="llamafactory not installed (pip install --no-deps)")
@pytest.mark.parametrize("fmt", BUILD_FORMATS)
@pytest.mark.parametrize("task", list(TASKS))
def test_every_task_in_every_build_format_loads_in_llamafactory_with_no_row_dropped(
    task: str, fmt: str, built: Callable[[str], Path]
) -> None:
    out = built(task)
    info = json.loads((out / "dataset_info.json").read_text(encoding="utf-8"))
    mine = {key: entry for key, entry in info.items() if entry["file_name"].startswith(f"{fmt}/")}
    assert mine, f"{fmt} files of task {task} are not registered: {sorted(info)}"
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    written = 0
    for key, entry in mine.items():
        rows = _lines(out / entry["file_name"])
        kept, warnings = llamafactory_oracle.load_like_llamafactory(out, key)
        assert len(kept) == len(rows) > 0 and not warnings, (key, warnings[:1])
        if TASKS[task].llamafactory == "ranking":
            assert entry["ranking"] is True and all(len(example["_response"]) == 2 for example in kept)
        written += 0 if entry["file_name"].endswith("full.jsonl") else len(rows)
    assert written == report["accepted"], "every accepted sample is in a registered split file"


@pytest.mark.skipif(not llamafactory_oracle.available(), reason="llamafactory not installed (pip install --no-deps)")
@pytest.mark.parametrize("task", list(TASKS))
def test_the_card_names_only_datasets_that_exist_and_rejected_samples_are_kept_whole(
    task: str, built: Callable[[str], Path]
) -> None:
    out = built(task)
    info = json.loads((out / "dataset_info.json").read_text(encoding="utf-8"))
    card = (out / "README.md").read_text(encoding="utf-8")
    named = re.findall(r"`(?:eval_)?dataset: ([^`]+)`", card)
    assert {name for name in named if "_train" in name} == {f"ftds-law-{task}_{fmt}_train" for fmt in BUILD_FORMATS}
    assert set(named) <= set(info), f"the card names datasets dataset_info.json lacks: {set(named) - set(info)}"
    stage = "dpo" if TASKS[task].llamafactory == "ranking" else "sft"
    assert card.count(f"`stage: {stage}`") == len(BUILD_FORMATS)
    for path in re.findall(r"path: (\S+)", card):  # the YAML configs point at real files
        assert (out / path).is_file(), path
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    loaded = datasets.load_dataset(str(out))  # the card's default config
    assert {name: len(rows) for name, rows in loaded.items()} == {
        name: count for name, count in report["splits"].items() if count and name != "full"
    }
    rejected = _lines(out / "rejected.jsonl")
    assert report["outputs"]["rejected"] == str(out / "rejected.jsonl")
    assert all(r["rejection"]["reason"] and r["answer"] for r in rejected)
    task_files = sorted((out / "task").glob("*.jsonl"))
    provenance = {r["sample_id"] for path in (out / "provenance").glob("*.jsonl") for r in _lines(path)}
    assert {r["id"] for path in task_files for r in _lines(path)} == provenance  # traceable records


@pytest.mark.skipif(not llamafactory_oracle.available(), reason="llamafactory not installed (pip install --no-deps)")
def test_export_of_a_build_folder_reexports_one_format_that_still_loads(
    built: Callable[[str], Path], tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from ftds.agents.cli import app

    out = built("preference")
    wrong = CliRunner().invoke(app, ["export", str(out), "--out", str(tmp_path / "x"), "--format", "trl"])
    assert wrong.exit_code == 2 and "pass --format alpaca or openai or sharegpt" in wrong.output
    args = ["export", str(out), "--out", str(tmp_path / "e"), "--format", "openai", "--files", "parquet,jsonl"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    kept, warnings = llamafactory_oracle.load_like_llamafactory(tmp_path / "e", "ftds_train")
    assert len(kept) == len(_lines(out / "openai" / "train.jsonl")) and not warnings
