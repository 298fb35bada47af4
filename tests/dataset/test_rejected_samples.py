"""rejected.jsonl: every rejected sample whole (answer, scores, reason), from the per-chunk flow and from the
rejections decided while finishing the dataset (duplicates, over target), with report.json's counts unchanged."""

from __future__ import annotations

import json
import time
from pathlib import Path

from ftds.tools.build.steps import ChunkResult, finalize_dataset
from ftds.tools.config import load_settings
from ftds.tools.records import ItemOutcome, Provenance, Rejection, ReviewVerdict, Sample


def _sample(sample_id: str, question: str, answer: str, score: float = 0.9) -> Sample:
    return Sample(
        sample_id=sample_id,
        question=question,
        answer=answer,
        domain="law",
        language="zh",
        review=ReviewVerdict(decision="accept", total=score),
        provenance=Provenance(source="law.md", char_start=0, char_end=10, chunk_id="c1"),
        model="fake",
        prompt_version="qa.zh@1",
    )


def test_finalize_keeps_every_rejected_sample_whole_with_its_reason(tmp_path: Path) -> None:
    accepted = [
        _sample("a1", "数据是什么？", "数据是任何以电子或者其他方式对信息的记录。", 0.95),
        _sample("a2", "数据是什么？", "数据是任何以电子或者其他方式对信息的记录。", 0.80),  # exact duplicate of a1
        _sample("a3", "谁建立数据分类分级保护制度？", "国家建立数据分类分级保护制度。", 0.90),
        _sample("a4", "发生数据安全事件时怎么办？", "有关主管部门应当依法启动应急预案。", 0.70),
    ]
    weak = _sample("r1", "本法适用于哪里？", "不知道。", 0.2).model_copy(
        update={"rejection": Rejection(reason="review:below_threshold", detail="score 0.20")}
    )
    review_reject = ItemOutcome(item_id="r1", kind="sample", status="rejected", reason="review:below_threshold")
    settings = load_settings(build={"domain": "law", "target": 2, "dedupe": ["exact"], "labels": "none"})
    summary = finalize_dataset(
        run_id="r",
        settings=settings,
        files=[],
        total_chunks=1,
        selected_chunks=[],
        results=[
            ChunkResult(
                chunk_id="c1", generated=5, accepted=accepted, rejected=[review_reject], rejected_samples=[weak]
            )
        ],
        out_dir=tmp_path / "out",
        started=time.perf_counter(),
        models={},
    )
    assert summary.accepted == 2 and summary.rejected == 3  # counts as before: outcomes, not the file
    assert summary.rejection_reasons == {"review:below_threshold": 1, "duplicate": 1, "over_target": 1}
    lines = (tmp_path / "out" / "rejected.jsonl").read_text(encoding="utf-8").splitlines()
    rejected = {r["sample_id"]: r for r in map(json.loads, lines)}
    assert set(rejected) == {"r1", "a2", "a4"}
    assert rejected["a2"]["rejection"]["reason"] == "duplicate" and rejected["a2"]["answer"].startswith("数据是")
    assert rejected["a4"]["rejection"]["reason"] == "over_target" and rejected["a4"]["review"]["total"] == 0.7
    assert rejected["r1"]["rejection"] == {"reason": "review:below_threshold", "detail": "score 0.20"}
    assert summary.outputs["rejected"] == str(tmp_path / "out" / "rejected.jsonl")
