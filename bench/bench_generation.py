"""Benchmark the generation engine against the FAKE OpenAI-compatible server (no real API is called).

1. LLM calls and tokens per accepted sample: ftds' per-chunk flow (one generation call and one review call
   per chunk, a revision round only for what the reviewer flags) side by side with the peers' per-sample
   pattern (questions per chunk, then a label call, an answer call and an evaluation call per question),
   both run through the same client against the same fake server.
2. Throughput at latency L and concurrency C, as a fraction of the ideal C/L calls per second: raw calls
   through the managed client, and the whole generate -> review flow over many chunks.

Run:  .venv/bin/python bench/bench_generation.py [--points 0.2x8,1.0x8,1.0x32] [--chunks 24] [--waves 6]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from ftds.agents.chunk_flow import run_chunks  # noqa: E402
from ftds.agents.context import BuildContext  # noqa: E402
from ftds.tools.config import load_settings  # noqa: E402
from ftds.tools.ingest import load_literature  # noqa: E402
from ftds.tools.llm import ChatModel, make_chat_model  # noqa: E402
from ftds.tools.llm.base import Message  # noqa: E402
from ftds.tools.records import Chunk, TokenUsage  # noqa: E402
from tests.fakes.fake_openai_server import FakeOpenAIServer, FakeServerConfig, remote_fake_server  # noqa: E402

LAW_FILE = REPO / "examples" / "law_zh" / "数据安全法(2021-06-10).md"  # ships with the repository
QUESTIONS_PER_CHUNK = 3


def _settings(server: FakeOpenAIServer | SimpleNamespace, concurrency: int, **build: object):  # type: ignore[no-untyped-def]
    return load_settings(
        llm={
            "backend": "openai",
            "model": "fake-model",
            "base_url": server.base_url,
            "concurrency": concurrency,
            "timeout_s": 10.0,
            "cache": False,
        },
        build={"questions_per_chunk": QUESTIONS_PER_CHUNK, **build},
    )


async def ftds_flow(chunks: list[Chunk], llm: ChatModel, settings) -> tuple[int, TokenUsage]:  # type: ignore[no-untyped-def]
    results = await run_chunks(chunks, BuildContext(settings, llm, llm, out_dir=Path("unused"), run_id="bench"))
    usage = sum((r.generator_usage + r.reviewer_usage for r in results), TokenUsage())
    return sum(len(r.accepted) for r in results), usage


async def _json_call(llm: ChatModel, prompt: str) -> tuple[dict, TokenUsage]:  # type: ignore[type-arg]
    messages: list[Message] = [{"role": "user", "content": prompt}]
    result = await llm.complete(messages, json_schema={"type": "object"})
    return json.loads(result.text), result.usage


async def peer_flow(chunks: list[Chunk], llm: ChatModel) -> tuple[int, TokenUsage]:
    """The peers' pattern: questions per chunk, then label, answer and evaluation calls per question."""

    async def one_chunk(chunk: Chunk) -> tuple[int, TokenUsage]:
        source = f'"""\n{chunk.text}\n"""'
        data, usage = await _json_call(
            llm, f"Write {QUESTIONS_PER_CHUNK} distinct questions about the source.\n{source}\n" + '{"questions": []}'
        )

        async def one_question(question: str) -> tuple[int, TokenUsage]:
            _, label_usage = await _json_call(
                llm, f"Labels:\n- 数据安全\nItems:\n1. {question}\n" + '{"labels": [{"index": 1, "label": ""}]}'
            )
            answers, answer_usage = await _json_call(
                llm, f"{source}\nQuestions:\n1. {question}\n" + '{"answers": [{"index": 1, "answer": ""}]}'
            )
            answer = answers["answers"][0]["answer"]
            review, review_usage = await _json_call(
                llm, f"{source}\n1. Q: {question}\n   A: {answer}\n" + '{"reviews": [{"index": 1}]}'
            )
            ok = review["reviews"][0]["grounded"] >= 4
            return int(ok), label_usage + answer_usage + review_usage

        outcomes = await asyncio.gather(*(one_question(q) for q in data["questions"]))
        return sum(o[0] for o in outcomes), sum((o[1] for o in outcomes), usage)

    outcomes = await asyncio.gather(*(one_chunk(c) for c in chunks))
    return sum(o[0] for o in outcomes), sum((o[1] for o in outcomes), TokenUsage())


async def efficiency(chunks: list[Chunk], revise_share: bool) -> None:
    config = FakeServerConfig(feedback_score=3) if revise_share else FakeServerConfig()
    with FakeOpenAIServer(config) as server, tempfile.TemporaryDirectory() as cache:
        settings = _settings(server, 8)
        llm = make_chat_model(settings.llm, Path(cache))
        accepted, usage = await ftds_flow(chunks, llm, settings)
        peer_accepted, peer_usage = (0, TokenUsage()) if revise_share else await peer_flow(chunks, llm)
        await llm.aclose()
    if revise_share:  # the peers have no revise step, so there is nothing to set beside this
        print(f"\n[ftds when the reviewer sends every sample back once; {len(chunks)} chunks]")
        print(
            f"  ftds : {accepted:4d} accepted, {usage.calls:4d} calls, {usage.calls / accepted:.2f} calls/sample, "
            f"{usage.total_tokens / accepted:7.0f} tokens/sample"
        )
        return
    label = "no revisions needed"
    ours_calls, peer_calls = usage.calls / accepted, peer_usage.calls / peer_accepted
    ours_tokens, peer_tokens = usage.total_tokens / accepted, peer_usage.total_tokens / peer_accepted
    print(f"\n[calls and tokens per accepted sample: {label}; {len(chunks)} chunks x {QUESTIONS_PER_CHUNK} questions]")
    for name, n, u in (("ftds ", accepted, usage), ("peers", peer_accepted, peer_usage)):
        print(
            f"  {name}: {n:4d} accepted, {u.calls:4d} calls, {u.calls / n:.2f} calls/sample, "
            f"{u.total_tokens / n:7.0f} tokens/sample"
        )
    print(f"  ratio peers/ftds: calls {peer_calls / ours_calls:.2f}x, tokens {peer_tokens / ours_tokens:.2f}x")


async def warm_up(llm: ChatModel, concurrency: int) -> None:
    """Open the C connections a long build keeps alive anyway, so connection setup is not timed."""
    await asyncio.gather(
        *(llm.complete([{"role": "user", "content": f"warm-up {i}"}], max_tokens=16) for i in range(concurrency))
    )


async def harness_floor(latency: float, concurrency: int, calls: int) -> float:
    """Plain httpx POSTs at the same L and C: what the fake server and this machine allow at best, so the
    ftds figures can be read against the harness as well as against the ideal C/L."""
    import httpx

    with remote_fake_server(FakeServerConfig(latency_s=latency)) as server:
        slots = asyncio.Semaphore(concurrency)
        async with httpx.AsyncClient(timeout=30) as client:

            async def one(i: int) -> None:
                body = {"model": "m", "messages": [{"role": "user", "content": f'"""\n第{i}条\n"""'}]}
                async with slots:
                    (await client.post(f"{server.base_url}/chat/completions", json=body)).json()

            await asyncio.gather(*(one(i) for i in range(concurrency)))
            started = time.perf_counter()
            await asyncio.gather(*(one(i) for i in range(calls)))
            elapsed = time.perf_counter() - started
    fraction = calls / elapsed / (concurrency / latency)
    print(f"\n[harness floor, plain httpx: L={latency}s C={concurrency}, {calls} calls] {fraction:.3f} of ideal")
    return fraction


async def raw_throughput(latency: float, concurrency: int, calls: int) -> None:
    with remote_fake_server(FakeServerConfig(latency_s=latency)) as server, tempfile.TemporaryDirectory() as cache:
        llm = make_chat_model(_settings(server, concurrency).llm, Path(cache))
        prompts = [f'"""\n第{i}条 数据处理者应当履行数据安全保护义务。\n"""\n{{"pairs": []}}' for i in range(calls)]
        await warm_up(llm, concurrency)
        started = time.perf_counter()
        await asyncio.gather(*(llm.complete([{"role": "user", "content": p}], max_tokens=64) for p in prompts))
        elapsed = time.perf_counter() - started
        await llm.aclose()
    rate, ideal = calls / elapsed, concurrency / latency
    print(f"\n[raw calls: L={latency}s C={concurrency}, {calls} calls]")
    print(f"  {rate:.1f} calls/s vs ideal C/L = {ideal:.1f} calls/s -> {rate / ideal:.3f} of ideal")


async def pipeline_throughput(chunks: list[Chunk], latency: float, concurrency: int) -> None:
    with remote_fake_server(FakeServerConfig(latency_s=latency)) as server, tempfile.TemporaryDirectory() as cache:
        settings = _settings(server, concurrency)
        llm = make_chat_model(settings.llm, Path(cache))
        await warm_up(llm, concurrency)
        started = time.perf_counter()
        accepted, usage = await ftds_flow(chunks, llm, settings)
        elapsed = time.perf_counter() - started
        await llm.aclose()
    rate, ideal = usage.calls / elapsed, concurrency / latency
    print(f"\n[generate -> review flow: L={latency}s C={concurrency}, {len(chunks)} chunks, {usage.calls} calls]")
    print(
        f"  {rate:.1f} calls/s vs ideal C/L = {ideal:.1f} calls/s -> {rate / ideal:.3f} of ideal "
        f"({accepted} samples accepted in {elapsed:.2f}s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--points", default="0.2x8,1.0x8,1.0x32", help="latency(s)xconcurrency pairs for the throughput runs"
    )
    parser.add_argument("--chunks", type=int, default=24, help="chunks for the efficiency run")
    parser.add_argument("--waves", type=int, default=6, help="throughput runs make waves x C calls")
    args = parser.parse_args()
    all_chunks = load_literature([LAW_FILE], domain="law").chunks

    def cycled(n: int) -> list[Chunk]:
        return (all_chunks * (n // len(all_chunks) + 1))[:n]

    print(f"source: {LAW_FILE.name}, {len(all_chunks)} chunks (cycled as needed)")
    asyncio.run(efficiency(cycled(args.chunks), revise_share=False))
    asyncio.run(efficiency(cycled(args.chunks), revise_share=True))
    for point in args.points.split(","):
        latency, concurrency = float(point.split("x")[0]), int(point.split("x")[1])
        asyncio.run(harness_floor(latency, concurrency, args.waves * concurrency))
        asyncio.run(raw_throughput(latency, concurrency, args.waves * concurrency))
        # each chunk makes two dependent calls, so waves x C / 2 chunks keep C calls in flight for waves rounds
        asyncio.run(pipeline_throughput(cycled(args.waves * concurrency // 2), latency, concurrency))


if __name__ == "__main__":
    main()
