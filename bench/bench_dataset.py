"""Dataset-engineering benchmarks (not tests): run with ``.venv/bin/python bench/bench_dataset.py``.

1. Near-duplicate dedupe of N synthetic Chinese/English Q&A (default 100k, goal < 60 s on 2 cores), against
   a naive datasketch baseline: one MinHash per record fed shingle by shingle (``update``), one LSH index.
2. Convert + validate M Alpaca records to ShareGPT (default 1M), as a ratio of raw ``json.loads`` speed
   over the same lines (goal >= 0.5).

3. ``--engines``: the same dedupe with four near-duplicate engines side by side in one process (this
   version's rensa + numpy engine, the previous ftds engine, rensa's own LSH objects, datasketch's batch
   API; see bench/dedupe_engines.py), each behind the same ``dedupe_records`` (exact pass, union-find).

Figures go to docs/benchmarks/dataset.md.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import sys
import time
from pathlib import Path

from datasketch import MinHash, MinHashLSH

from ftds.tools.config import DedupeSettings
from ftds.tools.dataset.dedupe import dedupe_records, record_text
from ftds.tools.dataset.near_dup import is_cjk, shingle_text
from ftds.tools.formats import convert_records

ZH_TOPICS = ["数据安全", "个人信息", "合同成立", "侵权责任", "网络安全", "知识产权", "劳动合同", "行政许可"]
ZH_ASKS = ["什么是{t}的基本原则？", "{t}的法律责任如何认定？", "违反{t}规定会受到什么处罚？", "{t}适用于哪些情形？"]
EN_TOPICS = ["data security", "personal data", "contract formation", "tort liability", "trademarks", "leases"]
EN_ASKS = ["What are the principles of {t}?", "How is liability for {t} decided?", "When does {t} law apply?"]
ZH_WORDS = list("国家机关企业个人组织数据信息安全保护管理制度责任义务权利合同履行违约赔偿登记审批监督检查处罚程序")
EN_WORDS = [
    "court",
    "party",
    "notice",
    "consent",
    "breach",
    "remedy",
    "damages",
    "record",
    "owner",
    "agency",
    "license",
    "permit",
    "audit",
    "review",
    "appeal",
    "evidence",
    "claim",
    "duty",
    "right",
    "term",
    "clause",
    "period",
    "fee",
    "report",
    "storage",
    "transfer",
    "access",
    "request",
    "deletion",
]


def _zh_phrase(rng: random.Random) -> str:
    return "".join(rng.choice(ZH_WORDS) for _ in range(24))


def _en_phrase(rng: random.Random) -> str:
    return " ".join(rng.choice(EN_WORDS) for _ in range(12))


def synthetic_qa(count: int, seed: int = 7, near_share: float = 0.1) -> list[dict[str, object]]:
    """Distinct Q&A with a numbered clause each, plus ``near_share`` near-copies: punctuation and spacing
    changed in the question and one character/word of the answer replaced (exact hashing misses them)."""
    rng = random.Random(seed)
    records: list[dict[str, object]] = []
    base = int(count * (1 - near_share))
    for i in range(base):
        if i % 2:
            topic, ask = rng.choice(ZH_TOPICS), rng.choice(ZH_ASKS)
            question = ask.format(t=topic) + f"请结合第{i}条说明。"
            answer = f"根据第{i}条，{topic}要求：{_zh_phrase(rng)}。"
        else:
            topic, ask = rng.choice(EN_TOPICS), rng.choice(EN_ASKS)
            question = ask.format(t=topic) + f" Refer to clause {i}."
            answer = f"Under clause {i}, {topic} requires: {_en_phrase(rng)}."
        records.append({"instruction": question, "input": "", "output": answer, "score": rng.random(), "origin": i})
    for _ in range(count - base):
        original = dict(records[rng.randrange(base)])
        original["instruction"] = str(original["instruction"]).replace("？", "?").replace("?", "？") + " "
        answer = str(original["output"])
        cut = rng.randrange(len(answer) // 2, len(answer) - 2)
        original["output"] = answer[:cut] + ("等" if answer.isascii() is False else " etc") + answer[cut + 1 :]
        original["score"] = rng.random()
        records.append(original)
    rng.shuffle(records)
    return records


def naive_datasketch(texts: list[str], settings: DedupeSettings) -> int:
    """The textbook loop: MinHash per text, update per shingle (SHA-1 each), insert/query one LSH."""
    lsh = MinHashLSH(threshold=settings.near_threshold, num_perm=settings.num_perm)
    duplicates = 0
    for index, text in enumerate(texts):
        clean = shingle_text(text)
        n = settings.cjk_ngram if is_cjk(clean) else settings.latin_ngram
        minhash = MinHash(num_perm=settings.num_perm)
        for start in range(max(1, len(clean) - n + 1)):
            minhash.update(clean[start : start + n].encode("utf-8"))
        if any(minhash.jaccard(kept) >= settings.near_threshold for kept in _candidates(lsh, minhash)):
            duplicates += 1
            continue
        lsh.insert(index, minhash, check_duplication=False)
        _STORE[index] = minhash
    _STORE.clear()
    return duplicates


_STORE: dict[int, MinHash] = {}


def _candidates(lsh: MinHashLSH, minhash: MinHash) -> list[MinHash]:
    return [_STORE[key] for key in lsh.query(minhash)]


def bench_dedupe(count: int, baseline_count: int) -> None:
    settings = DedupeSettings()
    records = synthetic_qa(count)
    started = time.perf_counter()
    report = dedupe_records(records, settings, ("exact", "near"), score_field="score")
    ours = time.perf_counter() - started
    print(f"dedupe ftds: {count} records in {ours:.1f} s, removed {report.removed}, {len(report.clusters)} clusters")
    origins = len({r["origin"] for r in records})
    wrong = sum(
        1
        for c in report.clusters
        for i in c.removed
        if c.kept >= 0 and records[i]["origin"] != records[c.kept]["origin"]
    )
    print(f"  injected near-copies: {count - origins}; found {report.removed - wrong}; merged wrongly {wrong}")
    texts = [record_text(r) for r in records[:baseline_count]]
    started = time.perf_counter()
    removed = naive_datasketch(texts, settings)
    naive = time.perf_counter() - started
    print(f"dedupe naive datasketch: {baseline_count} records in {naive:.1f} s, removed {removed}")
    per_ours, per_naive = ours / count, naive / baseline_count
    print(
        f"dedupe speed-up per record: {per_naive / per_ours:.1f}x (naive extrapolated to {count}: "
        f"{per_naive * count:.0f} s)"
    )


def _wrong_merges(records: list[dict[str, object]], report) -> int:  # type: ignore[no-untyped-def]
    return sum(
        1
        for c in report.clusters
        for i in c.removed
        if c.kept >= 0 and records[i]["origin"] != records[c.kept]["origin"]
    )


def bench_engines(count: int, engines: list[str]) -> None:
    """Every engine through the same ``dedupe_records`` on the same records, one after the other."""
    sys.path.insert(0, str(Path(__file__).parent))
    import dedupe_engines

    from ftds.tools import near_dup

    settings = DedupeSettings()
    records = synthetic_qa(count)
    injected = count - len({r["origin"] for r in records})
    shipped = near_dup.near_duplicate_pairs
    table = {
        "ftds": shipped,
        "previous-ftds": dedupe_engines.previous_ftds,
        "rensa": dedupe_engines.rensa_lsh,
        "datasketch-batch": dedupe_engines.datasketch_batch,
    }
    print(
        f"engines: {count} records, {injected} injected near-copies, threshold {settings.near_threshold}, "
        f"{settings.num_perm} permutations"
    )
    for name in engines:
        near_dup.near_duplicate_pairs = table[name]  # type: ignore[assignment]
        gc.collect()
        try:
            started = time.perf_counter()
            report = dedupe_records(records, settings, ("exact", "near"), score_field="score")
            took = time.perf_counter() - started
        finally:
            near_dup.near_duplicate_pairs = shipped  # type: ignore[assignment]
        wrong = _wrong_merges(records, report)
        print(
            f"  {name:17s} {took:7.1f} s  removed {report.removed:6d}  found {report.removed - wrong:6d}  "
            f"wrong merges {wrong}"
        )


def bench_convert(count: int) -> None:
    rng = random.Random(3)
    lines = [
        json.dumps(
            {"instruction": f"问题{i}：{rng.random()}", "input": "", "output": f"回答{i} {rng.random()}", "id": i},
            ensure_ascii=False,
        )
        for i in range(count)
    ]
    started = time.perf_counter()
    parsed = [json.loads(line) for line in lines]
    raw = time.perf_counter() - started
    started = time.perf_counter()
    result = convert_records(parsed, "sharegpt")
    ours = time.perf_counter() - started
    assert len(result.records) == count and not result.errors
    print(f"raw json parse: {count / raw:,.0f} rec/s; convert+validate (alpaca->sharegpt): {count / ours:,.0f} rec/s")
    print(f"convert+validate speed as a ratio of raw parse speed: {raw / ours:.2f} (goal >= 0.5)")
    print(f"end to end (parse + convert + validate) vs parse alone: {raw / (raw + ours):.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dedupe-records", type=int, default=100_000)
    parser.add_argument("--baseline-records", type=int, default=100_000)
    parser.add_argument("--convert-records", type=int, default=1_000_000)
    parser.add_argument(
        "--engines",
        default="",
        help="comma list of ftds,previous-ftds,rensa,datasketch-batch: run only the side-by-side engine bench",
    )
    args = parser.parse_args()
    if args.engines:
        bench_engines(args.dedupe_records, args.engines.split(","))
        return
    # conversion first, in a fresh heap: after the dedupe run's millions of freed objects the same
    # conversion measured ~45% slower in one process (see docs/benchmarks/dataset.md)
    bench_convert(args.convert_records)
    bench_dedupe(args.dedupe_records, args.baseline_records)


if __name__ == "__main__":
    main()
