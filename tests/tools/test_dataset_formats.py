"""Any-to-any conversion and validation, checked on LLaMA-Factory's own sample files and by properties."""

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ftds.tools.formats import (
    FORMATS,
    READERS,
    REGISTRY,
    Conversation,
    FormatError,
    convert_records,
    detect_format,
    read_dataset,
    validate_records,
)

CHAT = ("alpaca", "sharegpt", "openai")
LF_SAMPLES = {
    "alpaca_zh_demo.json": ("alpaca", 1000),
    "identity.json": ("alpaca", 91),
    "glaive_toolcall_zh_demo.json": ("sharegpt", 300),
    "dpo_zh_demo.json": ("sharegpt", 300),
}


@pytest.mark.parametrize("name", sorted(LF_SAMPLES))
def test_llamafactory_samples_validate_and_round_trip_through_every_format_that_holds_them(
    name: str, corpus: Path
) -> None:
    records = read_dataset(corpus / "datasets" / name)
    source, count = LF_SAMPLES[name]
    assert detect_format(records[0]) == source
    assert validate_records(records).valid == count
    extras = {"domain": {"domain": "通用"}, "reward": {"reward_score": 4}, "kto": {"kto_tag": True}}
    converted_somewhere = 0
    for target in FORMATS:
        tagged = [{**r, **extras.get(target, {})} for r in records]
        there = convert_records(tagged, target)
        # every record is either written or reported with a reason: never lost silently
        assert len(there.records) + len({i for i, _ in there.errors}) == count
        if not there.records:
            assert all(reason for _, reason in there.errors)
            continue
        converted_somewhere += 1
        assert validate_records(there.records, target).ok
        if not there.dropped:  # lossless: the canonical conversation comes back unchanged
            back = convert_records(there.records, source)
            assert not back.errors
            originals = [READERS[source](tagged[i]) for i in there.indices]
            assert [READERS[source](r) for r in back.records] == originals, target
    assert converted_somewhere >= 4


def test_tool_calls_survive_sharegpt_openai_sharegpt(corpus: Path) -> None:
    records = read_dataset(corpus / "datasets" / "glaive_toolcall_zh_demo.json")
    openai = convert_records(records, "openai")
    calls = [m for r in openai.records for m in r["messages"] if m.get("tool_calls")]
    assert calls and all(isinstance(c["tool_calls"][0]["function"]["arguments"], str) for c in calls)
    assert any(m["role"] == "tool" for r in openai.records for m in r["messages"])
    back = convert_records(openai.records, "sharegpt")
    for original, returned in zip(records, back.records, strict=True):
        for a, b in zip(original["conversations"], returned["conversations"], strict=True):
            assert a["from"] == b["from"]
            if a["from"] == "function_call":
                assert json.loads(a["value"]) == json.loads(b["value"])
            else:
                assert a["value"] == b["value"]


def test_lossy_conversions_say_what_they_drop(corpus: Path) -> None:
    records = read_dataset(corpus / "datasets" / "glaive_toolcall_zh_demo.json")
    result = convert_records([{**r, "kto_tag": True} for r in records], "kto")
    assert result.records and result.errors
    assert "history" in result.dropped
    assert any("function_call" in reason for _, reason in result.errors)
    pretrain = convert_records(read_dataset(corpus / "datasets" / "dpo_zh_demo.json"), "pretrain")
    assert pretrain.dropped["rejected"] == 300


def test_validation_reports_each_rule_trainers_enforce() -> None:
    records = [
        {"conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "a"}]},
        {"conversations": [{"from": "gpt", "value": "a"}, {"from": "human", "value": "q"}]},
        {"conversations": [{"from": "human", "value": "q"}]},
        {"conversations": [{"from": "human", "value": "<image>q"}, {"from": "gpt", "value": "a"}], "images": []},
        {"conversations": [{"from": "human", "value": " "}, {"from": "gpt", "value": "a"}]},
        {"conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "a"}], "system": ["x"]},
    ]
    report = validate_records(records, "sharegpt")
    by_index = dict(report.errors)
    assert report.valid == 1
    assert "Invalid role tag" in by_index[1]
    assert "Invalid message count" in by_index[2]
    assert "placeholder" in by_index[3]
    assert "empty" in by_index[4]
    assert "system" in by_index[5]


def test_mixed_column_types_are_rejected_before_writing() -> None:
    records = [{"instruction": f"q{i}", "output": "a", "score": 1} for i in range(3)]
    records.append({"instruction": "q", "output": "a", "score": "high"})
    result = convert_records(records, "alpaca")
    assert len(result.records) == 3
    assert result.errors[0][0] == 3 and "one type per column" in result.errors[0][1]


def test_a_file_with_no_valid_record_is_named_as_llamafactory_would_fail() -> None:
    report = validate_records([{"conversations": [{"from": "gpt", "value": "a"}]}], "sharegpt")
    assert not report.ok
    assert "Cannot find valid samples" in report.errors[-1][1]


def test_unknown_format_lists_every_choice() -> None:
    with pytest.raises(FormatError) as info:
        convert_records([], "chatml")
    assert all(name in str(info.value) for name in FORMATS)


def test_reads_csv_parquet_and_a_saved_datasetdict_with_slicing_and_mapping(tmp_path: Path) -> None:
    import datasets
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [{"question": f"q{i}", "answer": f"a{i}", "history": [["h", "i"]]} for i in range(10)]
    csv_path = tmp_path / "d.csv"
    csv_path.write_text(
        "question,answer,history\n" + "".join(f'q{i},a{i},"[[""h"", ""i""]]"\n' for i in range(10)), encoding="utf-8"
    )
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "d.parquet")
    datasets.DatasetDict({"train": datasets.Dataset.from_list(rows)}).save_to_disk(str(tmp_path / "hf"))
    mapping = {"instruction": "question", "output": "answer"}
    for source in (csv_path, tmp_path / "d.parquet", tmp_path / "hf"):
        records = read_dataset(source, "train[2:5]", mapping)
        assert [r["instruction"] for r in records] == ["q2", "q3", "q4"]
        assert records[0]["history"] == [["h", "i"]]
        assert detect_format(records[0]) == "alpaca"
    with pytest.raises(FormatError, match="splits"):
        read_dataset(tmp_path / "hf", "validation")


_text = st.text(alphabet=st.characters(blacklist_categories=["Cs", "Cc"]), min_size=1, max_size=12).filter(
    lambda s: s.strip() and "<" not in s
)


@st.composite
def conversations(draw: st.DrawFn) -> Conversation:
    pairs = draw(st.integers(1, 3))
    turns = [(role, draw(_text)) for _ in range(pairs) for role in ("user", "assistant")]
    conv = Conversation(turns, system=draw(st.sampled_from(["", "be brief"])))
    if draw(st.booleans()):
        conv.turns.pop()
        conv.chosen, conv.rejected = draw(_text), draw(_text)
    elif draw(st.booleans()):
        conv.kto_tag = draw(st.booleans())
    if draw(st.booleans()):
        conv.media = {"images": ["a.png"]}
        conv.turns[0] = ("user", "<image>" + conv.turns[0][1])
    return conv


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(conversations())
def test_every_chat_format_round_trips_any_valid_conversation(conv: Conversation) -> None:
    assert not conv.problems()
    for name in CHAT:
        fmt = REGISTRY[name]
        dropped: list[str] = []
        record = fmt.write(conv, dropped)
        assert not dropped
        assert fmt.read(json.loads(json.dumps(record))) == conv, name


def test_task_shapes_round_trip_through_alpaca_or_sharegpt() -> None:
    cases = {
        "cot": {"instruction": "2+3?", "input": "", "chain_of_thought": ["2+3 = 5", "check: 5-3 = 2"], "output": "5"},
        "classification": {"text": "合同无效", "label": 3},
        "reward": {"input": "q", "output": "a", "reward_score": 4.5},
        "multimodal": {"text": "describe", "image_url": "img/1.png", "caption": "a cat"},
        "domain": {
            "instruction": "什么是要约？",
            "input": "",
            "output": "希望与他人订立合同的意思表示。",
            "domain": "法律",
        },
        "kto": {"prompt": "q", "completion": "a", "label": False},
        "trl": {"prompt": "q", "chosen": "good", "rejected": "bad"},
    }
    for name, record in cases.items():
        assert detect_format(record) == name
        via = "sharegpt" if name in ("multimodal", "kto", "trl") else "alpaca"
        there = convert_records([record], via)
        assert not there.errors and not there.dropped, name
        back = convert_records(there.records, name)
        assert not back.errors, name
        assert READERS[name](back.records[0]) == READERS[name](record), name
    cot = convert_records([cases["cot"]], "alpaca").records[0]
    assert cot["output"] == "<think>2+3 = 5\ncheck: 5-3 = 2</think>5"
    image = convert_records([cases["multimodal"]], "sharegpt").records[0]
    assert image["images"] == ["img/1.png"] and image["conversations"][0]["value"] == "<image>describe"
    assert convert_records([cases["classification"]], "classification").records[0]["label"] == 3
    trl = convert_records([cases["trl"]], "trl").records[0]
    assert trl["chosen"] == [{"role": "assistant", "content": "good"}]


def test_audio_records_keep_their_file_and_placeholder() -> None:
    record = {"audio": "a/1.wav", "text": "summarise", "summary": "a meeting"}
    sharegpt = convert_records([record], "sharegpt").records[0]
    assert sharegpt["audios"] == ["a/1.wav"] and sharegpt["conversations"][0]["value"] == "<audio>summarise"
    assert convert_records([sharegpt], "multimodal").records[0] == record


def test_a_hub_id_is_loaded_through_datasets_with_its_split_slice(monkeypatch: pytest.MonkeyPatch) -> None:
    import datasets

    calls: list[tuple[str, str]] = []

    def offline_load_dataset(path: str, split: str) -> datasets.Dataset:  # stands in for the Hub: no network here
        calls.append((path, split))
        return datasets.Dataset.from_list([{"instruction": "q", "output": "a"}])

    monkeypatch.setattr(datasets, "load_dataset", offline_load_dataset)
    assert read_dataset("someone/legal-qa", "train[:1000]") == [{"instruction": "q", "output": "a"}]
    assert calls == [("someone/legal-qa", "train[:1000]")]

    def unreachable(path: str, split: str) -> datasets.Dataset:
        raise ConnectionError("no route to host")

    monkeypatch.setattr(datasets, "load_dataset", unreachable)
    with pytest.raises(FormatError, match="HF_TOKEN"):
        read_dataset("someone/legal-qa")
