"""`ftds-agent export`'s LLaMA-Factory registration for the shapes beyond plain SFT — KTO (TRL's and a chat
format's kto_tag), OpenAI tool calls — checked with LLaMA-Factory's own loader, and the formats it cannot read
left out of dataset_info.json with the card saying so."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ftds.tools.dataset.export import CardInfo, export_dataset
from ftds.tools.formats import convert_records, read_dataset
from tests.conftest import CORPUS
from tests.tools import llamafactory_oracle

needs_oracle = pytest.mark.skipif(
    not llamafactory_oracle.available(), reason="llamafactory not installed (pip install --no-deps)"
)


def _kto(count: int) -> list[dict]:
    return [{"prompt": f"问题{i}是什么？", "completion": f"回答{i}。", "label": i % 2 == 0} for i in range(count)]


@needs_oracle
def test_trl_kto_records_register_with_their_label_as_kto_tag(tmp_path: Path) -> None:
    result = export_dataset({"train": _kto(6)}, tmp_path, "kto", save_to_disk=False, card=CardInfo(name="k"))
    assert result.dataset_info["k_train"]["columns"]["kto_tag"] == "label"
    kept, warnings = llamafactory_oracle.load_like_llamafactory(tmp_path, "k_train")
    assert len(kept) == 6 and not warnings
    desirable = [example["_response"][-1]["content"] == "" for example in kept]  # LF's KTO encoding
    assert desirable == [True, False] * 3
    assert "`stage: kto`" in (tmp_path / "README.md").read_text(encoding="utf-8")


@needs_oracle
@pytest.mark.parametrize("fmt", ["alpaca", "sharegpt", "openai"])
def test_a_chat_format_with_a_kto_tag_registers_the_kto_tag_column(fmt: str, tmp_path: Path) -> None:
    converted = convert_records(_kto(4), fmt)
    assert not converted.errors and all("kto_tag" in r for r in converted.records)
    result = export_dataset({"train": converted.records}, tmp_path, fmt, save_to_disk=False, card=CardInfo(name="k"))
    assert result.dataset_info["k_train"]["columns"]["kto_tag"] == "kto_tag"
    kept, warnings = llamafactory_oracle.load_like_llamafactory(tmp_path, "k_train")
    assert len(kept) == 4 and not warnings and all(len(example["_response"]) == 2 for example in kept)


@needs_oracle
def test_openai_tool_calls_use_llamafactorys_openai_converter(tmp_path: Path) -> None:
    source = read_dataset(CORPUS / "datasets" / "glaive_toolcall_zh_demo.json")[:40]
    converted = convert_records(source, "openai")
    assert any(m.get("tool_calls") for r in converted.records for m in r["messages"])
    result = export_dataset({"train": converted.records}, tmp_path, "openai", save_to_disk=False, card=CardInfo("t"))
    assert result.dataset_info["t_train"]["formatting"] == "openai"
    kept, warnings = llamafactory_oracle.load_like_llamafactory(tmp_path, "t_train")
    assert len(kept) == len(converted.records) and not warnings


@pytest.mark.parametrize("fmt", ["cot", "trl"])
def test_a_format_llamafactory_cannot_read_is_not_registered_and_the_card_says_to_convert(
    fmt: str, tmp_path: Path
) -> None:
    records = [{"instruction": "什么制度？", "input": "", "output": "<think>第一步</think>分类分级保护制度。"}]
    if fmt == "trl":
        records = [{"prompt": "什么制度？", "chosen": "分类分级保护制度。", "rejected": "不知道。"}]
    converted = convert_records(records, fmt)
    result = export_dataset({"train": converted.records}, tmp_path, fmt, save_to_disk=False)
    assert result.counts == {"train": 1} and not (tmp_path / "dataset_info.json").exists()
    assert any("cannot load" in note for note in result.notes)
    card = (tmp_path / "README.md").read_text(encoding="utf-8")
    assert "cannot read this format directly" in card and "dataset: " not in card
    assert json.loads((tmp_path / "data" / "train.jsonl").read_text(encoding="utf-8").splitlines()[0])
