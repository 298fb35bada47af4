"""Dedupe at scale (not a test): ``.venv/bin/python bench/bench_scale.py --records 1000000 [--ray N,N]``.

Exact + near dedupe (or ``--methods``, e.g. ``semantic``) of synthetic Q&A (bench_dataset.synthetic_qa: 10 %
injected near-copies) with the local engine, and with the Ray engine (a local Ray instance, or
``--ray-address``) on the sizes given. Prints wall time, records per second, what was removed, and the peak
resident memory of this (driver) process (a peak: run local and Ray in separate processes to compare them);
``--kept-file`` writes the kept indices so two runs can be checked for the same result.
Figures go to docs/scaling.md.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from bench_dataset import synthetic_qa

from ftds.tools.config import DedupeSettings
from ftds.tools.dataset.dedupe import dedupe_records


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(count: int, engine: object | None, name: str, methods: tuple[str, ...], kept_file: str | None) -> None:
    records = synthetic_qa(count)
    started = time.perf_counter()
    report = dedupe_records(records, DedupeSettings(), methods, score_field="score", engine=engine)  # type: ignore[arg-type]
    took = time.perf_counter() - started
    if kept_file:
        Path(f"{kept_file}.{name}.{count}.json").write_text(json.dumps({"kept": report.kept}))
    print(
        f"{name:6s} {count:9,d} records  {took:8.1f} s  {count / took:9,.0f} rec/s  removed {report.removed:8,d}  "
        f"driver peak RSS {_peak_mb():,.0f} MB",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=1_000_000, help="local engine size (0 = skip)")
    parser.add_argument("--ray", default="", help="comma list of sizes for the Ray engine")
    parser.add_argument("--ray-address", default=None)
    parser.add_argument("--methods", default="exact,near", help="comma list of exact, near, semantic")
    parser.add_argument("--kept-file", default=None, help="write kept indices to FILE.ENGINE.N.json")
    args = parser.parse_args()
    methods = tuple(m.strip() for m in args.methods.split(",") if m.strip())
    if args.records:
        run(args.records, None, "local", methods, args.kept_file)
    if args.ray:
        from ftds.tools.dataset.ray_dedupe import RayEngine

        engine = RayEngine(args.ray_address)
        for size in (int(s) for s in args.ray.split(",")):
            run(size, engine, "ray", methods, args.kept_file)


if __name__ == "__main__":
    main()
