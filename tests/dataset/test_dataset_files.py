"""The one atomic writer and the output folder's manifest: a failed write leaves the old file whole, and
replacing a dataset removes only what its manifest lists inside the folder, never anything outside it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ftds.tools.dataset.files import MANIFEST, DatasetFolder, check_output_folder, write_jsonl, write_records


def test_a_write_that_fails_midway_leaves_the_previous_file_whole_and_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "train.jsonl"
    write_jsonl(path, [{"a": 1}, {"a": 2}])

    def records():
        yield {"a": 3}
        raise RuntimeError("disk gone")

    with pytest.raises(RuntimeError):
        write_jsonl(path, records())
    assert path.read_text(encoding="utf-8") == '{"a": 1}\n{"a": 2}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["train.jsonl"]


@pytest.mark.parametrize("file_type", ["jsonl", "json", "csv", "parquet"])
def test_every_file_type_goes_through_the_one_writer(tmp_path: Path, file_type: str) -> None:
    from ftds.tools.formats import read_dataset

    records = [{"instruction": "问", "output": "答", "history": [["q", "a"]]}]
    write_records(tmp_path / f"d.{file_type}", records, file_type)
    assert read_dataset(tmp_path / f"d.{file_type}") == records


def test_replacing_removes_only_what_the_manifest_lists_inside_the_folder(tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("keep", encoding="utf-8")
    out = tmp_path / "out"
    with DatasetFolder(out, "split"):
        write_jsonl(out / "train.jsonl", [{"a": 1}])
        write_jsonl(out / "sub" / "test.jsonl", [{"a": 2}])
    assert json.loads((out / MANIFEST).read_text())["files"] == ["sub/test.jsonl", "train.jsonl"]
    (out / "link.txt").symlink_to(outside)
    (out / "mine.txt").write_text("mine", encoding="utf-8")
    manifest = json.loads((out / MANIFEST).read_text())
    manifest["files"] += ["../outside.txt", str(outside), "link.txt"]  # an edited or hostile manifest
    (out / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(ValueError, match="--overwrite"):
        check_output_folder(out, overwrite=False)
    with DatasetFolder(out, "split"):
        write_jsonl(out / "validation.jsonl", [{"a": 3}])
    assert outside.read_text(encoding="utf-8") == "keep"  # neither by path nor through the link
    assert not (out / "link.txt").is_symlink() and not (out / "sub").exists() and not (out / "train.jsonl").exists()
    assert (out / "mine.txt").read_text(encoding="utf-8") == "mine"
    assert json.loads((out / MANIFEST).read_text())["files"] == ["validation.jsonl"]


def test_a_folder_without_a_dataset_is_accepted_and_one_with_unrelated_files_too(tmp_path: Path) -> None:
    check_output_folder(tmp_path / "new", overwrite=False)
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "README.md").write_text("notes", encoding="utf-8")
    (tmp_path / "docs" / "data").mkdir()
    check_output_folder(tmp_path / "docs", overwrite=False)
