"""MCP server benchmarks: cold start to tools/list, and the overhead of a tool call over a direct call.

Baselines run side by side: a bare MCPServer with one tool (the floor Python + the mcp package impose), and
the same tools/ function called directly. Run: .venv/bin/python bench/bench_mcp.py [--repeat N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from mcp import Client, StdioServerParameters

BARE_SERVER = """
from mcp.server import MCPServer
server = MCPServer(name="bare")
@server.tool()
def ping(x: int) -> int:
    return x
server.run("stdio")
"""


async def cold_start(command: str, args: list[str]) -> float:
    started = time.perf_counter()
    async with Client(StdioServerParameters(command=command, args=args, env=dict(os.environ))) as client:
        await client.list_tools()
    return time.perf_counter() - started


async def call_overhead(work: Path, calls: int) -> tuple[float, float]:
    from ftds.server.app import create_server
    from ftds.tools.config import load_settings
    from ftds.tools.export import write_jsonl
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
        bare_script = Path(tmp) / "bare.py"
        bare_script.write_text(BARE_SERVER)
        ftds_times, bare_times = [], []
        for _ in range(options.repeat):  # alternate so that load changes hit both alike
            bare_times.append(await cold_start(sys.executable, [str(bare_script)]))
            ftds_times.append(await cold_start(ftds, ["serve", "--root", tmp]))
        records = [{"instruction": f"问题 {i}", "input": "", "output": f"答案 {i}"} for i in range(200)]
        (Path(tmp) / "in.json").write_text(json.dumps(records, ensure_ascii=False))
        via_mcp, direct = await call_overhead(Path(tmp), options.calls)
    ftds_median, bare_median = statistics.median(ftds_times), statistics.median(bare_times)
    print(f"load average: {os.getloadavg()[0]:.2f}")
    print(
        f"cold start to tools/list: ftds {ftds_median:.2f}s, bare MCPServer {bare_median:.2f}s, "
        f"ratio {ftds_median / bare_median:.2f} (median of {options.repeat})"
    )
    print(
        f"convert_format on 200 records: via MCP {via_mcp * 1000:.1f} ms, direct {direct * 1000:.1f} ms, "
        f"overhead {(via_mcp - direct) * 1000:.1f} ms per call ({via_mcp / direct:.2f}x)"
    )


if __name__ == "__main__":
    asyncio.run(main())
