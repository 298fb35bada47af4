"""Issue 13 item 10: every reader reads the real layouts of LLaMA-Factory's own demo files; LLaMA-Factory's KTO
demo (``messages`` + boolean ``label``) converts to kto, and a target that cannot hold the label lists it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ftds.tools.formats import convert_records, detect_format, read_dataset, validate_records
from tests.conftest import run_cli

FIXTURES = Path(__file__).resolve().parent.parent / "data" / "formats"
# fixture -> the format it is in (how LLaMA-Factory registers it, in ftds' names)
LAYOUTS = {
    "identity.json": "alpaca",
    "alpaca_zh_demo.json": "alpaca",
    "dpo_zh_demo.json": "sharegpt",
    "glaive_toolcall_zh_demo.json": "sharegpt",
    "kto_en_demo.json": "openai",
    "mllm_demo.json": "openai",
    "c4_demo.jsonl": "pretrain",
}


def _records(name: str) -> list[dict[str, Any]]:
    return read_dataset(FIXTURES / name)


@pytest.mark.parametrize("name", sorted(LAYOUTS))
def test_every_reference_file_is_read_whole_and_converts_to_its_own_format_without_loss(name: str) -> None:
    records = _records(name)
    assert detect_format(records[0]) == LAYOUTS[name]
    report = validate_records(records)
    assert report.ok, report.errors
    result = convert_records(records, LAYOUTS[name])
    assert not result.errors and not result.dropped
    for original, written in zip(records, result.records, strict=True):
        if "label" in original and isinstance(original["label"], bool):  # the KTO tag's canonical column
            original = {k: v for k, v in original.items() if k != "label"} | {"kto_tag": original["label"]}
        if original.get("input"):  # the prompt LLaMA-Factory builds: instruction + "\n" + input, kept as one
            original = original | {"instruction": f"{original['instruction']}\n{original['input']}", "input": ""}
        assert written == original


def test_llamafactory_kto_demo_converts_to_kto_with_its_labels(tmp_path: Path) -> None:
    done = run_cli(
        "convert", str(FIXTURES / "kto_en_demo.json"), "--to", "kto", "--out", "kto.jsonl", "--json", cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    assert payload["converted"] == 3 and payload["error_count"] == 0
    written = [json.loads(line) for line in (tmp_path / "kto.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r["label"] for r in written] == [True, False, True]
    assert written[1]["prompt"] == "is the code have issues?"  # the last exchange of a multi-turn record
    assert payload["dropped"] == {"history": 1}  # and the earlier turns are said to be dropped


def test_kto_demo_to_classification_lists_the_boolean_label_as_dropped(tmp_path: Path) -> None:
    done = run_cli(
        "convert", str(FIXTURES / "kto_en_demo.json"), "--to", "classification", "--out", "c.jsonl", "--json",
        cwd=tmp_path,
    )  # fmt: skip
    payload = json.loads(done.stdout)
    assert payload["dropped"].get("label") == 3, payload["dropped"]


def test_a_sharegpt_record_with_a_boolean_label_is_kto_tagged_too() -> None:
    record = {"conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "a"}], "label": False}
    (written,) = convert_records([record], "kto").records
    assert written == {"prompt": "q", "completion": "a", "label": False}


def test_an_extra_column_whose_name_the_target_uses_is_listed_not_silently_overwritten() -> None:
    record = {"instruction": "Is this spam?", "input": "", "output": "no", "text": "an older copy of the message"}
    result = convert_records([record], "classification")
    assert result.records[0]["text"] == "Is this spam?"
    assert result.dropped == {"text": 1}


def test_when_every_record_fails_convert_reports_the_detected_format_not_auto() -> None:
    result = convert_records(_records("dpo_zh_demo.json"), "kto")
    assert not result.records and result.source_format == "sharegpt"
    assert convert_records([{"unknown": 1}], "alpaca").source_format == "unknown"
