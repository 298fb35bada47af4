"""Issue 13 item 1: a symlink inside a root never leaks a file outside it, whoever names the file — a folder
walk (load_literature, build_dataset), a dataset folder (convert/export) or an output folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mcp import Client

from ftds.server.app import create_server
from ftds.tools.config import load_settings
from ftds.tools.confinement import Confinement
from ftds.tools.ingest import load_documents
from tests.conftest import fake_llm_overrides
from tests.fakes.fake_openai_server import FakeOpenAIServer

SECRET = "SECRET-OUTSIDE-THE-ROOT"
HIDDEN = "PRIVATE-KEY-IN-A-DOT-FOLDER"
LAW = "第一条 为了规范数据处理活动，保障数据安全，促进数据开发利用，保护个人、组织的合法权益，制定本法。\n"


def _server(root: Path, **llm: object):
    return create_server(load_settings(server={"roots": [str(root)]}, llm=llm or None))


def _tree(tmp_path: Path) -> tuple[Path, Path]:
    """root/docs with a real law file, a link to a file outside, a link into a dot-folder, a link inside."""
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "docs").mkdir(parents=True)
    (root / ".ssh").mkdir()
    outside.mkdir()
    (outside / "passwd.txt").write_text(f"root:x:0:0:{SECRET}:/root:/bin/bash\n" * 20, encoding="utf-8")
    (root / ".ssh" / "id_rsa").write_text(f"-----BEGIN KEY----- {HIDDEN} " * 20, encoding="utf-8")
    (root / "docs" / "law.md").write_text(LAW * 3, encoding="utf-8")
    (root / "docs" / "passwd.txt").symlink_to(outside / "passwd.txt")
    (root / "docs" / "key.txt").symlink_to(root / ".ssh" / "id_rsa")
    (root / "docs" / "same-law.md").symlink_to(root / "docs" / "law.md")
    return root, outside


def test_the_walker_reports_links_leaving_its_confinement_instead_of_reading_them(tmp_path: Path) -> None:
    root, _ = _tree(tmp_path)
    result = load_documents([root / "docs"], confine_to=Confinement.of([root]))
    reports = {f.source: f for f in result.files}
    assert set(reports) == {"law.md", "passwd.txt", "key.txt", "same-law.md"}
    assert reports["passwd.txt"].status == "skipped" and "outside" in reports["passwd.txt"].reason
    assert reports["key.txt"].status == "skipped" and "hidden" in reports["key.txt"].reason
    assert reports["law.md"].status == reports["same-law.md"].status == "loaded"
    assert all(SECRET not in d.text and HIDDEN not in d.text for d in result.documents)


async def test_load_literature_over_mcp_never_returns_a_linked_file_from_outside(tmp_path: Path) -> None:
    root, _ = _tree(tmp_path)
    async with Client(_server(root)) as client:
        result = await client.call_tool(
            "load_literature", {"paths": ["docs"], "limit": 200, "out_path": "chunks.jsonl"}
        )
    assert not result.is_error, result.content
    dumped = json.dumps(result.structured_content, ensure_ascii=False) + (root / "chunks.jsonl").read_text("utf-8")
    assert SECRET not in dumped and HIDDEN not in dumped
    reports = {f["source"]: f for f in result.structured_content["files"]}
    assert reports["passwd.txt"]["status"] == "skipped" and "outside" in reports["passwd.txt"]["reason"]
    assert reports["key.txt"]["status"] == "skipped"
    assert reports["law.md"]["status"] == "loaded"


async def test_build_dataset_walks_its_inputs_with_the_same_confinement(tmp_path: Path) -> None:
    root, _ = _tree(tmp_path)
    with FakeOpenAIServer() as fake:
        async with Client(_server(root, **fake_llm_overrides(fake))) as client:
            built = await client.call_tool("build_dataset", {"paths": ["docs"], "out_dir": "ds", "max_chunks": 2})
        prompts = json.dumps(fake.requests, ensure_ascii=False, default=str)
    assert not built.is_error, built.content
    files = {f["source"]: f["status"] for f in built.structured_content["summary"]["files"]}
    assert files["passwd.txt"] == "skipped" and files["key.txt"] == "skipped"
    assert SECRET not in prompts and HIDDEN not in prompts
    written = "".join(p.read_text("utf-8", errors="replace") for p in (root / "ds").rglob("*") if p.is_file())
    assert SECRET not in written and HIDDEN not in written


async def test_a_split_folder_whose_train_file_links_outside_is_refused(tmp_path: Path) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "splits").mkdir(parents=True)
    outside.mkdir()
    (outside / "train.jsonl").write_text(
        json.dumps({"instruction": SECRET, "input": "", "output": "a"}) + "\n", encoding="utf-8"
    )
    (root / "splits" / "train.jsonl").symlink_to(outside / "train.jsonl")
    async with Client(_server(root)) as client:
        exported = await client.call_tool(
            "export_dataset", {"input_path": "splits", "out_dir": "exp", "format": "alpaca"}
        )
        validated = await client.call_tool("validate_dataset", {"input_path": "splits/train.jsonl"})
    assert exported.is_error and "outside" in exported.content[0].text
    assert validated.is_error and "outside" in validated.content[0].text
    assert not (root / "exp").exists()


@pytest.mark.parametrize("layout", ["dataset", "dataset_dict"])
async def test_a_datasets_folder_naming_data_files_outside_the_root_is_refused(tmp_path: Path, layout: str) -> None:
    """``datasets`` joins the file names a save_to_disk folder lists (state.json) to the folder: ``../..`` in
    them would read another dataset from anywhere."""
    import datasets

    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    datasets.Dataset.from_list([{"instruction": SECRET, "input": "", "output": "a"}]).save_to_disk(str(outside / "ds"))
    folder = root / "dd" / ("train" if layout == "dataset_dict" else "")
    folder.mkdir(parents=True)
    if layout == "dataset_dict":
        (root / "dd" / "dataset_dict.json").write_text(json.dumps({"splits": ["train"]}), encoding="utf-8")
    (folder / "dataset_info.json").write_text((outside / "ds" / "dataset_info.json").read_text("utf-8"), "utf-8")
    state = json.loads((outside / "ds" / "state.json").read_text("utf-8"))
    up = "../" * len(folder.relative_to(tmp_path).parts)
    state["_data_files"] = [{"filename": f"{up}outside/ds/{f['filename']}"} for f in state["_data_files"]]
    (folder / "state.json").write_text(json.dumps(state), encoding="utf-8")
    async with Client(_server(root)) as client:
        result = await client.call_tool("convert_format", {"input_path": "dd", "to": "openai", "out_path": "out.jsonl"})
    assert result.is_error and "the dataset entry" in result.content[0].text, result.content
    assert SECRET not in result.content[0].text
    assert not (root / "out.jsonl").exists()


async def test_an_output_folder_holding_a_link_to_a_folder_outside_is_refused(tmp_path: Path) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "splits").mkdir(parents=True)
    outside.mkdir()
    records = [{"instruction": f"q{i}", "input": "", "output": f"a{i}"} for i in range(20)]
    (root / "data.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    (root / "splits" / "fold0").symlink_to(outside, target_is_directory=True)
    async with Client(_server(root)) as client:
        result = await client.call_tool(
            "split_dataset", {"input_path": "data.jsonl", "out_dir": "splits", "k_folds": 2}
        )
    assert result.is_error and "outside" in result.content[0].text
    assert list(outside.iterdir()) == []
