"""Loading a sample of a found dataset with `datasets` and handing it to the format tools (all local data)."""

from __future__ import annotations

from pathlib import Path

import datasets
import pytest

from ftds.tools.sources import FetchError, fetch_sample


def test_fetch_loads_the_first_rows_of_a_json_file_detects_alpaca_and_converts(corpus: Path, tmp_path: Path) -> None:
    sample = fetch_sample(
        str(corpus / "datasets" / "alpaca_zh_demo.json"), limit=5, to="openai", cache_dir=tmp_path / "cache"
    )

    assert sample.rows == 5 and sample.columns == ["instruction", "input", "output"]
    assert sample.detected_format == "alpaca"
    assert len(sample.converted) == 5 and not sample.conversion_errors
    assert sample.converted[0]["messages"][0]["role"] == "user"


def test_fetch_reads_a_dataset_saved_with_save_to_disk(tmp_path: Path) -> None:
    rows = [
        {"conversations": [{"from": "human", "value": f"问题{i}"}, {"from": "gpt", "value": f"回答{i}"}]}
        for i in range(10)
    ]
    datasets.Dataset.from_list(rows).save_to_disk(str(tmp_path / "saved"))

    sample = fetch_sample(str(tmp_path / "saved"), limit=4, to="alpaca")

    assert sample.rows == 4 and sample.detected_format == "sharegpt"
    assert sample.converted[3] == {"instruction": "问题3", "input": "", "output": "回答3"}


def test_rows_in_no_chat_format_are_loaded_and_every_conversion_failure_is_listed(tmp_path: Path) -> None:
    path = tmp_path / "qa.jsonl"
    path.write_text('{"question": "q1", "answer": "a1"}\n{"question": "q2", "answer": "a2"}\n', encoding="utf-8")

    sample = fetch_sample(str(path), limit=10, to="sharegpt", cache_dir=tmp_path / "cache")

    assert sample.rows == 2 and sample.detected_format is None
    assert sample.converted == [] and len(sample.conversion_errors) == 2


def test_a_hub_id_is_not_fetched_when_offline(no_network: None) -> None:
    with pytest.raises(FetchError, match="network is off"):
        fetch_sample("rajpurkar/squad", limit=3, offline=True)


def test_an_unsupported_local_file_type_is_named(tmp_path: Path) -> None:
    path = tmp_path / "data.xml"
    path.write_text("<a/>", encoding="utf-8")
    with pytest.raises(FetchError, match="unsupported file type"):
        fetch_sample(str(path))


def test_a_hub_dataset_is_streamed_and_only_limit_rows_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[tuple[object, ...], dict[str, object]]] = []
    consumed = []

    def endless_rows():
        index = 0
        while True:
            consumed.append(index)
            yield {"instruction": f"q{index}", "input": "", "output": f"a{index}"}
            index += 1

    def fake_load_dataset(*args: object, **kwargs: object):
        calls.append((args, kwargs))
        return endless_rows()

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    sample = fetch_sample("tatsu-lab/alpaca", limit=3, split="train", config=None)

    assert calls == [(("tatsu-lab/alpaca",), {"name": None, "split": "train", "streaming": True})]
    assert sample.rows == 3 and len(consumed) == 3 and sample.detected_format == "alpaca"
