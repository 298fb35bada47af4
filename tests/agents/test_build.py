"""The build graph end to end against the FAKE OpenAI-compatible server, and the CLI around it."""

import json
from pathlib import Path

from ftds.agents.context import BuildContext
from ftds.agents.events import ChunkDoneEvent, ProgressEvent
from ftds.tools.config import load_settings
from ftds.tools.llm import make_chat_model
from tests.conftest import fake_llm_flags, fake_llm_overrides, run_cli
from tests.fakes.fake_openai_server import FakeOpenAIServer, FakeServerConfig
from tests.flow_helpers import run_build


def _inputs(tmp_path: Path, law_file: Path) -> Path:
    folder = tmp_path / "input"
    folder.mkdir()
    (folder / law_file.name).write_text(law_file.read_text(encoding="utf-8"), encoding="utf-8")
    (folder / "broken.md").write_bytes(b"")
    return folder


async def _build(server: FakeOpenAIServer, inputs: Path, out: Path, **build: object):
    settings = load_settings(llm=fake_llm_overrides(server), build={"domain": "law", **build})
    llm = make_chat_model(settings.llm, settings.cache_dir)
    events: list[ProgressEvent] = []
    context = BuildContext(
        settings=settings,
        generator=llm,
        reviewer=llm,
        out_dir=out,
        run_id="t1",
        on_event=events.append,
    )
    state = await run_build([inputs], context)
    await llm.aclose()
    return state["summary"], events


async def test_build_writes_grounded_splits_and_a_report_that_accounts_for_everything(
    tmp_path: Path, law_file: Path
) -> None:
    inputs = _inputs(tmp_path, law_file)
    with FakeOpenAIServer() as server:
        summary, events = await _build(server, inputs, tmp_path / "out")
    report = json.loads((tmp_path / "out" / "report.json").read_text(encoding="utf-8"))
    assert report["chunks"] == report["chunks_selected"] == report["chunks_processed"] > 0
    assert report["generated"] == report["accepted"] + report["rejected"] + report["failed"]
    assert report["files_failed"][0]["item_id"] == "broken.md"
    assert "empty" in report["files_failed"][0]["reason"]
    assert sum(report["splits"].values()) == report["accepted"] > 0
    # one generation call per chunk, plus one for the label tree
    assert report["generator_usage"]["calls"] == report["chunks"] + 1
    source = law_file.read_text(encoding="utf-8")
    for fmt in ("alpaca", "sharegpt"):
        lines = (tmp_path / "out" / fmt / "train.jsonl").read_text(encoding="utf-8").splitlines()
        assert lines
    alpaca = [json.loads(line) for line in (tmp_path / "out" / "alpaca" / "train.jsonl").open(encoding="utf-8")]
    assert all(record["output"] in source for record in alpaca)  # the fake answers with source sentences
    provenance = [json.loads(line) for line in (tmp_path / "out" / "provenance" / "train.jsonl").open()]
    assert {p["sample_id"] for p in provenance} == {r["id"] for r in alpaca}
    # every rejected sample is kept whole with its reason (the accounting counts the same items)
    rejected = [json.loads(line) for line in (tmp_path / "out" / "rejected.jsonl").open(encoding="utf-8")]
    assert len(rejected) == report["rejected"]
    assert all(r["answer"] and r["rejection"]["reason"] for r in rejected)
    assert sorted(r["rejection"]["reason"] for r in rejected) == sorted(i["reason"] for i in report["rejected_items"])
    assert all(p["provenance"]["heading_path"] for p in provenance)
    info = json.loads((tmp_path / "out" / "dataset_info.json").read_text())
    assert info["ftds-law-qa_sharegpt_train"]["formatting"] == "sharegpt"
    assert not summary.complete  # the empty file failed
    assert report["coverage"] == 1.0 and 0 < report["acceptance_rate"] <= 1
    assert report["leakage_pairs"] >= 0 and "leakage_pairs" in report
    card = (tmp_path / "out" / "README.md").read_text(encoding="utf-8")
    assert card.startswith("---\n") and "license:" in card and law_file.name in card
    markdown = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    assert f"{report['generated']} generated = {report['accepted']} accepted" in markdown
    assert law_file.name in markdown  # the per-document table names the source
    assert "cache hits 0; cost 0.0000" in markdown
    page = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert page.count("data:image/png;base64,") == 5 and "<table>" in page
    assert {p.name for p in (tmp_path / "out" / "plots").iterdir()} == {
        "scores.png",
        "labels.png",
        "lengths.png",
        "documents.png",
        "sections.png",
    }
    assert sum(isinstance(event, ChunkDoneEvent) for event in events) == summary.chunks_selected


async def test_thirty_percent_faults_leave_every_item_accounted_for(tmp_path: Path, law_file: Path) -> None:
    inputs = _inputs(tmp_path, law_file)
    config = FakeServerConfig(fault_rate=0.3, seed=7, timeout_sleep_s=2.5, retry_after_s=0.01)
    with FakeOpenAIServer(config) as server:
        settings_extra = {"max_retries": 1, "timeout_s": 1.0}
        server_llm = fake_llm_overrides(server, **settings_extra)
        settings = load_settings(llm=server_llm, build={"domain": "law"})
        llm = make_chat_model(settings.llm, settings.cache_dir)
        context = BuildContext(settings=settings, generator=llm, reviewer=llm, out_dir=tmp_path / "out", run_id="f")
        summary = (await run_build([inputs], context))["summary"]
        await llm.aclose()
    assert sum(count for fault, count in server.faults_served.items() if fault != "ok") > 0
    assert summary.generated == summary.accepted + summary.rejected + summary.failed
    assert summary.chunks_selected == summary.chunks_processed + len(summary.chunks_failed)
    for item in [*summary.rejected_items, *summary.failed_items, *summary.chunks_failed]:
        assert item.reason
    assert sum(summary.failure_reasons.values()) == summary.failed + len(summary.chunks_failed)


def test_cli_build_reports_partial_result_with_its_exit_code(tmp_path: Path, law_file: Path) -> None:
    inputs = _inputs(tmp_path, law_file)
    with FakeOpenAIServer() as server:
        result = run_cli(
            "build",
            "--domain",
            "law",
            "--input",
            str(inputs),
            "--out",
            str(tmp_path / "o"),
            *fake_llm_flags(server),
            "--max-chunks",
            "3",
            "--json",
            cwd=tmp_path,
        )
    assert result.returncode == 3, result.stderr
    summary = json.loads(result.stdout)
    assert summary["chunks_selected"] == 3
    assert summary["files_failed"][0]["item_id"] == "broken.md"


def test_cli_build_without_input_distils_from_the_domain_topic_and_says_so(tmp_path: Path) -> None:
    with FakeOpenAIServer() as server:
        result = run_cli(
            "build",
            "--domain",
            "law",
            "--out",
            str(tmp_path / "o"),
            *fake_llm_flags(server),
            cwd=tmp_path,
        )
    assert "distilling from the domain topic" in result.stderr
    assert result.returncode in (0, 3), result.stderr
    report = json.loads((tmp_path / "o" / "report.json").read_text(encoding="utf-8"))
    assert report["accepted"] > 0 and report["chunks"] == 0
    assert report["generated"] == report["accepted"] + report["rejected"] + report["failed"]
    sample = json.loads((tmp_path / "o" / "provenance" / "train.jsonl").read_text(encoding="utf-8").splitlines()[0])
    assert sample["provenance"]["source"] == "topic:法律"


def test_cli_build_needs_api_key_for_remote_endpoint(tmp_path: Path, law_file: Path) -> None:
    result = run_cli(
        "build",
        str(law_file),
        "--backend",
        "openai",
        "--model",
        "gpt-x",
        "--base-url",
        "https://api.example.invalid/v1",
        "--api-key-env",
        "NO_SUCH_KEY",
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert "NO_SUCH_KEY" in result.stderr


def test_cli_convert_and_split_real_llamafactory_data(tmp_path: Path, corpus: Path) -> None:
    source = corpus / "datasets" / "alpaca_zh_demo.json"
    converted = run_cli(
        "convert", str(source), "--to", "sharegpt", "--out", str(tmp_path / "s.jsonl"), "--json", cwd=tmp_path
    )
    assert converted.returncode == 0, converted.stderr
    assert json.loads(converted.stdout)["converted"] == 1000
    split = run_cli("split", str(tmp_path / "s.jsonl"), "--out", str(tmp_path / "splits"), "--json", cwd=tmp_path)
    assert split.returncode == 0, split.stderr
    assert json.loads(split.stdout)["counts"] == {"train": 700, "validation": 150, "test": 150, "full": 1000}


async def test_samples_the_reviewer_rejects_are_kept_whole_in_rejected_jsonl(tmp_path: Path, law_file: Path) -> None:
    with FakeOpenAIServer(FakeServerConfig(review_score=1)) as server:
        summary, _ = await _build(server, _inputs(tmp_path, law_file), tmp_path / "out", max_chunks=2, labels="none")
    rejected = [json.loads(line) for line in (tmp_path / "out" / "rejected.jsonl").open(encoding="utf-8")]
    assert summary.accepted == 0 and summary.rejected == len(rejected) > 0
    for sample in rejected:
        assert sample["question"] and sample["answer"] and sample["provenance"]["chunk_id"]
        assert sample["rejection"]["reason"] == "review:below_threshold"
        assert sample["review"]["decision"] == "reject"  # the reviewer's verdict travels with it


async def test_with_context_records_carry_their_evidence_and_the_card_counts_the_checks(
    tmp_path: Path, law_file: Path
) -> None:
    with FakeOpenAIServer() as server:
        summary, _ = await _build(
            server, _inputs(tmp_path, law_file), tmp_path / "out", max_chunks=2, with_context=True
        )
    assert summary.accepted > 0
    source = law_file.read_text(encoding="utf-8")
    alpaca = [json.loads(line) for line in (tmp_path / "out" / "alpaca" / "train.jsonl").open(encoding="utf-8")]
    sharegpt = [json.loads(line) for line in (tmp_path / "out" / "sharegpt" / "train.jsonl").open(encoding="utf-8")]
    provenance = {
        json.loads(line)["sample_id"]: json.loads(line)
        for line in (tmp_path / "out" / "provenance" / "train.jsonl").open(encoding="utf-8")
    }
    for record in alpaca:  # the passage to answer from is the code-located evidence, found in the document
        evidence = provenance[record["id"]]["evidence"]
        assert evidence and record["input"].startswith("参考资料：")
        assert all(span["text"] in record["input"] and span["text"] in source for span in evidence)
    assert all(record.get("system") for record in sharegpt)
    card = (tmp_path / "out" / "README.md").read_text(encoding="utf-8")
    assert "## Checks" in card and "| evidence |" in card


async def test_without_the_judge_samples_are_accepted_on_their_checks_and_labelled_by_position(
    tmp_path: Path, law_file: Path
) -> None:
    """build.judge = never (what auto does with the embedded reviewer): no rubric call, no label-tree call; an
    accepted sample says the checks accepted it and carries its chunk's outline position as its label."""
    inputs = _inputs(tmp_path, law_file)
    with FakeOpenAIServer() as server:
        await _build(server, inputs, tmp_path / "out", judge="never")
        unjudged_calls = len(server.answered)
    with FakeOpenAIServer() as server:  # another endpoint: nothing of the first run's response cache applies
        await _build(server, inputs, tmp_path / "judged", judge="always")
        judged_calls = len(server.answered)
    report = json.loads((tmp_path / "out" / "report.json").read_text(encoding="utf-8"))
    assert report["generator_usage"]["calls"] == report["chunks"]  # no label-tree call
    assert report["accepted"] > 0
    assert unjudged_calls <= judged_calls - report["chunks"]  # a judge call per chunk (and the tree's) saved
    provenance = [json.loads(line) for line in (tmp_path / "out" / "provenance" / "train.jsonl").open()]
    assert provenance and all(p["review"]["reviewer"] == "checks" and p["evidence"] for p in provenance)
    assert all(p["label"] and p["label"].split("/")[0] == p["provenance"]["heading_path"][0] for p in provenance)
    assert "judge" not in report.get("checks", {})
    markdown = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    assert f"{report['accepted']} of them were accepted on these checks alone" in markdown
    judged = (tmp_path / "judged" / "report.md").read_text(encoding="utf-8")
    assert "accepted on these checks alone" not in judged
