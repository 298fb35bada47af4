"""Issue 13 item 14: a bad output location is refused before any work, with a sentence and exit 2, on every
verb that writes (ingest, convert, split, export, dedupe, build, eval-set build, eval)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ftds.tools.dataset.output_path import OutputPathError, check_output_path
from tests.adversarial.inprocess import cli
from tests.conftest import fake_llm_flags, run_cli
from tests.fakes.fake_openai_server import FakeOpenAIServer

DOC = "# Data law\n\nArticle 1. A data handler shall keep a record of each processing activity it performs.\n"
RECORDS = [{"instruction": f"What does rule {i} say?", "output": f"Rule {i} says to keep records."} for i in range(6)]


def _inputs(tmp_path: Path) -> None:
    (tmp_path / "doc.md").write_text(DOC, encoding="utf-8")
    (tmp_path / "data.jsonl").write_text("".join(json.dumps(r) + "\n" for r in RECORDS), encoding="utf-8")
    (tmp_path / "a_file.txt").write_text("not a folder", encoding="utf-8")
    (tmp_path / "a_folder").mkdir()


# verb -> (arguments before --out, "file" or "folder" output)
VERBS = {
    "ingest": (["doc.md"], "file"),
    "convert": (["data.jsonl", "--to", "sharegpt"], "file"),
    "dedupe": (["data.jsonl", "--methods", "exact"], "file"),
    "split": (["data.jsonl"], "folder"),
    "export": (["data.jsonl"], "folder"),
    "eval-set": (["build", "doc.md"], "folder"),
    "eval": (["--set", "a_folder", "--model", "m"], "folder"),
}
BAD = {
    "an existing folder where a file goes": ("a_folder", {"file"}, "is a folder"),
    "an existing file where a folder goes": ("a_file.txt", {"folder"}, "is a file"),
    "a path under a file": ("a_file.txt/out.jsonl", {"file", "folder"}, "is a file, not a folder"),
    "a path in /proc": ("/proc/ftds-test/out.jsonl", {"file", "folder"}, "cannot"),
    "a 5,000-character name": ("x" * 5000, {"file", "folder"}, "too long"),
}


CASES = [(verb, case) for verb in sorted(VERBS) for case in sorted(BAD) if VERBS[verb][1] in BAD[case][1]]


@pytest.mark.parametrize(("verb", "case"), CASES)
def test_a_bad_out_is_refused_before_the_work_with_a_sentence_and_exit_2(tmp_path: Path, verb: str, case: str) -> None:
    args, _ = VERBS[verb]
    out, _, words = BAD[case]
    _inputs(tmp_path)
    done = cli(verb, *args, "--out", out, cwd=tmp_path)
    assert done.returncode == 2, (done.returncode, done.stderr[-2000:])
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith("error: --out") and words in done.stderr, done.stderr[:600]
    assert "file 1/1" not in done.stderr  # refused before reading anything
    assert len(done.stderr) < 1000  # the long path is shortened, not echoed whole


def test_build_refuses_an_out_that_is_a_file_before_calling_the_model(
    tmp_path: Path, fake_server: FakeOpenAIServer
) -> None:
    _inputs(tmp_path)
    done = run_cli("build", "doc.md", "--out", "a_file.txt", *fake_llm_flags(fake_server), cwd=tmp_path, timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "error: --out a_file.txt is a file" in done.stderr
    assert not fake_server.requests


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into a chmod 555 folder")
def test_a_read_only_folder_is_refused(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        with pytest.raises(OutputPathError, match="cannot write"):
            check_output_path(locked / "out.jsonl", "file")
    finally:
        locked.chmod(0o755)


def test_a_read_only_file_system_is_refused_by_a_real_write_probe() -> None:
    read_only = Path("/proc/sys")  # procfs: listing works, creating a file does not (not even for root)
    with pytest.raises(OutputPathError, match="cannot"):
        check_output_path(read_only / "ftds-out.jsonl", "file")


def test_a_good_path_is_accepted_and_nothing_is_left_behind(tmp_path: Path) -> None:
    assert check_output_path(tmp_path / "new" / "deeper" / "out.jsonl", "file") == tmp_path / "new/deeper/out.jsonl"
    assert check_output_path(tmp_path / "dir", "folder") == tmp_path / "dir"
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["deeper", "dir", "new"]  # no probe file left
