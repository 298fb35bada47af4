"""Issue 13 item 6: writing a dataset into a folder that already holds one either refuses (exit 2, says to pass
--overwrite) or replaces it entirely — never leaves the old run's split files beside the new report — and a
file of the user's own in that folder is never touched."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from ftds.agents.cli import app
from ftds.tools.dataset.files import MANIFEST
from tests.conftest import fake_llm_flags, run_cli
from tests.dataset import STATUTE
from tests.fakes.fake_openai_server import FakeOpenAIServer, FakeServerConfig

runner = CliRunner()


def _records(count: int) -> list[dict]:
    return [
        {"instruction": f"第{i}个问题是什么？", "input": "", "output": f"这是第{i}个不同的回答。"} for i in range(count)
    ]


def _write(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


def _files(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}


def _manifest(folder: Path) -> set[str]:
    return set(json.loads((folder / MANIFEST).read_text(encoding="utf-8"))["files"])


def test_split_into_a_used_folder_refuses_or_replaces_leaving_no_stale_split(tmp_path: Path) -> None:
    out = tmp_path / "s"
    first = runner.invoke(app, ["split", str(_write(tmp_path / "big.jsonl", _records(60))), "--out", str(out)])
    assert first.exit_code == 0, first.output
    assert (out / "validation.jsonl").is_file()
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    small = _write(tmp_path / "small.jsonl", _records(3))  # 3 records: no validation split at all
    refused = runner.invoke(app, ["split", str(small), "--out", str(out)])
    assert refused.exit_code == 2 and "--overwrite" in refused.output
    assert len((out / "train.jsonl").read_text(encoding="utf-8").splitlines()) > 3  # untouched
    replaced = runner.invoke(app, ["split", str(small), "--out", str(out), "--overwrite", "--json"])
    assert replaced.exit_code == 0, replaced.output
    counts = json.loads(replaced.stdout)["counts"]
    assert counts["validation"] == 0 and not (out / "validation.jsonl").exists()
    assert sum(len(path.read_text().splitlines()) for path in out.glob("*.jsonl") if path.stem != "full") == 3
    assert (out / "notes.txt").read_text(encoding="utf-8") == "mine"
    assert _files(out) - {MANIFEST, "notes.txt"} == _manifest(out)


def test_export_into_a_used_folder_refuses_or_replaces_leaving_no_stale_file(tmp_path: Path) -> None:
    source = _write(tmp_path / "d.jsonl", _records(20))
    out = tmp_path / "e"
    first = runner.invoke(app, ["export", str(source), "--out", str(out), "--files", "jsonl,parquet"])
    assert first.exit_code == 0, first.output
    assert (out / "data" / "train.parquet").is_file()
    refused = runner.invoke(app, ["export", str(source), "--out", str(out), "--files", "jsonl"])
    assert refused.exit_code == 2 and "already holds a dataset" in refused.output
    replaced = runner.invoke(app, ["export", str(source), "--out", str(out), "--files", "jsonl", "--overwrite"])
    assert replaced.exit_code == 0, replaced.output
    assert not (out / "data" / "train.parquet").exists() and (out / "data" / "train.jsonl").is_file()
    info = json.loads((out / "dataset_info.json").read_text(encoding="utf-8"))
    assert info["ftds_train"]["file_name"] == "data/train.jsonl"
    assert _files(out) - {MANIFEST} == _manifest(out)


def test_split_over_files_of_an_older_version_leaves_no_stale_split(tmp_path: Path) -> None:
    out = tmp_path / "old"
    out.mkdir()
    _write(out / "validation.jsonl", _records(2))  # written before manifests existed
    source = _write(tmp_path / "small.jsonl", _records(3))
    refused = runner.invoke(app, ["split", str(source), "--out", str(out)])
    assert refused.exit_code == 2 and "validation.jsonl" in refused.output
    replaced = runner.invoke(app, ["split", str(source), "--out", str(out), "--overwrite"])
    assert replaced.exit_code == 0, replaced.output
    assert not (out / "validation.jsonl").exists()


def _build(server: FakeOpenAIServer, inputs: Path, out: Path, cwd: Path, *more: str):
    return run_cli(
        "build", str(inputs), "--out", str(out), "--domain", "law", "--max-chunks", "2", *fake_llm_flags(server),
        "--json", *more, cwd=cwd,
    )  # fmt: skip


def test_build_into_a_used_folder_refuses_or_replaces_leaving_no_stale_split(tmp_path: Path) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / "law.md").write_text(STATUTE, encoding="utf-8")
    out = tmp_path / "x"
    with FakeOpenAIServer() as server:
        first = _build(server, inputs, out, tmp_path, "--format", "alpaca", "--format", "openai")
    assert first.returncode == 0, first.stderr[-2000:]
    assert json.loads(first.stdout)["accepted"] > 0 and (out / "openai" / "train.jsonl").is_file()
    (out / "my-notes.md").write_text("kept", encoding="utf-8")
    with FakeOpenAIServer(FakeServerConfig(review_score=1)) as server:  # every sample rejected this time
        refused = _build(server, inputs, out, tmp_path)
        assert refused.returncode == 2 and "--overwrite" in refused.stderr, refused.stderr[-2000:]
        assert not server.requests, "the folder is checked before any model is called"
        second = _build(server, inputs, out, tmp_path, "--overwrite")
    assert second.returncode == 1, second.stderr[-2000:]  # nothing accepted
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["accepted"] == 0 and report["rejected"] > 0
    for stale in ("alpaca", "openai", "sharegpt", "provenance", "task"):
        assert not (out / stale).exists(), f"{stale}/ of the first run survived beside the new report"
    assert not (out / "dataset_info.json").exists()
    assert (out / "my-notes.md").read_text(encoding="utf-8") == "kept"
    assert _files(out) - {MANIFEST, "my-notes.md"} == _manifest(out)


async def test_mcp_split_and_export_into_a_used_folder_refuse_or_replace_leaving_no_stale_file(tmp_path: Path) -> None:
    from mcp import Client

    from ftds.server.app import create_server
    from ftds.tools.config import load_settings

    _write(tmp_path / "big.jsonl", _records(60))
    _write(tmp_path / "small.jsonl", _records(3))
    async with Client(create_server(load_settings(server={"roots": [str(tmp_path)]}))) as client:
        await client.call_tool("split_dataset", {"input_path": "big.jsonl", "out_dir": "s"})
        refused = await client.call_tool("split_dataset", {"input_path": "small.jsonl", "out_dir": "s"})
        assert refused.is_error and "overwrite" in refused.content[0].text
        replaced = await client.call_tool(
            "split_dataset", {"input_path": "small.jsonl", "out_dir": "s", "overwrite": True}
        )
        assert not replaced.is_error and not (tmp_path / "s" / "validation.jsonl").exists()
        await client.call_tool("export_dataset", {"input_path": "s", "out_dir": "e", "format": "alpaca"})
        again = await client.call_tool("export_dataset", {"input_path": "s", "out_dir": "e", "format": "alpaca"})
        assert again.is_error and "already holds a dataset" in again.content[0].text
