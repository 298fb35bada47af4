"""``ftds-agent sources search|show|fetch`` in process, with the network off."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from ftds.agents.cli import app

runner = CliRunner()


def test_offline_search_prints_json_with_catalog_licences_and_exits_ok(tmp_path: Path, no_network: None) -> None:
    out = tmp_path / "found.json"
    result = runner.invoke(app, ["sources", "search", "中文", "法律", "问答", "--offline", "--json", "--out", str(out)])

    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["offline"] is True
    assert {r["id"]: r["license"] for r in payload["results"]}["thunlp/JEC-QA"] == "CC-BY-NC-SA-4.0"
    assert json.loads(out.read_text(encoding="utf-8")) == payload


def test_online_search_with_registries_down_is_a_partial_result_naming_them(no_network: None) -> None:
    result = runner.invoke(app, ["sources", "search", "law", "--source", "modelscope", "--source", "google"])

    assert result.exit_code == 3
    assert "failed: modelscope" in result.stderr
    assert "datasetsearch.research.google.com" in result.stdout
    assert "[catalog]" in result.stdout


def test_commercial_flag_marks_non_commercial_licences(no_network: None) -> None:
    result = runner.invoke(app, ["sources", "search", "Alpaca", "--offline", "--commercial"])
    line = next(line for line in result.stdout.splitlines() if "tatsu-lab/alpaca" in line)
    assert "CONFLICT" in line


def test_show_offline_gives_licence_terms_from_the_catalog(no_network: None) -> None:
    result = runner.invoke(app, ["sources", "show", "tatsu-lab/alpaca", "--offline"])
    assert result.exit_code == 0, result.output
    assert "licence CC-BY-NC-4.0: commercial=False" in result.stdout


def test_fetch_writes_a_converted_sample(tmp_path: Path, corpus: Path) -> None:
    out = tmp_path / "sample.jsonl"
    source = corpus / "datasets" / "alpaca_zh_demo.json"
    result = runner.invoke(
        app, ["sources", "fetch", str(source), "--limit", "4", "--to", "sharegpt", "--out", str(out), "--json"]
    )

    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["rows"] == 4 and summary["detected_format"] == "alpaca" and summary["converted"] == 4
    assert len(out.read_text(encoding="utf-8").splitlines()) == 4


def test_fetch_with_an_unknown_target_format_is_a_usage_error(corpus: Path) -> None:
    result = runner.invoke(app, ["sources", "fetch", str(corpus / "datasets" / "identity.json"), "--to", "xml"])
    assert result.exit_code == 2 and "alpaca, sharegpt or openai" in result.stderr


def test_card_lists_every_mixed_source_licence_and_flags_conflicts(tmp_path: Path, no_network: None) -> None:
    out = tmp_path / "card.md"
    result = runner.invoke(
        app,
        [
            "sources", "card", "huggingface:rajpurkar/squad", "huggingface:tatsu-lab/alpaca", "web:thunlp/JEC-QA",
            "--commercial", "--offline", "--out", str(out),
        ],
    )  # fmt: skip

    assert result.exit_code == 3, result.output  # a conflict is reported like a partial result
    card = out.read_text(encoding="utf-8")
    for dataset_id, licence in (("rajpurkar/squad", "CC-BY-SA-4.0"), ("tatsu-lab/alpaca", "CC-BY-NC-4.0")):
        assert f"| {dataset_id} | {licence} |" in card
    assert "| thunlp/JEC-QA | CC-BY-NC-SA-4.0 |" in card
    assert "**tatsu-lab/alpaca**: CC-BY-NC-4.0 does not permit commercial use" in card
