"""MCP server benchmarks: cold start to tools/list, and the overhead of a tool call over a direct call.

Baselines run side by side: a bare MCPServer with one tool (the floor Python + the mcp package impose), the
same bare server started the way ftds starts (pydantic plugin discovery off, cyclic GC held off until
the server is built; the ratio to it is ftds's own cost), and the same tools/ function called directly.
Run: .venv/bin/python bench/bench_mcp.py [--repeat N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

from mcp import Client, StdioServerParameters

BARE_SERVER = """
import gc
import os
if FAST_START:  # what ftds's server start-up does (server/main.py)
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    gc.disable()
from mcp.server import MCPServer
server = MCPServer(name="bare")
@server.tool()
def ping(x: int) -> int:
    return x
gc.freeze()
gc.enable()
server.run("stdio")
"""


async def cold_start(command: str, args: list[str]) -> tuple[float, float]:
    """Wall seconds from spawn to the tools/list answer, and the server process's CPU seconds (user + sys,
    start to exit; it idles after tools/list). CPU time barely moves with the machine's load; wall time does."""
    cpu_before = _children_cpu()
    started = time.perf_counter()
    async with Client(StdioServerParameters(command=command, args=args, env=dict(os.environ))) as client:
        await client.list_tools()
        wall = time.perf_counter() - started
    return wall, _children_cpu() - cpu_before


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


async def call_overhead(work: Path, calls: int) -> tuple[float, float]:
    from ftds.server.app import create_server
    from ftds.tools.config import load_settings
    from ftds.tools.dataset.files import write_jsonl
    from ftds.tools.formats import convert_records, read_records

    server = create_server(load_settings(server={"roots": [str(work)]}))
    args = {"input_path": "in.json", "to": "sharegpt", "out_path": "out.jsonl"}
    async with Client(server) as client:
        await client.call_tool("convert_format", args)  # warm-up
        started = time.perf_counter()
        for _ in range(calls):
            await client.call_tool("convert_format", args)
        via_mcp = (time.perf_counter() - started) / calls
    started = time.perf_counter()
    for _ in range(calls):
        write_jsonl(work / "direct.jsonl", convert_records(read_records(str(work / "in.json")), "sharegpt").records)
    direct = (time.perf_counter() - started) / calls
    return via_mcp, direct


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--calls", type=int, default=50)
    options = parser.parse_args()
    ftds = str(Path(sys.executable).with_name("ftds-agent"))
    with tempfile.TemporaryDirectory() as tmp:
        scripts = {}
        for name, fast in (("bare MCPServer", False), ("bare, fast start", True)):
            scripts[name] = Path(tmp) / f"{name.replace(' ', '_').replace(',', '')}.py"
            scripts[name].write_text(f"FAST_START = {fast}\n" + BARE_SERVER)
        runs: dict[str, list[tuple[float, float]]] = {"ftds": [], **{name: [] for name in scripts}}
        for _ in range(options.repeat):  # alternate so that load changes hit all alike
            for name, script in scripts.items():
                runs[name].append(await cold_start(sys.executable, [str(script)]))
            runs["ftds"].append(await cold_start(ftds, ["serve", "--root", tmp]))
        records = [{"instruction": f"问题 {i}", "input": "", "output": f"答案 {i}"} for i in range(200)]
        (Path(tmp) / "in.json").write_text(json.dumps(records, ensure_ascii=False))
        via_mcp, direct = await call_overhead(Path(tmp), options.calls)
    print(f"load average: {os.getloadavg()[0]:.2f}")
    for label, index in (("wall", 0), ("server CPU", 1)):
        medians = {name: statistics.median(run[index] for run in results) for name, results in runs.items()}
        baselines = ", ".join(
            f"{name} {medians[name]:.2f}s (ratio {medians['ftds'] / medians[name]:.2f})" for name in scripts
        )
        print(
            f"cold start to tools/list, {label}, median of {options.repeat}: ftds {medians['ftds']:.2f}s; {baselines}"
        )
    print(
        f"convert_format on 200 records: via MCP {via_mcp * 1000:.1f} ms, direct {direct * 1000:.1f} ms, "
        f"overhead {(via_mcp - direct) * 1000:.1f} ms per call ({via_mcp / direct:.2f}x)"
    )


if __name__ == "__main__":
    asyncio.run(main())
