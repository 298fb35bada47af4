"""Benchmark the real ``ftds-agent build`` (the CLI in a subprocess) against the FAKE OpenAI-compatible server.

The fake server runs in its own process and answers after a log-normal latency (median L, 95th percentile
P95), as real endpoints do. For each point it reports:
- throughput as a fraction of the ideal: a perfect scheduler keeps C calls in flight all the time, so the
  ideal is C / mean latency (the log-normal's mean, median * exp(sigma^2 / 2)); the fraction against C / L
  (the median) is printed too;
- the fixed per-run overhead: the same build at L = 0 (loading, chunking, graph start, finalize, export);
- checkpoint bytes per chunk (the SQLite checkpoint file of the run, WAL included).

Run:  .venv/bin/python bench/bench_build.py [--chunks 500] [--points 2.0x8,2.0x32] [--p95-ratio 3]
The input defaults to the demo statutes in examples/law_zh, chunked at --max-chars 500 so that 500 chunks exist (552);
pass --input DIR to use another folder.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.fakes.fake_openai_server import FakeServerConfig, remote_fake_server  # noqa: E402

DEFAULT_INPUT = REPO / "examples" / "law_zh"
Z95 = 1.6449


def mean_latency(median: float, p95: float | None) -> float:
    if not p95 or median <= 0:
        return median
    sigma = math.log(p95 / median) / Z95
    return median * math.exp(sigma * sigma / 2)


def run_build(
    input_dir: Path, chunks: int, concurrency: int, median: float, p95: float | None, max_chars: int
) -> dict[str, float]:
    config = FakeServerConfig(latency_s=median, latency_p95_s=p95)
    with remote_fake_server(config) as server, tempfile.TemporaryDirectory() as work:
        env = {
            **os.environ,
            "FTDS_CACHE_DIR": f"{work}/cache",
            "FTDS_RUNS_DIR": f"{work}/runs",
            "FTDS_LLM__CONCURRENCY": str(concurrency),
            "FTDS_LLM__CACHE": "false",
            "FTDS_LLM__TIMEOUT_S": "60",
            "FTDS_CHUNKING__MAX_CHARS": str(max_chars),
        }
        command = [
            sys.executable,
            "-m",
            "ftds.agents.cli",
            "build",
            str(input_dir),
            "--out",
            f"{work}/out",
            "--max-chunks",
            str(chunks),
            "--backend",
            "openai",
            "--model",
            "fake",
            "--base-url",
            server.base_url,
            "--no-labels",
            "--json",
        ]
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
        elapsed = time.perf_counter() - started
        if done.returncode not in (0, 3):
            raise SystemExit(f"build failed ({done.returncode}):\n{done.stderr[-3000:]}")
        summary = json.loads(done.stdout)
        checkpoint_bytes = sum(p.stat().st_size for p in Path(work, "runs").glob("checkpoints.sqlite*"))
    calls = summary["generator_usage"]["calls"] + summary["reviewer_usage"]["calls"]
    return {
        "elapsed": elapsed,
        "calls": calls,
        "chunks": summary["chunks_selected"],
        "accepted": summary["accepted"],
        "checkpoint_bytes": checkpoint_bytes,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--input", type=Path, default=DEFAULT_INPUT)
    parser.add_argument("--chunks", type=int, default=500)
    parser.add_argument("--points", default="2.0x8,2.0x32", help="median-latency(s)xconcurrency pairs")
    parser.add_argument("--p95-ratio", type=float, default=3.0, help="p95 latency as a multiple of the median")
    parser.add_argument("--max-chars", type=int, default=500, help="chunk size (smaller: more chunks)")
    args = parser.parse_args()
    if not args.input.is_dir():
        raise SystemExit(f"no input folder at {args.input}: pass --input DIR (any folder of statutes or documents)")
    overhead = run_build(args.input, args.chunks, 8, 0.0, None, args.max_chars)
    print(
        f"[L=0, C=8, {overhead['chunks']:.0f} chunks] fixed per-run overhead {overhead['elapsed']:.1f}s, "
        f"{overhead['calls']:.0f} calls, checkpoint {overhead['checkpoint_bytes'] / overhead['chunks'] / 1024:.1f} "
        "KB/chunk"
    )
    for point in args.points.split(","):
        median, concurrency = float(point.split("x")[0]), int(point.split("x")[1])
        p95 = median * args.p95_ratio
        figures = run_build(args.input, args.chunks, concurrency, median, p95, args.max_chars)
        rate = figures["calls"] / figures["elapsed"]
        ideal_mean = concurrency / mean_latency(median, p95)
        ideal_median = concurrency / median
        print(
            f"[L median={median}s p95={p95}s (mean {mean_latency(median, p95):.2f}s), C={concurrency}, "
            f"{figures['chunks']:.0f} chunks] {figures['calls']:.0f} calls in {figures['elapsed']:.1f}s = "
            f"{rate:.2f} calls/s -> {rate / ideal_mean:.3f} of ideal C/mean(L) "
            f"({rate / ideal_median:.3f} of C/median); "
            f"checkpoint {figures['checkpoint_bytes'] / figures['chunks'] / 1024:.1f} KB/chunk; "
            f"{figures['accepted']:.0f} accepted"
        )


if __name__ == "__main__":
    main()
