"""The studio on a real build (the FAKE OpenAI-compatible server writes it) and under two concurrent reviewers."""

from __future__ import annotations

import threading
from pathlib import Path

from ftds.tools.studio import importing, publish
from ftds.tools.studio import operations as ops
from ftds.tools.studio.models import SampleFilter
from ftds.tools.studio.store import open_workspace
from tests.agents.test_build import _build, _inputs
from tests.fakes.fake_openai_server import FakeOpenAIServer
from tests.studio.conftest import sample, write_build


async def test_a_fake_llm_build_imports_with_its_passages_and_evidence_offsets(tmp_path: Path, law_file: Path) -> None:
    inputs = _inputs(tmp_path, law_file)
    with FakeOpenAIServer() as server:
        summary, _ = await _build(server, inputs, tmp_path / "out")
    ws = open_workspace(tmp_path / "ws")
    result = importing.import_build(ws, tmp_path / "out", documents=[inputs])
    rejected_file = tmp_path / "out" / "rejected.jsonl"  # written once the exporter keeps rejected samples
    rejected = len(rejected_file.read_text(encoding="utf-8").splitlines()) if rejected_file.is_file() else 0
    assert result.added == summary.accepted + rejected and not result.errors
    assert result.dataset.counts["accept"] == summary.accepted > 0
    first = ops.list_samples(ws, result.dataset.id, SampleFilter(decision="accept"), limit=1).rows[0]
    detail = ops.get_sample(ws, result.dataset.id, first.sample_id)
    source = law_file.read_text(encoding="utf-8")
    assert detail.passage and detail.passage in source  # the cleaned text of the cited passage
    assert detail.sample["answer"] in detail.passage  # the fake answers with a sentence of its chunk
    labels = {r.label for r in ops.list_samples(ws, result.dataset.id, limit=500).rows}
    assert labels - {None}, "the build labels samples; the studio keeps the labels"
    exported = publish.export_reviewed(ws, result.dataset.id, tmp_path / "export")
    assert sum(exported.counts.values()) == summary.accepted


def test_two_reviewers_editing_the_same_dataset_at_once_lose_no_edit(tmp_path: Path, backend: str) -> None:
    folder = write_build(tmp_path / "b", {"train": [sample(i, "A") for i in range(20)]}, [])
    importing.import_build(open_workspace(backend), folder, name="d")
    errors: list[BaseException] = []

    def reviewer(name: str, field: str) -> None:
        ws = open_workspace(backend)  # its own engine and connections: another session
        try:
            for round_ in range(3):
                for index in range(20):
                    ops.update_sample(ws, "d", f"s{index:03d}", {field: f"{name} {round_} {index}"}, name)
                    if index % 5 == 0:
                        ops.decide(ws, "d", f"s{index:03d}", "accept", name)
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            ws.close()

    threads = [
        threading.Thread(target=reviewer, args=("ann", "question")),
        threading.Thread(target=reviewer, args=("bob", "answer")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not errors, errors
    ws = open_workspace(backend)
    for index in range(20):
        data = ops.get_sample(ws, "d", f"s{index:03d}").sample
        assert data["question"] == f"ann 2 {index}" and data["answer"] == f"bob 2 {index}"
    log = ops.history(ws, "d", limit=1000, with_diff=False)
    edits = [e for e in log if e.action == "edit"]
    assert len([e for e in edits if e.actor == "ann"]) == len([e for e in edits if e.actor == "bob"]) == 60
    assert ops.get_dataset(ws, "d").version == 1 + 2 * (60 + 12)  # created at 1, then every change once
