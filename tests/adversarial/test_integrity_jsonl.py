"""Issue 13 item 9: one bad JSONL line never sinks a file — every verb keeps the good records, names the bad
line by its real line number, and exits 3 (partial)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.adversarial.inprocess import cli
from tests.conftest import run_cli

BAD_LINE = 5


def _jsonl_with_one_bad_line(path: Path, good: int = 10) -> Path:
    lines = [
        json.dumps({"instruction": f"What does article {i} require of a data handler?", "output": f"Duty {i} applies."})
        for i in range(good)
    ]
    lines.insert(BAD_LINE - 1, '{"instruction": "broken", "output": ')  # a line cut short
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("verb", "extra", "kept_key"),
    [
        ("convert", ["--to", "sharegpt", "--out", "out.jsonl"], "converted"),
        ("validate", ["--format", "alpaca"], "valid"),
        ("dedupe", ["--out", "out.jsonl", "--methods", "exact"], "kept"),
        ("split", ["--out", "splits"], None),
        ("export", ["--out", "exported"], None),
    ],
)
def test_a_bad_jsonl_line_keeps_the_rest_names_its_line_and_exits_3(
    tmp_path: Path, verb: str, extra: list[str], kept_key: str | None
) -> None:
    _jsonl_with_one_bad_line(tmp_path / "data.jsonl")
    done = cli(verb, "data.jsonl", *extra, "--json", cwd=tmp_path)
    assert "Traceback" not in done.stderr
    assert done.returncode == 3, (done.returncode, done.stdout, done.stderr)
    payload = json.loads(done.stdout)
    assert [bad["line"] for bad in payload["unreadable"]] == [BAD_LINE]
    assert "not valid JSON" in payload["unreadable"][0]["error"]
    if kept_key is not None:
        assert payload[kept_key] == 10
    else:
        assert sum(payload["counts"].values()) >= 10


def test_plain_output_names_the_bad_line(tmp_path: Path) -> None:
    _jsonl_with_one_bad_line(tmp_path / "data.jsonl")
    done = run_cli("convert", "data.jsonl", "--to", "sharegpt", "--out", "out.jsonl", cwd=tmp_path, timeout=120)
    assert done.returncode == 3
    assert f"line {BAD_LINE}: not valid JSON" in done.stderr
    assert len((tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()) == 10


def test_ingest_keeps_good_lines_of_a_jsonl_and_exits_3(tmp_path: Path) -> None:
    _jsonl_with_one_bad_line(tmp_path / "data.jsonl")
    done = run_cli("ingest", "data.jsonl", "--out", "chunks.jsonl", "--json", cwd=tmp_path, timeout=120)
    assert done.returncode == 3, done.stderr
    (report,) = json.loads(done.stdout)["files"]
    assert report["status"] == "loaded" and f"lines {BAD_LINE}" in report["reason"]


def test_a_file_with_no_readable_line_is_refused_naming_the_lines(tmp_path: Path) -> None:
    (tmp_path / "bad.jsonl").write_text("{oops\nnot json either\n", encoding="utf-8")
    done = run_cli("convert", "bad.jsonl", "--to", "alpaca", "--out", "o.jsonl", cwd=tmp_path, timeout=120)
    assert done.returncode in (1, 2) and "Traceback" not in done.stderr
    assert "lines 1, 2" in done.stderr


def test_a_build_that_read_a_file_only_in_part_is_not_complete() -> None:
    from ftds.tools.records import FileReport, RunSummary

    whole = RunSummary(run_id="r", domain="law", files=[FileReport(source="a.jsonl", status="loaded")], accepted=3)
    part = RunSummary(
        run_id="r", domain="law", files=[FileReport(source="a.jsonl", status="loaded", partial=True)], accepted=3
    )
    assert whole.complete and not part.complete  # so `build` exits 3, like every other verb


async def test_mcp_convert_and_validate_name_the_bad_line_too(tmp_path: Path) -> None:
    from mcp import Client

    from ftds.server.app import create_server
    from ftds.tools.config import load_settings

    _jsonl_with_one_bad_line(tmp_path / "data.jsonl")
    async with Client(create_server(load_settings(server={"roots": [str(tmp_path)]}))) as client:
        converted = await client.call_tool(
            "convert_format", {"input_path": "data.jsonl", "to": "sharegpt", "out_path": "o.jsonl"}
        )
        checked = await client.call_tool("validate_dataset", {"input_path": "data.jsonl"})
    for result in (converted.structured_content, checked.structured_content):
        assert result is not None and result["unreadable_count"] == 1
        assert result["unreadable"][0]["line"] == BAD_LINE
    assert checked.structured_content is not None and checked.structured_content["ok"] is False
