"""Benchmark ``ftds-agent build --batch`` against the FAKE batch endpoint (no real API is called).

The same build (same input, settings and seed) twice, side by side, through the real CLI:
1. live calls to the FAKE OpenAI-compatible server (tests/fakes/fake_openai_server.py);
2. ``--batch`` through the FAKE Batch API (tests/fakes/fake_batch_server.py), which answers with the same fake
   model.
Reported: batches, requests per batch, paid calls per accepted sample for each, and whether both made the
same dataset. Wall time on the fake says nothing about a provider (a real batch takes minutes to hours), so
it is not reported as a figure.

Run:  .venv/bin/python bench/bench_batch.py [--chunks 40]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.fakes.fake_batch_server import FakeBatchConfig, FakeBatchServer  # noqa: E402
from tests.fakes.fake_openai_server import FakeOpenAIServer  # noqa: E402

INPUTS = [REPO / "tests" / "data" / "corpus" / "law_zh", REPO / "tests" / "data" / "corpus" / "law_en"]


def _build(base_url: str, out: Path, chunks: int, work: Path, *extra: str) -> dict[str, Any]:
    env = {
        **os.environ,
        "FTDS_RUNS_DIR": str(work / "runs"),
        "FTDS_CACHE_DIR": str(out.with_name(out.name + "-cache")),
        "FTDS_LLM__BATCH_POLL_S": "0.05",
        "FTDS_LLM__BATCH_WINDOW_S": "0.5",
    }
    command = [
        sys.executable, "-m", "ftds.agents.cli", "build", *map(str, INPUTS), "--out", str(out),
        "--max-chunks", str(chunks), "--backend", "openai", "--model", "fake", "--base-url", base_url, "--json", *extra,
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=work, timeout=1800, check=False)
    if done.returncode not in (0, 3):
        raise SystemExit(f"build failed ({done.returncode}): {done.stderr[-2000:]}")
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def _sample_ids(out: Path) -> list[str]:
    ids = []
    for path in sorted((out / "provenance").glob("*.jsonl")):
        ids += [json.loads(line)["sample_id"] for line in path.read_text(encoding="utf-8").splitlines()]
    return sorted(ids)


def _paid(summary: dict[str, Any]) -> int:
    return int(summary["generator_usage"]["calls"] + summary["reviewer_usage"]["calls"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        with FakeOpenAIServer() as live_server:
            live = _build(live_server.base_url, work / "live", args.chunks, work)
        with FakeBatchServer(FakeBatchConfig(polls_to_finish=2)) as batch_server:
            batched = _build(batch_server.base_url, work / "batch", args.chunks, work, "--batch")
            per_batch = [len(ids) for ids in batch_server.batch_requests.values()]
            every = [cid for ids in batch_server.batch_requests.values() for cid in ids]
        same = _sample_ids(work / "live") == _sample_ids(work / "batch")
    figures = next(iter(batched["endpoints"].values()))["batch"]
    print(f"chunks selected: {batched['chunks_selected']} (live {live['chunks_selected']})")
    print(f"accepted: batch {batched['accepted']}, live {live['accepted']}; same samples: {same}")
    print(f"paid calls: batch {_paid(batched)}, live {_paid(live)}")
    for name, summary in (("batch", batched), ("live", live)):
        print(f"paid calls per accepted sample, {name}: {_paid(summary) / max(summary['accepted'], 1):.2f}")
    print(f"batches: {len(per_batch)}; requests per batch: {per_batch}")
    print(f"requests sent in two batches: {len(every) - len(set(every))}")
    print(f"report figures: {figures}")


if __name__ == "__main__":
    main()
