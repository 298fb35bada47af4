"""``ftds-agent build --task eval``: evaluation items through the one per-chunk flow and the build graph, against
the FAKE OpenAI-compatible server (tests/fakes/fake_eval.py answers the eval prompts).

A training build is made first from the same document; the evaluation build is audited against it
(``--holdout-from RUN``), and a brute-force comparison of every kept item with every training sample proves no
item is within the near-duplicate threshold. A SIGKILLed eval build resumes from its checkpoint and asks only
the chunks that had not finished."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from ftds.tools.config import load_settings
from ftds.tools.dataset.near_dup import shingle_sets
from ftds.tools.evaluation.audit import exact_jaccard, training_texts
from ftds.tools.evaluation.items import item_text, parse_item
from tests.conftest import CORPUS, fake_llm_flags, run_cli
from tests.fakes.fake_openai_server import FakeOpenAIServer, FakeServerConfig, body_digest

LAW = CORPUS / "law_zh" / "数据安全法(2021-06-10).md"
CHUNKS = 3
FAMILIES = 4  # choice, true/false, short answer, open: one call each per chunk


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_an_eval_build_holds_out_a_training_run_and_no_item_is_near_a_training_sample(tmp_path: Path) -> None:
    with FakeOpenAIServer() as server:
        trained = run_cli(
            "build", str(LAW), "--out", str(tmp_path / "ds"), "--max-chunks", str(CHUNKS), "--no-labels",
            *fake_llm_flags(server), "--json", cwd=tmp_path,
        )  # fmt: skip
        assert trained.returncode == 0, trained.stderr[-2000:]
        run_id = json.loads(trained.stdout)["run_id"]
        built = run_cli(
            "build", str(LAW), "--task", "eval", "--holdout-from", run_id, "--out", str(tmp_path / "set"),
            "--max-chunks", str(CHUNKS), *fake_llm_flags(server), "--json", cwd=tmp_path,
        )  # fmt: skip
    assert built.returncode == 0, built.stderr[-2000:]
    summary = json.loads(built.stdout)
    out = tmp_path / "set"
    items = [parse_item(line) for line in _lines(out / "items.jsonl")]
    assert summary["task"] == "eval" and summary["accepted"] == len(items) > 0
    # every file, chunk and item accounted for, as in any build
    assert summary["files_loaded"] == 1 and summary["chunks_processed"] == summary["chunks_selected"] == CHUNKS
    assert summary["generated"] == summary["accepted"] + summary["rejected"] + summary["failed"]
    assert sum(summary["rejection_reasons"].values()) == summary["rejected"]
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["accepted"] == len(items) and (out / "report.md").is_file() and (out / "README.md").is_file()
    info = json.loads((out / "set.json").read_text(encoding="utf-8"))
    assert info["items"] == len(items) and info["chunks_used"] == CHUNKS
    assert not (out / "dataset_info.json").exists(), "an evaluation set is not registered as a training set"
    manifest = json.loads((out / ".ftds-manifest.json").read_text(encoding="utf-8"))
    assert {"items.jsonl", "report.json", "set.json"} <= set(manifest["files"])

    # the audit compared the set with the training run's samples ...
    training = [row for path in sorted((tmp_path / "ds" / "provenance").glob("*.jsonl")) for row in _lines(path)]
    audit = json.loads((out / "audit.json").read_text(encoding="utf-8"))
    assert audit["training_records"] == len(training) > 0
    assert audit["excluded"], "the fake's items restate the training sentences: the audit must leave some out"
    threshold = audit["near_threshold"]
    # ... and no kept item is within the near-duplicate threshold of any training sample: every pair, exactly
    dedupe = load_settings().dedupe
    texts = training_texts(training)
    closest = 0.0
    for train_side, item_side in (
        ([t.text for t in texts], [item_text(i) for i in items]),  # question, options and answer
        ([t.question or t.text for t in texts], [i.question for i in items]),  # questions alone
    ):
        item_sets, train_sets = shingle_sets(item_side, dedupe), shingle_sets(train_side, dedupe)
        closest = max(closest, *(exact_jaccard(a, b) for a in item_sets for b in train_sets))
    assert closest < threshold, f"an item is a near-duplicate of a training sample (Jaccard {closest:.3f})"
    excluded = {e["item_id"] for e in audit["excluded"]}
    assert not excluded & {i.item_id for i in items}
    rejected = {row["item_id"]: row for row in _lines(out / "rejected.jsonl")}
    assert all(rejected[e["item_id"]]["rejection"]["reason"] == e["reason"] for e in audit["excluded"])


def _eval_build(server: FakeOpenAIServer, out: Path, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "ftds.agents.cli", "build", str(LAW), "--task", "eval", "--out", str(out),
        "--max-chunks", str(CHUNKS), *fake_llm_flags(server), "--json", *extra,
    ]  # fmt: skip


def _env(cache: Path) -> dict[str, str]:
    # one chunk at a time, and no response cache: only the checkpoint can spare a call on resume
    return {**os.environ, "FTDS_LLM__CONCURRENCY": "1", "FTDS_LLM__CACHE": "false", "FTDS_CACHE_DIR": str(cache)}


_CHUNK_TEXT = re.compile(r'"""\n(.*?)\n"""', re.S)


def _chunk_of(body: dict[str, Any]) -> str:
    found = _CHUNK_TEXT.search(body["messages"][-1]["content"])
    assert found, "every eval prompt quotes its chunk"
    return found.group(1)


def test_a_killed_eval_build_resumes_asking_only_the_unfinished_chunks(tmp_path: Path) -> None:
    with FakeOpenAIServer() as server:
        baseline = subprocess.run(
            _eval_build(server, tmp_path / "base"), capture_output=True, text=True, env=_env(tmp_path / "c1"),
            timeout=300, check=False,
        )  # fmt: skip
        assert baseline.returncode == 0, baseline.stderr[-2000:]
        baseline_calls = len(server.requests)
    assert baseline_calls == CHUNKS * FAMILIES  # no label tree for eval items: they are labelled by section

    victim: dict[str, Any] = {}
    kill_at = FAMILIES + 2  # the first chunk is done; the second chunk's second call has just arrived

    def kill(number: int) -> None:
        if number == kill_at:
            victim["answered"] = list(victim["server"].answered)
            victim["requests"] = list(victim["server"].requests[: number - 1])
            os.kill(victim["process"].pid, signal.SIGKILL)

    with FakeOpenAIServer(FakeServerConfig(on_request=kill)) as server:
        victim["server"] = server
        victim["process"] = subprocess.Popen(
            _eval_build(server, tmp_path / "run", "--run-id", "eval-run"),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(tmp_path / "c2"),
        )  # fmt: skip
        victim["process"].communicate(timeout=300)
        assert victim["process"].returncode == -signal.SIGKILL
        before = len(server.requests)
        by_chunk: dict[str, int] = {}
        for body in victim["requests"]:
            by_chunk[_chunk_of(body)] = by_chunk.get(_chunk_of(body), 0) + 1
        finished = {chunk for chunk, calls in by_chunk.items() if calls == FAMILIES}
        assert len(finished) == 1 and len(victim["answered"]) >= FAMILIES

        resumed = subprocess.run(
            [sys.executable, "-m", "ftds.agents.cli", "build", "--resume", "eval-run", "--json"],
            capture_output=True, text=True, env=_env(tmp_path / "c2"), timeout=300, check=False,
        )  # fmt: skip
        assert resumed.returncode == 0, resumed.stderr[-2000:]
        after = server.requests[before:]

    asked_again = {_chunk_of(body) for body in after}
    assert asked_again and not asked_again & finished, "a chunk finished before the kill was asked again"
    assert len(after) == baseline_calls - FAMILIES  # the unfinished chunks, every family of each
    assert not {body_digest(b) for b in after} & {body_digest(b) for b in victim["requests"][:FAMILIES]}
    summary, base = json.loads(resumed.stdout), json.loads(baseline.stdout)
    assert summary["generated"] == summary["accepted"] + summary["rejected"] + summary["failed"]
    assert (summary["accepted"], summary["rejected"]) == (base["accepted"], base["rejected"])
    ids = sorted(row["item_id"] for row in _lines(tmp_path / "run" / "items.jsonl"))
    assert ids == sorted(row["item_id"] for row in _lines(tmp_path / "base" / "items.jsonl"))


def test_eval_options_misused_are_usage_errors_before_any_work(tmp_path: Path) -> None:
    from ftds.agents.runs import RunStore

    doc = tmp_path / "doc.md"
    doc.write_text("# 第一章\n\n第一条 国家建立数据分类分级保护制度。\n", encoding="utf-8")
    settings = load_settings()
    RunStore(settings.runs_dir).create("half-run", "law", [str(doc)], str(tmp_path / "ds"), {})
    cases = [
        (["build", str(doc), "--holdout", "section"], "are for --task eval"),
        (["build", "--task", "eval"], "needs documents"),
        (["build", str(doc), "--task", "eval", "--target", "5"], "--max-chunks"),
        (["build", str(doc), "--task", "eval", "--holdout-from", "nope"], "neither a file, a folder nor a build run"),
        (["build", str(doc), "--task", "eval", "--holdout-from", "half-run"], "has not finished"),
    ]
    for args, message in cases:
        result = run_cli(*args, cwd=tmp_path)
        assert result.returncode == 2 and message in result.stderr, (args, result.stderr[-500:])
        assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()
