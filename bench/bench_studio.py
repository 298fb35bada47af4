"""Review-studio benchmark (not a test): run with ``.venv/bin/python bench/bench_studio.py``.

A build folder of N synthetic Sample records (default 50,000: 90 % accepted in provenance/train.jsonl,
10 % in rejected.jsonl; Chinese and English text, a two-level tree of 40 labels, scores, failed checks) is
imported into a fresh workspace, then the operations a reviewer waits on are timed (median of 5 runs):
the first page, a filtered and sorted page, a full-text search (Chinese and English), and a bulk re-label
(preview + apply) of one label. Goals: import < 30 s, pages and filters < 300 ms.

Baseline, side by side: what a reviewer without the studio does per request — read the JSONL files and
filter/search them in Python (``json.loads`` per line; the page is cut from the filtered list).
Pass ``--url postgresql+psycopg://...`` to run the same on PostgreSQL. Figures go to docs/benchmarks/studio.md.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ftds.tools.studio import importing, operations
from ftds.tools.studio.models import BulkOp, SampleFilter
from ftds.tools.studio.store import open_workspace

ZH = list("国家机关企业个人组织数据信息安全保护管理制度责任义务权利合同履行违约赔偿登记审批监督检查处罚程序")
EN = ["court", "party", "notice", "consent", "breach", "remedy", "damages", "record", "owner", "agency", "permit"]
PARENTS = ["总则", "数据安全", "个人信息", "合同", "侵权", "网络", "劳动", "行政"]
CHILDREN = ["定义", "原则", "义务", "责任", "程序"]
NEEDLE_ZH = "跨境传输评估"  # in about 1 % of the samples
NEEDLE_EN = "interoperability"


def _text(rng: random.Random, zh: bool, words: int) -> str:
    if zh:
        return "".join(rng.choice(ZH) for _ in range(words * 2))
    return " ".join(rng.choice(EN) for _ in range(words))


def make_build(folder: Path, count: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    labels = [f"{p}/{c}" for p in PARENTS for c in CHILDREN]
    (folder / "provenance").mkdir(parents=True)
    with (
        (folder / "provenance" / "train.jsonl").open("w", encoding="utf-8") as accepted,
        (folder / "rejected.jsonl").open("w", encoding="utf-8") as rejected,
    ):
        for index in range(count):
            zh = index % 4 != 0
            question = _text(rng, zh, 10) + ("？" if zh else "?")
            answer = _text(rng, zh, 40)
            if index % 100 in (7, 8):  # 7 is a Chinese sample, 8 an English one
                answer += NEEDLE_ZH if zh else f" {NEEDLE_EN}"
            sample: dict[str, Any] = {
                "sample_id": f"b{index:06d}",
                "question": question,
                "answer": answer,
                "label": labels[index % len(labels)],
                "domain": "law",
                "language": "zh" if zh else "en",
                "provenance": {"source": f"doc{index % 200}.md", "char_start": index, "char_end": index + 300},
                "model": "bench",
                "prompt_version": "qa_generate@1",
                "review": {"decision": "accept", "total": round(rng.random(), 3), "rationale": "bench"},
                "checks": [{"name": "evidence", "passed": rng.random() > 0.1, "detail": ""}],
            }
            if index % 10 == 9:
                sample["rejection"] = {"reason": "precheck:unsupported", "detail": ""}
                rejected.write(json.dumps(sample, ensure_ascii=False) + "\n")
            else:
                accepted.write(json.dumps(sample, ensure_ascii=False) + "\n")


def timed(work: Callable[[], Any], repeat: int = 5) -> tuple[float, float, Any]:
    """Median wall time and median CPU time of this process (ms) over ``repeat`` runs, and the last result.
    CPU time is reported too because the benchmark machine is shared: wall time includes waiting for a core."""
    walls, cpus, result = [], [], None
    for _ in range(repeat):
        start, cpu_start = time.perf_counter(), time.process_time()
        result = work()
        walls.append((time.perf_counter() - start) * 1000)
        cpus.append((time.process_time() - cpu_start) * 1000)
    return statistics.median(walls), statistics.median(cpus), result


def baseline_page(folder: Path, keep: Callable[[dict[str, Any]], bool], key: str | None = None) -> list[Any]:
    """Without the studio: read every sample file, filter (and sort) in Python, cut the first page."""
    rows = []
    for path in (folder / "provenance" / "train.jsonl", folder / "rejected.jsonl"):
        with path.open(encoding="utf-8") as handle:
            rows.extend(item for item in map(json.loads, handle) if keep(item))
    if key:
        rows.sort(key=lambda r: -(r["review"] or {}).get("total", 0))
    return rows[:50]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=50_000)
    parser.add_argument("--url", help="Database URL (default: a SQLite workspace in a temp dir).")
    options = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="ftds-bench-studio-"))
    try:
        folder = root / "build"
        make_build(folder, options.samples)
        ws = open_workspace(options.url or root / "workspace")
        start, cpu_start = time.perf_counter(), time.process_time()
        result = importing.import_build(ws, folder, name="bench")
        import_s, import_cpu = time.perf_counter() - start, time.process_time() - cpu_start
        dataset = result.dataset.id
        label = "数据安全/义务"
        cases: list[tuple[str, Callable[[], Any], Callable[[], Any]]] = [
            (
                "first page (50 rows + total)",
                lambda: operations.list_samples(ws, dataset),
                lambda: baseline_page(folder, lambda r: True),
            ),
            (
                f"filtered page: label {label}, accepted, score >= 0.7, by score",
                lambda: operations.list_samples(
                    ws,
                    dataset,
                    SampleFilter(label=label, decision="accept", min_score=0.7),
                    sort="score",
                    descending=True,
                ),
                lambda: baseline_page(
                    folder,
                    lambda r: (
                        (r["label"] == label or r["label"].startswith(label + "/"))
                        and r.get("rejection") is None
                        and r["review"]["total"] >= 0.7
                    ),
                    key="score",
                ),
            ),
            (
                f"full-text search: {NEEDLE_ZH}",
                lambda: operations.list_samples(ws, dataset, SampleFilter(query=NEEDLE_ZH)),
                lambda: baseline_page(folder, lambda r: NEEDLE_ZH in r["question"] + r["answer"]),
            ),
            (
                f"full-text search: {NEEDLE_EN}",
                lambda: operations.list_samples(ws, dataset, SampleFilter(query=NEEDLE_EN)),
                lambda: baseline_page(folder, lambda r: NEEDLE_EN in (r["question"] + r["answer"]).lower()),
            ),
            (
                "failed-check filter: evidence, rejected",
                lambda: operations.list_samples(ws, dataset, SampleFilter(failed_check="evidence", decision="reject")),
                lambda: baseline_page(
                    folder,
                    lambda r: r.get("rejection") is not None and any(not c["passed"] for c in r["checks"]),
                ),
            ),
        ]
        rows = []
        for name, studio_call, baseline_call in cases:
            studio_ms, studio_cpu, page = timed(studio_call)
            base_ms, base_cpu, _ = timed(baseline_call, repeat=3)
            rows.append((name, studio_ms, studio_cpu, base_ms, base_cpu, page.total))
        op = BulkOp(kind="relabel", filter=SampleFilter(label="合同/责任"), label="合同/违约责任")
        preview_ms, preview_cpu, plan = timed(lambda: operations.preview(ws, dataset, op, limit=500), repeat=1)
        apply_ms, apply_cpu, applied = timed(lambda: operations.apply(ws, dataset, op, "bench", plan.fingerprint), 1)
        undo_ms, undo_cpu, _ = timed(lambda: operations.undo(ws, dataset, "bench"), repeat=1)
        backend = ws.dialect + (" (FTS5 trigram)" if ws.fts else "")
        print(f"# studio benchmark: {options.samples} samples on {backend}\n")
        print(f"import: {import_s:.1f} s wall, {import_cpu:.1f} s CPU ({result.added} samples); goal < 30 s\n")
        print(
            "| operation | studio wall / CPU (ms) | baseline: read + filter JSONL wall / CPU (ms) "
            "| speed-up | matches |"
        )
        print("|---|---|---|---|---|")
        for name, studio_ms, studio_cpu, base_ms, base_cpu, total in rows:
            print(
                f"| {name} | {studio_ms:.1f} / {studio_cpu:.1f} | {base_ms:.0f} / {base_cpu:.0f} "
                f"| {base_ms / studio_ms:.0f}x | {total} |"
            )
        print(
            f"\nbulk re-label of one label ({applied.samples} samples), wall / CPU: preview {preview_ms:.0f} / "
            f"{preview_cpu:.0f} ms, apply {apply_ms:.0f} / {apply_cpu:.0f} ms, undo {undo_ms:.0f} / {undo_cpu:.0f} ms"
        )
        ws.close()
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
