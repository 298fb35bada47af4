"""The build graph's task types, revise loop and target, against the FAKE OpenAI-compatible server."""

import json
from pathlib import Path

import pytest

from ftds.agents.context import BuildContext
from ftds.agents.events import NoteEvent, ProgressEvent
from ftds.tools.config import load_settings
from ftds.tools.llm import make_chat_model
from ftds.tools.records import RunSummary
from tests.conftest import fake_llm_overrides
from tests.fakes.fake_openai_server import FakeOpenAIServer, FakeServerConfig
from tests.flow_helpers import run_build


async def _build(server: FakeOpenAIServer, inputs: list[Path], out: Path, **build: object) -> RunSummary:
    settings = load_settings(llm=fake_llm_overrides(server), build={"domain": "law", **build})
    llm = make_chat_model(settings.llm, settings.cache_dir)
    context = BuildContext(settings=settings, generator=llm, reviewer=llm, out_dir=out, run_id="tasks")
    try:
        return (await run_build(inputs, context))["summary"]
    finally:
        await llm.aclose()


def _accounted(summary: RunSummary) -> None:
    assert summary.generated == summary.accepted + summary.rejected + summary.failed
    assert summary.chunks_selected == summary.chunks_processed + len(summary.chunks_failed)


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


async def test_samples_the_reviewer_sends_back_are_revised_and_reviewed_again(tmp_path: Path, law_file: Path) -> None:
    with FakeOpenAIServer(FakeServerConfig(feedback_score=3)) as server:
        summary = await _build(server, [law_file], tmp_path / "o", max_chunks=3, max_revision_rounds=1)
        revise_calls = sum(1 for body in server.requests if '\\"revised\\"' in json.dumps(body))
    _accounted(summary)
    assert revise_calls == 3  # one revision call per chunk
    assert summary.accepted > 0 and summary.revision_rounds == summary.accepted
    samples = _lines(next((tmp_path / "o" / "provenance").glob("*.jsonl")))
    assert all(s["revision_rounds"] == 1 for s in samples)


async def test_samples_still_needing_revision_after_the_last_round_are_rejected_with_a_reason(
    tmp_path: Path, law_file: Path
) -> None:
    with FakeOpenAIServer(FakeServerConfig(feedback_score=3)) as server:
        summary = await _build(server, [law_file], tmp_path / "o", max_chunks=2, max_revision_rounds=0)
    _accounted(summary)
    assert summary.accepted == 0
    assert summary.rejection_reasons == {"review:needs_revision": summary.rejected}


@pytest.mark.parametrize(
    ("task", "keys"),
    [
        ("cot", {"instruction", "input", "chain_of_thought", "output"}),
        ("dialogue", {"dialogue"}),
        ("classification", {"text", "label"}),
        ("preference", {"prompt", "chosen", "rejected"}),
        ("reward", {"input", "output", "reward_score"}),
    ],
)
async def test_each_task_type_builds_task_shaped_records(
    tmp_path: Path, law_file: Path, task: str, keys: set[str]
) -> None:
    with FakeOpenAIServer() as server:
        summary = await _build(server, [law_file], tmp_path / "o", max_chunks=3, task=task)
    _accounted(summary)
    assert summary.accepted > 0 and summary.task == task
    records = [
        r
        for split in ("train", "validation", "test")
        if (tmp_path / "o" / "task" / f"{split}.jsonl").exists()
        for r in _lines(tmp_path / "o" / "task" / f"{split}.jsonl")
    ]
    assert len(records) == summary.accepted
    assert keys <= set(records[0]), records[0]


async def test_target_sizes_the_work_and_trims_the_surplus_with_a_reason(tmp_path: Path, law_file: Path) -> None:
    with FakeOpenAIServer() as server:
        summary = await _build(server, [law_file], tmp_path / "o", target=5, questions_per_chunk=2)
    _accounted(summary)
    assert summary.chunks_selected == 5  # 5 wanted / (2 questions x 0.5 expected yield)
    assert summary.accepted == 5
    assert summary.rejection_reasons.get("over_target", 0) == summary.generated - 5 - summary.failed - sum(
        v for k, v in summary.rejection_reasons.items() if k != "over_target"
    )


async def test_accepted_samples_carry_a_label_from_the_tree(tmp_path: Path, law_file: Path) -> None:
    with FakeOpenAIServer() as server:
        await _build(server, [law_file], tmp_path / "o", max_chunks=2)
    samples = _lines(tmp_path / "o" / "provenance" / "train.jsonl")
    assert all(s["label"] for s in samples)


async def test_a_copied_example_tree_falls_back_to_the_documents_outline(tmp_path: Path, law_file: Path) -> None:
    events: list[ProgressEvent] = []
    with FakeOpenAIServer(FakeServerConfig(label_tree_reply={"labels": [{"name": "一级标签", "children": []}]})) as srv:
        settings = load_settings(llm=fake_llm_overrides(srv), build={"domain": "law", "max_chunks": 2})
        llm = make_chat_model(settings.llm, settings.cache_dir)
        context = BuildContext(
            settings=settings,
            generator=llm,
            reviewer=llm,
            out_dir=tmp_path / "o",
            run_id="t",
            on_event=events.append,
        )
        try:
            await run_build([law_file], context)
        finally:
            await llm.aclose()
    notes = [event.message for event in events if isinstance(event, NoteEvent)]
    assert any("labels:copied_example" in note and "outline as labels" in note for note in notes)
    samples = _lines(tmp_path / "o" / "provenance" / "train.jsonl")
    assert samples
    for sample in samples:  # the label is the chunk's own place in the outline
        assert sample["label"] == "/".join(sample["provenance"]["heading_path"][:2])
