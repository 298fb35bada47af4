"""Benchmark ``ftds-agent build`` with the local executor against ``--executor ray`` on this machine, side by side,
on many chunks against the FAKE OpenAI-compatible server (its own process, a fixed latency L per reply).

For each executor it reports: wall time, the per-chunk overhead (wall time minus the ideal calls x L / C,
per chunk), the driver's peak memory (VmHWM of the CLI process; Ray's workers are separate processes and not
counted) and the checkpoint bytes per chunk. Both runs keep the same number of calls in flight: the local one
``--concurrency C``; the Ray one ``--ray-workers W`` actors with C / W each.

The input is made by the bench: copies of the demo statutes (examples/law_zh), each paragraph marked with its
copy's number so that no two chunks are the same text, chunked at --max-chars.

Run:  .venv/bin/python bench/bench_ray_build.py [--chunks 20000] [--latency 0.05] [--concurrency 32]
      [--ray-workers 2] [--ray-address ADDR] [--executors local,ray]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.fakes.fake_openai_server import FakeServerConfig, remote_fake_server  # noqa: E402

STATUTES = REPO / "examples" / "law_zh"
CHUNKS_PER_COPY = 552  # the demo statutes at --max-chars 500


def make_input(folder: Path, chunks: int) -> Path:
    copies = max(1, -(-chunks // CHUNKS_PER_COPY))
    for copy in range(copies):
        for statute in sorted(STATUTES.glob("*.md")):
            lines = statute.read_text(encoding="utf-8").splitlines()
            marked = [f"{line}〔{copy}〕" if line.strip() and not line.startswith("#") else line for line in lines]
            (folder / f"{statute.stem}-{copy}.md").write_text("\n".join(marked), encoding="utf-8")
    return folder


def _peak_rss_mb(pid: int, peak: list[float], stop: threading.Event) -> None:
    """VmHWM (the process's own peak RSS) read until it exits; the last value read is the peak."""
    status = Path(f"/proc/{pid}/status")
    while not stop.is_set():
        try:
            for line in status.read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak[0] = max(peak[0], int(line.split()[1]) / 1024)
        except OSError:
            return
        time.sleep(0.5)


def run_build(executor: str, input_dir: Path, args: argparse.Namespace, base_url: str) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as work:
        per_worker = max(1, args.concurrency // args.ray_workers) if executor == "ray" else args.concurrency
        env = {
            **os.environ,
            "FTDS_CACHE_DIR": f"{work}/cache",
            "FTDS_RUNS_DIR": f"{work}/runs",
            "FTDS_LLM__CONCURRENCY": str(per_worker),
            "FTDS_LLM__CACHE": "false",
            "FTDS_LLM__TIMEOUT_S": "120",
            "FTDS_CHUNKING__MAX_CHARS": str(args.max_chars),
            "RAY_USAGE_STATS_ENABLED": "0",
        }
        command = [sys.executable, "-m", "ftds.agents.cli", "build", str(input_dir), "--out", f"{work}/out"]
        command += ["--max-chunks", str(args.chunks), "--no-labels", "--json", "--executor", executor]
        command += ["--backend", "openai", "--model", "fake", "--base-url", base_url]
        if executor == "ray":
            command += ["--ray-workers", str(args.ray_workers)]
            if args.ray_address:
                command += ["--ray-address", args.ray_address]
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        peak, stop = [0.0], threading.Event()
        watcher = threading.Thread(target=_peak_rss_mb, args=(process.pid, peak, stop), daemon=True)
        watcher.start()
        stdout, stderr = process.communicate()
        elapsed = time.perf_counter() - started
        stop.set()
        if process.returncode not in (0, 3):
            raise SystemExit(f"{executor} build failed ({process.returncode}):\n{stderr[-3000:]}")
        summary = json.loads(stdout)
        checkpoint_bytes = sum(p.stat().st_size for p in Path(work, "runs").glob("checkpoints.sqlite*"))
    calls = summary["generator_usage"]["calls"] + summary["reviewer_usage"]["calls"]
    chunks = summary["chunks_selected"]
    ideal = calls * args.latency / args.concurrency
    return {
        "elapsed": elapsed,
        "calls": calls,
        "chunks": chunks,
        "accepted": summary["accepted"],
        "overhead_ms_per_chunk": (elapsed - ideal) / chunks * 1000,
        "driver_peak_mb": peak[0],
        "checkpoint_kb_per_chunk": checkpoint_bytes / chunks / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chunks", type=int, default=20000)
    parser.add_argument("--latency", type=float, default=0.05, help="the fake server's reply latency (s)")
    parser.add_argument("--concurrency", type=int, default=32, help="calls in flight, in all")
    parser.add_argument("--ray-workers", type=int, default=2)
    parser.add_argument("--ray-address", default=None, help="an existing cluster (default: a local Ray per run)")
    parser.add_argument("--max-chars", type=int, default=500)
    parser.add_argument("--executors", default="local,ray")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, remote_fake_server(FakeServerConfig(latency_s=args.latency)) as srv:
        input_dir = make_input(Path(folder), args.chunks)
        results = {}
        for executor in args.executors.split(","):
            figures = run_build(executor, input_dir, args, srv.base_url)
            results[executor] = figures
            print(
                f"[{executor}] {figures['chunks']:.0f} chunks, {figures['calls']:.0f} calls, L={args.latency}s, "
                f"C={args.concurrency}: {figures['elapsed']:.1f}s wall; overhead "
                f"{figures['overhead_ms_per_chunk']:.1f} ms/chunk; driver peak {figures['driver_peak_mb']:.0f} MB; "
                f"checkpoint {figures['checkpoint_kb_per_chunk']:.1f} KB/chunk; {figures['accepted']:.0f} accepted",
                flush=True,
            )
        if "local" in results and "ray" in results:
            local, ray = results["local"], results["ray"]
            print(
                f"ray / local: wall {ray['elapsed'] / local['elapsed']:.2f}x, driver memory "
                f"{ray['driver_peak_mb'] / local['driver_peak_mb']:.2f}x, checkpoint "
                f"{ray['checkpoint_kb_per_chunk'] / local['checkpoint_kb_per_chunk']:.2f}x"
            )


if __name__ == "__main__":
    main()
