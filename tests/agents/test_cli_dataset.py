"""The dataset verbs end to end, in-process through Typer's runner, on real LLaMA-Factory data."""

import json
from pathlib import Path

from typer.testing import CliRunner

from ftds.agents.cli import app

runner = CliRunner()


def _run(*args: str):
    return runner.invoke(app, list(args))


def test_cli_dedupe_split_export_and_validate_a_real_dataset(tmp_path: Path, corpus: Path) -> None:
    source = corpus / "datasets" / "alpaca_zh_demo.json"
    records = json.loads(source.read_text(encoding="utf-8"))
    doubled = records[:200] + [dict(r, output=r["output"] + "。") for r in records[:50]]
    (tmp_path / "in.json").write_text(json.dumps(doubled, ensure_ascii=False), encoding="utf-8")
    deduped = _run("dedupe", str(tmp_path / "in.json"), "--out", str(tmp_path / "d.jsonl"), "--json")
    assert deduped.exit_code == 0, deduped.output
    assert json.loads(deduped.stdout)["kept"] == 200
    split = _run("split", str(tmp_path / "d.jsonl"), "--out", str(tmp_path / "s"), "--json")
    assert split.exit_code == 0, split.output
    assert json.loads(split.stdout)["counts"] == {"train": 160, "validation": 20, "test": 20, "full": 200}
    exported = _run(
        "export",
        str(tmp_path / "s"),
        "--out",
        str(tmp_path / "e"),
        "--format",
        "alpaca",
        "--files",
        "jsonl,csv",
        "--json",
    )
    assert exported.exit_code == 0, exported.output
    info = json.loads((tmp_path / "e" / "dataset_info.json").read_text(encoding="utf-8"))
    assert info["ftds_validation"]["file_name"] == "data/validation.jsonl"
    card = (tmp_path / "e" / "README.md").read_text(encoding="utf-8")
    assert "size_categories:\n- n<1K" in card and "- split: validation" in card
    assert '"format": "alpaca"' in card and '"leakage_pairs_at_split"' in card
    valid = _run("validate", str(tmp_path / "e" / "data" / "train.csv"), "--format", "alpaca")
    assert valid.exit_code == 0, valid.output


def test_cli_validate_fails_with_usage_code_and_names_the_record(tmp_path: Path) -> None:
    (tmp_path / "bad.jsonl").write_text(json.dumps({"messages": [{"role": "assistant", "content": "a"}]}) + "\n")
    result = _run("validate", str(tmp_path / "bad.jsonl"))
    assert result.exit_code == 2
    assert "record 0" in result.output and "Invalid role tag" in result.output


def test_cli_convert_with_mapping_and_defaults_tags_a_custom_shape(tmp_path: Path) -> None:
    rows = [{"question": f"q{i}", "answer": f"a{i}"} for i in range(5)]
    (tmp_path / "c.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = _run(
        "convert",
        str(tmp_path / "c.jsonl"),
        "--to",
        "domain",
        "--map",
        "instruction=question",
        "--map",
        "output=answer",
        "--set",
        "domain=法律",
        "--out",
        str(tmp_path / "o.jsonl"),
        "--json",
    )
    assert result.exit_code == 0, result.output
    written = [json.loads(line) for line in (tmp_path / "o.jsonl").read_text(encoding="utf-8").splitlines()]
    assert written[0] == {"instruction": "q0", "input": "", "output": "a0", "domain": "法律"}


def test_cli_split_by_time_needs_a_date_on_every_record(tmp_path: Path) -> None:
    rows = [{"instruction": f"q{i}", "output": "a", "date": "2024-01-01" if i else ""} for i in range(10)]
    (tmp_path / "t.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = _run(
        "split", str(tmp_path / "t.jsonl"), "--strategy", "time", "--key", "date", "--out", str(tmp_path / "s")
    )
    assert result.exit_code == 2
    assert "1 record(s) have no 'date'" in result.output


def test_cli_k_fold_keeps_groups_apart_and_audits_each_fold(tmp_path: Path) -> None:
    rows = [
        {"instruction": f"question {i} about topic {i % 7}", "output": f"answer {i}", "doc": f"d{i % 6}"}
        for i in range(60)
    ]
    (tmp_path / "k.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = _run(
        "split", str(tmp_path / "k.jsonl"), "--k-folds", "3", "--key", "doc", "--out", str(tmp_path / "f"), "--json"
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert [payload["counts"][f"fold{i}/test"] for i in range(3)] == [20, 20, 20]
    for i in range(3):
        train = [json.loads(x)["doc"] for x in (tmp_path / "f" / f"fold{i}" / "train.jsonl").read_text().splitlines()]
        held = [json.loads(x)["doc"] for x in (tmp_path / "f" / f"fold{i}" / "test.jsonl").read_text().splitlines()]
        assert not set(train) & set(held)
        assert (tmp_path / "f" / f"fold{i}" / "leakage.json").is_file()


def test_cli_help_lists_every_format_the_registry_knows() -> None:
    from ftds.agents.cli_dataset import FORMAT_CHOICES
    from ftds.tools.formats import FORMATS

    assert FORMAT_CHOICES.split(", ") == list(FORMATS)
    assert "multimodal" in _run("convert", "--help").output


def test_cli_split_of_a_tiny_set_writes_no_empty_split_file(tmp_path: Path) -> None:
    rows = [{"instruction": "q1", "output": "a1"}, {"instruction": "q2", "output": "a2"}]
    (tmp_path / "tiny.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = _run("split", str(tmp_path / "tiny.jsonl"), "--out", str(tmp_path / "s"), "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    empty = [name for name, count in payload["counts"].items() if count == 0]
    assert empty and all(not (tmp_path / "s" / f"{name}.jsonl").exists() for name in empty)
    assert any("no file written" in note for note in payload["notes"])
